//! The planning: a technician's week (Monday to Sunday, Europe/Paris time) of appointments, a
//! picker to look at a colleague's week, booking a free slot for a ticket (`?ticket=N`: a slot
//! links back to the ticket's task form, filled in), and the technician's private iCal feed
//! (`/ical/<token>.ics`, token-authenticated, no session).
//!
//! Who sees what: the planning is for people who handle tickets (technicians, hotline,
//! admins); a colleague's week only if they handle tickets in an entity the viewer handles
//! (else 404). An appointment on a ticket the viewer may not read shows as "busy", without its
//! ticket. The same rules serve `api/planning.rs` through the `pub(crate)` helpers here.

use super::tickets::technicians;
use super::{base_url, local_time, render_status, see_other, Page};
use crate::auth::{anonymous_lang, Ctx};
use crate::error::{AppError, AppResult};
use crate::forms::{CsrfForm, CsrfOnly};
use crate::helpdesk::{require_handler, visible_ticket};
use crate::i18n::Lang;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use parc_core::permissions::{Action, Grants, Object, Scope};
use parc_core::{EntityId, TaskId, TicketId, UserId, ValidationErrors};
use parc_docs::ical::{render_calendar, CalendarEvent, EventStatus};
use parc_store::helpdesk::{self, Appointment, Ticket};
use parc_store::users::{self, User};
use parc_store::{entities, Conn};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/planning", get(planning))
        .route("/planning/feed", post(feed_create))
        .route("/planning/feed/revoke", post(feed_revoke))
        .route("/ical/{file}", get(ical))
        .route("/static/planning.css", get(css))
        .route("/static/signature.js", get(signature_js))
}

/// Booking slots: one hour, from 8:00 to 18:00, Monday to Friday.
const SLOT_HOURS: std::ops::Range<u32> = 8..18;
/// The feed covers appointments from this many days back...
const FEED_PAST_DAYS: i64 = 30;
/// ...to this many days ahead.
const FEED_FUTURE_DAYS: i64 = 365;
/// The longest period the API returns at once.
pub(crate) const MAX_RANGE_DAYS: i64 = 366;

// ---- shared with the API ----

/// One appointment as a reader of the planning sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanningItem {
    /// Absent (with `ticket_id`, `title`, `location`, `description`) when the ticket is outside
    /// the reader's scope: the slot only shows as busy.
    pub task_id: Option<TaskId>,
    pub ticket_id: Option<TicketId>,
    /// "#42 Imprimante bloquée".
    pub title: Option<String>,
    pub location: Option<String>,
    pub description: Option<String>,
    pub on_site: bool,
    /// UTC RFC 3339.
    pub start: String,
    pub end: String,
    pub done: bool,
    pub signed: bool,
    /// Not done while its ticket is solved or closed.
    pub cancelled: bool,
    /// Overlaps another live appointment of the same technician.
    pub overlaps: bool,
    pub busy_only: bool,
}

/// Whether a reader with ticket scope `scope` may see the ticket of `a`.
fn readable(scope: &Scope, a: &Appointment) -> bool {
    scope.full.contains(&a.entity_id)
}

fn location_text(a: &Appointment) -> Option<String> {
    match (&a.location_name, &a.location_address) {
        (Some(n), Some(addr)) if !addr.trim().is_empty() => Some(format!("{n}, {addr}")),
        (n, _) => n.clone(),
    }
}

pub(crate) fn item(scope: &Scope, a: &Appointment) -> PlanningItem {
    let shown = readable(scope, a);
    PlanningItem {
        task_id: shown.then_some(a.task_id),
        ticket_id: shown.then_some(a.ticket_id),
        title: shown.then(|| format!("#{} {}", a.ticket_id, a.ticket_title)),
        location: location_text(a).filter(|_| shown),
        description: Some(a.description.clone()).filter(|d| shown && !d.is_empty()),
        on_site: a.on_site,
        start: a.planned_start.clone(),
        end: a.planned_end.clone(),
        done: a.done,
        signed: a.signed,
        cancelled: a.cancelled(),
        overlaps: a.overlaps,
        busy_only: !shown,
    }
}

/// The planning is for people who handle tickets somewhere.
pub(crate) fn require_planner(ctx: &Ctx) -> AppResult<()> {
    if ctx.scope(Object::Ticket, Action::Update).full.is_empty() {
        return Err(AppError::Forbidden("the planning is for technicians, the hotline and administrators".into()));
    }
    Ok(())
}

/// The technician whose planning the caller asks for (themselves by default): an active user
/// who handles tickets in an entity the caller handles; anyone else does not exist (404).
pub(crate) async fn planning_owner(ctx: &Ctx, c: &mut Conn, user: Option<i64>) -> AppResult<User> {
    require_planner(ctx)?;
    let Some(id) = user.filter(|u| *u != ctx.user.id.0) else { return Ok(ctx.user.clone()) };
    let u = users::get(c, UserId(id)).await?.filter(|u| u.active).ok_or(AppError::NotFound)?;
    let grants = users::grants(c, u.id).await?;
    if handles_any(ctx, &grants, ctx.scope(Object::Ticket, Action::Update).full.iter().copied()) {
        Ok(u)
    } else {
        Err(AppError::NotFound)
    }
}

fn handles_any(ctx: &Ctx, grants: &Grants, mut entities: impl Iterator<Item = EntityId>) -> bool {
    entities.any(|e| grants.can(&ctx.tree, Object::Ticket, Action::Update, e))
}

/// Midnight (Europe/Paris) of `day`, as UTC. Midnight always exists in Paris (the clocks change
/// at night, later).
fn paris_midnight(day: NaiveDate) -> DateTime<Utc> {
    let local = day.and_time(NaiveTime::MIN);
    Paris.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc)).unwrap_or_else(|| local.and_utc())
}

/// The Monday of the week holding `day`.
fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// Years a planning may be asked about (far enough from chrono's limits that week arithmetic
/// never overflows).
const PLAUSIBLE_YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

/// A `YYYY-MM-DD` date in [`PLAUSIBLE_YEARS`].
fn plain_date(v: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok().filter(|d| PLAUSIBLE_YEARS.contains(&d.year()))
}

fn today() -> NaiveDate {
    Utc::now().with_timezone(&Paris).date_naive()
}

/// A period of the API: `from` and `to` as RFC 3339 instants or dates (midnight in Paris);
/// by default this week, Monday to Monday.
pub(crate) fn period(from: Option<&str>, to: Option<&str>) -> AppResult<(DateTime<Utc>, DateTime<Utc>)> {
    let mut e = ValidationErrors::new();
    let mut parse = |field: &str, v: Option<&str>| {
        let v = v.map(str::trim).filter(|v| !v.is_empty())?;
        let t = DateTime::parse_from_rfc3339(v)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| plain_date(v).map(paris_midnight))
            .filter(|t| PLAUSIBLE_YEARS.contains(&t.year()));
        if t.is_none() {
            e.add(field, "datetime", "must be a date (YYYY-MM-DD) or a date and time (RFC 3339)");
        }
        t
    };
    let from = parse("from", from);
    let to = parse("to", to);
    e.into_result()?;
    let from = from.unwrap_or_else(|| paris_midnight(monday_of(today())));
    let to = to.unwrap_or(from + Duration::days(7));
    if to <= from || to - from > Duration::days(MAX_RANGE_DAYS) {
        return Err(ValidationErrors::single("to", "range_days", "the period is 1 to 366 days long").into());
    }
    Ok((from, to))
}

fn parse_stored(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

// ---- the week page ----

#[derive(Debug, Default, Deserialize)]
struct WeekQuery {
    user: Option<String>,
    week: Option<String>,
    ticket: Option<String>,
    ok: Option<String>,
}

/// A number from the query string ("" is none).
fn number(field: &str, v: &Option<String>) -> AppResult<Option<i64>> {
    match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| AppError::BadRequest(format!("{field} must be a number"))),
    }
}

/// One appointment of the week as the page shows it.
struct Entry {
    item: PlanningItem,
    /// "09:00 – 10:30" in Paris time (with the dates when it does not start and end that day).
    time: String,
}

/// A free slot to book.
struct Slot {
    time: String,
    href: String,
}

struct Day {
    label: String,
    entries: Vec<Entry>,
    slots: Vec<Slot>,
}

/// The ticket an appointment is being booked for.
struct Booking {
    ticket: Ticket,
    /// "Book an appointment for ticket #42: …".
    heading: String,
    /// The shown technician handles its entity (else no slot is offered).
    bookable: bool,
}

#[derive(Template)]
#[template(path = "planning/week.html")]
struct WeekPage {
    page: Page,
    owner: User,
    mine: bool,
    week_label: String,
    prev: String,
    next: String,
    this_week: String,
    days: Vec<Day>,
    technicians: Vec<(UserId, String)>,
    booking: Option<Booking>,
    /// "Your private address was created on …", when there is one.
    feed_created: Option<String>,
    /// The feed URL, shown once right after it was created.
    new_feed_url: Option<String>,
}

impl WeekPage {
    fn is_owner(&self, id: &UserId) -> bool {
        *id == self.owner.id
    }
}

fn day_label(page: &Page, day: NaiveDate) -> String {
    let name = page.tk("planning.day", &day.weekday().number_from_monday().to_string());
    let month = page.tk("planning.month", &day.month().to_string());
    format!("{name} {} {month}", day.day())
}

/// "09:00 – 10:30", or with dates when the appointment is not within one day.
fn time_range(lang: Lang, start: &str, end: &str) -> String {
    let (s, e) = (local_time(lang, start), local_time(lang, end));
    match (s.split_once(' '), e.split_once(' ')) {
        (Some((d1, t1)), Some((d2, t2))) if d1 == d2 => format!("{t1} – {t2}"),
        _ => format!("{s} – {e}"),
    }
}

/// The free one-hour slots of `day` (working days, not past, not overlapping a live appointment).
fn free_slots(day: NaiveDate, list: &[Appointment], href: impl Fn(&str) -> String) -> Vec<Slot> {
    if day.weekday().number_from_monday() > 5 {
        return Vec::new();
    }
    let now = Utc::now();
    let busy: Vec<(DateTime<Utc>, DateTime<Utc>)> = list
        .iter()
        .filter(|a| !a.cancelled())
        .filter_map(|a| Some((parse_stored(&a.planned_start)?, parse_stored(&a.planned_end)?)))
        .collect();
    SLOT_HOURS
        .filter_map(|h| {
            let local = day.and_hms_opt(h, 0, 0)?;
            let start = Paris.from_local_datetime(&local).earliest()?.with_timezone(&Utc);
            let end = start + Duration::hours(1);
            let free = start > now && !busy.iter().any(|(s, e)| *s < end && start < *e);
            let value = local.format("%Y-%m-%dT%H:%M").to_string();
            free.then(|| Slot { time: format!("{h:02}:00"), href: href(&value) })
        })
        .collect()
}

async fn planning(ctx: Ctx, Query(q): Query<WeekQuery>) -> AppResult<Response> {
    week_page(&ctx, &q, None).await
}

async fn week_page(ctx: &Ctx, q: &WeekQuery, new_feed_url: Option<String>) -> AppResult<Response> {
    let monday = match q.week.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => {
            monday_of(plain_date(w).ok_or_else(|| AppError::BadRequest("week must be a date (YYYY-MM-DD)".into()))?)
        }
        None => monday_of(today()),
    };
    let mut c = ctx.state.store.read().await?;
    let ticket = match number("ticket", &q.ticket)? {
        Some(id) => {
            let (t, _) = visible_ticket(ctx, &mut c, TicketId(id)).await?;
            require_handler(ctx, &t)?;
            Some(t)
        }
        None => None,
    };
    // Booking for a ticket: by default its technician's week.
    let wanted = number("user", &q.user)?.or_else(|| ticket.as_ref().and_then(|t| t.assignee_user_id).map(|u| u.0));
    let owner = planning_owner(ctx, &mut c, wanted).await?;
    let (from, to) = (paris_midnight(monday), paris_midnight(monday + Duration::days(7)));
    let list = helpdesk::appointments(&mut c, owner.id, from, to).await?;
    let booking = match ticket {
        Some(t) => {
            let grants = users::grants(&mut c, owner.id).await?;
            let bookable = handles_any(ctx, &grants, std::iter::once(t.entity_id));
            Some(Booking { ticket: t, bookable, heading: String::new() })
        }
        None => None,
    };
    let mut technicians = technicians(ctx, &mut c, booking.as_ref().map(|b| b.ticket.entity_id)).await?;
    if !technicians.iter().any(|(id, _)| *id == owner.id) {
        technicians.insert(0, (owner.id, owner.display_name.clone()));
    }
    let mine = owner.id == ctx.user.id;
    let feed_created = if mine { helpdesk::feed_created_at(&mut c, owner.id).await? } else { None };
    drop(c);

    let page = Page::new(ctx, "planning.title").await.with_flash(q.ok.as_deref());
    let mut booking = booking;
    if let Some(b) = booking.as_mut() {
        let id = b.ticket.id.to_string();
        b.heading = page.tf("planning.booking", &[("id", &id), ("title", &b.ticket.title)]);
    }
    let scope = ctx.scope(Object::Ticket, Action::Read);
    let mut days: Vec<Day> = (0..7)
        .map(|i| {
            let day = monday + Duration::days(i);
            Day { label: day_label(&page, day), entries: Vec::new(), slots: Vec::new() }
        })
        .collect();
    for a in &list {
        // An appointment shows on the day it starts (Monday for one that began before).
        let start = parse_stored(&a.planned_start).unwrap_or(from).max(from);
        let index = (start.with_timezone(&Paris).date_naive() - monday).num_days().clamp(0, 6) as usize;
        let time = time_range(page.lang, &a.planned_start, &a.planned_end);
        days[index].entries.push(Entry { item: item(&scope, a), time });
    }
    if let Some(b) = booking.as_ref().filter(|b| b.bookable) {
        let href =
            |start: &str| format!("/tickets/{}?book_user={}&book_start={start}#task-form", b.ticket.id, owner.id);
        for (i, d) in days.iter_mut().enumerate() {
            d.slots = free_slots(monday + Duration::days(i as i64), &list, href);
        }
    }
    let mut keep: Vec<(&str, String)> = vec![("user", owner.id.to_string())];
    if let Some(b) = &booking {
        keep.push(("ticket", b.ticket.id.to_string()));
    }
    let keep = serde_urlencoded::to_string(&keep).unwrap_or_default();
    let week_link = |d: NaiveDate| format!("/planning?{keep}&week={}", d.format("%Y-%m-%d"));
    let year_day = format!("{} {}", day_label(&page, monday), monday.year());
    let week_label = page.tf("planning.week_of", &[("date", &year_day)]);
    let body = WeekPage {
        week_label,
        prev: week_link(monday - Duration::days(7)),
        next: week_link(monday + Duration::days(7)),
        this_week: week_link(monday_of(today())),
        days,
        technicians,
        booking,
        mine,
        feed_created: feed_created.map(|d| page.tf("planning.feed_exists", &[("date", &page.when(&d))])),
        new_feed_url,
        owner,
        page,
    };
    Ok(render_status(StatusCode::OK, &body))
}

// ---- the private feed ----

/// The feed URL of `token`.
pub(crate) fn feed_url(base: &str, token: &str) -> String {
    format!("{base}/ical/{token}.ics")
}

/// Creates (or regenerates) the caller's feed and shows its URL once.
async fn feed_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    require_planner(&ctx)?;
    let mut tx = state.store.write().await?;
    let token = helpdesk::create_feed(&mut tx, &ctx.actor(), ctx.user.id).await?;
    tx.commit().await?;
    let url = feed_url(&base_url(&state.settings().await.public_url, &headers), &token);
    let mut r = week_page(&ctx, &WeekQuery::default(), Some(url)).await?;
    // The page holds a secret: not kept by caches or the browser's history cache.
    r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn feed_revoke(State(state): State<AppState>, CsrfForm(ctx, _): CsrfForm<CsrfOnly>) -> AppResult<Response> {
    require_planner(&ctx)?;
    let mut tx = state.store.write().await?;
    helpdesk::revoke_feed(&mut tx, &ctx.actor(), ctx.user.id).await?;
    tx.commit().await?;
    Ok(see_other("/planning", Some("planning.feed_revoked")))
}

/// `GET /ical/<token>.ics`: the technician's appointments as RFC 5545, from 30 days back to a
/// year ahead. A malformed, unknown or revoked token: 404 with a short text, nothing else.
async fn ical(State(state): State<AppState>, headers: HeaderMap, Path(file): Path<String>) -> Response {
    let settings = state.settings().await;
    let token = file.strip_suffix(".ics").filter(|t| helpdesk::is_feed_token(t));
    let result = match token {
        Some(token) => feed(&state, &base_url(&settings.public_url, &headers), token).await,
        None => Ok(None),
    };
    match result {
        Ok(Some(body)) => (
            [
                (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
                (header::CACHE_CONTROL, "private, max-age=300"),
                (header::CONTENT_DISPOSITION, "inline; filename=\"planning.ics\""),
            ],
            body,
        )
            .into_response(),
        Ok(None) => {
            let lang = anonymous_lang(&headers, &settings.default_language);
            let text = format!("{}\n", state.i18n.t(lang, "planning.feed_unknown"));
            (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// The calendar of the feed `token` opens, if it opens one.
async fn feed(state: &AppState, base: &str, token: &str) -> AppResult<Option<String>> {
    let mut c = state.store.read().await?;
    let Some(uid) = helpdesk::feed_owner(&mut c, token).await? else { return Ok(None) };
    let Some(user) = users::get(&mut c, uid).await? else { return Ok(None) };
    // Ticket details only for tickets the technician may still read; the rest shows as busy.
    let tree = entities::tree(&mut c).await?;
    let scope = users::grants(&mut c, uid).await?.scope(&tree, Object::Ticket, Action::Read);
    let now = Utc::now();
    let list = helpdesk::appointments(
        &mut c,
        uid,
        now - Duration::days(FEED_PAST_DAYS),
        now + Duration::days(FEED_FUTURE_DAYS),
    )
    .await?;
    drop(c);
    let settings = state.settings().await;
    let lang = user.language.as_deref().and_then(Lang::parse).or(Lang::parse(&settings.default_language));
    let lang = lang.unwrap_or_default();
    let i18n = &state.i18n;
    let host = base.split_once("://").map_or(base, |(_, h)| h).split(['/', ':']).next().unwrap_or("parc");
    let events: Vec<CalendarEvent> = list
        .iter()
        .filter_map(|a| {
            let (start, end) = (parse_stored(&a.planned_start)?, parse_stored(&a.planned_end)?);
            let shown = readable(&scope, a);
            let link = format!("{base}/tickets/{}", a.ticket_id);
            let description = shown.then(|| {
                let ticket = i18n.tf(lang, "planning.feed_ticket", &[("url", &link)]);
                [a.description.trim(), ticket.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("\n\n")
            });
            Some(CalendarEvent {
                uid: format!("parc-task-{}@{host}", a.task_id),
                summary: if shown {
                    format!("#{} {}", a.ticket_id, a.ticket_title)
                } else {
                    i18n.t(lang, "planning.feed_busy").to_owned()
                },
                description,
                location: location_text(a).filter(|_| shown),
                start,
                end,
                url: shown.then_some(link),
                last_modified: parse_stored(&a.updated_at).unwrap_or(start),
                status: Some(if a.cancelled() { EventStatus::Cancelled } else { EventStatus::Confirmed }),
            })
        })
        .collect();
    let name = i18n.tf(lang, "planning.feed_name", &[("name", &user.display_name)]);
    Ok(Some(render_calendar(&name, &events)))
}

// ---- booking from the planning: the ticket's task form, filled in ----

/// The task form's values for a slot picked on the planning (`?book_user=&book_start=`): the
/// technician, the start and an end one hour later, on site. Empty when not booking.
pub(crate) fn booking_values(user: Option<&str>, start: Option<&str>) -> HashMap<String, String> {
    let (Some(user), Some(start)) = (user.map(str::trim), start.map(str::trim)) else { return HashMap::new() };
    let Ok(begin) = chrono::NaiveDateTime::parse_from_str(start, "%Y-%m-%dT%H:%M") else { return HashMap::new() };
    if user.parse::<i64>().is_err() {
        return HashMap::new();
    }
    let end = (begin + Duration::hours(1)).format("%Y-%m-%dT%H:%M").to_string();
    [("technician_user_id", user), ("planned_start", start), ("planned_end", &end), ("on_site", "1")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Adds the technician a slot was booked for to a task form's list when the reader's list
/// does not hold them (a county technician seen from a school, say), if they handle `entity`.
pub(crate) async fn add_booked(
    c: &mut Conn,
    tree: &parc_core::entities::EntityTree,
    technicians: &mut Vec<(UserId, String)>,
    values: &HashMap<String, String>,
    entity: EntityId,
) -> AppResult<()> {
    let Some(id) = values.get("technician_user_id").and_then(|v| v.parse::<i64>().ok()).map(UserId) else {
        return Ok(());
    };
    if technicians.iter().any(|(u, _)| *u == id) {
        return Ok(());
    }
    if let Some(u) = users::get(c, id).await?.filter(|u| u.active) {
        if helpdesk::can_handle(c, tree, u.id, entity).await? {
            technicians.push((u.id, u.display_name));
        }
    }
    Ok(())
}

// ---- static files of the planning and signing pages ----

const CSS: &str = include_str!("../../static/planning.css");
const SIGNATURE_JS: &str = include_str!("../../static/signature.js");

pub(crate) fn static_file(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

async fn css() -> Response {
    static_file("text/css; charset=utf-8", CSS)
}

async fn signature_js() -> Response {
    static_file("text/javascript; charset=utf-8", SIGNATURE_JS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_midnight_in_paris() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap(); // a Sunday, the spring DST change
        assert_eq!(monday_of(d), NaiveDate::from_ymd_opt(2026, 3, 23).unwrap());
        assert_eq!(paris_midnight(monday_of(d)).to_rfc3339(), "2026-03-22T23:00:00+00:00");
        assert_eq!(
            paris_midnight(NaiveDate::from_ymd_opt(2026, 3, 30).unwrap()).to_rfc3339(),
            "2026-03-29T22:00:00+00:00"
        );
    }

    #[test]
    fn api_periods() {
        let (f, t) = period(Some("2026-03-09"), None).unwrap();
        assert_eq!((f.to_rfc3339().as_str(), (t - f).num_days()), ("2026-03-08T23:00:00+00:00", 7));
        assert!(period(Some("2026-03-09"), Some("2026-03-09")).is_err());
        assert!(period(Some("hier"), None).is_err());
        assert!(period(Some("+262000-01-01"), None).is_err() && plain_date("-0500-01-01").is_none());
        assert!(period(Some("2026-01-01"), Some("2027-06-01")).is_err());
        assert!(period(Some("2026-03-09T08:00:00Z"), Some("2026-03-09T18:00:00+01:00")).is_ok());
    }

    #[test]
    fn booking_prefills_an_hour_on_site() {
        let v = booking_values(Some("7"), Some("2026-03-10T09:00"));
        assert_eq!(v["planned_end"], "2026-03-10T10:00");
        assert_eq!((v["technician_user_id"].as_str(), v["on_site"].as_str()), ("7", "1"));
        assert!(booking_values(Some("x"), Some("2026-03-10T09:00")).is_empty());
        assert!(booking_values(None, Some("2026-03-10T09:00")).is_empty());
    }
}
