//! The manager on paused tokio time: a real store, node and sandbox, with the manager's clock
//! following tokio's, so timers of tens of seconds (a Job's deadline, its TTL) pass in
//! milliseconds and land where the rules put them, not where a busy machine lets them.
//! The expectations are the Job controller's (`pkg/controller/job/job_controller.go`:
//! `syncJob`'s `pastActiveDeadline`; `pkg/controller/ttlafterfinished`).

use super::{Clock, Manager, ManagerError, Scope};
use crate::controller::ControllerConfig;
use crate::node::{Node, NodeConfig};
use crate::sandbox::Sandbox;
use crate::store::{JobRecord, StateDir, Store};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use wasmjob_spec::{Job, Time};

/// Sleeps 10 minutes in `poll_oneoff` (a tokio timer inside the sandbox).
const SLEEPER: &str = r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 600000000000))
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#;

/// Exits 0 at once.
const DONE: &str = r#"(module (func (export "_start")))"#;

/// Wall time at the start, moved on by tokio's (paused) clock.
struct TokioClock {
    base: jiff::Timestamp,
    start: Instant,
}

impl Clock for TokioClock {
    fn now(&self) -> Time {
        let elapsed = jiff::SignedDuration::try_from(self.start.elapsed()).unwrap();
        Time(self.base.checked_add(elapsed).unwrap())
    }
}

struct Fixture {
    dir: PathBuf,
    base: jiff::Timestamp,
    start: Instant,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = std::env::temp_dir().join(format!("wasmjob-manager-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Fixture {
            dir,
            base: jiff::Timestamp::now(),
            start: Instant::now(),
        }
    }

    /// Virtual seconds from the fixture's start to `t`.
    fn secs(&self, t: Time) -> f64 {
        t.0.duration_since(self.base).as_secs_f64()
    }

    /// A manager over a fresh node, on the fixture's clock, in charge of the Job of `yaml`
    /// (its module `guest`, written as WebAssembly text): `Scope::Own` as `wasmjob run` and
    /// `embed` run, `Scope::All` as `wasmjob serve` does.
    async fn manager(&self, yaml: &str, guest: &str, scope: Scope) -> (Manager, String) {
        self.manager_with(yaml, guest, scope, |_, _| {}).await
    }

    /// As [`Fixture::manager`], with `setup` given the manager (and the sandbox) before the
    /// Job is created.
    async fn manager_with(
        &self,
        yaml: &str,
        guest: &str,
        scope: Scope,
        setup: impl FnOnce(&mut Manager, &Arc<Sandbox>),
    ) -> (Manager, String) {
        std::fs::write(self.dir.join("guest.wasm"), wat::parse_str(guest).unwrap()).unwrap();
        let mut job: Job = wasmjob_spec::load_jobs(yaml, "test").unwrap().remove(0).job;
        job.metadata.namespace = Some("default".into());
        crate::ops::manifest::give_identity(&mut job, Time(self.base));
        let sandbox = Arc::new(Sandbox::new().unwrap());
        crate::node::prepare_modules(&sandbox, &job, &self.dir)
            .await
            .unwrap();
        let state = self.dir.join("state");
        let store = Store::open(&state).unwrap();
        let layout = StateDir::new(&state);
        // Every message between the manager and the node goes through its bytes, as over a
        // broker: what the seam carries is all the node and the manager have of each other.
        let node = crate::node::wire::relay(Node::start(
            sandbox.clone(),
            NodeConfig::new(layout.logs(), layout.pods()),
        ));
        let clock = TokioClock {
            base: self.base,
            start: self.start,
        };
        let mut manager = Manager::new(
            store,
            node,
            ControllerConfig::default(),
            Box::new(clock),
            "test".into(),
            scope,
        )
        .unwrap();
        setup(&mut manager, &sandbox);
        let record = JobRecord {
            job,
            backoff: Default::default(),
            base_dir: self.dir.clone(),
        };
        let uid = manager.create(record, None).unwrap();
        (manager, uid)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Job named `name` whose `spec` has the lines `spec` (each indented two spaces) and a
/// template of one container running `guest.wasm`, never restarted.
fn job_yaml(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}}}\nspec:\n{spec}  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: main, image: guest.wasm}}]\n"
    )
}

/// Runs the manager (as `run` does) until Job `uid` has ended and all of it is committed.
async fn run_to_end(manager: &mut Manager, uid: &str, observe: &mut dyn FnMut(&Manager)) {
    manager
        .run(Some(&[uid.to_string()]), observe, std::future::pending())
        .await
        .unwrap();
}

fn condition_time(job: &Job, type_: &str) -> Option<(Time, String)> {
    let c = job.status().true_condition(type_)?;
    Some((
        c.last_transition_time?,
        c.reason.clone().unwrap_or_default(),
    ))
}

/// `activeDeadlineSeconds: 30` over pods that sleep for 10 minutes: the Job fails with
/// `DeadlineExceeded` 30 s after its start (not before, and not a poll later), its pods are
/// stopped, and none succeeded.
#[tokio::test(start_paused = true)]
async fn a_jobs_deadline_fails_it_at_the_deadline() {
    let f = Fixture::new();
    let yaml = job_yaml(
        "slow",
        "  parallelism: 2\n  completions: 2\n  activeDeadlineSeconds: 30\n",
    );
    let (mut manager, uid) = f.manager(&yaml, SLEEPER, Scope::Own).await;
    let mut active_seen = 0;
    run_to_end(&mut manager, &uid, &mut |m| {
        active_seen = active_seen.max(m.pods_in_flight(&uid).count())
    })
    .await;
    let job = manager.job(&uid).unwrap().clone();
    let started = f.secs(job.status().start_time.unwrap());
    let (failed_at, reason) = condition_time(&job, wasmjob_spec::COND_FAILED).unwrap();
    assert_eq!(reason, "DeadlineExceeded");
    let after_start = f.secs(failed_at) - started;
    assert!(
        (30.0..31.0).contains(&after_start),
        "Failed {after_start} s after the start"
    );
    assert_eq!(active_seen, 2, "both pods ran");
    assert_eq!(job.status().succeeded, 0);
    assert_eq!(job.status().active, 0);
    let pods: Vec<_> = manager.pods(&uid).unwrap();
    assert_eq!(pods.len(), 2);
    assert!(
        pods.iter()
            .all(|p| p.status.phase.as_deref() == Some(wasmjob_spec::PHASE_FAILED)),
        "every pod stopped: {:?}",
        pods.iter().map(|p| &p.status.phase).collect::<Vec<_>>()
    );
}

/// `ttlSecondsAfterFinished: 100` under `serve`: the Job is kept 100 s after it completes,
/// then deleted with its pods (the TTL controller's rule), without anyone asking.
#[tokio::test(start_paused = true)]
async fn a_finished_job_is_deleted_when_its_ttl_passes() {
    let f = Fixture::new();
    let yaml = job_yaml(
        "brief",
        "  completions: 3\n  parallelism: 3\n  ttlSecondsAfterFinished: 100\n",
    );
    let (mut manager, uid) = f.manager(&yaml, DONE, Scope::All).await;
    let clock = TokioClock {
        base: f.base,
        start: f.start,
    };
    let mut completed_at = None;
    let mut deleted_at = None;
    let result = manager
        .run(
            None,
            &mut |m| {
                if completed_at.is_none() {
                    completed_at = m.job(&uid).and_then(|j| {
                        condition_time(j, wasmjob_spec::COND_COMPLETE).map(|(t, _)| t)
                    });
                }
                if completed_at.is_some() && deleted_at.is_none() && m.job(&uid).is_none() {
                    deleted_at = Some(clock.now());
                }
            },
            tokio::time::sleep(Duration::from_secs(300)),
        )
        .await;
    assert!(
        matches!(result, Err(ManagerError::Interrupted)),
        "{result:?}"
    );
    let completed = f.secs(completed_at.expect("the Job completed"));
    let deleted = f.secs(deleted_at.expect("the Job was deleted"));
    assert!(
        (100.0..101.0).contains(&(deleted - completed)),
        "deleted {} s after it completed",
        deleted - completed
    );
    assert!(
        manager
            .store()
            .get_job("default", "brief")
            .unwrap()
            .is_none()
    );
    assert!(manager.store().pods_of_job(&uid).unwrap().is_empty());
}

/// A Job whose pod ends at once is stored in one commit, with its end: its creation, its
/// first status (`active`, `startTime`) and its `SuccessfulCreate` event wait for it.
#[tokio::test(start_paused = true)]
async fn a_job_whose_pod_ends_at_once_is_stored_in_one_commit() {
    let f = Fixture::new();
    let yaml = job_yaml("quick", "");
    let (mut manager, uid) = f.manager(&yaml, DONE, Scope::Own).await;
    run_to_end(&mut manager, &uid, &mut |_| {}).await;
    assert_eq!(manager.stats().commits, 1);
    let stored = manager.store().get_job_by_uid(&uid).unwrap().unwrap().job;
    assert_eq!(stored.status().succeeded, 1);
    assert!(stored.status().start_time.is_some());
    assert_eq!(manager.pods(&uid).unwrap().len(), 1);
    let events = manager.store().events_of(&uid).unwrap();
    assert!(
        events.iter().any(|e| e.reason == "SuccessfulCreate"),
        "{events:?}"
    );
}

/// A change that counts nothing waits at most 100 ms: a running pod's Job shows `active: 1`
/// (as committed) 100 ms after its start, not sooner and not later.
#[tokio::test(start_paused = true)]
async fn a_status_that_counts_nothing_is_stored_within_100_ms() {
    let f = Fixture::new();
    let yaml = job_yaml("sleepy", "  activeDeadlineSeconds: 2\n");
    let (mut manager, uid) = f.manager(&yaml, SLEEPER, Scope::Own).await;
    let clock = TokioClock {
        base: f.base,
        start: f.start,
    };
    let mut active_shown = None;
    run_to_end(&mut manager, &uid, &mut |m| {
        if active_shown.is_none() && m.job(&uid).is_some_and(|j| j.status().active == 1) {
            active_shown = Some(clock.now());
        }
    })
    .await;
    let job = manager.job(&uid).unwrap().clone();
    let started = f.secs(job.status().start_time.unwrap());
    let shown = f.secs(active_shown.expect("active: 1 was shown")) - started;
    assert!(
        (0.1..0.15).contains(&shown),
        "shown {shown} s after the start"
    );
    let (_, reason) = condition_time(&job, wasmjob_spec::COND_FAILED).unwrap();
    assert_eq!(reason, "DeadlineExceeded");
}

/// The manager's loop turns on news, not on its own: a Job of 2,000 pods that end at once,
/// 64 at a time, takes at most a turn per report and one per commit — about a hundred here, as
/// reports come in batches — where a timer for writes waiting on a busy writer, firing again
/// and again until the commit came in, made it 12,000.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_managers_loop_turns_on_news_only() {
    let f = Fixture::new();
    let yaml = job_yaml("many", "  completions: 2000\n  parallelism: 64\n");
    let (mut manager, uid) = f.manager(&yaml, DONE, Scope::Own).await;
    run_to_end(&mut manager, &uid, &mut |_| {}).await;
    assert_eq!(manager.job(&uid).unwrap().status().succeeded, 2000);
    let turns = manager.stats().turns;
    assert!(turns < 4000, "{turns} turns of the loop for 2,000 pods");
}

/// Checks that memory it is given is zero (in the first page, within and past the 2 MiB a
/// reused slot keeps resident, and in a page it grows), then dirties it; traps on a dirty byte.
const CHECKS_ZEROED: &str = r#"(module
  (memory (export "memory") 40)
  (func $check (param $a i32)
    (if (i64.ne (i64.load (local.get $a)) (i64.const 0)) (then unreachable))
    (i64.store (local.get $a) (i64.const -1)))
  (func (export "_start")
    (call $check (i32.const 1024))
    (call $check (i32.const 65544))
    (call $check (i32.const 1048576))
    (call $check (i32.const 2097160))
    (call $check (i32.const 2516576))
    (drop (memory.grow (i32.const 1)))
    (call $check (i32.const 2621448))))"#;

/// A pod never sees what an earlier pod left in memory: instance slots are reused (their
/// first pages kept resident and reset, the rest given back), and each of 60 pods, two at a
/// time, finds its memory zeroed where the one before it wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_instance_slot_starts_with_zeroed_memory() {
    let f = Fixture::new();
    let yaml = job_yaml(
        "clean",
        "  completions: 60\n  parallelism: 2\n  backoffLimit: 0\n",
    );
    let (mut manager, uid) = f.manager(&yaml, CHECKS_ZEROED, Scope::Own).await;
    run_to_end(&mut manager, &uid, &mut |_| {}).await;
    let status = manager.job(&uid).unwrap().status().clone();
    assert_eq!((status.succeeded, status.failed), (60, 0), "{status:?}");
}

/// A node of another process, as a transport gives it to the manager: `link`'s messages named
/// by `name` both ways (through their bytes), after its registration.
fn as_remote(name: &str, link: crate::node::NodeLink) -> super::RemoteLinks {
    use crate::node::FromNode;
    let link = crate::node::wire::relay(link);
    let (orders, mut orders_rx) = tokio::sync::mpsc::unbounded_channel();
    let (messages_tx, messages) = tokio::sync::mpsc::unbounded_channel();
    let capacity = crate::local_node::Capacity {
        max_pods: 8,
        guest_memory: 1 << 30,
        memory_budget: None,
    };
    let node = crate::local_node::fresh(name, &capacity, Time(jiff::Timestamp::now()));
    let register = FromNode::Register {
        node: Box::new(node),
        incarnation: uuid::Uuid::new_v4().to_string(),
        pods: Vec::new(),
    };
    messages_tx.send((name.to_string(), register)).unwrap();
    let crate::node::NodeLink {
        orders: to_node,
        mut reports,
    } = link;
    let named = name.to_string();
    tokio::spawn(async move {
        while let Some((node, m)) = orders_rx.recv().await {
            assert_eq!(node, named, "an order for another node");
            let _ = to_node.send(m);
        }
    });
    let named = name.to_string();
    tokio::spawn(async move {
        while let Some(m) = reports.recv().await {
            let _ = messages_tx.send((named.clone(), m));
        }
    });
    super::RemoteLinks { orders, messages }
}

/// Pods spread over the nodes that take them: the node inside the process and a node of
/// another process (the same node code behind a transport that names each message's node).
/// Each runs some of the Job's pods, bound to it by `spec.nodeName`; every pod is counted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_spread_over_the_local_node_and_a_remote_one() {
    let f = Fixture::new();
    let yaml = job_yaml("spread", "  completions: 40\n  parallelism: 4\n");
    let remote_dir = f.dir.join("remote");
    // Pods that take 20 ms: the remote node registers while the Job runs.
    let brief = SLEEPER.replace("600000000000", "20000000");
    let (mut manager, uid) = f
        .manager_with(&yaml, &brief, Scope::Own, |m, sandbox| {
            let capacity = crate::local_node::Capacity {
                max_pods: 8,
                guest_memory: 1 << 30,
                memory_budget: None,
            };
            m.register_node("here".into(), capacity);
            let there = Node::start(
                sandbox.clone(),
                NodeConfig::new(remote_dir.join("logs"), remote_dir.join("pods")),
            );
            m.attach_remote(as_remote("there", there));
        })
        .await;
    run_to_end(&mut manager, &uid, &mut |_| {}).await;
    let job = manager.job(&uid).unwrap().clone();
    assert_eq!(job.status().succeeded, 40);
    let pods = manager.pods(&uid).unwrap();
    assert_eq!(pods.len(), 40);
    let on = |node: &str| {
        pods.iter()
            .filter(|p| p.spec.node_name.as_deref() == Some(node))
            .count()
    };
    assert_eq!(on("here") + on("there"), 40);
    assert!(
        on("here") > 0 && on("there") > 0,
        "here {}, there {}",
        on("here"),
        on("there")
    );
    let nodes: Vec<String> = manager
        .store()
        .nodes()
        .unwrap()
        .iter()
        .map(|n| n.name().to_string())
        .collect();
    assert_eq!(nodes, ["here", "there"]);
}
