//! /api/v1/helpdesk/dashboard and /api/v1/helpdesk/reports/time(.xlsx): the figures of the
//! `/helpdesk` and `/helpdesk/reports` pages (`crate::pages::reports`), for scripts.

use super::ApiQuery;
use crate::auth::Ctx;
use crate::error::{AppResult, ErrorBody};
use crate::pages::reports::{self as pages, PeriodQuery};
use crate::AppState;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use parc_store::helpdesk::reports::{month_key, Count, Dashboard, MonthTickets, TimeReport, TimeRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(dashboard, time_report, time_report_xlsx),
    components(schemas(Dashboard, Count, TimeReportBody, TimeReport, TimeRow, MonthTickets, XlsxFile))
)]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/helpdesk/dashboard", get(dashboard))
        .route("/helpdesk/reports/time", get(time_report))
        .route("/helpdesk/reports/time.xlsx", get(time_report_xlsx))
}

/// Open tickets (new, assigned, planned, pending) the caller reads, counted by priority,
/// status, technician and group, with how many have their SLA at risk or breached now. Each
/// count is the total of `GET /tickets` with the matching filter (`priority`, `status`,
/// `assignee_user_id`, `assignee_group_id` — 0 for nobody —, `sla`).
#[utoipa::path(get, path = "/helpdesk/dashboard", tag = "reports",
    responses((status = 200, body = Dashboard), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn dashboard(ctx: Ctx) -> AppResult<Json<Dashboard>> {
    Ok(Json(pages::dashboard(&ctx).await?))
}

/// The period of a report: whole months in Europe/Paris time, both included.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PeriodParams {
    /// First month, `YYYY-MM` (a date `YYYY-MM-DD` names its month); default: eleven months
    /// before `to`.
    from: Option<String>,
    /// Last month, `YYYY-MM`; default: the current month. At most 60 months in all.
    to: Option<String>,
}

/// The reports of a period.
#[derive(Serialize, ToSchema)]
pub struct TimeReportBody {
    /// First and last month, `YYYY-MM`.
    pub from: String,
    pub to: String,
    pub time: TimeReport,
    /// Tickets opened, solved and rated per month.
    pub tickets: Vec<MonthTickets>,
}

/// An XLSX workbook.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct XlsxFile(Vec<u8>);

/// Time spent on the tickets of the entities where the caller reads every ticket, per month:
/// per technician (a task's technician, else its author) and per category of its ticket, in
/// minutes; a task counts in the month it was done, or recorded when it is not done. Also the
/// tickets opened, solved and rated (average satisfaction) per month.
#[utoipa::path(get, path = "/helpdesk/reports/time", tag = "reports", params(PeriodParams),
    responses((status = 200, body = TimeReportBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn time_report(ctx: Ctx, ApiQuery(q): ApiQuery<PeriodQuery>) -> AppResult<Json<TimeReportBody>> {
    let r = pages::report(&ctx, q.from.as_deref(), q.to.as_deref()).await?;
    Ok(Json(TimeReportBody {
        from: month_key(r.months.first()),
        to: month_key(r.months.last()),
        time: r.time,
        tickets: r.tickets,
    }))
}

/// The same reports as an XLSX workbook (headers in the caller's language): time per
/// technician and per category in hours (decimal), tickets per month.
#[utoipa::path(get, path = "/helpdesk/reports/time.xlsx", tag = "reports", params(PeriodParams),
    responses(
        (status = 200, description = "The workbook, as an attachment", body = XlsxFile,
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn time_report_xlsx(ctx: Ctx, ApiQuery(q): ApiQuery<PeriodQuery>) -> AppResult<Response> {
    let r = pages::report(&ctx, q.from.as_deref(), q.to.as_deref()).await?;
    Ok(pages::xlsx_response(pages::workbook(&ctx, &r)?))
}
