//! The pure part of inventory import: matching and entity rules, and what changed between two
//! inventories. No SQL here, so it is tested without a database.

use parc_core::audit::FieldChange;
use parc_inventory::Inventory;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// How an incoming inventory is recognised as a machine Parc already knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// The hardware UUID (SMBIOS), unless it is a firmware placeholder.
    Uuid,
    /// The serial number, unless it is a placeholder ("To be filled by O.E.M.", "0", ...).
    Serial,
    /// The MAC address of a physical network card.
    Mac,
    /// The machine name, within the entity the inventory is assigned to.
    Name,
    /// The agent's DEVICEID (changes when the agent is reinstalled; shared by cloned images).
    DeviceId,
}

impl MatchRule {
    pub const ALL: [MatchRule; 5] =
        [MatchRule::Uuid, MatchRule::Serial, MatchRule::Mac, MatchRule::Name, MatchRule::DeviceId];
    pub const DEFAULT: [MatchRule; 4] = [MatchRule::Uuid, MatchRule::Serial, MatchRule::Mac, MatchRule::Name];

    pub fn as_str(self) -> &'static str {
        match self {
            MatchRule::Uuid => "uuid",
            MatchRule::Serial => "serial",
            MatchRule::Mac => "mac",
            MatchRule::Name => "name",
            MatchRule::DeviceId => "device_id",
        }
    }

    pub fn parse(s: &str) -> Option<MatchRule> {
        MatchRule::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }
}

/// Parses a comma-separated, ordered rule list; unknown names and repeats are errors.
pub fn parse_match_rules(s: &str) -> Result<Vec<MatchRule>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let rule = MatchRule::parse(part).ok_or_else(|| format!("unknown matching rule '{part}'"))?;
        if out.contains(&rule) {
            return Err(format!("matching rule '{part}' is listed twice"));
        }
        out.push(rule);
    }
    Ok(out)
}

/// How an entity assignment rule recognises an inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntityRuleKind {
    /// The agent's TAG, compared without case.
    Tag,
    /// The request's source address (else the machine's own addresses) within a CIDR subnet.
    Subnet,
    /// The machine name against a pattern with `*` and `?`, without case.
    Name,
}

impl EntityRuleKind {
    pub const ALL: [EntityRuleKind; 3] = [EntityRuleKind::Tag, EntityRuleKind::Subnet, EntityRuleKind::Name];

    pub fn as_str(self) -> &'static str {
        match self {
            EntityRuleKind::Tag => "tag",
            EntityRuleKind::Subnet => "subnet",
            EntityRuleKind::Name => "name",
        }
    }

    pub fn parse(s: &str) -> Option<EntityRuleKind> {
        EntityRuleKind::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }
}

/// Checks a rule's pattern; the message says what is wrong.
pub fn check_pattern(kind: EntityRuleKind, pattern: &str) -> Result<(), &'static str> {
    let p = pattern.trim();
    if p.is_empty() {
        return Err("is required");
    }
    if p.chars().count() > 200 {
        return Err("must be at most 200 characters");
    }
    if kind == EntityRuleKind::Subnet && p.parse::<ipnet::IpNet>().is_err() {
        return Err("must be a subnet such as 192.168.207.0/24");
    }
    Ok(())
}

/// Whether a rule admits this inventory, sent from `source_ip`.
pub fn entity_rule_matches(kind: EntityRuleKind, pattern: &str, inv: &Inventory, source_ip: Option<&str>) -> bool {
    let pattern = pattern.trim();
    match kind {
        EntityRuleKind::Tag => inv.tag.as_deref().is_some_and(|t| t.trim().eq_ignore_ascii_case(pattern)),
        EntityRuleKind::Name => inv.name.as_deref().is_some_and(|n| glob(pattern, n)),
        EntityRuleKind::Subnet => {
            let Ok(net) = pattern.parse::<ipnet::IpNet>() else { return false };
            let inside = |ip: &str| ip.parse::<IpAddr>().is_ok_and(|a| net.contains(&a));
            match source_ip {
                Some(src) if inside(src) => true,
                _ => inv.networks.iter().flat_map(|n| n.ips.iter()).any(|ip| inside(ip)),
            }
        }
    }
}

/// Case-insensitive wildcard match: `*` any run of characters, `?` exactly one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// What identifies a known machine, to refuse a match that a stronger identifier contradicts.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub uuid: Option<String>,
    pub serial: Option<String>,
}

/// Two different real UUIDs, or two different real serials, are two different machines, whatever
/// else they share (two VMs cloned from one template share a serial; a USB network adapter moves).
pub fn contradicts(incoming: &Identity, known: &Identity) -> bool {
    let differ = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => !a.eq_ignore_ascii_case(b),
        _ => false,
    };
    differ(&incoming.uuid, &known.uuid) || differ(&incoming.serial, &known.serial)
}

/// One installed software as the catalogue keys it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SoftwareKey {
    pub name: String,
    pub publisher: String,
    pub version: String,
}

impl SoftwareKey {
    fn label(&self) -> String {
        if self.version.is_empty() {
            self.name.clone()
        } else {
            format!("{} {}", self.name, self.version)
        }
    }
}

/// Installed, removed and upgraded software between two inventories, one change each.
pub fn software_changes(old: &[SoftwareKey], new: &[SoftwareKey]) -> Vec<FieldChange> {
    fn by_product(list: &[SoftwareKey]) -> BTreeMap<(&str, &str), BTreeSet<&SoftwareKey>> {
        let mut m: BTreeMap<(&str, &str), BTreeSet<&SoftwareKey>> = BTreeMap::new();
        for k in list {
            m.entry((k.name.as_str(), k.publisher.as_str())).or_default().insert(k);
        }
        m
    }
    let (o, n) = (by_product(old), by_product(new));
    let mut out = Vec::new();
    let change = |old: Option<String>, new: Option<String>| FieldChange { field: "software".into(), old, new };
    for (product, new_set) in &n {
        match o.get(product) {
            None => out.extend(new_set.iter().map(|k| change(None, Some(k.label())))),
            Some(old_set) if old_set != new_set => {
                let gone: Vec<_> = old_set.difference(new_set).collect();
                let came: Vec<_> = new_set.difference(old_set).collect();
                let pairs = gone.len().min(came.len());
                for i in 0..pairs {
                    out.push(change(Some(gone[i].label()), Some(came[i].label())));
                }
                out.extend(gone[pairs..].iter().map(|k| change(Some(k.label()), None)));
                out.extend(came[pairs..].iter().map(|k| change(None, Some(k.label()))));
            }
            Some(_) => {}
        }
    }
    for (product, old_set) in &o {
        if !n.contains_key(product) {
            out.extend(old_set.iter().map(|k| change(Some(k.label()), None)));
        }
    }
    out
}

/// Changes between two lists of labelled items (disks, CPUs): one removal or addition each.
pub fn set_changes(field: &str, old: &[String], new: &[String]) -> Vec<FieldChange> {
    let o: BTreeSet<&String> = old.iter().collect();
    let n: BTreeSet<&String> = new.iter().collect();
    let gone: Vec<&&String> = o.difference(&n).collect();
    let came: Vec<&&String> = n.difference(&o).collect();
    let mut out = Vec::new();
    let pairs = gone.len().min(came.len());
    for i in 0..pairs {
        out.push(FieldChange { field: field.into(), old: Some((*gone[i]).clone()), new: Some((*came[i]).clone()) });
    }
    out.extend(gone[pairs..].iter().map(|s| FieldChange { field: field.into(), old: Some((**s).clone()), new: None }));
    out.extend(came[pairs..].iter().map(|s| FieldChange { field: field.into(), old: None, new: Some((**s).clone()) }));
    out
}

/// Cuts agent text to what a column holds, on a character boundary, trimmed.
pub fn clip(s: &str, max: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].trim_end().to_owned(),
        None => s.to_owned(),
    }
}

/// Same, for optional text; empty becomes `None`.
pub fn clip_opt(s: Option<&str>, max: usize) -> Option<String> {
    s.map(|s| clip(s, max)).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use parc_inventory::NetworkCard;

    fn key(n: &str, v: &str) -> SoftwareKey {
        SoftwareKey { name: n.into(), publisher: "P".into(), version: v.into() }
    }

    #[test]
    fn software_diff_groups_upgrades() {
        let old = [key("Firefox", "115"), key("LibreOffice", "7.4"), key("Old", "1")];
        let new = [key("Firefox", "120"), key("LibreOffice", "7.4"), key("New", "2")];
        let ch = software_changes(&old, &new);
        assert_eq!(ch.len(), 3, "{ch:?}");
        assert!(ch.iter().any(|c| c.old.as_deref() == Some("Firefox 115") && c.new.as_deref() == Some("Firefox 120")));
        assert!(ch.iter().any(|c| c.old.is_none() && c.new.as_deref() == Some("New 2")));
        assert!(ch.iter().any(|c| c.old.as_deref() == Some("Old 1") && c.new.is_none()));
        assert!(software_changes(&old, &old).is_empty());
    }

    #[test]
    fn globs() {
        assert!(glob("PC-ECOLE-*", "pc-ecole-042"));
        assert!(glob("pc-??", "PC-12"));
        assert!(!glob("pc-??", "PC-123"));
        assert!(glob("*", ""));
        assert!(glob("*-srv-*", "mairie-srv-01"));
        assert!(!glob("srv", "srv2"));
    }

    #[test]
    fn entity_rules() {
        let inv = Inventory {
            name: Some("COLLEGE-PC-12".into()),
            tag: Some("Collège Jean Moulin".into()),
            networks: vec![NetworkCard { ips: vec!["10.4.7.12".into()], ..Default::default() }],
            ..Default::default()
        };
        assert!(entity_rule_matches(EntityRuleKind::Tag, "collège jean moulin", &inv, None));
        assert!(entity_rule_matches(EntityRuleKind::Subnet, "192.168.207.0/24", &inv, Some("192.168.207.40")));
        assert!(entity_rule_matches(EntityRuleKind::Subnet, "10.4.0.0/16", &inv, Some("192.168.1.1")));
        assert!(!entity_rule_matches(EntityRuleKind::Subnet, "10.5.0.0/16", &inv, Some("192.168.1.1")));
        assert!(entity_rule_matches(EntityRuleKind::Name, "college-*", &inv, None));
        assert!(check_pattern(EntityRuleKind::Subnet, "192.168.207.0/33").is_err());
        assert!(check_pattern(EntityRuleKind::Subnet, "2001:db8::/32").is_ok());
    }

    #[test]
    fn contradiction() {
        let a = Identity { uuid: Some("A".into()), serial: Some("S".into()) };
        let b = Identity { uuid: Some("B".into()), serial: Some("S".into()) };
        assert!(contradicts(&a, &b));
        assert!(!contradicts(&a, &Identity { uuid: Some("a".into()), serial: None }));
        assert!(!contradicts(&a, &Identity::default()));
    }

    #[test]
    fn rules_parse() {
        assert_eq!(
            parse_match_rules("uuid, serial,mac").unwrap(),
            vec![MatchRule::Uuid, MatchRule::Serial, MatchRule::Mac]
        );
        assert!(parse_match_rules("uuid,uuid").is_err());
        assert!(parse_match_rules("foo").is_err());
        assert_eq!(clip("  abcdef ", 3), "abc");
        assert_eq!(clip("éééé", 2), "éé");
    }
}
