//! Campaigns with scan-to-reconcile: an expected list of items (from an asset filter or an
//! imported MDM/CSV export), the codes technicians scan (a USB scanner typing into a field, the
//! camera reading a QR label or a barcode, or a typed serial), and how each scan is classified:
//! found, already found (a duplicate, counted once), or unexpected (not on the list).
//!
//! Everything here is pure: the store applies these rules in the scan's transaction and the
//! property tests below check that the tally never double counts whatever the order of scans.

use crate::assets::{string_enum, AssetStatus};
use crate::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

string_enum!(
    /// What a campaign is for; decides the per-item step and the statuses set at closing.
    CampaignKind {
        /// A plain count: is everything on the list really here?
        Count = "count",
        /// Tablets lent to classes collected back, each wiped through the MDM.
        TabletCollection = "tablet_collection",
        /// Old school PCs replaced by new ones, each new machine re-imaged.
        PcReplacement = "pc_replacement",
    }
);

string_enum!(
    /// An open campaign takes scans; a closed one is signed and frozen.
    CampaignStatus {
        Open = "open",
        Closed = "closed",
    }
);

string_enum!(
    /// What a scan turned out to be.
    ScanOutcome {
        /// An item of the list, scanned for the first time.
        Found = "found",
        /// An item already found (or an unexpected code already scanned): counted once.
        Duplicate = "duplicate",
        /// A code that matches nothing on the list.
        Unexpected = "unexpected",
    }
);

string_enum!(
    /// The per-item step a kind of campaign asks for.
    ItemStep {
        /// "Wiped via the MDM" (tablet collection).
        Wiped = "wiped",
        /// "Re-imaged from the master" (PC replacement, on the new machine).
        Reimaged = "reimaged",
    }
);

impl CampaignKind {
    /// The step each item goes through, if any.
    pub fn step(self) -> Option<ItemStep> {
        match self {
            CampaignKind::Count => None,
            CampaignKind::TabletCollection => Some(ItemStep::Wiped),
            CampaignKind::PcReplacement => Some(ItemStep::Reimaged),
        }
    }

    /// Whether items are old -> new machine pairs.
    pub fn pairs(self) -> bool {
        self == CampaignKind::PcReplacement
    }

    /// The status a found item's asset takes when the campaign closes, unless the closer
    /// chooses another; `None` leaves statuses alone.
    pub fn default_found_status(self, step_done: bool) -> Option<AssetStatus> {
        match self {
            CampaignKind::Count => None,
            CampaignKind::TabletCollection if step_done => Some(AssetStatus::Wiped),
            CampaignKind::TabletCollection => Some(AssetStatus::Returned),
            CampaignKind::PcReplacement => Some(AssetStatus::Returned),
        }
    }
}

/// Longest code a scan may carry (a QR label's URL included).
pub const CODE_MAX_CHARS: usize = 300;
/// Longest campaign name.
pub const NAME_MAX_CHARS: usize = 200;
/// Most items a campaign's expected list may hold.
pub const MAX_ITEMS: usize = 50_000;

/// A scanned or typed code, reduced to the key it is matched by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanCode {
    /// The code as received, trimmed (kept in the scan log).
    pub raw: String,
    /// The matching key: `qr:<token>` for a Parc label, else the code upper-cased without
    /// spaces, dashes, dots, colons or slashes (how serials and IMEIs are printed varies).
    pub key: String,
}

/// Why a code cannot be matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
    Empty,
    TooLong,
}

impl CodeError {
    /// The stable error code (translated as `err.<code>`).
    pub fn code(&self) -> &'static str {
        match self {
            CodeError::Empty => "required",
            CodeError::TooLong => "too_long",
        }
    }
}

/// The key of a plain code: upper case, separators dropped. Empty when nothing is left.
pub fn code_key(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '.' | ':' | '/' | '_'))
        .flat_map(char::to_uppercase)
        .collect()
}

/// The key of a Parc QR label: its URL ends in `/r/<token>`.
pub fn qr_key(token: &str) -> String {
    format!("qr:{token}")
}

/// Reads a scan. A Parc label's URL (`https://parc.example/r/<token>`, any host) becomes its
/// token's key; anything else is a serial, IMEI, tag or name.
pub fn normalize_code(raw: &str) -> Result<ScanCode, CodeError> {
    // Scanners may add control characters (a trailing CR, a GS separator): drop them.
    let cleaned: String = raw.chars().filter(|c| !c.is_control()).collect();
    let raw = cleaned.trim();
    if raw.chars().count() > CODE_MAX_CHARS {
        return Err(CodeError::TooLong);
    }
    if let Some(token) = label_token(raw) {
        return Ok(ScanCode { raw: raw.to_owned(), key: qr_key(token) });
    }
    let key = code_key(raw);
    if key.is_empty() {
        return Err(CodeError::Empty);
    }
    Ok(ScanCode { raw: raw.to_owned(), key })
}

/// The token of a label URL `…/r/<token>` (letters, digits, `-` and `_`), if `code` is one.
fn label_token(code: &str) -> Option<&str> {
    let lower = code.get(..8).map(str::to_ascii_lowercase)?;
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return None;
    }
    let at = code.rfind("/r/")?;
    let token = code[at + 3..].trim_end_matches('/');
    let token = token.split(['?', '#']).next().unwrap_or("");
    (!token.is_empty()
        && token.len() <= 100
        && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    .then_some(token)
}

/// What identifies an item of the expected list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemCodes {
    pub asset_tag: Option<String>,
    pub serial: Option<String>,
    pub imei: Option<String>,
    pub name: Option<String>,
    /// The public token of the asset's QR label.
    pub token: Option<String>,
}

impl ItemCodes {
    /// Every key this item answers to, without repeats.
    pub fn keys(&self) -> Vec<String> {
        let mut out = BTreeSet::new();
        for code in [&self.asset_tag, &self.serial, &self.imei, &self.name].into_iter().flatten() {
            let k = code_key(code);
            if !k.is_empty() {
                out.insert(k);
            }
        }
        if let Some(t) = &self.token {
            out.insert(qr_key(t));
        }
        out.into_iter().collect()
    }
}

/// The keys of a whole list, each pointing at one item (by index). A key two items share
/// (two tablets named alike) identifies neither and is left out; their other keys still work.
pub fn key_map(items: &[ItemCodes]) -> BTreeMap<String, usize> {
    let mut seen: HashMap<String, Option<usize>> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        for k in item.keys() {
            seen.entry(k).and_modify(|v| *v = v.filter(|&j| j == i)).or_insert(Some(i));
        }
    }
    seen.into_iter().filter_map(|(k, v)| v.map(|i| (k, i))).collect()
}

/// The live counts of a campaign.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Tally {
    /// Items on the expected list.
    pub expected: i64,
    /// Expected items scanned at least once.
    pub found: i64,
    /// Expected items not scanned yet.
    pub missing: i64,
    /// Distinct codes scanned that are not on the list.
    pub unexpected: i64,
    /// Scans of something already counted.
    pub duplicates: i64,
    /// Found items whose step (wiped, re-imaged) is done.
    pub step_done: i64,
}

impl Tally {
    pub fn new(expected: i64, found: i64, unexpected: i64, duplicates: i64, step_done: i64) -> Tally {
        Tally { expected, found, missing: expected - found, unexpected, duplicates, step_done }
    }
}

/// The reconciliation of one campaign in memory: the model the store's SQL follows (a found
/// item is marked once, by a conditional update; an unexpected key is inserted once).
#[derive(Debug, Clone, Default)]
pub struct Reconciliation {
    keys: BTreeMap<String, usize>,
    expected: usize,
    found: BTreeSet<usize>,
    unexpected: BTreeSet<String>,
    duplicates: i64,
}

impl Reconciliation {
    pub fn new(items: &[ItemCodes]) -> Reconciliation {
        Reconciliation { keys: key_map(items), expected: items.len(), ..Default::default() }
    }

    /// Classifies one scan and counts it.
    pub fn scan(&mut self, code: &ScanCode) -> ScanOutcome {
        match self.keys.get(&code.key) {
            Some(&i) if self.found.insert(i) => ScanOutcome::Found,
            Some(_) => self.duplicate(),
            None if self.unexpected.insert(code.key.clone()) => ScanOutcome::Unexpected,
            None => self.duplicate(),
        }
    }

    fn duplicate(&mut self) -> ScanOutcome {
        self.duplicates += 1;
        ScanOutcome::Duplicate
    }

    pub fn tally(&self) -> Tally {
        Tally::new(self.expected as i64, self.found.len() as i64, self.unexpected.len() as i64, self.duplicates, 0)
    }
}

/// Checks a new campaign's name.
pub fn check_name(name: &str) -> ValidationErrors {
    let mut e = ValidationErrors::default();
    let n = name.trim();
    if n.is_empty() {
        e.add("name", "required", "a campaign needs a name");
    } else if n.chars().count() > NAME_MAX_CHARS {
        e.add("name", "too_long", format!("at most {NAME_MAX_CHARS} characters"));
    }
    e
}

/// Which column of an imported list (an MDM console export, a spreadsheet) holds what.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListColumns {
    pub serial: Option<usize>,
    pub imei: Option<usize>,
    pub name: Option<usize>,
    pub asset_tag: Option<usize>,
}

impl ListColumns {
    /// Recognises the usual headers (English and French, as MDM consoles export them).
    pub fn detect(headers: &[String]) -> ListColumns {
        let mut cols = ListColumns::default();
        for (i, h) in headers.iter().enumerate() {
            let h: String =
                h.trim().to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect::<String>().replace('é', "e");
            let slot = match h.as_str() {
                "serial" | "serialnumber" | "serialno" | "numerodeserie" | "nserie" | "sn" | "serie" => {
                    &mut cols.serial
                }
                "imei" | "imei1" | "imeimeid" | "imeinumber" => &mut cols.imei,
                "name" | "devicename" | "nom" | "nomdelappareil" | "appareil" | "hostname" | "nomduposte" => {
                    &mut cols.name
                }
                "assettag" | "tag" | "inventaire" | "numerodinventaire" | "ninventaire" | "etiquette" => {
                    &mut cols.asset_tag
                }
                _ => continue,
            };
            slot.get_or_insert(i);
        }
        cols
    }

    /// Whether at least one identifying column was found.
    pub fn usable(&self) -> bool {
        self.serial.is_some() || self.imei.is_some() || self.asset_tag.is_some() || self.name.is_some()
    }

    /// The codes of one row (empty cells skipped); `None` when the row identifies nothing.
    pub fn codes(&self, row: &[String]) -> Option<ItemCodes> {
        let cell = |i: Option<usize>| {
            i.and_then(|i| row.get(i))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty() && v.chars().count() <= 200)
        };
        let codes = ItemCodes {
            asset_tag: cell(self.asset_tag),
            serial: cell(self.serial),
            imei: cell(self.imei),
            name: cell(self.name),
            token: None,
        };
        (!codes.keys().is_empty()).then_some(codes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(s: &str) -> ScanCode {
        normalize_code(s).unwrap()
    }

    #[test]
    fn codes_are_normalized() {
        assert_eq!(code("  5cd-123 xyz\r\n").key, "5CD123XYZ");
        assert_eq!(code("35-209900-176148-1").key, "352099001761481");
        assert_eq!(code("https://parc.mairie.fr/r/AbC_12-x").key, "qr:AbC_12-x");
        assert_eq!(code("HTTP://10.0.0.1:8080/r/tok?x=1").key, "qr:tok");
        // Not a label: an ordinary code with /r/ in it.
        assert_eq!(code("AB/r/CD").key, "ABRCD");
        assert_eq!(normalize_code(" - . "), Err(CodeError::Empty));
        assert_eq!(normalize_code(&"x".repeat(301)), Err(CodeError::TooLong));
        assert_eq!(code("\u{1d}0123\u{4}").key, "0123");
    }

    #[test]
    fn shared_keys_identify_nobody() {
        let items = [
            ItemCodes { name: Some("Tablette CM1".into()), serial: Some("S1".into()), ..Default::default() },
            ItemCodes { name: Some("Tablette CM1".into()), serial: Some("S2".into()), ..Default::default() },
        ];
        let m = key_map(&items);
        assert_eq!(m.get("S1"), Some(&0));
        assert_eq!(m.get("S2"), Some(&1));
        assert_eq!(m.get("TABLETTECM1"), None);
        // One item's tag equal to its own serial is still its key.
        let one = [ItemCodes { asset_tag: Some("X1".into()), serial: Some("x-1".into()), ..Default::default() }];
        assert_eq!(key_map(&one).get("X1"), Some(&0));
    }

    #[test]
    fn scans_are_classified_and_counted_once() {
        let items = [
            ItemCodes { serial: Some("A1".into()), ..Default::default() },
            ItemCodes { imei: Some("352099001761481".into()), ..Default::default() },
            ItemCodes { token: Some("tok".into()), ..Default::default() },
        ];
        let mut r = Reconciliation::new(&items);
        assert_eq!(r.scan(&code("a1")), ScanOutcome::Found);
        assert_eq!(r.scan(&code("A-1")), ScanOutcome::Duplicate);
        assert_eq!(r.scan(&code("https://x.fr/r/tok")), ScanOutcome::Found);
        assert_eq!(r.scan(&code("ZZZ")), ScanOutcome::Unexpected);
        assert_eq!(r.scan(&code("zzz")), ScanOutcome::Duplicate);
        assert_eq!(r.tally(), Tally { expected: 3, found: 2, missing: 1, unexpected: 1, duplicates: 2, step_done: 0 });
    }

    #[test]
    fn kinds_decide_steps_and_statuses() {
        assert_eq!(CampaignKind::TabletCollection.step(), Some(ItemStep::Wiped));
        assert_eq!(CampaignKind::PcReplacement.step(), Some(ItemStep::Reimaged));
        assert_eq!(CampaignKind::Count.step(), None);
        assert_eq!(CampaignKind::TabletCollection.default_found_status(true), Some(AssetStatus::Wiped));
        assert_eq!(CampaignKind::TabletCollection.default_found_status(false), Some(AssetStatus::Returned));
        assert_eq!(CampaignKind::Count.default_found_status(true), None);
        assert!(CampaignKind::PcReplacement.pairs());
    }

    #[test]
    fn mdm_headers_are_recognised() {
        let h: Vec<String> = ["Device Name", "Serial Number", "IMEI", "Model"].iter().map(|s| s.to_string()).collect();
        let c = ListColumns::detect(&h);
        assert_eq!(c, ListColumns { name: Some(0), serial: Some(1), imei: Some(2), asset_tag: None });
        let fr: Vec<String> = ["Nom", "Numéro de série", "N° inventaire"].iter().map(|s| s.to_string()).collect();
        let c = ListColumns::detect(&fr);
        assert_eq!((c.name, c.serial, c.asset_tag), (Some(0), Some(1), Some(2)));
        assert!(!ListColumns::detect(&["Prix".to_string()]).usable());
        let row: Vec<String> = ["iPad 3", " DMPX1 ", "", "x"].iter().map(|s| s.to_string()).collect();
        let codes = ListColumns::detect(&h).codes(&row).unwrap();
        assert_eq!(codes.serial.as_deref(), Some("DMPX1"));
        assert_eq!(codes.imei, None);
        assert_eq!(ListColumns::detect(&h).codes(&["".into(), " ".into()]), None);
    }

    proptest! {
        /// However scans interleave, each expected item is found at most once, found + missing
        /// is the list, and every scan is either a first sighting or a counted duplicate.
        #[test]
        fn tally_never_double_counts(
            n in 1usize..40,
            scans in proptest::collection::vec((0usize..60, any::<bool>()), 0..200),
        ) {
            let items: Vec<ItemCodes> =
                (0..n).map(|i| ItemCodes { serial: Some(format!("SN{i:03}")), ..Default::default() }).collect();
            let mut r = Reconciliation::new(&items);
            let mut firsts = 0i64;
            for (i, lower) in &scans {
                let raw = if *lower { format!("sn{i:03}") } else { format!("SN-{i:03}") };
                if r.scan(&code(&raw)) != ScanOutcome::Duplicate { firsts += 1; }
            }
            let t = r.tally();
            let distinct: BTreeSet<usize> = scans.iter().map(|(i, _)| *i).collect();
            prop_assert_eq!(t.found, distinct.iter().filter(|&&i| i < n).count() as i64);
            prop_assert_eq!(t.unexpected, distinct.iter().filter(|&&i| i >= n).count() as i64);
            prop_assert_eq!(t.found + t.missing, n as i64);
            prop_assert_eq!(firsts + t.duplicates, scans.len() as i64);
            // The order of the scans does not change the outcome.
            let mut rev = Reconciliation::new(&items);
            for (i, _) in scans.iter().rev() { rev.scan(&code(&format!("SN{i:03}"))); }
            prop_assert_eq!(rev.tally(), t);
        }
    }
}
