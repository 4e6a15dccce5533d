//! api: the Kubernetes REST API that `serve --listen` answers, so that `kubectl` and the
//! official client libraries work against wasmjob unchanged: bearer-token authentication over
//! TLS, discovery and OpenAPI v3, Jobs (create, get, list, watch, replace, patch, delete),
//! Pods (get, list, watch, delete, logs), Events (get, list, watch), Namespaces (create, get,
//! list, watch), Nodes (get, list, watch, patch, delete); kubectl's Tables; errors as
//! Kubernetes `Status` objects. Each part has its
//! own module; `discovery::RESOURCES` says what is served.
//!
//! Must not: decide Job semantics or run pods. It reads and writes the store the controller
//! works from, through a connection of its own (SQLite in WAL mode: readers never wait for the
//! writer), with the same rules as the CLI's commands.

pub mod auth;
mod deletion;
mod discovery;
mod job_writes;
mod kinds;
mod list_options;
mod namespaces;
mod node_writes;
mod objects;
mod openapi;
mod patches;
mod pod_log;
mod protobuf;
mod status;
pub mod tls;
mod watch;

use axum::Router;
use axum::routing::get;
use kinds::{Event, Namespace};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wasmjob_control::sandbox::Sandbox;
use wasmjob_control::store::Store;
use wasmjob_spec::node::Node;
use wasmjob_spec::{Job, Pod};

/// What the API needs besides its store.
pub struct ApiConfig {
    /// The bearer token every request must carry.
    pub token: String,
    /// Compiles the modules of Jobs sent to the API (a module that does not load is refused).
    pub sandbox: Arc<Sandbox>,
    /// Where relative images, hostPaths and items files of Jobs sent to the API resolve.
    pub image_dir: PathBuf,
}

/// What every request handler shares.
pub struct ApiState {
    store: Mutex<Store>,
    token: String,
    sandbox: Arc<Sandbox>,
    image_dir: PathBuf,
}

/// The API's routes over `store`.
pub fn router(store: Store, config: ApiConfig) -> Router {
    let state = Arc::new(ApiState {
        store: Mutex::new(store),
        token: config.token,
        sandbox: config.sandbox,
        image_dir: config.image_dir,
    });
    Router::new()
        .route("/version", get(discovery::version))
        .route("/api", get(discovery::core_versions))
        .route("/apis", get(discovery::groups))
        .route("/api/v1", get(discovery::core_resources))
        .route("/apis/batch/v1", get(discovery::batch_resources))
        .route("/apis/batch/v1/jobs", get(objects::list_all::<Job>))
        .route(
            "/apis/batch/v1/namespaces/{ns}/jobs",
            get(objects::list::<Job>).post(job_writes::create_job),
        )
        .route(
            "/apis/batch/v1/namespaces/{ns}/jobs/{name}",
            get(objects::get::<Job>)
                .delete(deletion::delete_job)
                .put(job_writes::replace_job)
                .patch(job_writes::patch_job),
        )
        .route(
            "/apis/batch/v1/namespaces/{ns}/jobs/{name}/status",
            get(objects::get::<Job>),
        )
        .route("/api/v1/pods", get(objects::list_all::<Pod>))
        .route("/api/v1/namespaces/{ns}/pods", get(objects::list::<Pod>))
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}",
            get(objects::get::<Pod>).delete(deletion::delete_pod),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}/log",
            get(pod_log::pod_log),
        )
        .route(
            "/api/v1/namespaces",
            get(objects::list_all::<Namespace>).post(namespaces::create),
        )
        .route(
            "/api/v1/namespaces/{name}",
            get(objects::get_cluster::<Namespace>),
        )
        .route("/api/v1/nodes", get(objects::list_all::<Node>))
        .route(
            "/api/v1/nodes/{name}",
            get(objects::get_cluster::<Node>)
                .patch(node_writes::patch_node)
                .delete(deletion::delete_node),
        )
        .route("/api/v1/events", get(objects::list_all::<Event>))
        .route(
            "/api/v1/namespaces/{ns}/events",
            get(objects::list::<Event>),
        )
        .route(
            "/api/v1/namespaces/{ns}/events/{name}",
            get(objects::get::<Event>),
        )
        .merge(openapi::routes())
        .fallback(status::not_found_route)
        .method_not_allowed_fallback(status::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .layer(axum::middleware::map_response(status::as_status))
        .with_state(state)
}

/// Answers the API over TLS on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tls::TlsListener,
    store: Store,
    config: ApiConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(store, config))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests;
