//! Build the GLPI `inventory` message of this machine (keys of glpi-project/inventory_format).
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::Command;

use anyhow::Result;
use serde_json::{json, Map, Value};
use sysinfo::{CpuRefreshKind, Disks, MemoryRefreshKind, Networks, RefreshKind, System};

#[cfg(target_os = "linux")]
use crate::linux;
use crate::{agent_string, deviceid, software, CollectOptions};

const MIB: u64 = 1024 * 1024;

/// Insert `value` under `key` when it is `Some` (and, for text, not blank).
fn put(obj: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value.map(Into::into) {
        if !matches!(&v, Value::String(s) if s.trim().is_empty()) {
            obj.insert(key.to_owned(), v);
        }
    }
}

/// Collect this machine's inventory as a GLPI agent `inventory` message:
/// `{"action":"inventory","deviceid":..,"itemtype":"Computer","tag":..,"content":{..}}`.
///
/// Missing sources (no DMI, no dpkg, no `who`…) only leave their fields out; the only error is a state
/// directory where the `deviceid` can be neither read nor written.
pub fn collect(opts: &CollectOptions) -> Result<Value> {
    let host = hostname();
    let fqdn = fqdn(&host);
    let domain = fqdn.as_deref().and_then(|f| f.split_once('.')).map(|(_, d)| d.to_owned());
    let deviceid = deviceid::load_or_create(&opts.state_dir, &host)?;

    let sys = System::new_with_specifics(
        RefreshKind::nothing()
            .with_memory(MemoryRefreshKind::everything())
            .with_cpu(CpuRefreshKind::nothing().with_frequency()),
    );
    let users = logged_users();

    let mut hardware = Map::new();
    put(&mut hardware, "name", Some(host.clone()));
    put(&mut hardware, "workgroup", domain.clone());
    put(&mut hardware, "uuid", dmi("product_uuid"));
    put(&mut hardware, "memory", Some(sys.total_memory() / MIB).filter(|m| *m > 0));
    put(&mut hardware, "swap", Some(sys.total_swap() / MIB).filter(|m| *m > 0));
    put(&mut hardware, "lastloggeduser", users.first().cloned());

    let mut content = Map::new();
    content.insert("hardware".into(), Value::Object(hardware));
    let bios = bios();
    if !bios.is_empty() {
        content.insert("bios".into(), Value::Object(bios));
    }
    content.insert("operatingsystem".into(), Value::Object(operating_system(&host, fqdn, domain)));
    content.insert("cpus".into(), Value::Array(cpus(&sys)));
    let memories = memories();
    if !memories.is_empty() {
        content.insert("memories".into(), Value::Array(memories));
    }
    let storages = storages();
    if !storages.is_empty() {
        content.insert("storages".into(), Value::Array(storages));
    }
    content.insert("drives".into(), Value::Array(drives()));
    content.insert("networks".into(), Value::Array(networks()));
    content.insert("softwares".into(), Value::Array(software::collect()));
    content.insert("users".into(), Value::Array(users.into_iter().map(|login| json!({ "login": login })).collect()));
    content.insert("versionclient".into(), json!(agent_string()));

    let mut doc = Map::new();
    doc.insert("action".into(), json!("inventory"));
    doc.insert("deviceid".into(), json!(deviceid));
    doc.insert("itemtype".into(), json!("Computer"));
    put(&mut doc, "tag", opts.tag.clone());
    doc.insert("content".into(), Value::Object(content));
    Ok(Value::Object(doc))
}

/// The short host name (before the first dot).
fn hostname() -> String {
    let full = System::host_name()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    full.split('.').next().unwrap_or(&full).to_owned()
}

/// Fully qualified name, when one is known: the kernel's host name if it has dots, else `hostname -f`
/// (Unix), else `%USERDNSDOMAIN%` (Windows).
fn fqdn(short: &str) -> Option<String> {
    let plausible = |f: &str| {
        let f = f.trim().trim_end_matches('.');
        (f.len() > short.len() + 1 && f.to_ascii_lowercase().starts_with(&format!("{}.", short.to_ascii_lowercase())))
            .then(|| f.to_owned())
    };
    if let Some(f) = System::host_name().as_deref().and_then(plausible) {
        return Some(f);
    }
    if cfg!(unix) {
        let out = Command::new("hostname").arg("-f").output().ok().filter(|o| o.status.success())?;
        return plausible(&String::from_utf8_lossy(&out.stdout));
    }
    std::env::var("USERDNSDOMAIN").ok().filter(|d| !d.trim().is_empty()).map(|d| format!("{short}.{}", d.trim()))
}

/// Currently logged-on users (`who`, Unix only), without duplicates, in `who`'s order.
fn logged_users() -> Vec<String> {
    if !cfg!(unix) {
        return Vec::new();
    }
    let Ok(out) = Command::new("who").output() else { return Vec::new() };
    parse_who(&String::from_utf8_lossy(&out.stdout))
}

pub(crate) fn parse_who(out: &str) -> Vec<String> {
    let mut users: Vec<String> = Vec::new();
    for login in out.lines().filter_map(|l| l.split_whitespace().next()) {
        if !users.iter().any(|u| u == login) {
            users.push(login.to_owned());
        }
    }
    users
}

#[cfg(target_os = "linux")]
fn dmi(field: &str) -> Option<String> {
    linux::dmi(field)
}

#[cfg(not(target_os = "linux"))]
fn dmi(_field: &str) -> Option<String> {
    None
}

/// `MM/DD/YYYY` (how firmware reports it) -> `YYYY-MM-DD` (inventory_format); anything else unchanged.
pub(crate) fn iso_bios_date(raw: &str) -> String {
    let parts: Vec<&str> = raw.trim().split('/').collect();
    if let [m, d, y] = parts.as_slice() {
        if let (Ok(m), Ok(d), true) = (m.parse::<u32>(), d.parse::<u32>(), y.len() == 4 && y.parse::<u32>().is_ok()) {
            if (1..=12).contains(&m) && (1..=31).contains(&d) {
                return format!("{y}-{m:02}-{d:02}");
            }
        }
    }
    raw.trim().to_owned()
}

fn bios() -> Map<String, Value> {
    let mut b = Map::new();
    for (key, field) in [
        ("ssn", "product_serial"),
        ("smanufacturer", "sys_vendor"),
        ("smodel", "product_name"),
        ("skunumber", "product_sku"),
        ("bmanufacturer", "bios_vendor"),
        ("bversion", "bios_version"),
        ("mmanufacturer", "board_vendor"),
        ("mmodel", "board_name"),
        ("msn", "board_serial"),
        ("assettag", "chassis_asset_tag"),
    ] {
        put(&mut b, key, dmi(field));
    }
    put(&mut b, "bdate", dmi("bios_date").map(|d| iso_bios_date(&d)));
    b
}

fn operating_system(host: &str, fqdn: Option<String>, domain: Option<String>) -> Map<String, Value> {
    let mut os = Map::new();
    put(&mut os, "name", System::name());
    put(&mut os, "version", System::os_version());
    #[cfg(target_os = "linux")]
    let full_name = linux::os_pretty_name().or_else(System::long_os_version);
    #[cfg(not(target_os = "linux"))]
    let full_name = System::long_os_version();
    put(&mut os, "full_name", full_name);
    put(&mut os, "kernel_name", Some(std::env::consts::OS));
    put(&mut os, "kernel_version", System::kernel_version());
    put(&mut os, "arch", Some(System::cpu_arch()));
    put(&mut os, "hostname", Some(host.to_owned()));
    put(&mut os, "fqdn", fqdn);
    put(&mut os, "dns_domain", domain);
    let boot =
        i64::try_from(System::boot_time()).ok().filter(|t| *t > 0).and_then(|t| chrono::DateTime::from_timestamp(t, 0));
    put(&mut os, "boot_time", boot.map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string()));
    os
}

/// `GenuineIntel` -> `Intel`, `AuthenticAMD` -> `AMD`, others unchanged.
fn cpu_manufacturer(vendor_id: &str) -> Option<String> {
    let v = vendor_id.trim();
    let name = match v {
        "GenuineIntel" => "Intel",
        "AuthenticAMD" => "AMD",
        "CentaurHauls" => "VIA",
        "HygonGenuine" => "Hygon",
        "" => return None,
        other => other,
    };
    Some(name.to_owned())
}

/// The CPU architecture spelled as inventory_format accepts it, if it is one of those.
fn schema_arch(arch: &str) -> Option<String> {
    let a = match arch {
        "x86" | "i686" | "i586" | "i486" => "i386",
        "arm64" => "aarch64",
        other => other,
    };
    let known = ["mips", "mips64", "alpha", "sparc", "sparc64", "m68k", "i386", "x86_64", "powerpc", "powerpc64"];
    (known.contains(&a) || a.starts_with("arm") || a == "aarch64").then(|| a.to_owned())
}

/// One entry per CPU package: `core` = cores per package, `thread` = threads per core (inventory_format).
fn cpus(sys: &System) -> Vec<Value> {
    let logical = sys.cpus().len();
    let Some(first) = sys.cpus().first() else { return Vec::new() };
    let physical = System::physical_core_count().filter(|n| *n > 0).unwrap_or(logical);
    #[cfg(target_os = "linux")]
    let (sockets, max_mhz) = (linux::cpu_sockets().unwrap_or(1), linux::cpu_max_mhz());
    #[cfg(not(target_os = "linux"))]
    let (sockets, max_mhz) = (1usize, None::<u64>);
    let sockets = sockets.clamp(1, physical.max(1));
    let brand = first.brand().split_whitespace().collect::<Vec<_>>().join(" ");

    let mut cpu = Map::new();
    put(&mut cpu, "name", Some(brand));
    put(&mut cpu, "manufacturer", cpu_manufacturer(first.vendor_id()));
    put(&mut cpu, "arch", schema_arch(&System::cpu_arch()));
    put(&mut cpu, "core", Some((physical / sockets).max(1)));
    put(&mut cpu, "thread", Some((logical / physical.max(1)).max(1)));
    put(&mut cpu, "speed", max_mhz.or(Some(first.frequency())).filter(|f| *f > 0));
    vec![Value::Object(cpu); sockets]
}

#[cfg(target_os = "linux")]
fn memories() -> Vec<Value> {
    linux::smbios_table().map(|t| crate::smbios::memories(&t)).unwrap_or_default()
}

#[cfg(not(target_os = "linux"))]
fn memories() -> Vec<Value> {
    Vec::new()
}

#[cfg(target_os = "linux")]
fn storages() -> Vec<Value> {
    linux::storages()
}

#[cfg(not(target_os = "linux"))]
fn storages() -> Vec<Value> {
    Vec::new()
}

/// Mounted file systems. Unix: `type` = mount point, `volumn` = device; Windows: `letter` and `label`.
fn drives() -> Vec<Value> {
    let disks = Disks::new_with_refreshed_list();
    let mut out = Vec::new();
    for d in disks.list() {
        let mount = d.mount_point();
        // Bind-mounted files (a container's /etc/hosts) are no volume.
        if !mount.is_dir() && mount.exists() {
            continue;
        }
        let mut o = Map::new();
        let mount_text = mount.to_string_lossy().into_owned();
        let name = d.name().to_string_lossy().into_owned();
        if cfg!(windows) {
            put(&mut o, "letter", Some(mount_text.trim_end_matches('\\').to_owned()));
            put(&mut o, "label", Some(name));
            put(&mut o, "systemdrive", Some(is_system_drive(mount)));
        } else {
            put(&mut o, "type", Some(mount_text));
            put(&mut o, "volumn", Some(name));
        }
        put(&mut o, "filesystem", Some(d.file_system().to_string_lossy().into_owned()));
        put(&mut o, "total", Some(d.total_space() / MIB));
        put(&mut o, "free", Some(d.available_space() / MIB));
        out.push(Value::Object(o));
    }
    out
}

fn is_system_drive(mount: &Path) -> bool {
    std::env::var("SystemDrive").is_ok_and(|s| mount.to_string_lossy().trim_end_matches('\\').eq_ignore_ascii_case(&s))
}

/// Interfaces that are software only, from their name (used where sysfs cannot tell, and on top of it).
fn virtual_by_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let prefixes = [
        "lo",
        "docker",
        "veth",
        "br-",
        "virbr",
        "vnet",
        "tun",
        "tap",
        "vmnet",
        "vboxnet",
        "utun",
        "bridge",
        "awdl",
        "llw",
        "gif",
        "stf",
        "anpi",
        "cni",
        "flannel",
        "cali",
        "vxlan",
        "wg",
        "zt",
        "tailscale",
        "podman",
        "vethernet",
    ];
    prefixes.iter().any(|p| n.starts_with(p)) || n.contains("loopback") || n.contains("virtual")
}

fn is_loopback_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "lo" || n == "lo0" || n.contains("loopback")
}

/// Prefix length -> mask, for IPv4 and IPv6.
pub(crate) fn mask_of(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(_) => {
            let p = u32::from(prefix.min(32));
            IpAddr::V4(Ipv4Addr::from(u32::MAX.checked_shl(32 - p).unwrap_or(0)))
        }
        IpAddr::V6(_) => {
            let p = u32::from(prefix.min(128));
            IpAddr::V6(Ipv6Addr::from(u128::MAX.checked_shl(128 - p).unwrap_or(0)))
        }
    }
}

/// Network address of `addr/prefix`.
pub(crate) fn subnet_of(addr: IpAddr, prefix: u8) -> IpAddr {
    match (addr, mask_of(addr, prefix)) {
        (IpAddr::V4(a), IpAddr::V4(m)) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & u32::from(m))),
        (IpAddr::V6(a), IpAddr::V6(m)) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & u128::from(m))),
        (a, _) => a,
    }
}

/// One entry per address, as glpi-agent sends them (the schema's `ipaddress` is a single value); an
/// interface without address gets one entry.
fn networks() -> Vec<Value> {
    let nets = Networks::new_with_refreshed_list();
    let mut list: Vec<_> = nets.list().iter().collect();
    list.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::new();
    for (name, data) in list {
        let ips = data.ip_networks();
        #[cfg(target_os = "linux")]
        let (virtual_dev, kind, up, speed, driver) = {
            let i = linux::net_info(name);
            (i.virtual_dev || virtual_by_name(name), i.kind, i.up, i.speed_mbps, i.driver)
        };
        #[cfg(not(target_os = "linux"))]
        let (virtual_dev, kind, up, speed, driver) = (
            virtual_by_name(name),
            is_loopback_name(name).then_some("loopback"),
            !ips.is_empty(),
            None::<u64>,
            None::<String>,
        );
        let kind = kind.or_else(|| is_loopback_name(name).then_some("loopback"));

        let mut base = Map::new();
        base.insert("description".into(), json!(name));
        base.insert("status".into(), json!(if up { "up" } else { "down" }));
        put(&mut base, "type", kind);
        base.insert("virtualdev".into(), json!(virtual_dev));
        let mac = data.mac_address();
        put(&mut base, "mac", (!mac.is_unspecified()).then(|| mac.to_string()));
        put(&mut base, "mtu", Some(data.mtu()).filter(|m| *m > 0));
        put(&mut base, "speed", speed.map(|s| s.to_string()));
        put(&mut base, "driver", driver);

        if ips.is_empty() {
            out.push(Value::Object(base));
            continue;
        }
        for ip in ips {
            let mut o = base.clone();
            let (addr, mask, subnet) = (ip.addr, mask_of(ip.addr, ip.prefix), subnet_of(ip.addr, ip.prefix));
            let suffix = if addr.is_ipv4() { "" } else { "6" };
            o.insert(format!("ipaddress{suffix}"), json!(addr.to_string()));
            o.insert(format!("ipmask{suffix}"), json!(mask.to_string()));
            o.insert(format!("ipsubnet{suffix}"), json!(subnet.to_string()));
            out.push(Value::Object(o));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_subnets() {
        let a: IpAddr = "192.168.10.37".parse().unwrap();
        assert_eq!(mask_of(a, 24).to_string(), "255.255.255.0");
        assert_eq!(mask_of(a, 0).to_string(), "0.0.0.0");
        assert_eq!(mask_of(a, 32).to_string(), "255.255.255.255");
        assert_eq!(mask_of(a, 20).to_string(), "255.255.240.0");
        assert_eq!(subnet_of(a, 20).to_string(), "192.168.0.0");
        let b: IpAddr = "2001:db8:1:2::42".parse().unwrap();
        assert_eq!(mask_of(b, 64).to_string(), "ffff:ffff:ffff:ffff::");
        assert_eq!(subnet_of(b, 48).to_string(), "2001:db8:1::");
        assert_eq!(mask_of(b, 0).to_string(), "::");
    }

    #[test]
    fn bios_dates() {
        assert_eq!(iso_bios_date("03/14/2019"), "2019-03-14");
        assert_eq!(iso_bios_date("2019-03-14"), "2019-03-14");
        assert_eq!(iso_bios_date("13/14/2019"), "13/14/2019", "no month 13: left as is");
    }

    #[test]
    fn who_output() {
        let out = "alice    tty2         2025-04-20 08:15 (tty2)\nbob      pts/0        2025-04-20 09:00 (192.0.2.7)\n\
                   alice    pts/1        2025-04-20 09:30 (:0)\n\n";
        assert_eq!(parse_who(out), ["alice", "bob"]);
        assert!(parse_who("").is_empty());
    }

    #[test]
    fn names() {
        for v in
            ["lo", "docker0", "veth12ab", "br-0f3a", "virbr0", "tun0", "vEthernet (WSL)", "Loopback Pseudo-Interface 1"]
        {
            assert!(virtual_by_name(v), "{v}");
        }
        for p in ["eth0", "enp3s0", "wlp2s0", "en0", "Ethernet", "Wi-Fi"] {
            assert!(!virtual_by_name(p), "{p}");
        }
        assert_eq!(schema_arch("x86_64").as_deref(), Some("x86_64"));
        assert_eq!(schema_arch("i686").as_deref(), Some("i386"));
        assert_eq!(schema_arch("armv7l").as_deref(), Some("armv7l"));
        assert_eq!(schema_arch("riscv64"), None);
        assert_eq!(cpu_manufacturer("AuthenticAMD").as_deref(), Some("AMD"));
        assert_eq!(cpu_manufacturer(""), None);
    }
}
