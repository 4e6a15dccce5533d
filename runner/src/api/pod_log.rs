//! `GET /api/v1/namespaces/{ns}/pods/{name}/log`: a container's log as `kubectl logs` reads it,
//! bytes as the guest wrote them, with `container`, `previous`, `tailLines` and `timestamps`.
//! (`follow` is not served yet: the log as it is is answered.)

use super::ApiState;
use super::status::ApiError;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use wasmjob_spec::Pod;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogQuery {
    container: Option<String>,
    #[serde(default)]
    previous: bool,
    tail_lines: Option<i64>,
    #[serde(default)]
    timestamps: bool,
}

pub async fn pod_log(
    State(state): State<Arc<ApiState>>,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Query<LogQuery>,
) -> Result<Response, ApiError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let store = state.store.lock().unwrap_or_else(|e| e.into_inner());
        let pod = store
            .get_pod(&ns, &name)
            .map_err(|e| ApiError::internal(e.to_string()))?
            .ok_or_else(|| ApiError::not_found("", "pods", &name))?;
        let container = container(&pod, q.container.as_deref())?;
        let restart = crate::cli::logs::run_of(&pod, &container, q.previous)
            .map_err(ApiError::bad_request)?;
        let path = crate::node::log_path(store.dir(), &pod, &container, restart);
        let mut records = crate::sandbox::read_log(&path)
            .map_err(|e| ApiError::internal(format!("reading {}: {e}", path.display())))?;
        if let Some(n) = q.tail_lines.filter(|n| *n >= 0) {
            crate::cli::logs::keep_last_lines(&mut records, n as usize);
        }
        let mut body = Vec::new();
        let mut at_line_start = true;
        for r in &records {
            if at_line_start && q.timestamps && !r.time.is_empty() {
                body.extend_from_slice(r.time.as_bytes());
                body.push(b' ');
            }
            body.extend_from_slice(&r.raw());
            at_line_start = r.full;
        }
        Ok(([(axum::http::header::CONTENT_TYPE, "text/plain")], body).into_response())
    })
    .await
    .map_err(|e| ApiError::internal(format!("the log reader failed: {e}")))?
}

/// The container asked for, or the pod's only one; as the kubelet words the errors.
fn container(pod: &Pod, asked: Option<&str>) -> Result<String, ApiError> {
    let all: Vec<&str> = pod
        .spec
        .init_containers
        .iter()
        .chain(&pod.spec.containers)
        .map(|c| c.name.as_str())
        .collect();
    match asked {
        Some(c) if all.contains(&c) => Ok(c.to_string()),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {}",
            pod.metadata.name()
        ))),
        None if pod.spec.containers.len() == 1 => Ok(pod.spec.containers[0].name.clone()),
        None => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {}, choose one of: [{}]",
            pod.metadata.name(),
            pod.spec
                .containers
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ))),
    }
}
