//! Telling the host how the task is doing: progress while it runs, and a termination message
//! (its short result) when it ends.

use crate::HostError;
use std::fmt::Display;

/// Reports progress: `fraction` in 0.0..=1.0 (clamped; NaN means "no fraction") and a short
/// text (up to 256 bytes are kept). `wasmjob get pods -o wide`, `describe pod` and `run`'s
/// live display show the last report. Reports are cheap: the host folds frequent ones.
pub fn progress(fraction: f64, text: &str) -> Result<(), HostError> {
    let permille = if fraction.is_nan() {
        -1
    } else {
        (fraction.clamp(0.0, 1.0) * 1000.0).round() as i32
    };
    crate::abi::progress(permille, text)
}

/// Reports a progress text without a fraction.
pub fn status(text: &str) -> Result<(), HostError> {
    crate::abi::progress(-1, text)
}

/// Sets the termination message: the container's `state.terminated.message` once it ends,
/// like writing Kubernetes' `terminationMessagePath`. The last call wins; up to 4096 bytes
/// are kept.
pub fn termination_message(text: &str) -> Result<(), HostError> {
    crate::abi::termination_message(text)
}

/// Ends the task with `code`, after writing `message` to stderr (which the pod's log keeps)
/// and setting it as the termination message when running under wasmjob. Use distinct codes
/// for distinct failures, so that a pod failure policy can tell them apart.
pub fn fail(code: i32, message: impl Display) -> ! {
    let message = message.to_string();
    eprintln!("{message}");
    let _ = crate::abi::termination_message(&message);
    std::process::exit(code)
}
