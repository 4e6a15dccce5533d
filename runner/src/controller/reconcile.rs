//! The order of decisions in one sync of a Job (upstream `syncJob`, §7 of the reference).
//!
//! 1. A finished Job (`Complete` or `Failed` is `True`) is left alone.
//! 2. Classify pods: active, terminating, ready, newly finished (not yet counted).
//! 3. Candidate counters: `failed`/`succeeded` = status + newly finished pods.
//! 4. `startTime` is set at the first sync that is not suspended.
//! 5. The back-off record learns the newly finished pods.
//! 6. The finishing decision, first match wins:
//!    an existing `SuccessCriteriaMet`, an existing `FailureTarget`,
//!    `BackoffLimitExceeded` (failed > backoffLimit, or OnFailure restarts ≥ backoffLimit),
//!    `DeadlineExceeded` (else a wake-up is scheduled at the deadline).
//! 7. With a finishing decision every active pod is stopped (counted as failed unless the Job
//!    succeeded). Otherwise `manage` creates or stops pods, and the completion rule decides
//!    `CompletionsReached`.
//! 8. Newly finished pods are counted (their finalizer goes in the same write as the counters);
//!    the interim condition is appended, and the terminal one (`Failed`/`Complete`, with
//!    `completionTime`) once no pod is left terminating.

use super::classify::{classify, finish_time};
use super::conditions::{Finish, ensure, existing_finish};
use super::manage::manage;
use super::{BackoffRecord, ControllerConfig, Decision, JobEvent, PodToStop, StopReason, deadline};
use std::time::Duration;
use wasmjob_spec::*;

const BACKOFF_LIMIT_MESSAGE: &str = "Job has reached the specified backoff limit";
const COMPLETIONS_MESSAGE: &str = "Reached expected number of succeeded pods";

/// One sync of `job` over its `pods` at `now`. Pure: the same inputs give the same decision.
pub fn reconcile(
    job: &Job,
    pods: &[Pod],
    backoff: &BackoffRecord,
    config: &ControllerConfig,
    now: Time,
) -> Decision {
    let old = job.status().clone();
    let mut d = Decision {
        status: old.clone(),
        backoff: backoff.clone(),
        ..Default::default()
    };
    if job.is_finished() {
        return d;
    }

    let class = classify(job, pods);
    let new_failed = class.new_failed.len() as i32;
    let new_succeeded = class.new_succeeded.len() as i32;
    let failed = old.failed.saturating_add(new_failed);
    let succeeded = old.succeeded.saturating_add(new_succeeded);
    d.counted.extend(
        class
            .new_failed
            .iter()
            .chain(&class.new_succeeded)
            .map(|p| p.metadata.name().to_string()),
    );

    let status = &mut d.status;
    if status.start_time.is_none() && !job.is_suspended() {
        status.start_time = Some(now);
    }
    d.backoff = backoff.observe(
        class.new_succeeded.iter().map(|p| finish_time(p)).collect(),
        class.new_failed.iter().map(|p| finish_time(p)).collect(),
    );

    let backoff_limit = job.spec.backoff_limit.unwrap_or(6);
    let mut requeue: Option<Duration> = None;
    let mut finish = existing_finish(job);
    if finish.is_none()
        && (failed > backoff_limit || past_backoff_limit_on_failure(job, class.running_restarts))
    {
        finish = Some(Finish::failure(
            REASON_BACKOFF_LIMIT_EXCEEDED,
            BACKOFF_LIMIT_MESSAGE,
        ));
    }
    if finish.is_none() {
        match deadline::check(job, status.start_time, now) {
            Ok(()) => finish = Some(Finish::failure(REASON_DEADLINE_EXCEEDED, deadline::MESSAGE)),
            Err(left) => requeue = left,
        }
    }

    let mut active = class.active.len();
    let mut terminating = class.terminating;
    let mut failed = failed;
    if let Some(f) = &finish {
        let reason = if f.success {
            StopReason::JobSucceeded
        } else {
            StopReason::JobFailed
        };
        for pod in &class.active {
            let name = pod.metadata.name().to_string();
            d.stop.push(PodToStop {
                name: name.clone(),
                reason,
            });
            if super::classify::has_tracking_finalizer(pod) && !d.counted.contains(&name) {
                d.counted.push(name);
                if !f.success {
                    failed = failed.saturating_add(1);
                }
            }
        }
        terminating += active;
        active = 0;
    } else {
        let managed = manage(job, &class, succeeded, &d.backoff, config, now);
        for s in &managed.stop {
            // Pods the controller removes for scale-down are never counted.
            if !d.counted.contains(&s.name) {
                d.counted.push(s.name.clone());
            }
        }
        terminating += managed.stop.len();
        active = managed.active;
        d.create = managed.create;
        d.stop = managed.stop;
        requeue = min_duration(requeue, managed.requeue_after);
        let complete = match job.spec.completions {
            None => succeeded > 0 && active == 0,
            Some(c) => succeeded >= c && active == 0,
        };
        if complete {
            finish = Some(Finish::success(
                REASON_COMPLETIONS_REACHED,
                COMPLETIONS_MESSAGE,
            ));
        }
    }

    let status = &mut d.status;
    status.active = active as i32;
    status.ready = Some((class.ready.min(active)) as i32);
    status.terminating = Some(terminating as i32);
    status.failed = failed;
    status.succeeded = succeeded;
    status
        .uncounted_terminated_pods
        .get_or_insert_with(Default::default);
    if let Some(f) = finish {
        ensure(status, f.interim_type(), &f.reason, &f.message, now);
        if terminating == 0 && ensure(status, f.terminal_type(), &f.reason, &f.message, now) {
            if f.success {
                status.completion_time = Some(now);
                d.events.push(JobEvent {
                    type_: "Normal",
                    reason: "Completed".into(),
                    message: "Job completed".into(),
                });
            } else {
                d.events.push(JobEvent {
                    type_: "Warning",
                    reason: f.reason.clone(),
                    message: f.message.clone(),
                });
            }
            requeue = None;
        }
    }
    d.requeue_after = requeue;
    d
}

/// restartPolicy OnFailure: container restarts in pods still running count toward the limit
/// (upstream `pastBackoffLimitOnFailure`; note `≥`, where pod failures use `>`).
fn past_backoff_limit_on_failure(job: &Job, restarts: i64) -> bool {
    if job.restart_policy() != "OnFailure" {
        return false;
    }
    let limit = job.spec.backoff_limit.unwrap_or(6) as i64;
    if limit == 0 {
        restarts > 0
    } else {
        restarts >= limit
    }
}

fn min_duration(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}
