//! Namespaces (`/api/v1/namespaces[/{name}]`: get, list, create): `default`, those created
//! (`kubectl create namespace`), and every namespace a stored Job lives in (Jobs may be
//! created in a namespace that was not created first: wasmjob has no admission step that
//! refuses them). Namespaces are not deleted.

use super::ApiState;
use super::status::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmjob_spec::Time;

/// Each namespace with the creation time of its oldest Job (none for an empty `default`).
async fn namespaces(state: &Arc<ApiState>) -> Result<BTreeMap<String, Option<Time>>, ApiError> {
    let (jobs, created) =
        super::objects::read(state, |s| Ok((s.list_jobs(None)?, s.namespaces()?))).await?;
    let mut all: BTreeMap<String, Option<Time>> = BTreeMap::new();
    all.insert("default".into(), None);
    for (name, at) in created {
        all.insert(name, Some(at));
    }
    for r in &jobs {
        let oldest = all.entry(r.job.namespace().to_string()).or_insert(None);
        *oldest = [*oldest, r.job.metadata.creation_timestamp]
            .into_iter()
            .flatten()
            .min();
    }
    Ok(all)
}

fn object(name: &str, created: Option<Time>) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "creationTimestamp": created, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    })
}

const COLUMNS: [super::objects::Column; 3] = [
    (
        "Name",
        "string",
        "name",
        0,
        "Name must be unique within a namespace.",
    ),
    ("Status", "string", "", 0, "The status of the namespace."),
    (
        "Age",
        "string",
        "",
        0,
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    ),
];

fn table(all: &[(String, Option<Time>)]) -> Value {
    let now = Time(jiff::Timestamp::now());
    let metas: Vec<wasmjob_spec::ObjectMeta> = all
        .iter()
        .map(|(name, created)| wasmjob_spec::ObjectMeta {
            name: Some(name.clone()),
            creation_timestamp: *created,
            ..Default::default()
        })
        .collect();
    let rows = all
        .iter()
        .zip(&metas)
        .map(|((name, created), meta)| {
            let age = match created {
                Some(_) => crate::cli::printers::since(*created, now),
                None => "<unknown>".into(),
            };
            (vec![name.clone(), "Active".into(), age], meta)
        })
        .collect();
    super::objects::table(&COLUMNS, rows, 0)
}

pub async fn list(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let all: Vec<(String, Option<Time>)> = namespaces(&state).await?.into_iter().collect();
    if super::objects::wants_table(&headers) {
        return Ok(Json(table(&all)));
    }
    let items: Vec<Value> = all.iter().map(|(n, c)| object(n, *c)).collect();
    Ok(Json(json!({
        "kind": "NamespaceList",
        "apiVersion": "v1",
        "metadata": {},
        "items": items,
    })))
}

pub async fn get(
    State(state): State<Arc<ApiState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let all = namespaces(&state).await?;
    let created = *all
        .get(&name)
        .ok_or_else(|| ApiError::not_found("", "namespaces", &name))?;
    if super::objects::wants_table(&headers) {
        return Ok(Json(table(&[(name, created)])));
    }
    Ok(Json(object(&name, created)))
}

/// `POST /api/v1/namespaces` with a Namespace: its name must be a DNS label not yet in use.
pub async fn create(
    State(state): State<Arc<ApiState>>,
    axum::extract::Query(q): axum::extract::Query<super::job_writes::WriteQuery>,
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
    if namespaces(&state).await?.contains_key(&name) {
        return Err(ApiError::already_exists("", "namespaces", &name));
    }
    // Whole seconds, as the API server keeps creation times.
    let now = Time::from_millis(jiff::Timestamp::now().as_second() * 1000);
    if dry_run {
        return Ok((
            axum::http::StatusCode::CREATED,
            Json(object(&name, Some(now))),
        ));
    }
    let wanted = name.clone();
    super::objects::write(&state, move |store| {
        let mut batch = store.batch()?;
        match batch.create_namespace(&wanted, now) {
            Err(crate::store::StoreError::AlreadyExists { name }) => {
                return Err(ApiError::already_exists("", "namespaces", &name));
            }
            r => r?,
        }
        Ok(batch.commit()?)
    })
    .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(object(&name, Some(now))),
    ))
}
