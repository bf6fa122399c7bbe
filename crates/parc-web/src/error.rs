//! One error type for every handler, mapped to a status code in one place. API routes answer
//! `{"error":{"code","message","details"}}`; page routes get the same error rendered as an HTML
//! page by [`crate::pages::html_errors`], which reads the [`ErrorInfo`] left in the response.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use parc_core::ValidationErrors;
use parc_store::StoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("authentication required")]
    Unauthorized,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("invalid input")]
    Validation(ValidationErrors),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("payload too large")]
    TooLarge,
    #[error("too many attempts")]
    TooManyRequests { retry_after_secs: i64 },
    /// The detail goes to the log only; the user sees a generic message and the request id.
    #[error("internal error")]
    Internal(String),
}

/// What the HTML error middleware needs to render a page.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<ValidationErrors>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorContent,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorContent {
    /// A stable machine-readable code: not_found, unauthorized, forbidden, bad_request,
    /// validation, conflict, too_large, too_many_requests, internal.
    pub code: String,
    pub message: String,
    /// Always an object: `{"fields":[{field,code,message}]}` for `validation`,
    /// `{"request_id"}` for `internal`, `{"retry_after_secs"}` for `too_many_requests`, else `{}`.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound => "not_found",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::BadRequest(_) => "bad_request",
            AppError::Validation(_) => "validation",
            AppError::Conflict(_) => "conflict",
            AppError::TooLarge => "too_large",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Internal(_) => "internal",
        }
    }

    pub fn field(field: &str, code: &str, message: &str) -> AppError {
        AppError::Validation(ValidationErrors::single(field, code, message))
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Validation(v) => AppError::Validation(v),
            StoreError::Conflict(m) => AppError::Conflict(m),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<ValidationErrors> for AppError {
    fn from(v: ValidationErrors) -> Self {
        AppError::Validation(v)
    }
}

impl From<parc_docs::DocError> for AppError {
    fn from(e: parc_docs::DocError) -> Self {
        AppError::BadRequest(e.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        let (message, details) = match &self {
            AppError::Validation(v) => {
                ("some fields are invalid".to_owned(), serde_json::json!({ "fields": v.fields }))
            }
            AppError::Internal(detail) => {
                // Logged once, here, inside the request span that carries the request id.
                tracing::error!(error = %detail, "internal error");
                let id = REQUEST_ID.try_with(Clone::clone).unwrap_or_default();
                (
                    format!("an internal error occurred; quote the request id {id} to your administrator"),
                    serde_json::json!({ "request_id": id }),
                )
            }
            AppError::TooManyRequests { retry_after_secs } => (
                "too many failed attempts; try again later".to_owned(),
                serde_json::json!({ "retry_after_secs": retry_after_secs }),
            ),
            other => (other.to_string(), serde_json::json!({})),
        };
        let info = ErrorInfo {
            status,
            code,
            message: message.clone(),
            details: match &self {
                AppError::Validation(v) => Some(v.clone()),
                _ => None,
            },
        };
        let body = ErrorBody { error: ErrorContent { code: code.to_owned(), message, details } };
        let mut resp = (status, Json(body)).into_response();
        if let AppError::TooManyRequests { retry_after_secs } = self {
            if let Ok(v) = retry_after_secs.to_string().parse() {
                resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        resp.extensions_mut().insert(info);
        resp
    }
}

pub type AppResult<T> = Result<T, AppError>;

tokio::task_local! {
    /// The current request's id, so that a 500 can show it without threading it everywhere.
    pub static REQUEST_ID: String;
}

/// Makes the request id available to [`AppError`] while the request is handled.
pub async fn with_request_id(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let id = crate::auth::request_id(req.headers());
    REQUEST_ID.scope(id, next.run(req)).await
}
