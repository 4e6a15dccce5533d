//! ttlSecondsAfterFinished (the TTL-after-finished controller): a finished Job is deleted,
//! with its pods, `ttl` seconds after its terminal condition's lastTransitionTime. Unset:
//! never; 0: at once.

use std::time::Duration;
use wasmjob_spec::{COND_COMPLETE, COND_FAILED, Job, Time};

/// When the Job expires, or `None` when it never does (unfinished, or no TTL).
pub fn expiry(job: &Job) -> Option<Time> {
    let ttl = job.spec.ttl_seconds_after_finished?;
    let finished = job
        .true_condition(COND_COMPLETE)
        .or_else(|| job.true_condition(COND_FAILED))?;
    // Upstream falls back to the completion time when the condition has no time.
    let at = finished
        .last_transition_time
        .or(job.status().completion_time)?;
    Some(at.plus_millis(i64::from(ttl.max(0)) * 1000))
}

/// `Ok(())` when the Job is due for deletion at `now`, else how long until it is.
pub fn due(job: &Job, now: Time) -> Option<Result<(), Duration>> {
    let at = expiry(job)?;
    let left = now.millis_until(at);
    Some(if left <= 0 {
        Ok(())
    } else {
        Err(Duration::from_millis(left as u64))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmjob_spec::{JobCondition, JobStatus};

    fn finished_job(ttl: Option<i32>, at_ms: i64, type_: &str) -> Job {
        let mut job: Job = serde_json::from_value(serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "t"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x.wasm"}]}}}
        }))
        .unwrap();
        job.spec.ttl_seconds_after_finished = ttl;
        job.status = Some(JobStatus {
            conditions: vec![JobCondition {
                type_: type_.into(),
                status: "True".into(),
                last_transition_time: Some(Time::from_millis(at_ms)),
                ..Default::default()
            }],
            ..Default::default()
        });
        job
    }

    #[test]
    fn ttl_zero_is_due_at_the_terminal_transition() {
        let job = finished_job(Some(0), 5_000, COND_COMPLETE);
        assert_eq!(due(&job, Time::from_millis(5_000)), Some(Ok(())));
        assert_eq!(
            due(&job, Time::from_millis(4_000)),
            Some(Err(Duration::from_secs(1)))
        );
    }

    #[test]
    fn ttl_two_seconds_counts_from_a_failure_too() {
        let job = finished_job(Some(2), 10_000, COND_FAILED);
        assert_eq!(
            due(&job, Time::from_millis(11_500)),
            Some(Err(Duration::from_millis(500)))
        );
        assert_eq!(due(&job, Time::from_millis(12_000)), Some(Ok(())));
        assert_eq!(due(&job, Time::from_millis(99_000)), Some(Ok(())));
    }

    #[test]
    fn unset_ttl_or_unfinished_never_expires() {
        let job = finished_job(None, 0, COND_COMPLETE);
        assert_eq!(due(&job, Time::from_millis(1 << 40)), None);
        let mut running = finished_job(Some(0), 0, COND_COMPLETE);
        running.status = None;
        assert_eq!(expiry(&running), None);
        // A Complete=False condition is not an end.
        let mut not_yet = finished_job(Some(0), 0, COND_COMPLETE);
        not_yet.status.as_mut().unwrap().conditions[0].status = "False".into();
        assert_eq!(expiry(&not_yet), None);
    }
}
