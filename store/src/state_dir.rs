//! The layout of a state directory, in one place: every path below it is named here, and
//! every other part asks for its path rather than joining names of its own.
//!
//! Must not: create or read anything (opening is `open`'s, the lease is `lease`'s).

use std::path::{Path, PathBuf};

/// A state directory (`--state-dir`, `WASMJOB_STATE_DIR`, or `$XDG_STATE_HOME/wasmjob`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

/// The database file.
const DB: &str = "state.db";
/// SQLite's write-ahead log beside it.
const WAL: &str = "state.db-wal";
/// Container logs, one file per run (the node names them).
const LOGS: &str = "logs";
/// Pods' scratch space: `emptyDir` volumes, a folder per pod uid.
const PODS: &str = "pods";
/// Compiled modules, kept for later processes.
const MODULES: &str = "modules";
/// The Kubernetes API's files: its token, certificate and address.
const API: &str = "api";
/// The folders of `wasmjob node` processes given this state directory (`nodes/<name>`).
const NODES: &str = "nodes";
/// The lock `wasmjob serve` holds exclusively and `wasmjob run` shared.
const LEASE: &str = "controller.lock";
/// Each controller's own lock, `<id>.lock`, held for its life.
const OWNERS: &str = "owners";

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn db(&self) -> PathBuf {
        self.root.join(DB)
    }

    pub fn wal(&self) -> PathBuf {
        self.root.join(WAL)
    }

    pub fn logs(&self) -> PathBuf {
        self.root.join(LOGS)
    }

    pub fn pods(&self) -> PathBuf {
        self.root.join(PODS)
    }

    pub fn modules(&self) -> PathBuf {
        self.root.join(MODULES)
    }

    pub fn api(&self) -> PathBuf {
        self.root.join(API)
    }

    pub fn lease(&self) -> PathBuf {
        self.root.join(LEASE)
    }

    pub fn owners(&self) -> PathBuf {
        self.root.join(OWNERS)
    }

    /// Every entry a state directory may hold: the database with SQLite's files beside it, and
    /// the folders and files above. Anything else means the folder is someone else's.
    pub fn own_entries() -> [&'static str; 11] {
        [
            DB,
            WAL,
            "state.db-shm",
            "state.db-journal",
            LEASE,
            OWNERS,
            LOGS,
            PODS,
            MODULES,
            API,
            NODES,
        ]
    }
}
