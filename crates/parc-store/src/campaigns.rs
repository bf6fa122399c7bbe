//! Campaigns with scan-to-reconcile (issue 6): the expected list, scans from several
//! technicians at once, per-item steps (wiped, re-imaged), old -> new pairs, and the closing
//! that signs the report and sets the assets' statuses in one transaction.
//!
//! Counting is race-free by construction: an expected item is found by the one scan whose
//! `UPDATE ... SET found_at = ... WHERE found_at IS NULL` changes a row; an unexpected code is
//! counted by the one scan whose key insert does not conflict. Every other scan of the same
//! thing is a duplicate. The rules are parc-core's (`campaigns::Reconciliation` is the model).

use crate::sql::Sql;
use crate::{assets, audit, now, Actor, Result, StoreError};
use parc_core::assets::AssetStatus;
use parc_core::audit::{creation, AuditAction, FieldChange, ObjectType};
use parc_core::campaigns::{
    check_name, key_map, CampaignKind, CampaignStatus, ItemCodes, ScanCode, ScanOutcome, Tally, MAX_ITEMS,
};
use parc_core::validate::ValidationErrors;
use parc_core::{AssetId, CampaignId, CampaignItemId, EntityId, LocationId, UserId};
use serde::Serialize;
use sqlx::AnyConnection;

/// A campaign, with its live counts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Campaign {
    pub id: CampaignId,
    pub entity_id: EntityId,
    pub entity_name: String,
    pub location_id: Option<LocationId>,
    pub location_name: Option<String>,
    pub kind: CampaignKind,
    pub name: String,
    pub status: CampaignStatus,
    pub created_by_user_id: Option<UserId>,
    pub created_at: String,
    pub closed_at: Option<String>,
    pub closed_by_user_id: Option<UserId>,
    /// Who signed the report (the school principal).
    pub signer_name: Option<String>,
    /// The status found items took at closing, if any.
    pub found_status: Option<AssetStatus>,
    /// The signed reconciliation report.
    pub document_id: Option<i64>,
    pub tally: Tally,
}

/// An item of a campaign.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = CampaignItem)]
pub struct Item {
    pub id: CampaignItemId,
    /// On the expected list (false: scanned though not on it).
    pub expected: bool,
    pub asset_id: Option<AssetId>,
    pub label: String,
    pub asset_tag: Option<String>,
    pub serial: Option<String>,
    pub imei: Option<String>,
    pub found_at: Option<String>,
    pub found_by_user_id: Option<UserId>,
    pub found_by: Option<String>,
    /// The code that found it, as scanned.
    pub found_code: Option<String>,
    pub step_done_at: Option<String>,
    pub step_by: Option<String>,
    /// PC replacement: the new machine.
    pub replacement_asset_id: Option<AssetId>,
    pub replacement_label: Option<String>,
}

/// One scan, as the live view and the report show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = CampaignScan)]
pub struct Scan {
    pub id: i64,
    pub code: String,
    pub outcome: ScanOutcome,
    pub item_id: Option<CampaignItemId>,
    /// What was scanned: the item's label, else the code.
    pub label: String,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub at: String,
}

/// The answer to a scan: what it was, the item, and the counts right after it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScanResult {
    pub scan: Scan,
    pub item: Option<Item>,
    pub tally: Tally,
}

/// A new campaign's settings.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub entity_id: EntityId,
    pub location_id: Option<LocationId>,
    pub kind: CampaignKind,
    pub name: String,
}

/// An item of a new campaign's expected list.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub asset_id: Option<AssetId>,
    pub label: String,
    pub codes: ItemCodes,
}

/// Creates a campaign with its expected list; refuses an empty or oversized list.
pub async fn create(c: &mut AnyConnection, actor: &Actor, n: &NewCampaign, items: &[NewItem]) -> Result<CampaignId> {
    let mut errors = check_name(&n.name);
    if items.is_empty() {
        errors.add("items", "empty_list", "the expected list is empty");
    } else if items.len() > MAX_ITEMS {
        errors.add("items", "too_many", format!("at most {MAX_ITEMS} items"));
    }
    errors.clone().into_result()?;
    let at = now();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO campaigns (entity_id, location_id, kind, name, status, created_by_user_id, created_at) \
         VALUES ($1, $2, $3, $4, 'open', $5, $6) RETURNING id",
    )
    .bind(n.entity_id.0)
    .bind(n.location_id.map(|l| l.0))
    .bind(n.kind.as_str())
    .bind(n.name.trim())
    .bind(actor.user_id.map(|u| u.0))
    .bind(&at)
    .fetch_one(&mut *c)
    .await
    .map_err(|e| StoreError::from_write(e, "campaign"))?;
    let ids = insert_items(c, id, items, true).await?;
    let codes: Vec<ItemCodes> = items.iter().map(|i| i.codes.clone()).collect();
    let keys: Vec<(String, i64)> = key_map(&codes).into_iter().map(|(k, i)| (k, ids[i])).collect();
    insert_keys(c, id, &keys).await?;
    let changes = creation(&[
        ("name", Some(n.name.trim().to_owned())),
        ("kind", Some(n.kind.as_str().to_owned())),
        ("location_id", n.location_id.map(|l| l.0.to_string())),
        ("expected_items", Some(items.len().to_string())),
    ]);
    audit::record(c, actor, ObjectType::Campaign, id, Some(n.entity_id), AuditAction::Create, &changes).await?;
    Ok(CampaignId(id))
}

/// Rows per multi-row insert (9 values a row stays under SQLite's 32766 parameters).
const CHUNK: usize = 500;

async fn insert_items(c: &mut AnyConnection, campaign: i64, items: &[NewItem], expected: bool) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(items.len());
    for chunk in items.chunks(CHUNK) {
        let mut sql = Sql::new(
            "INSERT INTO campaign_items (campaign_id, expected, asset_id, label, asset_tag, serial, imei) VALUES ",
        );
        for (i, it) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").bind_int(campaign).push(", ").bind_int(expected as i64).push(", ");
            sql.bind_opt_int(it.asset_id.map(|a| a.0)).push(", ").bind_text(cut(&it.label, 200)).push(", ");
            sql.bind_opt_text(it.codes.asset_tag.clone()).push(", ").bind_opt_text(it.codes.serial.clone()).push(", ");
            sql.bind_opt_text(it.codes.imei.clone()).push(")");
        }
        sql.push(" RETURNING id");
        let rows: Vec<(i64,)> = sql.query_as().fetch_all(&mut *c).await?;
        ids.extend(rows.into_iter().map(|r| r.0));
    }
    // RETURNING gives rows in insertion order on both backends for a plain VALUES list, but
    // make sure: ids are increasing within one statement.
    ids.sort_unstable();
    Ok(ids)
}

async fn insert_keys(c: &mut AnyConnection, campaign: i64, keys: &[(String, i64)]) -> Result<()> {
    for chunk in keys.chunks(CHUNK) {
        let mut sql = Sql::new("INSERT INTO campaign_keys (campaign_id, key, item_id) VALUES ");
        for (i, (k, item)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").bind_int(campaign).push(", ").bind_text(k.clone()).push(", ").bind_int(*item).push(")");
        }
        sql.execute(&mut *c).await?;
    }
    Ok(())
}

fn cut(s: &str, max: usize) -> String {
    s.trim().chars().take(max).collect()
}

type CampaignRow = (
    i64,
    i64,
    String,
    Option<i64>,
    Option<String>,
    String,
    String,
    String,
    Option<i64>,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

const SELECT_CAMPAIGN: &str = "SELECT c.id, c.entity_id, e.name, c.location_id, l.name, c.kind, c.name, c.status, \
    c.created_by_user_id, c.created_at, c.closed_at, c.closed_by_user_id, c.signer_name, c.found_status, c.document_id \
    FROM campaigns c JOIN entities e ON e.id = c.entity_id LEFT JOIN locations l ON l.id = c.location_id";

fn campaign_of(r: CampaignRow, tally: Tally) -> Campaign {
    Campaign {
        id: CampaignId(r.0),
        entity_id: EntityId(r.1),
        entity_name: r.2,
        location_id: r.3.map(LocationId),
        location_name: r.4,
        kind: r.5.parse().unwrap_or(CampaignKind::Count),
        name: r.6,
        status: r.7.parse().unwrap_or(CampaignStatus::Open),
        created_by_user_id: r.8.map(UserId),
        created_at: r.9,
        closed_at: r.10,
        closed_by_user_id: r.11.map(UserId),
        signer_name: r.12,
        found_status: r.13.and_then(|s| s.parse().ok()),
        document_id: r.14,
        tally,
    }
}

pub async fn get(c: &mut AnyConnection, id: CampaignId) -> Result<Option<Campaign>> {
    let row: Option<CampaignRow> =
        sqlx::query_as(&format!("{SELECT_CAMPAIGN} WHERE c.id = $1")).bind(id.0).fetch_optional(&mut *c).await?;
    match row {
        Some(r) => {
            let t = tally(c, id).await?;
            Ok(Some(campaign_of(r, t)))
        }
        None => Ok(None),
    }
}

/// The campaigns of some entities, open ones first, newest first, with their counts.
pub async fn list(c: &mut AnyConnection, entities: &[i64], limit: i64) -> Result<Vec<Campaign>> {
    let mut sql = Sql::new(SELECT_CAMPAIGN);
    sql.push(" WHERE ").in_ints("c.entity_id", entities.iter().copied());
    sql.push(" ORDER BY CASE WHEN c.status = 'open' THEN 0 ELSE 1 END, c.id DESC LIMIT ").bind_int(limit);
    let rows: Vec<CampaignRow> = sql.query_as().fetch_all(&mut *c).await?;
    // The counts of every listed campaign in two grouped queries, not two per campaign.
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut items = Sql::new(&format!("SELECT campaign_id, {TALLY_ITEMS} WHERE "));
    items.in_ints("campaign_id", ids.iter().copied()).push(" GROUP BY campaign_id");
    let counts: Vec<(i64, i64, i64, i64, i64)> = items.query_as().fetch_all(&mut *c).await?;
    let mut dups = Sql::new("SELECT campaign_id, COUNT(*) FROM campaign_scans WHERE outcome = 'duplicate' AND ");
    dups.in_ints("campaign_id", ids.iter().copied()).push(" GROUP BY campaign_id");
    let dups: Vec<(i64, i64)> = dups.query_as().fetch_all(&mut *c).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (e, f, u, s) = counts.iter().find(|x| x.0 == r.0).map(|x| (x.1, x.2, x.3, x.4)).unwrap_or_default();
            let d = dups.iter().find(|x| x.0 == r.0).map(|x| x.1).unwrap_or(0);
            campaign_of(r, Tally::new(e, f, u, d, s))
        })
        .collect())
}

/// The counts over a campaign's items (expected, found, unexpected, step done), read from the
/// covering index `campaign_items_tally`.
const TALLY_ITEMS: &str = "COALESCE(SUM(CASE WHEN expected = 1 THEN 1 ELSE 0 END), 0), \
    COALESCE(SUM(CASE WHEN expected = 1 AND found_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
    COALESCE(SUM(CASE WHEN expected = 0 THEN 1 ELSE 0 END), 0), \
    COALESCE(SUM(CASE WHEN found_at IS NOT NULL AND step_done_at IS NOT NULL THEN 1 ELSE 0 END), 0) \
    FROM campaign_items";

/// The live counts: two index-only counts over the campaign's items and scans.
pub async fn tally(c: &mut AnyConnection, id: CampaignId) -> Result<Tally> {
    let (expected, found, unexpected, step_done): (i64, i64, i64, i64) =
        sqlx::query_as(&format!("SELECT {TALLY_ITEMS} WHERE campaign_id = $1")).bind(id.0).fetch_one(&mut *c).await?;
    let (duplicates,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM campaign_scans WHERE campaign_id = $1 AND outcome = 'duplicate'")
            .bind(id.0)
            .fetch_one(&mut *c)
            .await?;
    Ok(Tally::new(expected, found, unexpected, duplicates, step_done))
}

type ItemRow = (
    i64,
    i64,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

const SELECT_ITEM: &str = "SELECT i.id, i.expected, i.asset_id, i.label, i.asset_tag, i.serial, i.imei, i.found_at, \
    i.found_by_user_id, fu.display_name, i.found_code, i.step_done_at, su.display_name, i.replacement_asset_id, r.name \
    FROM campaign_items i LEFT JOIN users fu ON fu.id = i.found_by_user_id \
    LEFT JOIN users su ON su.id = i.step_by_user_id LEFT JOIN assets r ON r.id = i.replacement_asset_id";

fn item_of(r: ItemRow) -> Item {
    Item {
        id: CampaignItemId(r.0),
        expected: r.1 != 0,
        asset_id: r.2.map(AssetId),
        label: r.3,
        asset_tag: r.4,
        serial: r.5,
        imei: r.6,
        found_at: r.7,
        found_by_user_id: r.8.map(UserId),
        found_by: r.9,
        found_code: r.10,
        step_done_at: r.11,
        step_by: r.12,
        replacement_asset_id: r.13.map(AssetId),
        replacement_label: r.14,
    }
}

/// Every item of a campaign, expected ones first, in list order.
pub async fn items(c: &mut AnyConnection, id: CampaignId) -> Result<Vec<Item>> {
    let rows: Vec<ItemRow> =
        sqlx::query_as(&format!("{SELECT_ITEM} WHERE i.campaign_id = $1 ORDER BY i.expected DESC, i.id"))
            .bind(id.0)
            .fetch_all(&mut *c)
            .await?;
    Ok(rows.into_iter().map(item_of).collect())
}

pub async fn item(c: &mut AnyConnection, campaign: CampaignId, id: CampaignItemId) -> Result<Option<Item>> {
    let row: Option<ItemRow> = sqlx::query_as(&format!("{SELECT_ITEM} WHERE i.id = $1 AND i.campaign_id = $2"))
        .bind(id.0)
        .bind(campaign.0)
        .fetch_optional(&mut *c)
        .await?;
    Ok(row.map(item_of))
}

type ScanRow = (i64, String, String, Option<i64>, Option<String>, Option<i64>, Option<String>, String);

const SELECT_SCAN: &str = "SELECT s.id, s.code, s.outcome, s.item_id, i.label, s.user_id, u.display_name, s.at \
    FROM campaign_scans s LEFT JOIN campaign_items i ON i.id = s.item_id LEFT JOIN users u ON u.id = s.user_id";

fn scan_of(r: ScanRow) -> Scan {
    Scan {
        id: r.0,
        label: r.4.unwrap_or_else(|| r.1.clone()),
        code: r.1,
        outcome: r.2.parse().unwrap_or(ScanOutcome::Unexpected),
        item_id: r.3.map(CampaignItemId),
        user_id: r.5.map(UserId),
        user_name: r.6,
        at: r.7,
    }
}

/// Scans after `after` (an id), oldest first: what the live view polls for.
pub async fn scans_after(c: &mut AnyConnection, id: CampaignId, after: i64, limit: i64) -> Result<Vec<Scan>> {
    let rows: Vec<ScanRow> =
        sqlx::query_as(&format!("{SELECT_SCAN} WHERE s.campaign_id = $1 AND s.id > $2 ORDER BY s.id LIMIT $3"))
            .bind(id.0)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
    Ok(rows.into_iter().map(scan_of).collect())
}

/// An asset a code names, anywhere: by label token, tag, serial or IMEI (exact, as printed or
/// upper-cased). One indexed lookup per column joined by UNION.
async fn asset_by_code(c: &mut AnyConnection, code: &ScanCode) -> Result<Option<(i64, i64, String)>> {
    if let Some(token) = code.key.strip_prefix("qr:") {
        let row: Option<(i64, i64, String)> =
            sqlx::query_as("SELECT id, entity_id, name FROM assets WHERE public_token = $1")
                .bind(token)
                .fetch_optional(&mut *c)
                .await?;
        return Ok(row);
    }
    let upper = code.raw.to_uppercase();
    let row: Option<(i64, i64, String)> = sqlx::query_as(
        "SELECT id, entity_id, name FROM assets WHERE asset_tag IN ($1, $2) \
         UNION SELECT id, entity_id, name FROM assets WHERE serial IN ($1, $2) \
         UNION SELECT id, entity_id, name FROM assets WHERE imei IN ($1, $3) ORDER BY 1 LIMIT 1",
    )
    .bind(&code.raw)
    .bind(&upper)
    .bind(&code.key)
    .fetch_optional(&mut *c)
    .await?;
    Ok(row)
}

/// Records one scan by `actor` in an open campaign whose entity tree is `tree` (the campaign's
/// entity and its sub-entities): found, duplicate or unexpected, and the counts after it.
/// Scanning an asset of an entity outside the tree is refused and writes nothing.
pub async fn scan(
    c: &mut AnyConnection,
    actor: &Actor,
    campaign: &Campaign,
    tree: &[EntityId],
    code: &ScanCode,
) -> Result<ScanResult> {
    ensure_open(campaign)?;
    let at = now();
    let user = actor.user_id.map(|u| u.0);
    let known: Option<(i64,)> = sqlx::query_as("SELECT item_id FROM campaign_keys WHERE campaign_id = $1 AND key = $2")
        .bind(campaign.id.0)
        .bind(&code.key)
        .fetch_optional(&mut *c)
        .await?;
    let (outcome, item_id) = match known {
        Some((item,)) => {
            let marked = sqlx::query(
                "UPDATE campaign_items SET found_at = $1, found_by_user_id = $2, found_code = $3 \
                 WHERE id = $4 AND found_at IS NULL AND expected = 1",
            )
            .bind(&at)
            .bind(user)
            .bind(cut(&code.raw, 300))
            .bind(item)
            .execute(&mut *c)
            .await?
            .rows_affected();
            (if marked == 1 { ScanOutcome::Found } else { ScanOutcome::Duplicate }, Some(item))
        }
        None => {
            let asset = asset_by_code(c, code).await?;
            if let Some((_, entity, name)) = &asset {
                if !tree.contains(&EntityId(*entity)) {
                    let mut e = ValidationErrors::default();
                    e.add("code", "other_entity", format!("{name} belongs to another entity"));
                    return Err(e.into());
                }
            }
            let label = asset.as_ref().map(|a| a.2.clone()).unwrap_or_else(|| cut(&code.raw, 200));
            let new = NewItem {
                asset_id: asset.as_ref().map(|a| AssetId(a.0)),
                label,
                codes: ItemCodes { serial: Some(cut(&code.raw, 200)), ..Default::default() },
            };
            let ids = insert_items(c, campaign.id.0, std::slice::from_ref(&new), false).await?;
            let item = ids[0];
            // The key's primary key decides between two scanners sending the same unknown
            // code at once: the loser's row goes and its scan is a duplicate.
            let inserted = sqlx::query(
                "INSERT INTO campaign_keys (campaign_id, key, item_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(campaign.id.0)
            .bind(&code.key)
            .bind(item)
            .execute(&mut *c)
            .await?
            .rows_affected();
            if inserted == 1 {
                sqlx::query(
                    "UPDATE campaign_items SET found_at = $1, found_by_user_id = $2, found_code = $3 WHERE id = $4",
                )
                .bind(&at)
                .bind(user)
                .bind(cut(&code.raw, 300))
                .bind(item)
                .execute(&mut *c)
                .await?;
                (ScanOutcome::Unexpected, Some(item))
            } else {
                sqlx::query("DELETE FROM campaign_items WHERE id = $1").bind(item).execute(&mut *c).await?;
                let (other,): (i64,) =
                    sqlx::query_as("SELECT item_id FROM campaign_keys WHERE campaign_id = $1 AND key = $2")
                        .bind(campaign.id.0)
                        .bind(&code.key)
                        .fetch_one(&mut *c)
                        .await?;
                (ScanOutcome::Duplicate, Some(other))
            }
        }
    };
    let (scan_id,): (i64,) = sqlx::query_as(
        "INSERT INTO campaign_scans (campaign_id, item_id, code, outcome, user_id, at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(campaign.id.0)
    .bind(item_id)
    .bind(cut(&code.raw, 300))
    .bind(outcome.as_str())
    .bind(user)
    .bind(&at)
    .fetch_one(&mut *c)
    .await?;
    let item = match item_id {
        Some(i) => item(c, campaign.id, CampaignItemId(i)).await?,
        None => None,
    };
    let tally = tally(c, campaign.id).await?;
    let scan = Scan {
        id: scan_id,
        code: cut(&code.raw, 300),
        outcome,
        item_id: item_id.map(CampaignItemId),
        label: item.as_ref().map(|i| i.label.clone()).unwrap_or_else(|| cut(&code.raw, 300)),
        user_id: actor.user_id,
        user_name: Some(actor.label.clone()),
        at,
    };
    Ok(ScanResult { scan, item, tally })
}

/// Refuses (409) to change a closed campaign.
pub fn ensure_open(campaign: &Campaign) -> Result<()> {
    if campaign.status != CampaignStatus::Open {
        return Err(StoreError::Conflict("the campaign is closed".into()));
    }
    Ok(())
}

/// Ticks (or unticks) a found item's step: wiped via the MDM, re-imaged.
pub async fn set_step(
    c: &mut AnyConnection,
    actor: &Actor,
    campaign: &Campaign,
    item: &Item,
    done: bool,
) -> Result<Item> {
    ensure_open(campaign)?;
    let Some(step) = campaign.kind.step() else {
        let mut e = ValidationErrors::default();
        e.add("step", "no_step", "this kind of campaign has no per-item step");
        return Err(e.into());
    };
    if item.found_at.is_none() {
        let mut e = ValidationErrors::default();
        e.add("step", "not_found_yet", "scan the item before ticking its step");
        return Err(e.into());
    }
    let at = now();
    sqlx::query("UPDATE campaign_items SET step_done_at = $1, step_by_user_id = $2 WHERE id = $3")
        .bind(done.then_some(at.clone()))
        .bind(if done { actor.user_id.map(|u| u.0) } else { None })
        .bind(item.id.0)
        .execute(&mut *c)
        .await?;
    let changes = [FieldChange {
        field: format!("item:{}:{}", item.id, step.as_str()),
        old: item.step_done_at.as_ref().map(|_| "done".to_owned()),
        new: done.then(|| "done".to_owned()),
    }];
    audit::record(
        c,
        actor,
        ObjectType::Campaign,
        campaign.id.0,
        Some(campaign.entity_id),
        AuditAction::Update,
        &changes,
    )
    .await?;
    self::item(c, campaign.id, item.id).await?.ok_or(StoreError::NotFound)
}

/// Pairs an old machine (an expected item) with the new one replacing it (PC replacement).
pub async fn set_replacement(
    c: &mut AnyConnection,
    actor: &Actor,
    campaign: &Campaign,
    item: &Item,
    new_asset: Option<&assets::Asset>,
    tree: &[EntityId],
) -> Result<Item> {
    ensure_open(campaign)?;
    let mut e = ValidationErrors::default();
    if !campaign.kind.pairs() {
        e.add("replacement", "no_pairs", "only a PC replacement campaign pairs machines");
    } else if !item.expected {
        e.add("replacement", "not_expected", "pair an old machine of the list");
    } else if let Some(a) = new_asset {
        if !tree.contains(&a.entity_id) {
            e.add("replacement", "other_entity", format!("{} belongs to another entity", a.name));
        } else if Some(a.id) == item.asset_id {
            e.add("replacement", "same_asset", "a machine cannot replace itself");
        }
    }
    e.into_result()?;
    sqlx::query("UPDATE campaign_items SET replacement_asset_id = $1 WHERE id = $2")
        .bind(new_asset.map(|a| a.id.0))
        .bind(item.id.0)
        .execute(&mut *c)
        .await
        .map_err(|e| StoreError::from_write(e, "replacement"))?;
    let changes = [FieldChange {
        field: format!("item:{}:replacement", item.id),
        old: item.replacement_asset_id.map(|a| a.to_string()),
        new: new_asset.map(|a| a.id.to_string()),
    }];
    audit::record(
        c,
        actor,
        ObjectType::Campaign,
        campaign.id.0,
        Some(campaign.entity_id),
        AuditAction::Update,
        &changes,
    )
    .await?;
    self::item(c, campaign.id, item.id).await?.ok_or(StoreError::NotFound)
}

/// Checks the name of who signs a campaign's report (required, at most 200 characters).
pub fn check_signer(name: &str) -> ValidationErrors {
    let mut e = ValidationErrors::default();
    let signer = name.trim();
    if signer.is_empty() {
        e.add("signer_name", "required", "the signer's name is required");
    } else if signer.chars().count() > 200 {
        e.add("signer_name", "too_long", "at most 200 characters");
    }
    e
}

/// How a campaign is closed.
#[derive(Debug, Clone)]
pub struct Closing {
    pub signer_name: String,
    /// The status found items take (`None`: the kind's default, see
    /// `CampaignKind::default_found_status`).
    pub found_status: Option<AssetStatus>,
    /// Keep statuses as they are.
    pub keep_statuses: bool,
    /// The signed report (already rendered), stored immutably.
    pub report_pdf: Vec<u8>,
    pub report_filename: String,
}

/// Closes an open campaign in the caller's transaction: stores the signed report, sets the
/// found assets' statuses (and, for a PC replacement, puts each new machine in use with the old
/// one's user and location), and records the report's SHA-256 in the campaign's trail.
/// Returns how many assets changed.
pub async fn close(
    c: &mut AnyConnection,
    actor: &Actor,
    cipher: &crate::Cipher,
    campaign: &Campaign,
    closing: &Closing,
) -> Result<usize> {
    ensure_open(campaign)?;
    check_signer(&closing.signer_name).into_result()?;
    let signer = closing.signer_name.trim();
    let items = items(c, campaign.id).await?;
    let mut changed = 0;
    for it in items.iter().filter(|i| i.expected && i.found_at.is_some()) {
        let Some(asset_id) = it.asset_id else { continue };
        let Some(old) = assets::get(c, asset_id).await? else { continue };
        let status = if closing.keep_statuses {
            None
        } else {
            closing.found_status.or(campaign.kind.default_found_status(it.step_done_at.is_some()))
        };
        if let Some(status) = status.filter(|s| *s != old.status) {
            let mut d = old.to_draft();
            d.status = status;
            assets::update(c, actor, cipher, &old, &d).await?;
            changed += 1;
        }
        if let Some(new_id) = it.replacement_asset_id {
            let Some(new) = assets::get(c, new_id).await? else { continue };
            let mut d = new.to_draft();
            d.status = AssetStatus::InUse;
            d.assigned_user_id = old.assigned_user_id;
            d.location_id = old.location_id.or(new.location_id);
            assets::update(c, actor, cipher, &new, &d).await?;
            changed += 1;
        }
    }
    let doc = crate::documents::insert(
        c,
        actor,
        "campaign_report",
        &closing.report_filename,
        "application/pdf",
        &closing.report_pdf,
    )
    .await?;
    let at = now();
    let found_status = if closing.keep_statuses { None } else { closing.found_status };
    sqlx::query(
        "UPDATE campaigns SET status = 'closed', closed_at = $1, closed_by_user_id = $2, signer_name = $3, \
         found_status = $4, document_id = $5 WHERE id = $6 AND status = 'open'",
    )
    .bind(&at)
    .bind(actor.user_id.map(|u| u.0))
    .bind(signer)
    .bind(found_status.map(|s| s.as_str()))
    .bind(doc.id)
    .bind(campaign.id.0)
    .execute(&mut *c)
    .await?;
    let changes = [
        FieldChange { field: "status".into(), old: Some("open".into()), new: Some("closed".into()) },
        FieldChange { field: "signer_name".into(), old: None, new: Some(signer.to_owned()) },
        FieldChange { field: "report_sha256".into(), old: None, new: Some(doc.sha256.clone()) },
        FieldChange { field: "assets_changed".into(), old: None, new: Some(changed.to_string()) },
    ];
    audit::record(c, actor, ObjectType::Campaign, campaign.id.0, Some(campaign.entity_id), AuditAction::Sign, &changes)
        .await?;
    Ok(changed)
}

/// The assets of some entities with the codes they answer to, to match an imported list
/// (an MDM export) against the registry.
pub async fn asset_codes(c: &mut AnyConnection, entities: &[i64]) -> Result<Vec<(AssetId, String, ItemCodes)>> {
    let mut sql = Sql::new("SELECT id, name, asset_tag, serial, imei, public_token FROM assets WHERE ");
    sql.in_ints("entity_id", entities.iter().copied());
    type R = (i64, String, Option<String>, Option<String>, Option<String>, String);
    let rows: Vec<R> = sql.query_as().fetch_all(&mut *c).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let codes = ItemCodes { asset_tag: r.2, serial: r.3, imei: r.4, name: None, token: Some(r.5) };
            (AssetId(r.0), r.1, codes)
        })
        .collect())
}

/// The asset a code names, anywhere in the registry (the caller checks it may see it).
pub async fn find_asset(c: &mut AnyConnection, code: &ScanCode) -> Result<Option<assets::Asset>> {
    match asset_by_code(c, code).await? {
        Some((id, _, _)) => assets::get(c, AssetId(id)).await,
        None => Ok(None),
    }
}

/// How many scans a campaign has recorded (duplicates included).
pub async fn scan_count(c: &mut AnyConnection, id: CampaignId) -> Result<i64> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM campaign_scans WHERE campaign_id = $1").bind(id.0).fetch_one(c).await?;
    Ok(n)
}
