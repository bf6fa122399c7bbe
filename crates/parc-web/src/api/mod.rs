//! The JSON API under /api/v1: bearer-token (or session + X-CSRF-Token) auth, pagination, one
//! error shape, and an OpenAPI 3 document generated from these handlers' annotations. Each
//! feature module owns its routes and its own `Doc`, merged here.

pub mod admin;
pub mod assets;
pub mod attachments;
pub mod campaigns;
pub mod checklists;
pub mod handover;
pub mod helpdesk;
pub mod helpdesk_admin;
pub mod hotline;
pub mod inventory;
pub mod io;
pub mod loans;
pub mod mail;
pub mod monitoring;
pub mod notify;
pub mod planning;
pub mod pollers;
pub mod reports;
pub mod stock;

use crate::error::{AppError, ErrorBody};
use crate::AppState;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::FromRequest;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// JSON body whose decoding errors use our error shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// Path parameters whose errors use our error shape.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// Query parameters whose errors use our error shape.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => {
                AppError::BadRequest("expected a JSON body with Content-Type: application/json".into())
            }
            JsonRejection::BytesRejection(b) if b.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::TooLarge
            }
            JsonRejection::JsonDataError(e) => AppError::BadRequest(format!("invalid JSON data: {}", e.body_text())),
            JsonRejection::JsonSyntaxError(e) => AppError::BadRequest(format!("malformed JSON: {}", e.body_text())),
            other => AppError::BadRequest(other.body_text()),
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        AppError::BadRequest(format!("invalid path parameter: {}", r.body_text()))
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::BadRequest(format!("invalid query string: {}", r.body_text()))
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Parc API", description = "IT asset management: assets, entities, locations, users, settings, agent inventory and software, helpdesk, monitoring, campaigns. \
        Authenticate with `Authorization: Bearer <token>` (create one with `parc token create USER` or on your account page). \
        Errors always have the shape {\"error\":{\"code\",\"message\",\"details\"}}."),
    components(schemas(ErrorBody, crate::error::ErrorContent)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct BaseDoc;

/// Each feature module's own document, in the order they are merged.
fn module_docs() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        assets::Doc::openapi(),
        admin::Doc::openapi(),
        io::Doc::openapi(),
        inventory::Doc::openapi(),
        mail::Doc::openapi(),
        helpdesk::Doc::openapi(),
        attachments::Doc::openapi(),
        hotline::Doc::openapi(),
        notify::Doc::openapi(),
        planning::Doc::openapi(),
        reports::Doc::openapi(),
        helpdesk_admin::Doc::openapi(),
        monitoring::Doc::openapi(),
        pollers::Doc::openapi(),
        campaigns::Doc::openapi(),
        stock::Doc::openapi(),
        loans::Doc::openapi(),
        checklists::Doc::openapi(),
        handover::Doc::openapi(),
    ]
}

/// The whole OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = BaseDoc::openapi();
    for d in module_docs() {
        doc.merge(d);
    }
    let mut servers = utoipa::openapi::Server::new("/api/v1");
    servers.description = Some("this server".into());
    doc.servers = Some(vec![servers]);
    doc
}

async fn openapi_json() -> Response {
    Json(openapi()).into_response()
}

async fn not_found() -> AppError {
    AppError::NotFound
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .merge(assets::routes())
        .merge(admin::routes())
        .merge(io::routes())
        .merge(inventory::routes())
        .merge(mail::routes())
        .merge(helpdesk::routes())
        .merge(attachments::routes())
        .merge(hotline::routes())
        .merge(notify::routes())
        .merge(planning::routes())
        .merge(reports::routes())
        .merge(helpdesk_admin::routes())
        .merge(monitoring::routes())
        .merge(pollers::routes())
        .merge(campaigns::routes())
        .merge(stock::routes())
        .merge(loans::routes())
        .merge(checklists::routes())
        .merge(handover::routes())
        .fallback(not_found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Two modules naming different schemas alike would silently lose one of them in the
    /// merged document (the answer of one endpoint then "violates" its documented schema).
    #[test]
    fn no_two_modules_define_a_schema_name_differently() {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for doc in module_docs() {
            let Some(components) = doc.components else { continue };
            for (name, schema) in components.schemas {
                let json = serde_json::to_string(&schema).unwrap();
                if let Some(before) = seen.insert(name.clone(), json.clone()) {
                    assert_eq!(before, json, "two different schemas are named {name}");
                }
            }
        }
    }
}
