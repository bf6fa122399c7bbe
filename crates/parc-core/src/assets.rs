//! The asset registry's rules: kinds, statuses, kind-specific fields, links and validation.

use crate::validate::{
    check_text, clean, normalize_iccid, normalize_imei, normalize_ip, normalize_mac, normalize_phone, parse_date,
    ValidationErrors,
};
use crate::{AssetId, EntityId, LocationId, UserId};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Declares a string-backed enum with its stable storage/API names.
macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $s:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stable name used in storage, URLs and the API.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),* }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($s => Ok($name::$variant),)* _ => Err(format!("unknown value '{}'", s.chars().take(40).collect::<String>())) }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// What an asset is.
    AssetKind {
        Computer = "computer",
        Server = "server",
        Monitor = "monitor",
        Printer = "printer",
        NetworkEquipment = "network_equipment",
        DeskPhone = "desk_phone",
        MobilePhone = "mobile_phone",
        Tablet = "tablet",
        SimCard = "sim_card",
        PhoneLine = "phone_line",
        Projector = "projector",
        Peripheral = "peripheral",
    }
);

string_enum!(
    /// Where an asset is in its life.
    AssetStatus {
        InStock = "in_stock",
        InUse = "in_use",
        Loaned = "loaned",
        InRepair = "in_repair",
        Retired = "retired",
        /// Given back (a collected tablet, a replaced PC), not yet wiped or re-used.
        Returned = "returned",
        /// Data erased (through the MDM or a re-image), ready to be handed out again.
        Wiped = "wiped",
    }
);

string_enum!(
    /// The technology of a phone line.
    LineType {
        Analog = "analog",
        Digital = "digital",
        Mobile = "mobile",
        H323 = "h323",
        Sip = "sip",
    }
);

string_enum!(
    /// How two assets are linked; the `from` side holds at most one link of each kind.
    LinkKind {
        /// A monitor (from) plugged into a computer or server (to).
        MonitorOn = "monitor_on",
        /// A SIM card (from) inside a mobile phone or tablet (to).
        SimIn = "sim_in",
        /// A phone line (from) carried by a SIM card or a desk phone (to).
        LineOn = "line_on",
    }
);

/// Kind-specific fields, grouped by what carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecificField {
    Imei,
    Iccid,
    Puk,
    LineNumber,
    LineType,
    Ip,
    Mac,
}

impl SpecificField {
    pub fn name(self) -> &'static str {
        match self {
            SpecificField::Imei => "imei",
            SpecificField::Iccid => "iccid",
            SpecificField::Puk => "puk",
            SpecificField::LineNumber => "line_number",
            SpecificField::LineType => "line_type",
            SpecificField::Ip => "ip",
            SpecificField::Mac => "mac",
        }
    }
}

impl AssetKind {
    /// The kind-specific fields this kind carries.
    pub fn specific_fields(self) -> &'static [SpecificField] {
        use SpecificField::*;
        match self {
            AssetKind::MobilePhone | AssetKind::Tablet => &[Imei],
            AssetKind::SimCard => &[Iccid, Puk, LineNumber],
            AssetKind::PhoneLine => &[LineType, LineNumber],
            AssetKind::Computer
            | AssetKind::Server
            | AssetKind::Printer
            | AssetKind::NetworkEquipment
            | AssetKind::DeskPhone => &[Ip, Mac],
            AssetKind::Monitor | AssetKind::Projector | AssetKind::Peripheral => &[],
        }
    }

    pub fn has(self, f: SpecificField) -> bool {
        self.specific_fields().contains(&f)
    }
}

impl LinkKind {
    /// Which kinds may stand on each side of the link.
    pub fn allowed(self, from: AssetKind, to: AssetKind) -> bool {
        use AssetKind::*;
        match self {
            LinkKind::MonitorOn => from == Monitor && matches!(to, Computer | Server),
            LinkKind::SimIn => from == SimCard && matches!(to, MobilePhone | Tablet),
            LinkKind::LineOn => from == PhoneLine && matches!(to, SimCard | DeskPhone),
        }
    }

    /// The link kind a `from` asset of this kind can make, if any.
    pub fn for_from_kind(kind: AssetKind) -> Option<LinkKind> {
        match kind {
            AssetKind::Monitor => Some(LinkKind::MonitorOn),
            AssetKind::SimCard => Some(LinkKind::SimIn),
            AssetKind::PhoneLine => Some(LinkKind::LineOn),
            _ => None,
        }
    }
}

/// What a user submits to create or update an asset (form or API). Every field is raw text so
/// that wrong types are reported per field rather than as one opaque decoding error.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetInput {
    pub kind: Option<String>,
    pub entity_id: Option<i64>,
    pub name: Option<String>,
    pub asset_tag: Option<String>,
    pub serial: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub status: Option<String>,
    pub location_id: Option<i64>,
    pub assigned_user_id: Option<i64>,
    pub purchase_date: Option<String>,
    pub warranty_end: Option<String>,
    pub supplier: Option<String>,
    pub comment: Option<String>,
    pub imei: Option<String>,
    pub iccid: Option<String>,
    /// Write-only: the SIM card's PUK code. Absent keeps the stored one; empty clears it.
    pub puk: Option<String>,
    pub line_number: Option<String>,
    pub line_type: Option<String>,
    pub ip: Option<String>,
    pub mac: Option<String>,
}

/// A validated asset, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetDraft {
    pub kind: AssetKind,
    pub entity_id: EntityId,
    pub name: String,
    pub asset_tag: Option<String>,
    pub serial: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub status: AssetStatus,
    pub location_id: Option<LocationId>,
    pub assigned_user_id: Option<UserId>,
    pub purchase_date: Option<String>,
    pub warranty_end: Option<String>,
    pub supplier: Option<String>,
    pub comment: Option<String>,
    pub imei: Option<String>,
    pub iccid: Option<String>,
    /// `None`: keep what is stored; `Some(None)`: clear; `Some(Some(puk))`: set.
    pub puk: Option<Option<String>>,
    pub line_number: Option<String>,
    pub line_type: Option<LineType>,
    pub ip: Option<String>,
    pub mac: Option<String>,
}

impl AssetDraft {
    /// Every stored field as (name, text) for the audit trail's old -> new diffs.
    /// The PUK is never listed: its changes are audited as "set"/"cleared" only.
    pub fn audit_fields(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("kind", Some(self.kind.as_str().to_owned())),
            ("entity_id", Some(self.entity_id.to_string())),
            ("name", Some(self.name.clone())),
            ("asset_tag", self.asset_tag.clone()),
            ("serial", self.serial.clone()),
            ("manufacturer", self.manufacturer.clone()),
            ("model", self.model.clone()),
            ("status", Some(self.status.as_str().to_owned())),
            ("location_id", self.location_id.map(|l| l.to_string())),
            ("assigned_user_id", self.assigned_user_id.map(|u| u.to_string())),
            ("purchase_date", self.purchase_date.clone()),
            ("warranty_end", self.warranty_end.clone()),
            ("supplier", self.supplier.clone()),
            ("comment", self.comment.clone()),
            ("imei", self.imei.clone()),
            ("iccid", self.iccid.clone()),
            ("line_number", self.line_number.clone()),
            ("line_type", self.line_type.map(|l| l.as_str().to_owned())),
            ("ip", self.ip.clone()),
            ("mac", self.mac.clone()),
        ]
    }
}

pub const MAX_NAME: usize = 200;
pub const MAX_SHORT: usize = 120;
pub const MAX_COMMENT: usize = 10_000;

impl AssetInput {
    /// Validates and normalizes. `existing` supplies defaults when updating (fields absent from
    /// the input keep their stored value); when creating, `kind`, `entity_id` and `name` are required.
    pub fn validate(&self, existing: Option<&AssetDraft>) -> Result<AssetDraft, ValidationErrors> {
        let mut e = ValidationErrors::new();

        let kind = match (self.kind.as_deref().map(str::trim), existing) {
            (Some(k), _) if !k.is_empty() => match k.parse::<AssetKind>() {
                Ok(k) => Some(k),
                Err(_) => {
                    e.add("kind", "unknown_value", "unknown asset kind");
                    None
                }
            },
            (_, Some(ex)) => Some(ex.kind),
            _ => {
                e.add("kind", "required", "is required");
                None
            }
        };

        let entity_id = match (self.entity_id, existing) {
            (Some(id), _) => Some(EntityId(id)),
            (None, Some(ex)) => Some(ex.entity_id),
            (None, None) => {
                e.add("entity_id", "required", "is required");
                None
            }
        };

        for (field, value, max, multi) in [
            ("name", &self.name, MAX_NAME, false),
            ("asset_tag", &self.asset_tag, 64, false),
            ("serial", &self.serial, MAX_SHORT, false),
            ("manufacturer", &self.manufacturer, MAX_SHORT, false),
            ("model", &self.model, MAX_SHORT, false),
            ("supplier", &self.supplier, MAX_SHORT, false),
            ("comment", &self.comment, MAX_COMMENT, true),
            ("line_number", &self.line_number, 32, false),
            ("puk", &self.puk, 16, false),
        ] {
            check_text(&mut e, field, value.as_deref(), max, multi);
        }

        // Absent field -> keep existing; present (even empty) -> replace.
        let pick = |v: &Option<String>, old: Option<&Option<String>>| -> Option<String> {
            match v {
                Some(_) => clean(v.as_deref()),
                None => old.cloned().flatten(),
            }
        };

        let name = pick(&self.name, existing.map(|x| Some(x.name.clone())).as_ref());
        if name.is_none() {
            e.add("name", "required", "is required");
        }

        let status = match self.status.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => s.parse::<AssetStatus>().unwrap_or_else(|_| {
                e.add("status", "unknown_value", "unknown status");
                AssetStatus::InStock
            }),
            _ => existing.map(|x| x.status).unwrap_or(AssetStatus::InStock),
        };

        let mut date = |field: &str, v: &Option<String>, old: Option<&Option<String>>| {
            let raw = pick(v, old)?;
            match parse_date(&raw) {
                Ok(d) => Some(d.format("%Y-%m-%d").to_string()),
                Err(code) => {
                    e.add(field, code, "must be a date YYYY-MM-DD");
                    None
                }
            }
        };
        let purchase_date = date("purchase_date", &self.purchase_date, existing.map(|x| &x.purchase_date));
        let warranty_end = date("warranty_end", &self.warranty_end, existing.map(|x| &x.warranty_end));

        let mut draft = AssetDraft {
            kind: kind.unwrap_or(AssetKind::Peripheral),
            entity_id: entity_id.unwrap_or(EntityId(0)),
            name: name.unwrap_or_default(),
            asset_tag: pick(&self.asset_tag, existing.map(|x| &x.asset_tag)),
            serial: pick(&self.serial, existing.map(|x| &x.serial)),
            manufacturer: pick(&self.manufacturer, existing.map(|x| &x.manufacturer)),
            model: pick(&self.model, existing.map(|x| &x.model)),
            status,
            location_id: match self.location_id {
                Some(id) if id > 0 => Some(LocationId(id)),
                Some(_) => None,
                None => existing.and_then(|x| x.location_id),
            },
            assigned_user_id: match self.assigned_user_id {
                Some(id) if id > 0 => Some(UserId(id)),
                Some(_) => None,
                None => existing.and_then(|x| x.assigned_user_id),
            },
            purchase_date,
            warranty_end,
            supplier: pick(&self.supplier, existing.map(|x| &x.supplier)),
            comment: pick(&self.comment, existing.map(|x| &x.comment)),
            imei: None,
            iccid: None,
            puk: self.puk.as_ref().map(|p| clean(Some(p))),
            line_number: None,
            line_type: None,
            ip: None,
            mac: None,
        };

        if let (Some(p), Some(d)) = (&draft.purchase_date, &draft.warranty_end) {
            if d < p {
                e.add("warranty_end", "before_purchase", "must not be before the purchase date");
            }
        }

        // Kind-specific fields: normalized when the kind carries them, refused otherwise.
        let k = draft.kind;
        // (field, submitted value, stored value)
        type Specific<'a> = (SpecificField, &'a Option<String>, Option<&'a Option<String>>);
        let specific: [Specific; 6] = [
            (SpecificField::Imei, &self.imei, existing.map(|x| &x.imei)),
            (SpecificField::Iccid, &self.iccid, existing.map(|x| &x.iccid)),
            (SpecificField::LineNumber, &self.line_number, existing.map(|x| &x.line_number)),
            (SpecificField::Ip, &self.ip, existing.map(|x| &x.ip)),
            (SpecificField::Mac, &self.mac, existing.map(|x| &x.mac)),
            (SpecificField::Puk, &self.puk, None),
        ];
        for (field, value, old) in specific {
            let carried = k.has(field);
            let given = clean(value.as_deref());
            if !carried {
                if given.is_some() && kind.is_some() {
                    e.add(field.name(), "not_for_kind", "does not apply to this kind of asset");
                }
                continue;
            }
            if field == SpecificField::Puk {
                if let Some(p) = &given {
                    if !(4..=16).contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_digit()) {
                        e.add("puk", "puk_format", "must be 4 to 16 digits");
                    }
                }
                continue;
            }
            // When the kind changed, stale values of the old kind are dropped.
            let raw = match value {
                Some(_) => given,
                None => old.cloned().flatten(),
            };
            let Some(raw) = raw else { continue };
            let normalized = match field {
                SpecificField::Imei => normalize_imei(&raw),
                SpecificField::Iccid => normalize_iccid(&raw),
                SpecificField::LineNumber => normalize_phone(&raw),
                SpecificField::Ip => normalize_ip(&raw),
                SpecificField::Mac => normalize_mac(&raw),
                SpecificField::Puk | SpecificField::LineType => unreachable!("handled above"),
            };
            match normalized {
                Ok(v) => match field {
                    SpecificField::Imei => draft.imei = Some(v),
                    SpecificField::Iccid => draft.iccid = Some(v),
                    SpecificField::LineNumber => draft.line_number = Some(v),
                    SpecificField::Ip => draft.ip = Some(v),
                    SpecificField::Mac => draft.mac = Some(v),
                    SpecificField::Puk | SpecificField::LineType => {}
                },
                Err(code) => {
                    let msg = match code {
                        "imei_luhn" => "is not a valid IMEI (check digit is wrong)",
                        "imei_format" => "must be 15 digits",
                        "iccid_luhn" => "is not a valid ICCID (check digit is wrong)",
                        "iccid_format" => "must be 18 to 22 digits",
                        "mac_format" => "must be a MAC address such as aa:bb:cc:dd:ee:ff",
                        "ip_format" => "must be an IPv4 or IPv6 address",
                        _ => "must be a phone number",
                    };
                    e.add(field.name(), code, msg);
                }
            }
        }

        if k.has(SpecificField::LineType) {
            match self.line_type.as_deref().map(str::trim) {
                Some(s) if !s.is_empty() => match s.parse::<LineType>() {
                    Ok(t) => draft.line_type = Some(t),
                    Err(_) => e.add("line_type", "unknown_value", "unknown line type"),
                },
                Some(_) => {}
                None => draft.line_type = existing.and_then(|x| x.line_type),
            }
        } else if clean(self.line_type.as_deref()).is_some() && kind.is_some() {
            e.add("line_type", "not_for_kind", "does not apply to this kind of asset");
        }

        e.into_result().map(|()| draft)
    }
}

/// Checks a link between two assets of known kinds and entities.
pub fn check_link(
    kind: LinkKind,
    from: (AssetId, AssetKind),
    to: (AssetId, AssetKind),
) -> Result<(), ValidationErrors> {
    if from.0 == to.0 {
        return Err(ValidationErrors::single("to_asset_id", "link_self", "an asset cannot be linked to itself"));
    }
    if !kind.allowed(from.1, to.1) {
        return Err(ValidationErrors::single(
            "to_asset_id",
            "link_kinds",
            format!("a {} cannot be linked to a {} this way", from.1.as_str(), to.1.as_str()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(kind: &str) -> AssetInput {
        AssetInput {
            kind: Some(kind.into()),
            entity_id: Some(1),
            name: Some("  PC-ACCUEIL-01 ".into()),
            ..Default::default()
        }
    }

    #[test]
    fn minimal_asset() {
        let d = base("computer").validate(None).unwrap();
        assert_eq!(d.name, "PC-ACCUEIL-01");
        assert_eq!(d.status, AssetStatus::InStock);
        assert_eq!(d.kind, AssetKind::Computer);
    }

    #[test]
    fn required_fields() {
        let e = AssetInput::default().validate(None).unwrap_err();
        for f in ["kind", "entity_id", "name"] {
            assert_eq!(e.for_field(f).unwrap().code, "required", "{f}");
        }
    }

    #[test]
    fn unknown_enum_values() {
        let mut i = base("toaster");
        i.status = Some("lost".into());
        let e = i.validate(None).unwrap_err();
        assert_eq!(e.for_field("kind").unwrap().code, "unknown_value");
        assert_eq!(e.for_field("status").unwrap().code, "unknown_value");
    }

    #[test]
    fn kind_specific_fields() {
        let mut i = base("mobile_phone");
        i.imei = Some("490154203237518".into());
        assert_eq!(i.validate(None).unwrap().imei.as_deref(), Some("490154203237518"));
        i.imei = Some("490154203237519".into());
        assert_eq!(i.validate(None).unwrap_err().fields[0].code, "imei_luhn");

        let mut c = base("computer");
        c.imei = Some("490154203237518".into());
        c.mac = Some("AA-BB-CC-DD-EE-FF".into());
        c.ip = Some("10.0.0.300".into());
        let e = c.validate(None).unwrap_err();
        assert_eq!(e.for_field("imei").unwrap().code, "not_for_kind");
        assert_eq!(e.for_field("ip").unwrap().code, "ip_format");
        assert!(e.for_field("mac").is_none());

        let mut s = base("sim_card");
        s.iccid = Some("8933150319080000009".into());
        s.puk = Some("12345678".into());
        s.line_number = Some("06 12 34 56 78".into());
        let d = s.validate(None).unwrap();
        assert_eq!(d.puk, Some(Some("12345678".into())));
        s.puk = Some("12ab".into());
        assert_eq!(s.validate(None).unwrap_err().fields[0].code, "puk_format");

        let mut l = base("phone_line");
        l.line_type = Some("sip".into());
        l.line_number = Some("1014".into());
        assert_eq!(l.validate(None).unwrap().line_type, Some(LineType::Sip));
        l.line_type = Some("isdn".into());
        assert!(l.validate(None).is_err());
    }

    #[test]
    fn update_keeps_absent_fields_and_clears_empty_ones() {
        let mut i = base("computer");
        i.serial = Some("SN1".into());
        i.ip = Some("10.1.2.3".into());
        let old = i.validate(None).unwrap();
        let upd = AssetInput { comment: Some("moved".into()), serial: Some(String::new()), ..Default::default() };
        let new = upd.validate(Some(&old)).unwrap();
        assert_eq!(new.name, old.name);
        assert_eq!(new.ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(new.serial, None);
        assert_eq!(new.comment.as_deref(), Some("moved"));
        assert_eq!(new.puk, None, "absent PUK keeps the stored one");
    }

    #[test]
    fn dates() {
        let mut i = base("computer");
        i.purchase_date = Some("2024-05-01".into());
        i.warranty_end = Some("2023-05-01".into());
        assert_eq!(i.validate(None).unwrap_err().fields[0].code, "before_purchase");
        i.warranty_end = Some("01/05/2027".into());
        assert_eq!(i.validate(None).unwrap_err().fields[0].code, "date_format");
    }

    #[test]
    fn links() {
        use AssetKind::*;
        let ok = check_link(LinkKind::MonitorOn, (AssetId(1), Monitor), (AssetId(2), Computer));
        assert!(ok.is_ok());
        assert!(check_link(LinkKind::SimIn, (AssetId(1), SimCard), (AssetId(2), Computer)).is_err());
        assert!(check_link(LinkKind::LineOn, (AssetId(1), PhoneLine), (AssetId(1), SimCard)).is_err());
        assert!(check_link(LinkKind::LineOn, (AssetId(1), PhoneLine), (AssetId(2), DeskPhone)).is_ok());
        assert_eq!(LinkKind::for_from_kind(SimCard), Some(LinkKind::SimIn));
    }

    #[test]
    fn enum_round_trip() {
        for k in AssetKind::ALL {
            assert_eq!(k.as_str().parse::<AssetKind>().unwrap(), *k);
        }
        for s in AssetStatus::ALL {
            assert_eq!(s.as_str().parse::<AssetStatus>().unwrap(), *s);
        }
    }
}
