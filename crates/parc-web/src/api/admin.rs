//! (filled in by its feature)
use crate::AppState;
use axum::Router;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi()]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
}
