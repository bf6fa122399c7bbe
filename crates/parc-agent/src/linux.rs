//! Linux-only sources: DMI (`/sys/class/dmi/id`), block devices (`/sys/block`, udev data), network interface
//! flags (`/sys/class/net`), `/etc/os-release`, `/proc/cpuinfo` and the raw SMBIOS table.
use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::Path;

use serde_json::{json, Map, Value};

/// A file's content, trimmed; `None` when missing, unreadable or empty.
pub(crate) fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    let s = fs::read_to_string(path).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// `/sys/class/dmi/id/<field>` (several are readable by root only: then `None`).
pub(crate) fn dmi(field: &str) -> Option<String> {
    read_trimmed(Path::new("/sys/class/dmi/id").join(field))
}

/// The raw SMBIOS table (root only).
pub(crate) fn smbios_table() -> Option<Vec<u8>> {
    fs::read("/sys/firmware/dmi/tables/DMI").ok()
}

/// `PRETTY_NAME` of os-release (`Debian GNU/Linux 12 (bookworm)`).
pub(crate) fn os_pretty_name() -> Option<String> {
    let text = fs::read_to_string("/etc/os-release").or_else(|_| fs::read_to_string("/usr/lib/os-release")).ok()?;
    text.lines().find_map(|l| {
        let v = l.strip_prefix("PRETTY_NAME=")?.trim().trim_matches(['"', '\'']).trim();
        (!v.is_empty()).then(|| v.to_owned())
    })
}

/// Number of CPU packages (distinct `physical id` in /proc/cpuinfo); `None` when the kernel does not say.
pub(crate) fn cpu_sockets() -> Option<usize> {
    let text = fs::read_to_string("/proc/cpuinfo").ok()?;
    let ids: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.split_once(':').filter(|(k, _)| k.trim() == "physical id").map(|(_, v)| v.trim()))
        .collect();
    (!ids.is_empty()).then_some(ids.len())
}

/// Maximum frequency of the first CPU in MHz (cpufreq), when the kernel exposes it.
pub(crate) fn cpu_max_mhz() -> Option<u64> {
    read_trimmed("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")?.parse::<u64>().ok().map(|khz| khz / 1000)
}

/// What sysfs tells about a network interface.
#[derive(Debug, Default)]
pub(crate) struct NetInfo {
    pub(crate) virtual_dev: bool,
    pub(crate) kind: Option<&'static str>,
    pub(crate) up: bool,
    pub(crate) speed_mbps: Option<u64>,
    pub(crate) driver: Option<String>,
}

pub(crate) fn net_info(name: &str) -> NetInfo {
    let dir = Path::new("/sys/class/net").join(name);
    // Software interfaces (lo, bridges, veth, docker0, tun, bonds…) live under /sys/devices/virtual/net
    // and have no `device` link to a bus.
    let virtual_dev = Path::new("/sys/devices/virtual/net").join(name).exists() || !dir.join("device").exists();
    let arp_type = read_trimmed(dir.join("type"));
    let kind = if arp_type.as_deref() == Some("772") {
        Some("loopback")
    } else if dir.join("bridge").exists() {
        Some("bridge")
    } else if dir.join("bonding").exists() {
        Some("aggregate")
    } else if dir.join("wireless").exists() || dir.join("phy80211").exists() {
        Some("wifi")
    } else {
        match arp_type.as_deref() {
            Some("1") => Some("ethernet"),
            Some("32") => Some("infiniband"),
            _ => None,
        }
    };
    let up = match read_trimmed(dir.join("operstate")).as_deref() {
        Some("up") => true,
        // lo, tun and some virtual drivers report `unknown`: fall back to the administrative IFF_UP flag.
        Some("unknown") | None => read_trimmed(dir.join("flags"))
            .and_then(|f| u32::from_str_radix(f.trim_start_matches("0x"), 16).ok())
            .is_some_and(|f| f & 1 != 0),
        Some(_) => false,
    };
    // `speed` is -1 (or unreadable) when the link is down.
    let speed_mbps = read_trimmed(dir.join("speed")).and_then(|s| s.parse::<u64>().ok()).filter(|s| *s > 0);
    let driver = fs::read_link(dir.join("device").join("driver"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    NetInfo { virtual_dev, kind, up, speed_mbps, driver }
}

/// `E:KEY=value` properties of a block device in the udev database (`/run/udev/data/b<major>:<minor>`).
fn udev_props(dev: &str) -> HashMap<String, String> {
    let Ok(text) = fs::read_to_string(format!("/run/udev/data/b{dev}")) else { return HashMap::new() };
    text.lines()
        .filter_map(|l| l.strip_prefix("E:")?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect()
}

/// Physical disks (GLPI `storages`): the block devices backed by a device (no loop, zram, device-mapper, md).
pub(crate) fn storages() -> Vec<Value> {
    let Ok(entries) = fs::read_dir("/sys/block") else { return Vec::new() };
    let mut names: Vec<String> =
        entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let dir = Path::new("/sys/block").join(&name);
        let skip = ["loop", "ram", "zram", "dm-", "md", "nbd", "fd"].iter().any(|p| name.starts_with(p))
            || name.contains("boot")
            || name.contains("rpmb");
        if skip || !dir.join("device").exists() {
            continue;
        }
        let udev = read_trimmed(dir.join("dev")).map(|d| udev_props(&d)).unwrap_or_default();
        let prop = |k: &str| udev.get(k).filter(|v| !v.is_empty()).map(|v| v.replace('_', " "));
        let device = dir.join("device");
        let path = fs::canonicalize(&dir).map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();

        let mut o = Map::new();
        o.insert("name".into(), json!(name));
        o.insert("type".into(), json!(if name.starts_with("sr") { "cdrom" } else { "disk" }));
        let sectors = read_trimmed(dir.join("size")).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        if sectors > 0 {
            // Decimal megabytes, as disk vendors (and GLPI agents) count.
            o.insert("disksize".into(), json!(sectors * 512 / 1_000_000));
        }
        let model = read_trimmed(device.join("model")).or_else(|| prop("ID_MODEL"));
        if let Some(m) = model {
            o.insert("model".into(), json!(m));
        }
        // `vendor` is `ATA` for every SATA disk, and a PCI id (`0x1af4`) for virtio: neither is a manufacturer.
        let vendor = read_trimmed(device.join("vendor"))
            .filter(|v| v != "ATA" && !v.starts_with("0x"))
            .or_else(|| prop("ID_VENDOR").filter(|v| v != "ATA"));
        if let Some(v) = vendor {
            o.insert("manufacturer".into(), json!(v));
        }
        let serial = read_trimmed(device.join("serial")).or_else(|| udev.get("ID_SERIAL_SHORT").cloned());
        if let Some(s) = serial.filter(|s| !s.is_empty()) {
            o.insert("serial".into(), json!(s));
        }
        if let Some(fw) = read_trimmed(device.join("firmware_rev")).or_else(|| read_trimmed(device.join("rev"))) {
            o.insert("firmware".into(), json!(fw));
        }
        // inventory_format allows SCSI|HDC|IDE|USB|1394|SATA|SAS|ATAPI as `interface`; NVMe, virtio and MMC
        // only go to `description`.
        let bus = udev.get("ID_BUS").map(String::as_str);
        let (interface, description) = if path.contains("/usb") || bus == Some("usb") {
            (Some("USB"), "USB")
        } else if name.starts_with("nvme") || path.contains("/nvme") {
            (None, "NVMe")
        } else if path.contains("/virtio") {
            (None, "virtio")
        } else if path.contains("/mmc") {
            (None, "MMC")
        } else if path.contains("/ata") || bus == Some("ata") {
            if name.starts_with("sr") {
                (Some("ATAPI"), "ATAPI")
            } else {
                (Some("SATA"), "SATA")
            }
        } else if path.contains("/host") || bus == Some("scsi") {
            (Some("SCSI"), "SCSI")
        } else {
            (None, "")
        };
        if let Some(i) = interface {
            o.insert("interface".into(), json!(i));
        }
        if !description.is_empty() {
            o.insert("description".into(), json!(description));
        }
        out.push(Value::Object(o));
    }
    out
}
