//! wasmjob: run Kubernetes `batch/v1` Jobs whose containers are WebAssembly modules.
//!
//! Data flows `cli` → `store` → `manager` ⇄ `controller` (pure) → `node` → `sandbox`
//! (wasmtime). Start reading at [`manager`] for the loop and [`controller::reconcile`] for the
//! semantics. Programs that run Jobs in-process use [`embed`].

pub mod api;
pub mod cli;
/// The pure Job controller (its own crate, `wasmjob-controller`).
pub use wasmjob_controller as controller;
pub mod embed;
pub mod field_selector;
pub mod manager;
pub mod ops;
/// The kubelet's part, behind its seam of messages (its own crate, `wasmjob-node`).
pub use wasmjob_node as node;
pub mod queue;
pub mod resources;
/// Everything wasmtime (its own crate, `wasmjob-sandbox`).
pub use wasmjob_sandbox as sandbox;
pub mod selector;
pub mod settings;
pub mod watch;
/// Durable state, the state directory's layout and its lease (its own crate, `wasmjob-store`).
pub use wasmjob_store as store;
pub use wasmjob_store::lease;
