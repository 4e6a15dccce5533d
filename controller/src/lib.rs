//! wasmjob-controller: the Job controller as a pure function. Given a Job, its Pods, the
//! back-off record and the current time, [`reconcile`] returns a [`Decision`]: pods to create,
//! pods to stop, pods whose outcome is now counted, the new status, and when to look again.
//! [`apply`] applies a decision to the Job and its pods — the one application, which the
//! manager and the conformance simulator (`tests/conformance.rs`) both use — and [`pods`]
//! makes a Job's pods from its template.
//!
//! Every Kubernetes Job rule lives here and only here, one file per rule, with `reconcile.rs`
//! holding only the order of decisions. Must not: do I/O, read a clock (a `clippy.toml`
//! `disallowed-methods` entry holds it), or know wasmtime, tokio or the store: it depends on
//! `wasmjob-spec` and serde only.

mod apply;
mod backoff;
mod classify;
mod conditions;
mod deadline;
mod manage;
mod reconcile;

pub mod indexed;
pub mod per_index_backoff;
pub mod pod_failure_policy;
pub mod pods;
pub mod success_policy;
pub mod ttl;

pub use apply::{Applied, JobPods, apply};
pub use backoff::{BackoffRecord, delay_for};
pub use classify::PodClass;
pub use pods::{Identities, new_pod};
pub use reconcile::{reconcile, reconcile_pods};

use std::time::Duration;
use wasmjob_spec::{JobStatus, Time};

/// Tunables of the controller. Defaults are Kubernetes'.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerConfig {
    /// First delay before re-creating pods after a failure; doubles with each further failure
    /// since the last success. Kubernetes: 10 s.
    pub backoff_base: Duration,
    /// Cap of that delay. Kubernetes' controller: 10 min (`MaxJobPodFailureBackOff`; its docs
    /// still say six minutes, the figure of releases before 1.27).
    pub backoff_max: Duration,
    /// Most pods created or stopped in one reconcile (Kubernetes: 500).
    pub max_pods_per_sync: usize,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(600),
            max_pods_per_sync: 500,
        }
    }
}

/// A pod the controller wants created from the Job's template.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodToCreate {
    /// Completion index (Indexed jobs).
    pub index: Option<i32>,
    /// `batch.kubernetes.io/job-index-failure-count` (jobs with `backoffLimitPerIndex`).
    pub failure_count: Option<i32>,
    /// `batch.kubernetes.io/job-index-ignored-failure-count`, written when above 0.
    pub ignored_failure_count: Option<i32>,
}

/// Why a pod is stopped, which decides how it is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The Job failed: the pod is counted as failed.
    JobFailed,
    /// The Job met its success criteria: the pod is not counted.
    JobSucceeded,
    /// Too many pods for parallelism or completions (or suspend): not counted.
    ScaleDown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodToStop {
    pub name: String,
    pub reason: StopReason,
}

/// An event to record on the Job (`kubectl describe` shows them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobEvent {
    /// `Normal` or `Warning`.
    pub type_: &'static str,
    pub reason: String,
    pub message: String,
}

/// What one reconcile decided. The caller applies it atomically: store first, then effects.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Decision {
    pub status: JobStatus,
    pub backoff: BackoffRecord,
    pub create: Vec<PodToCreate>,
    pub stop: Vec<PodToStop>,
    /// Pods whose outcome this decision accounts for (their tracking finalizer goes away in the
    /// same write as the new counters).
    pub counted: Vec<String>,
    /// Look again after this long even if nothing happens (back-off expiry, deadline).
    pub requeue_after: Option<Duration>,
    pub events: Vec<JobEvent>,
}

impl Decision {
    /// Whether applying this decision changes nothing.
    pub fn is_noop(&self, old: &JobStatus, old_backoff: &BackoffRecord) -> bool {
        self.create.is_empty()
            && self.stop.is_empty()
            && self.counted.is_empty()
            && self.events.is_empty()
            && &self.status == old
            && &self.backoff == old_backoff
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn duration_between(from: Time, to: Time) -> Duration {
    Duration::from_millis(from.millis_until(to).max(0) as u64)
}

#[cfg(test)]
mod tests;
