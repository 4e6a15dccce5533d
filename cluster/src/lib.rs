//! wasmjob-cluster: cluster mode's transport. The seam between the control plane (`serve
//! --nats`) and nodes of other processes (`wasmjob node`) carried over NATS: each node has a
//! subject for its orders and one for what it sends (see [`subjects`]); messages are the seam's
//! own (`wasmjob_node::messages`) in their versioned bytes (`wasmjob_node::wire`), batches split
//! to fit the server's payload limit ([`batches`]); a pod's modules reach its node by content
//! digest through a JetStream object store ([`modules`]). [`control_link`] gives the manager
//! its remote links; [`node_agent`] is a node process.
//!
//! Must not: decide anything about Jobs or pods (the manager and the node do), or change a
//! message on its way but for naming a pod's modules by digest.

pub mod batches;
pub mod connect;
pub mod control_link;
pub mod modules;
pub mod node_agent;
pub mod subjects;

/// Why cluster mode could not go on.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot connect to NATS at {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("NATS: {0}")]
    Nats(String),
    #[error("the module store (JetStream object store {bucket:?}): {detail}")]
    Modules { bucket: String, detail: String },
    #[error("{0}")]
    Io(String),
}
