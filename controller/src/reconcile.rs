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

use super::classify::{PodClass, classify, finish_time, has_tracking_finalizer};
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
/// then follows the pods in flight, not the size of the Job. It reads as the steps of this
/// module's comment, one function each.
pub fn reconcile_pods(
    job: &Job,
    pods: &[&Pod],
    backoff: &BackoffRecord,
    config: &ControllerConfig,
    now: Time,
) -> Decision {
    // 1.
    if job.is_finished() {
        return Decision {
            status: job.status().clone(),
            backoff: backoff.clone(),
            ..Default::default()
        };
    }
    // 2.
    let mut sync = Sync::new(job, pods, backoff, config, now);
    sync.judge_new_failures();
    // 3.
    sync.count_successes();
    sync.collect_failed_indexes();
    sync.count_failures();
    // 4.
    sync.set_start_time();
    // 5.
    sync.observe_backoff();
    // 6.
    sync.decide_finish();
    // 7.
    if sync.finish.is_some() {
        sync.stop_active_pods();
    } else {
        sync.manage_pods();
    }
    // 8.
    if sync.finish.is_some() {
        sync.settle_unfinished_pods();
    }
    sync.write_status()
}

/// One sync's working state, filled in step by step.
struct Sync<'a> {
    job: &'a Job,
    pods: &'a [&'a Pod],
    backoff: &'a BackoffRecord,
    config: &'a ControllerConfig,
    now: Time,
    old: JobStatus,
    d: Decision,
    indexed: bool,
    completions: i32,
    /// `backoffLimitPerIndex` of an Indexed Job.
    per_index_limit: Option<i32>,
    class: PodClass<'a>,
    /// Every counted failure so far, for the limits (`status.failed` may take some later).
    failed: i32,
    /// A `FailJob` rule's finish.
    fail_job: Option<Finish>,
    newly_failed_indexes: IndexSet,
    /// Newly failed pods, each with whether its failure counts (an `Ignore` rule: not).
    new_failures: Vec<(&'a Pod, bool)>,
    completed: IndexSet,
    success_times: Vec<Time>,
    failure_times: Vec<Time>,
    succeeded: i32,
    failed_indexes: IndexSet,
    /// Failed pods counted only once their replacement exists (`backoffLimitPerIndex`), by name.
    delayed: HashSet<&'a str>,
    status_failed: i32,
    finish: Option<Finish>,
    requeue: Option<Duration>,
    active: usize,
    terminating: usize,
}

impl<'a> Sync<'a> {
    /// Step 2: the pods classified.
    fn new(
        job: &'a Job,
        pods: &'a [&'a Pod],
        backoff: &'a BackoffRecord,
        config: &'a ControllerConfig,
        now: Time,
    ) -> Sync<'a> {
        let old = job.status().clone();
        let indexed = job.is_indexed();
        let class = classify(job, pods);
        Sync {
            d: Decision {
                status: old.clone(),
                backoff: backoff.clone(),
                ..Default::default()
            },
            failed: old.failed,
            status_failed: old.failed,
            active: class.active.len(),
            terminating: class.terminating,
            old,
            job,
            pods,
            backoff,
            config,
            now,
            indexed,
            completions: job.spec.completions.unwrap_or(0),
            per_index_limit: job.spec.backoff_limit_per_index.filter(|_| indexed),
            class,
            fail_job: None,
            newly_failed_indexes: IndexSet::new(),
            new_failures: Vec::new(),
            completed: IndexSet::new(),
            success_times: Vec::new(),
            failure_times: Vec::new(),
            succeeded: 0,
            failed_indexes: IndexSet::new(),
            delayed: HashSet::new(),
            finish: None,
            requeue: None,
        }
    }

    /// The pod's completion index, when it has one in range.
    fn valid_index(&self, p: &Pod) -> Option<i32> {
        pod_index(p).filter(|i| *i < self.completions)
    }

    fn count(&mut self, pod: &Pod) {
        self.d.counted.push(pod.metadata.name().to_string());
    }

    /// Step 2: newly failed pods through the pod failure policy — counted, ignored, or deciding
    /// the Job's (`FailJob`) or an index's (`FailIndex`, or its per-index limit) fate. A pod of
    /// an Indexed Job without a valid index is never counted.
    fn judge_new_failures(&mut self) {
        let job = self.job;
        for pod in self.class.new_failed.clone() {
            if self.indexed && self.valid_index(pod).is_none() {
                self.count(pod);
                continue;
            }
            let verdict = job
                .spec
                .pod_failure_policy
                .as_ref()
                .and_then(|p| pfp::evaluate(p, pod, job.namespace()));
            let action = verdict.as_ref().map_or(Action::Count, |v| v.action);
            self.new_failures.push((pod, action != Action::Ignore));
            if action == Action::Ignore {
                continue;
            }
            self.failed = self.failed.saturating_add(1);
            if action == Action::FailJob && self.fail_job.is_none() {
                let message = verdict.and_then(|v| v.message).unwrap_or_default();
                self.fail_job = Some(Finish::failure(REASON_POD_FAILURE_POLICY, &message));
            }
            if let (Some(limit), Some(i)) = (self.per_index_limit, self.valid_index(pod))
                && (action == Action::FailIndex || per_index_backoff::failure_count(pod) >= limit)
            {
                self.newly_failed_indexes.insert(i);
            }
        }
    }

    /// Step 3: successes, per pod, or for Indexed Jobs per completed index.
    fn count_successes(&mut self) {
        if self.indexed {
            self.completed = IndexSet::parse(
                self.old.completed_indexes.as_deref().unwrap_or(""),
                self.completions,
            )
            .unwrap_or_default();
        }
        let mut new_successes = 0i32;
        for pod in self.class.new_succeeded.clone() {
            self.count(pod);
            if self.indexed {
                match self.valid_index(pod) {
                    Some(i) => {
                        self.completed.insert(i);
                    }
                    None => continue,
                }
            } else {
                new_successes += 1;
            }
            self.success_times.push(finish_time(pod));
        }
        self.succeeded = if self.indexed {
            self.completed.len() as i32
        } else {
            self.old.succeeded.saturating_add(new_successes)
        };
    }

    /// Step 3: the failed indexes (`backoffLimitPerIndex`): those before, and those failed
    /// now, but not the completed ones.
    fn collect_failed_indexes(&mut self) {
        if self.per_index_limit.is_none() {
            return;
        }
        let previous = IndexSet::parse(
            self.old.failed_indexes.as_deref().unwrap_or(""),
            self.completions,
        )
        .unwrap_or_default();
        self.failed_indexes = previous
            .union(&self.newly_failed_indexes)
            .iter()
            .filter(|i| !self.completed.contains(*i))
            .collect();
    }

    /// Step 3 and 8: the newly failed pods counted now. With `backoffLimitPerIndex` the last
    /// failed pod of an index still to run is counted only once its replacement exists (or the
    /// Job finishes), as upstream keeps its finalizer to pass the failure count on
    /// (upstream `indexed_job_utils.go`).
    fn count_failures(&mut self) {
        if self.per_index_limit.is_some() {
            let running: IndexSet = self
                .class
                .active
                .iter()
                .filter_map(|p| self.valid_index(p))
                .collect();
            let busy = self.completed.union(&self.failed_indexes).union(&running);
            let candidates: Vec<(&'a Pod, i32)> = self
                .new_failures
                .iter()
                .filter_map(|(p, _)| self.valid_index(p).map(|i| (*p, i)))
                .collect();
            self.delayed = per_index_backoff::delayed_until_replaced(candidates.into_iter(), &busy)
                .into_iter()
                .map(|p| p.metadata.name())
                .collect();
        }
        for (pod, counts) in self.new_failures.clone() {
            if self.delayed.contains(pod.metadata.name()) {
                continue;
            }
            self.count(pod);
            self.failure_times.push(finish_time(pod));
            if counts {
                self.status_failed = self.status_failed.saturating_add(1);
            }
        }
    }

    /// Step 4: `startTime` at the first sync that is not suspended, and again on resume.
    fn set_start_time(&mut self) {
        let job = self.job;
        let resuming = !job.is_suspended() && suspended_condition_true(job);
        if (self.d.status.start_time.is_none() || resuming) && !job.is_suspended() {
            self.d.status.start_time = Some(self.now);
        }
    }

    /// Step 5: the back-off record learns the newly finished pods.
    fn observe_backoff(&mut self) {
        self.d.backoff = self.backoff.observe(
            std::mem::take(&mut self.success_times),
            std::mem::take(&mut self.failure_times),
        );
    }

    /// Step 6: the finishing decision, first match wins.
    fn decide_finish(&mut self) {
        let job = self.job;
        let backoff_limit = job.spec.backoff_limit.unwrap_or(6);
        let mut finish = existing_finish(job).or(self.fail_job.take());
        if finish.is_none()
            && (self.failed > backoff_limit
                || past_backoff_limit_on_failure(job, self.class.running_restarts))
        {
            finish = Some(Finish::failure(
                REASON_BACKOFF_LIMIT_EXCEEDED,
                BACKOFF_LIMIT_MESSAGE,
            ));
        }
        if finish.is_none() {
            match deadline::check(job, self.d.status.start_time, self.now) {
                Ok(()) => {
                    finish = Some(Finish::failure(REASON_DEADLINE_EXCEEDED, deadline::MESSAGE))
                }
                Err(left) => self.requeue = left,
            }
        }
        if finish.is_none() && self.per_index_limit.is_some() {
            let too_many = job
                .spec
                .max_failed_indexes
                .is_some_and(|max| self.failed_indexes.len() as i64 > max as i64);
            if too_many {
                finish = Some(Finish::failure(
                    REASON_MAX_FAILED_INDEXES_EXCEEDED,
                    MAX_FAILED_INDEXES_MESSAGE,
                ));
            } else if !self.failed_indexes.is_empty()
                && (self.completed.len() + self.failed_indexes.len()) as i64
                    >= self.completions as i64
            {
                finish = Some(Finish::failure(
                    REASON_FAILED_INDEXES,
                    FAILED_INDEXES_MESSAGE,
                ));
            }
        }
        if finish.is_none()
            && self.indexed
            && let Some(rule) = job
                .spec
                .success_policy
                .as_ref()
                .and_then(|p| success_policy::evaluate(p, self.completions, &self.completed))
        {
            finish = Some(Finish::success(
                REASON_SUCCESS_POLICY,
                &success_policy::message(rule),
            ));
        }
        self.finish = finish;
    }

    /// Step 7, finishing: every active pod is stopped.
    fn stop_active_pods(&mut self) {
        let reason = match &self.finish {
            Some(f) if f.success => StopReason::JobSucceeded,
            _ => StopReason::JobFailed,
        };
        for pod in &self.class.active {
            self.d.stop.push(PodToStop {
                name: pod.metadata.name().to_string(),
                reason,
            });
        }
        self.terminating += self.active;
        self.active = 0;
    }

    /// Step 7, not finishing: `manage` creates or stops pods (those it stops are never
    /// counted), the completion rule may decide `CompletionsReached`, and the `Suspended`
    /// condition follows `spec.suspend`.
    fn manage_pods(&mut self) {
        let job = self.job;
        let progress = Progress {
            succeeded: self.succeeded,
            completed: &self.completed,
            failed_indexes: &self.failed_indexes,
        };
        let managed = manage(
            job,
            self.pods,
            &self.class,
            &progress,
            &self.d.backoff,
            self.config,
            self.now,
        );
        for s in &managed.stop {
            if !self.d.counted.contains(&s.name) {
                self.d.counted.push(s.name.clone());
            }
        }
        self.terminating += managed.stop.len();
        self.active = managed.active;
        self.d.create = managed.create;
        self.d.stop = managed.stop;
        self.requeue = min_duration(self.requeue, managed.requeue_after);
        let complete = match job.spec.completions {
            None => self.succeeded > 0 && self.active == 0,
            Some(c) => self.succeeded >= c && self.active == 0,
        };
        if complete {
            self.finish = Some(Finish::success(
                REASON_COMPLETIONS_REACHED,
                COMPLETIONS_MESSAGE,
            ));
        } else {
            update_suspended(
                &mut self.d.status,
                &mut self.d.events,
                job.is_suspended(),
                self.now,
            );
        }
    }

    /// Step 8, finishing: a finishing Job counts every failure it saw (the delayed ones too),
    /// and settles every pod not yet counted and not finished (upstream
    /// `trackJobStatusAndRemoveFinalizers` with a finishing condition): the active ones just
    /// stopped, and those already being deleted that wait for a terminal phase
    /// (`podReplacementPolicy: Failed`). A failing Job counts them as failed unless an
    /// `Ignore` rule matches them; a succeeding Job never counts them.
    fn settle_unfinished_pods(&mut self) {
        let job = self.job;
        let success = self.finish.as_ref().is_some_and(|f| f.success);
        for (pod, counts) in self.new_failures.clone() {
            if !self.delayed.contains(pod.metadata.name()) {
                continue;
            }
            self.count(pod);
            if counts {
                self.status_failed = self.status_failed.saturating_add(1);
            }
        }
        let seen: HashSet<String> = self.d.counted.iter().cloned().collect();
        let new_failed: HashSet<&str> = self
            .class
            .new_failed
            .iter()
            .map(|p| p.metadata.name())
            .collect();
        let unsettled: Vec<&Pod> = self
            .pods
            .iter()
            .copied()
            .filter(|p| {
                !p.is_terminal()
                    && has_tracking_finalizer(p)
                    && !new_failed.contains(p.metadata.name())
                    && !seen.contains(p.metadata.name())
            })
            .collect();
        for pod in unsettled {
            self.count(pod);
            let ignored = job
                .spec
                .pod_failure_policy
                .as_ref()
                .and_then(|p| pfp::evaluate_rules(p, pod, job.namespace()))
                .is_some_and(|v| v.action == Action::Ignore);
            if !success && !ignored {
                self.status_failed = self.status_failed.saturating_add(1);
            }
        }
    }

    /// Step 8: the counters, the indexes, and the conditions — the interim one now, the
    /// terminal one (`Failed`/`Complete`, with `completionTime` and its event) once no pod is
    /// left terminating.
    fn write_status(mut self) -> Decision {
        let status = &mut self.d.status;
        status.active = self.active as i32;
        // Ready pods among those still active once this decision's stops are applied (upstream
        // subtracts the ready pods it deleted).
        let stopped: HashSet<&str> = self.d.stop.iter().map(|s| s.name.as_str()).collect();
        let ready = self
            .class
            .active
            .iter()
            .filter(|p| p.condition_true("Ready") && !stopped.contains(p.metadata.name()))
            .count();
        status.ready = Some(ready.min(self.active) as i32);
        status.terminating = Some(self.terminating as i32);
        status.failed = self.status_failed;
        status.succeeded = self.succeeded;
        if self.indexed {
            let text = self.completed.to_string();
            status.completed_indexes = (!text.is_empty()).then_some(text);
        }
        if self.per_index_limit.is_some() {
            status.failed_indexes = Some(self.failed_indexes.to_string());
        }
        status
            .uncounted_terminated_pods
            .get_or_insert_with(Default::default);
        if let Some(f) = self.finish {
            ensure(status, f.interim_type(), &f.reason, &f.message, self.now);
            if self.terminating == 0
                && ensure(status, f.terminal_type(), &f.reason, &f.message, self.now)
            {
                if f.success {
                    status.completion_time = Some(self.now);
                    self.d.events.push(JobEvent {
                        type_: "Normal",
                        reason: "Completed".into(),
                        message: "Job completed".into(),
                    });
                } else {
                    self.d.events.push(JobEvent {
                        type_: "Warning",
                        reason: f.reason.clone(),
                        message: f.message.clone(),
                    });
                }
                self.requeue = None;
            }
        }
        self.d.requeue_after = self.requeue;
        self.d
    }
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
