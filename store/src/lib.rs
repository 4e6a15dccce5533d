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

mod open;
mod wal_check;
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

impl Store {
    /// Opens (creating if needed) the store in `dir`. Refuses a directory or database that
    /// is not a wasmjob state directory, and a corrupt database, without changing them.
    pub fn open(dir: &Path) -> Result<Store> {
        let conn = open::connect(dir)?;
        Ok(Store {
            conn,
            dir: dir.to_path_buf(),
            commits: 0,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn sql_err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| sqlite_error(&StateDir::new(&self.dir).db(), e)
    }

    fn parse<T: serde::de::DeserializeOwned>(&self, what: &str, text: &str) -> Result<T> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
            path: StateDir::new(&self.dir).db().display().to_string(),
            what: what.to_string(),
            detail: e.to_string(),
        })
    }

    /// The work-queue items of a Job, by id (none: the Job has no queue).
    pub fn queue_items(&self, job_uid: &str) -> Result<Vec<QueueItem>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, item, state, pod, attempts FROM queue_items WHERE job_uid = ?1 ORDER BY id",
            )
            .map_err(self.sql_err())?;
        let rows = stmt
            .query_map(params![job_uid], |r| {
                Ok(QueueItem {
                    id: r.get::<_, i64>(0)? as u64,
                    text: r.get(1)?,
                    state: r.get(2)?,
                    pod: r.get(3)?,
                    attempts: r.get(4)?,
                })
            })
            .map_err(self.sql_err())?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.sql_err())
    }

    /// The namespaces recorded: those created as objects of their own (through the API), and
    /// those Jobs were created in, with their creation times.
    pub fn namespaces(&self) -> Result<Vec<StoredNamespace>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT name, created, coalesce(version, 0) FROM namespaces ORDER BY name",
            )
            .map_err(self.sql_err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(StoredNamespace {
                    name: r.get(0)?,
                    created: Time::from_millis(r.get(1)?),
                    version: r.get(2)?,
                })
            })
            .map_err(self.sql_err())?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.sql_err())
    }

    /// The last states of the objects of `kind` (`Job`, `Pod`) deleted after resourceVersion
    /// `since` (in `namespace`, or all), oldest first, each with the resourceVersion of its
    /// deletion. Pods that went with their Job are told by their metadata (name, namespace,
    /// uid, labels) only.
    pub fn deleted_since(
        &self,
        kind: &str,
        namespace: Option<&str>,
        since: i64,
    ) -> Result<Vec<serde_json::Value>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT version, kind, namespace, object FROM tombstones WHERE (kind = ?1 OR (?1 = 'Pod' AND kind = 'Pods')) AND version > ?2 AND (?3 IS NULL OR namespace = ?3) ORDER BY version",
            )
            .map_err(self.sql_err())?;
        let rows = stmt
            .query_map(params![kind, since, namespace], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(self.sql_err())?;
        let rows = rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.sql_err())?;
        let mut found: Vec<(i64, serde_json::Value)> = Vec::new();
        for (version, kind, ns, text) in rows {
            let object: serde_json::Value = self.parse("deleted object", &text)?;
            if kind != "Pods" {
                found.push((version, object));
                continue;
            }
            let first = object["first"].as_i64().unwrap_or(version);
            let empty = Vec::new();
            let pods = object["pods"].as_array().unwrap_or(&empty);
            for (i, pod) in pods.iter().enumerate() {
                let v = first + i as i64;
                if v <= since {
                    continue;
                }
                let mut labels = object["labels"].clone();
                if let (Some(all), Some(own)) = (labels.as_object_mut(), pod[2].as_object()) {
                    all.extend(own.clone());
                }
                found.push((
                    v,
                    serde_json::json!({
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": {
                            "name": pod[0], "namespace": ns, "uid": pod[1],
                            "resourceVersion": v.to_string(), "labels": labels,
                        },
                    }),
                ));
            }
        }
        found.sort_by_key(|(v, _)| *v);
        Ok(found.into_iter().map(|(_, o)| o).collect())
    }

    /// Starts a batch of writes; nothing is visible until [`Batch::commit`].
    pub fn batch(&mut self) -> Result<Batch<'_>> {
        let dir = self.dir.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| sqlite_error(&StateDir::new(&dir).db(), e))?;
        Ok(Batch {
            tx,
            dir,
            version: None,
            commits: &mut self.commits,
        })
    }

    pub fn get_job(&self, namespace: &str, name: &str) -> Result<Option<JobRecord>> {
        let row: Option<(String, String, String)> = self
            .conn
            .query_row(
                "SELECT object, backoff, base_dir FROM jobs WHERE namespace = ?1 AND name = ?2",
                params![namespace, name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(self.sql_err())?;
        row.map(|(o, b, d)| self.job_record(name, &o, &b, &d))
            .transpose()
    }

    fn job_record(
        &self,
        name: &str,
        object: &str,
        backoff: &str,
        base_dir: &str,
    ) -> Result<JobRecord> {
        Ok(JobRecord {
            job: self.parse(&format!("job {name}"), object)?,
            backoff: self.parse(&format!("back-off of job {name}"), backoff)?,
            base_dir: PathBuf::from(base_dir),
        })
    }

    /// Jobs of a namespace (all namespaces with `None`), by namespace and name.
    pub fn list_jobs(&self, namespace: Option<&str>) -> Result<Vec<JobRecord>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, object, backoff, base_dir FROM jobs WHERE ?1 IS NULL OR namespace = ?1 ORDER BY namespace, name",
            )
            .map_err(self.sql_err())?;
        let rows: Vec<(String, String, String, String)> = stmt
            .query_map(params![namespace], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .map_err(self.sql_err())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.sql_err())?;
        rows.iter()
            .map(|(n, o, b, d)| self.job_record(n, o, b, d))
            .collect()
    }

    pub fn pods_of_job(&self, job_uid: &str) -> Result<Vec<Pod>> {
        self.query_pods(
            "SELECT name, object FROM pods WHERE job_uid = ?1 ORDER BY rowid",
            params![job_uid],
        )
    }

    /// The uid of every stored pod.
    pub fn pod_uids(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT uid FROM pods")
            .map_err(self.sql_err())?;
        stmt.query_map([], |r| r.get(0))
            .map_err(self.sql_err())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.sql_err())
    }

    /// Pods of a namespace (all namespaces with `None`), by namespace and name.
    pub fn list_pods(&self, namespace: Option<&str>) -> Result<Vec<Pod>> {
        self.query_pods(
            "SELECT name, object FROM pods WHERE ?1 IS NULL OR namespace = ?1 ORDER BY namespace, name",
            params![namespace],
        )
    }

    pub fn get_pod(&self, namespace: &str, name: &str) -> Result<Option<Pod>> {
        let mut pods = self.query_pods(
            "SELECT name, object FROM pods WHERE namespace = ?1 AND name = ?2",
            params![namespace, name],
        )?;
        Ok(pods.pop())
    }

    fn query_pods(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<Pod>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(self.sql_err())?;
        let rows: Vec<(String, String)> = stmt
            .query_map(p, |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.sql_err())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.sql_err())?;
        rows.iter()
            .map(|(n, o)| self.parse(&format!("pod {n}"), o))
            .collect()
    }

    /// Events about the object with `uid`, oldest first.
    pub fn events_of(&self, uid: &str) -> Result<Vec<EventRecord>> {
        Ok(self
            .query_events(
                &format!("{EVENT_SQL} WHERE uid = ?1 ORDER BY id"),
                params![uid],
            )?
            .into_iter()
            .map(|e| e.event)
            .collect())
    }

    fn query_events(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<StoredEvent>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(self.sql_err())?;
        let rows: Vec<([String; 8], i64, i64)> = stmt
            .query_map(p, |r| {
                Ok((
                    [
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ],
                    r.get(8)?,
                    r.get(9)?,
                ))
            })
            .map_err(self.sql_err())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.sql_err())?;
        rows.into_iter()
            .map(
                |([namespace, kind, name, uid, type_, reason, message, time], version, id)| {
                    let time = self.parse::<Time>("event time", &format!("{time:?}"))?;
                    Ok(StoredEvent {
                        event: EventRecord {
                            namespace,
                            kind,
                            name,
                            uid,
                            type_,
                            reason,
                            message,
                            time,
                        },
                        version,
                        id,
                    })
                },
            )
            .collect()
    }

    /// The last resourceVersion given to any object (they count up across all objects, as
    /// etcd's revision does): a list's resourceVersion, from which a watch continues.
    pub fn resource_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'resourceVersion'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql_err())?
            .unwrap_or(0))
    }

    /// Changes whenever another connection commits (SQLite's `data_version`), but not for
    /// this connection's own commits: a cheap "has another process written?" for the
    /// controller, which knows its own writes. Whoever shows changes to others (watches,
    /// `get -w`, followers) uses [`Store::changes`].
    pub fn changed_elsewhere(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(self.sql_err())
    }

    /// A token that differs after every commit, by this connection or any other: the one
    /// "anything new?" for pollers that show changes, so that no commit escapes them.
    pub fn changes(&self) -> Result<Changes> {
        Ok(Changes {
            elsewhere: self.changed_elsewhere()?,
            own: self.commits,
        })
    }

    /// The control marks of every Job, or of those among `uids`.
    pub fn job_states(&self, uids: Option<&[String]>) -> Result<Vec<JobState>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{JOB_STATE_SQL} WHERE ?1 IS NULL OR uid = ?1"))
            .map_err(self.sql_err())?;
        let mut read = |uid: Option<&str>| -> Result<Vec<JobState>> {
            stmt.query_map(params![uid], job_state_row)
                .map_err(self.sql_err())?
                .collect::<std::result::Result<_, _>>()
                .map_err(self.sql_err())
        };
        match uids {
            None => read(None),
            Some(uids) => {
                let mut out = Vec::new();
                for u in uids {
                    out.extend(read(Some(u))?);
                }
                Ok(out)
            }
        }
    }

    pub fn get_job_by_uid(&self, uid: &str) -> Result<Option<JobRecord>> {
        let row: Option<(String, String, String, String)> = self
            .conn
            .query_row(
                "SELECT name, object, backoff, base_dir FROM jobs WHERE uid = ?1",
                params![uid],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(self.sql_err())?;
        row.map(|(n, o, b, d)| self.job_record(&n, &o, &b, &d))
            .transpose()
    }

    /// Pods a user asked to delete, as (job uid, pod name).
    pub fn pods_to_delete(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT job_uid, name FROM pods WHERE delete_requested = 1")
            .map_err(self.sql_err())?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.sql_err())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.sql_err())
    }

    /// Events of a namespace (all with `None`), oldest first.
    pub fn list_events(&self, namespace: Option<&str>) -> Result<Vec<StoredEvent>> {
        self.query_events(
            &format!("{EVENT_SQL} WHERE ?1 IS NULL OR namespace = ?1 ORDER BY id"),
            params![namespace],
        )
    }

    /// Moves the write-ahead log into the database and truncates it.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .map_err(self.sql_err())
    }

    /// Gives the pages of deleted rows back to the file system.
    pub fn reclaim_space(&self) -> Result<()> {
        // The pragma frees pages as it is stepped: run it to the end.
        let mut stmt = self
            .conn
            .prepare("PRAGMA incremental_vacuum")
            .map_err(self.sql_err())?;
        let mut rows = stmt.query([]).map_err(self.sql_err())?;
        while rows.next().map_err(self.sql_err())?.is_some() {}
        Ok(())
    }
}

/// One transaction of writes.
pub struct Batch<'a> {
    tx: rusqlite::Transaction<'a>,
    dir: PathBuf,
    /// The last resourceVersion handed out in this batch; stored once, at commit.
    version: Option<i64>,
    /// The store's count of its own commits, counted up by [`Batch::commit`].
    commits: &'a mut u64,
}

impl Batch<'_> {
    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| sqlite_error(&StateDir::new(&self.dir).db(), e)
    }

    /// The next resourceVersion (a counter over every write, like etcd's revision).
    /// The next resourceVersion: read once per batch, counted in memory, stored at commit.
    fn next_version(&mut self) -> Result<String> {
        let last = match self.version {
            Some(v) => v,
            None => self
                .tx
                .query_row(
                    "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'resourceVersion'",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(self.err())?
                .unwrap_or(0),
        };
        self.version = Some(last + 1);
        Ok((last + 1).to_string())
    }

    /// The last resourceVersion this batch handed out (0: none yet).
    pub fn version(&self) -> i64 {
        self.version.unwrap_or(0)
    }

    /// Runs one statement, prepared once per connection.
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.tx.prepare_cached(sql)?.execute(params)
    }

    /// Stores a new Job, run by the controller `owner` (`None`: whichever `serve` adopts it);
    /// refuses a name already taken in its namespace.
    pub fn create_job(&mut self, record: &mut JobRecord, owner: Option<&str>) -> Result<()> {
        let job = &mut record.job;
        job.metadata.resource_version = Some(self.next_version()?);
        let r = self.exec(
            "INSERT INTO jobs (uid, namespace, name, base_dir, backoff, object, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                job.metadata.uid(),
                job.namespace(),
                job.name(),
                record.base_dir.to_string_lossy(),
                json(&record.backoff),
                json(&*job),
                owner
            ],
        );
        match r {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(StoreError::AlreadyExists {
                    name: job.name().to_string(),
                })
            }
            r => r.map(|_| ()).map_err(self.err()),
        }?;
        // Its namespace exists from now on, as if created with it (namespaces are not
        // deleted).
        let (ns, created, version) = (
            job.namespace().to_string(),
            job.metadata.creation_timestamp.map_or(0, |t| t.as_millis()),
            job.metadata.resource_version.clone(),
        );
        self.exec(
            "INSERT INTO namespaces (name, created, version) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
            params![ns, created, version],
        )
        .map_err(self.err())?;
        Ok(())
    }

    /// Keeps the last state of an object being deleted, at a resourceVersion of its own, so
    /// that a watch resumed from an earlier resourceVersion can report the deletion; only the
    /// newest [`TOMBSTONES_KEPT`] are kept.
    fn bury(&mut self, kind: &str, table: &str, uid: &str) -> Result<()> {
        let version: i64 = self
            .next_version()?
            .parse()
            .map_err(|_| StoreError::Corrupt {
                path: StateDir::new(&self.dir).db().display().to_string(),
                what: "resourceVersion".into(),
                detail: "not a number".into(),
            })?;
        let e = self.err();
        self.exec(
            &format!(
                "INSERT INTO tombstones (version, kind, namespace, object) SELECT ?1, ?2, namespace, json_set(object, '$.metadata.resourceVersion', CAST(?1 AS TEXT)) FROM {table} WHERE uid = ?3"
            ),
            params![version, kind, uid],
        )
        .map_err(&e)?;
        self.exec(
            "DELETE FROM tombstones WHERE version <= ?1",
            params![version - TOMBSTONES_KEPT],
        )
        .map_err(&e)?;
        Ok(())
    }

    /// Keeps tombstones of the pods of Job `job_uid`, which go with it: each deletion gets a
    /// resourceVersion of its own, and all of them one row (kind `Pods`) of what a watch needs
    /// to name each pod — name, uid, labels (those they share once) —, not their whole last
    /// states: deleting a large Job gives its space back.
    fn bury_pods_of(&mut self, job_uid: &str) -> Result<()> {
        let e = self.err();
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT namespace, name, uid, coalesce(json_extract(object, '$.metadata.labels'), '{}') FROM pods WHERE job_uid = ?1 ORDER BY rowid",
            )
            .map_err(&e)?;
        let pods: Vec<(String, String, String, String)> = stmt
            .query_map(params![job_uid], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .map_err(&e)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&e)?;
        drop(stmt);
        drop(e);
        let Some(namespace) = pods.first().map(|p| p.0.clone()) else {
            return Ok(());
        };
        // Labels all the pods have are kept once; each pod keeps its own others.
        type Labels = std::collections::BTreeMap<String, String>;
        let labels: Vec<Labels> = pods
            .iter()
            .map(|p| serde_json::from_str(&p.3).unwrap_or_default())
            .collect();
        let mut common = labels[0].clone();
        common.retain(|k, v| labels.iter().all(|l| l.get(k) == Some(v)));
        let entries: Vec<serde_json::Value> = pods
            .iter()
            .zip(&labels)
            .map(|((_, name, uid, _), own)| {
                let extra: Labels = own
                    .iter()
                    .filter(|(k, _)| !common.contains_key(*k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                serde_json::json!([name, uid, extra])
            })
            .collect();
        let first: i64 = self.next_version()?.parse().unwrap_or(0);
        let newest = first + pods.len() as i64 - 1;
        self.version = Some(newest);
        let group = serde_json::json!({"first": first, "labels": common, "pods": entries});
        let e = self.err();
        self.exec(
            "INSERT INTO tombstones (version, kind, namespace, object) VALUES (?1, 'Pods', ?2, ?3)",
            params![newest, namespace, group.to_string()],
        )
        .map_err(&e)?;
        self.exec(
            "DELETE FROM tombstones WHERE version <= ?1",
            params![newest - TOMBSTONES_KEPT],
        )
        .map_err(&e)?;
        Ok(())
    }

    /// Records a namespace; refuses a name already recorded.
    pub fn create_namespace(&mut self, name: &str, created: Time) -> Result<()> {
        let version = self.next_version()?;
        match self.exec(
            "INSERT INTO namespaces (name, created, version) VALUES (?1, ?2, ?3)",
            params![name, created.as_millis(), version],
        ) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(StoreError::AlreadyExists {
                    name: name.to_string(),
                })
            }
            r => r.map(|_| ()).map_err(self.err()),
        }
    }

    /// Writes a Job's status and back-off record. The stored spec and metadata win (another
    /// process may have changed the spec): `job` is refreshed from the store with its status
    /// kept. Returns false when the Job is no longer stored.
    pub fn update_job(&mut self, job: &mut Job, backoff: &BackoffRecord) -> Result<bool> {
        let Some(mut current) = self.read_job(job.metadata.uid())? else {
            return Ok(false);
        };
        current.status = job.status.clone();
        current.metadata.resource_version = Some(self.next_version()?);
        self.exec(
            "UPDATE jobs SET object = ?2, backoff = ?3 WHERE uid = ?1",
            params![current.metadata.uid(), json(&current), json(backoff)],
        )
        .map_err(self.err())?;
        *job = current;
        Ok(true)
    }

    /// Replaces a Job's spec and metadata (not its status) with `change(stored)`, bumping
    /// `metadata.generation` when the spec changed. Returns the stored result, or `None` when
    /// there is no such Job.
    pub fn change_job<E>(
        &mut self,
        namespace: &str,
        name: &str,
        change: impl FnOnce(&Job) -> std::result::Result<Job, E>,
    ) -> Result<Option<std::result::Result<Job, E>>> {
        let uid: Option<String> = self
            .tx
            .query_row(
                "SELECT uid FROM jobs WHERE namespace = ?1 AND name = ?2",
                params![namespace, name],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())?;
        let Some(uid) = uid else { return Ok(None) };
        let Some(current) = self.read_job(&uid)? else {
            return Ok(None);
        };
        let mut next = match change(&current) {
            Ok(j) => j,
            Err(e) => return Ok(Some(Err(e))),
        };
        next.status = current.status.clone();
        if next.spec != current.spec {
            next.metadata.generation = Some(current.metadata.generation.unwrap_or(1) + 1);
        }
        next.metadata.resource_version = Some(self.next_version()?);
        self.exec(
            "UPDATE jobs SET object = ?2 WHERE uid = ?1",
            params![uid, json(&next)],
        )
        .map_err(self.err())?;
        Ok(Some(Ok(next)))
    }

    fn read_job(&self, uid: &str) -> Result<Option<Job>> {
        let text: Option<String> = self
            .tx
            .query_row(
                "SELECT object FROM jobs WHERE uid = ?1",
                params![uid],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| StoreError::Corrupt {
                path: StateDir::new(&self.dir).db().display().to_string(),
                what: format!("job {uid}"),
                detail: e.to_string(),
            })
        })
        .transpose()
    }

    /// Inserts or replaces a pod.
    pub fn put_pod(&mut self, pod: &mut Pod, job_uid: &str) -> Result<()> {
        pod.metadata.resource_version = Some(self.next_version()?);
        self.exec(
            "INSERT INTO pods (uid, namespace, name, job_uid, object) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (uid) DO UPDATE SET object = excluded.object",
            params![
                pod.metadata.uid(),
                pod.metadata.namespace(),
                pod.metadata.name(),
                job_uid,
                json(&*pod)
            ],
        )
        .map_err(self.err())?;
        Ok(())
    }

    /// Stores an event, with a resourceVersion of its own (watches of events see it).
    pub fn add_event(&mut self, e: &EventRecord) -> Result<()> {
        let version = self.next_version()?;
        self
            .exec(
                "INSERT INTO events (namespace, kind, name, uid, type, reason, message, time, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![e.namespace, e.kind, e.name, e.uid, e.type_, e.reason, e.message, e.time.to_string(), version],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Records `owner` as the controller running Job `uid`.
    pub fn claim_job(&mut self, uid: &str, owner: &str) -> Result<()> {
        self.exec(
            "UPDATE jobs SET owner = ?2 WHERE uid = ?1",
            params![uid, owner],
        )
        .map_err(self.err())?;
        Ok(())
    }

    /// Asks for Job `namespace/name` to be deleted with `propagation` (`Background`,
    /// `Foreground`, `Orphan`): sets `metadata.deletionTimestamp`. Returns the Job's control
    /// marks and the Job as marked, or `None` when there is no such Job.
    pub fn mark_job_deleting(
        &mut self,
        namespace: &str,
        name: &str,
        propagation: &str,
        now: Time,
    ) -> Result<Option<(JobState, Job)>> {
        let Some(outcome) = self.change_job(namespace, name, |j| {
            let mut j = j.clone();
            j.metadata.deletion_timestamp.get_or_insert(now);
            j.metadata.deletion_grace_period_seconds.get_or_insert(0);
            Ok::<_, std::convert::Infallible>(j)
        })?
        else {
            return Ok(None);
        };
        let Ok(job) = outcome;
        let uid = job.metadata.uid().to_string();
        self.exec(
            "UPDATE jobs SET deleting = ?2 WHERE uid = ?1",
            params![uid, propagation],
        )
        .map_err(self.err())?;
        let owner: Option<String> = self
            .tx
            .query_row("SELECT owner FROM jobs WHERE uid = ?1", params![uid], |r| {
                r.get(0)
            })
            .map_err(self.err())?;
        let state = JobState {
            generation: job.metadata.generation.unwrap_or(1),
            uid,
            deleting: Some(propagation.to_string()),
            owner,
        };
        Ok(Some((state, job)))
    }

    /// Asks for pod `namespace/name` to be deleted. Returns its Job's uid, or `None` when
    /// there is no such pod.
    pub fn mark_pod_deleting(&mut self, namespace: &str, name: &str) -> Result<Option<String>> {
        self.tx
            .query_row(
                "UPDATE pods SET delete_requested = 1 WHERE namespace = ?1 AND name = ?2 RETURNING job_uid",
                params![namespace, name],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())
    }

    /// The control marks of Job `uid`, if stored.
    pub fn job_state(&self, uid: &str) -> Result<Option<JobState>> {
        self.tx
            .query_row(
                &format!("{JOB_STATE_SQL} WHERE uid = ?1"),
                params![uid],
                job_state_row,
            )
            .optional()
            .map_err(self.err())
    }

    /// Whether the Job's recorded owner is `owner` (`None`: no owner).
    pub fn job_owned_by(&self, uid: &str, owner: Option<&str>) -> Result<bool> {
        let current: Option<Option<String>> = self
            .tx
            .query_row("SELECT owner FROM jobs WHERE uid = ?1", params![uid], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err())?;
        Ok(current.is_some_and(|c| c.as_deref() == owner))
    }

    /// Removes a Job and its events. Its pods (and their events) go too, unless `orphan`:
    /// then they stay, without the Job as owner. Logs are files: see [`remove_logs`].
    pub fn delete_job(&mut self, job_uid: &str, orphan: bool) -> Result<()> {
        self.bury("Job", "jobs", job_uid)?;
        let version = if orphan {
            Some(self.next_version()?)
        } else {
            self.bury_pods_of(job_uid)?;
            None
        };
        let e = self.err();
        if let Some(version) = version {
            self
                .exec(
                    "UPDATE pods SET job_uid = '', object = json_set(json_remove(object, '$.metadata.ownerReferences'), '$.metadata.resourceVersion', ?2) WHERE job_uid = ?1",
                    params![job_uid, version],
                )
                .map_err(&e)?;
        } else {
            self.exec(
                "DELETE FROM events WHERE uid IN (SELECT uid FROM pods WHERE job_uid = ?1)",
                params![job_uid],
            )
            .map_err(&e)?;
            self.exec("DELETE FROM pods WHERE job_uid = ?1", params![job_uid])
                .map_err(&e)?;
        }
        self.exec("DELETE FROM events WHERE uid = ?1", params![job_uid])
            .map_err(&e)?;
        self.exec("DELETE FROM jobs WHERE uid = ?1", params![job_uid])
            .map_err(&e)?;
        self.exec(
            "DELETE FROM queue_items WHERE job_uid = ?1",
            params![job_uid],
        )
        .map_err(&e)?;
        Ok(())
    }

    /// Stores the work-queue items of a new Job, all pending, with ids 0, 1, …
    pub fn add_queue_items(&mut self, job_uid: &str, items: &[String]) -> Result<()> {
        let e = self.err();
        let mut stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO queue_items (job_uid, id, item, state, pod, attempts) VALUES (?1, ?2, ?3, 'Pending', NULL, 0)",
            )
            .map_err(&e)?;
        for (id, item) in items.iter().enumerate() {
            stmt.execute(params![job_uid, id as i64, item])
                .map_err(&e)?;
        }
        Ok(())
    }

    /// Writes the state of changed queue items.
    pub fn update_queue_items(&mut self, job_uid: &str, items: &[QueueItem]) -> Result<()> {
        let e = self.err();
        let mut stmt = self
            .tx
            .prepare_cached(
                "UPDATE queue_items SET state = ?3, pod = ?4, attempts = ?5 WHERE job_uid = ?1 AND id = ?2",
            )
            .map_err(&e)?;
        for i in items {
            stmt.execute(params![job_uid, i.id as i64, i.state, i.pod, i.attempts])
                .map_err(&e)?;
        }
        Ok(())
    }

    /// Removes one pod and its events.
    pub fn delete_pod(&mut self, pod_uid: &str) -> Result<()> {
        self.bury("Pod", "pods", pod_uid)?;
        let e = self.err();
        self.exec("DELETE FROM events WHERE uid = ?1", params![pod_uid])
            .map_err(&e)?;
        self.exec("DELETE FROM pods WHERE uid = ?1", params![pod_uid])
            .map_err(&e)?;
        Ok(())
    }

    pub fn commit(self) -> Result<()> {
        let dir = self.dir.clone();
        if let Some(v) = self.version {
            self.exec(
                "INSERT INTO meta (key, value) VALUES ('resourceVersion', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![v.to_string()],
            )
            .map_err(self.err())?;
        }
        self.tx
            .commit()
            .map_err(|e| sqlite_error(&StateDir::new(&dir).db(), e))?;
        *self.commits += 1;
        Ok(())
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_string())
}

#[cfg(test)]
mod tests;
