//! [`Batch`]: one transaction of writes — Jobs, pods, events, namespaces, queue items,
//! deletion marks and tombstones — each handing out the next resourceVersion, all committed
//! together or not at all.

use super::*;

impl Store {
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
    /// then they stay, without the Job as owner. Logs are files: the node removes them
    /// (`wasmjob_node::remove_logs`).
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
