//! How a container run ended, and the exit code and reason each ending reports. These codes are
//! part of the interface (pod failure policies match on them) and must not change.

/// The exit codes reported for endings that are not a guest's own `proc_exit`.
pub struct ExitCodes;

impl ExitCodes {
    /// The module could not be loaded, linked or started (like Kubernetes' `StartError`).
    pub const START_ERROR: i32 = 128;
    /// The guest trapped (a Rust panic or abort, `unreachable`, out-of-bounds access, stack
    /// overflow, …): SIGABRT's 128+6.
    pub const TRAP: i32 = 134;
    /// Over the memory limit: 137 (128+SIGKILL), as Kubernetes reports `OOMKilled`.
    pub const OOM_KILLED: i32 = 137;
    /// The pod's `activeDeadlineSeconds` passed: 128+SIGALRM.
    pub const DEADLINE_EXCEEDED: i32 = 142;
    /// Stopped by the host (Job failed or finished, deadline, deletion, shutdown): 128+SIGTERM.
    pub const STOPPED: i32 = 143;
    /// The fuel budget ran out: 128+SIGXCPU, the CPU-time-limit signal.
    pub const FUEL_EXHAUSTED: i32 = 152;
}

/// The end of one container run, as the sandbox sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `_start` returned (0) or the guest called `proc_exit(code)`.
    Code(i32),
    /// A trap; the message names it and carries the wasm backtrace.
    Trap(String),
    /// The guest went past its memory limit.
    OutOfMemory(String),
    /// The fuel budget ran out.
    OutOfFuel { budget: u64 },
    /// The run was stopped from outside.
    Stopped,
    /// The module could not be loaded, linked or instantiated.
    StartError(String),
}

impl Exit {
    pub fn exit_code(&self) -> i32 {
        match self {
            Exit::Code(c) => *c,
            Exit::Trap(_) => ExitCodes::TRAP,
            Exit::OutOfMemory(_) => ExitCodes::OOM_KILLED,
            Exit::OutOfFuel { .. } => ExitCodes::FUEL_EXHAUSTED,
            Exit::Stopped => ExitCodes::STOPPED,
            Exit::StartError(_) => ExitCodes::START_ERROR,
        }
    }

    /// The `state.terminated.reason` Kubernetes-style.
    pub fn reason(&self) -> &'static str {
        match self {
            Exit::Code(0) => "Completed",
            Exit::Code(_) => "Error",
            Exit::Trap(_) => "Trap",
            Exit::OutOfMemory(_) => "OOMKilled",
            Exit::OutOfFuel { .. } => "FuelExhausted",
            Exit::Stopped => "Stopped",
            Exit::StartError(_) => "StartError",
        }
    }

    pub fn message(&self) -> Option<String> {
        match self {
            Exit::Code(_) | Exit::Stopped => None,
            Exit::Trap(m) | Exit::OutOfMemory(m) | Exit::StartError(m) => Some(m.clone()),
            Exit::OutOfFuel { budget } => Some(format!("fuel budget of {budget} units exhausted")),
        }
    }

    pub fn success(&self) -> bool {
        *self == Exit::Code(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmjob_guest::exit_codes as guest;

    #[test]
    fn the_guest_sdk_publishes_the_same_codes() {
        assert_eq!(guest::START_ERROR, ExitCodes::START_ERROR);
        assert_eq!(guest::TRAP, ExitCodes::TRAP);
        assert_eq!(guest::OOM_KILLED, ExitCodes::OOM_KILLED);
        assert_eq!(guest::DEADLINE_EXCEEDED, ExitCodes::DEADLINE_EXCEEDED);
        assert_eq!(guest::STOPPED, ExitCodes::STOPPED);
        assert_eq!(guest::FUEL_EXHAUSTED, ExitCodes::FUEL_EXHAUSTED);
    }

    #[test]
    fn each_ending_has_its_own_code_and_reason() {
        let endings = [
            Exit::Code(0),
            Exit::Code(3),
            Exit::Trap("t".into()),
            Exit::OutOfMemory("m".into()),
            Exit::OutOfFuel { budget: 5 },
            Exit::Stopped,
            Exit::StartError("s".into()),
        ];
        let codes: Vec<i32> = endings.iter().map(Exit::exit_code).collect();
        assert_eq!(codes, vec![0, 3, 134, 137, 152, 143, 128]);
        let reasons: Vec<&str> = endings.iter().map(Exit::reason).collect();
        assert_eq!(
            reasons,
            vec![
                "Completed",
                "Error",
                "Trap",
                "OOMKilled",
                "FuelExhausted",
                "Stopped",
                "StartError"
            ]
        );
        assert!(Exit::Code(0).success() && !Exit::Code(1).success());
        assert_eq!(
            Exit::OutOfFuel { budget: 5 }.message().as_deref(),
            Some("fuel budget of 5 units exhausted")
        );
    }
}
