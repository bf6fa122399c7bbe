//! Asset list queries as domain values: the store translates them to SQL, the web layer
//! builds them from query strings.

use crate::assets::string_enum;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

string_enum!(
    /// Every field a list can be filtered or sorted on.
    AssetField {
        Id = "id",
        Kind = "kind",
        Name = "name",
        AssetTag = "asset_tag",
        Serial = "serial",
        Manufacturer = "manufacturer",
        Model = "model",
        Status = "status",
        EntityId = "entity_id",
        LocationId = "location_id",
        AssignedUserId = "assigned_user_id",
        PurchaseDate = "purchase_date",
        WarrantyEnd = "warranty_end",
        Supplier = "supplier",
        Comment = "comment",
        Imei = "imei",
        Iccid = "iccid",
        LineNumber = "line_number",
        LineType = "line_type",
        Ip = "ip",
        Mac = "mac",
        UpdatedAt = "updated_at",
        CreatedAt = "created_at",
    }
);

impl AssetField {
    /// Fields holding integers (ids) rather than text.
    pub fn is_numeric(self) -> bool {
        matches!(self, AssetField::Id | AssetField::EntityId | AssetField::LocationId | AssetField::AssignedUserId)
    }

    /// Fields a list may be sorted on (those backed by an index).
    pub fn sortable(self) -> bool {
        matches!(
            self,
            AssetField::Id
                | AssetField::Name
                | AssetField::AssetTag
                | AssetField::Serial
                | AssetField::Kind
                | AssetField::Status
                | AssetField::UpdatedAt
                | AssetField::CreatedAt
                | AssetField::WarrantyEnd
                | AssetField::PurchaseDate
                | AssetField::Ip
        )
    }
}

string_enum!(
    /// How a filter compares.
    FilterOp {
        Eq = "eq",
        Ne = "ne",
        Contains = "contains",
        StartsWith = "starts_with",
        Lt = "lt",
        Gt = "gt",
        Empty = "empty",
        NotEmpty = "not_empty",
    }
);

/// One condition; a query holds a conjunction of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldFilter {
    pub field: AssetField,
    pub op: FilterOp,
    pub value: String,
}

pub const MAX_PER_PAGE: u32 = 500;

/// A page of an asset list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetQuery {
    /// Free text: matched against tag, serial, name, IP, MAC, IMEI, model, user.
    pub text: Option<String>,
    pub filters: Vec<FieldFilter>,
    pub sort: AssetField,
    pub desc: bool,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl Default for AssetQuery {
    fn default() -> Self {
        AssetQuery { text: None, filters: Vec::new(), sort: AssetField::Name, desc: false, page: 1, per_page: 50 }
    }
}

impl AssetQuery {
    /// Clamps paging to sane bounds and drops blank text.
    pub fn normalized(mut self) -> Self {
        self.page = self.page.clamp(1, 1_000_000);
        self.per_page = self.per_page.clamp(1, MAX_PER_PAGE);
        self.text = self.text.map(|t| t.trim().chars().take(200).collect::<String>()).filter(|t| !t.is_empty());
        if !self.sort.sortable() {
            self.sort = AssetField::Name;
        }
        self
    }

    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization() {
        let q = AssetQuery {
            page: 0,
            per_page: 10_000,
            text: Some("   ".into()),
            sort: AssetField::Comment,
            ..Default::default()
        }
        .normalized();
        assert_eq!(q.page, 1);
        assert_eq!(q.per_page, MAX_PER_PAGE);
        assert_eq!(q.text, None);
        assert_eq!(q.sort, AssetField::Name);
        let q2 = AssetQuery { page: 3, per_page: 20, ..Default::default() };
        assert_eq!(q2.offset(), 40);
    }
}
