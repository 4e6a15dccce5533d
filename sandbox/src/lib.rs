//! wasmjob-sandbox: everything wasmtime. One container run = one fresh instance of a WASI preview 1
//! command module, with a memory cap, an optional fuel budget, epoch-driven time slicing so
//! that a stop request ends it promptly, only the directories it is given, and its output
//! captured into a size-capped log.
//!
//! Input: a [`ContainerPlan`] and a stop signal. Output: an [`Exit`]. Must not: know Job or
//! Pod semantics, or touch the store.

pub mod abi;
mod compiled;
mod engines;
mod limits;
pub mod log;
mod modules;
mod outcome;
mod run;

pub use abi::TaskHost;
pub use engines::Engines;
pub use limits::{GuestMemory, raise_descriptor_limit};
pub use log::{LogWriter, read_log};
pub use outcome::Exit;
pub use run::{ContainerPlan, DEFAULT_SLOTS, Mount, Sandbox};

/// The wasmtime this build runs guests on (a Node's `containerRuntimeVersion`); a test checks it
/// against Cargo.lock.
pub const WASMTIME_VERSION: &str = "48.0.8";

/// Most instance slots a sandbox reserves: each takes 4 GiB of address space (never memory) per
/// engine, and a process has 128 TiB of it. More pods than this may run, but the instances
/// beyond it wait for a slot.
pub const MAX_SLOTS: u32 = 10_000;

/// The slots for a node running up to `pods` pods at once.
pub fn slots_for(pods: usize) -> u32 {
    u32::try_from(pods).unwrap_or(u32::MAX).clamp(1, MAX_SLOTS)
}

#[cfg(test)]
mod tests {
    /// [`super::WASMTIME_VERSION`] is the wasmtime Cargo.lock pins.
    #[test]
    fn the_wasmtime_version_named_is_the_one_built() {
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
        let pinned = lock
            .split("[[package]]")
            .find(|p| p.contains("\nname = \"wasmtime\"\n"))
            .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
            .map(|v| v.trim_matches('"').to_string());
        assert_eq!(pinned.as_deref(), Some(super::WASMTIME_VERSION));
    }
}
