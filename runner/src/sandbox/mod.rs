//! sandbox: everything wasmtime. One container run = one fresh instance of a WASI preview 1
//! command module, with a memory cap, an optional fuel budget, epoch-driven time slicing so
//! that a stop request ends it promptly, only the directories it is given, and its output
//! captured into a size-capped log.
//!
//! Input: a [`ContainerPlan`] and a stop signal. Output: an [`Exit`]. Must not: know Job or
//! Pod semantics, or touch the store.

pub mod abi;
mod engines;
mod limits;
pub mod log;
mod modules;
mod outcome;
mod run;

pub use abi::TaskHost;
pub use engines::Engines;
pub use log::{LogWriter, read_log};
pub use outcome::{Exit, ExitCodes};
pub use run::{ContainerPlan, Mount, Sandbox};
