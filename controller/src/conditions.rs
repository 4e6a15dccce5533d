//! Job conditions (upstream `newCondition`, `newFailedConditionsFromFailureTarget`,
//! `newSuccessCondition`): the two-phase finish — an interim `FailureTarget` or
//! `SuccessCriteriaMet` first, the terminal `Failed` or `Complete` with the same reason and
//! message once no pod is left terminating.

use wasmjob_spec::*;

/// A finishing decision: the interim condition type, its reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finish {
    pub success: bool,
    pub reason: String,
    pub message: String,
}

impl Finish {
    pub fn failure(reason: &str, message: &str) -> Finish {
        Finish {
            success: false,
            reason: reason.into(),
            message: message.into(),
        }
    }
    pub fn success(reason: &str, message: &str) -> Finish {
        Finish {
            success: true,
            reason: reason.into(),
            message: message.into(),
        }
    }
    pub fn interim_type(&self) -> &'static str {
        if self.success {
            COND_SUCCESS_CRITERIA_MET
        } else {
            COND_FAILURE_TARGET
        }
    }
    pub fn terminal_type(&self) -> &'static str {
        if self.success {
            COND_COMPLETE
        } else {
            COND_FAILED
        }
    }
}

/// The finishing decision already recorded on the Job, if any (sticky: it never changes).
pub fn existing_finish(job: &Job) -> Option<Finish> {
    for (type_, success) in [
        (COND_SUCCESS_CRITERIA_MET, true),
        (COND_FAILURE_TARGET, false),
    ] {
        if let Some(c) = job.true_condition(type_) {
            return Some(Finish {
                success,
                reason: c.reason.clone().unwrap_or_default(),
                message: c.message.clone().unwrap_or_default(),
            });
        }
    }
    None
}

pub fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Time,
) -> JobCondition {
    JobCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        last_probe_time: Some(now),
        last_transition_time: Some(now),
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
    }
}

/// Appends a `True` condition unless one of that type is already `True`. Returns whether it
/// was added.
pub fn ensure(status: &mut JobStatus, type_: &str, reason: &str, message: &str, now: Time) -> bool {
    if status
        .conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == "True")
    {
        return false;
    }
    status
        .conditions
        .push(new_condition(type_, "True", reason, message, now));
    true
}
