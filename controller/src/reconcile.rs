//! The order of decisions in one sync of a Job (upstream `pkg/controller/job/job_controller.go`
//! `syncJob`).
//!
//! 1. A finished Job (`Complete` or `Failed` is `True`) is left alone.
//! 2. Classify pods: active, terminating, ready, newly finished (not yet counted). Newly failed
//!    pods go through the pod failure policy: `Ignore` is not counted (but still delays
//!    re-creation), `FailJob` decides the Job's fate, `FailIndex` fails the pod's index.
//! 3. Candidate counters: `failed` = status + newly counted failures; `succeeded` = status +
//!    new successes, or for Indexed Jobs the number of completed indexes. Pods without a valid
//!    index are never counted.
//! 4. `startTime` is set at the first sync that is not suspended, and again on resume.
//! 5. The back-off record learns the newly finished pods.
//! 6. The finishing decision, first match wins: an existing `SuccessCriteriaMet`, an existing
//!    `FailureTarget`, a `FailJob` rule (`PodFailurePolicy`), `BackoffLimitExceeded` (failed >
//!    backoffLimit, or OnFailure restarts ≥ backoffLimit), `DeadlineExceeded` (else a wake-up
//!    at the deadline), `MaxFailedIndexesExceeded`, `FailedIndexes`, a success policy rule
//!    (`SuccessPolicy`).
//! 7. With a finishing decision every active pod is stopped, and every pod not finished yet
//!    (active or already terminating) is counted as failed unless the Job succeeded or an
//!    `Ignore` rule matches it. Otherwise `manage` creates or stops pods, the completion rule decides
//!    `CompletionsReached`, and the `Suspended` condition follows `spec.suspend`.
//! 8. Newly finished pods are counted (their finalizer goes in the same write as the counters),
//!    except, with `backoffLimitPerIndex`, the last failed pod of an index still to run, counted
//!    once its replacement exists or the Job finishes; the interim condition is appended, and the
//!    terminal one (`Failed`/`Complete`, with `completionTime`) once no pod is left terminating.

use super::classify::{classify, finish_time, has_tracking_finalizer};
use super::conditions::{Finish, ensure, existing_finish, new_condition};
use super::indexed::{IndexSet, pod_index};
use super::manage::{Progress, manage};
use super::pod_failure_policy::{self as pfp, Action};
use super::{
    BackoffRecord, ControllerConfig, Decision, JobEvent, PodToStop, StopReason, deadline,
    per_index_backoff, success_policy,
};
use std::collections::HashSet;
use std::time::Duration;
use wasmjob_spec::*;

const BACKOFF_LIMIT_MESSAGE: &str = "Job has reached the specified backoff limit";
const COMPLETIONS_MESSAGE: &str = "Reached expected number of succeeded pods";
const MAX_FAILED_INDEXES_MESSAGE: &str =
    "Job has exceeded the specified maximal number of failed indexes";
const FAILED_INDEXES_MESSAGE: &str = "Job has failed indexes";

/// One sync of `job` over its `pods` at `now`. Pure: the same inputs give the same decision.
pub fn reconcile(
    job: &Job,
    pods: &[Pod],
    backoff: &BackoffRecord,
    config: &ControllerConfig,
    now: Time,
) -> Decision {
    let pods: Vec<&Pod> = pods.iter().collect();
    reconcile_pods(job, &pods, backoff, config, now)
}

/// [`reconcile`] over borrowed pods. Pods that are terminal and already counted (no tracking
/// finalizer) change nothing in a decision, so a caller may leave them out: the cost of a sync
/// then follows the pods in flight, not the size of the Job.
pub fn reconcile_pods(
    job: &Job,
    pods: &[&Pod],
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
    let indexed = job.is_indexed();
    let completions = job.spec.completions.unwrap_or(0);
    let per_index_limit = job.spec.backoff_limit_per_index.filter(|_| indexed);
    let valid_index = |p: &Pod| pod_index(p).filter(|i| *i < completions);
    let class = classify(job, pods);

    // Newly failed pods: counted, ignored, or deciding the Job's or an index's fate. `failed`
    // holds every counted failure for the limits; `status.failed` may take some later (below).
    let mut counted_failures = 0i32;
    let mut fail_job: Option<Finish> = None;
    let mut newly_failed_indexes = IndexSet::new();
    // (pod, whether the failure counts)
    let mut new_failures: Vec<(&Pod, bool)> = Vec::new();
    for pod in &class.new_failed {
        if indexed && valid_index(pod).is_none() {
            d.counted.push(pod.metadata.name().to_string()); // never counted
            continue;
        }
        let verdict = job
            .spec
            .pod_failure_policy
            .as_ref()
            .and_then(|p| pfp::evaluate(p, pod, job.namespace()));
        let action = verdict.as_ref().map_or(Action::Count, |v| v.action);
        new_failures.push((pod, action != Action::Ignore));
        if action == Action::Ignore {
            continue;
        }
        counted_failures += 1;
        if action == Action::FailJob && fail_job.is_none() {
            let message = verdict.and_then(|v| v.message).unwrap_or_default();
            fail_job = Some(Finish::failure(REASON_POD_FAILURE_POLICY, &message));
        }
        if let (Some(limit), Some(i)) = (per_index_limit, valid_index(pod))
            && (action == Action::FailIndex || per_index_backoff::failure_count(pod) >= limit)
        {
            newly_failed_indexes.insert(i);
        }
    }
    let failed = old.failed.saturating_add(counted_failures);

    // Successes: per pod, or per completed index.
    let mut completed = IndexSet::new();
    if indexed {
        completed = IndexSet::parse(old.completed_indexes.as_deref().unwrap_or(""), completions)
            .unwrap_or_default();
    }
    let mut success_times = Vec::new();
    let mut new_successes = 0i32;
    for pod in &class.new_succeeded {
        d.counted.push(pod.metadata.name().to_string());
        if indexed {
            match valid_index(pod) {
                Some(i) => {
                    completed.insert(i);
                }
                None => continue,
            }
        } else {
            new_successes += 1;
        }
        success_times.push(finish_time(pod));
    }
    let succeeded = if indexed {
        completed.len() as i32
    } else {
        old.succeeded.saturating_add(new_successes)
    };
    let mut failed_indexes = IndexSet::new();
    if per_index_limit.is_some() {
        let previous = IndexSet::parse(old.failed_indexes.as_deref().unwrap_or(""), completions)
            .unwrap_or_default();
        failed_indexes = previous
            .union(&newly_failed_indexes)
            .iter()
            .filter(|i| !completed.contains(*i))
            .collect();
    }

    // With backoffLimitPerIndex the last failed pod of an index still to run is counted only
    // once its replacement exists (or the Job finishes), as upstream keeps its finalizer to pass
    // the failure count on (upstream indexed_job_utils.go (backoffLimitPerIndex)).
    let delayed: Vec<&Pod> = if per_index_limit.is_some() {
        let busy = completed
            .union(&failed_indexes)
            .union(&class.active.iter().filter_map(|p| valid_index(p)).collect());
        let candidates = new_failures
            .iter()
            .filter_map(|(p, _)| valid_index(p).map(|i| (*p, i)));
        per_index_backoff::delayed_until_replaced(candidates, &busy)
    } else {
        Vec::new()
    };
    let is_delayed = |p: &Pod| delayed.iter().any(|q| std::ptr::eq(*q, p));
    let mut status_failed = old.failed;
    let mut failure_times = Vec::new();
    for (pod, counts) in &new_failures {
        if is_delayed(pod) {
            continue;
        }
        d.counted.push(pod.metadata.name().to_string());
        failure_times.push(finish_time(pod));
        if *counts {
            status_failed = status_failed.saturating_add(1);
        }
    }

    let status = &mut d.status;
    let resuming = !job.is_suspended() && suspended_condition_true(job);
    if (status.start_time.is_none() || resuming) && !job.is_suspended() {
        status.start_time = Some(now);
    }
    d.backoff = backoff.observe(success_times, failure_times);

    let backoff_limit = job.spec.backoff_limit.unwrap_or(6);
    let mut requeue: Option<Duration> = None;
    let mut finish = existing_finish(job).or(fail_job);
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
    if finish.is_none() && per_index_limit.is_some() {
        let too_many = job
            .spec
            .max_failed_indexes
            .is_some_and(|max| failed_indexes.len() as i64 > max as i64);
        if too_many {
            finish = Some(Finish::failure(
                REASON_MAX_FAILED_INDEXES_EXCEEDED,
                MAX_FAILED_INDEXES_MESSAGE,
            ));
        } else if !failed_indexes.is_empty()
            && (completed.len() + failed_indexes.len()) as i64 >= completions as i64
        {
            finish = Some(Finish::failure(
                REASON_FAILED_INDEXES,
                FAILED_INDEXES_MESSAGE,
            ));
        }
    }
    if finish.is_none()
        && indexed
        && let Some(rule) = job
            .spec
            .success_policy
            .as_ref()
            .and_then(|p| success_policy::evaluate(p, completions, &completed))
    {
        finish = Some(Finish::success(
            REASON_SUCCESS_POLICY,
            &success_policy::message(rule),
        ));
    }

    let mut active = class.active.len();
    let mut terminating = class.terminating;
    if let Some(f) = &finish {
        let reason = if f.success {
            StopReason::JobSucceeded
        } else {
            StopReason::JobFailed
        };
        for pod in &class.active {
            d.stop.push(PodToStop {
                name: pod.metadata.name().to_string(),
                reason,
            });
        }
        terminating += active;
        active = 0;
    } else {
        let progress = Progress {
            succeeded,
            completed: &completed,
            failed_indexes: &failed_indexes,
        };
        let managed = manage(job, pods, &class, &progress, &d.backoff, config, now);
        for s in &managed.stop {
            // Pods the controller removes for scale-down, suspend or duplicates are never counted.
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
        } else {
            update_suspended(&mut d.status, &mut d.events, job.is_suspended(), now);
        }
    }

    if let Some(f) = &finish {
        // A finishing Job counts every failure it saw.
        for (pod, counts) in new_failures.iter().filter(|(p, _)| is_delayed(p)) {
            d.counted.push(pod.metadata.name().to_string());
            if *counts {
                status_failed = status_failed.saturating_add(1);
            }
        }
        // Every pod not yet counted and not finished is settled now (upstream
        // `trackJobStatusAndRemoveFinalizers` with a finishing condition): the active ones just
        // stopped, and those already being deleted that wait for a terminal phase
        // (`podReplacementPolicy: Failed`). A failing Job counts them as failed unless an
        // `Ignore` rule matches them; a succeeding Job never counts them.
        let seen: HashSet<String> = d.counted.iter().cloned().collect();
        let in_new_failed: HashSet<*const Pod> =
            class.new_failed.iter().map(|p| *p as *const Pod).collect();
        let unsettled = pods.iter().copied().filter(|p| {
            !p.is_terminal()
                && has_tracking_finalizer(p)
                && !in_new_failed.contains(&(*p as *const Pod))
                && !seen.contains(p.metadata.name())
        });
        for pod in unsettled {
            d.counted.push(pod.metadata.name().to_string());
            let ignored = job
                .spec
                .pod_failure_policy
                .as_ref()
                .and_then(|p| pfp::evaluate_rules(p, pod, job.namespace()))
                .is_some_and(|v| v.action == Action::Ignore);
            if !f.success && !ignored {
                status_failed = status_failed.saturating_add(1);
            }
        }
    }

    let status = &mut d.status;
    status.active = active as i32;
    // Ready pods among those still active once this decision's stops are applied (upstream
    // subtracts the ready pods it deleted).
    let stopped: HashSet<&str> = d.stop.iter().map(|s| s.name.as_str()).collect();
    let ready = class
        .active
        .iter()
        .filter(|p| p.condition_true("Ready") && !stopped.contains(p.metadata.name()))
        .count();
    status.ready = Some(ready.min(active) as i32);
    status.terminating = Some(terminating as i32);
    status.failed = status_failed;
    status.succeeded = succeeded;
    if indexed {
        let text = completed.to_string();
        status.completed_indexes = (!text.is_empty()).then_some(text);
    }
    if per_index_limit.is_some() {
        status.failed_indexes = Some(failed_indexes.to_string());
    }
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

fn suspended_condition_true(job: &Job) -> bool {
    job.true_condition(COND_SUSPENDED).is_some()
}

/// `Suspended` True/`JobSuspended` when suspended; flipped in place to False/`JobResumed` on
/// resume (never created as False).
fn update_suspended(
    status: &mut JobStatus,
    events: &mut Vec<JobEvent>,
    suspended: bool,
    now: Time,
) {
    let existing = status
        .conditions
        .iter_mut()
        .find(|c| c.type_ == COND_SUSPENDED);
    let (want, reason, message, event) = if suspended {
        ("True", "JobSuspended", "Job suspended", "Suspended")
    } else {
        ("False", "JobResumed", "Job resumed", "Resumed")
    };
    match existing {
        Some(c) if c.status == want => return,
        Some(c) => *c = new_condition(COND_SUSPENDED, want, reason, message, now),
        None if suspended => {
            status
                .conditions
                .push(new_condition(COND_SUSPENDED, want, reason, message, now))
        }
        None => return,
    }
    events.push(JobEvent {
        type_: "Normal",
        reason: event.into(),
        message: message.into(),
    });
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
