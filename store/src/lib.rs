//! wasmjob-store: durable state in an embedded SQLite database (WAL mode, no server): Jobs with
//! their back-off record and manifest folder, Pods, Events, Namespaces, work-queue items and
//! the tombstones watches resume from. Objects are stored as their JSON, with the columns the
//! queries need beside them. Every change goes through a [`Batch`] that commits in one
//! transaction (group commit: a reconcile's status, new pods and counted-pod markers land
//! together or not at all). Also the state directory's layout ([`StateDir`], every path) and
//! the [`lease`] of who controls it.
//! Must not: decide anything about Jobs, or know wasmtime or the node (container logs are the
//! node's files, in the folder [`StateDir::logs`] names).

pub mod lease;
mod state_dir;
pub use state_dir::StateDir;

use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use wasmjob_controller::BackoffRecord;
use wasmjob_spec::{Job, Pod, Time};

mod batch;
mod open;
mod reads;
mod wal_check;
pub use batch::Batch;
pub use open::{FORMAT, check_dir};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("jobs.batch {name:?} already exists")]
    AlreadyExists { name: String },
    #[error("state store {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error("state store {path}: corrupt {what}: {detail}")]
    Corrupt {
        path: String,
        what: String,
        detail: String,
    },
    #[error("{path} is not a wasmjob state directory: {detail}")]
    Foreign { path: String, detail: String },
    #[error("state directory {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A SQLite error on the database `db`, saying so when the file system holding it is full:
/// SQLite reports a full disk as "database or disk is full" when a write to the database or
/// its log fails, but as a bare "disk I/O error" when growing its shared-memory index does.
/// How many deletions a watch resumed from an older resourceVersion can still be told of.
pub const TOMBSTONES_KEPT: i64 = 10_000;

fn sqlite_error(db: &Path, source: rusqlite::Error) -> StoreError {
    let source = match source {
        rusqlite::Error::SqliteFailure(f, msg)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DiskFull
                    | rusqlite::ErrorCode::SystemIoFailure
                    | rusqlite::ErrorCode::CannotOpen
            ) && db.parent().is_some_and(no_space_left) =>
        {
            let what = msg.unwrap_or_else(|| rusqlite::Error::SqliteFailure(f, None).to_string());
            rusqlite::Error::SqliteFailure(
                f,
                Some(format!(
                    "{what}: No space left on device (the file system holding {} is full)",
                    db.parent()
                        .map_or_else(String::new, |d| d.display().to_string())
                )),
            )
        }
        e => e,
    };
    StoreError::Sqlite {
        path: db.display().to_string(),
        source,
    }
}

/// Whether the file system holding `dir` has (almost) no free blocks or no free inodes left
/// for this process.
fn no_space_left(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid C string and a zeroed out-parameter of the right type.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut s) } != 0 {
        return false;
    }
    // Root may use the blocks reserved for it; others only the available ones.
    let free = if unsafe { libc::geteuid() } == 0 {
        s.f_bfree
    } else {
        s.f_bavail
    };
    (free as u128) * (s.f_frsize as u128) < 64 * 1024 || (s.f_files > 0 && s.f_ffree == 0)
}

/// A stored Job with what the controller keeps beside it.
#[derive(Clone, Debug)]
pub struct JobRecord {
    pub job: Job,
    pub backoff: BackoffRecord,
    /// Folder of the manifest the Job came from: relative images and hostPaths resolve here.
    pub base_dir: PathBuf,
}

/// An event, as `kubectl get events` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub type_: String,
    pub reason: String,
    pub message: String,
    pub time: Time,
}

/// An event as stored: the record, and the resourceVersion it was stored with (unique and
/// never reused, so it names the event; 0 for events stored before versions were kept, then
/// `id`, the row's number, names it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub event: EventRecord,
    pub version: i64,
    pub id: i64,
}

/// A namespace as stored: its name, creation time and the resourceVersion of its creation
/// (0 when not known: stores written before versions were kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredNamespace {
    pub name: String,
    pub created: Time,
    pub version: i64,
}

pub struct Store {
    conn: Connection,
    dir: PathBuf,
    /// How many batches this connection has committed (SQLite's `data_version` does not move
    /// for a connection's own commits; see [`Store::changes`]).
    commits: u64,
}

/// A token that differs after any commit to the store, whoever made it: compare two to know
/// whether anything may have changed (see [`Store::changes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Changes {
    /// SQLite's `data_version`: moves when another connection commits.
    elsewhere: i64,
    /// This connection's own commits.
    own: u64,
}

/// One work-queue item as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueItem {
    pub id: u64,
    pub text: String,
    /// `Pending`, `Leased` or `Done`.
    pub state: String,
    /// The pod it is leased to, or that acknowledged it.
    pub pod: Option<String>,
    pub attempts: u32,
}

/// A Job's control marks, as the controllers poll them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobState {
    pub uid: String,
    pub generation: i64,
    /// Set by `wasmjob delete`: `Background`, `Foreground` or `Orphan`.
    pub deleting: Option<String>,
    /// The controller running the Job (see [`lease`]).
    pub owner: Option<String>,
}

/// Reads the columns of a [`StoredEvent`]; callers add the `WHERE`.
const EVENT_SQL: &str = "SELECT namespace, kind, name, uid, type, reason, message, time, coalesce(version, 0), id FROM events";

/// Reads the columns of a [`JobState`]; callers add the `WHERE`.
const JOB_STATE_SQL: &str = "SELECT uid, coalesce(json_extract(object, '$.metadata.generation'), 1), deleting, owner FROM jobs";

fn job_state_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobState> {
    Ok(JobState {
        uid: r.get(0)?,
        generation: r.get(1)?,
        deleting: r.get(2)?,
        owner: r.get(3)?,
    })
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_string())
}

#[cfg(test)]
mod tests;
