//! Unit tests of compact pod rows and of format 2: every pod of a corpus — the examples'
//! Jobs and richer templates, each with statuses that use every field — reads back as the
//! same bytes of JSON it had; pods that are not their template's are stored whole; a damaged
//! row is refused by name with what to do; a store of format 1 opens, moves to format 2, and
//! reads as it did.

use super::*;
use crate::tests::{dir, job};
use wasmjob_controller::{Identities, PodToCreate, new_pod};
use wasmjob_spec::*;

/// The Jobs pods are made from: every example's manifest, and templates that use what the
/// compact form must carry (init containers, env with fieldRefs, volumes, annotations, long
/// names cut to fit, per-index failure counts).
fn corpus() -> Vec<Job> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut manifests: Vec<String> = ["pi", "flaky", "runaway", "mandelbrot", "wordfreq"]
        .iter()
        .map(|e| std::fs::read_to_string(root.join(e).join("job.yaml")).unwrap())
        .collect();
    manifests.push(format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {}, namespace: far}}\nspec:\n  completionMode: Indexed\n  completions: 5\n  backoffLimitPerIndex: 2\n  template:\n    metadata:\n      labels: {{app: rich, tier: \"u2\"}}\n      annotations: {{wasmjob.dev/fuel: \"1000\", note: \"a b\"}}\n    spec:\n      restartPolicy: Never\n      activeDeadlineSeconds: 30\n      terminationGracePeriodSeconds: 5\n      volumes:\n      - {{name: scratch, emptyDir: {{sizeLimit: 1Mi}}}}\n      - {{name: data, hostPath: {{path: /tmp}}}}\n      initContainers: [{{name: init, image: a.wasm, args: [\"--prepare\"]}}]\n      containers:\n      - name: main\n        image: b.wasm\n        command: [\"b\"]\n        args: [\"x\", \"$(IDX)\"]\n        env:\n        - {{name: IDX, valueFrom: {{fieldRef: {{fieldPath: \"metadata.annotations['batch.kubernetes.io/job-completion-index']\"}}}}}}\n        - {{name: PLAIN, value: \"v\"}}\n        resources: {{limits: {{memory: 32Mi}}}}\n        volumeMounts: [{{name: scratch, mountPath: /s}}, {{name: data, mountPath: /d, readOnly: true}}]\n      - {{name: side, image: c.wasm}}\n",
        "a".repeat(60)
    ));
    manifests
        .iter()
        .flat_map(|m| load_jobs(m, "corpus").unwrap())
        .map(|mut m| {
            defaults::assign_identity(
                &mut m.job,
                &uuid::Uuid::new_v4().to_string(),
                Time::from_millis(1_700_000_000_000),
            );
            m.job
        })
        .collect()
}

struct Seq(u32);

impl Identities for Seq {
    fn uid(&mut self) -> String {
        self.0 += 1;
        uuid::Uuid::new_v4().to_string()
    }
    fn name_suffix(&mut self) -> String {
        wasmjob_controller::pods::name_suffix(|n| (self.0 as usize * 7) % n)
    }
}

fn t(secs: i64, nanos: i32) -> Option<Time> {
    Some(Time(jiff::Timestamp::new(secs, nanos).unwrap()))
}

/// Statuses a pod may have, using every field of the status.
fn statuses(pod: &Pod) -> Vec<PodStatus> {
    let names: Vec<String> = pod.spec.containers.iter().map(|c| c.name.clone()).collect();
    let terminated = |code: i32, reason: &str, message: Option<&str>| ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: code,
            signal: (code < 0).then_some(9),
            reason: Some(reason.into()),
            message: message.map(Into::into),
            started_at: t(1_700_000_001, 0),
            finished_at: t(1_700_000_002, 123_456_789),
            container_id: Some("wasmjob://x/c/1".into()),
        }),
        ..Default::default()
    };
    let container = |name: &String, state: ContainerState, last: ContainerState| ContainerStatus {
        name: name.clone(),
        state,
        last_state: last,
        ready: false,
        restart_count: 2,
        image: "b.wasm".into(),
        image_id: String::new(),
        container_id: Some(format!("wasmjob://u/{name}/2")),
        started: Some(false),
    };
    let condition = |type_: &str, status: &str, reason: Option<&str>| PodCondition {
        type_: type_.into(),
        status: status.into(),
        last_probe_time: None,
        last_transition_time: t(1_700_000_000, 999_999_999),
        reason: reason.map(Into::into),
        message: reason.map(|r| format!("{r}: ünïcode, \"quotes\"\nand lines")),
    };
    vec![
        PodStatus::default(),
        PodStatus {
            phase: Some(PHASE_PENDING.into()),
            ..Default::default()
        },
        PodStatus {
            phase: Some(PHASE_RUNNING.into()),
            conditions: vec![
                condition("PodScheduled", "True", None),
                condition(PROGRESS_CONDITION, "True", Some("Reported")),
            ],
            start_time: t(1_700_000_000, 1),
            init_container_statuses: vec![container(
                &"init".to_string(),
                terminated(0, "Completed", None),
                ContainerState::default(),
            )],
            container_statuses: names
                .iter()
                .map(|n| {
                    let mut c = container(
                        n,
                        ContainerState {
                            running: Some(ContainerStateRunning {
                                started_at: t(1_700_000_001, 5),
                            }),
                            ..Default::default()
                        },
                        terminated(1, "Error", Some("")),
                    );
                    c.ready = true;
                    c.started = Some(true);
                    c
                })
                .collect(),
            ..Default::default()
        },
        PodStatus {
            phase: Some(PHASE_FAILED.into()),
            conditions: vec![
                condition("DisruptionTarget", "True", Some("TerminationByKubelet")),
                condition("Ready", "False", Some("PodFailed")),
            ],
            message: Some("Pod was active on the node longer than the specified deadline".into()),
            reason: Some("DeadlineExceeded".into()),
            start_time: t(-5, 0),
            container_statuses: names
                .iter()
                .map(|n| {
                    let mut c = container(
                        n,
                        terminated(-1, "OOMKilled", Some("out of memory")),
                        ContainerState {
                            waiting: Some(ContainerStateWaiting {
                                reason: Some("CrashLoopBackOff".into()),
                                message: None,
                            }),
                            ..Default::default()
                        },
                    );
                    c.restart_count = i32::MAX;
                    c.started = None;
                    c.container_id = None;
                    c
                })
                .collect(),
            ..Default::default()
        },
    ]
}

/// The pods of `job` as its controller makes them: every index (or a few pods), with and
/// without failure counts, with its marks (deletion, finalizer gone) and every status.
fn pods_of(job: &Job) -> Vec<Pod> {
    let mut ids = Seq(0);
    let wants: Vec<PodToCreate> = if job.is_indexed() {
        vec![
            PodToCreate {
                index: Some(0),
                ..Default::default()
            },
            PodToCreate {
                index: Some(3),
                failure_count: Some(1),
                ignored_failure_count: Some(2),
            },
        ]
    } else {
        vec![PodToCreate::default(); 2]
    };
    let mut pods = Vec::new();
    for (i, want) in wants.iter().enumerate() {
        let base = new_pod(
            job,
            want,
            &mut ids,
            Time(jiff::Timestamp::new(1_700_000_000, i as i32 * 1_001).unwrap()),
            &|_| false,
        );
        for (k, status) in statuses(&base).into_iter().enumerate() {
            let mut pod = base.clone();
            pod.metadata.uid = Some(ids.uid());
            pod.status = status;
            if k % 2 == 1 {
                pod.metadata.finalizers.clear();
            }
            if k == 3 {
                pod.metadata.deletion_timestamp = t(1_700_000_003, 7);
                pod.metadata.deletion_grace_period_seconds = Some(30);
            }
            if k >= 2 {
                pod.spec.node_name = Some("edge-1.example".into());
            }
            pod.metadata.name = Some(format!(
                "{}{}{}",
                pod.metadata.generate_name.as_deref().unwrap(),
                ["bcdf", "hjkl", "npqr", "tvwx"][k],
                ["z", "2"][i]
            ));
            pods.push(pod);
        }
    }
    pods
}

#[test]
fn every_pod_of_the_corpus_reads_back_byte_for_byte_from_a_compact_row() {
    let d = dir();
    let mut store = Store::open(&d.0).unwrap();
    let mut written = Vec::new();
    for job in corpus() {
        let mut record = JobRecord {
            job: job.clone(),
            backoff: Default::default(),
            base_dir: PathBuf::from("/"),
        };
        let mut batch = store.batch().unwrap();
        batch.create_job(&mut record, None).unwrap();
        for (i, mut pod) in pods_of(&job).into_iter().enumerate() {
            // Every other pod as the manager writes its own (known to be its template's; the
            // debug build checks it reads back the same).
            batch
                .put_pod(&mut pod, job.metadata.uid(), i % 2 == 0)
                .unwrap();
            written.push(pod);
        }
        batch.commit().unwrap();
    }
    assert!(written.len() >= 40, "{} pods", written.len());
    for pod in &written {
        let read = store
            .get_pod(pod.metadata.namespace(), pod.metadata.name())
            .unwrap()
            .unwrap();
        assert_eq!(
            serde_json::to_string(&read).unwrap(),
            serde_json::to_string(pod).unwrap()
        );
    }
    let whole: i64 = store
        .conn
        .query_row("SELECT count(*) FROM pods WHERE object != ''", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(whole, 0, "every pod of the corpus is stored compactly");
    // Compact: a pod's record is a small part of its JSON.
    let (mut records, mut objects) = (0i64, 0usize);
    for pod in &written {
        records += store
            .conn
            .query_row(
                "SELECT length(record) FROM pods WHERE uid = ?1",
                [pod.metadata.uid()],
                |r| r.get::<_, i64>(0),
            )
            .unwrap();
        objects += serde_json::to_string(pod).unwrap().len();
    }
    assert!(
        (records as usize) * 4 < objects,
        "records {records} bytes, pods {objects}"
    );
}

/// A record written before pods were bound to nodes (layout 1: no node after the status)
/// reads back as the pod it was.
#[test]
fn a_record_of_layout_1_reads_back() {
    let job = corpus().remove(0);
    for pod in pods_of(&job)
        .into_iter()
        .filter(|p| p.spec.node_name.is_none())
    {
        let template = pod_rows::template_of(&job);
        let mut compact = pod_rows::encode(&pod, &template).unwrap();
        assert_eq!((compact.record[0], compact.record.last()), (2, Some(&0)));
        compact.record[0] = 1;
        compact.record.pop();
        let version: i64 = pod
            .metadata
            .resource_version
            .as_deref()
            .unwrap_or("0")
            .parse()
            .unwrap();
        let mut read = pod_rows::decode(
            &template,
            pod.metadata.uid(),
            pod.metadata.name(),
            version,
            &compact,
        )
        .unwrap();
        read.metadata.resource_version = pod.metadata.resource_version.clone();
        assert_eq!(read, pod);
    }
}

#[test]
fn pods_that_are_not_their_templates_are_stored_whole_and_read_back() {
    let d = dir();
    let mut store = Store::open(&d.0).unwrap();
    let mut a = job("a", "default");
    let mut batch = store.batch().unwrap();
    batch.create_job(&mut a, None).unwrap();
    let made = |ids: &mut Seq| {
        new_pod(
            &a.job,
            &PodToCreate::default(),
            ids,
            Time::from_millis(1),
            &|_| false,
        )
    };
    let mut ids = Seq(100);
    let mut labelled = made(&mut ids);
    labelled.metadata.labels.insert("extra".into(), "x".into());
    let mut orphan = made(&mut ids);
    orphan.metadata.owner_references.clear();
    let mut other_finalizer = made(&mut ids);
    other_finalizer
        .metadata
        .finalizers
        .push("example.com/keep".into());
    let mut renamed = made(&mut ids);
    renamed.metadata.name = Some("elsewhere-xyz".into());
    let mut no_template = made(&mut ids);
    no_template.metadata.name = Some("lonely".into());
    let mut pods = vec![labelled, orphan, other_finalizer, renamed];
    for p in &mut pods {
        batch.put_pod(p, a.job.metadata.uid(), false).unwrap();
    }
    batch
        .put_pod(&mut no_template, "no-such-job", false)
        .unwrap();
    pods.push(no_template);
    batch.commit().unwrap();
    for pod in &pods {
        let read = store.get_pod("default", pod.metadata.name()).unwrap();
        assert_eq!(read.as_ref(), Some(pod));
    }
    let whole: i64 = store
        .conn
        .query_row("SELECT count(*) FROM pods WHERE object != ''", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(whole, 5);
}

#[test]
fn a_damaged_compact_row_is_refused_naming_the_pod_and_what_to_do() {
    let d = dir();
    let mut store = Store::open(&d.0).unwrap();
    let mut a = job("a", "default");
    let mut pod = new_pod(
        &a.job,
        &PodToCreate::default(),
        &mut Seq(0),
        Time::from_millis(1),
        &|_| false,
    );
    let mut batch = store.batch().unwrap();
    batch.create_job(&mut a, None).unwrap();
    batch
        .put_pod(&mut pod, a.job.metadata.uid(), false)
        .unwrap();
    batch.commit().unwrap();
    let name = pod.metadata.name().to_string();
    for (damage, sql) in [
        ("cut short", "UPDATE pods SET record = substr(record, 1, 9)"),
        (
            "unknown layout",
            "UPDATE pods SET record = CAST(X'09' || substr(record, 2) AS BLOB)",
        ),
        ("text, not bytes", "UPDATE pods SET record = 'garbage'"),
        ("no record", "UPDATE pods SET record = NULL"),
        ("template gone", "DELETE FROM templates"),
    ] {
        let d2 = dir();
        std::fs::create_dir_all(&d2.0).unwrap();
        store.checkpoint().unwrap();
        std::fs::copy(d.0.join("state.db"), d2.0.join("state.db")).unwrap();
        rusqlite::Connection::open(d2.0.join("state.db"))
            .unwrap()
            .execute_batch(sql)
            .unwrap();
        let damaged = Store::open(&d2.0).unwrap();
        let err = damaged.get_pod("default", &name).unwrap_err().to_string();
        assert!(
            err.contains(&d2.0.join("state.db").display().to_string())
                && err.contains(&format!("pod {name}"))
                && (err.contains("wasmjob delete") || err.contains("backup")),
            "{damage}: {err}"
        );
        let listed = damaged.list_pods(None).unwrap_err().to_string();
        assert_eq!(listed, err, "{damage}");
    }
}

/// A store written before format 2 — Jobs with their status inside their JSON, pods whole —
/// opens, is marked format 2, and reads exactly as it was written; new pods of its Jobs are
/// stored whole too (they have no template row), new Jobs compactly.
#[test]
fn a_format_1_store_opens_moves_to_format_2_and_reads_as_it_was() {
    let d = dir();
    let mut a = job("old", "default");
    a.job.status = Some(JobStatus {
        succeeded: 3,
        ..Default::default()
    });
    a.job.metadata.resource_version = Some("7".into());
    let mut pod = new_pod(
        &a.job,
        &PodToCreate::default(),
        &mut Seq(0),
        Time::from_millis(1),
        &|_| false,
    );
    pod.metadata.resource_version = Some("8".into());
    pod.status.phase = Some(PHASE_SUCCEEDED.into());
    {
        // As format 1 wrote it: the schema of then, JSON objects, the old marker.
        Store::open(&d.0).unwrap();
        let conn = rusqlite::Connection::open(d.0.join("state.db")).unwrap();
        conn.execute_batch(
            "DROP TABLE templates; DROP INDEX pods_by_version; DROP INDEX pods_in_flight;
             DROP INDEX pods_failed;
             ALTER TABLE jobs DROP COLUMN status; ALTER TABLE jobs DROP COLUMN version;
             ALTER TABLE pods DROP COLUMN version; ALTER TABLE pods DROP COLUMN idx;
             ALTER TABLE pods DROP COLUMN finalizer; ALTER TABLE pods DROP COLUMN phase;
             ALTER TABLE pods DROP COLUMN record; ALTER TABLE pods DROP COLUMN logs;
             ALTER TABLE events DROP COLUMN count; ALTER TABLE events DROP COLUMN first_time;
             ALTER TABLE events DROP COLUMN name_version;
             UPDATE meta SET value = 'wasmjob-state/1' WHERE key = 'format';
             DELETE FROM meta WHERE key = 'schema';",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO jobs (uid, namespace, name, base_dir, backoff, object) VALUES (?1, 'default', 'old', '/', ?2, ?3)",
            params![a.job.metadata.uid(), json(&a.backoff), json(&a.job)],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO pods (uid, namespace, name, job_uid, object) VALUES (?1, 'default', ?2, ?3, ?4)",
            params![pod.metadata.uid(), pod.metadata.name(), a.job.metadata.uid(), json(&pod)],
        )
        .unwrap();
    }
    let mut store = Store::open(&d.0).unwrap();
    let format: String = store
        .conn
        .query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(format, FORMAT);
    assert_eq!(store.get_job("default", "old").unwrap().unwrap().job, a.job);
    assert_eq!(
        store.get_pod("default", pod.metadata.name()).unwrap(),
        Some(pod.clone())
    );
    // Its status moves to its column at its next write; the spec stays where it was.
    let mut batch = store.batch().unwrap();
    let status = JobStatus {
        succeeded: 4,
        ..Default::default()
    };
    let v = batch
        .update_status(a.job.metadata.uid(), &status, &Default::default())
        .unwrap();
    batch.commit().unwrap();
    let read = store.get_job("default", "old").unwrap().unwrap().job;
    assert_eq!(read.status, Some(status));
    assert_eq!(read.metadata.resource_version, v.map(|v| v.to_string()));
    assert_eq!(read.spec, a.job.spec);
    // A wasmjob of another format is refused, the store left as it was.
    store
        .conn
        .execute_batch("UPDATE meta SET value = 'wasmjob-state/9' WHERE key = 'format'")
        .unwrap();
    drop(store);
    let err = Store::open(&d.0).err().unwrap().to_string();
    assert!(
        err.contains("\"wasmjob-state/9\"") && err.contains(FORMAT),
        "{err}"
    );
}
