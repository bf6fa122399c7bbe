//! The asset registry: storage, scoped lists, full-text search, links and the PUK secret.

use crate::secrets::random_token;
use crate::sql::Sql;
use crate::{audit, now, Actor, Backend, Result, StoreError};
use parc_core::assets::{check_link, AssetDraft, AssetKind, AssetStatus, LineType, LinkKind};
use parc_core::audit::{creation, diff, AuditAction, FieldChange, ObjectType};
use parc_core::permissions::Scope;
use parc_core::query::{AssetQuery, FilterOp};
use parc_core::validate::ValidationErrors;
use parc_core::{AssetId, EntityId, LocationId, UserId};
use serde::Serialize;
use sqlx::AnyConnection;

/// A stored asset with the names of what it refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Asset {
    pub id: AssetId,
    pub entity_id: EntityId,
    pub entity_name: String,
    pub kind: AssetKind,
    pub name: String,
    pub asset_tag: Option<String>,
    pub serial: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub status: AssetStatus,
    pub location_id: Option<LocationId>,
    pub location_name: Option<String>,
    pub assigned_user_id: Option<UserId>,
    pub assigned_user_name: Option<String>,
    pub purchase_date: Option<String>,
    pub warranty_end: Option<String>,
    pub supplier: Option<String>,
    pub comment: Option<String>,
    pub imei: Option<String>,
    pub iccid: Option<String>,
    /// Whether a PUK is stored (the code itself is only given by [`reveal_puk`]).
    pub has_puk: bool,
    pub line_number: Option<String>,
    pub line_type: Option<LineType>,
    pub ip: Option<String>,
    pub mac: Option<String>,
    /// The stable, unguessable token of the public "report a problem" URL `/r/<token>`.
    pub public_token: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    entity_id: i64,
    entity_name: String,
    kind: String,
    name: String,
    asset_tag: Option<String>,
    serial: Option<String>,
    manufacturer: Option<String>,
    model: Option<String>,
    status: String,
    location_id: Option<i64>,
    location_name: Option<String>,
    assigned_user_id: Option<i64>,
    assigned_user_name: Option<String>,
    purchase_date: Option<String>,
    warranty_end: Option<String>,
    supplier: Option<String>,
    comment: Option<String>,
    imei: Option<String>,
    iccid: Option<String>,
    has_puk: i64,
    line_number: Option<String>,
    line_type: Option<String>,
    ip: Option<String>,
    mac: Option<String>,
    public_token: String,
    created_at: String,
    updated_at: String,
}

impl From<Row> for Asset {
    fn from(r: Row) -> Self {
        Asset {
            id: AssetId(r.id),
            entity_id: EntityId(r.entity_id),
            entity_name: r.entity_name,
            kind: r.kind.parse().unwrap_or(AssetKind::Peripheral),
            name: r.name,
            asset_tag: r.asset_tag,
            serial: r.serial,
            manufacturer: r.manufacturer,
            model: r.model,
            status: r.status.parse().unwrap_or(AssetStatus::InStock),
            location_id: r.location_id.map(LocationId),
            location_name: r.location_name,
            assigned_user_id: r.assigned_user_id.map(UserId),
            assigned_user_name: r.assigned_user_name,
            purchase_date: r.purchase_date,
            warranty_end: r.warranty_end,
            supplier: r.supplier,
            comment: r.comment,
            imei: r.imei,
            iccid: r.iccid,
            has_puk: r.has_puk != 0,
            line_number: r.line_number,
            line_type: r.line_type.and_then(|t| t.parse().ok()),
            ip: r.ip,
            mac: r.mac,
            public_token: r.public_token,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl Asset {
    /// The stored fields as a draft, the base of an update.
    pub fn to_draft(&self) -> AssetDraft {
        AssetDraft {
            kind: self.kind,
            entity_id: self.entity_id,
            name: self.name.clone(),
            asset_tag: self.asset_tag.clone(),
            serial: self.serial.clone(),
            manufacturer: self.manufacturer.clone(),
            model: self.model.clone(),
            status: self.status,
            location_id: self.location_id,
            assigned_user_id: self.assigned_user_id,
            purchase_date: self.purchase_date.clone(),
            warranty_end: self.warranty_end.clone(),
            supplier: self.supplier.clone(),
            comment: self.comment.clone(),
            imei: self.imei.clone(),
            iccid: self.iccid.clone(),
            puk: None,
            line_number: self.line_number.clone(),
            line_type: self.line_type,
            ip: self.ip.clone(),
            mac: self.mac.clone(),
        }
    }
}

const SELECT: &str = "SELECT a.id, a.entity_id, e.name AS entity_name, a.kind, a.name, a.asset_tag, a.serial, a.manufacturer, \
     a.model, a.status, a.location_id, l.name AS location_name, a.assigned_user_id, u.display_name AS assigned_user_name, \
     a.purchase_date, a.warranty_end, a.supplier, a.comment, a.imei, a.iccid, \
     CASE WHEN a.puk_enc IS NULL THEN 0 ELSE 1 END AS has_puk, a.line_number, a.line_type, a.ip, a.mac, a.public_token, \
     a.created_at, a.updated_at \
     FROM assets a JOIN entities e ON e.id = a.entity_id LEFT JOIN locations l ON l.id = a.location_id \
     LEFT JOIN users u ON u.id = a.assigned_user_id";

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

pub async fn get(c: &mut AnyConnection, id: AssetId) -> Result<Option<Asset>> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE a.id = $1")).bind(id.0).fetch_optional(c).await?;
    Ok(row.map(Into::into))
}

pub async fn get_by_token(c: &mut AnyConnection, token: &str) -> Result<Option<Asset>> {
    let row: Option<Row> =
        sqlx::query_as(&format!("{SELECT} WHERE a.public_token = $1")).bind(token).fetch_optional(c).await?;
    Ok(row.map(Into::into))
}

/// The lower-cased text the global search matches against.
async fn search_text(c: &mut AnyConnection, d: &AssetDraft) -> Result<String> {
    let user = match d.assigned_user_id {
        Some(u) => sqlx::query_as::<_, (String, String)>("SELECT display_name, login FROM users WHERE id = $1")
            .bind(u.0)
            .fetch_optional(c)
            .await?
            .map(|(n, l)| format!("{n} {l}")),
        None => None,
    };
    let mac_bare = d.mac.as_deref().map(|m| m.replace(':', ""));
    let parts = [
        Some(d.name.as_str()),
        d.asset_tag.as_deref(),
        d.serial.as_deref(),
        d.ip.as_deref(),
        d.mac.as_deref(),
        mac_bare.as_deref(),
        d.imei.as_deref(),
        d.iccid.as_deref(),
        d.line_number.as_deref(),
        d.manufacturer.as_deref(),
        d.model.as_deref(),
        user.as_deref(),
    ];
    Ok(parts.into_iter().flatten().collect::<Vec<_>>().join(" ").to_lowercase())
}

/// Checks references that need the database: location and user in reach of the asset's entity.
async fn check_refs(c: &mut AnyConnection, d: &AssetDraft) -> Result<()> {
    let mut e = ValidationErrors::new();
    let (ent,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM entities WHERE id = $1").bind(d.entity_id.0).fetch_one(&mut *c).await?;
    if ent == 0 {
        e.add("entity_id", "not_found", "no such entity");
    }
    if let Some(l) = d.location_id {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT entity_id FROM locations WHERE id = $1").bind(l.0).fetch_optional(&mut *c).await?;
        match row {
            None => e.add("location_id", "not_found", "no such location"),
            Some((le,)) if le != d.entity_id.0 => {
                e.add("location_id", "other_entity", "the location belongs to another entity")
            }
            _ => {}
        }
    }
    if let Some(u) = d.assigned_user_id {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM users WHERE id = $1").bind(u.0).fetch_one(&mut *c).await?;
        if n == 0 {
            e.add("assigned_user_id", "not_found", "no such user");
        }
    }
    e.into_result()?;
    Ok(())
}

fn tag_taken(e: sqlx::Error) -> StoreError {
    match StoreError::from_write(e, "asset") {
        StoreError::Conflict(m) if m.contains("already exists") => StoreError::Validation(ValidationErrors::single(
            "asset_tag",
            "tag_taken",
            "another asset of this entity already has this asset tag",
        )),
        other => other,
    }
}

fn puk_change(old: bool, new: Option<&Option<String>>) -> Option<FieldChange> {
    match new {
        Some(Some(_)) => {
            Some(FieldChange { field: "puk".into(), old: old.then(|| "***".into()), new: Some("***".into()) })
        }
        Some(None) if old => Some(FieldChange { field: "puk".into(), old: Some("***".into()), new: None }),
        _ => None,
    }
}

/// Creates an asset; `d` comes from `AssetInput::validate`.
pub async fn create(c: &mut AnyConnection, actor: &Actor, cipher: &crate::Cipher, d: &AssetDraft) -> Result<AssetId> {
    check_refs(c, d).await?;
    let search = search_text(c, d).await?;
    let puk_enc = match &d.puk {
        Some(Some(p)) => Some(cipher.encrypt(p)?),
        _ => None,
    };
    let t = now();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO assets (entity_id, kind, name, asset_tag, serial, manufacturer, model, status, location_id, assigned_user_id, \
         purchase_date, warranty_end, supplier, comment, imei, iccid, puk_enc, line_number, line_type, ip, mac, public_token, \
         search_text, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $24) \
         RETURNING id",
    )
    .bind(d.entity_id.0)
    .bind(d.kind.as_str())
    .bind(&d.name)
    .bind(&d.asset_tag)
    .bind(&d.serial)
    .bind(&d.manufacturer)
    .bind(&d.model)
    .bind(d.status.as_str())
    .bind(d.location_id.map(|l| l.0))
    .bind(d.assigned_user_id.map(|u| u.0))
    .bind(&d.purchase_date)
    .bind(&d.warranty_end)
    .bind(&d.supplier)
    .bind(&d.comment)
    .bind(&d.imei)
    .bind(&d.iccid)
    .bind(puk_enc)
    .bind(&d.line_number)
    .bind(d.line_type.map(|l| l.as_str()))
    .bind(&d.ip)
    .bind(&d.mac)
    .bind(random_token(18))
    .bind(search)
    .bind(&t)
    .fetch_one(&mut *c)
    .await
    .map_err(tag_taken)?;
    let mut changes = creation(&d.audit_fields());
    changes.extend(puk_change(false, d.puk.as_ref()));
    audit::record(c, actor, ObjectType::Asset, id, Some(d.entity_id), AuditAction::Create, &changes).await?;
    Ok(AssetId(id))
}

/// Updates an asset from a new draft (built on `old.to_draft()`), auditing each changed field.
pub async fn update(
    c: &mut AnyConnection,
    actor: &Actor,
    cipher: &crate::Cipher,
    old: &Asset,
    d: &AssetDraft,
) -> Result<()> {
    let changes = update_row(c, cipher, old, d).await?;
    if !changes.is_empty() {
        audit::record(c, actor, ObjectType::Asset, old.id.0, Some(d.entity_id), AuditAction::Update, &changes).await?;
    }
    Ok(())
}

/// Writes the draft over the stored row and returns what changed, without auditing (the caller
/// records it, possibly grouped with other changes).
pub(crate) async fn update_row(
    c: &mut AnyConnection,
    cipher: &crate::Cipher,
    old: &Asset,
    d: &AssetDraft,
) -> Result<Vec<FieldChange>> {
    let old_draft = old.to_draft();
    let mut changes = diff(&old_draft.audit_fields(), &d.audit_fields());
    changes.extend(puk_change(old.has_puk, d.puk.as_ref()));
    if changes.is_empty() {
        return Ok(changes);
    }
    // A hand-over waits for the asset's checklists (their mandatory steps).
    crate::checklists::check_handover(c, old.id, old.status, d.status).await?;
    check_refs(c, d).await?;
    let search = search_text(c, d).await?;
    sqlx::query(
        "UPDATE assets SET entity_id = $1, kind = $2, name = $3, asset_tag = $4, serial = $5, manufacturer = $6, model = $7, \
         status = $8, location_id = $9, assigned_user_id = $10, purchase_date = $11, warranty_end = $12, supplier = $13, \
         comment = $14, imei = $15, iccid = $16, line_number = $17, line_type = $18, ip = $19, mac = $20, search_text = $21, \
         updated_at = $22 WHERE id = $23",
    )
    .bind(d.entity_id.0)
    .bind(d.kind.as_str())
    .bind(&d.name)
    .bind(&d.asset_tag)
    .bind(&d.serial)
    .bind(&d.manufacturer)
    .bind(&d.model)
    .bind(d.status.as_str())
    .bind(d.location_id.map(|l| l.0))
    .bind(d.assigned_user_id.map(|u| u.0))
    .bind(&d.purchase_date)
    .bind(&d.warranty_end)
    .bind(&d.supplier)
    .bind(&d.comment)
    .bind(&d.imei)
    .bind(&d.iccid)
    .bind(&d.line_number)
    .bind(d.line_type.map(|l| l.as_str()))
    .bind(&d.ip)
    .bind(&d.mac)
    .bind(search)
    .bind(now())
    .bind(old.id.0)
    .execute(&mut *c)
    .await
    .map_err(tag_taken)?;
    match &d.puk {
        Some(Some(p)) => {
            sqlx::query("UPDATE assets SET puk_enc = $1 WHERE id = $2")
                .bind(cipher.encrypt(p)?)
                .bind(old.id.0)
                .execute(&mut *c)
                .await?;
        }
        Some(None) => {
            sqlx::query("UPDATE assets SET puk_enc = NULL WHERE id = $1").bind(old.id.0).execute(&mut *c).await?;
        }
        None if !d.kind.has(parc_core::assets::SpecificField::Puk) && old.has_puk => {
            sqlx::query("UPDATE assets SET puk_enc = NULL WHERE id = $1").bind(old.id.0).execute(&mut *c).await?;
        }
        None => {}
    }
    Ok(changes)
}

pub async fn delete(c: &mut AnyConnection, actor: &Actor, old: &Asset) -> Result<()> {
    sqlx::query("DELETE FROM assets WHERE id = $1")
        .bind(old.id.0)
        .execute(&mut *c)
        .await
        .map_err(|e| StoreError::from_write(e, "asset"))?;
    let changes = diff(&old.to_draft().audit_fields(), &[]);
    audit::record(c, actor, ObjectType::Asset, old.id.0, Some(old.entity_id), AuditAction::Delete, &changes).await?;
    Ok(())
}

/// Decrypts the PUK of a SIM card and audits the reveal.
pub async fn reveal_puk(
    c: &mut AnyConnection,
    actor: &Actor,
    cipher: &crate::Cipher,
    asset: &Asset,
) -> Result<Option<String>> {
    let (enc,): (Option<String>,) =
        sqlx::query_as("SELECT puk_enc FROM assets WHERE id = $1").bind(asset.id.0).fetch_one(&mut *c).await?;
    let Some(enc) = enc else { return Ok(None) };
    let puk = cipher.decrypt(&enc)?;
    audit::record(
        c,
        actor,
        ObjectType::Asset,
        asset.id.0,
        Some(asset.entity_id),
        AuditAction::RevealSecret,
        &[FieldChange { field: "puk".into(), old: None, new: None }],
    )
    .await?;
    Ok(Some(puk))
}

/// Recomputes the search text of a user's assets after the user was renamed.
pub async fn refresh_search_for_user(c: &mut AnyConnection, user: UserId) -> Result<()> {
    let ids: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM assets WHERE assigned_user_id = $1").bind(user.0).fetch_all(&mut *c).await?;
    for (id,) in ids {
        if let Some(a) = get(c, AssetId(id)).await? {
            let text = search_text(c, &a.to_draft()).await?;
            sqlx::query("UPDATE assets SET search_text = $1 WHERE id = $2")
                .bind(text)
                .bind(id)
                .execute(&mut *c)
                .await?;
        }
    }
    Ok(())
}

// ---- lists and search ----

/// One page of results and the total count.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// Restricts `a` to the scope: full entities, plus own assets in own-only entities.
///
/// For sorted pages over several entities the entity test is written `+a.entity_id` (valid on
/// both backends), which keeps the planner from choosing the entity index: walking the sort
/// column's index and filtering stops after one page, whereas collecting every asset of the
/// entities and sorting them all costs O(n log n) at 200 000 assets. Counts keep the plain form,
/// answered from the covering (entity_id, ...) index.
fn push_scope_for(sql: &mut Sql, scope: &Scope, me: UserId, sorted_page: bool) {
    let several = scope.full.len() + scope.own_only.len() > 1;
    let col = if sorted_page && several { "+a.entity_id" } else { "a.entity_id" };
    sql.push("(");
    sql.in_ints(col, scope.full.iter().map(|e| e.0));
    if !scope.own_only.is_empty() {
        sql.push(" OR (");
        sql.in_ints(col, scope.own_only.iter().map(|e| e.0));
        sql.push(" AND a.assigned_user_id = ").bind_int(me.0).push(")");
    }
    sql.push(")");
}

pub(crate) fn push_scope(sql: &mut Sql, scope: &Scope, me: UserId) {
    push_scope_for(sql, scope, me, false);
}

/// Matches free text: a trigram index on both backends (FTS5 on SQLite, pg_trgm on PostgreSQL);
/// under three characters, exact tag or name. `cap` bounds the candidates (the global search box
/// ranks the first matches; a list filter needs them all).
pub(crate) fn push_text(sql: &mut Sql, backend: Backend, text: &str, cap: Option<i64>) {
    let t = text.to_lowercase();
    if t.chars().count() < 3 {
        sql.push(" AND (lower(a.asset_tag) = ").bind_text(t.clone());
        sql.push(" OR lower(a.name) = ").bind_text(t).push(")");
        return;
    }
    match backend {
        Backend::Sqlite => {
            let phrase = format!("\"{}\"", t.replace('"', "\"\""));
            sql.push(" AND a.id IN (SELECT rowid FROM assets_fts WHERE assets_fts MATCH ").bind_text(phrase);
        }
        Backend::Postgres => {
            sql.push(" AND a.id IN (SELECT id FROM assets WHERE search_text LIKE ")
                .bind_text(format!("%{}%", escape_like(&t)))
                .push(" ESCAPE '\\'");
        }
    }
    if let Some(cap) = cap {
        sql.push(" LIMIT ").bind_int(cap);
    }
    sql.push(")");
}

fn push_filters(sql: &mut Sql, q: &AssetQuery) -> std::result::Result<(), ValidationErrors> {
    let mut e = ValidationErrors::new();
    for f in &q.filters {
        let col = format!("a.{}", f.field.as_str());
        let numeric = f.field.is_numeric();
        let int = || f.value.trim().parse::<i64>();
        sql.push(" AND ");
        match f.op {
            FilterOp::Empty => {
                sql.push(&format!("{col} IS NULL"));
            }
            FilterOp::NotEmpty => {
                sql.push(&format!("{col} IS NOT NULL"));
            }
            FilterOp::Eq | FilterOp::Ne | FilterOp::Lt | FilterOp::Gt => {
                let op = match f.op {
                    FilterOp::Eq => "=",
                    FilterOp::Ne => "<>",
                    FilterOp::Lt => "<",
                    _ => ">",
                };
                if f.op == FilterOp::Ne {
                    sql.push(&format!("({col} IS NULL OR {col} <> "));
                } else {
                    sql.push(&format!("{col} {op} "));
                }
                if numeric {
                    match int() {
                        Ok(v) => sql.bind_int(v),
                        Err(_) => {
                            e.add(f.field.as_str(), "not_a_number", "must be a number");
                            sql.bind_int(0)
                        }
                    };
                } else {
                    sql.bind_text(f.value.trim().to_owned());
                }
                if f.op == FilterOp::Ne {
                    sql.push(")");
                }
            }
            FilterOp::Contains | FilterOp::StartsWith => {
                if numeric {
                    e.add(f.field.as_str(), "bad_operator", "this filter does not apply to a number");
                    sql.push("1 = 1");
                    continue;
                }
                let v = escape_like(&f.value.trim().to_lowercase());
                let pat = if f.op == FilterOp::Contains { format!("%{v}%") } else { format!("{v}%") };
                sql.push(&format!("lower({col}) LIKE ")).bind_text(pat).push(" ESCAPE '\\'");
            }
        }
    }
    e.into_result()
}

fn order_by(q: &AssetQuery) -> String {
    let dir = if q.desc { "DESC" } else { "ASC" };
    format!(" ORDER BY a.{} {dir}, a.id {dir}", q.sort.as_str())
}

/// A page of assets in scope matching the query, with the total count.
pub async fn list(
    c: &mut AnyConnection,
    backend: Backend,
    scope: &Scope,
    me: UserId,
    q: &AssetQuery,
) -> Result<Page<Asset>> {
    let q = q.clone().normalized();
    let mut filter = Sql::new("");
    if let Some(t) = &q.text {
        push_text(&mut filter, backend, t, None);
    }
    push_filters(&mut filter, &q)?;

    let mut count = Sql::new("SELECT COUNT(*) FROM assets a WHERE ");
    push_scope(&mut count, scope, me);
    count.append(&filter);
    let (total,): (i64,) = count.query_as().fetch_one(&mut *c).await?;

    let mut page = Sql::new(SELECT);
    page.push(" WHERE ");
    push_scope_for(&mut page, scope, me, true);
    page.append(&filter);
    page.push(&order_by(&q));
    page.push(" LIMIT ").bind_int(i64::from(q.per_page));
    page.push(" OFFSET ").bind_int(q.offset() as i64);
    let rows: Vec<Row> = page.query_as().fetch_all(c).await?;
    Ok(Page { items: rows.into_iter().map(Into::into).collect(), total, page: q.page, per_page: q.per_page })
}

/// Every asset in scope matching the query (for exports), capped at `max`.
pub async fn list_all(
    c: &mut AnyConnection,
    backend: Backend,
    scope: &Scope,
    me: UserId,
    q: &AssetQuery,
    max: i64,
) -> Result<Vec<Asset>> {
    let q = q.clone().normalized();
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE ");
    push_scope_for(&mut sql, scope, me, true);
    if let Some(t) = &q.text {
        push_text(&mut sql, backend, t, None);
    }
    push_filters(&mut sql, &q)?;
    sql.push(&order_by(&q));
    sql.push(" LIMIT ").bind_int(max);
    let rows: Vec<Row> = sql.query_as().fetch_all(c).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// How many text matches the global search ranks at most.
const SEARCH_CANDIDATES: i64 = 2000;

/// The global search box: assets in scope whose tag, serial, name, IP, MAC, IMEI or user match.
/// Exact tag/serial/IP/MAC hits come first.
pub async fn search(
    c: &mut AnyConnection,
    backend: Backend,
    scope: &Scope,
    me: UserId,
    text: &str,
    limit: i64,
) -> Result<Vec<Asset>> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Vec::new());
    }
    let lower = t.to_lowercase();
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE ");
    push_scope(&mut sql, scope, me);
    push_text(&mut sql, backend, t, Some(SEARCH_CANDIDATES));
    sql.push(" ORDER BY CASE WHEN lower(a.asset_tag) = ").bind_text(lower.clone());
    sql.push(" OR lower(a.serial) = ").bind_text(lower.clone());
    sql.push(" OR a.ip = ").bind_text(lower.clone());
    sql.push(" OR a.mac = ").bind_text(lower.clone());
    sql.push(" OR lower(a.name) = ").bind_text(lower);
    sql.push(" THEN 0 ELSE 1 END, a.name, a.id LIMIT ").bind_int(limit);
    let rows: Vec<Row> = sql.query_as().fetch_all(c).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Counts by kind and status in scope, for the dashboard.
pub async fn counts(c: &mut AnyConnection, scope: &Scope, me: UserId) -> Result<Vec<(AssetKind, AssetStatus, i64)>> {
    let mut sql = Sql::new("SELECT a.kind, a.status, COUNT(*) FROM assets a WHERE ");
    push_scope(&mut sql, scope, me);
    sql.push(" GROUP BY a.kind, a.status");
    let rows: Vec<(String, String, i64)> = sql.query_as().fetch_all(c).await?;
    Ok(rows.into_iter().filter_map(|(k, s, n)| Some((k.parse().ok()?, s.parse().ok()?, n))).collect())
}

// ---- links ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AssetLink {
    pub id: i64,
    pub kind: LinkKind,
    pub from_asset_id: AssetId,
    pub from_name: String,
    pub from_kind: AssetKind,
    pub from_entity_id: EntityId,
    pub to_asset_id: AssetId,
    pub to_name: String,
    pub to_kind: AssetKind,
    pub to_entity_id: EntityId,
    pub created_at: String,
}

/// Every link where the asset stands on either side.
pub async fn links_of(c: &mut AnyConnection, id: AssetId) -> Result<Vec<AssetLink>> {
    let rows: Vec<LinkRow> = sqlx::query_as(
        "SELECT k.id, k.kind, f.id AS from_id, f.name AS from_name, f.kind AS from_kind, f.entity_id AS from_entity, \
         t.id AS to_id, t.name AS to_name, t.kind AS to_kind, t.entity_id AS to_entity, k.created_at \
         FROM asset_links k JOIN assets f ON f.id = k.from_asset_id JOIN assets t ON t.id = k.to_asset_id \
         WHERE k.from_asset_id = $1 OR k.to_asset_id = $1 ORDER BY k.id",
    )
    .bind(id.0)
    .fetch_all(c)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(AssetLink {
                id: r.id,
                kind: r.kind.parse().ok()?,
                from_asset_id: AssetId(r.from_id),
                from_name: r.from_name,
                from_kind: r.from_kind.parse().ok()?,
                from_entity_id: EntityId(r.from_entity),
                to_asset_id: AssetId(r.to_id),
                to_name: r.to_name,
                to_kind: r.to_kind.parse().ok()?,
                to_entity_id: EntityId(r.to_entity),
                created_at: r.created_at,
            })
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    id: i64,
    kind: String,
    from_id: i64,
    from_name: String,
    from_kind: String,
    from_entity: i64,
    to_id: i64,
    to_name: String,
    to_kind: String,
    to_entity: i64,
    created_at: String,
}

/// Links `from` to `to` (the kind follows from `from`'s kind), replacing `from`'s previous link
/// of that kind: a SIM card moves from one phone to another in one step. The audit trail names
/// the other asset by id only, so that a history never reveals an asset out of its reader's scope.
pub async fn link(c: &mut AnyConnection, actor: &Actor, from: &Asset, to: &Asset) -> Result<AssetLink> {
    let Some(kind) = LinkKind::for_from_kind(from.kind) else {
        return Err(
            ValidationErrors::single("from_asset_id", "link_kinds", "this kind of asset cannot be linked").into()
        );
    };
    check_link(kind, (from.id, from.kind), (to.id, to.kind))?;
    let previous: Option<(i64, i64)> =
        sqlx::query_as("SELECT id, to_asset_id FROM asset_links WHERE from_asset_id = $1 AND kind = $2")
            .bind(from.id.0)
            .bind(kind.as_str())
            .fetch_optional(&mut *c)
            .await?;
    if let Some((lid, old_to)) = previous {
        if old_to == to.id.0 {
            return links_of(c, from.id).await?.into_iter().find(|l| l.id == lid).ok_or(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM asset_links WHERE id = $1").bind(lid).execute(&mut *c).await?;
        let ch = [FieldChange { field: kind.as_str().into(), old: Some(format!("#{old_to}")), new: None }];
        audit::record(c, actor, ObjectType::Asset, from.id.0, Some(from.entity_id), AuditAction::Unlink, &ch).await?;
        audit::record(c, actor, ObjectType::Asset, old_to, None, AuditAction::Unlink, &ch).await?;
    }
    let lid = insert_link(c, actor, kind, (from.id, from.entity_id), (to.id, to.entity_id)).await?;
    links_of(c, from.id).await?.into_iter().find(|l| l.id == lid).ok_or(StoreError::NotFound)
}

/// Inserts a link `from` has none of yet (kinds already checked) and audits both ends.
pub(crate) async fn insert_link(
    c: &mut AnyConnection,
    actor: &Actor,
    kind: LinkKind,
    from: (AssetId, EntityId),
    to: (AssetId, EntityId),
) -> Result<i64> {
    let (lid,): (i64,) = sqlx::query_as(
        "INSERT INTO asset_links (kind, from_asset_id, to_asset_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(from.0 .0)
    .bind(to.0 .0)
    .bind(now())
    .fetch_one(&mut *c)
    .await
    .map_err(|e| StoreError::from_write(e, "link"))?;
    let ch_from = [FieldChange { field: kind.as_str().into(), old: None, new: Some(format!("#{}", to.0)) }];
    let ch_to = [FieldChange { field: kind.as_str().into(), old: None, new: Some(format!("#{}", from.0)) }];
    audit::record(c, actor, ObjectType::Asset, from.0 .0, Some(from.1), AuditAction::Link, &ch_from).await?;
    audit::record(c, actor, ObjectType::Asset, to.0 .0, Some(to.1), AuditAction::Link, &ch_to).await?;
    Ok(lid)
}

pub async fn unlink(c: &mut AnyConnection, actor: &Actor, link: &AssetLink) -> Result<()> {
    sqlx::query("DELETE FROM asset_links WHERE id = $1").bind(link.id).execute(&mut *c).await?;
    let ch_from =
        [FieldChange { field: link.kind.as_str().into(), old: Some(format!("#{}", link.to_asset_id)), new: None }];
    let ch_to =
        [FieldChange { field: link.kind.as_str().into(), old: Some(format!("#{}", link.from_asset_id)), new: None }];
    audit::record(
        c,
        actor,
        ObjectType::Asset,
        link.from_asset_id.0,
        Some(link.from_entity_id),
        AuditAction::Unlink,
        &ch_from,
    )
    .await?;
    audit::record(
        c,
        actor,
        ObjectType::Asset,
        link.to_asset_id.0,
        Some(link.to_entity_id),
        AuditAction::Unlink,
        &ch_to,
    )
    .await?;
    Ok(())
}

/// The id of an asset with this tag in this entity, if any (imports check duplicates with it).
pub async fn id_by_tag(c: &mut AnyConnection, entity: EntityId, tag: &str) -> Result<Option<AssetId>> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM assets WHERE entity_id = $1 AND asset_tag = $2")
        .bind(entity.0)
        .bind(tag)
        .fetch_optional(c)
        .await?;
    Ok(row.map(|r| AssetId(r.0)))
}

/// The login of each of these users that exists (exports name assigned users by login, which
/// imports read back).
pub async fn user_logins(c: &mut AnyConnection, ids: &[UserId]) -> Result<Vec<(UserId, String)>> {
    let mut out = Vec::with_capacity(ids.len());
    // Bounded lists of placeholders, well below both backends' limits.
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new("SELECT id, login FROM users WHERE ");
        sql.in_ints("id", chunk.iter().map(|u| u.0));
        let rows: Vec<(i64, String)> = sql.query_as().fetch_all(&mut *c).await?;
        out.extend(rows.into_iter().map(|(id, login)| (UserId(id), login)));
    }
    Ok(out)
}
