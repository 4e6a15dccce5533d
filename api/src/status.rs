//! Errors as Kubernetes `Status` objects (`kind: Status`, `status: Failure`, a `reason` and
//! the HTTP `code`), which kubectl and the client libraries turn into their own errors.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use wasmjob_spec::{FieldError, FieldErrorKind};

/// Kubernetes' `CauseType` for a kind of field error.
fn cause_reason(kind: &FieldErrorKind) -> &'static str {
    match kind {
        FieldErrorKind::Required => "FieldValueRequired",
        FieldErrorKind::Invalid(_) => "FieldValueInvalid",
        FieldErrorKind::Unsupported { .. } => "FieldValueNotSupported",
        FieldErrorKind::Forbidden => "FieldValueForbidden",
        FieldErrorKind::Duplicate(_) => "FieldValueDuplicate",
        FieldErrorKind::NotFound(_) => "FieldValueNotFound",
        FieldErrorKind::TooLong(_) => "FieldValueTooLong",
        FieldErrorKind::Unknown => "FieldValueUnknown",
        FieldErrorKind::Malformed => "FieldValueTypeInvalid",
    }
}

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

    pub fn unsupported_media_type(message: String) -> ApiError {
        ApiError {
            code: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            reason: "UnsupportedMediaType",
            message,
            details: None,
        }
    }

    /// A request the server understood but cannot carry out (422 without field causes).
    pub fn unprocessable(message: String) -> ApiError {
        ApiError {
            code: StatusCode::UNPROCESSABLE_ENTITY,
            reason: "Invalid",
            message,
            details: None,
        }
    }

    pub fn already_exists(group: &str, resource: &str, name: &str) -> ApiError {
        ApiError {
            code: StatusCode::CONFLICT,
            reason: "AlreadyExists",
            message: format!("{resource} {name:?} already exists"),
            details: Some(
                json!({"name": name, "group": group, "kind": resource.split('.').next().unwrap_or(resource)}),
            ),
        }
    }

    /// A write whose `metadata.resourceVersion` is not the stored one.
    pub fn conflict(group: &str, resource: &str, name: &str) -> ApiError {
        ApiError {
            code: StatusCode::CONFLICT,
            reason: "Conflict",
            message: format!(
                "Operation cannot be fulfilled on {resource} {name:?}: the object has been modified; please apply your changes to the latest version and try again"
            ),
            details: Some(
                json!({"name": name, "group": group, "kind": resource.split('.').next().unwrap_or(resource)}),
            ),
        }
    }

    /// An object that breaks the API's rules: 422 `Invalid`, each broken rule a cause naming
    /// its field. Errors in reading the object (unknown fields, wrong types) are a 400, as the
    /// API server's strict decoding gives them.
    pub fn invalid(kind: &str, group: &str, name: &str, errors: &[FieldError]) -> ApiError {
        let undecodable = errors
            .iter()
            .find(|e| matches!(e.kind, FieldErrorKind::Unknown | FieldErrorKind::Malformed));
        if let Some(e) = undecodable {
            let words = FieldError {
                location: None,
                ..e.clone()
            };
            let detail = match e.kind {
                FieldErrorKind::Unknown => {
                    format!("strict decoding error: unknown field {:?}", e.path)
                }
                _ => words.to_string(),
            };
            return ApiError::bad_request(format!(
                "{kind} in version \"v1\" cannot be handled as a {kind}: {detail}"
            ));
        }
        let qualified = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let shown: Vec<String> = errors
            .iter()
            .map(|e| {
                FieldError {
                    location: None,
                    ..e.clone()
                }
                .to_string()
            })
            .collect();
        let message = match shown.as_slice() {
            [one] => format!("{qualified} {name:?} is invalid: {one}"),
            all => format!("{qualified} {name:?} is invalid: [{}]", all.join(", ")),
        };
        let causes: Vec<serde_json::Value> = errors
            .iter()
            .zip(&shown)
            .map(|(e, text)| {
                let prefix = format!("{}: ", if e.path.is_empty() { "<root>" } else { &e.path });
                json!({
                    "reason": cause_reason(&e.kind),
                    "message": text.strip_prefix(&prefix).unwrap_or(text),
                    "field": e.path,
                })
            })
            .collect();
        ApiError {
            code: StatusCode::UNPROCESSABLE_ENTITY,
            reason: "Invalid",
            message,
            details: Some(json!({"name": name, "group": group, "kind": kind, "causes": causes})),
        }
    }

    /// 504 `Timeout`: what the API server answers when it waited for a resourceVersion the
    /// store has not reached.
    pub fn timeout(message: String) -> ApiError {
        ApiError {
            code: StatusCode::GATEWAY_TIMEOUT,
            reason: "Timeout",
            message,
            details: Some(json!({"retryAfterSeconds": 1})),
        }
    }

    /// 410 `Expired`: a resourceVersion older than what is kept.
    pub fn gone(message: String) -> ApiError {
        ApiError {
            code: StatusCode::GONE,
            reason: "Expired",
            message,
            details: None,
        }
    }

    /// 409 `Conflict` for a failed precondition of a delete.
    pub fn precondition_failed(message: String) -> ApiError {
        ApiError {
            code: StatusCode::CONFLICT,
            reason: "Conflict",
            message,
            details: None,
        }
    }

    #[cfg(test)]
    pub fn code(&self) -> StatusCode {
        self.code
    }

    #[cfg(test)]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `Status` object this error answers with.
    pub fn status(&self) -> serde_json::Value {
        let mut body = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code.as_u16(),
        });
        if let Some(d) = &self.details {
            body["details"] = d.clone();
        }
        body
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

/// A store that fails under a request is the server's failure.
impl From<wasmjob_control::store::StoreError> for ApiError {
    fn from(e: wasmjob_control::store::StoreError) -> Self {
        ApiError::internal(e.to_string())
    }
}

/// An operation shared with the CLI: bad input is the client's (400), a timeout 504, anything
/// else the server's.
impl From<wasmjob_control::ops::OpError> for ApiError {
    fn from(e: wasmjob_control::ops::OpError) -> Self {
        use wasmjob_control::ops::OpError;
        match e {
            OpError::Invalid(m) => ApiError::bad_request(m),
            OpError::Timeout(m) => ApiError {
                code: StatusCode::GATEWAY_TIMEOUT,
                reason: "Timeout",
                message: m,
                details: None,
            },
            OpError::Store(e) => e.into(),
            e => ApiError::internal(e.to_string()),
        }
    }
}

/// The Kubernetes reason of an HTTP status, for errors that did not come as an [`ApiError`].
fn reason_of(code: StatusCode) -> &'static str {
    match code.as_u16() {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Expired",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        504 => "Timeout",
        500..=599 => "InternalError",
        _ => "",
    }
}

/// The one boundary where every error becomes a `Status`: an error answer that is not one
/// already — axum's own rejections of a path, a query, or a body past its limit, which answer
/// plain text — is made one, with its words and the reason of its code.
pub async fn as_status(response: Response) -> Response {
    let code = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !(code.is_client_error() || code.is_server_error()) || is_json {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    ApiError {
        code,
        reason: reason_of(code),
        message: if text.is_empty() {
            code.canonical_reason().unwrap_or("error").to_string()
        } else {
            text
        },
        details: None,
    }
    .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.code, Json(self.status())).into_response()
    }
}

/// A request body that is not JSON (or YAML): kubectl's typed commands send protobuf first
/// and use JSON after a 415.
pub fn check_body_type(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let media = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let media = media.split(';').next().unwrap_or("").trim();
    match media {
        "application/json" | "application/yaml" | "" => Ok(()),
        other => {
            let hint = if other.contains("protobuf") {
                " (kubectl's generators, such as `kubectl create job --image`, send protobuf: write a manifest and use `kubectl create -f` or `kubectl apply -f`)"
            } else {
                ""
            };
            Err(ApiError::unsupported_media_type(format!(
                "the body of the request was in an unknown format ({other}); accepted media types include: application/json, application/yaml{hint}"
            )))
        }
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

/// A method the API does not serve on an existing path.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError {
        code: StatusCode::METHOD_NOT_ALLOWED,
        reason: "MethodNotAllowed",
        message: format!(
            "the server does not allow this method on the requested resource ({method} {uri})"
        ),
        details: None,
    }
}
