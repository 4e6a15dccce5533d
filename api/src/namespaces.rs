//! Creating Namespaces (`POST /api/v1/namespaces`, `kubectl create namespace`); they are read
//! and watched as every kind is (`super::kinds::Namespace`): `default`, those created, and
//! every namespace a Job was created in (Jobs may be created in a namespace that was not
//! created first: wasmjob has no admission step that refuses them). Namespaces are not
//! deleted.

use super::ApiState;
use super::kinds::{Kind, Namespace};
use super::list_options::ApiQuery;
use super::status::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use std::sync::Arc;
use wasmjob_spec::Time;

/// `POST /api/v1/namespaces` with a Namespace: its name must be a DNS label not yet in use.
pub async fn create(
    State(state): State<Arc<ApiState>>,
    ApiQuery(q): ApiQuery<super::job_writes::WriteQuery>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(axum::http::StatusCode, Json<Value>), ApiError> {
    let dry_run = q.dry_run()?;
    let protobuf = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with(super::protobuf::MEDIA_TYPE));
    let sent: Value = if protobuf {
        super::protobuf::object_meta_json(&body)
    } else {
        super::status::check_body_type(&headers)?;
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    }
    .map_err(|e| ApiError::bad_request(format!("the request body is not a Namespace: {e}")))?;
    if sent.get("kind").and_then(Value::as_str) != Some("Namespace") {
        return Err(ApiError::bad_request(
            "the request body is not a Namespace (kind: Namespace)".into(),
        ));
    }
    let name = sent
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let errors = if name.is_empty() {
        vec![wasmjob_spec::FieldError::required(
            "metadata.name",
            "name or generateName is required",
        )]
    } else {
        wasmjob_spec::validate::dns_label_errors(&name)
            .into_iter()
            .map(|e| wasmjob_spec::FieldError::invalid("metadata.name", &name, e))
            .collect()
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid("Namespace", "", &name, &errors));
    }
    let wanted = name.clone();
    let existing = super::objects::read(&state, move |s| Namespace::find(s, None, &wanted)).await?;
    if existing.is_some() {
        return Err(ApiError::already_exists("", "namespaces", &name));
    }
    // Whole seconds, as the API server keeps creation times.
    let now = Time::from_millis(jiff::Timestamp::now().as_second() * 1000);
    let wanted = name.clone();
    let version = super::objects::write(&state, move |store| {
        let mut batch = store.batch()?;
        match batch.create_namespace(&wanted, now) {
            Err(wasmjob_control::store::StoreError::AlreadyExists { name }) => {
                return Err(ApiError::already_exists("", "namespaces", &name));
            }
            r => r?,
        }
        let version = batch.version();
        if !dry_run {
            batch.commit()?;
        }
        Ok(version)
    })
    .await?;
    // A dry run answers what would have been stored, without a resourceVersion.
    let version = if dry_run { 0 } else { version };
    Ok((
        axum::http::StatusCode::CREATED,
        Json(json!(Namespace::new(&name, Some(now), version))),
    ))
}
