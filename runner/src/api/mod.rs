//! api: the Kubernetes REST API that `serve --listen` answers, so that `kubectl` and the
//! official client libraries work against wasmjob unchanged. This part: bearer-token
//! authentication over TLS, discovery, and reading Jobs and Pods (get; list across a namespace or all of
//! them, with label and name selectors; kubectl's Table for `kubectl get`; a container's log
//! for `kubectl logs`; events for `kubectl describe` and `kubectl get events`). Errors are
//! Kubernetes `Status` objects.
//!
//! Must not: decide Job semantics or run pods. It reads the store the controller writes,
//! through a connection of its own (SQLite in WAL mode: readers never wait for the writer).

pub mod auth;
mod deletion;
mod discovery;
mod namespaces;
mod objects;
mod openapi;
mod pod_log;
mod status;
pub mod tls;
mod watch;

use crate::store::Store;
use axum::Router;
use axum::routing::get;
use std::sync::{Arc, Mutex};

/// What every request handler shares.
pub struct ApiState {
    store: Mutex<Store>,
    token: String,
}

/// The API's routes over `store`, requiring `token` as the bearer token of every request.
pub fn router(store: Store, token: String) -> Router {
    let state = Arc::new(ApiState {
        store: Mutex::new(store),
        token,
    });
    Router::new()
        .route("/version", get(discovery::version))
        .route("/api", get(discovery::core_versions))
        .route("/apis", get(discovery::groups))
        .route("/api/v1", get(discovery::core_resources))
        .route("/apis/batch/v1", get(discovery::batch_resources))
        .route("/apis/batch/v1/jobs", get(objects::list_jobs_everywhere))
        .route(
            "/apis/batch/v1/namespaces/{ns}/jobs",
            get(objects::list_jobs),
        )
        .route(
            "/apis/batch/v1/namespaces/{ns}/jobs/{name}",
            get(objects::get_job).delete(deletion::delete_job),
        )
        .route("/api/v1/pods", get(objects::list_pods_everywhere))
        .route("/api/v1/namespaces/{ns}/pods", get(objects::list_pods))
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}",
            get(objects::get_pod).delete(deletion::delete_pod),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}/log",
            get(pod_log::pod_log),
        )
        .route("/api/v1/namespaces", get(namespaces::list))
        .route("/api/v1/namespaces/{ns}", get(namespaces::get))
        .route("/api/v1/events", get(objects::list_events_everywhere))
        .route("/api/v1/namespaces/{ns}/events", get(objects::list_events))
        .merge(openapi::routes())
        .fallback(status::not_found_route)
        .method_not_allowed_fallback(status::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state)
}

/// Answers the API over TLS on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tls::TlsListener,
    store: Store,
    token: String,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(store, token))
        .with_graceful_shutdown(shutdown)
        .await
}
