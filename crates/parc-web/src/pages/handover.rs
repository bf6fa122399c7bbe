//! Phone hand-over pages: the list of receipts (`/handover`), the one-screen form
//! (`/handover/new`, `?asset=<id>` from a phone's page pre-selects it as the delivered device)
//! with the two signature pads, and the stored receipt (`/handover/<id>/receipt.pdf`).
//! The work is `crate::handover`, shared with the API. Rights: the assets' (Read to see,
//! Update to record).

use super::{render_status, see_other, Page};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::CsrfForm;
use crate::handover::{self as work, Submission};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use parc_core::assets::AssetKind;
use parc_core::permissions::{Action, Object};
use parc_core::{AssetId, FieldError, LocationId, UserId, ValidationErrors};
use parc_store::handover::{self, Handover, HandoverDraft, ACCESSORIES};
use parc_store::{locations, users};
use serde::Deserialize;
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/handover", get(list))
        .route("/handover/new", get(new_form).post(create))
        .route("/handover/{id}/receipt.pdf", get(receipt))
        .route("/static/handover.css", get(css))
}

const CSS: &str = include_str!("../../static/handover.css");

async fn css() -> Response {
    super::planning::static_file("text/css; charset=utf-8", CSS)
}

pub(crate) fn message(page: &Page, f: &FieldError) -> String {
    page.field_message("handover", f)
}

// ---- list ----

#[derive(Template)]
#[template(path = "handover/list.html")]
struct ListPage {
    page: Page,
    items: Vec<Handover>,
    can_create: bool,
}

async fn list(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> AppResult<Response> {
    // Entities seen in full only: a requester, who sees their own assets, sees no receipts here.
    let entities: Vec<i64> = ctx.scope(Object::Asset, Action::Read).full.iter().map(|e| e.0).collect();
    let mut c = ctx.state.store.read().await?;
    let items = handover::list(&mut c, &entities, 200).await?;
    drop(c);
    let page = Page::new(&ctx, "handover.title").await.with_flash(q.get("ok").map(String::as_str));
    let can_create = ctx.can_anywhere(Object::Asset, Action::Update);
    Ok(render_status(StatusCode::OK, &ListPage { page, items, can_create }))
}

async fn receipt(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    work::receipt_response(&ctx, id).await
}

impl ListPage {
    fn reference(&self, id: &i64) -> String {
        handover::reference(*id)
    }
}

// ---- form ----

/// One choice of a select.
pub struct Choice {
    pub id: i64,
    pub label: String,
}

#[derive(Template)]
#[template(path = "handover/new.html")]
struct FormPage {
    page: Page,
    users: Vec<Choice>,
    locations: Vec<Choice>,
    devices: Vec<Choice>,
    sims: Vec<Choice>,
    lines: Vec<Choice>,
    /// What was typed (field name -> value), shown again after a refusal.
    values: HashMap<String, String>,
    accessories: Vec<&'static str>,
    errors: ValidationErrors,
}

super::field_errors!(message; FormPage);

impl FormPage {
    fn value(&self, field: &str) -> &str {
        self.values.get(field).map(String::as_str).unwrap_or("")
    }

    fn acc_field(&self, prefix: &str, accessory: &str) -> String {
        format!("{prefix}_{accessory}")
    }

    fn selected(&self, field: &str, id: &i64) -> bool {
        self.value(field) == id.to_string()
    }

    fn checked(&self, field: &str) -> bool {
        self.values.get(field).is_some_and(|v| !v.is_empty() && v != "0")
    }
}

async fn render(ctx: &Ctx, values: HashMap<String, String>, errors: ValidationErrors) -> AppResult<Response> {
    let entities = ctx.entity_ids(Object::Asset, Action::Update);
    if entities.is_empty() {
        return Err(AppError::Forbidden("your profile does not allow changing assets".into()));
    }
    let visible = ctx.entity_ids(Object::Asset, Action::Read);
    let mut c = ctx.state.store.read().await?;
    let people = users::list(&mut c, &visible, None, 2000).await?;
    let places = locations::list(&mut c, &entities).await?;
    let assets = handover::candidates(&mut c, &entities, 5000).await?;
    drop(c);
    let of = |kinds: &[AssetKind]| {
        assets.iter().filter(|a| kinds.contains(&a.2)).map(|a| Choice { id: a.0 .0, label: a.3.clone() }).collect()
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = Page::new(ctx, "handover.new").await.with_form_errors(&errors);
    let body = FormPage {
        page,
        users: people
            .into_iter()
            .filter(|u| u.active)
            .map(|u| Choice { id: u.id.0, label: format!("{} ({})", u.display_name, u.login) })
            .collect(),
        locations: places.into_iter().map(|l| Choice { id: l.id.0, label: l.path }).collect(),
        devices: of(&[AssetKind::MobilePhone, AssetKind::Tablet]),
        sims: of(&[AssetKind::SimCard]),
        lines: of(&[AssetKind::PhoneLine]),
        values,
        accessories: ACCESSORIES.to_vec(),
        errors,
    };
    Ok(render_status(status, &body))
}

#[derive(Deserialize)]
struct NewQuery {
    asset: Option<i64>,
}

async fn new_form(ctx: Ctx, Query(q): Query<NewQuery>) -> AppResult<Response> {
    let mut values = HashMap::new();
    values.insert("technician_user_id".to_owned(), ctx.user.id.0.to_string());
    if let Some(a) = q.asset {
        values.insert("delivered_asset_id".to_owned(), a.to_string());
    }
    render(&ctx, values, ValidationErrors::new()).await
}

/// The draft of a page form: ids from selects (empty: none), accessories from checkboxes
/// named `delivered_<name>` and `returned_<name>`. Ids that are not numbers are errors.
fn draft_of(f: &HashMap<String, String>, errors: &mut ValidationErrors) -> HandoverDraft {
    let mut id = |field: &str| -> Option<i64> {
        let v = f.get(field).map(|v| v.trim()).filter(|v| !v.is_empty())?;
        match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.add(field, "not_found", "not a valid choice");
                None
            }
        }
    };
    let on = |field: String| f.get(&field).is_some_and(|v| !v.is_empty() && v != "0");
    let text = |field: &str| f.get(field).cloned();
    HandoverDraft {
        recipient_user_id: id("recipient_user_id").map(UserId),
        technician_user_id: id("technician_user_id").map(UserId),
        department: text("department"),
        location_id: id("location_id").map(LocationId),
        reason: text("reason"),
        delivered_asset_id: id("delivered_asset_id").map(AssetId),
        delivered_sim_id: id("delivered_sim_id").map(AssetId),
        delivered_line_id: id("delivered_line_id").map(AssetId),
        returned_asset_id: id("returned_asset_id").map(AssetId),
        returned_sim_id: id("returned_sim_id").map(AssetId),
        returned_line_id: id("returned_line_id").map(AssetId),
        accessories_delivered: ACCESSORIES
            .iter()
            .filter(|a| on(format!("delivered_{a}")))
            .map(|a| a.to_string())
            .collect(),
        accessories_returned: ACCESSORIES
            .iter()
            .filter(|a| on(format!("returned_{a}")))
            .map(|a| a.to_string())
            .collect(),
        returned_reset: on("returned_reset".into()),
    }
}

async fn create(
    State(state): State<AppState>,
    CsrfForm(ctx, f): CsrfForm<HashMap<String, String>>,
) -> AppResult<Response> {
    let mut errors = ValidationErrors::new();
    let draft = draft_of(&f, &mut errors);
    let submission = Submission {
        draft,
        user_signature: f.get("user_signature").cloned().unwrap_or_default(),
        technician_signature: f.get("technician_signature").cloned().unwrap_or_default(),
    };
    let result = if errors.is_empty() {
        let mut tx = state.store.write().await?;
        match work::record(&ctx, &mut tx, &submission).await {
            Ok(h) => {
                tx.commit().await?;
                Ok(h)
            }
            Err(e) => Err(e),
        }
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(h) => Ok(see_other(&format!("/handover?id={}", h.id), Some("handover.done"))),
        Err(AppError::Validation(e)) => {
            let mut values = f;
            // Signatures are drawn again; never echoed.
            values.remove("user_signature");
            values.remove("technician_signature");
            values.remove("csrf");
            render(&ctx, values, e).await
        }
        Err(e) => Err(e),
    }
}
