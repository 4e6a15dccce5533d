//! OpenAPI v3 documents of the API (`/openapi/v3` and the `api/v1` and `apis/batch/v1`
//! documents), for kubectl's field validation and `kubectl explain`.

use super::ApiState;
use axum::Router;
use std::sync::Arc;

/// The routes of the OpenAPI documents.
pub fn routes() -> Router<Arc<ApiState>> {
    Router::new()
}
