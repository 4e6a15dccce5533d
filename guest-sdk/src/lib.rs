//! wasmjob-guest: what a Rust task run by wasmjob links to (built for `wasm32-wasip1`).
//!
//! - [`Context`]: the Job, pod, completion index, attempt, completions and parallelism.
//! - [`progress`] and [`termination_message`]: how the task is doing, and its short result
//!   (the container's `state.terminated.message`).
//! - [`queue`]: the brokered work queue of a work-queue Job.
//! - [`outputs`]: files in the atomic outputs volume, published only when the work succeeds.
//! - [`exit_codes`] and [`fail`]: endings a pod failure policy can tell apart.
//!
//! Everything but [`Context::from_env`], [`exit_codes`] and [`fail`]'s exit calls the host
//! functions of the `wasmjob_v1` import module (documented in `docs/abi.md`): a module that
//! uses them runs under wasmjob only. Plain WASI programs need none of this. Off wasm (native
//! builds and unit tests) the host calls return [`HostError::NotUnderWasmjob`].
//!
//! Each feature has a runnable example among the repository's examples, built for
//! `wasm32-wasip1` and run by the test suite:
//!
//! | feature | example |
//! |---|---|
//! | [`Context::get`], [`progress`], [`termination_message`], [`outputs`] | `examples/mandelbrot` (Indexed tiles) |
//! | [`queue`], [`queue::Item::ack`], [`outputs`], [`status`] | `examples/wordfreq` (work queue) |
//! | [`fail`] (exit codes a pod failure policy matches) | `examples/flaky` |
//!
//! ```no_run
//! use wasmjob_guest::{Context, progress, termination_message};
//!
//! let ctx = Context::get()?;
//! let shard = ctx.completion_index.unwrap_or(0);
//! for step in 0..10 {
//!     progress(step as f64 / 10.0, &format!("shard {shard}: step {step}"))?;
//! }
//! termination_message(&format!("shard {shard}: 10 steps"))?;
//! # Ok::<(), wasmjob_guest::HostError>(())
//! ```

mod abi;
mod context;
pub mod outputs;
pub mod queue;
mod report;

pub use abi::MAX_ITEM_BYTES;
pub use context::Context;
pub use report::{fail, progress, status, termination_message};

/// Exit codes that wasmjob reports for endings other than the task's own exit; a pod failure
/// policy can match them with `onExitCodes`.
pub use wasmjob_abi::exit_codes;

/// Why a host call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostError {
    /// Not running under wasmjob (a native build).
    NotUnderWasmjob,
    /// The host found a pointer outside the task's memory (an SDK bug).
    Fault,
    /// The Job has no work queue (it was given no items).
    NoQueue,
    /// The item is not leased to this pod (already acknowledged, or taken back).
    NotLeased,
    /// The item's outputs could not be published; the pod's log and events say why.
    PublishFailed,
    /// A code this SDK does not know (a newer host).
    Unknown(i32),
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostError::NotUnderWasmjob => write!(f, "not running under wasmjob"),
            HostError::Fault => write!(f, "the host refused a pointer outside the task's memory"),
            HostError::NoQueue => write!(f, "the Job has no work queue (give it items)"),
            HostError::NotLeased => write!(f, "the item is not leased to this pod"),
            HostError::PublishFailed => write!(f, "the item's outputs could not be published"),
            HostError::Unknown(c) => write!(f, "unknown wasmjob_v1 result code {c}"),
        }
    }
}

impl std::error::Error for HostError {}
