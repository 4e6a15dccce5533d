//! store: durable state in an embedded SQLite database (WAL mode, no server): Jobs with their
//! back-off record and manifest folder, Pods, Events. Objects are stored as their JSON, with
//! the columns the queries need beside them. Every change goes through a [`Batch`] that commits
//! in one transaction (group commit: a reconcile's status, new pods and counted-pod markers land
//! together or not at all). Container logs are files beside the database.
//! Must not: decide anything about Jobs.

use crate::controller::BackoffRecord;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use wasmjob_spec::{Job, Pod, Time};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("jobs.batch {name:?} already exists")]
    AlreadyExists { name: String },
    #[error("state store {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error("state store {path}: corrupt record {what}: {detail}")]
    Corrupt {
        path: String,
        what: String,
        detail: String,
    },
    #[error("state directory {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, StoreError>;

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

pub struct Store {
    conn: Connection,
    dir: PathBuf,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  uid TEXT PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL,
  base_dir TEXT NOT NULL, backoff TEXT NOT NULL, object TEXT NOT NULL,
  UNIQUE (namespace, name));
CREATE TABLE IF NOT EXISTS pods (
  uid TEXT PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL, job_uid TEXT NOT NULL,
  object TEXT NOT NULL, UNIQUE (namespace, name));
CREATE INDEX IF NOT EXISTS pods_by_job ON pods (job_uid);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
  uid TEXT NOT NULL, type TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL,
  time TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_object ON events (uid);
";

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
            path: dir.display().to_string(),
            source: e,
        })?;
        let db = dir.join("state.db");
        let err = |e| StoreError::Sqlite {
            path: db.display().to_string(),
            source: e,
        };
        let conn = Connection::open(&db).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(err)?;
        if check != "ok" {
            return Err(StoreError::Corrupt {
                path: db.display().to_string(),
                what: "database".into(),
                detail: check,
            });
        }
        Ok(Store {
            conn,
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn sql_err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| StoreError::Sqlite {
            path: self.dir.join("state.db").display().to_string(),
            source: e,
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(&self, what: &str, text: &str) -> Result<T> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
            path: self.dir.join("state.db").display().to_string(),
            what: what.to_string(),
            detail: e.to_string(),
        })
    }

    /// Starts a batch of writes; nothing is visible until [`Batch::commit`].
    pub fn batch(&mut self) -> Result<Batch<'_>> {
        let dir = self.dir.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| StoreError::Sqlite {
                path: dir.join("state.db").display().to_string(),
                source: e,
            })?;
        Ok(Batch { tx, dir })
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

    /// `metadata.generation` of each stored Job among `uids` (missing ones are left out).
    pub fn job_generations(&self, uids: &[String]) -> Result<Vec<(String, i64)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT json_extract(object, '$.metadata.generation') FROM jobs WHERE uid = ?1",
            )
            .map_err(self.sql_err())?;
        let mut out = Vec::new();
        for uid in uids {
            let g: Option<Option<i64>> = stmt
                .query_row(params![uid], |r| r.get(0))
                .optional()
                .map_err(self.sql_err())?;
            if let Some(g) = g {
                out.push((uid.clone(), g.unwrap_or(1)));
            }
        }
        Ok(out)
    }

    pub fn pods_of_job(&self, job_uid: &str) -> Result<Vec<Pod>> {
        self.query_pods(
            "SELECT name, object FROM pods WHERE job_uid = ?1 ORDER BY rowid",
            params![job_uid],
        )
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
        let mut stmt = self
            .conn
            .prepare("SELECT namespace, kind, name, uid, type, reason, message, time FROM events WHERE uid = ?1 ORDER BY id")
            .map_err(self.sql_err())?;
        let rows: Vec<[String; 8]> = stmt
            .query_map(params![uid], |r| {
                Ok([
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ])
            })
            .map_err(self.sql_err())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.sql_err())?;
        rows.into_iter()
            .map(
                |[namespace, kind, name, uid, type_, reason, message, time]| {
                    let time = self.parse::<Time>("event time", &format!("{time:?}"))?;
                    Ok(EventRecord {
                        namespace,
                        kind,
                        name,
                        uid,
                        type_,
                        reason,
                        message,
                        time,
                    })
                },
            )
            .collect()
    }
}

/// One transaction of writes.
pub struct Batch<'a> {
    tx: rusqlite::Transaction<'a>,
    dir: PathBuf,
}

impl Batch<'_> {
    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| StoreError::Sqlite {
            path: self.dir.join("state.db").display().to_string(),
            source: e,
        }
    }

    /// The next resourceVersion (a counter over every write, like etcd's revision).
    fn next_version(&self) -> Result<String> {
        let v: i64 = self
            .tx
            .query_row(
                "INSERT INTO meta (key, value) VALUES ('resourceVersion', '1')
                 ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1
                 RETURNING CAST(value AS INTEGER)",
                [],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        Ok(v.to_string())
    }

    /// Stores a new Job; refuses a name already taken in its namespace.
    pub fn create_job(&mut self, record: &mut JobRecord) -> Result<()> {
        let job = &mut record.job;
        job.metadata.resource_version = Some(self.next_version()?);
        let r = self.tx.execute(
            "INSERT INTO jobs (uid, namespace, name, base_dir, backoff, object) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                job.metadata.uid(),
                job.namespace(),
                job.name(),
                record.base_dir.to_string_lossy(),
                json(&record.backoff),
                json(&*job)
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
        self.tx
            .execute(
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
        self.tx
            .execute(
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
                path: self.dir.join("state.db").display().to_string(),
                what: format!("job {uid}"),
                detail: e.to_string(),
            })
        })
        .transpose()
    }

    /// Inserts or replaces a pod.
    pub fn put_pod(&mut self, pod: &mut Pod, job_uid: &str) -> Result<()> {
        pod.metadata.resource_version = Some(self.next_version()?);
        self.tx
            .execute(
                "INSERT INTO pods (uid, namespace, name, job_uid, object) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (uid) DO UPDATE SET object = excluded.object",
                params![pod.metadata.uid(), pod.metadata.namespace(), pod.metadata.name(), job_uid, json(&*pod)],
            )
            .map_err(self.err())?;
        Ok(())
    }

    pub fn add_event(&mut self, e: &EventRecord) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO events (namespace, kind, name, uid, type, reason, message, time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![e.namespace, e.kind, e.name, e.uid, e.type_, e.reason, e.message, e.time.to_string()],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Removes a Job, its pods and its events (logs are files: see [`remove_logs`]).
    pub fn delete_job(&mut self, job_uid: &str) -> Result<()> {
        let e = self.err();
        self.tx
            .execute("DELETE FROM events WHERE uid = ?1 OR uid IN (SELECT uid FROM pods WHERE job_uid = ?1)", params![job_uid])
            .map_err(&e)?;
        self.tx
            .execute("DELETE FROM pods WHERE job_uid = ?1", params![job_uid])
            .map_err(&e)?;
        self.tx
            .execute("DELETE FROM jobs WHERE uid = ?1", params![job_uid])
            .map_err(&e)?;
        Ok(())
    }

    pub fn commit(self) -> Result<()> {
        let dir = self.dir.clone();
        self.tx.commit().map_err(|e| StoreError::Sqlite {
            path: dir.join("state.db").display().to_string(),
            source: e,
        })
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_string())
}

/// Removes the log folders of `pods`.
pub fn remove_logs(state_dir: &Path, pods: &[Pod]) {
    for pod in pods {
        let _ = std::fs::remove_dir_all(crate::node::pod_log_dir(state_dir, pod));
    }
}
