//! [`Batch`]: one transaction of writes — Jobs, pods, events, namespaces, queue items,
//! deletion marks and tombstones — each handing out the next resourceVersion, all committed
//! together or not at all.

use super::*;

impl Store {
    /// Starts a batch of writes; nothing is visible until [`Batch::commit`].
    pub fn batch(&mut self) -> Result<Batch<'_>> {
        let dir = self.dir.clone();
        let Store {
            conn,
            commits,
            templates,
            event_rows,
            ..
        } = self;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| sqlite_error(&StateDir::new(&dir).db(), e))?;
        Ok(Batch {
            tx,
            dir,
            version: None,
            commits,
            templates,
            event_rows,
        })
    }
}

impl Store {
    /// Runs `writes` in one batch committed without a sync of its own (`synchronous=NORMAL`):
    /// for writes that count nothing yet, which the next synced commit of any connection
    /// makes durable with it (a log's later sync covers its earlier frames).
    pub fn write_unsynced(
        &mut self,
        writes: impl FnOnce(&mut Batch<'_>) -> Result<()>,
    ) -> Result<()> {
        let db = StateDir::new(&self.dir).db();
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| sqlite_error(&db, e))?;
        let result = self.batch().and_then(|mut b| {
            writes(&mut b)?;
            b.commit()
        });
        let restored = self
            .conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(|e| sqlite_error(&db, e));
        result.and(restored)
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
    templates: &'a Templates,
    event_rows: &'a std::cell::RefCell<std::collections::HashMap<u64, i64>>,
}

impl Batch<'_> {
    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| sqlite_error(&StateDir::new(&self.dir).db(), e)
    }

    /// The next resourceVersion (a counter over every write, like etcd's revision): read once
    /// per batch, counted in memory, stored at commit.
    fn next_version(&mut self) -> Result<i64> {
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
        Ok(last + 1)
    }

    /// The last resourceVersion this batch handed out (0: none yet).
    pub fn version(&self) -> i64 {
        self.version.unwrap_or(0)
    }

    /// Runs one statement, prepared once per connection.
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.tx.prepare_cached(sql)?.execute(params)
    }

    /// Stores a new Job, run by the controller `owner` (`None`: whichever `serve` adopts it),
    /// with its pod template; refuses a name already taken in its namespace.
    pub fn create_job(&mut self, record: &mut JobRecord, owner: Option<&str>) -> Result<()> {
        let version = self.next_version()?;
        let job = &mut record.job;
        job.metadata.resource_version = Some(version.to_string());
        let r = self.exec(
            "INSERT INTO jobs (uid, namespace, name, base_dir, backoff, object, owner, status, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                job.metadata.uid(),
                job.namespace(),
                job.name(),
                record.base_dir.to_string_lossy(),
                json(&record.backoff),
                spec_json(job),
                owner,
                job.status.as_ref().map(json),
                version
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
        self.exec(
            "INSERT INTO templates (job_uid, job) VALUES (?1, ?2) ON CONFLICT (job_uid) DO UPDATE SET job = excluded.job",
            params![job.metadata.uid(), json(&pod_rows::template_of(job))],
        )
        .map_err(self.err())?;
        self.templates.borrow_mut().remove(job.metadata.uid());
        // Its namespace exists from now on, as if created with it (namespaces are not
        // deleted).
        let (ns, created) = (
            job.namespace().to_string(),
            job.metadata.creation_timestamp.map_or(0, |t| t.as_millis()),
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
    /// newest [`TOMBSTONES_KEPT`] are kept. A node is named by its name for `uid`.
    fn bury(&mut self, kind: &str, uid: &str) -> Result<()> {
        let last = match kind {
            "Job" => self.read_job(uid)?.map(|r| {
                (
                    r.job.namespace().to_string(),
                    serde_json::to_value(&r.job).unwrap_or_default(),
                )
            }),
            "Node" => self
                .node(uid)?
                .map(|n| (String::new(), serde_json::to_value(&n).unwrap_or_default())),
            _ => self.read_pods("uid = ?1", uid)?.pop().map(|p| {
                (
                    p.metadata.namespace().to_string(),
                    serde_json::to_value(&p).unwrap_or_default(),
                )
            }),
        };
        let version = self.next_version()?;
        let Some((namespace, mut object)) = last else {
            return Ok(());
        };
        object["metadata"]["resourceVersion"] = serde_json::Value::String(version.to_string());
        let e = self.err();
        self.exec(
            "INSERT INTO tombstones (version, kind, namespace, object) VALUES (?1, ?2, ?3, ?4)",
            params![version, kind, namespace, object.to_string()],
        )
        .map_err(&e)?;
        self.exec(
            "DELETE FROM tombstones WHERE version <= ?1",
            params![version - TOMBSTONES_KEPT],
        )
        .map_err(&e)?;
        Ok(())
    }

    /// The pods of the rows `filter` (an SQL condition on `?1`) picks, in the order they were
    /// stored.
    fn read_pods(&self, filter: &str, p: &str) -> Result<Vec<Pod>> {
        let e = self.err();
        let mut stmt = self
            .tx
            .prepare_cached(&format!("{POD_SQL} WHERE {filter} ORDER BY rowid"))
            .map_err(&e)?;
        let rows: Vec<PodRow> = stmt
            .query_map(params![p], pod_row)
            .map_err(&e)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&e)?;
        drop(stmt);
        let db = StateDir::new(&self.dir).db();
        rows.into_iter()
            .map(|r| pod_of_row(&self.tx, self.templates, &db, r))
            .collect()
    }

    /// Keeps tombstones of the pods of Job `job_uid`, which go with it: each deletion gets a
    /// resourceVersion of its own, and all of them one row (kind `Pods`) of what a watch needs
    /// to name each pod — name, uid, labels (those they share once) —, not their whole last
    /// states: deleting a large Job gives its space back.
    fn bury_pods_of(&mut self, job_uid: &str) -> Result<Vec<Pod>> {
        let removed = self.read_pods("job_uid = ?1", job_uid)?;
        let Some(namespace) = removed.first().map(|p| p.metadata.namespace().to_string()) else {
            return Ok(removed);
        };
        let first = self.next_version()?;
        let newest = first + removed.len() as i64 - 1;
        self.version = Some(newest);
        let gone: Vec<tombstones::Gone> = removed
            .iter()
            .map(|p| tombstones::Gone {
                name: p.metadata.name(),
                uid: p.metadata.uid(),
                labels: &p.metadata.labels,
            })
            .collect();
        let group = tombstones::pack(&gone, first).to_string();
        drop(gone);
        let e = self.err();
        self.exec(
            "INSERT INTO tombstones (version, kind, namespace, object) VALUES (?1, 'Pods', ?2, ?3)",
            params![newest, namespace, group],
        )
        .map_err(&e)?;
        self.exec(
            "DELETE FROM tombstones WHERE version <= ?1",
            params![newest - TOMBSTONES_KEPT],
        )
        .map_err(&e)?;
        drop(e);
        Ok(removed)
    }

    /// Stores `node` under its name, new or replacing the one stored, at a new resourceVersion
    /// (which `node` is given). Returns that version.
    pub fn put_node(&mut self, node: &mut Node) -> Result<i64> {
        let version = self.next_version()?;
        node.metadata.resource_version = Some(version.to_string());
        let (name, object) = (node.name(), json(&*node));
        let updated = self
            .exec(
                "UPDATE nodes SET object = ?2, version = ?3 WHERE name = ?1",
                params![name, object, version],
            )
            .map_err(self.err())?;
        if updated == 0 {
            self.exec(
                "INSERT INTO nodes (name, object, version) VALUES (?1, ?2, ?3)",
                params![name, object, version],
            )
            .map_err(self.err())?;
        }
        Ok(version)
    }

    /// Node `name` as stored (within this batch's transaction).
    pub fn node(&self, name: &str) -> Result<Option<Node>> {
        let text: Option<String> = self
            .tx
            .query_row(
                "SELECT object FROM nodes WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| StoreError::Corrupt {
                path: StateDir::new(&self.dir).db().display().to_string(),
                what: format!("node {name}"),
                detail: e.to_string(),
            })
        })
        .transpose()
    }

    /// Deletes node `name`, keeping its tombstone for watches; `false` when it was not stored.
    pub fn delete_node(&mut self, name: &str) -> Result<bool> {
        self.bury("Node", name)?;
        let n = self
            .exec("DELETE FROM nodes WHERE name = ?1", params![name])
            .map_err(self.err())?;
        Ok(n > 0)
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

    /// Writes a Job's status and back-off record, beside its stored spec and metadata (which
    /// other processes may change meanwhile: this touches neither). Returns the Job's new
    /// resourceVersion, or `None` when the Job is no longer stored.
    pub fn update_status(
        &mut self,
        uid: &str,
        status: &JobStatus,
        backoff: &BackoffRecord,
    ) -> Result<Option<i64>> {
        let version = self.next_version()?;
        let n = self
            .exec(
                "UPDATE jobs SET status = ?2, backoff = ?3, version = ?4 WHERE uid = ?1",
                params![uid, json(status), json(backoff), version],
            )
            .map_err(self.err())?;
        Ok((n > 0).then_some(version))
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
        let Some(current) = self.read_job(&uid)?.map(|r| r.job) else {
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
        let version = self.next_version()?;
        next.metadata.resource_version = Some(version.to_string());
        self.exec(
            "UPDATE jobs SET object = ?2, status = ?3, version = ?4 WHERE uid = ?1",
            params![
                uid,
                spec_json(&next),
                next.status.as_ref().map(json),
                version
            ],
        )
        .map_err(self.err())?;
        Ok(Some(Ok(next)))
    }

    fn read_job(&self, uid: &str) -> Result<Option<JobRecord>> {
        let row: Option<JobRow> = self
            .tx
            .prepare_cached(&format!("{JOB_SQL} WHERE uid = ?1"))
            .and_then(|mut s| s.query_row(params![uid], job_row).optional())
            .map_err(self.err())?;
        row.map(|r| job_of_row(&StateDir::new(&self.dir).db(), r))
            .transpose()
    }

    /// Inserts or replaces a pod (see [`Batch::put_pod`]), with the inline logs of its ended
    /// runs (all of them: they replace those stored).
    pub fn put_pod_with_logs(
        &mut self,
        pod: &mut Pod,
        job_uid: &str,
        made: bool,
        logs: &[InlineLog],
    ) -> Result<()> {
        self.write_pod(pod, job_uid, made, Some(pod_rows::encode_logs(logs)))
    }

    /// Inserts or replaces a pod. `made` says the caller knows the pod is what its Job's
    /// template makes (`wasmjob_controller::new_pod`), changed since only in its status,
    /// finalizers, deletion marks and resourceVersion: it is then stored compactly at once
    /// (debug builds check that it reads back as it is). Otherwise it is compared with what
    /// its template makes, and stored compactly when it is, whole when it is not. Its inline
    /// logs stay as they are.
    pub fn put_pod(&mut self, pod: &mut Pod, job_uid: &str, made: bool) -> Result<()> {
        self.write_pod(pod, job_uid, made, None)
    }

    /// Writes a pod row; its `logs` column too when given.
    fn write_pod(
        &mut self,
        pod: &mut Pod,
        job_uid: &str,
        made: bool,
        logs: Option<Vec<u8>>,
    ) -> Result<()> {
        let version = self.next_version()?;
        pod.metadata.resource_version = Some(version.to_string());
        let db = StateDir::new(&self.dir).db();
        let compact = match template(&self.tx, self.templates, &db, job_uid)? {
            Some(t) => {
                let c = if made {
                    pod_rows::encode_made(pod, &t)
                } else {
                    pod_rows::encode(pod, &t)
                };
                // Every pod the tests write is read back: what is stored rebuilds as the pod.
                #[cfg(debug_assertions)]
                if let Some(c) = &c {
                    let rebuilt =
                        pod_rows::decode(&t, pod.metadata.uid(), pod.metadata.name(), version, c);
                    assert_eq!(
                        rebuilt.as_ref(),
                        Ok(&*pod),
                        "a compact pod row rebuilds as its pod"
                    );
                }
                c
            }
            None => None,
        };
        let (object, idx, record) = match compact {
            Some(c) => (String::new(), c.index, Some(c.record)),
            None => (json(&*pod), None, None),
        };
        let finalizer = pod
            .metadata
            .finalizers
            .iter()
            .any(|f| f == TRACKING_FINALIZER);
        let sql = if logs.is_some() {
            "INSERT INTO pods (uid, namespace, name, job_uid, object, version, idx, finalizer, phase, record, logs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (uid) DO UPDATE SET object = excluded.object, version = excluded.version, idx = excluded.idx, finalizer = excluded.finalizer, phase = excluded.phase, record = excluded.record, logs = excluded.logs"
        } else {
            "INSERT INTO pods (uid, namespace, name, job_uid, object, version, idx, finalizer, phase, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (uid) DO UPDATE SET object = excluded.object, version = excluded.version, idx = excluded.idx, finalizer = excluded.finalizer, phase = excluded.phase, record = excluded.record"
        };
        let columns = params![
            pod.metadata.uid(),
            pod.metadata.namespace(),
            pod.metadata.name(),
            job_uid,
            object,
            version,
            idx,
            finalizer,
            pod.phase(),
            record
        ];
        let r = match logs {
            Some(l) => {
                let mut all: Vec<&dyn rusqlite::ToSql> = columns.to_vec();
                all.push(&l);
                self.exec(sql, all.as_slice())
            }
            None => self.exec(sql, columns),
        };
        r.map_err(self.err())?;
        Ok(())
    }

    /// Stores an event, with a resourceVersion of its own (watches of events see it).
    pub fn add_event(&mut self, e: &EventRecord) -> Result<()> {
        let version = self.next_version()?;
        self
            .exec(
                "INSERT INTO events (namespace, kind, name, uid, type, reason, message, time, version, count, first_time, name_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?8, ?9)",
                params![e.namespace, e.kind, e.name, e.uid, e.type_, e.reason, e.message, e.time.to_string(), version],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Stores an event the caller correlates (aggregated events): the first time a `handle`
    /// is given, as a new event; afterwards as the next state of that event — its count, last
    /// time and message change, its name stays, and it gets a new resourceVersion.
    pub fn put_event(
        &mut self,
        handle: u64,
        e: &EventRecord,
        count: i32,
        first: Time,
    ) -> Result<()> {
        let version = self.next_version()?;
        let row = self.event_rows.borrow().get(&handle).copied();
        if let Some(id) = row {
            let n = self
                .exec(
                    "UPDATE events SET message = ?2, time = ?3, count = ?4, version = ?5 WHERE id = ?1",
                    params![id, e.message, e.time.to_string(), count, version],
                )
                .map_err(self.err())?;
            if n > 0 {
                return Ok(());
            }
        }
        let id: i64 = self
            .tx
            .prepare_cached(
                "INSERT INTO events (namespace, kind, name, uid, type, reason, message, time, version, count, first_time, name_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?9) RETURNING id",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![
                        e.namespace,
                        e.kind,
                        e.name,
                        e.uid,
                        e.type_,
                        e.reason,
                        e.message,
                        e.time.to_string(),
                        version,
                        count,
                        first.to_string()
                    ],
                    |r| r.get(0),
                )
            })
            .map_err(self.err())?;
        self.event_rows.borrow_mut().insert(handle, id);
        Ok(())
    }

    /// Forgets the rows of event handles that will not be given again.
    pub fn forget_events(&mut self, handles: &[u64]) {
        let mut rows = self.event_rows.borrow_mut();
        for h in handles {
            rows.remove(h);
        }
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
        self.mark_pod(namespace, name, 1)
    }

    /// Marks pod `namespace/name` for eviction (a deletion that disrupts it: `drain`), unless
    /// it is marked for deletion already; returns its Job's uid, or `None` when there is no
    /// such pod.
    pub fn mark_pod_evicting(&mut self, namespace: &str, name: &str) -> Result<Option<String>> {
        self.mark_pod(namespace, name, 2)
    }

    fn mark_pod(&mut self, namespace: &str, name: &str, mark: i64) -> Result<Option<String>> {
        self.tx
            .query_row(
                "UPDATE pods SET delete_requested = CASE WHEN delete_requested = 1 THEN 1 ELSE ?3 END WHERE namespace = ?1 AND name = ?2 RETURNING job_uid",
                params![namespace, name, mark],
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
    /// then they stay, without the Job as owner. Returns the pods that went: logs are files,
    /// which the node removes (`wasmjob_node::remove_logs`).
    pub fn delete_job(&mut self, job_uid: &str, orphan: bool) -> Result<Vec<Pod>> {
        self.bury("Job", job_uid)?;
        let (version, removed) = if orphan {
            (Some(self.next_version()?), Vec::new())
        } else {
            (None, self.bury_pods_of(job_uid)?)
        };
        if let Some(version) = version {
            // Orphans outlive their Job's template: each is stored whole, without its owner.
            let pods = self.read_pods("job_uid = ?1", job_uid)?;
            let e = self.err();
            for mut pod in pods {
                pod.metadata.owner_references.clear();
                pod.metadata.resource_version = Some(version.to_string());
                self.exec(
                    "UPDATE pods SET job_uid = '', object = ?2, version = ?3, idx = NULL, record = NULL WHERE uid = ?1",
                    params![pod.metadata.uid(), json(&pod), version],
                )
                .map_err(&e)?;
            }
        }
        let e = self.err();
        if version.is_none() {
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
        self.exec("DELETE FROM templates WHERE job_uid = ?1", params![job_uid])
            .map_err(&e)?;
        self.exec(
            "DELETE FROM queue_items WHERE job_uid = ?1",
            params![job_uid],
        )
        .map_err(&e)?;
        Ok(removed)
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
        self.bury("Pod", pod_uid)?;
        let e = self.err();
        self.exec("DELETE FROM events WHERE uid = ?1", params![pod_uid])
            .map_err(&e)?;
        self.exec("DELETE FROM pods WHERE uid = ?1", params![pod_uid])
            .map_err(&e)?;
        Ok(())
    }

    /// Removes pod `namespace/name` and its events; returns the pod as it was (`None`: there
    /// was none).
    pub fn delete_pod_named(&mut self, namespace: &str, name: &str) -> Result<Option<Pod>> {
        let pod = self
            .read_pods_named(namespace, name)?
            .filter(|p| p.metadata.namespace() == namespace);
        if let Some(p) = &pod {
            self.delete_pod(p.metadata.uid())?;
        }
        Ok(pod)
    }

    fn read_pods_named(&self, namespace: &str, name: &str) -> Result<Option<Pod>> {
        let e = self.err();
        let row: Option<PodRow> = self
            .tx
            .prepare_cached(&format!("{POD_SQL} WHERE namespace = ?1 AND name = ?2"))
            .and_then(|mut s| s.query_row(params![namespace, name], pod_row).optional())
            .map_err(&e)?;
        let db = StateDir::new(&self.dir).db();
        row.map(|r| pod_of_row(&self.tx, self.templates, &db, r))
            .transpose()
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
