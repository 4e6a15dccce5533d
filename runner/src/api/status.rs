//! Errors as Kubernetes `Status` objects (`kind: Status`, `status: Failure`, a `reason` and
//! the HTTP `code`), which kubectl and the client libraries turn into their own errors.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A failed request: HTTP status, Kubernetes reason, message, and optional `details`.
#[derive(Debug)]
pub struct ApiError {
    code: StatusCode,
    reason: &'static str,
    message: String,
    details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn unauthorized() -> ApiError {
        ApiError {
            code: StatusCode::UNAUTHORIZED,
            reason: "Unauthorized",
            message: "Unauthorized".into(),
            details: None,
        }
    }

    /// `kind` is the resource (`jobs.batch`, `pods`), as Kubernetes words it.
    pub fn not_found(group: &str, kind: &str, name: &str) -> ApiError {
        ApiError {
            code: StatusCode::NOT_FOUND,
            reason: "NotFound",
            message: format!("{kind} {name:?} not found"),
            details: Some(
                json!({"name": name, "group": group, "kind": kind.split('.').next().unwrap_or(kind)}),
            ),
        }
    }

    pub fn bad_request(message: String) -> ApiError {
        ApiError {
            code: StatusCode::BAD_REQUEST,
            reason: "BadRequest",
            message,
            details: None,
        }
    }

    pub fn internal(message: String) -> ApiError {
        ApiError {
            code: StatusCode::INTERNAL_SERVER_ERROR,
            reason: "InternalError",
            message,
            details: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code.as_u16(),
        });
        if let Some(d) = self.details {
            body["details"] = d;
        }
        (self.code, Json(body)).into_response()
    }
}

/// A path the API does not serve.
pub async fn not_found_route(uri: axum::http::Uri) -> ApiError {
    ApiError {
        code: StatusCode::NOT_FOUND,
        reason: "NotFound",
        message: format!("the server could not find the requested resource ({uri})"),
        details: None,
    }
}

/// A method the API does not serve on an existing path (so far: reads, watches, deletes).
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError {
        code: StatusCode::METHOD_NOT_ALLOWED,
        reason: "MethodNotAllowed",
        message: format!(
            "{method} {uri} is not supported yet: this wasmjob serves get, list, watch and delete; use the wasmjob CLI (apply, create, patch) for other changes"
        ),
        details: None,
    }
}
