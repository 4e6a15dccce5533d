//! The seam between the control side and a node: messages only. The control side sends a
//! node batches of [`ToNode`] orders — pods to run ([`Assignment`]), pods to stop ([`Stop`]) —
//! and the node answers with [`FromNode`] messages: batches of [`StatusReport`]s, and the calls
//! its pods' tasks make on their Job's work queue ([`QueueCall`], answered by the control side,
//! which keeps the queue). Nothing else crosses: no shared status, no handles into the node.
//! Pods are named by uid. Today the transport is an in-process channel
//! ([`super::Node::start`]); the same messages can go through a broker.
//!
//! Must not: hold anything but data (and, for a queue call, where to send its answer).

use super::{StopCause, TaskInfo};
use std::path::PathBuf;
use std::sync::Arc;
use wasmjob_sandbox::abi::NextItem;
use wasmjob_spec::{Pod, PodStatus};

/// A pod for a node to run.
#[derive(Clone, Debug)]
pub struct Assignment {
    /// The pod as stored, Pending (shared with the control side, which keeps it too: a pod is
    /// kilobytes).
    pub pod: Arc<Pod>,
    /// The uid of its Job, which its work-queue calls name.
    pub job_uid: String,
    /// The folder the Job's relative module paths and hostPaths resolve against.
    pub base_dir: PathBuf,
    /// What its tasks learn of their Job.
    pub info: TaskInfo,
    /// The Job has a work queue: its tasks may ask for items.
    pub queue: bool,
}

/// A pod for a node to stop, with why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stop {
    pub pod_uid: String,
    pub cause: StopCause,
}

/// What the control side sends a node.
#[derive(Clone, Debug)]
pub enum ToNode {
    Assign(Vec<Assignment>),
    Stop(Vec<Stop>),
}

/// A pod's status as the node has it when it reports: changes made while an earlier report
/// waited arrive together, so a pod that went through several states costs one report.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusReport {
    pub pod_uid: String,
    pub namespace: String,
    pub name: String,
    pub status: PodStatus,
    /// The pod is terminal; no further report follows.
    pub finished: bool,
    /// Warnings to record as events of the pod.
    pub warnings: Vec<String>,
    /// The logs of container runs that ended since the last report and were small enough to
    /// stay in memory (the others are files on the node).
    pub logs: Vec<RunLog>,
}

/// The whole log of one container run, in the CRI format of the node's log files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunLog {
    pub container: String,
    pub restart: i32,
    pub bytes: Vec<u8>,
}

/// What a pod's task asks of its Job's work queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueOp {
    /// The next item, leased to the pod (the answer may wait while every remaining item is
    /// leased to other pods).
    Lease,
    /// Whether item `id` is leased to the pod.
    IsLeased(u64),
    /// Item `id` is done (its outputs are published).
    Ack(u64),
}

/// The answer to a [`QueueOp`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueAnswer {
    Item(NextItem),
    Yes(bool),
}

/// A work-queue call of a pod's task, and where to answer it.
#[derive(Debug)]
pub struct QueueCall {
    pub job_uid: String,
    /// The pod's name.
    pub pod: String,
    pub op: QueueOp,
    pub reply: tokio::sync::oneshot::Sender<QueueAnswer>,
}

/// What a node sends the control side.
#[derive(Debug)]
pub enum FromNode {
    Reports(Vec<StatusReport>),
    Queue(QueueCall),
}
