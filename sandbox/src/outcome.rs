//! How a container run ended, and the exit code and reason each ending reports. The codes are
//! the ABI's (`wasmjob_abi::exit_codes`): part of the interface, pod failure policies match on
//! them.

// The exit codes reported for endings that are not a guest's own `proc_exit`.
use wasmjob_abi::exit_codes;

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
            Exit::Trap(_) => exit_codes::TRAP,
            Exit::OutOfMemory(_) => exit_codes::OOM_KILLED,
            Exit::OutOfFuel { .. } => exit_codes::FUEL_EXHAUSTED,
            Exit::Stopped => exit_codes::STOPPED,
            Exit::StartError(_) => exit_codes::START_ERROR,
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
        assert_eq!(guest::START_ERROR, exit_codes::START_ERROR);
        assert_eq!(guest::TRAP, exit_codes::TRAP);
        assert_eq!(guest::OOM_KILLED, exit_codes::OOM_KILLED);
        assert_eq!(guest::DEADLINE_EXCEEDED, exit_codes::DEADLINE_EXCEEDED);
        assert_eq!(guest::STOPPED, exit_codes::STOPPED);
        assert_eq!(guest::FUEL_EXHAUSTED, exit_codes::FUEL_EXHAUSTED);
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
