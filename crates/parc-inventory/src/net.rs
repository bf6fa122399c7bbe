//! Network cards: addresses, IPv4 mask, subnet (CIDR) and VLAN, merged per interface.
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use parc_core::validate::{normalize_ip, normalize_mac};
use serde_json::Value;

use crate::map::{bool_of, scalar, str_of, u64_of};
use crate::NetworkCard;

/// A mask as an agent writes it: dotted IPv4 (`255.255.255.0`), IPv6 (`ffff:ffff:ffff:ffff::`) or a bare
/// prefix length (`24`, `/64`). Non-contiguous masks are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mask {
    V4(u8),
    V6(u8),
    Len(u8),
}

fn parse_mask(raw: &str) -> Option<Mask> {
    let raw = raw.trim();
    let digits = raw.strip_prefix('/').unwrap_or(raw);
    if !digits.is_empty() && digits.len() <= 3 && digits.bytes().all(|b| b.is_ascii_digit()) {
        return digits.parse::<u8>().ok().filter(|p| *p <= 128).map(Mask::Len);
    }
    match raw.parse::<IpAddr>().ok()? {
        IpAddr::V4(m) => contiguous_prefix(u128::from(u32::from(m)) << 96).map(Mask::V4),
        IpAddr::V6(m) => contiguous_prefix(u128::from(m)).map(Mask::V6),
    }
}

/// Number of leading ones when the 128-bit mask is ones then zeros only.
fn contiguous_prefix(bits: u128) -> Option<u8> {
    let ones = bits.leading_ones();
    (ones == 128 || bits << ones == 0).then(|| u8::try_from(ones).unwrap_or(128))
}

fn v4_prefix(mask: Option<Mask>) -> Option<u8> {
    match mask? {
        Mask::V4(p) => Some(p),
        Mask::Len(p) if p <= 32 => Some(p),
        _ => None,
    }
}

fn v6_prefix(mask: Option<Mask>) -> Option<u8> {
    match mask? {
        Mask::V6(p) | Mask::Len(p) => Some(p),
        Mask::V4(_) => None,
    }
}

fn v4_network(addr: Ipv4Addr, prefix: u8) -> Option<(Ipv4Addr, u8)> {
    if prefix == 0 || prefix > 32 || addr.is_unspecified() {
        return None;
    }
    let mask = u32::MAX << (32 - u32::from(prefix));
    Some((Ipv4Addr::from(u32::from(addr) & mask), prefix))
}

fn v6_network(addr: Ipv6Addr, prefix: u8) -> Option<(Ipv6Addr, u8)> {
    if prefix == 0 || prefix > 128 {
        return None;
    }
    let net = Ipv6Addr::from(u128::from(addr) & (u128::MAX << (128 - u32::from(prefix))));
    // Loopback, unspecified and link-local (fe80::/10) networks say nothing about where the machine is.
    let local = net.is_loopback() || net.is_unspecified() || (net.segments()[0] & 0xffc0) == 0xfe80;
    (!local).then_some((net, prefix))
}

fn v4_mask_text(prefix: u8) -> String {
    Ipv4Addr::from(u32::MAX << (32 - u32::from(prefix.clamp(1, 32)))).to_string()
}

/// `(address, optional prefix)` from `a.b.c.d`, `a.b.c.d/24`, `2001:db8::` or `2001:db8::/64`.
fn parse_cidr(raw: &str) -> Option<(IpAddr, Option<u8>)> {
    let (addr, len) = match raw.trim().split_once('/') {
        Some((a, l)) => (a, Some(l.trim().parse::<u8>().ok()?)),
        None => (raw.trim(), None),
    };
    Some((addr.trim().parse().ok()?, len))
}

/// All the addresses of an entry (`ipaddress`, `ipaddress6`; lists or comma-separated), canonical, unique.
fn ips_of(net: &Value) -> Vec<String> {
    let mut ips = Vec::new();
    let mut seen = HashSet::new();
    for key in ["ipaddress", "ipaddress6"] {
        let values: Vec<&Value> = match net.get(key) {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(v) => vec![v],
            None => continue,
        };
        for raw in values.into_iter().filter_map(scalar) {
            for part in raw.split(',') {
                if let Ok(ip) = normalize_ip(part) {
                    if seen.insert(ip.clone()) {
                        ips.push(ip);
                    }
                }
            }
        }
    }
    ips
}

fn first_v4(ips: &[String]) -> Option<Ipv4Addr> {
    ips.iter().filter_map(|ip| ip.parse::<Ipv4Addr>().ok()).find(|a| !a.is_unspecified())
}

/// VLAN id in 1..=4094 from decimal text.
fn vlan_id(digits: &str) -> Option<u16> {
    let ok = !digits.is_empty() && digits.len() <= 4 && digits.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| digits.parse::<u16>().ok()).flatten().filter(|id| (1..=4094).contains(id))
}

/// VLAN id from an interface name: `eth0.207`, `enp3s0.207`, `bond0.100@bond0`, `vlan207`, `VLAN 207`,
/// Windows teaming descriptions ending in `VLAN207`.
pub(crate) fn vlan_from_name(name: &str) -> Option<u16> {
    let name = name.trim();
    // Linux `ip` shows `eth0.207@eth0`; aliases are `eth0.207:1`.
    let base = name.split(['@', ':']).next().unwrap_or(name);
    if !base.contains(char::is_whitespace) {
        if let Some((parent, id)) = base.rsplit_once('.') {
            if !parent.is_empty() {
                if let Some(id) = vlan_id(id) {
                    return Some(id);
                }
            }
        }
    }
    let lower = name.to_ascii_lowercase();
    let at = lower.rfind("vlan")?;
    // `vlan` must start a word: not `myvlan3`-like runs of letters, but `vlan7`, `-vlan7`, `br.vlan7` are fine.
    if lower[..at].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let rest = lower[at + 4..].trim_start_matches([' ', '_', '-', '.', ':', '#']);
    vlan_id(rest.trim_end())
}

/// VLAN id given by the agent: a `vlan`/`vlanid`/`vlan_id` field, a single-entry `vlans` list
/// (`[{"id": 207}]`), or AIX's `TYPE` = `VLAN207` (OCS); else from the interface name.
fn vlan_of(n: &Value) -> Option<u16> {
    let explicit = u64_of(n, &["vlan", "vlanid", "vlan_id", "vlantag", "vlan_tag"])
        .and_then(|id| u16::try_from(id).ok())
        .filter(|id| (1..=4094).contains(id));
    let listed = || match n.get("vlans") {
        Some(Value::Array(a)) if a.len() == 1 => u64_of(&a[0], &["id", "number"]),
        Some(v @ Value::Object(_)) => u64_of(v, &["id", "number"]).or_else(|| u64_of(&v["vlan"], &["id", "number"])),
        _ => None,
    };
    let listed = || listed().and_then(|id| u16::try_from(id).ok()).filter(|id| (1..=4094).contains(id));
    let typed = || {
        let t = str_of(n, &["type"])?;
        let rest = t.get(..4).filter(|p| p.eq_ignore_ascii_case("vlan")).map(|_| &t[4..])?;
        vlan_id(rest.trim())
    };
    let named = || ["description", "name"].iter().find_map(|k| str_of(n, &[k]).and_then(|s| vlan_from_name(&s)));
    explicit.or_else(listed).or_else(typed).or_else(named)
}

/// One interface being assembled from the agent's entries (FusionInventory and OCS send one per address).
struct Acc {
    card: NetworkCard,
    seen: HashSet<String>,
    prefix4: Option<u8>,
    net4: Option<(Ipv4Addr, u8)>,
    net6: Option<(Ipv6Addr, u8)>,
}

/// What one `NETWORKS` entry says about masks and subnets.
struct EntryNets {
    prefix4: Option<u8>,
    net4: Option<(Ipv4Addr, u8)>,
    net6: Option<(Ipv6Addr, u8)>,
}

fn entry_nets(n: &Value, ips: &[String]) -> EntryNets {
    let mask4 = str_of(n, &["ipmask"]).and_then(|m| parse_mask(&m));
    let mask6 = str_of(n, &["ipmask6"]).and_then(|m| parse_mask(&m)).or(mask4);
    let has_v4 = ips.iter().any(|ip| ip.parse::<Ipv4Addr>().is_ok());
    let subnets: Vec<(IpAddr, Option<u8>)> =
        ["ipsubnet", "ipsubnet6"].iter().filter_map(|k| str_of(n, &[k])).filter_map(|s| parse_cidr(&s)).collect();
    let sub4 = subnets.iter().find_map(|(a, l)| match a {
        IpAddr::V4(a) => Some((*a, *l)),
        IpAddr::V6(_) => None,
    });
    let sub6 = subnets.iter().find_map(|(a, l)| match a {
        IpAddr::V6(a) => Some((*a, *l)),
        IpAddr::V4(_) => None,
    });
    // A bare prefix length is an IPv4 one only where the entry is about IPv4.
    let mut prefix4 = match mask4 {
        Some(Mask::Len(_)) if !has_v4 && sub4.is_none() => None,
        m => v4_prefix(m),
    };
    let net4 = match sub4 {
        Some((a, Some(len))) => v4_network(a, len),
        Some((a, None)) => prefix4.and_then(|p| v4_network(a, p)),
        None => None,
    }
    .or_else(|| v4_network(first_v4(ips)?, prefix4?));
    prefix4 = prefix4.or(net4.map(|(_, p)| p)).filter(|p| *p > 0);
    let net6 = match sub6 {
        Some((a, Some(len))) => v6_network(a, len),
        Some((a, None)) => v6_prefix(mask6).and_then(|p| v6_network(a, p)),
        None => None,
    }
    .or_else(|| {
        let p = v6_prefix(mask6)?;
        ips.iter().filter_map(|ip| ip.parse::<Ipv6Addr>().ok()).find_map(|a| v6_network(a, p))
    });
    EntryNets { prefix4, net4, net6 }
}

/// The cards of a `networks` section; entries for the same interface (same description and MAC) merged.
pub(crate) fn networks(entries: Vec<&Value>) -> Vec<NetworkCard> {
    let mut cards: Vec<Acc> = Vec::new();
    let mut index: HashMap<(Option<String>, Option<String>), usize> = HashMap::new();
    for n in entries {
        let description = str_of(n, &["description", "name"]);
        let mac = str_of(n, &["mac", "macaddr"]).and_then(|m| normalize_mac(&m).ok());
        let ips = ips_of(n);
        let nets = entry_nets(n, &ips);
        let vlan = vlan_of(n);
        let r#virtual =
            bool_of(n, &["virtualdev"]) || str_of(n, &["type"]).is_some_and(|t| t.eq_ignore_ascii_case("loopback"));
        let slot = *index.entry((description.clone(), mac.clone())).or_insert_with(|| {
            cards.push(Acc {
                card: NetworkCard { description, mac, ..NetworkCard::default() },
                seen: HashSet::new(),
                prefix4: None,
                net4: None,
                net6: None,
            });
            cards.len() - 1
        });
        let acc = &mut cards[slot];
        for ip in ips {
            if acc.seen.insert(ip.clone()) {
                acc.card.ips.push(ip);
            }
        }
        acc.card.r#virtual |= r#virtual;
        acc.card.vlan = acc.card.vlan.or(vlan);
        acc.prefix4 = acc.prefix4.or(nets.prefix4);
        acc.net4 = acc.net4.or(nets.net4);
        acc.net6 = acc.net6.or(nets.net6);
    }
    cards
        .into_iter()
        .map(|mut acc| {
            let net4 = acc.net4.or_else(|| v4_network(first_v4(&acc.card.ips)?, acc.prefix4?));
            acc.card.mask = acc.prefix4.or(net4.map(|(_, p)| p)).map(v4_mask_text);
            acc.card.subnet = match (net4, acc.net6) {
                (Some((a, p)), _) => Some(format!("{a}/{p}")),
                (None, Some((a, p))) => Some(format!("{a}/{p}")),
                (None, None) => None,
            };
            acc.card
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn masks() {
        assert_eq!(parse_mask("255.255.255.0"), Some(Mask::V4(24)));
        assert_eq!(parse_mask("255.255.255.255"), Some(Mask::V4(32)));
        assert_eq!(parse_mask("0.0.0.0"), Some(Mask::V4(0)));
        assert_eq!(parse_mask("255.0.255.0"), None, "not contiguous");
        assert_eq!(parse_mask("ffff:ffff:ffff:ffff::"), Some(Mask::V6(64)));
        assert_eq!(parse_mask("/26"), Some(Mask::Len(26)));
        assert_eq!(parse_mask("64"), Some(Mask::Len(64)));
        assert_eq!(parse_mask("129"), None);
        assert_eq!(parse_mask("banana"), None);
        assert_eq!(v4_mask_text(24), "255.255.255.0");
        assert_eq!(v4_mask_text(32), "255.255.255.255");
        assert_eq!(v4_mask_text(1), "128.0.0.0");
    }

    #[test]
    fn vlans_from_names() {
        for (name, id) in [
            ("eth0.207", Some(207)),
            ("enp3s0.207", Some(207)),
            ("bond0.100@bond0", Some(100)),
            ("eth0.207:1", Some(207)),
            ("vlan207", Some(207)),
            ("VLAN 207", Some(207)),
            ("Intel(R) Ethernet Connection I219-LM - VLAN : VLAN207", Some(207)),
            ("br-vlan_12", Some(12)),
            ("eth0.4095", None),
            ("eth0.0", None),
            ("vlan0", None),
            ("eth0", None),
            ("eth0:1", None),
            (".207", None),
            ("Hyper-V Virtual Ethernet Adapter 2.0", None),
            ("myvlan3", None),
            ("vlan207 uplink", None),
            ("", None),
        ] {
            assert_eq!(vlan_from_name(name), id, "{name:?}");
        }
    }

    #[test]
    fn vlan_sources() {
        assert_eq!(vlan_of(&json!({"description": "eth0", "vlan": "12"})), Some(12));
        assert_eq!(vlan_of(&json!({"description": "eth0", "vlans": [{"id": 30, "name": "voip"}]})), Some(30));
        assert_eq!(vlan_of(&json!({"description": "eth0", "vlans": [{"id": 30}, {"id": 31}]})), None, "trunk");
        assert_eq!(vlan_of(&json!({"DESCRIPTION": "x", "type": "VLAN207"})), Some(207));
        assert_eq!(vlan_of(&json!({"description": "en3", "type": "VLAN"})), None);
        assert_eq!(vlan_of(&json!({"description": "eth0.5", "vlan": 9000})), Some(5), "bad tag ignored");
    }

    #[test]
    fn subnets() {
        let cards = networks(vec![
            &json!({"description": "a", "ipaddress": "192.168.207.40", "ipmask": "255.255.255.0", "ipsubnet": "192.168.207.0"}),
            &json!({"description": "b", "ipaddress": "10.1.2.3", "ipmask": "255.255.240.0"}),
            &json!({"description": "c", "ipaddress": "10.1.2.3", "ipsubnet": "10.1.0.0/16"}),
            &json!({"description": "d", "ipaddress": "10.1.2.3", "ipsubnet": "10.1.0.0"}),
            &json!({"description": "e", "ipaddress6": "2001:db8:1::5", "ipmask6": "ffff:ffff:ffff:ffff::", "ipsubnet6": "2001:db8:1::"}),
            &json!({"description": "f", "ipaddress": "fe80::1", "ipmask": "ffff:ffff:ffff:ffff::", "ipsubnet": "fe80::"}),
            &json!({"description": "g", "ipaddress": "2001:db8:2::9", "ipmask": "64"}),
            &json!({"description": "h", "ipaddress": "0.0.0.0", "ipmask": "0.0.0.0", "ipsubnet": "0.0.0.0"}),
            &json!({"description": "i", "ipaddress": "192.168.1.5", "ipmask": "24"}),
        ]);
        let got: Vec<(Option<&str>, Option<&str>)> =
            cards.iter().map(|c| (c.mask.as_deref(), c.subnet.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                (Some("255.255.255.0"), Some("192.168.207.0/24")),
                (Some("255.255.240.0"), Some("10.1.0.0/20")),
                (Some("255.255.0.0"), Some("10.1.0.0/16")),
                (None, None),
                (None, Some("2001:db8:1::/64")),
                (None, None),
                (None, Some("2001:db8:2::/64")),
                (None, None),
                (Some("255.255.255.0"), Some("192.168.1.0/24")),
            ]
        );
    }

    #[test]
    fn merged_entries_keep_the_ipv4_subnet() {
        // OCS and FusionInventory: one entry per address, IPv6 first here.
        let cards = networks(vec![
            &json!({"DESCRIPTION": "x"}),
            &json!({"description": "eth0", "macaddr": "02:FC:00:00:00:01", "ipaddress6": "fd00::2", "ipmask6": "ffff:ffff:ffff:ffff::", "ipsubnet6": "fd00::"}),
            &json!({"description": "eth0", "macaddr": "02:fc:00:00:00:01", "ipaddress": "192.0.2.2", "ipmask": "255.255.255.0"}),
        ]);
        assert_eq!(cards.len(), 2);
        assert_eq!(cards[1].ips, vec!["fd00::2".to_owned(), "192.0.2.2".to_owned()]);
        assert_eq!(cards[1].mask.as_deref(), Some("255.255.255.0"));
        assert_eq!(cards[1].subnet.as_deref(), Some("192.0.2.0/24"));
        // Mask in one entry, address in another: computed once merged.
        let cards = networks(vec![
            &json!({"description": "eth1.30", "ipmask": "255.255.255.128"}),
            &json!({"description": "eth1.30", "ipaddress": "172.16.30.200"}),
        ]);
        assert_eq!(cards[0].subnet.as_deref(), Some("172.16.30.128/25"));
        assert_eq!(cards[0].vlan, Some(30));
    }
}
