//! Pod classification, the first thing every sync does (upstream `job_controller.go`): which
//! pods are active, terminating, ready, and which finished pods are not yet counted (they
//! still carry the tracking finalizer).

use wasmjob_spec::{
    Job, PHASE_FAILED, PHASE_PENDING, PHASE_RUNNING, PHASE_SUCCEEDED, Pod, TRACKING_FINALIZER, Time,
};

/// The Job's pods, sorted into the sets the rules need.
#[derive(Debug, Default)]
pub struct PodClass<'a> {
    /// Not terminal and not being deleted.
    pub active: Vec<&'a Pod>,
    /// Being deleted (stop requested) and not yet terminal.
    pub terminating: usize,
    /// Active pods whose `Ready` condition is `True`.
    pub ready: usize,
    /// Succeeded and not yet counted.
    pub new_succeeded: Vec<&'a Pod>,
    /// Failed (or being deleted, when replacements do not wait) and not yet counted.
    pub new_failed: Vec<&'a Pod>,
    /// Sum of container restarts over pods still Pending or Running (restartPolicy OnFailure).
    pub running_restarts: i64,
}

pub fn has_tracking_finalizer(pod: &Pod) -> bool {
    pod.metadata
        .finalizers
        .iter()
        .any(|f| f == TRACKING_FINALIZER)
}

/// Whether replacements wait until a deleted pod is terminal (`podReplacementPolicy: Failed`).
pub fn only_replace_failed(job: &Job) -> bool {
    job.spec.pod_replacement_policy.as_deref() == Some("Failed")
}

pub fn classify<'a>(job: &Job, pods: &[&'a Pod]) -> PodClass<'a> {
    let mut c = PodClass::default();
    let wait_for_terminal = only_replace_failed(job);
    for &pod in pods {
        let deleting = pod.metadata.deletion_timestamp.is_some();
        let phase = pod.phase();
        let terminal = pod.is_terminal();
        if !terminal && !deleting {
            c.active.push(pod);
            if pod.condition_true("Ready") {
                c.ready += 1;
            }
        }
        if !terminal && deleting {
            c.terminating += 1;
        }
        if matches!(phase, PHASE_PENDING | PHASE_RUNNING) {
            let statuses = pod
                .status
                .init_container_statuses
                .iter()
                .chain(&pod.status.container_statuses);
            c.running_restarts += statuses.map(|s| s.restart_count.max(0) as i64).sum::<i64>();
        }
        if !has_tracking_finalizer(pod) {
            continue;
        }
        if phase == PHASE_SUCCEEDED {
            c.new_succeeded.push(pod);
        } else if phase == PHASE_FAILED || (deleting && !wait_for_terminal) {
            c.new_failed.push(pod);
        }
    }
    c
}

/// When a pod finished (upstream `getFinishedTime`, upstream backoff_utils.go): the latest `finishedAt` of
/// its containers when every container terminated; else the last transition of its `Ready`
/// condition to `False`; else the moment its deletion was asked for, `deletionTimestamp −
/// deletionGracePeriodSeconds`; else its creation.
pub fn finish_time(pod: &Pod) -> Time {
    containers_finished_at(pod)
        .or_else(|| {
            pod.condition("Ready")
                .filter(|c| c.status == "False")
                .and_then(|c| c.last_transition_time)
        })
        .or_else(|| {
            let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(0);
            pod.metadata
                .deletion_timestamp
                .map(|t| t.plus_millis(grace.saturating_mul(-1000)))
        })
        .or(pod.metadata.creation_timestamp)
        .unwrap_or(Time::from_millis(0))
}

/// The latest `finishedAt` of the (non-init) containers, when all of them terminated with one.
fn containers_finished_at(pod: &Pod) -> Option<Time> {
    let mut latest = None;
    for cs in &pod.status.container_statuses {
        let t = cs.state.terminated.as_ref()?.finished_at?;
        latest = latest.max(Some(t));
    }
    latest
}
