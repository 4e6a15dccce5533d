//! Changing nodes through the API: `PATCH` (the patch types of [`super::patches`]) as
//! `kubectl cordon`, `uncordon`, `label node`, `annotate node` and `taint` send it. A user
//! changes a node's labels, annotations and spec (a cordon: `spec.unschedulable`); its status
//! is its node's and stays, its name and uid cannot change, and a `metadata.resourceVersion`
//! other than the stored one is a Conflict. `dryRun=All` checks everything and stores nothing.
//!
//! Must not: schedule or stop pods (the controller notices the change and places waiting pods).

use super::ApiState;
use super::job_writes::WriteQuery;
use super::list_options::ApiQuery;
use super::objects::write;
use super::patches::{self, PatchType};
use super::status::ApiError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use std::sync::Arc;
use wasmjob_control::ops::nodes;
use wasmjob_spec::FieldError;
use wasmjob_spec::node::Node;

fn invalid(name: &str, errors: &[FieldError]) -> ApiError {
    ApiError::invalid("Node", "", name, errors)
}

pub async fn patch_node(
    State(state): State<Arc<ApiState>>,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let dry_run = q.dry_run()?;
    let kind = PatchType::of_request(&headers)?;
    let wanted = name.clone();
    let changed = write(&state, move |store| {
        nodes::change(store, &wanted, dry_run, |old| {
            patched(old, kind, &body, &wanted)
        })
    })
    .await?;
    let (node, _) = changed.ok_or_else(|| ApiError::not_found("", "nodes", &name))?;
    Ok(Json(json!(node)))
}

/// `old` with `patch` applied, if the result is a node a user may store.
fn patched(old: &Node, kind: PatchType, patch: &[u8], name: &str) -> Result<Node, ApiError> {
    let doc = serde_json::to_value(old).map_err(|e| ApiError::internal(e.to_string()))?;
    let value = patches::apply(kind, &doc, patch)?;
    let new: Node = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        invalid(
            name,
            &[wasmjob_spec::parse::classify(
                path,
                &e.inner().to_string(),
                None,
            )],
        )
    })?;
    let mut errors = Vec::new();
    if new.metadata.name.as_deref() != Some(name) {
        errors.push(FieldError::invalid(
            "metadata.name",
            new.metadata.name.clone().unwrap_or_default(),
            "field is immutable",
        ));
    }
    errors.extend(wasmjob_spec::validate::validate_node(&new));
    if !errors.is_empty() {
        return Err(invalid(name, &errors));
    }
    let stale = |theirs: &Option<String>, ours: &Option<String>| {
        theirs.as_deref().is_some_and(|t| !t.is_empty()) && theirs != ours
    };
    if stale(
        &new.metadata.resource_version,
        &old.metadata.resource_version,
    ) || stale(&new.metadata.uid, &old.metadata.uid)
    {
        return Err(ApiError::conflict("", "nodes", name));
    }
    Ok(new)
}
