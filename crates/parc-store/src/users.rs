//! Users, their profiles on entities, sessions, API tokens and the sign-in throttle.

use crate::secrets::{random_token, token_hash};
use crate::{audit, fmt_time, now, sql::Sql, Actor, Result, StoreError};
use parc_core::audit::{creation, diff, AuditAction, FieldChange, ObjectType};
use parc_core::permissions::{Grant, Grants, Profile};
use parc_core::validate::{check_text, clean, normalize_phone, ValidationErrors};
use parc_core::{EntityId, TokenId, UserId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub login: String,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The entity the user belongs to (who manages the account).
    pub entity_id: EntityId,
    /// "fr", "en", or none (browser's choice).
    pub language: Option<String>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    login: String,
    display_name: String,
    email: Option<String>,
    phone: Option<String>,
    entity_id: i64,
    language: Option<String>,
    active: i64,
    created_at: String,
    updated_at: String,
}

impl From<Row> for User {
    fn from(r: Row) -> Self {
        User {
            id: UserId(r.id),
            login: r.login,
            display_name: r.display_name,
            email: r.email,
            phone: r.phone,
            entity_id: EntityId(r.entity_id),
            language: r.language,
            active: r.active != 0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const COLS: &str = "id, login, display_name, email, phone, entity_id, language, active, created_at, updated_at";

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub login: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub entity_id: Option<i64>,
    pub language: Option<String>,
    pub active: Option<bool>,
}

fn fields(u: &User) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("login", Some(u.login.clone())),
        ("display_name", Some(u.display_name.clone())),
        ("email", u.email.clone()),
        ("phone", u.phone.clone()),
        ("entity_id", Some(u.entity_id.to_string())),
        ("language", u.language.clone()),
        ("active", Some(u.active.to_string())),
    ]
}

pub async fn get(c: &mut AnyConnection, id: UserId) -> Result<Option<User>> {
    let row: Option<Row> =
        sqlx::query_as(&format!("SELECT {COLS} FROM users WHERE id = $1")).bind(id.0).fetch_optional(c).await?;
    Ok(row.map(Into::into))
}

/// The user and their password hash, by login (case-insensitive).
pub async fn by_login(c: &mut AnyConnection, login: &str) -> Result<Option<(User, Option<String>)>> {
    let row: Option<(i64, Option<String>)> =
        sqlx::query_as("SELECT id, password_hash FROM users WHERE lower(login) = lower($1)")
            .bind(login)
            .fetch_optional(&mut *c)
            .await?;
    let Some((id, hash)) = row else { return Ok(None) };
    Ok(get(c, UserId(id)).await?.map(|u| (u, hash)))
}

/// Users of some entities, optionally filtered by text, sorted by name.
pub async fn list(c: &mut AnyConnection, entities: &[i64], text: Option<&str>, limit: i64) -> Result<Vec<User>> {
    let mut sql = Sql::new(&format!("SELECT {COLS} FROM users WHERE "));
    sql.in_ints("entity_id", entities.iter().copied());
    if let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) {
        let pat = format!("%{}%", crate::assets::escape_like(&t.to_lowercase()));
        sql.push(" AND (lower(display_name) LIKE ").bind_text(pat.clone());
        sql.push(" ESCAPE '\\' OR lower(login) LIKE ").bind_text(pat.clone());
        sql.push(" ESCAPE '\\' OR phone LIKE ").bind_text(pat);
        sql.push(" ESCAPE '\\')");
    }
    sql.push(" ORDER BY lower(display_name), id LIMIT ").bind_int(limit);
    let rows: Vec<Row> = sql.query_as().fetch_all(c).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn count(c: &mut AnyConnection) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(c).await?;
    Ok(n)
}

struct Valid {
    login: String,
    display_name: String,
    email: Option<String>,
    phone: Option<String>,
    entity_id: EntityId,
    language: Option<String>,
    active: bool,
}

fn validate(i: &UserInput, old: Option<&User>) -> std::result::Result<Valid, ValidationErrors> {
    let mut e = ValidationErrors::new();
    check_text(&mut e, "login", i.login.as_deref(), 100, false);
    check_text(&mut e, "display_name", i.display_name.as_deref(), 200, false);
    check_text(&mut e, "email", i.email.as_deref(), 254, false);
    let login = match &i.login {
        Some(l) => clean(Some(l)),
        None => old.map(|o| o.login.clone()),
    };
    match &login {
        None => e.add("login", "required", "is required"),
        Some(l) if !l.chars().all(|c| c.is_alphanumeric() || "._-@".contains(c)) => {
            e.add("login", "login_format", "letters, digits and . _ - @ only")
        }
        _ => {}
    }
    let display_name = match &i.display_name {
        Some(n) => clean(Some(n)),
        None => old.map(|o| o.display_name.clone()),
    }
    .or_else(|| login.clone());
    let email = match &i.email {
        Some(v) => clean(Some(v)),
        None => old.and_then(|o| o.email.clone()),
    };
    if let Some(m) = &email {
        let ok = m
            .split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !m.contains(char::is_whitespace));
        if !ok {
            e.add("email", "email_format", "must be an e-mail address");
        }
    }
    let phone = match &i.phone {
        Some(v) => match clean(Some(v)) {
            Some(p) => match normalize_phone(&p) {
                Ok(p) => Some(p),
                Err(code) => {
                    e.add("phone", code, "must be a phone number");
                    None
                }
            },
            None => None,
        },
        None => old.and_then(|o| o.phone.clone()),
    };
    let entity_id = i.entity_id.map(EntityId).or(old.map(|o| o.entity_id));
    if entity_id.is_none() {
        e.add("entity_id", "required", "is required");
    }
    let language = match &i.language {
        Some(l) => match clean(Some(l)).as_deref() {
            None => None,
            Some(l @ ("fr" | "en")) => Some(l.to_owned()),
            Some(_) => {
                e.add("language", "unknown_value", "must be fr or en");
                None
            }
        },
        None => old.and_then(|o| o.language.clone()),
    };
    e.into_result()?;
    Ok(Valid {
        login: login.unwrap_or_default(),
        display_name: display_name.unwrap_or_default(),
        email,
        phone,
        entity_id: entity_id.unwrap_or(EntityId(0)),
        language,
        active: i.active.or(old.map(|o| o.active)).unwrap_or(true),
    })
}

fn login_taken(e: sqlx::Error) -> StoreError {
    match StoreError::from_write(e, "user") {
        StoreError::Conflict(m) if m.contains("already exists") => {
            StoreError::Validation(ValidationErrors::single("login", "login_taken", "this login is already used"))
        }
        other => other,
    }
}

pub async fn create(c: &mut AnyConnection, actor: &Actor, i: &UserInput, password_hash: Option<&str>) -> Result<User> {
    let v = validate(i, None)?;
    let t = now();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO users (login, display_name, email, phone, entity_id, password_hash, language, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(&v.login)
    .bind(&v.display_name)
    .bind(&v.email)
    .bind(&v.phone)
    .bind(v.entity_id.0)
    .bind(password_hash)
    .bind(&v.language)
    .bind(i64::from(v.active))
    .bind(&t)
    .fetch_one(&mut *c)
    .await
    .map_err(login_taken)?;
    let u = get(c, UserId(id)).await?.ok_or(StoreError::NotFound)?;
    audit::record(c, actor, ObjectType::User, id, Some(u.entity_id), AuditAction::Create, &creation(&fields(&u)))
        .await?;
    Ok(u)
}

pub async fn update(c: &mut AnyConnection, actor: &Actor, id: UserId, i: &UserInput) -> Result<User> {
    let old = get(c, id).await?.ok_or(StoreError::NotFound)?;
    let v = validate(i, Some(&old))?;
    sqlx::query(
        "UPDATE users SET login = $1, display_name = $2, email = $3, phone = $4, entity_id = $5, language = $6, active = $7, updated_at = $8 WHERE id = $9",
    )
    .bind(&v.login)
    .bind(&v.display_name)
    .bind(&v.email)
    .bind(&v.phone)
    .bind(v.entity_id.0)
    .bind(&v.language)
    .bind(i64::from(v.active))
    .bind(now())
    .bind(id.0)
    .execute(&mut *c)
    .await
    .map_err(login_taken)?;
    let new = get(c, id).await?.ok_or(StoreError::NotFound)?;
    if !new.active {
        end_sessions(c, id).await?;
    }
    let changes = diff(&fields(&old), &fields(&new));
    if !changes.is_empty() {
        audit::record(c, actor, ObjectType::User, id.0, Some(new.entity_id), AuditAction::Update, &changes).await?;
        if old.display_name != new.display_name || old.login != new.login {
            crate::assets::refresh_search_for_user(c, id).await?;
        }
    }
    Ok(new)
}

/// Sets a new password hash and ends the user's other sessions.
pub async fn set_password(
    c: &mut AnyConnection,
    actor: &Actor,
    id: UserId,
    hash: &str,
    keep_session: Option<&str>,
) -> Result<()> {
    let u = get(c, id).await?.ok_or(StoreError::NotFound)?;
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now())
        .bind(id.0)
        .execute(&mut *c)
        .await?;
    let keep = keep_session.map(token_hash).unwrap_or_default();
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(id.0)
        .bind(keep)
        .execute(&mut *c)
        .await?;
    audit::record(c, actor, ObjectType::User, id.0, Some(u.entity_id), AuditAction::PasswordChange, &[]).await?;
    Ok(())
}

// ---- profiles on entities ----

pub async fn grants(c: &mut AnyConnection, id: UserId) -> Result<Grants> {
    let rows: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT entity_id, profile, recursive FROM user_grants WHERE user_id = $1 ORDER BY id")
            .bind(id.0)
            .fetch_all(c)
            .await?;
    Ok(Grants(
        rows.into_iter()
            .filter_map(|(e, p, r)| {
                Some(Grant { entity_id: EntityId(e), profile: p.parse::<Profile>().ok()?, recursive: r != 0 })
            })
            .collect(),
    ))
}

/// Active users whose home entity is in `homes` and who hold a profile on one of `entities`,
/// each with those grants (one query: who may work where, without a query per user). At most
/// `limit` grant rows are read, by user name.
pub async fn with_grants_on(
    c: &mut AnyConnection,
    entities: &[i64],
    homes: &[i64],
    limit: i64,
) -> Result<Vec<(UserId, String, Grants)>> {
    if entities.is_empty() || homes.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(
        "SELECT u.id, u.display_name, g.entity_id, g.profile, g.recursive FROM user_grants g \
         JOIN users u ON u.id = g.user_id WHERE u.active = 1 AND ",
    );
    sql.in_ints("g.entity_id", entities.iter().copied()).push(" AND ");
    sql.in_ints("u.entity_id", homes.iter().copied());
    sql.push(" ORDER BY lower(u.display_name), u.id, g.id LIMIT ").bind_int(limit);
    let rows: Vec<(i64, String, i64, String, i64)> = sql.query_as().fetch_all(c).await?;
    let mut out: Vec<(UserId, String, Grants)> = Vec::new();
    for (id, name, entity, profile, recursive) in rows {
        let Ok(profile) = profile.parse::<Profile>() else { continue };
        let grant = Grant { entity_id: EntityId(entity), profile, recursive: recursive != 0 };
        match out.last_mut() {
            Some((last, _, grants)) if last.0 == id => grants.0.push(grant),
            _ => out.push((UserId(id), name, Grants(vec![grant]))),
        }
    }
    Ok(out)
}

fn grant_text(g: &Grant) -> String {
    format!("{}@{}{}", g.profile.as_str(), g.entity_id, if g.recursive { "+" } else { "" })
}

/// Replaces the user's profiles. The caller has checked the granter's rights.
pub async fn set_grants(c: &mut AnyConnection, actor: &Actor, id: UserId, new: &[Grant]) -> Result<()> {
    let u = get(c, id).await?.ok_or(StoreError::NotFound)?;
    let old = grants(c, id).await?;
    sqlx::query("DELETE FROM user_grants WHERE user_id = $1").bind(id.0).execute(&mut *c).await?;
    for g in new {
        sqlx::query(
            "INSERT INTO user_grants (user_id, entity_id, profile, recursive) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, entity_id, profile) DO UPDATE SET recursive = excluded.recursive",
        )
        .bind(id.0)
        .bind(g.entity_id.0)
        .bind(g.profile.as_str())
        .bind(i64::from(g.recursive))
        .execute(&mut *c)
        .await
        .map_err(|e| StoreError::from_write(e, "profile"))?;
    }
    let o: Vec<String> = old.0.iter().map(grant_text).collect();
    let n: Vec<String> = new.iter().map(grant_text).collect();
    if o != n {
        audit::record(
            c,
            actor,
            ObjectType::User,
            id.0,
            Some(u.entity_id),
            AuditAction::Update,
            &[FieldChange { field: "profiles".into(), old: Some(o.join(", ")), new: Some(n.join(", ")) }],
        )
        .await?;
    }
    Ok(())
}

// ---- sessions ----

/// A new session: returns (token for the cookie, CSRF token).
pub async fn create_session(c: &mut AnyConnection, user: UserId, ttl: chrono::Duration) -> Result<(String, String)> {
    let token = random_token(32);
    let csrf = random_token(32);
    let created = chrono::Utc::now();
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash(&token))
    .bind(user.0)
    .bind(&csrf)
    .bind(fmt_time(created))
    .bind(fmt_time(created + ttl))
    .execute(c)
    .await?;
    Ok((token, csrf))
}

/// The active user behind a session token, and the session's CSRF token.
pub async fn session_user(c: &mut AnyConnection, token: &str) -> Result<Option<(User, String)>> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT s.user_id, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = 1",
    )
    .bind(token_hash(token))
    .bind(now())
    .fetch_optional(&mut *c)
    .await?;
    let Some((uid, csrf)) = row else { return Ok(None) };
    Ok(get(c, UserId(uid)).await?.map(|u| (u, csrf)))
}

pub async fn end_session(c: &mut AnyConnection, token: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1 OR expires_at < $2")
        .bind(token_hash(token))
        .bind(now())
        .execute(c)
        .await?;
    Ok(())
}

pub async fn end_sessions(c: &mut AnyConnection, user: UserId) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user.0).execute(c).await?;
    Ok(())
}

// ---- API tokens ----

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: String,
    /// The first characters, to recognise a token without storing it.
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// Creates a token and returns it in clear, once; only its hash is stored.
pub async fn create_token(
    c: &mut AnyConnection,
    actor: &Actor,
    user: UserId,
    name: &str,
) -> Result<(ApiToken, String)> {
    let u = get(c, user).await?.ok_or(StoreError::NotFound)?;
    let mut e = ValidationErrors::new();
    check_text(&mut e, "name", Some(name), 100, false);
    if name.trim().is_empty() {
        e.add("name", "required", "is required");
    }
    e.into_result()?;
    let token = format!("parc_{}", random_token(32));
    let prefix: String = token.chars().take(10).collect();
    let t = now();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user.0)
    .bind(name.trim())
    .bind(&prefix)
    .bind(token_hash(&token))
    .bind(&t)
    .fetch_one(&mut *c)
    .await?;
    audit::record(
        c,
        actor,
        ObjectType::User,
        user.0,
        Some(u.entity_id),
        AuditAction::TokenCreate,
        &[FieldChange { field: "token".into(), old: None, new: Some(format!("{} ({prefix}…)", name.trim())) }],
    )
    .await?;
    Ok((
        ApiToken {
            id: TokenId(id),
            user_id: user,
            name: name.trim().to_owned(),
            prefix,
            created_at: t,
            last_used_at: None,
            revoked_at: None,
        },
        token,
    ))
}

pub async fn tokens_of(c: &mut AnyConnection, user: UserId) -> Result<Vec<ApiToken>> {
    let rows: Vec<TokenRow> = sqlx::query_as(
        "SELECT id, user_id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY id",
    )
    .bind(user.0)
    .fetch_all(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ApiToken {
            id: TokenId(r.id),
            user_id: UserId(r.user_id),
            name: r.name,
            prefix: r.prefix,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    user_id: i64,
    name: String,
    prefix: String,
    created_at: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

pub async fn revoke_token(c: &mut AnyConnection, actor: &Actor, user: UserId, id: TokenId) -> Result<()> {
    let u = get(c, user).await?.ok_or(StoreError::NotFound)?;
    let n = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
        .bind(now())
        .bind(id.0)
        .bind(user.0)
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    audit::record(
        c,
        actor,
        ObjectType::User,
        user.0,
        Some(u.entity_id),
        AuditAction::TokenRevoke,
        &[FieldChange { field: "token".into(), old: Some(id.to_string()), new: None }],
    )
    .await?;
    Ok(())
}

/// The active user behind a bearer token.
pub async fn token_user(c: &mut AnyConnection, token: &str) -> Result<Option<User>> {
    let row: Option<(i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT t.id, t.user_id, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active = 1",
    )
    .bind(token_hash(token))
    .fetch_optional(&mut *c)
    .await?;
    let Some((tid, uid, last)) = row else { return Ok(None) };
    // Record use at most once a minute to keep reads cheap.
    let t = now();
    if last.as_deref().is_none_or(|l| l[..16.min(l.len())] != t[..16]) {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(&t)
            .bind(tid)
            .execute(&mut *c)
            .await?;
    }
    get(c, UserId(uid)).await
}

// ---- sign-in throttle (in the database, so several nodes share it) ----

/// When the key (an account or an address) may try again, if it is blocked now.
pub async fn throttle_blocked_until(c: &mut AnyConnection, key: &str) -> Result<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT blocked_until FROM login_failures WHERE key = $1 AND blocked_until > $2")
            .bind(key)
            .bind(now())
            .fetch_optional(c)
            .await?;
    Ok(row.map(|r| r.0))
}

/// Counts a failure; after `free` failures each one doubles the wait (capped at 15 minutes).
/// Failures older than an hour are forgotten.
pub async fn throttle_fail(c: &mut AnyConnection, key: &str, free: i64) -> Result<()> {
    let now_t = chrono::Utc::now();
    let hour_ago = fmt_time(now_t - chrono::Duration::hours(1));
    let row: Option<(i64, String)> = sqlx::query_as("SELECT failures, last_at FROM login_failures WHERE key = $1")
        .bind(key)
        .fetch_optional(&mut *c)
        .await?;
    let failures = match row {
        Some((n, last)) if last > hour_ago => n + 1,
        _ => 1,
    };
    let wait = if failures > free {
        let exp = (failures - free - 1).min(10) as u32;
        (2i64.pow(exp)).min(900)
    } else {
        0
    };
    let until = fmt_time(now_t + chrono::Duration::seconds(wait));
    sqlx::query(
        "INSERT INTO login_failures (key, failures, last_at, blocked_until) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_at = excluded.last_at, blocked_until = excluded.blocked_until",
    )
    .bind(key)
    .bind(failures)
    .bind(fmt_time(now_t))
    .bind(until)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn throttle_clear(c: &mut AnyConnection, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE key = $1").bind(key).execute(c).await?;
    Ok(())
}
