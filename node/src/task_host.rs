//! The host side of the `wasmjob_v1` ABI for one container run of a pod: the task's context,
//! its termination message and progress (into the pod's status), and its work-queue calls.

use super::live::Live;
use super::messages::{FromNode, QueueAnswer, QueueCall, QueueOp, QueueReply};
use super::outputs::{self, OutputVolume};
use foldhash::{HashMap, HashMapExt};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use wasmjob_sandbox::abi::{AckError, NextItem, TaskHost};
use wasmjob_spec::{COMPLETION_INDEX_ANNOTATION, Container, Pod};

/// What a pod's tasks learn about their Job, fixed when the pod starts.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskInfo {
    /// `spec.completions` (`None` for a work queue).
    pub completions: Option<i32>,
    pub parallelism: i32,
    /// Pods that failed before this one: of its index under `backoffLimitPerIndex`, else of
    /// the Job.
    pub failed_before: i32,
}

/// What every container run of a pod shares.
pub(super) struct PodSetup {
    pub info: TaskInfo,
    pub outputs: Vec<OutputVolume>,
    pub queue: Option<QueueClient>,
}

/// The node's work-queue calls waiting for their answers: each call is a numbered
/// [`QueueCall`] message, and the control side's [`QueueReply`] names the number.
pub(crate) struct QueueCalls {
    out: tokio::sync::mpsc::UnboundedSender<FromNode>,
    next: AtomicU64,
    waiting: Mutex<HashMap<u64, tokio::sync::oneshot::Sender<QueueAnswer>>>,
}

impl QueueCalls {
    pub fn new(out: tokio::sync::mpsc::UnboundedSender<FromNode>) -> QueueCalls {
        QueueCalls {
            out,
            next: AtomicU64::new(1),
            waiting: Mutex::new(HashMap::new()),
        }
    }

    /// Sends the call and waits for its answer; `None` when the control side is gone.
    async fn call(&self, job_uid: &str, pod: &str, op: QueueOp) -> Option<QueueAnswer> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = tokio::sync::oneshot::channel();
        super::lock(&self.waiting).insert(id, reply);
        // A run stopped while it waits forgets its call; a late answer then finds nobody.
        let _forget = Forget { calls: self, id };
        let call = QueueCall {
            id,
            job_uid: job_uid.to_string(),
            pod: pod.to_string(),
            op,
        };
        self.out.send(FromNode::Queue(call)).ok()?;
        answer.await.ok()
    }

    /// Hands each answer to its waiting call (an answer to a forgotten call is dropped).
    pub fn answer(&self, replies: Vec<QueueReply>) {
        let mut waiting = super::lock(&self.waiting);
        for r in replies {
            if let Some(reply) = waiting.remove(&r.id) {
                let _ = reply.send(r.answer);
            }
        }
    }

    /// The control side is gone: every waiting call gets no answer.
    pub fn close(&self) {
        super::lock(&self.waiting).clear();
    }
}

/// Removes a call from the waiting ones when its caller stops waiting.
struct Forget<'a> {
    calls: &'a QueueCalls,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        super::lock(&self.calls.waiting).remove(&self.id);
    }
}

/// A pod's way to its Job's work queue, which the control side keeps.
pub(crate) struct QueueClient {
    pub job_uid: String,
    pub calls: Arc<QueueCalls>,
}

impl QueueClient {
    /// Asks `op` for `pod`; `None` when the control side is gone.
    async fn call(&self, pod: &str, op: QueueOp) -> Option<QueueAnswer> {
        self.calls.call(&self.job_uid, pod, op).await
    }

    async fn lease(&self, pod: &str) -> NextItem {
        match self.call(pod, QueueOp::Lease).await {
            Some(QueueAnswer::Item(item)) => item,
            _ => NextItem::NoQueue,
        }
    }

    async fn is_leased_to(&self, pod: &str, id: u64) -> bool {
        self.call(pod, QueueOp::IsLeased(id)).await == Some(QueueAnswer::Yes(true))
    }

    async fn ack(&self, pod: &str, id: u64) -> bool {
        self.call(pod, QueueOp::Ack(id)).await == Some(QueueAnswer::Yes(true))
    }
}

pub(super) struct ContainerHost {
    live: Arc<Live>,
    container: String,
    context: ContextFacts,
    setup: Arc<PodSetup>,
}

/// What `wasmjob_v1.context` tells a task beyond what its pod's [`Live`] holds: made into
/// text only when a task asks (most never do; formatting it for every run was 1.5% of a Job
/// of tiny pods).
struct ContextFacts {
    job: String,
    completion_index: Option<String>,
    restarts: i32,
    outputs_mount: Option<String>,
}

impl ContainerHost {
    pub fn new(
        live: Arc<Live>,
        pod: &Pod,
        c: &Container,
        setup: Arc<PodSetup>,
        restarts: i32,
    ) -> ContainerHost {
        let outputs_mount = c
            .volume_mounts
            .iter()
            .find(|m| setup.outputs.iter().any(|o| o.name == m.name))
            .map(|m| m.mount_path.clone());
        let m = &pod.metadata;
        ContainerHost {
            live,
            container: c.name.clone(),
            context: ContextFacts {
                job: m.controller().map(|o| o.name.clone()).unwrap_or_default(),
                completion_index: m.labels.get(COMPLETION_INDEX_ANNOTATION).cloned(),
                restarts,
                outputs_mount,
            },
            setup,
        }
    }

    /// The `key=value` lines `wasmjob_v1.context` returns (documented in `docs/abi.md`).
    fn context_text(&self) -> String {
        let (f, live, info) = (&self.context, &self.live, &self.setup.info);
        let mut out = String::new();
        let mut line = |k: &str, v: &dyn std::fmt::Display| {
            let _ = writeln!(out, "{k}={v}");
        };
        line("job", &f.job);
        line("namespace", &live.namespace);
        line("pod", &live.name);
        line("pod_uid", &live.uid);
        line("container", &self.container);
        if let Some(i) = &f.completion_index {
            line("completion_index", i);
        }
        if let Some(c) = info.completions {
            line("completions", &c);
        }
        line("parallelism", &info.parallelism);
        line("restart_count", &f.restarts);
        line("attempt", &(1 + info.failed_before.max(0) + f.restarts));
        if let Some(m) = &f.outputs_mount {
            line("outputs", m);
        }
        out
    }
}

#[async_trait::async_trait]
impl TaskHost for ContainerHost {
    fn context(&self) -> String {
        self.context_text()
    }

    fn set_termination_message(&self, message: String) {
        self.live.set_message(&self.container, message);
    }

    fn report_progress(&self, permille: Option<u16>, text: String) {
        self.live.report_progress(permille, &text);
    }

    async fn next_item(&self) -> NextItem {
        match &self.setup.queue {
            Some(q) => q.lease(&self.live.name).await,
            None => NextItem::NoQueue,
        }
    }

    /// Publishes what the pod staged as the item's outputs, then marks the item done.
    async fn ack_item(&self, id: u64) -> Result<(), AckError> {
        let q = self.setup.queue.as_ref().ok_or(AckError::NoQueue)?;
        let pod = &self.live.name;
        if !q.is_leased_to(pod, id).await {
            return Err(AckError::NotLeased);
        }
        if let Err(msg) =
            outputs::publish_all(&self.setup.outputs, &id.to_string(), |w| self.live.note(w))
        {
            self.live.note(msg.clone());
            return Err(AckError::Publish(msg));
        }
        if q.ack(pod, id).await {
            Ok(())
        } else {
            Err(AckError::NotLeased)
        }
    }
}
