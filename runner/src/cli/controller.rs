//! What `run` and `serve` share: the node and back-off flags, taking the state directory's
//! lease, and building a [`Manager`] over a fresh node.

use super::{Failure, parse_duration};
use crate::lease::{self, Lease, Role};
use crate::manager::{Manager, ManagerError, Scope};
use crate::sandbox::Sandbox;
use crate::store::Store;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct ControllerArgs {
    /// First delay before re-creating pods after a failure (doubles per failure). Also paces
    /// OnFailure container restarts. Kubernetes: 10s.
    #[arg(long, value_parser = parse_duration, default_value = "10s", value_name = "DURATION")]
    pub backoff_base: Duration,

    /// Cap of the re-creation delay (OnFailure restarts are capped at half of it). Kubernetes'
    /// controller: 10m.
    #[arg(long, value_parser = parse_duration, default_value = "10m", value_name = "DURATION")]
    pub backoff_max: Duration,

    /// Most pods running at once; further pods wait as Pending.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_pods: usize,

    /// Guest memory the pods' memory limits may reserve at once (e.g. `4Gi`); pods that do
    /// not fit wait as Pending, and one that could never fit stays Unschedulable.
    #[arg(long, value_parser = parse_memory, value_name = "QUANTITY")]
    pub memory_budget: Option<u64>,

    /// Linear memory all running guests may hold together (e.g. `16Gi`); a guest whose growth
    /// would pass it is OOMKilled, so guests without memory limits cannot take the host's
    /// memory. Default: the machine's memory less 1 GiB.
    #[arg(long, value_parser = parse_memory, value_name = "QUANTITY")]
    pub guest_memory: Option<u64>,

    /// Bytes of output kept per container run; past it the log is truncated with a marker.
    #[arg(long, default_value_t = 10 << 20, value_name = "BYTES")]
    pub log_limit: u64,
}

/// A Kubernetes memory quantity (`512Mi`, `4Gi`, `1e9`) in bytes.
fn parse_memory(text: &str) -> Result<u64, String> {
    wasmjob_spec::Quantity(text.to_string())
        .to_bytes_ceil()
        .map_err(|e| format!("invalid quantity {text:?} (examples: 512Mi, 4Gi): {e}"))
}

/// Takes the lease of `dir` in `role`, mapping a clash to a clear refusal.
pub fn take_lease(dir: &Path, role: Role) -> Result<Result<Lease, lease::LeaseError>, Failure> {
    match lease::acquire(dir, role) {
        Ok(l) => Ok(Ok(l)),
        Err(lease::LeaseError::Io { path, source }) => Err(Failure::runtime(format!(
            "error: state directory {path}: {source}"
        ))),
        Err(e) => Ok(Err(e)),
    }
}

/// A manager on a new node, recording `owner` on the Jobs it runs.
pub fn build_manager(
    args: &ControllerArgs,
    store: Store,
    sandbox: Arc<Sandbox>,
    owner: &str,
    scope: Scope,
) -> Manager {
    let settings = crate::embed::Settings {
        backoff_base: args.backoff_base,
        backoff_max: args.backoff_max,
        max_pods: args.max_pods,
        memory_budget: args.memory_budget,
        guest_memory: args.guest_memory,
        log_limit: args.log_limit,
    };
    settings.manager(store, sandbox, owner, scope)
}

pub fn manager_failure(e: ManagerError) -> Failure {
    match e {
        ManagerError::Store(s) => s.into(),
        e => Failure::runtime(format!("error: {e}")),
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
