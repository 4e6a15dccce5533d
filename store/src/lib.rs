//! wasmjob-store: durable state in an embedded SQLite database (WAL mode, no server): Jobs with
//! their back-off record and manifest folder, Pods, Events, Namespaces, Nodes, work-queue items and
//! the tombstones watches resume from. A Job is stored as its JSON, its status in a column of
//! its own; a pod compactly, as what differs from its Job's template, stored once per Job
//! ([`pod_rows`]); both with the columns the queries need beside them. Every change goes through a [`Batch`] that commits in one
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
use wasmjob_spec::{Job, JobStatus, Pod, TRACKING_FINALIZER, Time, node::Node};

mod batch;
mod open;
mod pod_rows;
mod reads;
mod tombstones;
mod wal_check;
pub mod writer;
pub use batch::Batch;
pub use open::{Check, FORMAT, READER_CHECK_MAX, check_dir};
pub use pod_rows::InlineLog;
pub use writer::{Writer, Writes};

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
    /// An error of the writer thread, as everyone waiting for it sees it.
    #[error(transparent)]
    Shared(std::sync::Arc<StoreError>),
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

/// An event as stored: the record, the resourceVersion of its last change (0 for events
/// stored before versions were kept), and its row's number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub event: EventRecord,
    pub version: i64,
    pub id: i64,
    /// How many times it was seen (aggregated events), and when first; `event.time` is the
    /// last time.
    pub count: i32,
    pub first: Time,
    /// The resourceVersion it was first stored with, which names it (0: stored before
    /// versions were kept; then `id` names it).
    pub name_version: i64,
}

/// A container run whose log is stored with its pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlineRun {
    pub namespace: String,
    pub pod: String,
    pub pod_uid: String,
    pub container: String,
    pub restart: i32,
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
    /// The pod templates of Jobs read so far, by Job uid (a template never changes).
    templates: Templates,
    /// The rows of the events this connection stored by handle ([`Batch::put_event`]).
    event_rows: std::cell::RefCell<std::collections::HashMap<u64, i64>>,
}

/// The largest write-ahead log left as it is when the last connection to the store closes.
/// SQLite moves the log into the database and removes it when its last connection closes —
/// two more syncs, and the next process to write starts a new log with two more (the log's
/// header, and its folder for the new file) — the better part of a short `run`. A small log
/// is left for later (a process that opens the store reads it, as SQLite does; a later close
/// moves it in once it has grown past this, and the controller's checkpointer does while it
/// runs).
pub const LEAVE_LOG_MAX: u64 = 256 << 10;

impl Store {
    /// Whether closing the store's connections now would leave the log as it is (a log no
    /// larger than [`LEAVE_LOG_MAX`], or none): then a process about to end loses nothing by
    /// leaving them to its end.
    pub fn closing_moves_nothing(&self) -> bool {
        std::fs::metadata(StateDir::new(&self.dir).wal()).map_or(true, |m| m.len() <= LEAVE_LOG_MAX)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if self.closing_moves_nothing() {
            // Refused only by a closed connection, which checkpoints nothing anyway.
            let _ = self.conn.set_db_config(
                rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                true,
            );
        }
    }
}

/// Pod templates by Job uid, parsed once per connection.
type Templates = std::cell::RefCell<std::collections::HashMap<String, std::sync::Arc<Job>>>;

/// Templates kept in memory at most; past it the cache starts again.
const TEMPLATES_KEPT: usize = 4096;

/// The template of Job `job_uid`, from `cache` or the `templates` table (`None`: the Job has
/// none — it was stored before templates were, or it is gone).
fn template(
    conn: &Connection,
    cache: &Templates,
    db: &Path,
    job_uid: &str,
) -> Result<Option<std::sync::Arc<Job>>> {
    if let Some(t) = cache.borrow().get(job_uid) {
        return Ok(Some(t.clone()));
    }
    let text: Option<String> = conn
        .prepare_cached("SELECT job FROM templates WHERE job_uid = ?1")
        .and_then(|mut s| s.query_row(params![job_uid], |r| r.get(0)).optional())
        .map_err(|e| sqlite_error(db, e))?;
    let Some(text) = text else {
        return Ok(None);
    };
    let job: Job = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
        path: db.display().to_string(),
        what: format!("pod template of job {job_uid}"),
        detail: format!(
            "{e}; the Job and its pods cannot be read: delete the Job (wasmjob delete job), or restore the state directory from a backup"
        ),
    })?;
    let job = std::sync::Arc::new(job);
    let mut cache = cache.borrow_mut();
    if cache.len() >= TEMPLATES_KEPT {
        cache.clear();
    }
    cache.insert(job_uid.to_string(), job.clone());
    Ok(Some(job))
}

/// A pod row as read: the columns a pod is rebuilt from.
struct PodRow {
    uid: String,
    name: String,
    job_uid: String,
    /// The whole pod as JSON; empty for a compact row.
    object: String,
    version: Option<i64>,
    idx: Option<i32>,
    finalizer: bool,
    record: Option<Vec<u8>>,
}

/// Reads the columns of a [`PodRow`]; callers add the `WHERE`.
const POD_SQL: &str =
    "SELECT uid, name, job_uid, object, version, idx, coalesce(finalizer, 0), record FROM pods";

fn pod_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PodRow> {
    Ok(PodRow {
        uid: r.get(0)?,
        name: r.get(1)?,
        job_uid: r.get(2)?,
        object: r.get(3)?,
        version: r.get(4)?,
        idx: r.get(5)?,
        finalizer: r.get::<_, i64>(6)? != 0,
        // Bytes, whatever type a damaged row gives them: decoding names what is wrong.
        record: match r.get_ref(7)? {
            rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => {
                Some(b.to_vec())
            }
            _ => None,
        },
    })
}

/// The pod of a row: parsed when stored whole, else rebuilt from its Job's template.
fn pod_of_row(conn: &Connection, cache: &Templates, db: &Path, row: PodRow) -> Result<Pod> {
    let corrupt = |detail: String| StoreError::Corrupt {
        path: db.display().to_string(),
        what: format!("pod {}", row.name),
        detail,
    };
    if !row.object.is_empty() {
        return serde_json::from_str(&row.object).map_err(|e| corrupt(e.to_string()));
    }
    let (Some(version), Some(record)) = (row.version, row.record.as_ref()) else {
        return Err(corrupt(
            "its row has neither an object nor a compact record; delete the pod's Job (wasmjob delete job), or restore the state directory from a backup".into(),
        ));
    };
    let Some(t) = template(conn, cache, db, &row.job_uid)? else {
        return Err(corrupt(format!(
            "the template of its Job {} is missing; delete the pod (wasmjob delete pod {}), or restore the state directory from a backup",
            row.job_uid, row.name
        )));
    };
    let compact = pod_rows::Compact {
        index: row.idx,
        finalizer: row.finalizer,
        record: record.clone(),
    };
    pod_rows::decode(&t, &row.uid, &row.name, version, &compact).map_err(|e| {
        corrupt(format!(
            "its compact record is damaged ({e}); delete the pod (wasmjob delete pod {}), or restore the state directory from a backup",
            row.name
        ))
    })
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
const EVENT_SQL: &str = "SELECT namespace, kind, name, uid, type, reason, message, time, coalesce(version, 0), id, coalesce(first_time, time), coalesce(count, 1), coalesce(name_version, version, 0) FROM events";

/// Reads the columns a [`JobRecord`] is made of (name, object, back-off, folder, status,
/// resourceVersion); callers add the `WHERE`.
const JOB_SQL: &str = "SELECT name, object, backoff, base_dir, status, version FROM jobs";

/// A Job row as read.
struct JobRow {
    name: String,
    object: String,
    backoff: String,
    base_dir: String,
    status: Option<String>,
    version: Option<i64>,
}

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        name: r.get(0)?,
        object: r.get(1)?,
        backoff: r.get(2)?,
        base_dir: r.get(3)?,
        status: r.get(4)?,
        version: r.get(5)?,
    })
}

/// The record of a Job row: its object, with the status and resourceVersion of their own
/// columns when it has them.
fn job_of_row(db: &Path, row: JobRow) -> Result<JobRecord> {
    let corrupt = |what: String, e: serde_json::Error| StoreError::Corrupt {
        path: db.display().to_string(),
        what,
        detail: e.to_string(),
    };
    let mut job: Job =
        serde_json::from_str(&row.object).map_err(|e| corrupt(format!("job {}", row.name), e))?;
    if let Some(status) = &row.status {
        job.status = Some(
            serde_json::from_str(status)
                .map_err(|e| corrupt(format!("status of job {}", row.name), e))?,
        );
    }
    if let Some(v) = row.version {
        job.metadata.resource_version = Some(v.to_string());
    }
    Ok(JobRecord {
        job,
        backoff: serde_json::from_str(&row.backoff)
            .map_err(|e| corrupt(format!("back-off of job {}", row.name), e))?,
        base_dir: PathBuf::from(row.base_dir),
    })
}

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

/// A Job's JSON without its status (which has a column of its own) and resourceVersion (also).
fn spec_json(job: &Job) -> String {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Spec<'a> {
        api_version: &'a str,
        kind: &'a str,
        metadata: &'a wasmjob_spec::ObjectMeta,
        spec: &'a wasmjob_spec::JobSpec,
    }
    json(&Spec {
        api_version: &job.api_version,
        kind: &job.kind,
        metadata: &job.metadata,
        spec: &job.spec,
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_compact;
