//! Unit tests of the store on a temporary directory: the change token every poller uses,
//! resourceVersions of events and namespaces, and the tombstones watches resume from.

use super::*;
use std::time::Duration;

pub(crate) struct Dir(pub PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn dir() -> Dir {
    Dir(std::env::temp_dir().join(format!("wasmjob-store-{}", uuid::Uuid::new_v4())))
}

pub(crate) fn job(name: &str, namespace: &str) -> JobRecord {
    let yaml = format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: c, image: x.wasm}}]\n"
    );
    let mut job = wasmjob_spec::load_jobs(&yaml, "test")
        .unwrap()
        .remove(0)
        .job;
    wasmjob_spec::defaults::assign_identity(
        &mut job,
        &uuid::Uuid::new_v4().to_string(),
        Time::from_millis(1_700_000_000_000),
    );
    JobRecord {
        job,
        backoff: Default::default(),
        base_dir: PathBuf::from("/"),
    }
}

fn pod_of(job: &Job, name: &str) -> Pod {
    let mut pod = Pod::default();
    pod.metadata.name = Some(name.into());
    pod.metadata.namespace = Some(job.namespace().into());
    pod.metadata.uid = Some(uuid::Uuid::new_v4().to_string());
    pod
}

fn event(about: &str) -> EventRecord {
    EventRecord {
        namespace: "default".into(),
        kind: "Job".into(),
        name: about.into(),
        uid: "u".into(),
        type_: "Normal".into(),
        reason: "SuccessfulCreate".into(),
        message: "Created pod".into(),
        time: Time::from_millis(1_700_000_000_000),
    }
}

/// Issue 16: SQLite's `data_version` does not move for a connection's own commits, so a
/// watch on the API's connection missed the API's own writes. `changes` sees every commit.
#[test]
fn the_change_token_moves_for_own_commits_and_for_other_connections() {
    let d = dir();
    let mut mine = Store::open(&d.0).unwrap();
    let mut other = Store::open(&d.0).unwrap();
    let before = mine.changes().unwrap();
    let elsewhere = mine.changed_elsewhere().unwrap();
    let mut batch = mine.batch().unwrap();
    batch.create_job(&mut job("a", "default"), None).unwrap();
    batch.commit().unwrap();
    let after_own = mine.changes().unwrap();
    assert_ne!(before, after_own, "an own commit is a change");
    assert_eq!(
        mine.changed_elsewhere().unwrap(),
        elsewhere,
        "data_version alone misses it"
    );
    assert_eq!(mine.changes().unwrap(), after_own, "no commit, no change");
    let mut batch = other.batch().unwrap();
    batch.create_job(&mut job("b", "default"), None).unwrap();
    batch.commit().unwrap();
    assert_ne!(
        mine.changes().unwrap(),
        after_own,
        "another connection's commit"
    );
    // A batch that is dropped (rolled back) changes nothing.
    let now = mine.changes().unwrap();
    let mut batch = mine.batch().unwrap();
    batch.create_job(&mut job("c", "default"), None).unwrap();
    drop(batch);
    assert_eq!(mine.changes().unwrap(), now);
    assert!(mine.get_job("default", "c").unwrap().is_none());
}

#[test]
fn events_and_namespaces_get_resource_versions() {
    let d = dir();
    let mut store = Store::open(&d.0).unwrap();
    let mut batch = store.batch().unwrap();
    let mut a = job("a", "team");
    batch.create_job(&mut a, None).unwrap();
    batch.add_event(&event("a")).unwrap();
    batch.add_event(&event("a")).unwrap();
    batch.commit().unwrap();
    let events = store.list_events(None).unwrap();
    let versions: Vec<i64> = events.iter().map(|e| e.version).collect();
    assert_eq!(versions, [2, 3], "after the Job's 1, one each, in order");
    assert_eq!(store.resource_version().unwrap(), 3);
    let namespaces = store.namespaces().unwrap();
    assert_eq!(namespaces.len(), 1);
    assert_eq!(namespaces[0].name, "team");
    assert_eq!(namespaces[0].version, 1, "recorded with its first Job");
    // A second Job in it does not record it again.
    let mut batch = store.batch().unwrap();
    batch.create_job(&mut job("b", "team"), None).unwrap();
    batch.commit().unwrap();
    assert_eq!(store.namespaces().unwrap(), namespaces);
}

/// Stores written before this change: their Jobs' namespaces are recorded once when opened,
/// and the columns added read as version 0.
#[test]
fn an_older_store_gets_its_namespaces_and_new_columns() {
    let d = dir();
    {
        let mut store = Store::open(&d.0).unwrap();
        let mut batch = store.batch().unwrap();
        batch.create_job(&mut job("a", "old"), None).unwrap();
        batch.add_event(&event("a")).unwrap();
        batch.commit().unwrap();
    }
    // Make it look old: no namespace rows, no marker, no version columns.
    let conn = rusqlite::Connection::open(d.0.join("state.db")).unwrap();
    conn.execute_batch(
        "DELETE FROM namespaces; DELETE FROM meta WHERE key IN ('namespacesRecorded', 'schema');
         ALTER TABLE events DROP COLUMN version; ALTER TABLE namespaces DROP COLUMN version;",
    )
    .unwrap();
    drop(conn);
    let store = Store::open(&d.0).unwrap();
    let namespaces = store.namespaces().unwrap();
    assert_eq!(namespaces.len(), 1);
    assert_eq!(namespaces[0].name, "old");
    assert_eq!(namespaces[0].created, Time::from_millis(1_700_000_000_000));
    assert_eq!(namespaces[0].version, 0);
    let events = store.list_events(None).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].version, 0);
    assert!(events[0].id > 0);
}

/// Issue 16: a watch resumed from a list's resourceVersion must hear of pods that went with
/// their Job, each at a resourceVersion of its own.
#[test]
fn pods_deleted_with_their_job_leave_tombstones() {
    let d = dir();
    let mut store = Store::open(&d.0).unwrap();
    let mut batch = store.batch().unwrap();
    let mut a = job("a", "default");
    batch.create_job(&mut a, None).unwrap();
    let mut uids = Vec::new();
    for (i, name) in ["a-1", "a-2", "a-3"].into_iter().enumerate() {
        let mut pod = pod_of(&a.job, name);
        pod.metadata.labels = [("job-name", "a".to_string()), ("index", i.to_string())]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        uids.push(pod.metadata.uid().to_string());
        batch
            .put_pod(&mut pod, a.job.metadata.uid(), false)
            .unwrap();
    }
    batch.commit().unwrap();
    let listed = store.resource_version().unwrap();
    assert_eq!(listed, 4);
    let mut batch = store.batch().unwrap();
    batch.delete_job(a.job.metadata.uid(), false).unwrap();
    batch.commit().unwrap();
    let pods = store.deleted_since("Pod", None, listed).unwrap();
    let got: Vec<(String, String)> = pods
        .iter()
        .map(|p| {
            (
                p["metadata"]["name"].as_str().unwrap().to_string(),
                p["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a-1".to_string(), "6".to_string()),
            ("a-2".to_string(), "7".to_string()),
            ("a-3".to_string(), "8".to_string()),
        ],
        "the Job's tombstone took 5"
    );
    assert_eq!(store.resource_version().unwrap(), 8);
    assert_eq!(pods[0]["metadata"]["uid"], uids[0].as_str());
    assert_eq!(
        pods[2]["metadata"]["labels"],
        serde_json::json!({"job-name": "a", "index": "2"}),
        "labels shared and their own"
    );
    // Resumed after the first pod's deletion: the other two.
    assert_eq!(store.deleted_since("Pod", None, 6).unwrap().len(), 2);
    assert!(
        store
            .deleted_since("Pod", Some("elsewhere"), 0)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.deleted_since("Job", None, listed).unwrap().len(), 1);
    assert!(store.list_pods(None).unwrap().is_empty());
}

/// The salts in the write-ahead log's header, which change whenever the log starts over.
fn log_salts(d: &Dir) -> Vec<u8> {
    let wal = StateDir::new(&d.0).wal();
    std::fs::read(wal).map_or_else(|_| Vec::new(), |b| b.get(16..24).unwrap_or(&[]).to_vec())
}

/// While commits keep coming, the write-ahead log starts over (its salts change) instead of
/// growing for as long as they come. (Commits this small leave the checkpointer gaps to catch
/// up in; the writer's own catch-up matters under a busy Job: without it, the log of a
/// 100,000-pod Job of tiny pods under `serve` grew to 344 MB, with it it stays near 64 MiB.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_starts_over_while_commits_keep_coming() {
    let d = dir();
    let mut store = Store::open(&d.0).unwrap();
    let mut a = job("a", "default");
    let mut batch = store.batch().unwrap();
    batch.create_job(&mut a, None).unwrap();
    batch.commit().unwrap();
    let mut writer = writer::Writer::start(&d.0).unwrap();
    let job = a.job.clone();
    let uid = job.metadata.uid().to_string();
    let put = |i: usize| -> writer::Writes {
        let mut pod = pod_of(&job, &format!("a-{i}"));
        let uid = uid.clone();
        Box::new(move |b| b.put_pod(&mut pod, &uid, false))
    };
    writer.hand(put(0));
    writer.flush().await.unwrap();
    let first = log_salts(&d);
    assert_eq!(first.len(), 8, "the writer's first commit made a log");
    let started = std::time::Instant::now();
    let mut i = 1;
    let mut committed = 1;
    // Commits back to back: a few hand-offs always wait, so the writer never pauses (the
    // checkpointer waits a second before its first checkpoint).
    while log_salts(&d) == first {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the log did not start over in 20 s of commits ({i} of them)"
        );
        writer.hand(put(i));
        i += 1;
        while writer.handed() - committed >= 3 {
            committed = writer.changed().await.unwrap();
        }
    }
    drop(writer);
    drop(store);
}

/// A writer whose connection cannot be opened fails as a failed commit does: the hand-off
/// is not counted committed, and waiting on it says why, naming the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_cannot_open_its_connection_fails_its_first_commit() {
    let d = dir();
    // A folder where the database file should be: SQLite cannot open it.
    std::fs::create_dir_all(StateDir::new(&d.0).db()).unwrap();
    let mut writer = writer::Writer::start(&d.0).unwrap();
    let n = writer.hand(Box::new(|_| Ok(())));
    let e = writer.flush().await.unwrap_err().to_string();
    assert!(e.contains("state.db"), "{e}");
    assert!(writer.committed().is_err());
    assert!(!writer.idle(), "hand-off {n} is not committed");
}

/// The last connection to close leaves a small write-ahead log as it is (the next process
/// reads it: nothing is lost), and moves a large one into the database and removes it, as
/// SQLite does by itself.
#[test]
fn a_small_log_is_left_at_close_and_a_large_one_moved_in() {
    let d = dir();
    let wal = StateDir::new(&d.0).wal();
    let mut a = job("a", "default");
    {
        let mut store = Store::open(&d.0).unwrap();
        let mut batch = store.batch().unwrap();
        batch.create_job(&mut a, None).unwrap();
        batch.commit().unwrap();
    }
    let len = std::fs::metadata(&wal).expect("the small log stays").len();
    assert!(len > 0 && len <= LEAVE_LOG_MAX, "{len} bytes");
    // Read back through the log it left.
    let mut store = Store::open(&d.0).unwrap();
    assert!(store.get_job("default", "a").unwrap().is_some());
    // Past the bound: a Job with a large template (written once) grows the log.
    let mut big = job("big", "default");
    big.job
        .metadata
        .annotations
        .insert("filler".into(), "x".repeat(LEAVE_LOG_MAX as usize));
    let mut batch = store.batch().unwrap();
    batch.create_job(&mut big, None).unwrap();
    batch.commit().unwrap();
    assert!(std::fs::metadata(&wal).unwrap().len() > LEAVE_LOG_MAX);
    drop(store);
    assert!(!wal.exists(), "the large log was moved in and removed");
    let store = Store::open(&d.0).unwrap();
    assert!(store.get_job("default", "a").unwrap().is_some());
    assert!(store.get_job("default", "big").unwrap().is_some());
}

/// A command that only reads checks a small store whole when no controller holds it, and
/// trusts the controller's own check beside a live one: there the database may be mostly in
/// the log, and checking it whole cost a `get` beside a 100,000-pod Job up to 40 ms of CPU.
#[test]
fn a_reader_checks_a_small_store_whole_unless_a_controller_holds_it() {
    let d = dir();
    {
        let mut store = Store::open(&d.0).unwrap();
        let mut batch = store.batch().unwrap();
        for i in 0..400 {
            batch
                .create_job(&mut job(&format!("j{i}"), "default"), None)
                .unwrap();
            batch.add_event(&event(&format!("j{i}"))).unwrap();
        }
        batch.commit().unwrap();
        store.checkpoint().unwrap();
    }
    // Damage the last page, which a reader's open does not read.
    let db = StateDir::new(&d.0).db();
    let mut bytes = std::fs::read(&db).unwrap();
    let len = bytes.len();
    assert!(len > 40 * 4096, "a store of many pages: {len} bytes");
    bytes[len - 4096..].fill(0xa5);
    std::fs::write(&db, bytes).unwrap();
    match Store::open_reader(&d.0) {
        Err(StoreError::Corrupt { what, .. }) => assert_eq!(what, "database"),
        other => panic!("no controller: the damage is found, got {:?}", other.err()),
    }
    let lease = lease::acquire(&d.0, lease::Role::Serve).unwrap();
    assert!(
        Store::open_reader(&d.0).is_ok(),
        "beside a live controller the reader opens without checking the whole store"
    );
    drop(lease);
    assert!(
        Store::open_reader(&d.0).is_err(),
        "the controller gone, checked again"
    );
}

/// Nodes are stored by name, replaced whole, each write at a resourceVersion of its own, and a
/// deleted node leaves a tombstone a watch can resume from.
#[test]
fn nodes_are_stored_by_name_and_their_deletion_is_told() {
    let d = dir();
    let mut store = Store::open(&d.0).unwrap();
    let node = |name: &str, unschedulable: bool| {
        let mut n = Node::default();
        n.metadata.name = Some(name.into());
        n.metadata.uid = Some(uuid::Uuid::new_v4().to_string());
        n.spec.unschedulable = unschedulable;
        n
    };
    let (mut b, mut a) = (node("b", false), node("a", false));
    let mut batch = store.batch().unwrap();
    let vb = batch.put_node(&mut b).unwrap();
    let va = batch.put_node(&mut a).unwrap();
    batch.commit().unwrap();
    assert!(va > vb);
    let names: Vec<String> = store
        .nodes()
        .unwrap()
        .iter()
        .map(|n| n.name().to_string())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(store.node("a").unwrap().unwrap(), a);
    assert_eq!(a.metadata.resource_version, Some(va.to_string()));
    // Replaced whole.
    let mut cordoned = node("a", true);
    let mut batch = store.batch().unwrap();
    let v2 = batch.put_node(&mut cordoned).unwrap();
    batch.commit().unwrap();
    assert!(v2 > va);
    assert!(store.node("a").unwrap().unwrap().spec.unschedulable);
    assert_eq!(store.nodes().unwrap().len(), 2);
    // Deleted, and told.
    let mut batch = store.batch().unwrap();
    assert!(batch.delete_node("a").unwrap());
    assert!(!batch.delete_node("nowhere").unwrap());
    batch.commit().unwrap();
    assert_eq!(store.node("a").unwrap(), None);
    let gone = store.deleted_since("Node", None, v2).unwrap();
    assert_eq!(gone.len(), 1, "{gone:?}");
    assert_eq!(gone[0]["metadata"]["name"], "a");
    assert_eq!(gone[0]["spec"]["unschedulable"], true);
    assert!(
        gone[0]["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > v2
    );
    assert!(
        store
            .deleted_since("Node", None, v2 + 10)
            .unwrap()
            .is_empty()
    );
}
