//! Namespaces (`/api/v1/namespaces[/{name}]`, get and list): `default`, and every namespace a
//! stored Job lives in. A namespace exists here as long as something is in it; there is no
//! object of its own to create or delete yet.

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
    let jobs = super::objects::read(state, |s| s.list_jobs(None)).await?;
    let mut all: BTreeMap<String, Option<Time>> = BTreeMap::new();
    all.insert("default".into(), None);
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
