//! wasmjob: run Kubernetes `batch/v1` Jobs whose containers are WebAssembly modules.
//!
//! This crate is the `wasmjob` command line (`cli`) and the library facade over the crates
//! that do the work (see `docs/architecture.md`). Data flows `cli` → `store` → `manager` ⇄
//! `controller` (pure) → `node` → `sandbox` (wasmtime). Start reading at [`manager`] for the
//! loop and [`controller::reconcile`] for the semantics. Programs that run Jobs in-process use
//! [`embed`].

/// The Kubernetes REST API of `serve --listen` (its own crate, `wasmjob-api`).
pub use wasmjob_api as api;
pub mod cli;
pub use wasmjob_control::{
    controller, embed, field_selector, lease, local_node, manager, node, ops, queue, resources,
    sandbox, selector, settings, store, watch,
};
