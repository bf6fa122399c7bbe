//! Campaign pages (issue 6): the list and the new-campaign form (expected list from an asset
//! filter or an uploaded CSV/XLSX export), the scanning page a technician keeps open on a phone
//! or a laptop (`static/campaign.js`: scans through the API with a colour and a sound per
//! outcome, the camera where the browser reads barcodes, other technicians' scans polled every
//! two seconds; without JS each scan is a plain form post), per-item steps and pairs, and the
//! closing page where the principal signs the report.

use super::attachments::{self, FormWithFiles};
use super::{field_errors, render_status, see_other, Page};
use crate::auth::Ctx;
use crate::campaigns::{self as web, CampaignInput, ListSource};
use crate::error::{AppError, AppResult};
use crate::forms::CsrfForm;
use crate::AppState;
use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use parc_core::assets::AssetStatus;
use parc_core::campaigns::{CampaignKind, CampaignStatus, ScanOutcome};
use parc_core::permissions::{Action, Object};
use parc_core::validate::ValidationErrors;
use parc_core::FieldError;
use parc_core::{CampaignId, CampaignItemId};
use parc_store::campaigns::{self, Campaign, Item, Scan};
use parc_store::{entities, locations};
use serde::Deserialize;

const JS: &str = include_str!("../../static/campaign.js");
const CSS: &str = include_str!("../../static/campaign.css");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list_page))
        .route("/campaigns/new", post(create).layer(DefaultBodyLimit::max(attachments::UPLOAD_BODY_MAX)))
        .route("/campaigns/{id}", get(show))
        .route("/campaigns/{id}/scan", post(scan_form))
        .route("/campaigns/{id}/items/{item}/step", post(step_form))
        .route("/campaigns/{id}/items/{item}/replacement", post(replacement_form))
        .route("/campaigns/{id}/close", get(close_page).post(close_form))
        .route("/campaigns/{id}/report.pdf", get(report_pdf))
        .route("/static/campaign.js", get(js))
        .route("/static/campaign.css", get(css))
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

async fn js() -> Response {
    static_file("text/javascript; charset=utf-8", JS)
}

async fn css() -> Response {
    static_file("text/css; charset=utf-8", CSS)
}

// ---- list and creation ----

#[derive(Debug, Default, Clone, Deserialize)]
struct NewForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    entity_id: String,
    #[serde(default)]
    location_id: String,
    #[serde(default)]
    filter: String,
}

#[derive(Template)]
#[template(path = "campaigns/list.html")]
struct ListPage {
    page: Page,
    campaigns: Vec<Campaign>,
    can_create: bool,
    entities: Vec<(i64, String)>,
    locations: Vec<(i64, String)>,
    kinds: Vec<CampaignKind>,
    form: NewForm,
    errors: ValidationErrors,
}

/// A field problem in the caller's language: `campaigns.err.<code>`, then `err.<code>`, then
/// the English text.
fn message(page: &Page, f: &FieldError) -> String {
    page.field_message("campaigns", f)
}

field_errors!(message; ListPage, ShowPage, ClosePage);

async fn list_page(ctx: Ctx) -> AppResult<Response> {
    list_render(&ctx, NewForm { kind: "count".into(), ..Default::default() }, ValidationErrors::new(), StatusCode::OK)
        .await
}

async fn list_render(ctx: &Ctx, form: NewForm, errors: ValidationErrors, status: StatusCode) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let campaigns = campaigns::list(&mut c, &web::readable(ctx), 200).await?;
    let creatable: Vec<i64> = ctx.entity_ids(Object::Asset, Action::Create);
    let entities: Vec<(i64, String)> = entities::list_all(&mut c)
        .await?
        .into_iter()
        .filter(|e| creatable.contains(&e.id.0))
        .map(|e| (e.id.0, e.name))
        .collect();
    let locations: Vec<(i64, String)> =
        locations::list(&mut c, &creatable).await?.into_iter().map(|l| (l.id.0, l.path)).collect();
    let page = Page::new(ctx, "campaigns.title").await.with_form_errors(&errors);
    let p = ListPage {
        page,
        campaigns,
        can_create: !entities.is_empty(),
        entities,
        locations,
        kinds: CampaignKind::ALL.to_vec(),
        form,
        errors,
    };
    Ok(render_status(status, &p))
}

fn parse_id(field: &str, v: &str, required: bool) -> Result<Option<i64>, ValidationErrors> {
    let v = v.trim();
    if v.is_empty() {
        return if required { Err(ValidationErrors::single(field, "required", "is required")) } else { Ok(None) };
    }
    v.parse().map(Some).map_err(|_| ValidationErrors::single(field, "unknown", "unknown value"))
}

async fn create(FormWithFiles(ctx, f, files): FormWithFiles<NewForm>) -> AppResult<Response> {
    match create_from_form(&ctx, &f, files).await {
        Ok(id) => Ok(see_other(&format!("/campaigns/{id}"), Some("campaigns.created"))),
        Err(AppError::Validation(e)) => list_render(&ctx, f, e, StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => Err(e),
    }
}

async fn create_from_form(ctx: &Ctx, f: &NewForm, files: attachments::Files) -> AppResult<CampaignId> {
    let mut errors = ValidationErrors::new();
    let kind = f.kind.parse::<CampaignKind>().map_err(|_| errors.add("kind", "unknown", "unknown kind")).ok();
    let entity = parse_id("entity_id", &f.entity_id, true).map_err(|e| errors.fields.extend(e.fields)).ok().flatten();
    let location =
        parse_id("location_id", &f.location_id, false).map_err(|e| errors.fields.extend(e.fields)).ok().flatten();
    let files = files.map_err(AppError::Validation)?;
    let source = match files.first() {
        Some(file) => {
            let limits =
                parc_docs::table::Limits { max_bytes: parc_store::helpdesk::ATTACHMENT_MAX_BYTES, max_rows: 50_000 };
            match parc_docs::table::read_any(&file.bytes, &limits) {
                Ok(table) => match web::rows_of_table(&table) {
                    Ok(rows) => Some(ListSource::Rows(rows)),
                    Err(AppError::Validation(e)) => {
                        errors.fields.extend(e.fields);
                        None
                    }
                    Err(e) => return Err(e),
                },
                Err(e) => {
                    errors.add(attachments::FILE_FIELD, "unreadable", e.to_string());
                    None
                }
            }
        }
        None if !f.filter.trim().is_empty() => Some(ListSource::Filter(f.filter.trim().to_owned())),
        None => {
            errors.add("filter", "required", "give an asset filter or upload a list");
            None
        }
    };
    let (Some(kind), Some(entity), Some(source), true) = (kind, entity, source, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let input = CampaignInput { name: f.name.clone(), kind, entity_id: entity, location_id: location, source };
    let mut tx = ctx.state.store.write().await?;
    let id = web::create(ctx, &mut tx, &input).await?;
    tx.commit().await?;
    Ok(id)
}

// ---- the scanning page ----

#[derive(Template)]
#[template(path = "campaigns/show.html")]
struct ShowPage {
    page: Page,
    c: Campaign,
    can_scan: bool,
    open: bool,
    step: Option<&'static str>,
    pairs: bool,
    missing: Vec<Item>,
    found: Vec<Item>,
    unexpected: Vec<Item>,
    duplicates: Vec<Scan>,
    recent: Vec<Scan>,
    last_scan_id: i64,
    /// The scan just posted without JS, shown as the result banner.
    result: Option<Scan>,
    errors: ValidationErrors,
    code: String,
}

#[derive(Debug, Default, Deserialize)]
struct ShowQuery {
    ok: Option<String>,
    scan: Option<i64>,
}

async fn show(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<ShowQuery>) -> AppResult<Response> {
    show_render(&ctx, id, q.ok.as_deref(), q.scan, ValidationErrors::new(), String::new(), StatusCode::OK).await
}

async fn show_render(
    ctx: &Ctx,
    id: i64,
    flash: Option<&str>,
    scan: Option<i64>,
    errors: ValidationErrors,
    code: String,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let campaign = web::visible(ctx, &mut c, CampaignId(id), Action::Read).await?;
    let items = campaigns::items(&mut c, campaign.id).await?;
    let scans = campaigns::scans_after(&mut c, campaign.id, 0, 100_000).await?;
    let last_scan_id = scans.last().map(|s| s.id).unwrap_or(0);
    let result = scan.and_then(|s| scans.iter().find(|x| x.id == s).cloned());
    let duplicates: Vec<Scan> = scans.iter().filter(|s| s.outcome == ScanOutcome::Duplicate).rev().cloned().collect();
    let recent: Vec<Scan> = scans.iter().rev().take(20).cloned().collect();
    let (expected, unexpected): (Vec<Item>, Vec<Item>) = items.into_iter().partition(|i| i.expected);
    let (found, missing): (Vec<Item>, Vec<Item>) = expected.into_iter().partition(|i| i.found_at.is_some());
    let can_scan = ctx.can(Object::Asset, Action::Update, campaign.entity_id);
    let page = Page::new(ctx, "campaigns.title").await.with_title(campaign.name.clone()).with_flash(flash);
    let page = page.with_form_errors(&errors);
    let p = ShowPage {
        page,
        open: campaign.status == CampaignStatus::Open,
        step: campaign.kind.step().map(|s| s.as_str()),
        pairs: campaign.kind.pairs(),
        c: campaign,
        can_scan,
        missing,
        found,
        unexpected,
        duplicates,
        recent,
        last_scan_id,
        result,
        errors,
        code,
    };
    Ok(render_status(status, &p))
}

#[derive(Debug, Default, Deserialize)]
struct ScanForm {
    #[serde(default)]
    code: String,
}

/// A scan without JavaScript: recorded, then back to the page with the result banner.
async fn scan_form(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<ScanForm>) -> AppResult<Response> {
    let result = async {
        let code = web::read_code(&f.code)?;
        let mut tx = ctx.state.store.write().await?;
        let campaign = web::visible(&ctx, &mut tx, CampaignId(id), Action::Update).await?;
        let r = campaigns::scan(&mut tx, &ctx.actor(), &campaign, &web::tree(&ctx, &campaign), &code).await?;
        tx.commit().await?;
        Ok::<_, AppError>(r)
    }
    .await;
    match result {
        Ok(r) => {
            let key = format!("campaigns.outcome.{}", r.scan.outcome);
            Ok(see_other(&format!("/campaigns/{id}?scan={}", r.scan.id), Some(&key)))
        }
        Err(AppError::Validation(e)) => {
            show_render(&ctx, id, None, None, e, f.code, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Default, Deserialize)]
struct StepForm {
    #[serde(default)]
    done: String,
}

async fn step_form(Path((id, item)): Path<(i64, i64)>, CsrfForm(ctx, f): CsrfForm<StepForm>) -> AppResult<Response> {
    let mut tx = ctx.state.store.write().await?;
    let campaign = web::visible(&ctx, &mut tx, CampaignId(id), Action::Update).await?;
    let it = campaigns::item(&mut tx, campaign.id, CampaignItemId(item)).await?.ok_or(AppError::NotFound)?;
    match campaigns::set_step(&mut tx, &ctx.actor(), &campaign, &it, f.done == "1").await {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(&format!("/campaigns/{id}#item-{item}"), Some("campaigns.step_saved")))
        }
        Err(parc_store::StoreError::Validation(e)) => {
            drop(tx);
            show_render(&ctx, id, None, None, e, String::new(), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
struct ReplacementForm {
    #[serde(default)]
    code: String,
}

async fn replacement_form(
    Path((id, item)): Path<(i64, i64)>,
    CsrfForm(ctx, f): CsrfForm<ReplacementForm>,
) -> AppResult<Response> {
    let result = async {
        let mut tx = ctx.state.store.write().await?;
        let campaign = web::visible(&ctx, &mut tx, CampaignId(id), Action::Update).await?;
        let it = campaigns::item(&mut tx, campaign.id, CampaignItemId(item)).await?.ok_or(AppError::NotFound)?;
        let new = match f.code.trim() {
            "" => None,
            code => Some(web::asset_by_code(&ctx, &mut tx, code, "replacement").await?),
        };
        let tree = web::tree(&ctx, &campaign);
        campaigns::set_replacement(&mut tx, &ctx.actor(), &campaign, &it, new.as_ref(), &tree).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(&format!("/campaigns/{id}#item-{item}"), Some("campaigns.pair_saved"))),
        Err(AppError::Validation(e)) => {
            show_render(&ctx, id, None, None, e, String::new(), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

// ---- closing ----

#[derive(Debug, Default, Clone, Deserialize)]
struct CloseForm {
    #[serde(default)]
    signer_name: String,
    #[serde(default)]
    signature: String,
    /// "" (the kind's default), "keep", or a status.
    #[serde(default)]
    found_status: String,
}

#[derive(Template)]
#[template(path = "campaigns/close.html")]
struct ClosePage {
    page: Page,
    c: Campaign,
    statuses: Vec<AssetStatus>,
    form: CloseForm,
    errors: ValidationErrors,
}

async fn close_page(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    close_render(&ctx, id, CloseForm::default(), ValidationErrors::new(), StatusCode::OK).await
}

async fn close_render(
    ctx: &Ctx,
    id: i64,
    form: CloseForm,
    errors: ValidationErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let campaign = web::visible(ctx, &mut c, CampaignId(id), Action::Update).await?;
    if campaign.status != CampaignStatus::Open {
        return Ok(see_other(&format!("/campaigns/{id}"), None));
    }
    let page = Page::new(ctx, "campaigns.close_title").await.with_form_errors(&errors);
    let p = ClosePage { page, c: campaign, statuses: AssetStatus::ALL.to_vec(), form, errors };
    Ok(render_status(status, &p))
}

async fn close_form(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<CloseForm>) -> AppResult<Response> {
    let (found_status, keep) = match f.found_status.as_str() {
        "" => (None, false),
        "keep" => (None, true),
        s => match s.parse::<AssetStatus>() {
            Ok(st) => (Some(st), false),
            Err(_) => {
                let e = ValidationErrors::single("found_status", "unknown", "unknown status");
                return close_render(&ctx, id, f, e, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        },
    };
    let result = async {
        let mut tx = ctx.state.store.write().await?;
        let campaign = web::visible(&ctx, &mut tx, CampaignId(id), Action::Update).await?;
        let closing =
            web::Closing { signer_name: &f.signer_name, signature: &f.signature, found_status, keep_statuses: keep };
        web::close(&ctx, &mut tx, &campaign, &closing).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(&format!("/campaigns/{id}"), Some("campaigns.closed"))),
        Err(AppError::Validation(e)) => {
            let f = CloseForm { signature: String::new(), ..f };
            close_render(&ctx, id, f, e, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

async fn report_pdf(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let campaign = web::visible(&ctx, &mut c, CampaignId(id), Action::Read).await?;
    web::report_response(&mut c, &campaign).await
}
