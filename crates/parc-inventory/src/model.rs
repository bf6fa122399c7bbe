use std::collections::HashSet;
use std::net::IpAddr;

use serde::Serialize;

/// One decoded agent request, whatever the protocol.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AgentMessage {
    /// Legacy XML PROLOG (OCS / FusionInventory, also glpi-agent's first contact): "may I send?".
    Prolog { device_id: String },
    /// GLPI agent JSON `contact`.
    Contact {
        device_id: String,
        tag: Option<String>,
        agent_name: Option<String>,
        agent_version: Option<String>,
        enabled_tasks: Vec<String>,
    },
    /// A full (or partial) inventory.
    Inventory(Box<Inventory>),
}

/// Normalized machine inventory.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Inventory {
    pub device_id: String,
    /// GLPI `partial: true`: absent sections must not be treated as removed.
    pub partial: bool,
    pub name: Option<String>,
    pub domain: Option<String>,
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    pub os_arch: Option<String>,
    pub uuid: Option<String>,
    pub serial: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub bios_version: Option<String>,
    pub bios_date: Option<String>,
    pub cpus: Vec<Cpu>,
    pub memory_mb: Option<u64>,
    pub memory_modules: Vec<MemoryModule>,
    pub disks: Vec<Disk>,
    pub volumes: Vec<Volume>,
    pub networks: Vec<NetworkCard>,
    pub monitors: Vec<Monitor>,
    pub printers: Vec<Printer>,
    pub software: Vec<Software>,
    pub logged_user: Option<String>,
    pub agent_version: Option<String>,
    pub tag: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cpu {
    pub name: Option<String>,
    pub manufacturer: Option<String>,
    pub arch: Option<String>,
    pub cores: Option<u32>,
    pub threads: Option<u32>,
    pub speed_mhz: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MemoryModule {
    pub slot: Option<String>,
    pub capacity_mb: Option<u64>,
    pub kind: Option<String>,
    pub speed: Option<String>,
    pub manufacturer: Option<String>,
    pub serial: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Disk {
    pub name: Option<String>,
    pub model: Option<String>,
    pub manufacturer: Option<String>,
    pub serial: Option<String>,
    pub interface: Option<String>,
    pub size_mb: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Volume {
    pub mount: Option<String>,
    pub filesystem: Option<String>,
    pub total_mb: Option<u64>,
    pub free_mb: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NetworkCard {
    pub description: Option<String>,
    /// Lower-case colon form (`aa:bb:cc:dd:ee:ff`), `None` when absent or invalid.
    pub mac: Option<String>,
    /// Canonical IPv4/IPv6 texts; invalid addresses are dropped.
    pub ips: Vec<String>,
    /// Dotted IPv4 netmask (`255.255.255.0`), from `IPMASK` / `ipmask` (or the prefix of a CIDR subnet);
    /// `None` when absent or not a contiguous mask. IPv6 masks are not kept here.
    pub mask: Option<String>,
    /// Network in CIDR form (`192.168.207.0/24`): the agent's `IPSUBNET` / `ipsubnet` with the mask's
    /// prefix length, else computed from the card's first IPv4 address and its mask (as the agent says
    /// it, `127.0.0.0/8` for `lo` included). Without any IPv4 network, the first IPv6 one that is not
    /// loopback nor link-local (`IPSUBNET6` + `IPMASK6`, e.g. `2001:db8:1::/64`).
    pub subnet: Option<String>,
    /// 802.1Q VLAN id (1–4094): from the agent when it sends one (a `vlan` field, AIX's `TYPE` `VLAN207`),
    /// else from the interface name (`eth0.207`, `enp3s0.207`, `vlan207`, `… VLAN 207`).
    pub vlan: Option<u16>,
    #[serde(rename = "virtual")]
    pub r#virtual: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Monitor {
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Printer {
    pub name: Option<String>,
    pub driver: Option<String>,
    pub port: Option<String>,
    pub serial: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Software {
    pub name: String,
    pub version: Option<String>,
    pub publisher: Option<String>,
    /// `YYYY-MM-DD` when the agent's date could be understood, else the raw text.
    pub install_date: Option<String>,
}

const JUNK_MACS: &[&str] = &["00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "fe:ff:ff:ff:ff:ff", "0a:00:27:00:00:00"];

impl Inventory {
    /// MACs of the non-virtual cards, without duplicates nor well-known placeholder addresses.
    pub fn physical_macs(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.networks
            .iter()
            .filter(|n| !n.r#virtual)
            .filter_map(|n| n.mac.as_deref())
            .filter(|mac| !JUNK_MACS.contains(mac) && seen.insert(*mac))
            .map(str::to_owned)
            .collect()
    }

    /// The address to show for the machine: the first IPv4 address of a non-virtual card that is not
    /// loopback, link-local (169.254/16) nor unspecified; else the first address of any card that is
    /// not loopback nor unspecified, preferring non-link-local ones (so IPv6-only machines get one too).
    pub fn primary_ip(&self) -> Option<&str> {
        let all = || self.networks.iter().flat_map(|n| n.ips.iter().map(move |ip| (n, ip.as_str())));
        let parsed = || all().filter_map(|(n, ip)| ip.parse::<IpAddr>().ok().map(|a| (n, ip, a)));
        let usable = |a: &IpAddr| !a.is_loopback() && !a.is_unspecified();
        let link_local = |a: &IpAddr| match a {
            IpAddr::V4(v4) => v4.is_link_local(),
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
        };
        parsed()
            .find(|(n, _, a)| !n.r#virtual && a.is_ipv4() && usable(a) && !link_local(a))
            .or_else(|| parsed().find(|(_, _, a)| usable(a) && !link_local(a)))
            .or_else(|| parsed().find(|(_, _, a)| usable(a)))
            .map(|(_, ip, _)| ip)
    }

    /// The BIOS serial, trimmed, unless it is a known placeholder ("To be filled by O.E.M.", zeros…).
    pub fn usable_serial(&self) -> Option<&str> {
        self.serial.as_deref().map(str::trim).filter(|s| !is_junk_serial(s))
    }

    /// The hardware UUID, trimmed, unless it is a known placeholder (all zeros, all F, 03000200-…).
    pub fn usable_uuid(&self) -> Option<&str> {
        self.uuid.as_deref().map(str::trim).filter(|s| !is_junk_uuid(s))
    }
}

const JUNK_SERIALS: &[&str] = &[
    "",
    "0",
    "none",
    "n/a",
    "na",
    "null",
    "(null string)",
    "to be filled by o.e.m.",
    "system serial number",
    "default string",
    "default",
    "not specified",
    "not applicable",
    "not available",
    "123456789",
    "0123456789",
    "1234567890",
    "00000000",
    "xxxxxxxx",
    "chassis serial number",
    "serial number",
    "invalid",
];

/// All characters identical (ignoring `-`), at least 4 of them: `0000`, `FFFFFFFF-FFFF-…`, `XXXXXXXX`.
fn all_same_char(s: &str) -> bool {
    let mut chars = s.chars().filter(|c| *c != '-').map(|c| c.to_ascii_lowercase());
    let Some(first) = chars.next() else { return false };
    let mut n = 1;
    for c in chars {
        if c != first {
            return false;
        }
        n += 1;
    }
    n >= 4
}

/// Is this serial number a placeholder that must not identify a machine? (case-insensitive, trimmed)
pub fn is_junk_serial(serial: &str) -> bool {
    let s = serial.trim().to_ascii_lowercase();
    JUNK_SERIALS.contains(&s.as_str()) || all_same_char(&s)
}

const JUNK_UUIDS: &[&str] = &[
    "",
    "03000200-0400-0500-0006-000700080009",
    "01010101-0101-0101-0101-010101010101",
    "00020003-0004-0005-0006-000700080009",
    "12345678-1234-5678-90ab-cddeefaabbcc",
];

/// Is this hardware UUID a placeholder (all zeros, all F, firmware sample values)? (case-insensitive, trimmed)
pub fn is_junk_uuid(uuid: &str) -> bool {
    let s = uuid.trim().to_ascii_lowercase();
    JUNK_UUIDS.contains(&s.as_str()) || all_same_char(&s) || is_junk_serial(&s)
}
