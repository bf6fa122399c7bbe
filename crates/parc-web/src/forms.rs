//! HTML form helpers: the CSRF-checked form extractor and conversions from the text a browser
//! sends (every field a string, empty meaning "none").

use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::Response;
use parc_core::ValidationErrors;
use parc_store::{StoreError, Tx};
use serde::de::DeserializeOwned;

/// A form whose only field is the CSRF token (buttons such as delete, sign out, reveal).
#[derive(serde::Deserialize)]
pub struct CsrfOnly {
    #[serde(rename = "csrf")]
    _csrf: String,
}

/// The `?ok=<catalogue key>` notice a page shows after a redirect.
#[derive(serde::Deserialize)]
pub struct OkQuery {
    pub ok: Option<String>,
}

/// A URL-encoded form whose `csrf` field must match the session's token. Use it for every
/// state-changing page route: forgetting the check is then impossible.
pub struct CsrfForm<T>(pub Ctx, pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let ctx = <Ctx as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::BadRequest(e.body_text())
            }
        })?;
        check_csrf(&ctx, &bytes)?;
        let value = serde_urlencoded::from_bytes::<T>(&bytes)
            .map_err(|e| AppError::BadRequest(format!("invalid form: {e}")))?;
        Ok(CsrfForm(ctx, value))
    }
}

fn check_csrf(ctx: &Ctx, body: &[u8]) -> Result<(), AppError> {
    check_csrf_value(ctx, form_urlencoded_value(body, "csrf").as_deref())
}

/// The form's `csrf` value (`sent`) must match the session's token.
pub(crate) fn check_csrf_value(ctx: &Ctx, sent: Option<&str>) -> Result<(), AppError> {
    match (&ctx.csrf, sent) {
        (Some(expected), Some(sent)) if constant_time_eq(expected.as_bytes(), sent.as_bytes()) => Ok(()),
        _ => Err(AppError::Forbidden("the form has expired or did not come from Parc; reload the page".into())),
    }
}

/// The first value of `key` in a URL-encoded body.
pub fn form_urlencoded_value(body: &[u8], key: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An optional id from a form field: "" is none, anything else must be a positive integer.
pub fn opt_id(field: &str, v: &Option<String>, errors: &mut parc_core::ValidationErrors) -> Option<i64> {
    match v.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                errors.add(field, "not_a_number", "must be chosen from the list");
                None
            }
        },
    }
}

/// A URL-encoded form without CSRF check (only the sign-in form, which has its own), with
/// decoding errors in our error shape.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Form), rejection(AppError))]
pub struct PlainForm<T>(pub T);

impl From<axum::extract::rejection::FormRejection> for AppError {
    fn from(r: axum::extract::rejection::FormRejection) -> Self {
        AppError::BadRequest(format!("invalid form: {}", r.body_text()))
    }
}

/// A form's outcome: the value, or the status and per-field errors to show the form again with.
pub type FormResult<T> = Result<T, (StatusCode, ValidationErrors)>;

/// A store result for a form: validation problems (422) and name conflicts (409, on `name`) go
/// back to the form; anything else is an error page.
pub fn outcome<T>(r: Result<T, StoreError>) -> AppResult<FormResult<T>> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(StoreError::Validation(v)) => Ok(Err((StatusCode::UNPROCESSABLE_ENTITY, v))),
        Err(StoreError::Conflict(_)) => Ok(Err((
            StatusCode::CONFLICT,
            ValidationErrors::single("name", "name_taken", "this name is already used here"),
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Runs the store write unless the form already has errors.
pub async fn attempt<T>(
    errors: ValidationErrors,
    write: impl std::future::Future<Output = Result<T, StoreError>>,
) -> AppResult<FormResult<T>> {
    if errors.is_empty() {
        outcome(write.await)
    } else {
        Ok(Err((StatusCode::UNPROCESSABLE_ENTITY, errors)))
    }
}

/// Commits and redirects to `to(saved)` with the notice `ok`, or drops the transaction (nothing
/// written) and hands back the refusal for the form to be shown again.
pub async fn commit_or<T>(
    tx: Tx,
    result: FormResult<T>,
    to: impl FnOnce(&T) -> String,
    ok: &str,
) -> AppResult<FormResult<Response>> {
    match result {
        Ok(v) => {
            tx.commit().await?;
            Ok(Ok(crate::pages::see_other(&to(&v), Some(ok))))
        }
        Err(e) => {
            drop(tx);
            Ok(Err(e))
        }
    }
}
