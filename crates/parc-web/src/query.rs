//! Asset list parameters from a query string, shared by the pages and the API:
//! `q` (free text), `sort`, `desc`, `page`, `per_page`, `<field>=value` (equals) and
//! `<field>__<op>=value` for the other operators, on any field of [`AssetField`].

use parc_core::query::{AssetField, AssetQuery, FieldFilter, FilterOp};
use parc_core::ValidationErrors;

/// Parameters that are not filters and that pages may carry (ignored here).
const PAGE_ONLY: &[&str] = &["ok", "format", "layout", "skip"];

pub fn parse_asset_query(raw: Option<&str>) -> Result<AssetQuery, ValidationErrors> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| ValidationErrors::single("query", "bad_request", "malformed query string"))?;
    let mut q = AssetQuery::default();
    let mut e = ValidationErrors::new();
    // The list page's "other field" filter: ff (field), fo (operator), fv (value).
    let (mut ff, mut fo, mut fv) = (String::new(), String::new(), String::new());
    for (k, v) in pairs {
        match k.as_str() {
            "ff" => ff = v,
            "fo" => fo = v,
            "fv" => fv = v,
            "q" => q.text = Some(v),
            "sort" => match v.parse::<AssetField>() {
                Ok(f) if f.sortable() => q.sort = f,
                _ => e.add("sort", "unknown_value", "cannot sort on this field"),
            },
            "desc" => q.desc = matches!(v.as_str(), "1" | "true" | "on" | "yes"),
            "page" => match v.parse::<u32>() {
                Ok(p) => q.page = p,
                Err(_) => e.add("page", "not_a_number", "must be a positive number"),
            },
            "per_page" => match v.parse::<u32>() {
                Ok(p) => q.per_page = p,
                Err(_) => e.add("per_page", "not_a_number", "must be a positive number"),
            },
            k if PAGE_ONLY.contains(&k) => {}
            other => {
                let (field, op) = match other.split_once("__") {
                    Some((f, op)) => (f, op.parse::<FilterOp>().ok()),
                    None => (other, Some(FilterOp::Eq)),
                };
                let (Ok(field), Some(op)) = (field.parse::<AssetField>(), op) else {
                    e.add(other, "unknown_value", "unknown filter");
                    continue;
                };
                // An empty value in a filter form means "no filter".
                if v.trim().is_empty() && !matches!(op, FilterOp::Empty | FilterOp::NotEmpty) {
                    continue;
                }
                if v.chars().count() > 200 {
                    e.add(other, "too_long", "too long");
                    continue;
                }
                q.filters.push(FieldFilter { field, op, value: v });
            }
        }
    }
    if !ff.is_empty() {
        let op = if fo.is_empty() { Ok(FilterOp::Eq) } else { fo.parse::<FilterOp>() };
        match (ff.parse::<AssetField>(), op) {
            (Ok(field), Ok(op)) => {
                let needs_value = !matches!(op, FilterOp::Empty | FilterOp::NotEmpty);
                if fv.chars().count() > 200 {
                    e.add("fv", "too_long", "too long");
                } else if !needs_value || !fv.trim().is_empty() {
                    q.filters.push(FieldFilter { field, op, value: fv });
                }
            }
            _ => e.add("ff", "unknown_value", "unknown filter"),
        }
    }
    e.into_result().map(|()| q.normalized())
}

/// The query string of `q` with another page number (for pagination links).
pub fn with_page(raw: Option<&str>, page: u32) -> String {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
    pairs.retain(|(k, _)| k != "page" && k != "ok");
    pairs.push(("page".into(), page.to_string()));
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_filters() {
        let q = parse_asset_query(Some(
            "q=pc&kind=computer&warranty_end__lt=2025-01-01&sort=updated_at&desc=1&page=2&status=",
        ))
        .unwrap();
        assert_eq!(q.text.as_deref(), Some("pc"));
        assert_eq!(q.filters.len(), 2);
        assert_eq!(q.filters[1].op, FilterOp::Lt);
        assert_eq!(q.sort, AssetField::UpdatedAt);
        assert!(q.desc);
        assert_eq!(q.page, 2);
        assert!(parse_asset_query(Some("colour=red")).is_err());
        assert!(parse_asset_query(Some("name__like=x")).is_err());
        assert!(parse_asset_query(Some("page=-1")).is_err());
        assert!(parse_asset_query(Some("sort=comment")).is_err());
        assert_eq!(with_page(Some("q=a&page=3"), 4), "q=a&page=4");
        let q = parse_asset_query(Some("ff=serial&fo=contains&fv=ABC")).unwrap();
        assert_eq!(q.filters[0].op, FilterOp::Contains);
        assert_eq!(parse_asset_query(Some("ff=mac&fo=empty&fv=")).unwrap().filters.len(), 1);
        assert!(parse_asset_query(Some("ff=&fo=eq&fv=")).unwrap().filters.is_empty());
        assert!(parse_asset_query(Some("ff=password&fo=eq&fv=x")).is_err());
    }
}
