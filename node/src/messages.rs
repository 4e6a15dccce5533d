//! The seam between the control side and a node: messages only. The control side sends a
//! node batches of [`ToNode`] orders — pods to run ([`Assignment`]), pods to stop ([`Stop`]),
//! answers to its queue calls ([`QueueReply`]) — and the node answers with [`FromNode`]
//! messages: batches of [`StatusReport`]s, and the calls its pods' tasks make on their Job's
//! work queue ([`QueueCall`], numbered by the node and answered by the control side, which keeps
//! the queue). Nothing else crosses: no shared status, no handles into the node, no channels.
//! Pods are named by uid. Every message is plain data that serializes (see [`super::wire`]):
//! the in-process channel of [`super::Node::start`] carries the values, a broker their bytes.
//!
//! Must not: hold anything but data.

use super::{StopCause, TaskInfo};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use wasmjob_sandbox::abi::NextItem;
use wasmjob_spec::{Pod, PodStatus};

/// A pod for a node to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// For a node of another process: the content digest (`sha256:<hex>`) of each container's
    /// module, by container name; the node fetches the module by it and runs no other.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub modules: std::collections::BTreeMap<String, String>,
}

/// A pod for a node to stop, with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stop {
    pub pod_uid: String,
    pub cause: StopCause,
}

/// What the control side sends a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToNode {
    Assign(Vec<Assignment>),
    Stop(Vec<Stop>),
    /// Answers to the node's [`QueueCall`]s, each naming its call.
    Answers(Vec<QueueReply>),
    /// The pods (by uid) whose last report the control side has recorded durably: a node
    /// whose messages may be lost (over a broker) sends a pod's last report again until it is
    /// acknowledged. The node inside the control process needs none.
    Acks(Vec<String>),
}

/// A pod's status as the node has it when it reports: changes made while an earlier report
/// waited arrive together, so a pod that went through several states costs one report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLog {
    pub container: String,
    pub restart: i32,
    #[serde(with = "base64_bytes")]
    pub bytes: Vec<u8>,
}

/// Bytes as base64 text (a guest's output may be any bytes).
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        STANDARD.decode(text.as_bytes()).map_err(D::Error::custom)
    }
}

/// What a pod's task asks of its Job's work queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueueAnswer {
    Item(NextItem),
    Yes(bool),
}

/// A work-queue call of a pod's task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCall {
    /// The node's number for the call, which its answer names.
    pub id: u64,
    pub job_uid: String,
    /// The pod's name.
    pub pod: String,
    pub op: QueueOp,
}

/// The control side's answer to the node's call `id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueReply {
    pub id: u64,
    pub answer: QueueAnswer,
}

/// What a node sends the control side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FromNode {
    Reports(Vec<StatusReport>),
    Queue(QueueCall),
    /// A node of another process says it is there, and again at every heartbeat: its Node
    /// object as it posts it (name, labels, capacity, `Ready`) and its incarnation, new every
    /// time its process starts. (The node inside the control process is registered by it.)
    Register {
        node: Box<wasmjob_spec::node::Node>,
        incarnation: String,
        /// The pods (by uid) it runs, or whose last report is not acknowledged yet: a pod the
        /// control side has heard of on this node and that is not here is gone.
        #[serde(default)]
        pods: Vec<String>,
    },
}
