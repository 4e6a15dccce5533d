//! What `run` and `serve` share: taking the state directory's lease, building a [`Manager`]
//! over a fresh node from the [`Settings`] flags, and stopping on a signal.

use super::Failure;
use crate::lease::{self, Lease, Role};
use crate::manager::{Manager, ManagerError, Scope};
use crate::sandbox::Sandbox;
use crate::settings::Settings;
use crate::store::Store;
use std::path::Path;
use std::sync::Arc;

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
    settings: &Settings,
    store: Store,
    sandbox: Arc<Sandbox>,
    owner: &str,
    scope: Scope,
) -> Result<Manager, Failure> {
    settings
        .manager(store, sandbox, owner, scope)
        .map_err(manager_failure)
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
