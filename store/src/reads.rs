//! The store's reads: Jobs, pods, events, namespaces and queue items as they are stored, the
//! resourceVersion and change token watches poll, tombstones since a version, and the
//! maintenance of the database file (checkpoint, reclaiming space). Writes go through
//! [`Batch`](crate::Batch).

use super::*;

impl Store {
    /// Opens (creating if needed) the store in `dir`. Refuses a directory or database that
    /// is not a wasmjob state directory, and a corrupt database, without changing them.
    pub fn open(dir: &Path) -> Result<Store> {
        Store::open_checking(dir, open::Check::Whole)
    }

    /// Opens the store for a command that only reads: a large store is not checked whole
    /// (see [`open::Check::Reader`]).
    pub fn open_reader(dir: &Path) -> Result<Store> {
        Store::open_checking(dir, open::Check::Reader)
    }

    /// Opens the store, checking it as `check` says.
    pub fn open_checking(dir: &Path, check: open::Check) -> Result<Store> {
        let conn = open::connect(dir, check)?;
        Ok(Store {
            conn,
            dir: dir.to_path_buf(),
            commits: 0,
            templates: Default::default(),
            event_rows: Default::default(),
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

    /// The nodes stored, by name.
    pub fn nodes(&self) -> Result<Vec<Node>> {
        self.nodes_named(None)
    }

    /// Node `name`, if stored.
    pub fn node(&self, name: &str) -> Result<Option<Node>> {
        Ok(self.nodes_named(Some(name))?.pop())
    }

    fn nodes_named(&self, name: Option<&str>) -> Result<Vec<Node>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT object FROM nodes WHERE ?1 IS NULL OR name = ?1 ORDER BY name")
            .map_err(self.sql_err())?;
        let texts = stmt
            .query_map([name], |r| r.get::<_, String>(0))
            .map_err(self.sql_err())?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.sql_err())?;
        texts.iter().map(|t| self.parse("node", t)).collect()
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
            let pods = tombstones::unpack(&object).ok_or_else(|| StoreError::Corrupt {
                path: StateDir::new(&self.dir).db().display().to_string(),
                what: format!("tombstone {version}"),
                detail: "not a group of deleted pods".into(),
            })?;
            for (i, (name, uid, labels)) in pods.into_iter().enumerate() {
                let v = first + i as i64;
                if v <= since {
                    continue;
                }
                found.push((
                    v,
                    serde_json::json!({
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": {
                            "name": name, "namespace": ns, "uid": uid,
                            "resourceVersion": v.to_string(), "labels": labels,
                        },
                    }),
                ));
            }
        }
        found.sort_by_key(|(v, _)| *v);
        Ok(found.into_iter().map(|(_, o)| o).collect())
    }

    pub fn get_job(&self, namespace: &str, name: &str) -> Result<Option<JobRecord>> {
        self.query_jobs(
            &format!("{JOB_SQL} WHERE namespace = ?1 AND name = ?2"),
            params![namespace, name],
        )
        .map(|mut v| v.pop())
    }

    fn query_jobs(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<JobRecord>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(self.sql_err())?;
        let rows: Vec<JobRow> = stmt
            .query_map(p, job_row)
            .map_err(self.sql_err())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.sql_err())?;
        let db = StateDir::new(&self.dir).db();
        rows.into_iter().map(|r| job_of_row(&db, r)).collect()
    }

    /// Jobs of a namespace (all namespaces with `None`), by namespace and name.
    pub fn list_jobs(&self, namespace: Option<&str>) -> Result<Vec<JobRecord>> {
        self.query_jobs(
            &format!("{JOB_SQL} WHERE ?1 IS NULL OR namespace = ?1 ORDER BY namespace, name"),
            params![namespace],
        )
    }

    pub fn pods_of_job(&self, job_uid: &str) -> Result<Vec<Pod>> {
        self.query_pods(
            &format!("{POD_SQL} WHERE job_uid = ?1 ORDER BY rowid"),
            params![job_uid],
        )
    }

    /// The pods of a namespace (all with `None`) written after resourceVersion `since`, in the
    /// order they were written (pods stored by a wasmjob of format 1 and not written since
    /// have no version and are not among them).
    pub fn pods_changed_since(&self, namespace: Option<&str>, since: i64) -> Result<Vec<Pod>> {
        self.query_pods(
            &format!(
                "{POD_SQL} WHERE version > ?1 AND (?2 IS NULL OR namespace = ?2) ORDER BY version"
            ),
            params![since, namespace],
        )
    }

    /// The pods of a Job a controller taking it over must see: those not finished, or not
    /// counted yet (the settled ones stay in the store); each with whether it was stored
    /// compactly (it is what its template makes, see [`Batch::put_pod`]).
    pub fn pods_in_flight_of_job(&self, job_uid: &str) -> Result<Vec<(Pod, bool)>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "{POD_SQL} WHERE job_uid = ?1 AND (phase IS NULL OR phase NOT IN ('Succeeded', 'Failed') OR finalizer IS NOT 0) ORDER BY rowid"
            ))
            .map_err(self.sql_err())?;
        let rows: Vec<PodRow> = stmt
            .query_map(params![job_uid], pod_row)
            .map_err(self.sql_err())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.sql_err())?;
        let db = StateDir::new(&self.dir).db();
        let mut pods = Vec::new();
        for r in rows {
            let compact = r.object.is_empty();
            let p = pod_of_row(&self.conn, &self.templates, &db, r)?;
            if !p.is_terminal()
                || p.metadata
                    .finalizers
                    .iter()
                    .any(|f| f == TRACKING_FINALIZER)
            {
                pods.push((p, compact));
            }
        }
        Ok(pods)
    }

    /// A Job's failed pods, in the order they were stored.
    pub fn failed_pods_of_job(&self, job_uid: &str) -> Result<Vec<Pod>> {
        let pods = self.query_pods(
            &format!(
                "{POD_SQL} WHERE job_uid = ?1 AND (phase IS NULL OR phase = 'Failed') ORDER BY rowid"
            ),
            params![job_uid],
        )?;
        Ok(pods
            .into_iter()
            .filter(|p| p.phase() == wasmjob_spec::PHASE_FAILED)
            .collect())
    }

    /// The names of a Job's stored pods.
    pub fn pod_names_of_job(&self, job_uid: &str) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name FROM pods WHERE job_uid = ?1")
            .map_err(self.sql_err())?;
        stmt.query_map(params![job_uid], |r| r.get(0))
            .map_err(self.sql_err())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.sql_err())
    }

    /// The log of run `restart` of `container` in pod `pod_uid`, when it is stored with the
    /// pod (a run that ended small and soon); `None`: it is a file of the node's, or missing.
    pub fn inline_log(
        &self,
        pod_uid: &str,
        container: &str,
        restart: i32,
    ) -> Result<Option<Vec<u8>>> {
        let column: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT logs FROM pods WHERE uid = ?1")
            .and_then(|mut s| {
                s.query_row(params![pod_uid], |r| {
                    Ok(match r.get_ref(0)? {
                        rusqlite::types::ValueRef::Blob(b) => Some(b.to_vec()),
                        _ => None,
                    })
                })
                .optional()
            })
            .map_err(self.sql_err())?
            .flatten();
        let Some(column) = column else {
            return Ok(None);
        };
        pod_rows::find_log(&column, container, restart).map_err(|e| StoreError::Corrupt {
            path: StateDir::new(&self.dir).db().display().to_string(),
            what: format!("logs of pod {pod_uid}"),
            detail: format!("{e}; the pod's other data is readable, its logs are not"),
        })
    }

    /// Every run log stored with its pod.
    pub fn inline_logs(&self) -> Result<Vec<InlineRun>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT namespace, name, uid, logs FROM pods WHERE logs IS NOT NULL")
            .map_err(self.sql_err())?;
        let rows: Vec<(String, String, String, Vec<u8>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(self.sql_err())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.sql_err())?;
        let mut out = Vec::new();
        for (ns, name, uid, column) in rows {
            let runs = pod_rows::runs_of(&column).map_err(|e| StoreError::Corrupt {
                path: StateDir::new(&self.dir).db().display().to_string(),
                what: format!("logs of pod {name}"),
                detail: e,
            })?;
            for (container, restart) in runs {
                out.push(InlineRun {
                    namespace: ns.clone(),
                    pod: name.clone(),
                    pod_uid: uid.clone(),
                    container,
                    restart,
                });
            }
        }
        Ok(out)
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
            &format!("{POD_SQL} WHERE ?1 IS NULL OR namespace = ?1 ORDER BY namespace, name"),
            params![namespace],
        )
    }

    pub fn get_pod(&self, namespace: &str, name: &str) -> Result<Option<Pod>> {
        let mut pods = self.query_pods(
            &format!("{POD_SQL} WHERE namespace = ?1 AND name = ?2"),
            params![namespace, name],
        )?;
        Ok(pods.pop())
    }

    fn query_pods(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<Pod>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(self.sql_err())?;
        let rows: Vec<PodRow> = stmt
            .query_map(p, pod_row)
            .map_err(self.sql_err())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.sql_err())?;
        let db = StateDir::new(&self.dir).db();
        rows.into_iter()
            .map(|r| pod_of_row(&self.conn, &self.templates, &db, r))
            .collect()
    }

    /// Events about the object with `uid`, oldest first.
    pub fn events_of(&self, uid: &str) -> Result<Vec<EventRecord>> {
        Ok(self
            .events_about(uid)?
            .into_iter()
            .map(|e| e.event)
            .collect())
    }

    /// Events about the object with `uid` as stored (with their counts), oldest first.
    pub fn events_about(&self, uid: &str) -> Result<Vec<StoredEvent>> {
        self.query_events(
            &format!("{EVENT_SQL} WHERE uid = ?1 ORDER BY id"),
            params![uid],
        )
    }

    fn query_events(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<StoredEvent>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(self.sql_err())?;
        type Row = ([String; 9], [i64; 4]);
        let rows: Vec<Row> = stmt
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
                        r.get(10)?,
                    ],
                    [r.get(8)?, r.get(9)?, r.get(11)?, r.get(12)?],
                ))
            })
            .map_err(self.sql_err())?
            .collect::<std::result::Result<_, _>>()
            .map_err(self.sql_err())?;
        rows.into_iter()
            .map(
                |(
                    [
                        namespace,
                        kind,
                        name,
                        uid,
                        type_,
                        reason,
                        message,
                        time,
                        first,
                    ],
                    [version, id, count, name_version],
                )| {
                    let time = self.parse::<Time>("event time", &format!("{time:?}"))?;
                    let first = self.parse::<Time>("event time", &format!("{first:?}"))?;
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
                        count: i32::try_from(count).unwrap_or(i32::MAX),
                        first,
                        name_version,
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
        self.query_jobs(&format!("{JOB_SQL} WHERE uid = ?1"), params![uid])
            .map(|mut v| v.pop())
    }

    /// Pods a user asked to delete, as (job uid, pod name, whether it is an eviction).
    pub fn pods_to_delete(&self) -> Result<Vec<(String, String, bool)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT job_uid, name, 0 FROM pods WHERE delete_requested = 1
                 UNION ALL SELECT job_uid, name, 1 FROM pods WHERE delete_requested = 2",
            )
            .map_err(self.sql_err())?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
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
