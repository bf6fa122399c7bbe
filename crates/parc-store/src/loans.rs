//! Loans and reservations (migration `0012_loans.sql`): the pool of loanable assets
//! (`loan_items`), reservations per asset, check-out to a borrower with the signed sheet and
//! check-in with condition notes, the "who has what" list and the overdue reminders.
//!
//! Conflict prevention: [`reserve`] and [`checkout`] first lock the asset's pool row (an
//! `UPDATE` of itself: a row lock on PostgreSQL, and SQLite has one writer anyway), then read the
//! asset's reservations and open loan and apply parc-core's [`conflicts`] rule, and only then
//! insert, all in the caller's transaction: two overlapping requests for one asset are
//! serialized and the second sees the first. A partial unique index also keeps one open loan
//! per asset. A refusal is returned as a list of [`Refusal`]s, nothing written.

use crate::assets::{self, Asset};
use crate::documents::{self, Document};
use crate::sql::Sql;
use crate::users::User;
use crate::{audit, fmt_time, now, Actor, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use parc_core::assets::AssetStatus;
use parc_core::audit::{AuditAction, FieldChange, ObjectType};
use parc_core::loans::{conflicts, Booking, BookingKind, Interval, Request};
use parc_core::{AssetId, EntityId, UserId};
use serde::Serialize;
use sqlx::AnyConnection;

/// Most rows one list returns.
pub const LIST_MAX: i64 = 5000;
/// The kind of the signed check-out sheets in `documents`.
pub const SHEET_KIND: &str = "loan_sheet";

fn parse_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn change(field: &str, old: Option<String>, new: Option<String>) -> FieldChange {
    FieldChange { field: field.to_owned(), old, new }
}

// ---- the pool ----

/// Whether `asset` is in the pool of loanable assets.
pub async fn is_loanable(c: &mut AnyConnection, asset: AssetId) -> Result<bool> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT asset_id FROM loan_items WHERE asset_id = $1").bind(asset.0).fetch_optional(c).await?;
    Ok(row.is_some())
}

/// Puts `asset` in the pool or takes it out; whether anything changed. Taking out an asset
/// that is on loan or reserved for the future is refused (conflict). Audited on the asset.
pub async fn set_loanable(c: &mut AnyConnection, actor: &Actor, asset: &Asset, on: bool) -> Result<bool> {
    let was = is_loanable(c, asset.id).await?;
    if was == on {
        return Ok(false);
    }
    if on {
        sqlx::query("INSERT INTO loan_items (asset_id, created_at) VALUES ($1, $2)")
            .bind(asset.id.0)
            .bind(now())
            .execute(&mut *c)
            .await
            .map_err(|e| StoreError::from_write(e, "loanable asset"))?;
    } else {
        if open_loan_of(c, asset.id).await?.is_some() {
            return Err(StoreError::Conflict("the asset is on loan: check it in first".into()));
        }
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM loan_reservations WHERE asset_id = $1 AND ends_at > $2")
                .bind(asset.id.0)
                .bind(now())
                .fetch_one(&mut *c)
                .await?;
        if n > 0 {
            return Err(StoreError::Conflict("the asset has reservations to come: cancel them first".into()));
        }
        sqlx::query("DELETE FROM loan_items WHERE asset_id = $1").bind(asset.id.0).execute(&mut *c).await?;
    }
    let ch = change("loanable", Some(was.to_string()), Some(on.to_string()));
    audit::record(c, actor, ObjectType::Asset, asset.id.0, Some(asset.entity_id), AuditAction::Update, &[ch]).await?;
    Ok(true)
}

/// Locks the pool row of `asset` until the end of the transaction; whether it is loanable.
async fn lock(c: &mut AnyConnection, asset: AssetId) -> Result<bool> {
    let done = sqlx::query("UPDATE loan_items SET created_at = created_at WHERE asset_id = $1")
        .bind(asset.0)
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// One loanable asset with its open loan, for the pool list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Item {
    pub asset_id: AssetId,
    pub entity_id: EntityId,
    pub kind: String,
    pub name: String,
    pub asset_tag: Option<String>,
    pub serial: Option<String>,
    pub status: AssetStatus,
    /// The open loan, if the asset is out.
    pub loan_id: Option<i64>,
    pub borrower_name: Option<String>,
    /// UTC RFC 3339.
    pub due_at: Option<String>,
}

type ItemRow =
    (i64, i64, String, String, Option<String>, Option<String>, String, Option<i64>, Option<String>, Option<String>);

/// The loanable assets of `entities`, by name.
pub async fn items(c: &mut AnyConnection, entities: &[i64]) -> Result<Vec<Item>> {
    let mut q = Sql::new(
        "SELECT a.id, a.entity_id, a.kind, a.name, a.asset_tag, a.serial, a.status, l.id, u.display_name, l.due_at \
         FROM loan_items i JOIN assets a ON a.id = i.asset_id \
         LEFT JOIN loans l ON l.asset_id = a.id AND l.checked_in_at IS NULL \
         LEFT JOIN users u ON u.id = l.borrower_user_id WHERE ",
    );
    q.in_ints("a.entity_id", entities.iter().copied());
    q.push(" ORDER BY a.name, a.id LIMIT ").bind_int(LIST_MAX);
    let rows: Vec<ItemRow> = q.query_as().fetch_all(c).await?;
    Ok(rows
        .into_iter()
        .map(|r| Item {
            asset_id: AssetId(r.0),
            entity_id: EntityId(r.1),
            kind: r.2,
            name: r.3,
            asset_tag: r.4,
            serial: r.5,
            status: r.6.parse().unwrap_or(AssetStatus::InStock),
            loan_id: r.7,
            borrower_name: r.8,
            due_at: r.9,
        })
        .collect())
}

/// The assets of `entities` whose tag or serial number is `code` (exact, as scanned).
pub async fn find_by_code(c: &mut AnyConnection, entities: &[i64], code: &str) -> Result<Vec<AssetId>> {
    let mut q = Sql::new("SELECT id FROM assets WHERE asset_tag = ");
    q.bind_text(code).push(" AND ");
    q.in_ints("entity_id", entities.iter().copied());
    q.push(" UNION SELECT id FROM assets WHERE serial = ").bind_text(code).push(" AND ");
    q.in_ints("entity_id", entities.iter().copied());
    q.push(" ORDER BY 1 LIMIT 10");
    let rows: Vec<(i64,)> = q.query_as().fetch_all(c).await?;
    Ok(rows.into_iter().map(|r| AssetId(r.0)).collect())
}

// ---- reservations ----

/// A reservation of an asset for a borrower over `[starts_at, ends_at)`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reservation {
    pub id: i64,
    pub asset_id: AssetId,
    pub asset_name: String,
    pub asset_tag: Option<String>,
    pub entity_id: EntityId,
    pub borrower_user_id: UserId,
    pub borrower_name: String,
    /// UTC RFC 3339.
    pub starts_at: String,
    pub ends_at: String,
    pub note: Option<String>,
    pub created_by_user_id: Option<UserId>,
    pub created_at: String,
}

type ReservationRow =
    (i64, i64, String, Option<String>, i64, i64, String, String, String, Option<String>, Option<i64>, String);

const RESERVATION_SELECT: &str = "SELECT r.id, r.asset_id, a.name, a.asset_tag, a.entity_id, r.borrower_user_id, \
     u.display_name, r.starts_at, r.ends_at, r.note, r.created_by_user_id, r.created_at \
     FROM loan_reservations r JOIN assets a ON a.id = r.asset_id JOIN users u ON u.id = r.borrower_user_id";

fn reservation_of(r: ReservationRow) -> Reservation {
    Reservation {
        id: r.0,
        asset_id: AssetId(r.1),
        asset_name: r.2,
        asset_tag: r.3,
        entity_id: EntityId(r.4),
        borrower_user_id: UserId(r.5),
        borrower_name: r.6,
        starts_at: r.7,
        ends_at: r.8,
        note: r.9,
        created_by_user_id: r.10.map(UserId),
        created_at: r.11,
    }
}

pub async fn reservation(c: &mut AnyConnection, id: i64) -> Result<Option<Reservation>> {
    let row: Option<ReservationRow> =
        sqlx::query_as(&format!("{RESERVATION_SELECT} WHERE r.id = $1")).bind(id).fetch_optional(c).await?;
    Ok(row.map(reservation_of))
}

/// The reservations of `asset` that meet `[from, to)`, by start.
pub async fn reservations_of(
    c: &mut AnyConnection,
    asset: AssetId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Reservation>> {
    let rows: Vec<ReservationRow> = sqlx::query_as(&format!(
        "{RESERVATION_SELECT} WHERE r.asset_id = $1 AND r.ends_at > $2 AND r.starts_at < $3 ORDER BY r.starts_at, r.id LIMIT $4"
    ))
    .bind(asset.0)
    .bind(fmt_time(from))
    .bind(fmt_time(to))
    .bind(LIST_MAX)
    .fetch_all(c)
    .await?;
    Ok(rows.into_iter().map(reservation_of).collect())
}

/// The reservations of assets of `entities` not over at `now`, by start.
pub async fn upcoming_reservations(
    c: &mut AnyConnection,
    entities: &[i64],
    now: DateTime<Utc>,
) -> Result<Vec<Reservation>> {
    let mut q = Sql::new(RESERVATION_SELECT);
    q.push(" WHERE r.ends_at > ").bind_text(fmt_time(now)).push(" AND ");
    q.in_ints("a.entity_id", entities.iter().copied());
    q.push(" ORDER BY r.starts_at, r.id LIMIT ").bind_int(LIST_MAX);
    let rows: Vec<ReservationRow> = q.query_as().fetch_all(c).await?;
    Ok(rows.into_iter().map(reservation_of).collect())
}

/// Why a reservation or a check-out was refused (nothing was written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    /// The asset is not in the pool of loanable assets.
    NotLoanable { asset_id: AssetId, asset_name: String },
    /// The asset cannot go out in its status (in repair, retired, in use).
    Unavailable { asset_id: AssetId, asset_name: String, status: AssetStatus },
    /// Another reservation or an open loan holds the asset over part of the period.
    Booked {
        asset_id: AssetId,
        asset_name: String,
        kind: BookingKind,
        booking_id: i64,
        borrower_name: String,
        /// UTC RFC 3339.
        starts_at: String,
        ends_at: String,
    },
}

/// The reservations not over and the open loan of `asset` (the pool row should be locked).
async fn bookings(c: &mut AnyConnection, asset: AssetId, now: DateTime<Utc>) -> Result<Vec<(Booking, String)>> {
    let rows: Vec<(String, i64, i64, String, String, String)> = sqlx::query_as(
        "SELECT 'reservation', r.id, r.borrower_user_id, r.starts_at, r.ends_at, u.display_name \
         FROM loan_reservations r JOIN users u ON u.id = r.borrower_user_id WHERE r.asset_id = $1 AND r.ends_at > $2 \
         UNION ALL SELECT 'loan', l.id, l.borrower_user_id, l.checked_out_at, l.due_at, u.display_name \
         FROM loans l JOIN users u ON u.id = l.borrower_user_id WHERE l.asset_id = $3 AND l.checked_in_at IS NULL",
    )
    .bind(asset.0)
    .bind(fmt_time(now))
    .bind(asset.0)
    .fetch_all(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let kind = if r.0 == "loan" { BookingKind::Loan } else { BookingKind::Reservation };
            let b = Booking { kind, id: r.1, borrower: UserId(r.2), start: parse_time(&r.3), end: parse_time(&r.4) };
            (b, r.5)
        })
        .collect())
}

/// Locks `asset` and applies the overlap rule to `request`: the refusals (empty: go ahead).
async fn check(c: &mut AnyConnection, asset: &Asset, request: &Request, now: DateTime<Utc>) -> Result<Vec<Refusal>> {
    if !lock(c, asset.id).await? {
        return Ok(vec![Refusal::NotLoanable { asset_id: asset.id, asset_name: asset.name.clone() }]);
    }
    let existing = bookings(c, asset.id, now).await?;
    let plain: Vec<Booking> = existing.iter().map(|(b, _)| *b).collect();
    Ok(conflicts(request, &plain, now)
        .into_iter()
        .map(|b| {
            let name = existing.iter().find(|(x, _)| x == b).map(|(_, n)| n.clone()).unwrap_or_default();
            Refusal::Booked {
                asset_id: asset.id,
                asset_name: asset.name.clone(),
                kind: b.kind,
                booking_id: b.id,
                borrower_name: name,
                starts_at: fmt_time(b.start),
                ends_at: fmt_time(b.held(now).end),
            }
        })
        .collect())
}

/// Reserves `asset` for `borrower` over `period` unless it would overlap another reservation
/// or an open loan: then the refusals, nothing written. Audited on the asset (`reserve`).
pub async fn reserve(
    c: &mut AnyConnection,
    actor: &Actor,
    asset: &Asset,
    borrower: &User,
    period: Interval,
    note: Option<&str>,
) -> Result<Result<Reservation, Vec<Refusal>>> {
    let at = chrono::Utc::now();
    let request = Request { kind: BookingKind::Reservation, borrower: borrower.id, period };
    let refused = check(c, asset, &request, at).await?;
    if !refused.is_empty() {
        return Ok(Err(refused));
    }
    let (start, end) = (fmt_time(period.start), fmt_time(period.end));
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO loan_reservations (asset_id, borrower_user_id, starts_at, ends_at, note, created_by_user_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(asset.id.0)
    .bind(borrower.id.0)
    .bind(&start)
    .bind(&end)
    .bind(note)
    .bind(actor.user_id.map(|u| u.0))
    .bind(fmt_time(at))
    .fetch_one(&mut *c)
    .await
    .map_err(|e| StoreError::from_write(e, "reservation"))?;
    let changes = [
        change("reservation", None, Some(id.to_string())),
        change("borrower", None, Some(borrower.display_name.clone())),
        change("starts_at", None, Some(start)),
        change("ends_at", None, Some(end)),
    ];
    audit::record(c, actor, ObjectType::Asset, asset.id.0, Some(asset.entity_id), AuditAction::Reserve, &changes)
        .await?;
    Ok(Ok(reservation(c, id).await?.ok_or(StoreError::NotFound)?))
}

/// Cancels a reservation. Audited on its asset.
pub async fn cancel_reservation(c: &mut AnyConnection, actor: &Actor, r: &Reservation) -> Result<()> {
    let done = sqlx::query("DELETE FROM loan_reservations WHERE id = $1").bind(r.id).execute(&mut *c).await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    let changes = [
        change("reservation", Some(r.id.to_string()), None),
        change("borrower", Some(r.borrower_name.clone()), None),
        change("starts_at", Some(r.starts_at.clone()), None),
        change("ends_at", Some(r.ends_at.clone()), None),
    ];
    audit::record(c, actor, ObjectType::Asset, r.asset_id.0, Some(r.entity_id), AuditAction::Reserve, &changes).await?;
    Ok(())
}

// ---- loans ----

/// A loan: open while `checked_in_at` is empty.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Loan {
    pub id: i64,
    pub asset_id: AssetId,
    pub asset_name: String,
    pub asset_tag: Option<String>,
    pub asset_serial: Option<String>,
    pub entity_id: EntityId,
    pub borrower_user_id: UserId,
    pub borrower_name: String,
    #[serde(skip)]
    pub borrower_email: Option<String>,
    #[serde(skip)]
    pub borrower_language: Option<String>,
    /// UTC RFC 3339.
    pub checked_out_at: String,
    pub due_at: String,
    /// The signed check-out sheet (shared by the loans of one check-out).
    pub document_id: Option<i64>,
    pub note: Option<String>,
    pub checked_in_at: Option<String>,
    pub condition_notes: Option<String>,
    /// Open and past its due time.
    pub overdue: bool,
}

#[derive(sqlx::FromRow)]
struct LoanRow {
    id: i64,
    asset_id: i64,
    asset_name: String,
    asset_tag: Option<String>,
    asset_serial: Option<String>,
    entity_id: i64,
    borrower_user_id: i64,
    borrower_name: String,
    borrower_email: Option<String>,
    borrower_language: Option<String>,
    checked_out_at: String,
    due_at: String,
    document_id: Option<i64>,
    note: Option<String>,
    checked_in_at: Option<String>,
    condition_notes: Option<String>,
}

const LOAN_SELECT: &str = "SELECT l.id, l.asset_id, a.name AS asset_name, a.asset_tag, a.serial AS asset_serial, \
     a.entity_id, l.borrower_user_id, u.display_name AS borrower_name, u.email AS borrower_email, \
     u.language AS borrower_language, l.checked_out_at, l.due_at, l.document_id, l.note, l.checked_in_at, l.condition_notes \
     FROM loans l JOIN assets a ON a.id = l.asset_id JOIN users u ON u.id = l.borrower_user_id";

fn loan_of(r: LoanRow, now: &str) -> Loan {
    Loan {
        overdue: r.checked_in_at.is_none() && r.due_at.as_str() <= now,
        id: r.id,
        asset_id: AssetId(r.asset_id),
        asset_name: r.asset_name,
        asset_tag: r.asset_tag,
        asset_serial: r.asset_serial,
        entity_id: EntityId(r.entity_id),
        borrower_user_id: UserId(r.borrower_user_id),
        borrower_name: r.borrower_name,
        borrower_email: r.borrower_email,
        borrower_language: r.borrower_language,
        checked_out_at: r.checked_out_at,
        due_at: r.due_at,
        document_id: r.document_id,
        note: r.note,
        checked_in_at: r.checked_in_at,
        condition_notes: r.condition_notes,
    }
}

pub async fn loan(c: &mut AnyConnection, id: i64) -> Result<Option<Loan>> {
    let row: Option<LoanRow> =
        sqlx::query_as(&format!("{LOAN_SELECT} WHERE l.id = $1")).bind(id).fetch_optional(c).await?;
    Ok(row.map(|r| loan_of(r, &now())))
}

/// The asset of the loans signed on sheet `document` (a loan sheet), if any.
pub async fn asset_of_sheet(c: &mut AnyConnection, document: i64) -> Result<Option<AssetId>> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT asset_id FROM loans WHERE document_id = $1 ORDER BY id LIMIT 1")
        .bind(document)
        .fetch_optional(c)
        .await?;
    Ok(row.map(|r| AssetId(r.0)))
}

/// The open loan of `asset`, if it is out.
pub async fn open_loan_of(c: &mut AnyConnection, asset: AssetId) -> Result<Option<Loan>> {
    let row: Option<LoanRow> =
        sqlx::query_as(&format!("{LOAN_SELECT} WHERE l.asset_id = $1 AND l.checked_in_at IS NULL"))
            .bind(asset.0)
            .fetch_optional(c)
            .await?;
    Ok(row.map(|r| loan_of(r, &now())))
}

/// The loans of `asset`, latest first (its loan history).
pub async fn loans_of(c: &mut AnyConnection, asset: AssetId, limit: i64) -> Result<Vec<Loan>> {
    let rows: Vec<LoanRow> = sqlx::query_as(&format!(
        "{LOAN_SELECT} WHERE l.asset_id = $1 ORDER BY l.checked_out_at DESC, l.id DESC LIMIT $2"
    ))
    .bind(asset.0)
    .bind(limit)
    .fetch_all(c)
    .await?;
    let now = now();
    Ok(rows.into_iter().map(|r| loan_of(r, &now)).collect())
}

/// "Who has what": the open loans of assets of `entities` (only the overdue ones when
/// `overdue_only`), by due time.
pub async fn open_loans(
    c: &mut AnyConnection,
    entities: &[i64],
    overdue_only: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Loan>> {
    let now = fmt_time(now);
    let mut q = Sql::new(LOAN_SELECT);
    q.push(" WHERE l.checked_in_at IS NULL AND ");
    q.in_ints("a.entity_id", entities.iter().copied());
    if overdue_only {
        q.push(" AND l.due_at <= ").bind_text(now.clone());
    }
    q.push(" ORDER BY l.due_at, l.id LIMIT ").bind_int(LIST_MAX);
    let rows: Vec<LoanRow> = q.query_as().fetch_all(c).await?;
    Ok(rows.into_iter().map(|r| loan_of(r, &now)).collect())
}

/// What a check-out records, besides the assets.
pub struct CheckoutInput<'a> {
    pub borrower: &'a User,
    pub due: DateTime<Utc>,
    pub note: Option<&'a str>,
    /// The signed sheet (PDF) and its file name.
    pub sheet: &'a [u8],
    pub filename: &'a str,
}

/// Checks out `assets` to the borrower until `due`, as of `now`, under one signed sheet: each
/// asset must be loanable, in stock, and free of open loans and of other people's
/// reservations until `due`. All or nothing: the refusals, nothing written; else the sheet
/// is stored (immutable), each asset goes to `loaned` with the borrower as its user, and each
/// gets an audit entry (`checkout`) with the sheet's SHA-256.
pub async fn checkout(
    c: &mut AnyConnection,
    actor: &Actor,
    cipher: &crate::Cipher,
    assets_out: &[Asset],
    input: &CheckoutInput<'_>,
    now: DateTime<Utc>,
) -> Result<Result<(Vec<Loan>, Document), Vec<Refusal>>> {
    let period = Interval::new(now, input.due).ok_or_else(|| {
        StoreError::Validation(parc_core::ValidationErrors::single("due_at", "in_the_past", "the due time is past"))
    })?;
    let request = Request { kind: BookingKind::Loan, borrower: input.borrower.id, period };
    let mut refused = Vec::new();
    for a in assets_out {
        let r = check(c, a, &request, now).await?;
        if r.is_empty() && a.status != AssetStatus::InStock {
            refused.push(Refusal::Unavailable { asset_id: a.id, asset_name: a.name.clone(), status: a.status });
        }
        refused.extend(r);
    }
    if !refused.is_empty() {
        return Ok(Err(refused));
    }
    let doc = documents::insert(c, actor, SHEET_KIND, input.filename, "application/pdf", input.sheet).await?;
    let (out_at, due_at) = (fmt_time(now), fmt_time(input.due));
    let mut ids = Vec::new();
    for a in assets_out {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO loans (asset_id, borrower_user_id, checked_out_at, due_at, checked_out_by_user_id, document_id, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(a.id.0)
        .bind(input.borrower.id.0)
        .bind(&out_at)
        .bind(&due_at)
        .bind(actor.user_id.map(|u| u.0))
        .bind(doc.id)
        .bind(input.note)
        .fetch_one(&mut *c)
        .await
        .map_err(|e| StoreError::from_write(e, "open loan of this asset"))?;
        let mut draft = a.to_draft();
        draft.status = AssetStatus::Loaned;
        draft.assigned_user_id = Some(input.borrower.id);
        let mut changes = assets::update_row(c, cipher, a, &draft).await?;
        changes.push(change("loan", None, Some(id.to_string())));
        changes.push(change("borrower", None, Some(input.borrower.display_name.clone())));
        changes.push(change("due_at", None, Some(due_at.clone())));
        changes.push(change("sha256", None, Some(doc.sha256.clone())));
        audit::record(c, actor, ObjectType::Asset, a.id.0, Some(a.entity_id), AuditAction::Checkout, &changes).await?;
        ids.push(id);
    }
    let mut loans = Vec::new();
    for id in ids {
        loans.push(loan(c, id).await?.ok_or(StoreError::NotFound)?);
    }
    Ok(Ok((loans, doc)))
}

/// Checks `l` back in with `condition` notes: the loan is closed, the asset back `in_stock`
/// without a user (if it is still the borrower's). An already returned loan is a conflict.
pub async fn checkin(
    c: &mut AnyConnection,
    actor: &Actor,
    cipher: &crate::Cipher,
    l: &Loan,
    condition: Option<&str>,
) -> Result<Loan> {
    let at = now();
    let done = sqlx::query(
        "UPDATE loans SET checked_in_at = $1, checked_in_by_user_id = $2, condition_notes = $3 \
         WHERE id = $4 AND checked_in_at IS NULL",
    )
    .bind(&at)
    .bind(actor.user_id.map(|u| u.0))
    .bind(condition)
    .bind(l.id)
    .execute(&mut *c)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!("{} was already checked in", l.asset_name)));
    }
    let a = assets::get(c, l.asset_id).await?.ok_or(StoreError::NotFound)?;
    let mut changes = Vec::new();
    if a.status == AssetStatus::Loaned {
        let mut draft = a.to_draft();
        draft.status = AssetStatus::InStock;
        if a.assigned_user_id == Some(l.borrower_user_id) {
            draft.assigned_user_id = None;
        }
        changes = assets::update_row(c, cipher, &a, &draft).await?;
    }
    changes.push(change("loan", Some(l.id.to_string()), None));
    changes.push(change("borrower", Some(l.borrower_name.clone()), None));
    if let Some(cn) = condition {
        changes.push(change("condition_notes", None, Some(cn.to_owned())));
    }
    audit::record(c, actor, ObjectType::Asset, a.id.0, Some(a.entity_id), AuditAction::Checkin, &changes).await?;
    loan(c, l.id).await?.ok_or(StoreError::NotFound)
}

// ---- overdue reminders ----

/// A pass of the overdue watcher.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReminderPass {
    /// Loans reminded about.
    pub loans: usize,
    /// E-mails queued (one per borrower).
    pub emails: usize,
}

/// Reminds borrowers of their overdue loans, at most once per loan per `today` (a Paris date,
/// `YYYY-MM-DD`): each loan is claimed by a conditional UPDATE of `reminded_on` (so one node
/// wins when several run the watcher), and one e-mail per borrower listing all their claimed
/// loans, written by `compose` (`None`: no e-mail, e.g. no address), is queued in the same
/// transaction.
pub async fn remind_overdue(
    store: &Store,
    now: DateTime<Utc>,
    today: &str,
    compose: impl Fn(&[Loan]) -> Option<parc_mail::Email>,
) -> Result<ReminderPass> {
    let mut tx = store.write().await?;
    let now_s = fmt_time(now);
    let rows: Vec<LoanRow> = sqlx::query_as(&format!(
        "{LOAN_SELECT} WHERE l.checked_in_at IS NULL AND l.due_at <= $1 AND (l.reminded_on IS NULL OR l.reminded_on < $2) \
         ORDER BY l.borrower_user_id, l.due_at, l.id LIMIT $3"
    ))
    .bind(&now_s)
    .bind(today)
    .bind(LIST_MAX)
    .fetch_all(&mut *tx)
    .await?;
    let mut claimed: Vec<Loan> = Vec::new();
    for r in rows {
        let done = sqlx::query(
            "UPDATE loans SET reminded_on = $1 WHERE id = $2 AND checked_in_at IS NULL AND (reminded_on IS NULL OR reminded_on < $3)",
        )
        .bind(today)
        .bind(r.id)
        .bind(today)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            claimed.push(loan_of(r, &now_s));
        }
    }
    let mut pass = ReminderPass { loans: claimed.len(), emails: 0 };
    for group in claimed.chunk_by(|a, b| a.borrower_user_id == b.borrower_user_id) {
        if let Some(email) = compose(group) {
            crate::jobs::enqueue_mail(&mut tx, &email).await?;
            pass.emails += 1;
        }
    }
    tx.commit().await?;
    Ok(pass)
}

/// How many open loans of `entities` are overdue at `now` (for the dashboard).
pub async fn overdue_count(c: &mut AnyConnection, entities: &[i64], now: DateTime<Utc>) -> Result<i64> {
    let mut q = Sql::new(
        "SELECT COUNT(*) FROM loans l JOIN assets a ON a.id = l.asset_id WHERE l.checked_in_at IS NULL AND l.due_at <= ",
    );
    q.bind_text(fmt_time(now)).push(" AND ");
    q.in_ints("a.entity_id", entities.iter().copied());
    let (n,): (i64,) = q.query_as().fetch_one(c).await?;
    Ok(n)
}
