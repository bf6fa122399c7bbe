//! Monitoring pages: the status wall (`/monitoring`, for everyone of an entity, a school
//! principal included: one big tile per host, its colour the worst state of its checks, a
//! plain-language line), the technicians' problems list, a check's page (state, performance
//! graphs drawn on the server as SVG, availability, state changes; acknowledgement and downtime
//! forms), a host's page, the state-change log and the availability report.
//!
//! Rights as the API (`crate::monitoring`): reading needs the monitoring read right; an object
//! out of sight answers 404, a change the profile may not make 403. Every POST is one
//! transaction; a refused form is shown again with its problems (422) and writes nothing.

use super::{render, render_status, see_other, Page};
use crate::api::monitoring::compute_availability;
use crate::api::{ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::CsrfForm;
use crate::i18n::Lang;
use crate::monitoring::{now_ms, readable, visible_downtime, visible_host, visible_service, visible_status};
use crate::AppState;
use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use parc_core::monitoring::headline::{headline, Headline};
use parc_core::monitoring::host::HostState;
use parc_core::monitoring::perfdata::PluginOutput;
use parc_core::monitoring::threshold::Range;
use parc_core::monitoring::ServiceState;
use parc_core::permissions::{Action, Object};
use parc_core::validate::FieldError;
use parc_core::{HostId, ServiceId, ValidationErrors};
use parc_store::monitoring;
use parc_store::monitoring::status::{self, AckInput, DowntimeInput, Series, ServiceStatus, StateEvent, StatusFilter};
use parc_store::StoreError;
use serde::Deserialize;
use std::collections::BTreeMap;

const CSS: &str = include_str!("../../static/monitoring.css");
const WALL_JS: &str = include_str!("../../static/wall.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/monitoring.css", get(|| async { super::stylesheet(CSS) }))
        .route("/static/wall.js", get(|| async { super::script(WALL_JS) }))
        .route("/monitoring", get(wall))
        .route("/monitoring/problems", get(problems))
        .route("/monitoring/log", get(log))
        .route("/monitoring/availability", get(availability))
        .route("/monitoring/services/{id}", get(service_show))
        .route("/monitoring/services/{id}/acknowledge", post(acknowledge))
        .route("/monitoring/services/{id}/unacknowledge", post(unacknowledge))
        .route("/monitoring/services/{id}/downtime", post(downtime_create))
        .route("/monitoring/hosts/{id}", get(host_show))
        .route("/monitoring/downtimes/{id}/cancel", post(downtime_cancel))
}

// ---- shared helpers ----

/// Pages of this module are for monitoring readers (a requester included).
fn require_reader(ctx: &Ctx) -> AppResult<()> {
    if ctx.can_anywhere(Object::Monitoring, Action::Read) {
        Ok(())
    } else {
        Err(AppError::Forbidden("your profile does not read monitoring".into()))
    }
}

/// The colour class of a stored state: `ok`, `warning`, `critical` or `unknown` (UNKNOWN,
/// UNREACHABLE, PENDING).
fn colour(state: &str) -> &'static str {
    match state {
        "OK" | "UP" => "ok",
        "WARNING" => "warning",
        "CRITICAL" | "DOWN" => "critical",
        _ => "unknown",
    }
}

fn state_label(page: &Page, state: &str) -> String {
    page.tk("monitoring.state", state)
}

/// Epoch milliseconds as local time (Europe/Paris).
fn at(lang: Lang, ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => {
            let local = t.with_timezone(&Paris);
            match lang {
                Lang::Fr => local.format("%d/%m/%Y %H:%M").to_string(),
                Lang::En => local.format("%Y-%m-%d %H:%M").to_string(),
            }
        }
        None => String::new(),
    }
}

fn at_opt(page: &Page, ms: Option<i64>) -> String {
    ms.map(|m| at(page.lang, m)).unwrap_or_else(|| page.t("common.none").to_owned())
}

/// A duration as people say it: "3 j 4 h", "3 h 12 min", "5 min", "40 s".
fn human_duration(page: &Page, ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    let unit = |key: &str, n: i64| page.tf(key, &[("n", &n.to_string())]);
    if d > 0 {
        if h > 0 {
            format!("{} {}", unit("monitoring.unit.day", d), unit("monitoring.unit.hour", h))
        } else {
            unit("monitoring.unit.day", d)
        }
    } else if h > 0 {
        if m > 0 {
            format!("{} {}", unit("monitoring.unit.hour", h), unit("monitoring.unit.min", m))
        } else {
            unit("monitoring.unit.hour", h)
        }
    } else if m > 0 {
        unit("monitoring.unit.min", m)
    } else {
        unit("monitoring.unit.sec", s)
    }
}

/// 1200 → "1 200" (French, no-break space) or "1,200".
fn thousands(n: u64, lang: Lang) -> String {
    let sep = match lang {
        Lang::Fr => '\u{a0}',
        Lang::En => ',',
    };
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(ch);
    }
    out
}

/// A number with at most `digits` decimals, trailing zeros dropped, French decimal comma.
fn decimal(v: f64, digits: usize, lang: Lang) -> String {
    let mut s = format!("{v:.digits$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    if s == "-0" {
        s = "0".into();
    }
    match lang {
        Lang::Fr => s.replace('.', ","),
        Lang::En => s,
    }
}

fn percent(v: Option<f64>, page: &Page) -> String {
    match v {
        Some(p) => format!("{}\u{a0}%", decimal(p, 2, page.lang)),
        None => page.t("common.none").to_owned(),
    }
}

/// The state of a stored result as a service state (a host's DOWN is CRITICAL...); `None`
/// while PENDING.
fn service_state(state: &str) -> Option<ServiceState> {
    state.parse::<ServiceState>().ok().or_else(|| state.parse::<HostState>().ok().map(HostState::to_service_state))
}

/// The plain-language line of a check's current result, in the page's language.
fn plain_line(page: &Page, st: &ServiceStatus) -> String {
    let Some(state) = service_state(&st.state) else {
        return page.t("monitoring.wall.pending").to_owned();
    };
    let output = PluginOutput {
        summary: st.output.clone().unwrap_or_default(),
        long_output: st.long_output.clone().unwrap_or_default(),
        perfdata: st.perfdata.clone(),
        perfdata_errors: Vec::new(),
    };
    let program = if st.check_kind == "plugin" { st.check_summary.split_whitespace().next() } else { None };
    match headline(&st.check_kind, program, state, &output) {
        Headline::DiskFull { volume, percent_used } => {
            page.tf("monitoring.headline.disk_full", &[("volume", &volume), ("percent", &percent_used.to_string())])
        }
        Headline::Unreachable => page.t("monitoring.headline.unreachable").to_owned(),
        Headline::Down => page.t("monitoring.headline.down").to_owned(),
        Headline::Slow { millis } => page.tf("monitoring.headline.slow", &[("ms", &thousands(millis, page.lang))]),
        Headline::CertificateExpires { days } => match days {
            d if d < 0 => page.t("monitoring.headline.cert_expired").to_owned(),
            0 => page.t("monitoring.headline.cert_today").to_owned(),
            1 => page.t("monitoring.headline.cert_tomorrow").to_owned(),
            d => page.tf("monitoring.headline.cert_days", &[("days", &d.to_string())]),
        },
        Headline::Load { value } => page.tf("monitoring.headline.load", &[("value", &decimal(value, 2, page.lang))]),
        Headline::Plain(text) if text.is_empty() => state_label(page, &st.state),
        Headline::Plain(text) => text,
    }
}

/// The name of a check as lists show it (the host check has no name of its own for readers).
fn check_name(page: &Page, st: &ServiceStatus) -> String {
    if st.is_host {
        page.t("monitoring.host_check").to_owned()
    } else {
        st.name.clone()
    }
}

/// One check in a list (problems, host page).
struct CheckRow {
    id: i64,
    host_id: i64,
    host_name: String,
    name: String,
    state_label: String,
    class: &'static str,
    state_type: String,
    attempt: i64,
    max_attempts: i64,
    since: String,
    last_check: String,
    output: String,
    acknowledged: bool,
    in_downtime: bool,
    flapping: bool,
}

fn check_row(page: &Page, st: &ServiceStatus, now: i64) -> CheckRow {
    CheckRow {
        id: st.id.0,
        host_id: st.host_id.0,
        host_name: st.host_display_name.clone().unwrap_or_else(|| st.host_name.clone()),
        name: check_name(page, st),
        state_label: state_label(page, &st.state),
        class: colour(&st.state),
        state_type: page.tk("monitoring.state_type", &st.state_type),
        attempt: st.attempt,
        max_attempts: st.max_attempts,
        since: st.last_state_change_ms.map(|t| human_duration(page, now - t)).unwrap_or_default(),
        last_check: at_opt(page, st.last_check_ms),
        output: st.output.clone().unwrap_or_default(),
        acknowledged: st.acknowledged(),
        in_downtime: st.in_downtime,
        flapping: st.flapping,
    }
}

/// One line of a state-change log.
struct EventRow {
    at: String,
    service_id: i64,
    host_name: String,
    name: String,
    state_label: String,
    class: &'static str,
    state_type: String,
    attempt: i64,
    output: String,
}

fn event_row(page: &Page, e: &StateEvent) -> EventRow {
    EventRow {
        at: at(page.lang, e.at_ms),
        service_id: e.service_id.0,
        host_name: e.host_name.clone(),
        name: if e.is_host { page.t("monitoring.host_check").to_owned() } else { e.service_name.clone() },
        state_label: state_label(page, &e.state),
        class: colour(&e.state),
        state_type: page.tk("monitoring.state_type", &e.state_type),
        attempt: e.attempt,
        output: e.output.clone().unwrap_or_default(),
    }
}

/// The message of a field problem: the monitoring catalogue's, the common one's, or the
/// store's own text.
fn message(page: &Page, f: &FieldError) -> String {
    page.field_message("monitoring", f)
}

// ---- the status wall ----

struct Tile {
    host_id: i64,
    name: String,
    /// `ok`, `warning`, `critical` or `unknown`.
    colour: &'static str,
    /// The colour in words (for those who do not see it).
    word: String,
    line: String,
    /// The failing check the line speaks of (none when all is well).
    check: Option<String>,
    /// A handled problem: "acknowledged" or "in downtime" (the tile is muted).
    handled: Option<String>,
}

struct Group {
    name: String,
    tiles: Vec<Tile>,
}

#[derive(Default)]
struct Counts {
    ok: usize,
    warning: usize,
    critical: usize,
    unknown: usize,
}

#[derive(Deserialize)]
struct WallQuery {
    refresh: Option<String>,
    kiosk: Option<String>,
}

#[derive(Template)]
#[template(path = "monitoring/wall.html")]
struct WallPage {
    page: Page,
    groups: Vec<Group>,
    counts: Counts,
    refresh: u32,
    updated: String,
    kiosk_url: String,
}

#[derive(Template)]
#[template(path = "monitoring/wall_kiosk.html")]
struct WallKiosk {
    page: Page,
    groups: Vec<Group>,
    counts: Counts,
    refresh: u32,
    updated: String,
    normal_url: String,
}

/// The refresh period in seconds: `?refresh=` between 5 and 600, 30 otherwise.
fn refresh_period(v: Option<&str>) -> u32 {
    v.and_then(|s| s.trim().parse::<u32>().ok()).map(|n| n.clamp(5, 600)).unwrap_or(30)
}

/// The hosts' tiles, grouped by wall group (by name; hosts without one last).
fn wall_groups(page: &Page, statuses: &[ServiceStatus]) -> (Vec<Group>, Counts) {
    let mut by_host: Vec<(HostId, Vec<&ServiceStatus>)> = Vec::new();
    for st in statuses {
        match by_host.last_mut() {
            Some((h, list)) if *h == st.host_id => list.push(st),
            _ => by_host.push((st.host_id, vec![st])),
        }
    }
    let mut groups: BTreeMap<(bool, String), Vec<Tile>> = BTreeMap::new();
    let mut counts = Counts::default();
    for (host, checks) in by_host {
        let first = checks[0];
        // The worst check; among equals, an unhandled problem before a handled one.
        let handled = |s: &ServiceStatus| s.acknowledged() || s.in_downtime;
        let worst = checks
            .iter()
            .copied()
            .max_by(|a, b| a.severity().cmp(&b.severity()).then(handled(b).cmp(&handled(a))).then(b.id.cmp(&a.id)))
            .unwrap_or(first);
        let colour = if worst.severity() == 0 { "ok" } else { colour(&worst.state) };
        match colour {
            "ok" => counts.ok += 1,
            "warning" => counts.warning += 1,
            "critical" => counts.critical += 1,
            _ => counts.unknown += 1,
        }
        let (line, check) = if colour == "ok" {
            (page.t("monitoring.wall.all_good").to_owned(), None)
        } else {
            (plain_line(page, worst), (!worst.is_host).then(|| worst.name.clone()))
        };
        let handled = if colour == "ok" {
            None
        } else if worst.in_downtime {
            Some(page.t("monitoring.in_downtime").to_owned())
        } else if worst.acknowledged() {
            Some(page.t("monitoring.acknowledged").to_owned())
        } else {
            None
        };
        let tile = Tile {
            host_id: host.0,
            name: first.host_display_name.clone().unwrap_or_else(|| first.host_name.clone()),
            colour,
            word: page.tk("monitoring.wall.word", colour),
            line,
            check,
            handled,
        };
        let key = match first.wall_group.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
            Some(g) => (false, g.to_owned()),
            None => (true, page.t("monitoring.wall.other").to_owned()),
        };
        groups.entry(key).or_default().push(tile);
    }
    let groups = groups.into_iter().map(|((_, name), tiles)| Group { name, tiles }).collect();
    (groups, counts)
}

async fn wall(ctx: Ctx, ApiQuery(q): ApiQuery<WallQuery>) -> AppResult<Response> {
    require_reader(&ctx)?;
    let now = now_ms();
    let mut c = ctx.state.store.read().await?;
    let filter = StatusFilter { entities: readable(&ctx), ..StatusFilter::default() };
    let statuses = status::statuses(&mut c, &filter, now).await?;
    drop(c);
    let page = Page::new(&ctx, "monitoring.wall.title").await;
    let (groups, counts) = wall_groups(&page, &statuses);
    let refresh = refresh_period(q.refresh.as_deref());
    let updated = match chrono::DateTime::from_timestamp_millis(now) {
        Some(t) => t.with_timezone(&Paris).format("%H:%M:%S").to_string(),
        None => String::new(),
    };
    let kiosk = q.kiosk.as_deref().is_some_and(|k| !k.is_empty() && k != "0");
    let mut resp = if kiosk {
        let normal_url = format!("/monitoring?refresh={refresh}");
        render(&WallKiosk { page, groups, counts, refresh, updated, normal_url })
    } else {
        let kiosk_url = format!("/monitoring?kiosk=1&refresh={refresh}");
        render(&WallPage { page, groups, counts, refresh, updated, kiosk_url })
    };
    resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(resp)
}

// ---- problems ----

#[derive(Template)]
#[template(path = "monitoring/problems.html")]
struct ProblemsPage {
    page: Page,
    rows: Vec<CheckRow>,
}

async fn problems(ctx: Ctx) -> AppResult<Response> {
    require_reader(&ctx)?;
    let now = now_ms();
    let mut c = ctx.state.store.read().await?;
    let filter = StatusFilter { entities: readable(&ctx), problems_only: true, ..StatusFilter::default() };
    let statuses = status::statuses(&mut c, &filter, now).await?;
    drop(c);
    let page = Page::new(&ctx, "monitoring.problems.title").await;
    let rows = statuses.iter().map(|s| check_row(&page, s, now)).collect();
    Ok(render(&ProblemsPage { page, rows }))
}

// ---- the service page ----

/// The graph's period.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    fn parse(v: Option<&str>) -> Period {
        match v {
            Some("week") => Period::Week,
            Some("month") => Period::Month,
            _ => Period::Day,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    fn seconds(self) -> i64 {
        match self {
            Period::Day => 86_400,
            Period::Week => 7 * 86_400,
            Period::Month => 30 * 86_400,
        }
    }
}

/// A performance data item as the table shows it.
struct PerfRow {
    label: String,
    value: String,
    warn: String,
    crit: String,
    min: String,
    max: String,
}

/// One series drawn as an SVG line chart (coordinates in the 640 x 240 view box).
struct Graph {
    label: String,
    /// The polyline's points ("x,y x,y ...").
    line: String,
    /// The min/max band's polygon, for roll-ups.
    band: Option<String>,
    /// Threshold lines: (class, y, text).
    thresholds: Vec<(&'static str, String, String)>,
    top: String,
    bottom: String,
    start: String,
    end: String,
    empty: bool,
}

const GRAPH_LEFT: f64 = 72.0;
const GRAPH_TOP: f64 = 10.0;
const GRAPH_WIDTH: f64 = 558.0;
const GRAPH_HEIGHT: f64 = 200.0;

/// The value of a "simple upper bound" threshold (`80`, `~:80`, `0:80`): alert above it.
fn upper_bound(text: Option<&str>) -> Option<f64> {
    let r = Range::parse(text?).ok()?;
    let simple = !r.is_inside() && r.end().is_finite() && (r.start() == 0.0 || r.start() == f64::NEG_INFINITY);
    simple.then(|| r.end())
}

fn graph(page: &Page, s: &Series, from_s: i64, to_s: i64) -> Graph {
    let with_uom = |v: f64| format!("{} {}", decimal(v, 2, page.lang), s.uom).trim_end().to_owned();
    let warn = upper_bound(s.warn.as_deref());
    let crit = upper_bound(s.crit.as_deref());
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for (_, avg, min, max) in &s.points {
        for v in [avg, min, max] {
            if v.is_finite() {
                lo = lo.min(*v);
                hi = hi.max(*v);
            }
        }
    }
    let empty = !lo.is_finite();
    for v in [s.min, s.max, warn, crit].into_iter().flatten().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() || !hi.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if (hi - lo).abs() < f64::EPSILON {
        (lo, hi) = (lo - 1.0, hi + 1.0);
    }
    let span = (to_s - from_s).max(1) as f64;
    let x = |t: i64| GRAPH_LEFT + ((t - from_s) as f64 / span).clamp(0.0, 1.0) * GRAPH_WIDTH;
    let y = |v: f64| GRAPH_TOP + (hi - v) / (hi - lo) * GRAPH_HEIGHT;
    let line =
        s.points.iter().map(|(t, avg, _, _)| format!("{:.1},{:.1}", x(*t), y(*avg))).collect::<Vec<_>>().join(" ");
    let band = (s.step_s > 0 && !s.points.is_empty()).then(|| {
        let upper = s.points.iter().map(|(t, _, _, max)| format!("{:.1},{:.1}", x(*t), y(*max)));
        let lower = s.points.iter().rev().map(|(t, _, min, _)| format!("{:.1},{:.1}", x(*t), y(*min)));
        upper.chain(lower).collect::<Vec<_>>().join(" ")
    });
    let mut thresholds = Vec::new();
    for (class, key, v) in [("warn", "monitoring.graph.warning", warn), ("crit", "monitoring.graph.critical", crit)] {
        if let Some(v) = v {
            thresholds.push((class, format!("{:.1}", y(v)), format!("{} {}", page.t(key), with_uom(v))));
        }
    }
    let time = |s: i64| at(page.lang, s * 1000);
    Graph {
        label: if s.uom.is_empty() { s.label.clone() } else { format!("{} ({})", s.label, s.uom) },
        line,
        band,
        thresholds,
        top: with_uom(hi),
        bottom: with_uom(lo),
        start: time(from_s),
        end: time(to_s),
        empty,
    }
}

/// The series of a check over [from, to). Raw samples are rolled up only once older than
/// [`status::RAW_RETENTION_S`], so a week or a month is read as roll-ups up to then and raw
/// samples after, joined by label: the last two days are not missing from the longer views.
async fn period_series(c: &mut parc_store::Conn, id: ServiceId, from_s: i64, to_s: i64) -> AppResult<Vec<Series>> {
    let cut = to_s - status::RAW_RETENTION_S;
    if from_s >= cut {
        return Ok(status::series(c, id, from_s, to_s, to_s).await?);
    }
    let mut old = status::series(c, id, from_s, cut, to_s).await?;
    for recent in status::series(c, id, cut, to_s, to_s).await? {
        match old.iter_mut().find(|s| s.label == recent.label) {
            Some(s) => s.points.extend(recent.points),
            None => old.push(recent),
        }
    }
    Ok(old)
}

/// Time spent per state over a period.
struct StateTime {
    label: String,
    class: &'static str,
    duration: String,
    share: String,
}

/// A downtime as lists show it.
struct DowntimeRow {
    id: i64,
    what: String,
    start: String,
    end: String,
    author: String,
    comment: String,
}

fn downtime_row(page: &Page, d: &status::Downtime) -> DowntimeRow {
    DowntimeRow {
        id: d.id.0,
        what: d.service_name.clone().unwrap_or_else(|| page.t("monitoring.downtime.whole_host").to_owned()),
        start: at(page.lang, d.start_ms),
        end: at(page.lang, d.end_ms),
        author: d.author.clone(),
        comment: d.comment.clone(),
    }
}

/// What the acknowledgement and downtime forms show again after a refusal.
#[derive(Default)]
struct Refusal {
    /// `ack` or `downtime`.
    form: &'static str,
    errors: ValidationErrors,
    comment: String,
    start: String,
    end: String,
    whole_host: bool,
}

#[derive(Template)]
#[template(path = "monitoring/service.html")]
struct ServicePage {
    page: Page,
    id: i64,
    host_id: i64,
    host_name: String,
    name: String,
    state_label: String,
    class: &'static str,
    state_type: String,
    attempt: i64,
    max_attempts: i64,
    kind: String,
    summary: String,
    last_check: String,
    next_check: String,
    since: String,
    output: String,
    long_output: Option<String>,
    flapping: bool,
    acknowledged: bool,
    ack_by: String,
    in_downtime: bool,
    problem: bool,
    perf: Vec<PerfRow>,
    graphs: Vec<Graph>,
    period: &'static str,
    availability: String,
    states: Vec<StateTime>,
    events: Vec<EventRow>,
    downtimes: Vec<DowntimeRow>,
    can_update: bool,
    refusal: Refusal,
    /// The downtime form's defaults (now and two hours later), local time.
    dt_start: String,
    dt_end: String,
    back: String,
}

impl ServicePage {
    /// The problem with `field` of `form`, if the form was refused.
    fn err(&self, form: &str, field: &str) -> Option<String> {
        if self.refusal.form != form {
            return None;
        }
        self.refusal.errors.for_field(field).map(|f| message(&self.page, f))
    }
}

#[derive(Deserialize)]
struct ServiceQuery {
    period: Option<String>,
    ok: Option<String>,
}

fn local_input(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&Paris).format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

async fn service_page(
    ctx: &Ctx,
    id: i64,
    period: Period,
    flash: Option<&str>,
    refusal: Refusal,
    status_code: StatusCode,
) -> AppResult<Response> {
    let now = now_ms();
    let mut c = ctx.state.store.read().await?;
    let st = visible_status(ctx, &mut c, id, now).await?;
    let to_s = now / 1000;
    let from_s = to_s - period.seconds();
    let series = period_series(&mut c, st.id, from_s, to_s).await?;
    let avail = compute_availability(&mut c, st.id, from_s * 1000, to_s * 1000).await?;
    let events = status::events(&mut c, &[st.entity_id.0], Some(st.id), None, 50).await?;
    let downtimes: Vec<status::Downtime> = status::downtimes(&mut c, &[st.entity_id.0], Some(st.host_id), now)
        .await?
        .into_iter()
        .filter(|d| d.service_id.is_none_or(|s| s == st.id))
        .collect();
    drop(c);
    let can_update = ctx.can(Object::Monitoring, Action::Update, st.entity_id);
    let mut page = Page::new(ctx, "monitoring.service.title").await.with_flash(flash);
    if !refusal.errors.is_empty() {
        page.flash = Some(ctx.tr("common.form_errors").to_owned());
    }
    let host_name = st.host_display_name.clone().unwrap_or_else(|| st.host_name.clone());
    let name = check_name(&page, &st);
    page = page.with_title(format!("{host_name} · {name}"));
    let perf = st
        .perfdata
        .iter()
        .map(|p| {
            let num = |v: Option<f64>| v.map(|v| decimal(v, 3, page.lang)).unwrap_or_default();
            PerfRow {
                label: p.label.clone(),
                value: match p.value {
                    Some(v) => format!("{}{}", decimal(v, 3, page.lang), p.uom.as_str()),
                    None => page.t("monitoring.perf.no_value").to_owned(),
                },
                warn: p.warn.map(|r| r.to_string()).unwrap_or_default(),
                crit: p.crit.map(|r| r.to_string()).unwrap_or_default(),
                min: num(p.min),
                max: num(p.max),
            }
        })
        .collect();
    let graphs = series.iter().map(|s| graph(&page, s, from_s, to_s)).collect();
    let total = (avail.to_ms - avail.from_ms).max(1);
    let mut states: Vec<(&String, &i64)> = avail.durations_ms.iter().filter(|(_, d)| **d > 0).collect();
    states.sort_by_key(|(s, _)| std::cmp::Reverse(service_state(s).map_or(0, |x| x.severity())));
    let states = states
        .into_iter()
        .map(|(s, d)| StateTime {
            label: state_label(&page, s),
            class: colour(s),
            duration: human_duration(&page, *d),
            share: percent(Some(*d as f64 * 100.0 / total as f64), &page),
        })
        .collect();
    let events = events.iter().map(|e| event_row(&page, e)).collect();
    let downtimes = downtimes.iter().map(|d| downtime_row(&page, d)).collect();
    let back = format!("/monitoring/services/{}", st.id);
    let view = ServicePage {
        id: st.id.0,
        host_id: st.host_id.0,
        host_name,
        name,
        state_label: state_label(&page, &st.state),
        class: colour(&st.state),
        state_type: page.tk("monitoring.state_type", &st.state_type),
        attempt: st.attempt,
        max_attempts: st.max_attempts,
        kind: page.tk("monitoring.kind", &st.check_kind),
        summary: st.check_summary.clone(),
        last_check: at_opt(&page, st.last_check_ms),
        next_check: if st.enabled { at(page.lang, st.next_check_ms) } else { page.t("monitoring.disabled").to_owned() },
        since: st.last_state_change_ms.map(|t| human_duration(&page, now - t)).unwrap_or_default(),
        output: st.output.clone().unwrap_or_default(),
        long_output: st.long_output.clone(),
        flapping: st.flapping,
        acknowledged: st.acknowledged(),
        ack_by: match (&st.ack_author, &st.ack_comment) {
            (Some(a), Some(c)) => format!("{a} : {c}"),
            (Some(a), None) => a.clone(),
            _ => String::new(),
        },
        in_downtime: st.in_downtime,
        problem: st.severity() >= 2,
        perf,
        graphs,
        period: period.code(),
        availability: percent(avail.availability_percent, &page),
        states,
        events,
        downtimes,
        can_update,
        refusal,
        dt_start: local_input(now),
        dt_end: local_input(now + 2 * 3_600_000),
        back,
        page,
    };
    Ok(render_status(status_code, &view))
}

async fn service_show(ctx: Ctx, ApiPath(id): ApiPath<i64>, ApiQuery(q): ApiQuery<ServiceQuery>) -> AppResult<Response> {
    require_reader(&ctx)?;
    service_page(&ctx, id, Period::parse(q.period.as_deref()), q.ok.as_deref(), Refusal::default(), StatusCode::OK)
        .await
}

#[derive(Deserialize)]
struct AckForm {
    comment: Option<String>,
    sticky: Option<String>,
}

async fn acknowledge(ApiPath(id): ApiPath<i64>, CsrfForm(ctx, f): CsrfForm<AckForm>) -> AppResult<Response> {
    let mut tx = ctx.state.store.write().await?;
    let s = visible_service(&ctx, &mut tx, id, Action::Update).await?;
    let input = AckInput { comment: f.comment.clone(), sticky: Some(f.sticky.is_some()) };
    match status::acknowledge(&mut tx, &ctx.actor(), s.id, &input).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(&format!("/monitoring/services/{id}"), Some("monitoring.flash.acknowledged")))
        }
        Err(StoreError::Validation(errors)) => {
            drop(tx);
            let refusal = Refusal { form: "ack", errors, comment: f.comment.unwrap_or_default(), ..Refusal::default() };
            service_page(&ctx, id, Period::Day, None, refusal, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct EmptyForm {}

async fn unacknowledge(ApiPath(id): ApiPath<i64>, CsrfForm(ctx, _): CsrfForm<EmptyForm>) -> AppResult<Response> {
    let mut tx = ctx.state.store.write().await?;
    let s = visible_service(&ctx, &mut tx, id, Action::Update).await?;
    status::unacknowledge(&mut tx, &ctx.actor(), s.id).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/monitoring/services/{id}"), Some("monitoring.flash.unacknowledged")))
}

#[derive(Deserialize)]
struct DowntimeForm {
    start: Option<String>,
    end: Option<String>,
    comment: Option<String>,
    /// `host` for the whole host, else this check only.
    scope: Option<String>,
}

/// A `datetime-local` value (wall-clock time in Europe/Paris) as RFC 3339. A time that does
/// not exist (the spring-forward gap) is refused; an ambiguous one takes the earlier instant.
/// Empty gives `None` (the store says it is required).
fn paris_to_rfc3339(errors: &mut ValidationErrors, field: &str, value: Option<&str>) -> Option<String> {
    let s = value.map(str::trim).filter(|s| !s.is_empty())?;
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .ok();
    match naive.and_then(|n| Paris.from_local_datetime(&n).earliest()) {
        Some(t) => Some(t.with_timezone(&Utc).to_rfc3339()),
        None => {
            errors.add(field, "datetime", "must be a date and time");
            None
        }
    }
}

async fn downtime_create(ApiPath(id): ApiPath<i64>, CsrfForm(ctx, f): CsrfForm<DowntimeForm>) -> AppResult<Response> {
    let whole_host = f.scope.as_deref() == Some("host");
    let refusal = |errors: ValidationErrors| Refusal {
        form: "downtime",
        errors,
        comment: f.comment.clone().unwrap_or_default(),
        start: f.start.clone().unwrap_or_default(),
        end: f.end.clone().unwrap_or_default(),
        whole_host,
    };
    let mut tx = ctx.state.store.write().await?;
    let s = visible_service(&ctx, &mut tx, id, Action::Update).await?;
    if whole_host {
        visible_host(&ctx, &mut tx, s.host_id.0, Action::Update).await?;
    }
    let mut errors = ValidationErrors::new();
    let start = paris_to_rfc3339(&mut errors, "start", f.start.as_deref());
    let end = paris_to_rfc3339(&mut errors, "end", f.end.as_deref());
    let result = if errors.is_empty() {
        let input = DowntimeInput {
            host_id: whole_host.then_some(s.host_id.0),
            service_id: (!whole_host).then_some(s.id.0),
            start,
            end,
            comment: f.comment.clone(),
        };
        status::create_downtime(&mut tx, &ctx.actor(), &input).await
    } else {
        Err(StoreError::Validation(errors))
    };
    match result {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(&format!("/monitoring/services/{id}"), Some("monitoring.flash.downtime_created")))
        }
        Err(StoreError::Validation(errors)) => {
            drop(tx);
            service_page(&ctx, id, Period::Day, None, refusal(errors), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct CancelForm {
    /// The monitoring page to come back to.
    back: Option<String>,
}

async fn downtime_cancel(ApiPath(id): ApiPath<i64>, CsrfForm(ctx, f): CsrfForm<CancelForm>) -> AppResult<Response> {
    let mut tx = ctx.state.store.write().await?;
    let d = visible_downtime(&ctx, &mut tx, id, Action::Update).await?;
    status::cancel_downtime(&mut tx, &ctx.actor(), d.id).await?;
    tx.commit().await?;
    // Only back to a page of this module (never an address from elsewhere).
    let back = f
        .back
        .filter(|b| b.starts_with("/monitoring/") && !b.contains("//") && !b.contains('\\'))
        .unwrap_or_else(|| format!("/monitoring/hosts/{}", d.host_id));
    Ok(see_other(&back, Some("monitoring.flash.downtime_cancelled")))
}

// ---- the host page ----

#[derive(Template)]
#[template(path = "monitoring/host.html")]
struct HostPage {
    page: Page,
    h: monitoring::Host,
    state_label: String,
    class: &'static str,
    parents: Vec<(i64, String)>,
    rows: Vec<CheckRow>,
    downtimes: Vec<DowntimeRow>,
    events: Vec<EventRow>,
    can_update: bool,
    back: String,
}

async fn host_show(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    require_reader(&ctx)?;
    let now = now_ms();
    let mut c = ctx.state.store.read().await?;
    let h = visible_host(&ctx, &mut c, id, Action::Read).await?;
    let mut parents = Vec::new();
    for p in &h.parents {
        if let Some(ph) = monitoring::host(&mut c, *p).await? {
            if ctx.can(Object::Monitoring, Action::Read, ph.entity_id) {
                parents.push((ph.id.0, ph.display_name.unwrap_or(ph.name)));
            }
        }
    }
    let filter = StatusFilter { entities: vec![h.entity_id.0], host: Some(h.id), ..StatusFilter::default() };
    let statuses = status::statuses(&mut c, &filter, now).await?;
    let downtimes = status::downtimes(&mut c, &[h.entity_id.0], Some(h.id), now).await?;
    let mut events: Vec<StateEvent> = Vec::new();
    for st in &statuses {
        events.extend(status::events(&mut c, &[h.entity_id.0], Some(st.id), None, 30).await?);
    }
    drop(c);
    events.sort_by_key(|e| std::cmp::Reverse(e.at_ms));
    events.truncate(30);
    let can_update = ctx.can(Object::Monitoring, Action::Update, h.entity_id);
    let title = h.display_name.clone().unwrap_or_else(|| h.name.clone());
    let page = Page::new(&ctx, "monitoring.host.title").await.with_title(title);
    let rows = statuses.iter().map(|s| check_row(&page, s, now)).collect();
    let downtimes = downtimes.iter().map(|d| downtime_row(&page, d)).collect();
    let events = events.iter().map(|e| event_row(&page, e)).collect();
    let back = format!("/monitoring/hosts/{}", h.id);
    Ok(render(&HostPage {
        state_label: state_label(&page, &h.state),
        class: colour(&h.state),
        page,
        h,
        parents,
        rows,
        downtimes,
        events,
        can_update,
        back,
    }))
}

// ---- the state-change log ----

#[derive(Deserialize)]
struct LogQuery {
    before_ms: Option<i64>,
}

#[derive(Template)]
#[template(path = "monitoring/log.html")]
struct LogPage {
    page: Page,
    events: Vec<EventRow>,
    older: Option<String>,
    newest: bool,
}

const LOG_PAGE: i64 = 50;

async fn log(ctx: Ctx, ApiQuery(q): ApiQuery<LogQuery>) -> AppResult<Response> {
    require_reader(&ctx)?;
    let mut c = ctx.state.store.read().await?;
    let events = status::events(&mut c, &readable(&ctx), None, q.before_ms, LOG_PAGE).await?;
    drop(c);
    let older = (events.len() as i64 == LOG_PAGE)
        .then(|| events.last().map(|e| format!("/monitoring/log?before_ms={}", e.at_ms)))
        .flatten();
    let page = Page::new(&ctx, "monitoring.log.title").await;
    let events = events.iter().map(|e| event_row(&page, e)).collect();
    Ok(render(&LogPage { page, events, older, newest: q.before_ms.is_none() }))
}

// ---- availability ----

#[derive(Deserialize)]
struct AvailabilityQuery {
    from: Option<String>,
    to: Option<String>,
}

struct AvailabilityRow {
    host_id: i64,
    host_name: String,
    service_id: i64,
    name: String,
    is_host: bool,
    percent: String,
    class: &'static str,
    problem: String,
    unknown: String,
}

#[derive(Template)]
#[template(path = "monitoring/availability.html")]
struct AvailabilityPage {
    page: Page,
    from: String,
    to: String,
    rows: Vec<AvailabilityRow>,
    errors: ValidationErrors,
}

impl AvailabilityPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.for_field(field).map(|f| message(&self.page, f))
    }
}

/// The most days one availability report covers.
const MAX_DAYS: i64 = 400;

/// Midnight of a day in Europe/Paris, in epoch milliseconds.
fn paris_midnight(d: NaiveDate) -> Option<i64> {
    Paris.from_local_datetime(&d.and_hms_opt(0, 0, 0)?).earliest().map(|t| t.timestamp_millis())
}

/// The report's bounds: `from` 00:00 to the day after `to` 00:00 (Europe/Paris), at most now.
fn report_period(
    errors: &mut ValidationErrors,
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
    now: i64,
) -> (NaiveDate, NaiveDate, Option<(i64, i64)>) {
    let mut day = |field: &str, v: Option<&str>, default: NaiveDate| match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => default,
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|_| {
            errors.add(field, "date", "must be a date (YYYY-MM-DD)");
            default
        }),
    };
    let to_day = day("to", to, today - chrono::Duration::days(1));
    let from_day = day("from", from, today - chrono::Duration::days(30));
    if !errors.is_empty() {
        return (from_day, to_day, None);
    }
    if to_day < from_day {
        errors.add("to", "period_end_before_start", "must not be before the start");
    } else if (to_day - from_day).num_days() >= MAX_DAYS {
        errors.add("from", "period_too_long", "a report covers at most 400 days");
    }
    let bounds = match (paris_midnight(from_day), paris_midnight(to_day + chrono::Duration::days(1))) {
        (Some(a), Some(b)) if errors.is_empty() => Some((a, b.min(now))),
        _ => None,
    };
    if bounds.is_some_and(|(a, b)| a >= b) {
        errors.add("from", "period_in_future", "the period has not started yet");
        return (from_day, to_day, None);
    }
    (from_day, to_day, bounds)
}

async fn availability(ctx: Ctx, ApiQuery(q): ApiQuery<AvailabilityQuery>) -> AppResult<Response> {
    require_reader(&ctx)?;
    let now = now_ms();
    let today = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default().with_timezone(&Paris).date_naive();
    let mut errors = ValidationErrors::new();
    let (from_day, to_day, bounds) = report_period(&mut errors, q.from.as_deref(), q.to.as_deref(), today, now);
    let page = Page::new(&ctx, "monitoring.availability.title").await;
    let mut rows = Vec::new();
    if let Some((from, to)) = bounds {
        let mut c = ctx.state.store.read().await?;
        let filter = StatusFilter { entities: readable(&ctx), ..StatusFilter::default() };
        let statuses = status::statuses(&mut c, &filter, now).await?;
        for st in &statuses {
            let a = compute_availability(&mut c, st.id, from, to).await?;
            let problem: i64 = a
                .durations_ms
                .iter()
                .filter(|(s, _)| !matches!(s.as_str(), "OK" | "UP" | "PENDING"))
                .map(|(_, d)| *d)
                .sum();
            let unknown = a.durations_ms.get("PENDING").copied().unwrap_or(0);
            let class = match a.availability_percent {
                None => "unknown",
                Some(p) if p >= 99.0 => "ok",
                Some(p) if p >= 95.0 => "warning",
                Some(_) => "critical",
            };
            rows.push(AvailabilityRow {
                host_id: st.host_id.0,
                host_name: st.host_display_name.clone().unwrap_or_else(|| st.host_name.clone()),
                service_id: st.id.0,
                name: check_name(&page, st),
                is_host: st.is_host,
                percent: percent(a.availability_percent, &page),
                class,
                problem: human_duration(&page, problem),
                unknown: if unknown > 0 { human_duration(&page, unknown) } else { String::new() },
            });
        }
    }
    let status_code = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let mut page = page;
    if !errors.is_empty() {
        page.flash = Some(ctx.tr("common.form_errors").to_owned());
    }
    let view = AvailabilityPage {
        page,
        from: q.from.filter(|_| bounds.is_none()).unwrap_or_else(|| from_day.to_string()),
        to: q.to.filter(|_| bounds.is_none()).unwrap_or_else(|| to_day.to_string()),
        rows,
        errors,
    };
    Ok(render_status(status_code, &view).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_is_bounded() {
        assert_eq!(refresh_period(None), 30);
        assert_eq!(refresh_period(Some("2")), 5);
        assert_eq!(refresh_period(Some("60")), 60);
        assert_eq!(refresh_period(Some("9999")), 600);
        assert_eq!(refresh_period(Some("abc")), 30);
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(thousands(1200, Lang::Fr), "1\u{a0}200");
        assert_eq!(thousands(1_234_567, Lang::En), "1,234,567");
        assert_eq!(thousands(999, Lang::Fr), "999");
        assert_eq!(decimal(12.5, 2, Lang::Fr), "12,5");
        assert_eq!(decimal(12.0, 2, Lang::En), "12");
        assert_eq!(decimal(99.954, 2, Lang::En), "99.95");
    }

    #[test]
    fn simple_upper_bounds_only() {
        assert_eq!(upper_bound(Some("16384")), Some(16384.0));
        assert_eq!(upper_bound(Some("~:80")), Some(80.0));
        assert_eq!(upper_bound(Some("10:20")), None);
        assert_eq!(upper_bound(Some("@0:80")), None);
        assert_eq!(upper_bound(Some("10:")), None);
        assert_eq!(upper_bound(None), None);
    }

    #[test]
    fn downtime_times_are_paris_wall_clock() {
        let mut e = ValidationErrors::new();
        let winter = paris_to_rfc3339(&mut e, "start", Some("2026-01-15T09:30")).unwrap();
        assert_eq!(chrono::DateTime::parse_from_rfc3339(&winter).unwrap().timestamp(), 1_768_465_800);
        assert!(e.is_empty());
        assert_eq!(paris_to_rfc3339(&mut e, "start", Some("2026-03-29T02:30")), None);
        assert_eq!(e.for_field("start").unwrap().code, "datetime");
    }

    #[test]
    fn report_period_defaults_and_refusals() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        let mut e = ValidationErrors::new();
        let now = paris_midnight(today).unwrap() + 3_600_000;
        let (from, to, bounds) = report_period(&mut e, None, None, today, now);
        assert_eq!((from.to_string(), to.to_string()), ("2026-03-01".into(), "2026-03-30".into()));
        assert!(e.is_empty() && bounds.is_some());
        let (_, _, bounds) = report_period(&mut e, Some("2026-03-10"), Some("2026-03-01"), today, now);
        assert!(bounds.is_none());
        assert_eq!(e.for_field("to").unwrap().code, "period_end_before_start");
        let mut e = ValidationErrors::new();
        report_period(&mut e, Some("hier"), None, today, now);
        assert_eq!(e.for_field("from").unwrap().code, "date");
    }
}
