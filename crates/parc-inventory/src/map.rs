//! One mapping for both protocols: the XML tree (lower-cased names) and GLPI JSON share most keys.
use parc_core::validate::parse_date;
use serde_json::Value;

use crate::{Cpu, Disk, Inventory, MemoryModule, Monitor, Printer, Software, Volume};

/// Text of a scalar (string, number, bool); the first element of an array. Trimmed, `None` if empty.
pub(crate) fn scalar(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(a) => return a.iter().find_map(scalar),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// First non-empty value among `keys` of the object `v`.
pub(crate) fn str_of(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| v.get(*k).and_then(scalar))
}

/// Unsigned integer from a number or a numeric text; fractions (`274877.906944`) are truncated.
pub(crate) fn u64_of(v: &Value, keys: &[&str]) -> Option<u64> {
    keys.iter().find_map(|k| match v.get(*k)? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        other => {
            let s = scalar(other)?;
            let digits: String = s.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            digits.parse::<f64>().ok().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64)
        }
    })
}

fn u32_of(v: &Value, keys: &[&str]) -> Option<u32> {
    u64_of(v, keys).and_then(|n| u32::try_from(n).ok())
}

pub(crate) fn bool_of(v: &Value, keys: &[&str]) -> bool {
    keys.iter().any(|k| match v.get(*k) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_u64().is_some_and(|n| n != 0),
        Some(Value::String(s)) => matches!(s.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"),
        _ => false,
    })
}

/// A section as a list of objects, whether it occurred once (object) or several times (array).
fn list<'a>(content: &'a Value, key: &str) -> Vec<&'a Value> {
    match content.get(key) {
        Some(Value::Array(a)) => a.iter().filter(|v| v.is_object()).collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

/// A single-valued section (first one if repeated); `Null` when absent.
fn section<'a>(content: &'a Value, key: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    match content.get(key) {
        Some(v @ Value::Object(_)) => v,
        Some(Value::Array(a)) => a.iter().find(|v| v.is_object()).unwrap_or(&NULL),
        _ => &NULL,
    }
}

/// `YYYY-MM-DD` from what the agents write, else the raw text (trimmed):
///
/// * `YYYY/MM/DD hh:mm:ss` (OCS Unix agent: dpkg file dates), `YYYY-MM-DD[ T]…` (OCS RPM, GLPI JSON);
/// * `DD/MM/YYYY` (FusionInventory: RPM, snap, Windows), also `D/MM/YYYY` (pacman); when the second
///   number cannot be a month but the first can, US order `MM/DD/YYYY`;
/// * `YYYYMMDD` (raw Windows registry `InstallDate`).
///
/// Only real calendar dates are converted (`1970-00-01`, as OCS writes an unknown OS install date, stays).
pub(crate) fn normalize_date(raw: &str) -> String {
    let raw = raw.trim();
    let head = raw.split([' ', 'T']).next().unwrap_or(raw);
    let parts: Vec<&str> = head.split(['-', '/', '.']).collect();
    let num =
        |s: &str, len: std::ops::RangeInclusive<usize>| len.contains(&s.len()) && s.chars().all(|c| c.is_ascii_digit());
    let ymd: Option<(&str, &str, &str)> = match parts.as_slice() {
        [y, m, d] if num(y, 4..=4) && num(m, 1..=2) && num(d, 1..=2) => Some((y, m, d)),
        [a, b, y] if num(y, 4..=4) && num(a, 1..=2) && num(b, 1..=2) => {
            let month_first = b.parse::<u32>().is_ok_and(|b| b > 12) && a.parse::<u32>().is_ok_and(|a| a <= 12);
            Some(if month_first { (y, a, b) } else { (y, b, a) })
        }
        [compact] if num(compact, 8..=8) => Some((&compact[..4], &compact[4..6], &compact[6..])),
        _ => None,
    };
    if let Some((y, m, d)) = ymd {
        if let (Ok(m), Ok(d)) = (m.parse::<u32>(), d.parse::<u32>()) {
            let iso = format!("{y}-{m:02}-{d:02}");
            if parse_date(&iso).is_ok() {
                return iso;
            }
        }
    }
    raw.to_owned()
}

/// The OCS Unix agent has no `ARCH`: its `HARDWARE/DESCRIPTION` is `x86_64/00-00-00 00:04:45`
/// (architecture / uptime).
fn arch_from_description(hw: &Value) -> Option<String> {
    let description = str_of(hw, &["description"])?;
    let (arch, uptime) = description.split_once('/')?;
    let looks_like_uptime = !uptime.is_empty() && uptime.chars().all(|c| c.is_ascii_digit() || "-: ".contains(c));
    let looks_like_arch =
        !arch.is_empty() && arch.len() <= 16 && arch.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (looks_like_arch && looks_like_uptime).then(|| arch.to_owned())
}

fn tag_of(content: &Value) -> Option<String> {
    list(content, "accountinfo").into_iter().find_map(|a| {
        let key = str_of(a, &["keyname"])?;
        key.eq_ignore_ascii_case("TAG").then(|| str_of(a, &["keyvalue"])).flatten()
    })
}

/// Build the normalized inventory from a content tree (XML `CONTENT` lower-cased, or GLPI `content`).
pub(crate) fn build_inventory(device_id: String, content: &Value, tag: Option<String>, partial: bool) -> Inventory {
    let hw = section(content, "hardware");
    let bios = section(content, "bios");
    let os = section(content, "operatingsystem");

    let mut cpus: Vec<Cpu> = list(content, "cpus")
        .into_iter()
        .map(|c| Cpu {
            // OCS: TYPE is the model name; FI / GLPI: NAME.
            name: str_of(c, &["name", "type"]),
            manufacturer: str_of(c, &["manufacturer"]),
            arch: str_of(c, &["arch", "cpuarch"]),
            cores: u32_of(c, &["core", "cores", "corecount"]),
            threads: u32_of(c, &["thread", "threads", "logical_cpus"]),
            speed_mhz: u32_of(c, &["speed", "current_speed"]),
        })
        .collect();
    if cpus.is_empty() {
        if let Some(name) = str_of(hw, &["processort"]) {
            cpus.push(Cpu { name: Some(name), ..Cpu::default() });
        }
    }

    let memory_modules = list(content, "memories")
        .into_iter()
        .map(|m| MemoryModule {
            slot: str_of(m, &["caption", "numslots"]),
            capacity_mb: u64_of(m, &["capacity"]),
            kind: str_of(m, &["type"]),
            speed: str_of(m, &["speed"]),
            manufacturer: str_of(m, &["manufacturer"]),
            serial: str_of(m, &["serialnumber", "serial"]),
        })
        .collect();

    let disks = list(content, "storages")
        .into_iter()
        .map(|s| Disk {
            name: str_of(s, &["name"]),
            model: str_of(s, &["model"]),
            manufacturer: str_of(s, &["manufacturer"]),
            serial: str_of(s, &["serial", "serialnumber"]),
            interface: str_of(s, &["interface"]),
            size_mb: u64_of(s, &["disksize"]),
        })
        .collect();

    let volumes = list(content, "drives")
        .into_iter()
        .map(|d| Volume {
            // Linux: TYPE holds the mount point; Windows: LETTER.
            mount: str_of(d, &["type", "letter", "volumn"]),
            filesystem: str_of(d, &["filesystem"]),
            total_mb: u64_of(d, &["total"]),
            free_mb: u64_of(d, &["free"]),
        })
        .collect();

    let monitors = list(content, "monitors")
        .into_iter()
        .map(|m| Monitor {
            manufacturer: str_of(m, &["manufacturer"]),
            model: str_of(m, &["caption", "name", "description"]),
            serial: str_of(m, &["serial"]),
        })
        .collect();

    let printers = list(content, "printers")
        .into_iter()
        .map(|p| Printer {
            name: str_of(p, &["name"]),
            driver: str_of(p, &["driver"]),
            port: str_of(p, &["port"]),
            serial: str_of(p, &["serial"]),
        })
        .collect();

    let software = list(content, "softwares")
        .into_iter()
        .filter_map(|s| {
            Some(Software {
                name: str_of(s, &["name"])?,
                version: str_of(s, &["version"]),
                publisher: str_of(s, &["publisher"]),
                install_date: str_of(s, &["install_date", "installdate"]).map(|d| normalize_date(&d)),
            })
        })
        .collect();

    // FusionInventory reads `last`: with an empty wtmp its first line is "wtmp begins …", so it reports
    // the user "wtmp".
    let real_user = |u: &String| !matches!(u.to_ascii_lowercase().as_str(), "wtmp" | "btmp" | "reboot" | "shutdown");
    let logged_user = ["userid", "lastloggeduser"]
        .iter()
        .filter_map(|k| str_of(hw, &[k]))
        .find(real_user)
        .or_else(|| list(content, "users").into_iter().find_map(|u| str_of(u, &["login"])));

    Inventory {
        device_id,
        partial,
        name: str_of(hw, &["name"]).or_else(|| str_of(os, &["fqdn"])),
        domain: str_of(hw, &["workgroup"]).or_else(|| str_of(os, &["dns_domain"])),
        os_name: str_of(os, &["full_name", "name"]).or_else(|| str_of(hw, &["osname"])),
        os_version: str_of(os, &["version"]).or_else(|| str_of(hw, &["osversion"])),
        os_arch: str_of(os, &["arch"]).or_else(|| str_of(hw, &["arch"])).or_else(|| arch_from_description(hw)),
        uuid: str_of(hw, &["uuid"]),
        serial: str_of(bios, &["ssn"]),
        manufacturer: str_of(bios, &["smanufacturer", "mmanufacturer"]),
        model: str_of(bios, &["smodel"]),
        bios_version: str_of(bios, &["bversion"]),
        bios_date: str_of(bios, &["bdate"]),
        cpus,
        memory_mb: u64_of(hw, &["memory"]),
        memory_modules,
        disks,
        volumes,
        networks: crate::net::networks(list(content, "networks")),
        monitors,
        printers,
        software,
        logged_user,
        agent_version: str_of(content, &["versionclient"]),
        tag: tag.or_else(|| tag_of(content)),
    }
}
