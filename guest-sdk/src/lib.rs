//! wasmjob-guest: what a Rust task run by wasmjob links to (built for `wasm32-wasip1`).
//!
//! This first version reads what Kubernetes gives a Job's pods through the environment and
//! offers small helpers to end a task the way Job policies expect. It needs no host function:
//! a task that uses it still runs under any WASI runtime, and plain WASI programs run under
//! wasmjob without it. (Later versions add a versioned host ABI for progress, termination
//! messages and the work queue.)
//!
//! ```no_run
//! let ctx = wasmjob_guest::Context::from_env();
//! match ctx.completion_index {
//!     Some(i) => println!("working on shard {i}"),
//!     None => println!("one of many identical workers: {}", ctx.hostname),
//! }
//! ```

use std::fmt::Display;

/// Exit codes that wasmjob reports for endings other than the task's own exit; a pod failure
/// policy can match them with `onExitCodes`.
pub mod exit_codes {
    /// The module could not be loaded, linked or started.
    pub const START_ERROR: i32 = 128;
    /// The task trapped (a Rust panic or abort, out-of-bounds access, stack overflow).
    pub const TRAP: i32 = 134;
    /// The task went past `resources.limits.memory` (reason `OOMKilled`).
    pub const OOM_KILLED: i32 = 137;
    /// The pod's `activeDeadlineSeconds` passed (reason `DeadlineExceeded`).
    pub const DEADLINE_EXCEEDED: i32 = 142;
    /// The host stopped the task (Job finished or failed, deletion, shutdown).
    pub const STOPPED: i32 = 143;
    /// The fuel budget (`wasmjob.dev/fuel`) ran out (reason `FuelExhausted`).
    pub const FUEL_EXHAUSTED: i32 = 152;
}

/// What the task knows about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    /// `HOSTNAME`: the pod's name (`<job>-<index>` for Indexed Jobs, as in Kubernetes).
    pub hostname: String,
    /// `JOB_COMPLETION_INDEX` for Indexed Jobs.
    pub completion_index: Option<u32>,
    /// argv without argv[0].
    pub args: Vec<String>,
}

impl Context {
    /// Reads the context from the process environment and arguments.
    pub fn from_env() -> Context {
        Context::from_parts(
            |k| std::env::var(k).ok(),
            std::env::args().skip(1).collect(),
        )
    }

    /// Builds a context from a variable lookup and arguments (for tests).
    pub fn from_parts(var: impl Fn(&str) -> Option<String>, args: Vec<String>) -> Context {
        Context {
            hostname: var("HOSTNAME").unwrap_or_default(),
            completion_index: var("JOB_COMPLETION_INDEX").and_then(|v| v.trim().parse().ok()),
            args,
        }
    }
}

/// Ends the task with `code` after writing `message` to stderr (which the pod's log keeps).
/// Use distinct codes for distinct failures, so that a pod failure policy can tell them apart.
pub fn fail(code: i32, message: impl Display) -> ! {
    eprintln!("{message}");
    std::process::exit(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hostname_and_index() {
        let ctx = Context::from_parts(
            |k| match k {
                "HOSTNAME" => Some("render-3".into()),
                "JOB_COMPLETION_INDEX" => Some("3".into()),
                _ => None,
            },
            vec!["frame".into()],
        );
        assert_eq!(ctx.hostname, "render-3");
        assert_eq!(ctx.completion_index, Some(3));
        assert_eq!(ctx.args, vec!["frame".to_string()]);
    }

    #[test]
    fn missing_or_garbled_index_is_none() {
        let ctx = Context::from_parts(
            |k| (k == "JOB_COMPLETION_INDEX").then(|| "x".into()),
            vec![],
        );
        assert_eq!(ctx.completion_index, None);
        assert_eq!(ctx.hostname, "");
    }
}
