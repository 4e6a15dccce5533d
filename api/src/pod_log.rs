//! `GET /api/v1/namespaces/{ns}/pods/{name}/log`: a container's log as `kubectl logs` reads it,
//! bytes as the guest wrote them, with `container`, `previous`, `tailLines`, `timestamps` and
//! `follow` (the answer streams what the run adds, and ends when the run does).

use super::ApiState;
use super::list_options::ApiQuery;
use super::status::ApiError;
use super::watch::POLL;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use wasmjob_control::ops::logs::{Reader, Source};
use wasmjob_spec::Pod;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogQuery {
    container: Option<String>,
    #[serde(default, deserialize_with = "super::list_options::query_bool")]
    previous: bool,
    tail_lines: Option<i64>,
    #[serde(default, deserialize_with = "super::list_options::query_bool")]
    timestamps: bool,
    #[serde(default, deserialize_with = "super::list_options::query_bool")]
    follow: bool,
}

pub async fn pod_log(
    State(state): State<Arc<ApiState>>,
    Path((ns, name)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Response, ApiError> {
    let follow = q.follow && !q.previous;
    let reading = state.clone();
    let (existing, reader) = tokio::task::spawn_blocking(move || {
        let store = reading.store.lock().unwrap_or_else(|e| e.into_inner());
        let pod = store
            .get_pod(&ns, &name)
            .map_err(|e| ApiError::internal(e.to_string()))?
            .ok_or_else(|| ApiError::not_found("", "pods", &name))?;
        let container = container(&pod, q.container.as_deref())?;
        let source = Source::of(&store, pod, container, q.previous)?;
        let mut reader = Reader::plain(source, q.timestamps);
        let mut body = Vec::new();
        let tail = q.tail_lines.filter(|n| *n >= 0).map(|n| n as usize);
        reader.print_existing(&mut body, tail)?;
        Ok::<_, ApiError>((body, reader))
    })
    .await
    .map_err(|e| ApiError::internal(format!("the log reader failed: {e}")))??;
    let plain = [(axum::http::header::CONTENT_TYPE, "text/plain")];
    if !follow {
        return Ok((plain, existing).into_response());
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    let _ = tx.try_send(existing);
    tokio::task::spawn_blocking(move || follow_log(&state, reader, &tx));
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<Bytes, std::convert::Infallible>(Bytes::from(b)), rx))
    });
    Ok((plain, Body::from_stream(body)).into_response())
}

/// Sends what is added to the log until the container's run ends or the client goes.
fn follow_log(state: &ApiState, mut reader: Reader, tx: &tokio::sync::mpsc::Sender<Vec<u8>>) {
    loop {
        std::thread::sleep(POLL);
        let mut chunk = Vec::new();
        let ended = {
            let store = state.store.lock().unwrap_or_else(|e| e.into_inner());
            // Read, then ask whether the run has ended; read once more after it has, so
            // that nothing written just before the end is missed.
            if reader.print_new(&mut chunk).is_err() {
                return;
            }
            let ended = reader.ended(&store).unwrap_or(true);
            if ended && reader.print_new(&mut chunk).is_err() {
                return;
            }
            ended
        };
        if (!chunk.is_empty() && tx.blocking_send(chunk).is_err()) || tx.is_closed() {
            return;
        }
        if ended {
            return;
        }
    }
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
