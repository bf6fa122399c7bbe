//! Mobile phone hand-over receipts (bordereau de remise, migration `0014_handover.sql`).
//!
//! A hand-over gives a user a device (mobile phone or tablet, with its SIM card and line) and
//! possibly takes one back. Recording it is two calls in the caller's transaction, because the
//! receipt (rendered by the web layer, in the user's language) prints the hand-over's number:
//!
//! 1. [`open`] checks the draft (kinds, one entity, different devices, known accessories),
//!    loads what the receipt prints ([`Parties`]) and inserts the row;
//! 2. [`seal`] stores the signed PDF immutably (`documents`, kind [`RECEIPT_KIND`]), keeps its id
//!    and SHA-256 on the row, moves the assets through [`assets::update`] and [`assets::link`]
//!    (so every rule of the asset update path applies, e.g. a checklist gate on `in_use`) and
//!    writes the audit entries: the hand-over's creation and a `sign` entry on each device, both
//!    with the receipt's SHA-256.
//!
//! What moves: the delivered device becomes `in_use` by the recipient (at the site when one is
//! given); its SIM goes into it (a SIM taken out of the returned device moves in one step) and
//! the line onto the SIM, both `in_use` by the recipient; the returned device, and a returned
//! SIM or line that is not delivered again, go back `in_stock` with no user.

use crate::{assets, audit, documents, now, users, Actor, Cipher, Result, StoreError};
use parc_core::assets::{AssetKind, AssetStatus};
use parc_core::audit::{creation, AuditAction, FieldChange, ObjectType};
use parc_core::validate::ValidationErrors;
use parc_core::{AssetId, EntityId, LocationId, UserId};
use serde::Serialize;
use sqlx::AnyConnection;

/// The `documents.kind` of a hand-over receipt.
pub const RECEIPT_KIND: &str = "handover_receipt";

/// The accessories a receipt lists, in print order (stable names of the API and storage).
pub const ACCESSORIES: [&str; 6] = ["charger", "car_charger", "hands_free", "case", "manual", "box"];

/// What a hand-over records, as typed (ids not yet checked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandoverDraft {
    pub recipient_user_id: Option<UserId>,
    pub technician_user_id: Option<UserId>,
    /// Department or service; empty: the recipient's entity is printed.
    pub department: Option<String>,
    pub location_id: Option<LocationId>,
    pub reason: Option<String>,
    pub delivered_asset_id: Option<AssetId>,
    pub delivered_sim_id: Option<AssetId>,
    pub delivered_line_id: Option<AssetId>,
    pub returned_asset_id: Option<AssetId>,
    pub returned_sim_id: Option<AssetId>,
    pub returned_line_id: Option<AssetId>,
    /// Names from [`ACCESSORIES`].
    pub accessories_delivered: Vec<String>,
    pub accessories_returned: Vec<String>,
    /// "Returned device reset by the technician".
    pub returned_reset: bool,
}

/// Everything a draft refers to, loaded and checked by [`open`].
#[derive(Debug, Clone)]
pub struct Parties {
    /// The entity of the hand-over: the delivered device's (or the returned one's).
    pub entity_id: EntityId,
    pub recipient: users::User,
    pub technician: Option<users::User>,
    pub delivered: Option<assets::Asset>,
    pub delivered_sim: Option<assets::Asset>,
    pub delivered_line: Option<assets::Asset>,
    pub returned: Option<assets::Asset>,
    pub returned_sim: Option<assets::Asset>,
    pub returned_line: Option<assets::Asset>,
}

impl Parties {
    /// Every asset of the hand-over (for scope and permission checks).
    pub fn assets(&self) -> impl Iterator<Item = &assets::Asset> {
        [
            &self.delivered,
            &self.delivered_sim,
            &self.delivered_line,
            &self.returned,
            &self.returned_sim,
            &self.returned_line,
        ]
        .into_iter()
        .flatten()
    }
}

/// A stored hand-over, with the names lists and pages show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Handover {
    pub id: i64,
    pub entity_id: EntityId,
    pub recipient_user_id: UserId,
    pub recipient_name: String,
    pub technician_user_id: Option<UserId>,
    pub technician_name: Option<String>,
    pub department: Option<String>,
    pub location_id: Option<LocationId>,
    pub reason: Option<String>,
    pub delivered_asset_id: Option<AssetId>,
    pub delivered_name: Option<String>,
    pub delivered_sim_id: Option<AssetId>,
    pub delivered_line_id: Option<AssetId>,
    pub returned_asset_id: Option<AssetId>,
    pub returned_name: Option<String>,
    pub returned_sim_id: Option<AssetId>,
    pub returned_line_id: Option<AssetId>,
    pub accessories_delivered: Vec<String>,
    pub accessories_returned: Vec<String>,
    pub returned_reset: bool,
    /// The stored receipt (a `documents` row), once sealed.
    pub document_id: Option<i64>,
    /// SHA-256 of the receipt, also in the audit trail.
    pub sha256: Option<String>,
    pub created_at: String,
}

/// The receipt number printed on the PDF and in file names.
pub fn reference(id: i64) -> String {
    format!("R-{id:06}")
}

fn clean(text: &Option<String>, field: &str, max: usize, errors: &mut ValidationErrors) -> Option<String> {
    let text = text.as_deref().map(str::trim).filter(|t| !t.is_empty())?;
    if text.chars().count() > max {
        errors.add(field, "too_long", format!("at most {max} characters"));
    }
    Some(text.to_owned())
}

fn check_accessories(list: &[String], field: &str, errors: &mut ValidationErrors) -> Vec<String> {
    if let Some(bad) = list.iter().find(|a| !ACCESSORIES.contains(&a.as_str())) {
        let bad: String = bad.chars().take(40).collect();
        errors.add(field, "unknown_value", format!("unknown accessory \"{bad}\""));
    }
    // In print order, each once.
    ACCESSORIES.iter().filter(|a| list.iter().any(|l| l == *a)).map(|a| (*a).to_owned()).collect()
}

async fn asset(
    c: &mut AnyConnection,
    id: Option<AssetId>,
    field: &str,
    kinds: &[AssetKind],
    errors: &mut ValidationErrors,
) -> Result<Option<assets::Asset>> {
    let Some(id) = id else { return Ok(None) };
    match assets::get(c, id).await? {
        None => {
            errors.add(field, "not_found", "no such asset");
            Ok(None)
        }
        Some(a) if !kinds.contains(&a.kind) => {
            let expected: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            errors.add(field, "wrong_kind", format!("expected an asset of kind {}", expected.join(" or ")));
            Ok(None)
        }
        Some(a) => Ok(Some(a)),
    }
}

/// Checks `d`, loads what it refers to and inserts the hand-over (not sealed yet). Validation
/// errors name the draft's fields (`recipient_user_id`, `delivered_sim_id`…).
pub async fn open(c: &mut AnyConnection, actor: &Actor, d: &HandoverDraft) -> Result<(i64, Parties, HandoverDraft)> {
    let mut errors = ValidationErrors::new();
    let department = clean(&d.department, "department", 200, &mut errors);
    let reason = clean(&d.reason, "reason", 1000, &mut errors);
    let delivered_acc = check_accessories(&d.accessories_delivered, "accessories_delivered", &mut errors);
    let returned_acc = check_accessories(&d.accessories_returned, "accessories_returned", &mut errors);
    let recipient = match d.recipient_user_id {
        None => {
            errors.add("recipient_user_id", "required", "the user who receives the device is required");
            None
        }
        Some(id) => {
            let u = users::get(c, id).await?.filter(|u| u.active);
            if u.is_none() {
                errors.add("recipient_user_id", "not_found", "no such active user");
            }
            u
        }
    };
    let technician = match d.technician_user_id {
        None => None,
        Some(id) => {
            let u = users::get(c, id).await?;
            if u.is_none() {
                errors.add("technician_user_id", "not_found", "no such user");
            }
            u
        }
    };
    let devices = [AssetKind::MobilePhone, AssetKind::Tablet];
    let delivered = asset(c, d.delivered_asset_id, "delivered_asset_id", &devices, &mut errors).await?;
    let delivered_sim = asset(c, d.delivered_sim_id, "delivered_sim_id", &[AssetKind::SimCard], &mut errors).await?;
    let delivered_line =
        asset(c, d.delivered_line_id, "delivered_line_id", &[AssetKind::PhoneLine], &mut errors).await?;
    let returned = asset(c, d.returned_asset_id, "returned_asset_id", &devices, &mut errors).await?;
    let returned_sim = asset(c, d.returned_sim_id, "returned_sim_id", &[AssetKind::SimCard], &mut errors).await?;
    let returned_line = asset(c, d.returned_line_id, "returned_line_id", &[AssetKind::PhoneLine], &mut errors).await?;
    if d.delivered_asset_id.is_none() && d.returned_asset_id.is_none() {
        errors.add("delivered_asset_id", "required", "a delivered or a returned device is required");
    }
    if d.delivered_asset_id.is_none() && (d.delivered_sim_id.is_some() || d.delivered_line_id.is_some()) {
        errors.add("delivered_asset_id", "required", "a SIM card or a line is delivered with a device");
    }
    if d.delivered_asset_id.is_some() && d.delivered_asset_id == d.returned_asset_id {
        errors.add("returned_asset_id", "same_device", "the returned device cannot be the delivered one");
    }
    if d.returned_sim_id.is_some() && d.returned_sim_id == d.delivered_sim_id {
        errors.add("returned_sim_id", "same_device", "a SIM card that moves into the new device is not returned");
    }
    if d.returned_line_id.is_some() && d.returned_line_id == d.delivered_line_id {
        errors.add("returned_line_id", "same_device", "a line that is kept is not returned");
    }
    if let Some(l) = d.location_id {
        if crate::locations::get(c, l).await?.is_none() {
            errors.add("location_id", "not_found", "no such location");
        }
    }
    let main = delivered.as_ref().or(returned.as_ref()).map(|a| a.entity_id);
    if let Some(entity) = main {
        let all = [
            ("delivered_sim_id", &delivered_sim),
            ("delivered_line_id", &delivered_line),
            ("returned_asset_id", &returned),
            ("returned_sim_id", &returned_sim),
            ("returned_line_id", &returned_line),
        ];
        for (field, a) in all {
            if a.as_ref().is_some_and(|a| a.entity_id != entity) {
                errors.add(field, "other_entity", "the asset belongs to another entity than the device");
            }
        }
    }
    let (Some(recipient), Some(entity_id), true) = (recipient, main, errors.is_empty()) else {
        return Err(errors.into());
    };
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO handovers (entity_id, recipient_user_id, technician_user_id, department, location_id, reason, \
         delivered_asset_id, delivered_sim_id, delivered_line_id, returned_asset_id, returned_sim_id, returned_line_id, \
         accessories_delivered, accessories_returned, returned_reset, created_by_user_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
    )
    .bind(entity_id.0)
    .bind(recipient.id.0)
    .bind(technician.as_ref().map(|u| u.id.0))
    .bind(&department)
    .bind(d.location_id.map(|l| l.0))
    .bind(&reason)
    .bind(d.delivered_asset_id.map(|a| a.0))
    .bind(d.delivered_sim_id.map(|a| a.0))
    .bind(d.delivered_line_id.map(|a| a.0))
    .bind(d.returned_asset_id.map(|a| a.0))
    .bind(d.returned_sim_id.map(|a| a.0))
    .bind(d.returned_line_id.map(|a| a.0))
    .bind(delivered_acc.join(","))
    .bind(returned_acc.join(","))
    .bind(i64::from(d.returned_reset))
    .bind(actor.user_id.map(|u| u.0))
    .bind(now())
    .fetch_one(&mut *c)
    .await
    .map_err(|e| StoreError::from_write(e, "hand-over"))?;
    let cleaned = HandoverDraft {
        department,
        reason,
        accessories_delivered: delivered_acc,
        accessories_returned: returned_acc,
        ..d.clone()
    };
    let parties = Parties {
        entity_id,
        recipient,
        technician,
        delivered,
        delivered_sim,
        delivered_line,
        returned,
        returned_sim,
        returned_line,
    };
    Ok((id, parties, cleaned))
}

/// Sets status and user (and location, when given) through the asset update path.
async fn settle(
    c: &mut AnyConnection,
    actor: &Actor,
    cipher: &Cipher,
    a: &assets::Asset,
    status: AssetStatus,
    user: Option<UserId>,
    location: Option<LocationId>,
) -> Result<()> {
    let mut draft = a.to_draft();
    draft.status = status;
    draft.assigned_user_id = user;
    if location.is_some() {
        draft.location_id = location;
    }
    assets::update(c, actor, cipher, a, &draft).await
}

/// Stores the signed receipt of hand-over `id` (opened by [`open`]), moves the assets and
/// audits it all. Returns the stored hand-over.
pub async fn seal(
    c: &mut AnyConnection,
    actor: &Actor,
    cipher: &Cipher,
    id: i64,
    d: &HandoverDraft,
    p: &Parties,
    (filename, pdf): (&str, &[u8]),
) -> Result<Handover> {
    let doc = documents::insert(c, actor, RECEIPT_KIND, filename, "application/pdf", pdf).await?;
    sqlx::query("UPDATE handovers SET document_id = $1, sha256 = $2 WHERE id = $3")
        .bind(doc.id)
        .bind(&doc.sha256)
        .bind(id)
        .execute(&mut *c)
        .await?;
    let recipient = Some(p.recipient.id);
    // What goes back first, so that a SIM moving between devices ends up in the new one.
    for a in [&p.returned, &p.returned_sim, &p.returned_line].into_iter().flatten() {
        settle(c, actor, cipher, a, AssetStatus::InStock, None, None).await?;
    }
    if let Some(device) = &p.delivered {
        let device = assets::get(c, device.id).await?.ok_or(StoreError::NotFound)?;
        settle(c, actor, cipher, &device, AssetStatus::InUse, recipient, d.location_id).await?;
        if let Some(sim) = &p.delivered_sim {
            let sim = assets::get(c, sim.id).await?.ok_or(StoreError::NotFound)?;
            settle(c, actor, cipher, &sim, AssetStatus::InUse, recipient, None).await?;
            assets::link(c, actor, &sim, &device).await?;
            if let Some(line) = &p.delivered_line {
                let line = assets::get(c, line.id).await?.ok_or(StoreError::NotFound)?;
                settle(c, actor, cipher, &line, AssetStatus::InUse, recipient, None).await?;
                assets::link(c, actor, &line, &sim).await?;
            }
        } else if let Some(line) = &p.delivered_line {
            // A line without a SIM of this hand-over: it stays where it is, used by the recipient.
            let line = assets::get(c, line.id).await?.ok_or(StoreError::NotFound)?;
            settle(c, actor, cipher, &line, AssetStatus::InUse, recipient, None).await?;
        }
    }
    let asset_ref = |a: &Option<assets::Asset>| a.as_ref().map(|a| format!("#{}", a.id));
    let fields: Vec<(&'static str, Option<String>)> = vec![
        ("recipient", Some(format!("#{}", p.recipient.id))),
        ("technician", p.technician.as_ref().map(|u| format!("#{}", u.id))),
        ("department", d.department.clone()),
        ("location", d.location_id.map(|l| format!("#{}", l.0))),
        ("reason", d.reason.clone()),
        ("delivered", asset_ref(&p.delivered)),
        ("delivered_sim", asset_ref(&p.delivered_sim)),
        ("delivered_line", asset_ref(&p.delivered_line)),
        ("returned", asset_ref(&p.returned)),
        ("returned_sim", asset_ref(&p.returned_sim)),
        ("returned_line", asset_ref(&p.returned_line)),
        ("accessories_delivered", Some(d.accessories_delivered.join(",")).filter(|s| !s.is_empty())),
        ("accessories_returned", Some(d.accessories_returned.join(",")).filter(|s| !s.is_empty())),
        ("returned_reset", d.returned_reset.then(|| "1".to_owned())),
        ("document", Some(format!("#{}", doc.id))),
        ("sha256", Some(doc.sha256.clone())),
    ];
    audit::record(c, actor, ObjectType::Handover, id, Some(p.entity_id), AuditAction::Create, &creation(&fields))
        .await?;
    let signed = [
        FieldChange { field: "handover".into(), old: None, new: Some(format!("#{id}")) },
        FieldChange { field: "sha256".into(), old: None, new: Some(doc.sha256.clone()) },
    ];
    for a in [&p.delivered, &p.returned].into_iter().flatten() {
        audit::record(c, actor, ObjectType::Asset, a.id.0, Some(a.entity_id), AuditAction::Sign, &signed).await?;
    }
    get(c, id).await?.ok_or(StoreError::NotFound)
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    entity_id: i64,
    recipient_user_id: i64,
    recipient_name: String,
    technician_user_id: Option<i64>,
    technician_name: Option<String>,
    department: Option<String>,
    location_id: Option<i64>,
    reason: Option<String>,
    delivered_asset_id: Option<i64>,
    delivered_name: Option<String>,
    delivered_sim_id: Option<i64>,
    delivered_line_id: Option<i64>,
    returned_asset_id: Option<i64>,
    returned_name: Option<String>,
    returned_sim_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Rest {
    returned_line_id: Option<i64>,
    accessories_delivered: String,
    accessories_returned: String,
    returned_reset: i64,
    document_id: Option<i64>,
    sha256: Option<String>,
    created_at: String,
}

// Two queries of at most 16 columns each (the limit of sqlx's tuple and row decoding).
const SELECT: &str = "SELECT h.id, h.entity_id, h.recipient_user_id, r.display_name AS recipient_name, \
     h.technician_user_id, t.display_name AS technician_name, h.department, h.location_id, h.reason, \
     h.delivered_asset_id, d.name AS delivered_name, h.delivered_sim_id, h.delivered_line_id, \
     h.returned_asset_id, b.name AS returned_name, h.returned_sim_id \
     FROM handovers h JOIN users r ON r.id = h.recipient_user_id LEFT JOIN users t ON t.id = h.technician_user_id \
     LEFT JOIN assets d ON d.id = h.delivered_asset_id LEFT JOIN assets b ON b.id = h.returned_asset_id";
const SELECT_REST: &str = "SELECT h.id, h.returned_line_id, h.accessories_delivered, h.accessories_returned, \
     h.returned_reset, h.document_id, h.sha256, h.created_at FROM handovers h";

fn split(list: &str) -> Vec<String> {
    list.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn assemble(r: Row, rest: Rest) -> Handover {
    Handover {
        id: r.id,
        entity_id: EntityId(r.entity_id),
        recipient_user_id: UserId(r.recipient_user_id),
        recipient_name: r.recipient_name,
        technician_user_id: r.technician_user_id.map(UserId),
        technician_name: r.technician_name,
        department: r.department,
        location_id: r.location_id.map(LocationId),
        reason: r.reason,
        delivered_asset_id: r.delivered_asset_id.map(AssetId),
        delivered_name: r.delivered_name,
        delivered_sim_id: r.delivered_sim_id.map(AssetId),
        delivered_line_id: r.delivered_line_id.map(AssetId),
        returned_asset_id: r.returned_asset_id.map(AssetId),
        returned_name: r.returned_name,
        returned_sim_id: r.returned_sim_id.map(AssetId),
        returned_line_id: rest.returned_line_id.map(AssetId),
        accessories_delivered: split(&rest.accessories_delivered),
        accessories_returned: split(&rest.accessories_returned),
        returned_reset: rest.returned_reset != 0,
        document_id: rest.document_id,
        sha256: rest.sha256,
        created_at: rest.created_at,
    }
}

#[derive(sqlx::FromRow)]
struct RestWithId {
    id: i64,
    #[sqlx(flatten)]
    rest: Rest,
}

async fn load(c: &mut AnyConnection, filter: &str, bind: i64, limit: i64) -> Result<Vec<Handover>> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{SELECT} WHERE {filter} ORDER BY h.id DESC LIMIT $2"))
        .bind(bind)
        .bind(limit)
        .fetch_all(&mut *c)
        .await?;
    let rest: Vec<RestWithId> = sqlx::query_as(&format!("{SELECT_REST} WHERE {filter} ORDER BY h.id DESC LIMIT $2"))
        .bind(bind)
        .bind(limit)
        .fetch_all(&mut *c)
        .await?;
    let mut rest: std::collections::HashMap<i64, Rest> = rest.into_iter().map(|r| (r.id, r.rest)).collect();
    Ok(rows.into_iter().filter_map(|r| rest.remove(&r.id).map(|x| assemble(r, x))).collect())
}

/// One hand-over.
pub async fn get(c: &mut AnyConnection, id: i64) -> Result<Option<Handover>> {
    Ok(load(c, "h.id = $1", id, 1).await?.pop())
}

/// The latest hand-overs of these entities, newest first (sealed ones only).
pub async fn list(c: &mut AnyConnection, entities: &[i64], limit: i64) -> Result<Vec<Handover>> {
    let mut out = Vec::new();
    for &e in entities {
        out.extend(load(c, "h.entity_id = $1 AND h.document_id IS NOT NULL", e, limit).await?);
    }
    out.sort_by_key(|h| std::cmp::Reverse(h.id));
    out.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(out)
}

/// The hand-overs where an asset was delivered or returned, newest first.
pub async fn for_asset(c: &mut AnyConnection, asset: AssetId) -> Result<Vec<Handover>> {
    let mut out = load(c, "h.delivered_asset_id = $1 AND h.document_id IS NOT NULL", asset.0, 100).await?;
    out.extend(load(c, "h.returned_asset_id = $1 AND h.document_id IS NOT NULL", asset.0, 100).await?);
    out.sort_by_key(|h| std::cmp::Reverse(h.id));
    Ok(out)
}

/// id, entity, kind, name, tag, IMEI, line number.
type CandidateRow = (i64, i64, String, String, Option<String>, Option<String>, Option<String>);

/// Assets a hand-over form offers, by kind, in these entities: `(id, entity, kind, label)`,
/// the label being "tag — name" (at most `limit`).
pub async fn candidates(
    c: &mut AnyConnection,
    entities: &[i64],
    limit: i64,
) -> Result<Vec<(AssetId, EntityId, AssetKind, String)>> {
    let mut out = Vec::new();
    for &e in entities {
        let rows: Vec<CandidateRow> = sqlx::query_as(
            "SELECT id, entity_id, kind, name, asset_tag, imei, line_number FROM assets WHERE entity_id = $1 \
             AND kind IN ('mobile_phone', 'tablet', 'sim_card', 'phone_line') AND status <> 'retired' \
             ORDER BY name, id LIMIT $2",
        )
        .bind(e)
        .bind(limit)
        .fetch_all(&mut *c)
        .await?;
        for (id, entity, kind, name, tag, imei, line) in rows {
            let Ok(kind) = kind.parse::<AssetKind>() else { continue };
            let label = [tag, Some(name), imei, line].into_iter().flatten().collect::<Vec<_>>().join(" — ");
            out.push((AssetId(id), EntityId(entity), kind, label));
        }
    }
    out.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(out)
}
