//! `manageJob` (upstream job_controller.go manageJob): how many pods the Job wants active, which surplus pods to stop
//! (least progressed first; for Indexed Jobs also pods with a bad, out-of-range, completed,
//! failed or duplicate index), and which pods to create — the lowest pending indexes first —
//! unless the failure back-off (global, or per index) holds creation back; an index in its own
//! back-off is not replaced by a higher one.

use super::backoff::BackoffRecord;
use super::classify::{PodClass, has_tracking_finalizer, only_replace_failed};
use super::indexed::{IndexSet, lowest_pending, pod_index};
use super::pod_failure_policy::{self as pfp, Action};
use super::{ControllerConfig, PodToCreate, PodToStop, StopReason, per_index_backoff};
use std::collections::HashMap;
use std::time::Duration;
use wasmjob_spec::{Job, PHASE_FAILED, PHASE_RUNNING, PHASE_SUCCEEDED, Pod, Time};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Managed {
    pub create: Vec<PodToCreate>,
    pub stop: Vec<PodToStop>,
    /// Active pods once this decision is applied.
    pub active: usize,
    pub requeue_after: Option<Duration>,
}

/// What `manage` needs besides the pods.
pub struct Progress<'a> {
    pub succeeded: i32,
    pub completed: &'a IndexSet,
    pub failed_indexes: &'a IndexSet,
}

/// The number of pods that should be active now.
pub fn wanted(job: &Job, succeeded: i32, active: usize) -> usize {
    if job.is_suspended() {
        return 0;
    }
    let parallelism = job.spec.parallelism.unwrap_or(1).max(0) as usize;
    match job.spec.completions {
        // Work queue: once one pod succeeded, start no more; let the others finish.
        None if succeeded > 0 => active,
        None => parallelism,
        Some(completions) => ((completions - succeeded).max(0) as usize).min(parallelism),
    }
}

pub fn manage(
    job: &Job,
    pods: &[&Pod],
    class: &PodClass<'_>,
    progress: &Progress<'_>,
    backoff: &BackoffRecord,
    config: &ControllerConfig,
    now: Time,
) -> Managed {
    let mut out = Managed::default();
    let stop = |p: &Pod| PodToStop {
        name: p.metadata.name().to_string(),
        reason: StopReason::ScaleDown,
    };
    let mut active: Vec<&Pod> = class.active.clone();
    if job.is_indexed() && !job.is_suspended() {
        let (keep, surplus) = split_indexed(job, &active, progress);
        out.stop.extend(surplus.into_iter().map(stop));
        active = keep;
    }
    let want = wanted(job, progress.succeeded, active.len());
    if active.len() > want {
        active.sort_by_key(|p| deletion_rank(p));
        let excess = active.len() - want;
        out.stop.extend(
            active
                .drain(..excess.min(config.max_pods_per_sync))
                .map(stop),
        );
    }
    out.active = active.len();
    if !out.stop.is_empty() {
        return out; // a sync that stops pods does not also create
    }
    let occupied = active.len()
        + if only_replace_failed(job) {
            class.terminating
        } else {
            0
        };
    let diff = want.saturating_sub(occupied).min(config.max_pods_per_sync);
    if diff == 0 {
        return out;
    }
    let per_index = job.is_indexed() && job.spec.backoff_limit_per_index.is_some();
    if !per_index {
        let remaining = backoff.remaining(config, now);
        if !remaining.is_zero() {
            out.requeue_after = Some(remaining.max(Duration::from_millis(1)));
            return out;
        }
    }
    if !job.is_indexed() {
        out.create = (0..diff).map(|_| PodToCreate::default()).collect();
        out.active += diff;
        return out;
    }
    // Indexed: the lowest pending indexes, skipping those still in their own back-off.
    let completions = job.spec.completions.unwrap_or(0);
    let mut busy: IndexSet = active.iter().filter_map(|p| pod_index(p)).collect();
    busy = busy.union(progress.failed_indexes);
    if only_replace_failed(job) {
        let terminating: IndexSet = pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_some() && !p.is_terminal())
            .filter_map(|p| pod_index(p))
            .collect();
        busy = busy.union(&terminating);
    }
    let last_failed = last_failed_by_index(job, pods);
    let mut wait: Option<Duration> = None;
    // The `diff` lowest pending indexes, then those still in their own back-off are dropped (not
    // replaced by higher indexes): upstream `firstPendingIndexes`, then
    // `getPodCreationInfoForIndependentIndexes` (upstream job_controller.go manageJob).
    for index in lowest_pending(completions, progress.completed, &busy, diff) {
        let previous = last_failed.get(&index);
        let mut new = PodToCreate {
            index: Some(index),
            ..Default::default()
        };
        if per_index {
            if let Some(p) = previous {
                let left = per_index_backoff::remaining(p, config, now);
                if !left.is_zero() {
                    wait = Some(wait.map_or(left, |w| w.min(left)));
                    continue;
                }
                let ignored = job
                    .spec
                    .pod_failure_policy
                    .as_ref()
                    .and_then(|policy| pfp::evaluate(policy, p, job.namespace()))
                    .is_some_and(|v| v.action == Action::Ignore);
                let (failed, ignored) = per_index_backoff::next_counts(p, ignored);
                new.failure_count = Some(failed);
                new.ignored_failure_count = Some(ignored);
            } else {
                new.failure_count = Some(0);
                new.ignored_failure_count = Some(0);
            }
        }
        out.create.push(new);
    }
    out.active += out.create.len();
    // Look again when the first held-back index may go (upstream requeues when nothing could be
    // created, and its pod-creation events bring the next sync otherwise).
    out.requeue_after = wait.map(|w| w.max(Duration::from_millis(1)));
    out
}

/// Splits active pods of an Indexed Job into those to keep and those to stop: pods without a
/// valid index below completions, pods of completed or failed indexes, and all but the most
/// progressed pod of a duplicated index.
fn split_indexed<'a>(
    job: &Job,
    active: &[&'a Pod],
    progress: &Progress<'_>,
) -> (Vec<&'a Pod>, Vec<&'a Pod>) {
    let completions = job.spec.completions.unwrap_or(0);
    let mut by_index: HashMap<i32, Vec<&'a Pod>> = HashMap::new();
    let mut surplus = Vec::new();
    for p in active {
        match pod_index(p).filter(|i| *i < completions) {
            Some(i) if !progress.completed.contains(i) && !progress.failed_indexes.contains(i) => {
                by_index.entry(i).or_default().push(p)
            }
            _ => surplus.push(*p),
        }
    }
    let mut keep = Vec::new();
    let mut indexes: Vec<i32> = by_index.keys().copied().collect();
    indexes.sort();
    for i in indexes {
        let mut group = by_index.remove(&i).unwrap_or_default();
        group.sort_by_key(|p| deletion_rank(p));
        if let Some(best) = group.pop() {
            keep.push(best);
        }
        surplus.extend(group);
    }
    (keep, surplus)
}

/// The last failed pod of each index, whose annotations carry the index's failure counts and
/// whose finish time starts its back-off (upstream `getPodsWithDelayedDeletionPerIndex`): failed
/// as counting sees it — phase `Failed`, or being deleted and not `Succeeded` unless
/// replacements wait for terminal pods (upstream batch/v1 types.go (Job), upstream job_controller.go (podReplacementPolicy)) — and not counted yet (the last
/// failure of an index still to run keeps its tracking finalizer until the replacement exists,
/// upstream indexed_job_utils.go (backoffLimitPerIndex); pods the controller stopped for scale-down or suspend lost it and pass nothing on), with
/// the highest `failure + ignored failure` count, the latest finish time among equals.
fn last_failed_by_index<'a>(job: &Job, pods: &[&'a Pod]) -> HashMap<i32, &'a Pod> {
    let wait_for_terminal = only_replace_failed(job);
    let failed = |p: &Pod| {
        has_tracking_finalizer(p)
            && (p.phase() == PHASE_FAILED
                || (p.metadata.deletion_timestamp.is_some()
                    && p.phase() != PHASE_SUCCEEDED
                    && !wait_for_terminal))
    };
    let rank = |p: &Pod| {
        let count = i64::from(per_index_backoff::failure_count(p))
            + i64::from(per_index_backoff::ignored_failure_count(p));
        (count, super::classify::finish_time(p))
    };
    let mut out: HashMap<i32, &Pod> = HashMap::new();
    for &p in pods.iter().filter(|p| failed(p)) {
        if let Some(i) = pod_index(p)
            && out.get(&i).is_none_or(|q| rank(q) <= rank(p))
        {
            out.insert(i, p);
        }
    }
    out
}

type Rank = (
    u8,
    u8,
    std::cmp::Reverse<i64>,
    std::cmp::Reverse<i32>,
    std::cmp::Reverse<i64>,
);

/// Sort key: the least progressed pod first (upstream `ActivePodsWithRanks`): pending before
/// running, not ready before ready, ready for less time first, more restarts first, newer first.
fn deletion_rank(pod: &Pod) -> Rank {
    let running = u8::from(pod.phase() == PHASE_RUNNING);
    let ready_cond = pod.condition("Ready").filter(|c| c.status == "True");
    let ready = u8::from(ready_cond.is_some());
    let ready_since = ready_cond
        .and_then(|c| c.last_transition_time)
        .map(|t| t.as_millis())
        .unwrap_or(0);
    let restarts: i32 = pod
        .status
        .container_statuses
        .iter()
        .map(|s| s.restart_count)
        .sum();
    let created = pod
        .metadata
        .creation_timestamp
        .map(|t| t.as_millis())
        .unwrap_or(0);
    (
        running,
        ready,
        std::cmp::Reverse(ready_since),
        std::cmp::Reverse(restarts),
        std::cmp::Reverse(created),
    )
}
