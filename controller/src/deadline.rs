//! Job `activeDeadlineSeconds` (upstream `pastActiveDeadline`): measured from
//! `status.startTime`; not evaluated while suspended.

use std::time::Duration;
use wasmjob_spec::{Job, Time};

pub const MESSAGE: &str = "Job was active longer than specified deadline";

/// `Ok(())` when the deadline passed; otherwise the time left, when there is a deadline.
pub fn check(job: &Job, start: Option<Time>, now: Time) -> Result<(), Option<Duration>> {
    let (Some(seconds), Some(start)) = (job.spec.active_deadline_seconds, start) else {
        return Err(None);
    };
    if job.is_suspended() {
        return Err(None);
    }
    let deadline = start.plus_millis(seconds.saturating_mul(1000));
    let left = now.millis_until(deadline);
    if left <= 0 {
        Ok(())
    } else {
        Err(Some(Duration::from_millis(left as u64)))
    }
}
