//! wasmjob-node: the kubelet's part. Runs one Pod: waits for capacity (Pending), prepares its volumes,
//! runs init containers in order and then its containers side by side, restarts failed
//! containers in place under restartPolicy OnFailure (crash-loop back-off, restart count,
//! last state), enforces the pod's `activeDeadlineSeconds` and its `emptyDir` size limits
//! (eviction), writes each run's log, and reports every status change. It talks to the
//! control side through messages only ([`messages`]): assignments and stops in, status
//! reports and work-queue calls out. Must not: decide Job semantics (that is the controller),
//! or know the store.

mod admission;
pub mod env;
mod live;
pub mod messages;
pub mod outputs;
mod pod_run;
mod storage_limits;
mod task_host;
pub use pod_run::module_path;
pub use task_host::TaskInfo;
pub mod volumes;
pub mod wire;

use foldhash::{HashMap, HashMapExt};
pub use messages::{
    Assignment, FromNode, QueueAnswer, QueueCall, QueueOp, QueueReply, RunLog, StatusReport, Stop,
    ToNode,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use wasmjob_sandbox::Sandbox;
use wasmjob_spec::Pod;

/// Settings of the node. Defaults are the kubelet's where it has one.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Where each container run's log is written when it does not stay in memory (one file
    /// per run).
    pub logs_dir: PathBuf,
    /// Where pods' scratch space lives (`emptyDir` volumes, a folder per pod uid).
    pub pods_dir: PathBuf,
    /// Pods running at once; further pods wait as Pending.
    pub max_pods: usize,
    /// Bytes of guest memory limits that may be reserved at once (`None`: no budget); pods
    /// that do not fit wait as Pending.
    pub memory_budget: Option<u64>,
    /// Bytes of output kept per container run (default 10 MiB).
    pub log_limit: u64,
    /// How long a run's log may stay in memory before it goes to its file, so that it can be
    /// followed (default 250 ms). A run that ends sooner with a small log leaves no file: its log
    /// travels with the pod's report.
    pub inline_log_age: Duration,
    /// First delay before restarting a failed container (OnFailure). Kubelet: 10 s.
    pub restart_backoff_base: Duration,
    /// Cap of that delay. Kubelet: 5 min.
    pub restart_backoff_max: Duration,
}

impl NodeConfig {
    pub fn new(logs_dir: PathBuf, pods_dir: PathBuf) -> NodeConfig {
        NodeConfig {
            logs_dir,
            pods_dir,
            max_pods: 1000,
            memory_budget: None,
            log_limit: 10 << 20,
            inline_log_age: Duration::from_millis(250),
            restart_backoff_base: Duration::from_secs(10),
            restart_backoff_max: Duration::from_secs(300),
        }
    }
}

/// Why a pod is being stopped.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StopCause {
    /// The controller (or a user) deleted it; the text says why.
    Deleted(String),
    /// The host is shutting down: the pod gets a `DisruptionTarget` condition.
    Shutdown,
    /// The pod's own `activeDeadlineSeconds` passed.
    PodDeadline,
    /// The node evicted it (an `emptyDir` outgrew its `sizeLimit`); the text is the kubelet's
    /// message.
    Evicted(String),
    /// The Eviction API evicted it (`drain`): it gets a `DisruptionTarget` condition, reason
    /// `EvictionByEvictionAPI`.
    EvictedByApi,
}

/// The `DisruptionTarget` message of a pod the Eviction API evicts, as the API server words it.
pub const EVICTION_API_MESSAGE: &str = "Eviction API: evicting";

/// Control over one started pod, inside the node.
#[derive(Clone)]
pub(crate) struct PodHandle {
    stop: Arc<watch::Sender<Option<StopCause>>>,
}

impl PodHandle {
    /// Asks the pod to stop; its containers are interrupted at once. The first cause wins.
    pub fn stop(&self, cause: StopCause) {
        self.stop.send_if_modified(|c| {
            if c.is_none() {
                *c = Some(cause);
                true
            } else {
                false
            }
        });
    }
}

/// A node: runs the pods it is assigned, stops those it is told to, and reports.
pub struct Node;

/// The control side's end of the seam to a node ([`messages`]).
pub struct NodeLink {
    pub orders: mpsc::UnboundedSender<ToNode>,
    pub reports: mpsc::UnboundedReceiver<FromNode>,
}

struct NodeInner {
    sandbox: Arc<Sandbox>,
    config: NodeConfig,
    admission: Arc<admission::Admission>,
    /// Pods with news for the reporter.
    news: mpsc::UnboundedSender<Arc<live::Live>>,
    /// The pods' work-queue calls waiting for answers (they go out with the reports).
    queue_calls: Arc<task_host::QueueCalls>,
    /// The pods running, by uid.
    running: Mutex<HashMap<String, PodHandle>>,
}

impl Node {
    /// Starts a node in this process; the link carries its messages both ways (an in-process
    /// channel). The node runs until the orders' sender is dropped and its pods have ended.
    pub fn start(sandbox: Arc<Sandbox>, config: NodeConfig) -> NodeLink {
        let (orders, mut orders_rx) = mpsc::unbounded_channel::<ToNode>();
        let (out, reports) = mpsc::unbounded_channel::<FromNode>();
        let (news, mut news_rx) = mpsc::unbounded_channel::<Arc<live::Live>>();
        let admission = admission::Admission::new(config.max_pods, config.memory_budget);
        let inner = Arc::new(NodeInner {
            sandbox,
            config,
            admission,
            news,
            queue_calls: Arc::new(task_host::QueueCalls::new(out.clone())),
            running: Mutex::new(HashMap::new()),
        });
        // The reporter: each pod with news once per batch, its status as it is then.
        tokio::spawn(async move {
            while let Some(first) = news_rx.recv().await {
                let mut batch: Vec<StatusReport> = first.take().into_iter().collect();
                while let Ok(next) = news_rx.try_recv() {
                    batch.extend(next.take());
                }
                if !batch.is_empty() && out.send(FromNode::Reports(batch)).is_err() {
                    return;
                }
            }
        });
        tokio::spawn(async move {
            while let Some(order) = orders_rx.recv().await {
                match order {
                    ToNode::Assign(pods) => {
                        for a in pods {
                            run(&inner, a);
                        }
                    }
                    ToNode::Stop(stops) => {
                        let running = lock(&inner.running);
                        for s in stops {
                            if let Some(h) = running.get(&s.pod_uid) {
                                h.stop(s.cause);
                            }
                        }
                    }
                    ToNode::Answers(replies) => inner.queue_calls.answer(replies),
                    // Its reports are not lost: nothing waits for an acknowledgement.
                    ToNode::Acks(_) => {}
                }
            }
            inner.queue_calls.close();
        });
        NodeLink { orders, reports }
    }
}

/// Starts running an assigned pod in the background.
fn run(inner: &Arc<NodeInner>, a: Assignment) {
    let (tx, rx) = watch::channel(None);
    let handle = PodHandle { stop: Arc::new(tx) };
    let uid = a.pod.metadata.uid().to_string();
    lock(&inner.running).insert(uid.clone(), handle.clone());
    let queue = a.queue.then(|| task_host::QueueClient {
        job_uid: a.job_uid.clone(),
        calls: inner.queue_calls.clone(),
    });
    let inner = inner.clone();
    tokio::spawn(async move {
        pod_run::run_pod(inner.clone(), a.pod, a.base_dir, a.info, queue, rx, handle).await;
        lock(&inner.running).remove(&uid);
    });
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A module of a Job's pod template that cannot run.
#[derive(Debug)]
pub struct ModuleProblem {
    /// The container, when its module was found but does not load.
    pub container: Option<String>,
    pub message: String,
}

/// Compiles (or finds) every module the Job's pods run, so that a bad module is bad input,
/// refused before anything is stored. Metered when the template asks for fuel.
pub async fn prepare_modules(
    sandbox: &Sandbox,
    job: &wasmjob_spec::Job,
    base_dir: &Path,
) -> Result<(), ModuleProblem> {
    let pod = &job.spec.template;
    let metered = pod
        .metadata
        .annotations
        .keys()
        .any(|k| k.starts_with(wasmjob_spec::FUEL_ANNOTATION));
    for c in pod.spec.init_containers.iter().chain(&pod.spec.containers) {
        let path = module_path(&pod.metadata.annotations, c, base_dir).map_err(|message| {
            ModuleProblem {
                container: None,
                message,
            }
        })?;
        sandbox
            .prepare(&path, metered)
            .await
            .map_err(|message| ModuleProblem {
                container: Some(c.name.clone()),
                message,
            })?;
    }
    Ok(())
}

/// Where the log of one run of a container is kept: one file per run, directly in `logs_dir`
/// (`<ns>_<pod>_<uid>_<container>_<restart>.log`; none of the names may contain `_`), so that
/// starting a pod creates one file and no folders.
pub fn log_path(logs_dir: &Path, pod: &Pod, container: &str, restart: i32) -> PathBuf {
    logs_dir.join(format!(
        "{}_{}_{}_{container}_{restart}.log",
        pod.metadata.namespace(),
        pod.metadata.name(),
        pod.metadata.uid()
    ))
}

/// The uid of the pod a file of the logs folder belongs to.
pub fn log_file_pod_uid(file_name: &str) -> Option<&str> {
    file_name.split('_').nth(2)
}

/// Every log file `pod` may have: each container's runs up to its restart count.
pub fn pod_log_paths(logs_dir: &Path, pod: &Pod) -> Vec<PathBuf> {
    let statuses = pod
        .status
        .init_container_statuses
        .iter()
        .chain(&pod.status.container_statuses);
    let mut restarts: std::collections::BTreeMap<&str, i32> = pod
        .spec
        .init_containers
        .iter()
        .chain(&pod.spec.containers)
        .map(|c| (c.name.as_str(), 0))
        .collect();
    for s in statuses {
        let r = restarts.entry(s.name.as_str()).or_insert(0);
        *r = (*r).max(s.restart_count);
    }
    restarts
        .into_iter()
        .flat_map(|(c, n)| (0..=n.clamp(0, 10_000)).map(move |r| log_path(logs_dir, pod, c, r)))
        .collect()
}

/// Removes the log files of `pods`.
pub fn remove_logs(logs_dir: &Path, pods: &[Pod]) {
    for pod in pods {
        for path in pod_log_paths(logs_dir, pod) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Removes the log files and scratch folders of pods `known` does not know — left behind
/// when a controller died between forgetting pods and removing their files. Returns how many
/// entries went.
pub fn remove_leftovers(logs_dir: &Path, pods_dir: &Path, known: impl Fn(&str) -> bool) -> usize {
    let mut removed = 0;
    // Log files are `<namespace>_<pod>_<uid>_<container>_<restart>.log` (none of the names has
    // a `_`); scratch folders `<uid>`.
    for (dir, logs) in [(logs_dir, true), (pods_dir, false)] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let uid = if logs {
                log_file_pod_uid(&name).unwrap_or(&name)
            } else {
                &name
            };
            if known(uid) {
                continue;
            }
            let gone = match e.file_type() {
                Ok(t) if t.is_dir() => std::fs::remove_dir_all(e.path()),
                _ => std::fs::remove_file(e.path()),
            };
            if gone.is_ok() {
                removed += 1;
            }
        }
    }
    removed
}
