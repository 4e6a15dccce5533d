//! The operations the CLI and the API share, over the store: a new Job's identity and
//! work-queue items ([`manifest`], [`items`]), the rules of a Job update ([`update`]),
//! deleting Jobs and pods ([`delete`]), cordoning, changing and deleting nodes ([`nodes`]), reading logs ([`logs`]), kubectl's rows of Jobs,
//! pods and events ([`rows`]) and the v1 shape of an event ([`events`]). Each fails with an [`OpError`] that says what went wrong;
//! the front ends turn it into their own answer — an exit code and a message
//! (the `wasmjob` CLI's `Failure`), a `Status` (`wasmjob-api`). Prints nothing; knows no HTTP.

pub mod delete;
pub mod events;
pub mod items;
pub mod logs;
pub mod manifest;
pub mod nodes;
pub mod rows;
pub mod update;

use crate::store::StoreError;

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The request is wrong: what it names is malformed, missing or not allowed here (the
    /// words say what and where). The CLI exits 2; the API answers 400.
    #[error("{0}")]
    Invalid(String),
    /// Waiting for the operation's end ran out of time.
    #[error("{0}")]
    Timeout(String),
    /// Anything else (reading a file the operation needs, …).
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
