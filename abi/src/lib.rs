//! The host ABI `wasmjob_v1`, in the one place both sides read it: the host's sandbox
//! (`wasmjob-sandbox`) and the guest SDK (`wasmjob-guest`). Exit codes of endings that are not
//! a guest's own exit, the result codes of the host functions, the size limits the host keeps,
//! and the import names. `docs/abi.md` documents them for task authors in any language.
//!
//! Everything here is part of the interface: pod failure policies match on the exit codes,
//! compiled guests on the names and result codes. Changing a value needs a new module name
//! (`wasmjob_v2`); adding one does not. Must not: depend on anything.

#![no_std]

/// The import module name.
pub const MODULE: &str = "wasmjob_v1";

/// The functions of [`MODULE`].
pub mod imports {
    /// `context(buf, cap) -> len`: the task's context as JSON.
    pub const CONTEXT: &str = "context";
    /// `termination_message(ptr, len) -> 0`: the container's `state.terminated.message`.
    pub const TERMINATION_MESSAGE: &str = "termination_message";
    /// `progress(permille, ptr, len) -> 0`: the task's progress, shown by `get pods -o wide`.
    pub const PROGRESS: &str = "progress";
    /// `queue_next(buf, cap, info) -> len`: the next work-queue item, leased to the pod.
    pub const QUEUE_NEXT: &str = "queue_next";
    /// `queue_ack(id) -> 0`: the item is done; its outputs are published.
    pub const QUEUE_ACK: &str = "queue_ack";
    /// Every function, for checks that none is missing.
    pub const ALL: [&str; 5] = [
        CONTEXT,
        TERMINATION_MESSAGE,
        PROGRESS,
        QUEUE_NEXT,
        QUEUE_ACK,
    ];
}

/// Result codes of the `wasmjob_v1` functions (negative; success is 0 or a length).
pub mod code {
    /// A pointer or length lies outside the guest's memory, or it exports no `memory`.
    pub const FAULT: i32 = -1;
    /// The Job has no work queue.
    pub const NO_QUEUE: i32 = -2;
    /// The item is not leased to this pod (unknown, already acknowledged, or taken back).
    pub const NOT_LEASED: i32 = -3;
    /// The item's outputs could not be published; it stays leased.
    pub const PUBLISH_FAILED: i32 = -4;
    /// `queue_next` was given a buffer smaller than [`super::MAX_ITEM_BYTES`] (no lease is
    /// taken).
    pub const TOO_SMALL: i32 = -5;
}

/// Exit codes reported for endings other than the task's own exit; a pod failure policy can
/// match them with `onExitCodes`. Each is 128 + the signal a process would have got.
pub mod exit_codes {
    /// The module could not be loaded, linked or started (like Kubernetes' `StartError`).
    pub const START_ERROR: i32 = 128;
    /// The task trapped (a Rust panic or abort, `unreachable`, out-of-bounds access, stack
    /// overflow, …): SIGABRT's 128+6.
    pub const TRAP: i32 = 134;
    /// Over `resources.limits.memory` (reason `OOMKilled`): 128+SIGKILL, as Kubernetes
    /// reports it.
    pub const OOM_KILLED: i32 = 137;
    /// The pod's `activeDeadlineSeconds` passed (reason `DeadlineExceeded`): 128+SIGALRM.
    pub const DEADLINE_EXCEEDED: i32 = 142;
    /// Stopped by the host (Job failed or finished, deletion, shutdown): 128+SIGTERM.
    pub const STOPPED: i32 = 143;
    /// The fuel budget (`wasmjob.dev/fuel`) ran out (reason `FuelExhausted`): 128+SIGXCPU,
    /// the CPU-time-limit signal.
    pub const FUEL_EXHAUSTED: i32 = 152;
}

/// Longest termination message kept (Kubernetes caps `terminationMessagePath` at 4096 bytes).
pub const MAX_TERMINATION_MESSAGE: usize = 4096;
/// Longest progress text kept.
pub const MAX_PROGRESS_TEXT: usize = 256;
/// Longest work-queue item the host accepts and hands out.
pub const MAX_ITEM_BYTES: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    /// The values are the interface: compiled guests and stored pod failure policies depend
    /// on them. A change here is a new ABI version, not an edit.
    #[test]
    fn the_abi_is_pinned() {
        assert_eq!(MODULE, "wasmjob_v1");
        assert_eq!(
            imports::ALL,
            [
                "context",
                "termination_message",
                "progress",
                "queue_next",
                "queue_ack"
            ]
        );
        assert_eq!(
            [
                code::FAULT,
                code::NO_QUEUE,
                code::NOT_LEASED,
                code::PUBLISH_FAILED,
                code::TOO_SMALL
            ],
            [-1, -2, -3, -4, -5]
        );
        use exit_codes::*;
        assert_eq!(
            [
                START_ERROR,
                TRAP,
                OOM_KILLED,
                DEADLINE_EXCEEDED,
                STOPPED,
                FUEL_EXHAUSTED
            ],
            [128, 134, 137, 142, 143, 152]
        );
        assert_eq!(
            (MAX_TERMINATION_MESSAGE, MAX_PROGRESS_TEXT, MAX_ITEM_BYTES),
            (4096, 256, 65536)
        );
    }
}
