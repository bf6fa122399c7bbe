//! Hotline quick entry: what the hotline types while the phone rings (a caller's name, login or
//! phone number, an asset tag, a computer name, a serial number, an IP address, a phone line
//! number) gives a handful of matches, each carrying what it fills on the new ticket: the
//! requester, the asset, the location and the entity.
//!
//! Every lookup is indexed and capped before it is ranked, so suggestions stay fast at a million
//! tickets and many thousands of users and assets: phone numbers by prefix of their digit key
//! (the `phone_key` / `line_key` generated columns of migration 0004, see [`phone_key`]), names
//! and logins by trigram (FTS5 on SQLite, pg_trgm on PostgreSQL), asset texts through the
//! assets' own trigram index.

use crate::sql::Sql;
use crate::{Backend, Result};
use parc_core::{AssetId, EntityId, LocationId, UserId};
use serde::Serialize;
use sqlx::AnyConnection;
use std::collections::{BTreeSet, HashMap};

/// How many suggestions a call gives at most.
pub const MAX_SUGGESTIONS: usize = 20;
/// How many trigram candidates a name lookup ranks at most (as the global search does).
const NAME_CANDIDATES: i64 = 2000;
/// How many trigram candidates an asset lookup ranks at most: enough for the handful shown,
/// few enough to fetch by primary key; exact tags, names, serials and addresses are looked up
/// apart, through their own indexes, so a common text does not crowd them out.
const TEXT_CANDIDATES: i64 = 200;
/// The longest text looked up (the rest is ignored).
const MAX_TEXT: usize = 100;

/// Where suggestions come from; the web layer derives it from the caller's rights.
#[derive(Debug, Clone, Default)]
pub struct SuggestScope {
    /// Users of these entities are suggested as callers (the caller opens tickets for others
    /// there and reads their users).
    pub callers: Vec<EntityId>,
    /// Assets of these entities are suggested (the caller opens tickets for others there and
    /// reads their assets).
    pub assets: Vec<EntityId>,
    /// An asset's user is filled in as the requester only when the caller reads users of the
    /// user's entity.
    pub readable_users: Vec<EntityId>,
}

/// What a suggestion is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionKind {
    User,
    Asset,
}

/// Where the typed text was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchedField {
    Name,
    Login,
    Phone,
    AssetTag,
    AssetName,
    Serial,
    Ip,
    LineNumber,
    /// Another indexed text of the asset (model, MAC address, its user's name…), or a pick.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SuggestedUser {
    pub id: UserId,
    pub name: String,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SuggestedAsset {
    pub id: AssetId,
    pub tag: Option<String>,
    pub name: String,
    pub ip: Option<String>,
    pub line_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SuggestedLocation {
    pub id: LocationId,
    /// "Site > Building > Room".
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SuggestedEntity {
    pub id: EntityId,
    pub name: String,
}

/// One match and what picking it fills: a computer fills its user as the requester, its
/// location and its entity; a person fills their entity, and their asset and its location when
/// exactly one asset is assigned to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub kind: SuggestionKind,
    pub matched: MatchedField,
    pub requester: Option<SuggestedUser>,
    pub asset: Option<SuggestedAsset>,
    pub location: Option<SuggestedLocation>,
    pub entity: SuggestedEntity,
}

/// A choice made without the suggestion list (the page's plain-form fallback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    User(UserId),
    Asset(AssetId),
}

impl Pick {
    /// `user:12` or `asset:34`.
    pub fn parse(s: &str) -> Option<Pick> {
        let (kind, id) = s.trim().split_once(':')?;
        let id: i64 = id.parse().ok().filter(|i| *i > 0)?;
        match kind {
            "user" => Some(Pick::User(UserId(id))),
            "asset" => Some(Pick::Asset(AssetId(id))),
            _ => None,
        }
    }

    pub fn of(s: &Suggestion) -> Option<Pick> {
        match s.kind {
            SuggestionKind::User => s.requester.as_ref().map(|u| Pick::User(u.id)),
            SuggestionKind::Asset => s.asset.as_ref().map(|a| Pick::Asset(a.id)),
        }
    }

    pub fn as_value(self) -> String {
        match self {
            Pick::User(u) => format!("user:{u}"),
            Pick::Asset(a) => format!("asset:{a}"),
        }
    }
}

/// The comparison key of a phone number: its digits, with a French international prefix
/// (`+33`, `0033`) written as the national `0`. `None` when the text is not a phone number (or
/// a part of one) of at least three digits.
///
/// The generated columns `users.phone_key` and `assets.line_key` (migration 0004) apply the
/// same rule in SQL.
pub fn phone_key(raw: &str) -> Option<String> {
    let t = raw.trim();
    if !t.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '(' | ')' | '+' | '/')) {
        return None;
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 3 {
        return None;
    }
    Some(if t.starts_with('+') && digits.starts_with("33") {
        format!("0{}", &digits[2..])
    } else if let Some(rest) = digits.strip_prefix("0033") {
        format!("0{rest}")
    } else {
        digits
    })
}

/// The smallest digit string after every string that starts with `prefix` (digits only):
/// `"0612"` -> `"0613"`, `"0619"` -> `"062"`; `None` for all nines.
fn after_prefix(prefix: &str) -> Option<String> {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < b'9' {
            bytes.push(last + 1);
            return String::from_utf8(bytes).ok();
        }
    }
    None
}

/// `column` starts with the digit string `key` (an index range scan).
fn push_key_prefix(sql: &mut Sql, column: &str, key: &str) {
    sql.push(&format!(" AND {column} >= ")).bind_text(key.to_owned());
    if let Some(hi) = after_prefix(key) {
        sql.push(&format!(" AND {column} < ")).bind_text(hi);
    }
}

/// The text as typed, without control characters and repeated spaces, at most [`MAX_TEXT`]
/// characters.
fn clean_text(raw: &str) -> String {
    let t: String = raw.chars().filter(|c| !c.is_control()).take(MAX_TEXT).collect();
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    display_name: String,
    login: String,
    phone: Option<String>,
    phone_key: Option<String>,
    entity_id: i64,
    entity_name: String,
}

const USER_SELECT: &str = "SELECT u.id, u.display_name, u.login, u.phone, u.phone_key, u.entity_id, \
    e.name AS entity_name FROM users u JOIN entities e ON e.id = u.entity_id WHERE u.active = 1 AND ";

#[derive(sqlx::FromRow)]
struct AssetRow {
    id: i64,
    name: String,
    asset_tag: Option<String>,
    serial: Option<String>,
    ip: Option<String>,
    line_number: Option<String>,
    line_key: Option<String>,
    entity_id: i64,
    entity_name: String,
    location_id: Option<i64>,
    user_id: Option<i64>,
    user_name: Option<String>,
    user_phone: Option<String>,
    user_entity_id: Option<i64>,
    user_active: Option<i64>,
}

const ASSET_SELECT: &str = "SELECT a.id, a.name, a.asset_tag, a.serial, a.ip, a.line_number, a.line_key, \
    a.entity_id, e.name AS entity_name, a.location_id, a.assigned_user_id AS user_id, u.display_name AS user_name, \
    u.phone AS user_phone, u.entity_id AS user_entity_id, u.active AS user_active \
    FROM assets a JOIN entities e ON e.id = a.entity_id LEFT JOIN users u ON u.id = a.assigned_user_id WHERE ";

fn ids(entities: &[EntityId]) -> impl Iterator<Item = i64> + '_ {
    entities.iter().map(|e| e.0)
}

/// How well `text` matches `field`: 0 equal, 1 prefix, 2 inside, `None` not at all.
fn text_score(field: Option<&str>, text: &str) -> Option<u8> {
    let f = field?.to_lowercase();
    if f == text {
        Some(0)
    } else if f.starts_with(text) {
        Some(1)
    } else {
        f.contains(text).then_some(2)
    }
}

/// How well a phone key matches the typed one: 0 equal, 1 prefix.
fn key_score(field: Option<&str>, key: Option<&str>) -> Option<u8> {
    let (f, k) = (field?, key?);
    if f == k {
        Some(0)
    } else {
        f.starts_with(k).then_some(1)
    }
}

/// The best-matching field among candidates (lowest score, first on ties); `Other` with the
/// worst score when none matches (the index found the text elsewhere).
fn best(candidates: &[(MatchedField, Option<u8>)]) -> (u8, MatchedField) {
    candidates
        .iter()
        .filter_map(|(f, s)| s.map(|s| (s, *f)))
        .min_by_key(|(s, _)| *s)
        .unwrap_or((3, MatchedField::Other))
}

fn user_rank(r: &UserRow, text: &str, key: Option<&str>) -> (u8, MatchedField) {
    best(&[
        (MatchedField::Name, text_score(Some(&r.display_name), text)),
        (MatchedField::Login, text_score(Some(&r.login), text)),
        (MatchedField::Phone, key_score(r.phone_key.as_deref(), key)),
    ])
}

fn asset_rank(r: &AssetRow, text: &str, key: Option<&str>) -> (u8, MatchedField) {
    best(&[
        (MatchedField::AssetTag, text_score(r.asset_tag.as_deref(), text)),
        (MatchedField::AssetName, text_score(Some(&r.name), text)),
        (MatchedField::Ip, text_score(r.ip.as_deref(), text)),
        (MatchedField::Serial, text_score(r.serial.as_deref(), text)),
        (MatchedField::LineNumber, key_score(r.line_key.as_deref(), key)),
    ])
}

/// Active users among the callers whose name or login contains every word of `text` (words of
/// three characters or more; under that, an exact login or name).
async fn users_by_text(
    c: &mut AnyConnection,
    backend: Backend,
    scope: &SuggestScope,
    text: &str,
    limit: i64,
) -> Result<Vec<UserRow>> {
    let words: Vec<&str> = text.split(' ').filter(|w| w.chars().count() >= 3).collect();
    let mut sql = Sql::new(USER_SELECT);
    sql.in_ints("u.entity_id", ids(&scope.callers));
    if words.is_empty() {
        sql.push(" AND (lower(u.login) = ").bind_text(text.to_owned());
        sql.push(" OR lower(u.display_name) = ").bind_text(text.to_owned()).push(")");
    } else {
        match backend {
            Backend::Sqlite => {
                let query: Vec<String> = words.iter().map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect();
                sql.push(" AND u.id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ")
                    .bind_text(query.join(" "))
                    .push(" LIMIT ")
                    .bind_int(NAME_CANDIDATES)
                    .push(")");
            }
            Backend::Postgres => {
                for w in &words {
                    sql.push(" AND lower(u.display_name || ' ' || u.login) LIKE ")
                        .bind_text(format!("%{}%", crate::assets::escape_like(w)))
                        .push(" ESCAPE '\\'");
                }
            }
        }
    }
    sql.push(" ORDER BY CASE WHEN lower(u.login) = ").bind_text(text.to_owned());
    sql.push(" OR lower(u.display_name) = ").bind_text(text.to_owned());
    sql.push(" THEN 0 ELSE 1 END, lower(u.display_name), u.id LIMIT ").bind_int(limit);
    Ok(sql.query_as().fetch_all(c).await?)
}

async fn users_by_phone(c: &mut AnyConnection, scope: &SuggestScope, key: &str, limit: i64) -> Result<Vec<UserRow>> {
    let mut sql = Sql::new(USER_SELECT);
    sql.in_ints("u.entity_id", ids(&scope.callers));
    push_key_prefix(&mut sql, "u.phone_key", key);
    sql.push(" ORDER BY u.phone_key, u.id LIMIT ").bind_int(limit);
    Ok(sql.query_as().fetch_all(c).await?)
}

/// The spellings an exact tag, name or serial may have been typed in: as typed, upper and
/// lower case (their indexes are case-sensitive).
fn spellings(raw: &str) -> Vec<String> {
    let mut v = vec![raw.to_owned(), raw.to_uppercase(), raw.to_lowercase()];
    v.sort();
    v.dedup();
    v
}

/// Assets whose tag, name or serial is the typed text, or whose IP address it is: one indexed
/// lookup per column, joined by UNION (an OR of them lets a planner misled by a column of
/// mostly empty values scan the whole table).
async fn assets_exact(c: &mut AnyConnection, scope: &SuggestScope, raw: &str, limit: i64) -> Result<Vec<AssetRow>> {
    let mut sql = Sql::new(ASSET_SELECT);
    sql.in_ints("a.entity_id", ids(&scope.assets));
    sql.push(" AND a.id IN (SELECT id FROM assets WHERE ip = ").bind_text(raw.to_owned());
    for column in ["asset_tag", "name", "serial"] {
        sql.push(&format!(" UNION SELECT id FROM assets WHERE {column} IN ("));
        for (i, s) in spellings(raw).into_iter().enumerate() {
            sql.push(if i == 0 { "" } else { ", " }).bind_text(s);
        }
        sql.push(")");
    }
    sql.push(") ORDER BY lower(a.name), a.id LIMIT ").bind_int(limit);
    Ok(sql.query_as().fetch_all(c).await?)
}

/// Assets whose indexed text (tag, name, serial, IP, MAC, model, user…) contains `text`.
async fn assets_by_text(
    c: &mut AnyConnection,
    backend: Backend,
    scope: &SuggestScope,
    text: &str,
    limit: i64,
) -> Result<Vec<AssetRow>> {
    let mut sql = Sql::new(ASSET_SELECT);
    sql.in_ints("a.entity_id", ids(&scope.assets));
    crate::assets::push_text(&mut sql, backend, text, Some(TEXT_CANDIDATES));
    sql.push(" ORDER BY lower(a.name), a.id LIMIT ").bind_int(limit);
    Ok(sql.query_as().fetch_all(c).await?)
}

async fn assets_by_line(c: &mut AnyConnection, scope: &SuggestScope, key: &str, limit: i64) -> Result<Vec<AssetRow>> {
    let mut sql = Sql::new(ASSET_SELECT);
    sql.in_ints("a.entity_id", ids(&scope.assets));
    push_key_prefix(&mut sql, "a.line_key", key);
    sql.push(" ORDER BY a.line_key, a.id LIMIT ").bind_int(limit);
    Ok(sql.query_as().fetch_all(c).await?)
}

async fn assets_by_id(c: &mut AnyConnection, scope: &SuggestScope, wanted: &[i64]) -> Result<Vec<AssetRow>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(ASSET_SELECT);
    sql.in_ints("a.entity_id", ids(&scope.assets)).push(" AND ");
    sql.in_ints("a.id", wanted.iter().copied());
    Ok(sql.query_as().fetch_all(c).await?)
}

/// For each user, their asset when exactly one (not retired) asset in scope is assigned to them.
async fn single_assets(c: &mut AnyConnection, scope: &SuggestScope, users: &[i64]) -> Result<HashMap<i64, AssetRow>> {
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    let mut sql = Sql::new("SELECT a.assigned_user_id, COUNT(*), MIN(a.id) FROM assets a WHERE ");
    sql.in_ints("a.assigned_user_id", users.iter().copied()).push(" AND ");
    sql.in_ints("a.entity_id", ids(&scope.assets));
    sql.push(" AND a.status <> 'retired' GROUP BY a.assigned_user_id");
    let counts: Vec<(i64, i64, i64)> = sql.query_as().fetch_all(&mut *c).await?;
    let single: Vec<i64> = counts.iter().filter(|(_, n, _)| *n == 1).map(|(_, _, a)| *a).collect();
    Ok(assets_by_id(c, scope, &single).await?.into_iter().filter_map(|a| Some((a.user_id?, a))).collect())
}

/// "Site > Building > Room" of each location.
async fn location_paths(c: &mut AnyConnection, wanted: BTreeSet<i64>) -> Result<HashMap<i64, String>> {
    let mut out = HashMap::new();
    for id in wanted {
        if let Some(l) = crate::locations::get(c, LocationId(id)).await? {
            out.insert(id, l.path);
        }
    }
    Ok(out)
}

fn suggested_asset(a: &AssetRow) -> SuggestedAsset {
    SuggestedAsset {
        id: AssetId(a.id),
        tag: a.asset_tag.clone(),
        name: a.name.clone(),
        ip: a.ip.clone(),
        line_number: a.line_number.clone(),
    }
}

fn location(id: Option<i64>, paths: &HashMap<i64, String>) -> Option<SuggestedLocation> {
    let id = id?;
    Some(SuggestedLocation { id: LocationId(id), path: paths.get(&id)?.clone() })
}

/// A computer's suggestion: its user (when the caller reads them) as the requester, its
/// location and its entity.
fn from_asset(a: &AssetRow, matched: MatchedField, scope: &SuggestScope, paths: &HashMap<i64, String>) -> Suggestion {
    let readable =
        a.user_active == Some(1) && a.user_entity_id.is_some_and(|e| scope.readable_users.contains(&EntityId(e)));
    let requester = match (a.user_id, &a.user_name) {
        (Some(id), Some(name)) if readable => {
            Some(SuggestedUser { id: UserId(id), name: name.clone(), phone: a.user_phone.clone() })
        }
        _ => None,
    };
    Suggestion {
        kind: SuggestionKind::Asset,
        matched,
        requester,
        asset: Some(suggested_asset(a)),
        location: location(a.location_id, paths),
        entity: SuggestedEntity { id: EntityId(a.entity_id), name: a.entity_name.clone() },
    }
}

/// A person's suggestion: them as the requester, and their only asset with its location and
/// entity (else their own entity).
fn from_user(
    u: &UserRow,
    matched: MatchedField,
    single: Option<&AssetRow>,
    paths: &HashMap<i64, String>,
) -> Suggestion {
    let entity = match single {
        Some(a) => SuggestedEntity { id: EntityId(a.entity_id), name: a.entity_name.clone() },
        None => SuggestedEntity { id: EntityId(u.entity_id), name: u.entity_name.clone() },
    };
    Suggestion {
        kind: SuggestionKind::User,
        matched,
        requester: Some(SuggestedUser { id: UserId(u.id), name: u.display_name.clone(), phone: u.phone.clone() }),
        asset: single.map(suggested_asset),
        location: single.and_then(|a| location(a.location_id, paths)),
        entity,
    }
}

/// Builds the suggestions of ranked rows: the users' single assets and every location path
/// are looked up once for all.
async fn build(
    c: &mut AnyConnection,
    scope: &SuggestScope,
    users: Vec<(u8, MatchedField, UserRow)>,
    assets: Vec<(u8, MatchedField, AssetRow)>,
) -> Result<Vec<Suggestion>> {
    let user_ids: Vec<i64> = users.iter().map(|(_, _, u)| u.id).collect();
    let singles = single_assets(c, scope, &user_ids).await?;
    let wanted: BTreeSet<i64> =
        assets.iter().map(|(_, _, a)| a).chain(singles.values()).filter_map(|a| a.location_id).collect();
    let paths = location_paths(c, wanted).await?;
    let mut ranked: Vec<(u8, String, Suggestion)> = Vec::with_capacity(users.len() + assets.len());
    for (score, matched, u) in &users {
        let s = from_user(u, *matched, singles.get(&u.id), &paths);
        ranked.push((*score, u.display_name.to_lowercase(), s));
    }
    for (score, matched, a) in &assets {
        ranked.push((*score, a.name.to_lowercase(), from_asset(a, *matched, scope, &paths)));
    }
    ranked.sort_by(|x, y| (x.0, &x.1).cmp(&(y.0, &y.1)));
    Ok(ranked.into_iter().map(|(_, _, s)| s).collect())
}

/// Up to `limit` (at most [`MAX_SUGGESTIONS`]) matches of `text` in scope, best first: equal,
/// then starting with, then containing the text. Nothing under two characters.
pub async fn suggest(
    c: &mut AnyConnection,
    backend: Backend,
    scope: &SuggestScope,
    text: &str,
    limit: usize,
) -> Result<Vec<Suggestion>> {
    let raw = clean_text(text);
    let text = raw.to_lowercase();
    let limit = limit.clamp(1, MAX_SUGGESTIONS);
    if text.chars().count() < 2 {
        return Ok(Vec::new());
    }
    let n = limit as i64;
    let key = phone_key(&text);
    let mut users = users_by_text(c, backend, scope, &text, n).await?;
    let mut assets = assets_exact(c, scope, &raw, n).await?;
    // Under three characters the trigram index cannot help: exact values only.
    if text.chars().count() >= 3 {
        assets.extend(assets_by_text(c, backend, scope, &text, n).await?);
    }
    if let Some(k) = &key {
        users.extend(users_by_phone(c, scope, k, n).await?);
        assets.extend(assets_by_line(c, scope, k, n).await?);
    }
    let mut seen = BTreeSet::new();
    let users: Vec<(u8, MatchedField, UserRow)> = users
        .into_iter()
        .filter(|u| seen.insert(u.id))
        .map(|u| {
            let (score, field) = user_rank(&u, &text, key.as_deref());
            (score, field, u)
        })
        .collect();
    let mut seen = BTreeSet::new();
    let assets: Vec<(u8, MatchedField, AssetRow)> = assets
        .into_iter()
        .filter(|a| seen.insert(a.id))
        .map(|a| {
            let (score, field) = asset_rank(&a, &text, key.as_deref());
            (score, field, a)
        })
        .collect();
    let mut out = build(c, scope, users, assets).await?;
    out.truncate(limit);
    Ok(out)
}

/// What a pick fills, if the picked person or asset is in scope.
pub async fn resolve(c: &mut AnyConnection, scope: &SuggestScope, pick: Pick) -> Result<Option<Suggestion>> {
    let (users, assets) = match pick {
        Pick::User(id) => {
            let mut sql = Sql::new(USER_SELECT);
            sql.in_ints("u.entity_id", ids(&scope.callers)).push(" AND u.id = ").bind_int(id.0);
            let rows: Vec<UserRow> = sql.query_as().fetch_all(&mut *c).await?;
            (rows.into_iter().map(|u| (0, MatchedField::Other, u)).collect(), Vec::new())
        }
        Pick::Asset(id) => {
            let rows = assets_by_id(c, scope, &[id.0]).await?;
            (Vec::new(), rows.into_iter().map(|a| (0, MatchedField::Other, a)).collect())
        }
    };
    Ok(build(c, scope, users, assets).await?.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_keys() {
        assert_eq!(phone_key("+33 1 23 45 67 89").as_deref(), Some("0123456789"));
        assert_eq!(phone_key("0033 1 23 45 67 89").as_deref(), Some("0123456789"));
        assert_eq!(phone_key("01.23.45.67.89").as_deref(), Some("0123456789"));
        assert_eq!(phone_key("(01) 23-45").as_deref(), Some("012345"));
        assert_eq!(phone_key("1014").as_deref(), Some("1014"));
        assert_eq!(phone_key("+44 20 7946 0000").as_deref(), Some("442079460000"));
        assert_eq!(phone_key("12"), None);
        assert_eq!(phone_key("PC-0042"), None);
        assert_eq!(phone_key("192.168.1.5").as_deref(), Some("19216815"));
    }

    #[test]
    fn prefix_bounds() {
        assert_eq!(after_prefix("0612").as_deref(), Some("0613"));
        assert_eq!(after_prefix("0619").as_deref(), Some("062"));
        assert_eq!(after_prefix("999"), None);
    }

    #[test]
    fn picks() {
        assert_eq!(Pick::parse("user:12"), Some(Pick::User(UserId(12))));
        assert_eq!(Pick::parse("asset:3"), Some(Pick::Asset(AssetId(3))));
        assert_eq!(Pick::parse("asset:-3"), None);
        assert_eq!(Pick::parse("ticket:3"), None);
        assert_eq!(Pick::parse("user"), None);
        assert_eq!(Pick::User(UserId(7)).as_value(), "user:7");
    }

    #[test]
    fn ranking() {
        assert_eq!(text_score(Some("PC-0042"), "pc-0042"), Some(0));
        assert_eq!(text_score(Some("PC-0042"), "pc-00"), Some(1));
        assert_eq!(text_score(Some("PC-0042"), "0042"), Some(2));
        assert_eq!(text_score(None, "x"), None);
        assert_eq!(key_score(Some("0123456789"), Some("0123")), Some(1));
        assert_eq!(best(&[(MatchedField::Name, Some(2)), (MatchedField::Phone, Some(1))]), (1, MatchedField::Phone));
        assert_eq!(best(&[(MatchedField::Name, None)]), (3, MatchedField::Other));
        assert_eq!(clean_text("  Marie\u{0}  CURIE "), "Marie CURIE");
        assert_eq!(spellings("Pc-01"), vec!["PC-01", "Pc-01", "pc-01"]);
    }
}
