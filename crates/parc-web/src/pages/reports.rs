//! Helpdesk dashboard and reports: `/helpdesk` counts the open tickets the caller reads (by
//! priority, status, technician, group, SLA at risk and breached), each number linking to the
//! ticket list filtered the same way; `/helpdesk/reports` shows time spent per technician and
//! per category per month (hours:minutes) and tickets opened, solved and rated per month over a
//! chosen period, and `/helpdesk/reports.xlsx` exports them as one workbook.
//!
//! The same functions serve the JSON API (`api/reports.rs`). The dashboard covers the caller's
//! ticket scope (a requester counts their own tickets, as their list shows them); reports cover
//! the entities where the caller reads every ticket, and are refused (403) to anyone else.

use super::{render_status, Page};
use crate::api::ApiQuery;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::AppState;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{Datelike, NaiveDate, Utc};
use parc_core::permissions::{Action, Object};
use parc_core::ValidationErrors;
use parc_docs::table::{write_workbook, Cell, Sheet};
use parc_store::helpdesk::reports::{self, Count, Dashboard, MonthTickets, Months, Summary, TimeReport, TimeRow};
use parc_store::Conn;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/helpdesk", get(dashboard_page))
        .route("/helpdesk/reports", get(reports_page))
        .route("/helpdesk/reports.xlsx", get(reports_xlsx))
}

// ---- shared with the API ----

/// The dashboard of the tickets the caller reads (403 for a profile that reads none).
pub(crate) async fn dashboard(ctx: &Ctx) -> AppResult<Dashboard> {
    let scope = ctx.scope(Object::Ticket, Action::Read);
    if scope.is_empty() {
        return Err(AppError::Forbidden("your profile does not read tickets".into()));
    }
    let mut c = ctx.state.store.read().await?;
    Ok(reports::dashboard(&mut c, ctx.state.store.backend(), &scope, ctx.user.id, Utc::now()).await?)
}

/// The entities the reports cover: where the caller reads every ticket.
fn report_entities(ctx: &Ctx) -> AppResult<Vec<i64>> {
    let full: Vec<i64> = ctx.scope(Object::Ticket, Action::Read).full.into_iter().map(|e| e.0).collect();
    if full.is_empty() {
        return Err(AppError::Forbidden("reports are for the staff who handle tickets".into()));
    }
    Ok(full)
}

/// The reports of a period.
pub(crate) struct Report {
    pub months: Months,
    pub time: TimeReport,
    pub tickets: Vec<MonthTickets>,
}

/// The reports from month `from` to month `to` (`YYYY-MM`, default: the last twelve months).
pub(crate) async fn report(ctx: &Ctx, from: Option<&str>, to: Option<&str>) -> AppResult<Report> {
    let entities = report_entities(ctx)?;
    let months = Months::parse(from, to, Utc::now())?;
    let mut c = ctx.state.store.read().await?;
    let time = reports::time_spent(&mut c, &entities, &months).await?;
    let tickets = reports::tickets_per_month(&mut c, &entities, &months).await?;
    Ok(Report { months, time, tickets })
}

/// "janv. 2026".
fn month_label(ctx: &Ctx, d: NaiveDate) -> String {
    let key = format!("reports.month.{}", d.month());
    format!("{} {}", ctx.state.i18n.t(ctx.lang, &key), d.year())
}

fn hours(minutes: i64) -> Cell<'static> {
    Cell::Decimal(minutes as f64 / 60.0)
}

/// Rows of a time sheet: name, hours per month, total; then the totals row.
fn time_rows<'a>(rows: &'a [TimeRow], none: &'a str, total: &'a str, t: &'a TimeReport) -> Vec<Vec<Cell<'a>>> {
    let line = |label: &'a str, minutes: &'a [i64], sum: i64| {
        let mut row = vec![Cell::Text(label)];
        row.extend(minutes.iter().map(|m| hours(*m)));
        row.push(hours(sum));
        row
    };
    let mut out: Vec<Vec<Cell<'a>>> =
        rows.iter().map(|r| line(r.name.as_deref().unwrap_or(none), &r.minutes, r.total_minutes)).collect();
    out.push(line(total, &t.total_minutes, t.grand_total_minutes));
    out
}

/// The reports as an XLSX workbook: time per technician, time per category (in hours), tickets
/// per month; headers in the caller's language.
pub(crate) fn workbook(ctx: &Ctx, r: &Report) -> AppResult<Vec<u8>> {
    let t = |k: &'static str| ctx.state.i18n.t(ctx.lang, k);
    let months: Vec<String> = r.months.starts().into_iter().map(|d| month_label(ctx, d)).collect();
    let header = |first: &str| -> Vec<String> {
        std::iter::once(first.to_owned())
            .chain(months.iter().cloned())
            .chain([t("reports.total_hours").to_owned()])
            .collect()
    };
    let (by_tech, by_cat) = (header(t("reports.technician")), header(t("reports.category")));
    let ticket_headers: Vec<String> =
        ["reports.month_col", "reports.opened", "reports.solved", "reports.rated", "reports.satisfaction"]
            .into_iter()
            .map(|k| t(k).to_owned())
            .collect();
    let ticket_rows = r
        .tickets
        .iter()
        .zip(&months)
        .map(|(m, label)| {
            vec![
                Cell::Text(label),
                Cell::Number(m.opened as f64),
                Cell::Number(m.solved as f64),
                Cell::Number(m.rated as f64),
                m.satisfaction.map_or(Cell::Text(""), Cell::Decimal),
            ]
        })
        .collect();
    let total = t("reports.total");
    let sheets = [
        Sheet {
            name: t("reports.sheet_technicians"),
            headers: &by_tech,
            rows: time_rows(&r.time.by_technician, t("reports.nobody"), total, &r.time),
        },
        Sheet {
            name: t("reports.sheet_categories"),
            headers: &by_cat,
            rows: time_rows(&r.time.by_category, t("reports.no_category"), total, &r.time),
        },
        Sheet { name: t("reports.sheet_tickets"), headers: &ticket_headers, rows: ticket_rows },
    ];
    write_workbook(&sheets).map_err(|e| AppError::Internal(format!("report workbook: {e}")))
}

/// The XLSX download of a report.
pub(crate) fn xlsx_response(bytes: Vec<u8>) -> Response {
    super::io::file_response(bytes, super::io::XLSX_TYPE, "attachment", "parc-helpdesk-reports", "xlsx")
}

/// The helpdesk box of the home dashboard (`None` for a profile that reads no tickets).
pub(crate) async fn summary(ctx: &Ctx, c: &mut Conn) -> AppResult<Option<Summary>> {
    let scope = ctx.scope(Object::Ticket, Action::Read);
    if scope.is_empty() {
        return Ok(None);
    }
    Ok(Some(reports::summary(c, ctx.state.store.backend(), &scope, ctx.user.id, Utc::now()).await?))
}

// ---- the dashboard page ----

/// One linked number of the dashboard.
struct Line {
    label: String,
    href: String,
    count: i64,
}

/// A card of the dashboard: its title (catalogue key) and lines.
struct Section {
    title: &'static str,
    lines: Vec<Line>,
}

#[derive(Template)]
#[template(path = "helpdesk/dashboard.html")]
struct DashboardPage {
    page: Page,
    d: Dashboard,
    sections: Vec<Section>,
    unassigned: i64,
    reports: bool,
}

/// Lines of assignees linking to `/tickets?<param>=<id>` (`none` for nobody).
fn assignee_lines(counts: &[Count], param: &str, nobody: &str) -> Vec<Line> {
    counts
        .iter()
        .map(|x| Line {
            label: x.name.clone().unwrap_or_else(|| nobody.to_owned()),
            href: format!("/tickets?{param}={}", x.id.map_or("none".to_owned(), |i| i.to_string())),
            count: x.count,
        })
        .collect()
}

async fn dashboard_page(ctx: Ctx) -> AppResult<Response> {
    let d = dashboard(&ctx).await?;
    let page = Page::new(&ctx, "reports.dashboard").await;
    let by_priority = d
        .by_priority
        .iter()
        .filter_map(|x| x.id.map(|p| (p, x.count)))
        .map(|(p, count)| Line {
            label: format!("{p} – {}", page.tk("helpdesk.priority", &p.to_string())),
            href: format!("/tickets?priority={p}"),
            count,
        })
        .collect();
    let by_status = d
        .by_status
        .iter()
        .filter_map(|x| x.name.as_deref().map(|s| (s, x.count)))
        .map(|(s, count)| Line { label: page.tk("ticket_status", s), href: format!("/tickets?status={s}"), count })
        .collect();
    let by_technician = assignee_lines(&d.by_technician, "technician", page.t("reports.unassigned"));
    let by_group = assignee_lines(&d.by_group, "group", page.t("reports.no_group"));
    let unassigned = d.by_technician.iter().find(|x| x.id.is_none()).map_or(0, |x| x.count);
    let reports = !ctx.scope(Object::Ticket, Action::Read).full.is_empty();
    let sections = vec![
        Section { title: "reports.by_priority", lines: by_priority },
        Section { title: "reports.by_status", lines: by_status },
        Section { title: "reports.by_technician", lines: by_technician },
        Section { title: "reports.by_group", lines: by_group },
    ];
    Ok(render_status(StatusCode::OK, &DashboardPage { page, d, sections, unassigned, reports }))
}

// ---- the reports page ----

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PeriodQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A row of a time table: label, hours:minutes per month ("" for none), total.
struct TimeLine {
    label: String,
    cells: Vec<String>,
    total: String,
}

/// "12:05": hours and minutes.
fn hm(minutes: i64) -> String {
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

fn time_lines(rows: &[TimeRow], none: &str) -> Vec<TimeLine> {
    rows.iter()
        .map(|r| TimeLine {
            label: r.name.clone().unwrap_or_else(|| none.to_owned()),
            cells: r.minutes.iter().map(|m| if *m == 0 { String::new() } else { hm(*m) }).collect(),
            total: hm(r.total_minutes),
        })
        .collect()
}

struct TicketLine {
    month: String,
    opened: i64,
    solved: i64,
    rated: i64,
    satisfaction: String,
}

/// A time table: title and first column (catalogue keys), rows.
struct TimeTable {
    title: &'static str,
    first: &'static str,
    lines: Vec<TimeLine>,
}

/// A report ready to show.
struct ReportView {
    months: Vec<String>,
    tables: Vec<TimeTable>,
    totals: TimeLine,
    tickets: Vec<TicketLine>,
    xlsx: String,
}

#[derive(Template)]
#[template(path = "helpdesk/reports.html")]
struct ReportsPage {
    page: Page,
    from: String,
    to: String,
    errors: ValidationErrors,
    report: Option<ReportView>,
}

impl ReportsPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.for_field(field).map(|f| super::tickets::message(&self.page, f))
    }
}

fn view(ctx: &Ctx, page: &Page, r: &Report) -> ReportView {
    let months: Vec<String> = r.months.starts().into_iter().map(|d| month_label(ctx, d)).collect();
    let (from, to) = (reports::month_key(r.months.first()), reports::month_key(r.months.last()));
    let decimal = |v: f64| match ctx.lang {
        Lang::Fr => format!("{v:.1}").replace('.', ","),
        Lang::En => format!("{v:.1}"),
    };
    ReportView {
        tables: vec![
            TimeTable {
                title: "reports.time_by_technician",
                first: "reports.technician",
                lines: time_lines(&r.time.by_technician, page.t("reports.nobody")),
            },
            TimeTable {
                title: "reports.time_by_category",
                first: "reports.category",
                lines: time_lines(&r.time.by_category, page.t("reports.no_category")),
            },
        ],
        totals: TimeLine {
            label: page.t("reports.total").to_owned(),
            cells: r.time.total_minutes.iter().map(|m| hm(*m)).collect(),
            total: hm(r.time.grand_total_minutes),
        },
        tickets: r
            .tickets
            .iter()
            .zip(&months)
            .map(|(m, label)| TicketLine {
                month: label.clone(),
                opened: m.opened,
                solved: m.solved,
                rated: m.rated,
                satisfaction: m.satisfaction.map(decimal).unwrap_or_default(),
            })
            .collect(),
        months,
        xlsx: format!("/helpdesk/reports.xlsx?from={from}&to={to}"),
    }
}

async fn reports_page(ctx: Ctx, ApiQuery(q): ApiQuery<PeriodQuery>) -> AppResult<Response> {
    let result = report(&ctx, q.from.as_deref(), q.to.as_deref()).await;
    let mut page = Page::new(&ctx, "reports.title").await;
    let (status, errors, report) = match result {
        Ok(r) => (StatusCode::OK, ValidationErrors::new(), Some(r)),
        Err(AppError::Validation(e)) => {
            page.flash = Some(ctx.tr("common.form_errors").to_owned());
            (StatusCode::UNPROCESSABLE_ENTITY, e, None)
        }
        Err(e) => return Err(e),
    };
    let (from, to) = match &report {
        Some(r) => (reports::month_key(r.months.first()), reports::month_key(r.months.last())),
        None => (q.from.unwrap_or_default(), q.to.unwrap_or_default()),
    };
    let report = report.as_ref().map(|r| view(&ctx, &page, r));
    Ok(render_status(status, &ReportsPage { page, from, to, errors, report }))
}

async fn reports_xlsx(ctx: Ctx, ApiQuery(q): ApiQuery<PeriodQuery>) -> AppResult<Response> {
    let r = report(&ctx, q.from.as_deref(), q.to.as_deref()).await?;
    Ok(xlsx_response(workbook(&ctx, &r)?))
}

#[cfg(test)]
mod tests {
    use super::hm;

    #[test]
    fn hours_and_minutes() {
        assert_eq!(hm(0), "0:00");
        assert_eq!(hm(45), "0:45");
        assert_eq!(hm(605), "10:05");
    }
}
