//! wasmjob's control side: the manager's loop that applies the pure controller's decisions
//! (store first, then effects), the work queue, and the operations the CLI and the Kubernetes
//! API share (create, update, delete, logs, rows, events, items) with their typed error.
//!
//! It owns no presentation: it prints nothing and speaks no HTTP (that is `wasmjob-api` and the
//! `wasmjob` CLI). The layers below it keep their own crates and are re-exported here under the
//! names the code uses: [`controller`], [`node`], [`sandbox`], [`store`].

/// The pure Job controller (its own crate, `wasmjob-controller`).
pub use wasmjob_controller as controller;
pub mod embed;
pub mod field_selector;
pub mod local_node;
pub mod manager;
/// The kubelet's part, behind its seam of messages (its own crate, `wasmjob-node`).
pub use wasmjob_node as node;
pub mod ops;
pub mod queue;
pub mod resources;
pub mod scheduler;
/// Everything wasmtime (its own crate, `wasmjob-sandbox`).
pub use wasmjob_sandbox as sandbox;
pub mod selector;
pub mod settings;
/// Durable state, the state directory's layout and its lease (its own crate, `wasmjob-store`).
pub use wasmjob_store as store;
pub use wasmjob_store::lease;
pub mod watch;
