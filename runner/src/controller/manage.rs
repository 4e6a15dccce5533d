//! `manageJob` (upstream §8): how many pods the Job wants active, which surplus pods to stop
//! (least progressed first), and how many to create — unless the failure back-off holds
//! creation back.

use super::backoff::BackoffRecord;
use super::classify::{PodClass, only_replace_failed};
use super::{ControllerConfig, PodToCreate, PodToStop, StopReason};
use std::time::Duration;
use wasmjob_spec::{Job, PHASE_RUNNING, Pod, Time};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Managed {
    pub create: Vec<PodToCreate>,
    pub stop: Vec<PodToStop>,
    /// Active pods once this decision is applied.
    pub active: usize,
    pub requeue_after: Option<Duration>,
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
    class: &PodClass<'_>,
    succeeded: i32,
    backoff: &BackoffRecord,
    config: &ControllerConfig,
    now: Time,
) -> Managed {
    let active = class.active.len();
    let want = wanted(job, succeeded, active);
    let mut out = Managed {
        active,
        ..Default::default()
    };
    if active > want {
        let mut victims: Vec<&Pod> = class.active.clone();
        victims.sort_by_key(|p| deletion_rank(p));
        for pod in victims
            .into_iter()
            .take((active - want).min(config.max_pods_per_sync))
        {
            out.stop.push(PodToStop {
                name: pod.metadata.name().to_string(),
                reason: StopReason::ScaleDown,
            });
        }
        out.active = active - out.stop.len();
        return out;
    }
    let occupied = active
        + if only_replace_failed(job) {
            class.terminating
        } else {
            0
        };
    let diff = want.saturating_sub(occupied);
    if diff == 0 {
        return out;
    }
    let remaining = backoff.remaining(config, now);
    if !remaining.is_zero() {
        out.requeue_after = Some(remaining.max(Duration::from_millis(1)));
        return out;
    }
    let n = diff.min(config.max_pods_per_sync);
    out.create = (0..n).map(|_| PodToCreate { index: None }).collect();
    out.active = active + n;
    if n < diff {
        out.requeue_after = Some(Duration::ZERO);
    }
    out
}

/// Sort key: the least progressed pod first (upstream `ActivePodsWithRanks`): pending before
/// running, not ready before ready, ready for less time first, more restarts first, newer first.
fn deletion_rank(
    pod: &Pod,
) -> (
    u8,
    u8,
    std::cmp::Reverse<i64>,
    std::cmp::Reverse<i32>,
    std::cmp::Reverse<i64>,
) {
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
