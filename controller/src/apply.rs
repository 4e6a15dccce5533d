//! The one application of a [`Decision`] to a Job and its pods, used by the manager (which then
//! stores the result and starts and stops pods) and by the conformance simulator alike, so the
//! scenarios exercise the code that runs. In the order the upstream controller's `syncJob`
//! writes them (`pkg/controller/job/job_controller.go`): counted pods lose their tracking
//! finalizer, pods to stop are marked for deletion (`deletionTimestamp`, the grace period of
//! their spec), new pods are made from the template, the Job's status and back-off record are
//! replaced. The events to record come back in that order, `SuccessfulDelete` and
//! `SuccessfulCreate` first, as the upstream controller's recorder emits them.
//!
//! Must not: store, start or stop anything — [`Applied`] says what the caller must do.

use crate::pods::{Identities, new_pod};
use crate::{BackoffRecord, Decision, JobEvent, StopReason};
use std::time::Duration;
use wasmjob_spec::{Job, Pod, TRACKING_FINALIZER, Time};

/// A Job's pods as the one applying decisions keeps them.
pub trait JobPods {
    /// The pod named `name`, to change.
    fn pod_mut(&mut self, name: &str) -> Option<&mut Pod>;
    /// Whether a pod of this name exists in the Job's namespace.
    fn name_taken(&self, name: &str) -> bool;
    /// Takes a new pod.
    fn add(&mut self, pod: Pod);
    /// Told after a change that may finish or count the pod (a counted pod's finalizer went).
    fn changed(&mut self, _name: &str) {}
}

/// What applying a decision asks of the caller.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Applied {
    /// Existing pods now marked for deletion, to stop, with why.
    pub stop: Vec<(String, StopReason)>,
    /// The new pods (added to the pods), to start once stored, in the decision's order.
    pub created: Vec<String>,
    /// Pods whose outcome is now counted (their finalizer is gone).
    pub counted: Vec<String>,
    /// The events to record on the Job, in order.
    pub events: Vec<JobEvent>,
    /// The decision finished the Job (it has a `Complete` or `Failed` condition now and had
    /// none before).
    pub finished: bool,
    /// Look again after this long even if nothing happens.
    pub requeue_after: Option<Duration>,
}

/// Applies `decision` to `job`, its back-off record and its `pods` at `now`; new pods get
/// their uids and names from `ids`.
pub fn apply(
    job: &mut Job,
    backoff: &mut BackoffRecord,
    pods: &mut impl JobPods,
    decision: Decision,
    ids: &mut dyn Identities,
    now: Time,
) -> Applied {
    let mut applied = Applied {
        requeue_after: decision.requeue_after,
        finished: !job.is_finished() && decision.status.is_finished(),
        ..Default::default()
    };
    for name in &decision.counted {
        if let Some(p) = pods.pod_mut(name) {
            p.metadata.finalizers.retain(|f| f != TRACKING_FINALIZER);
            applied.counted.push(name.clone());
        }
    }
    for s in &decision.stop {
        if let Some(p) = pods.pod_mut(&s.name) {
            p.metadata.deletion_timestamp.get_or_insert(now);
            p.metadata.deletion_grace_period_seconds =
                Some(p.spec.termination_grace_period_seconds.unwrap_or(30));
            applied.stop.push((s.name.clone(), s.reason));
            applied.events.push(event(
                "Normal",
                "SuccessfulDelete",
                format!("Deleted pod: {}", s.name),
            ));
        }
    }
    for want in &decision.create {
        let pod = new_pod(job, want, ids, now, &|n| pods.name_taken(n));
        let name = pod.metadata.name().to_string();
        applied.events.push(event(
            "Normal",
            "SuccessfulCreate",
            format!("Created pod: {name}"),
        ));
        pods.add(pod);
        applied.created.push(name);
    }
    applied.events.extend(decision.events);
    job.status = Some(decision.status);
    *backoff = decision.backoff;
    for name in &applied.counted {
        pods.changed(name);
    }
    applied
}

fn event(type_: &'static str, reason: &str, message: String) -> JobEvent {
    JobEvent {
        type_,
        reason: reason.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PodToCreate, PodToStop};
    use wasmjob_spec::JobStatus;

    struct Pods(Vec<Pod>, Vec<String>);

    impl JobPods for Pods {
        fn pod_mut(&mut self, name: &str) -> Option<&mut Pod> {
            self.0.iter_mut().find(|p| p.metadata.name() == name)
        }
        fn name_taken(&self, name: &str) -> bool {
            self.0.iter().any(|p| p.metadata.name() == name)
        }
        fn add(&mut self, pod: Pod) {
            self.0.push(pod);
        }
        fn changed(&mut self, name: &str) {
            self.1.push(name.to_string());
        }
    }

    #[derive(Default)]
    struct Counter {
        uids: u32,
        names: u32,
    }

    impl Identities for Counter {
        fn uid(&mut self) -> String {
            self.uids += 1;
            format!("uid-{}", self.uids)
        }
        fn name_suffix(&mut self) -> String {
            self.names += 1;
            // The first is a taken name: another is drawn.
            if self.names == 1 {
                "aaaaa".into()
            } else {
                format!("{:05}", self.names)
            }
        }
    }

    fn pod(name: &str, finalizer: bool) -> Pod {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        if finalizer {
            p.metadata.finalizers.push(TRACKING_FINALIZER.into());
        }
        p
    }

    #[test]
    fn a_decision_counts_stops_creates_and_sets_the_status_in_order() {
        let mut job: Job = serde_json::from_value(serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "j", "namespace": "default", "uid": "job-uid"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "c", "image": "x.wasm"}]}}}
        }))
        .unwrap();
        let mut pods = Pods(vec![pod("j-aaaaa", true), pod("j-bbbbb", true)], vec![]);
        let mut backoff = BackoffRecord::default();
        let now = Time::from_millis(1_000);
        let mut status = JobStatus {
            succeeded: 1,
            ..Default::default()
        };
        status.ready = Some(0);
        let decision = Decision {
            status: status.clone(),
            backoff: BackoffRecord {
                failures_after_last_success: 2,
                ..Default::default()
            },
            create: vec![PodToCreate::default()],
            stop: vec![
                PodToStop {
                    name: "j-bbbbb".into(),
                    reason: StopReason::ScaleDown,
                },
                PodToStop {
                    name: "gone".into(),
                    reason: StopReason::ScaleDown,
                },
            ],
            counted: vec!["j-aaaaa".into()],
            requeue_after: Some(Duration::from_secs(3)),
            events: vec![event("Normal", "Completed", "Job completed".into())],
        };
        let applied = apply(
            &mut job,
            &mut backoff,
            &mut pods,
            decision,
            &mut Counter::default(),
            now,
        );
        assert!(pods.0[0].metadata.finalizers.is_empty(), "counted");
        assert_eq!(pods.1, ["j-aaaaa"], "told of the counted pod");
        assert_eq!(pods.0[1].metadata.deletion_timestamp, Some(now));
        assert_eq!(pods.0[1].metadata.deletion_grace_period_seconds, Some(30));
        let created = &pods.0[2];
        assert_eq!(created.metadata.name(), "j-00002", "a free name");
        assert_eq!(created.metadata.uid(), "uid-1");
        assert_eq!(applied.created, ["j-00002"]);
        assert_eq!(
            applied.stop,
            [("j-bbbbb".to_string(), StopReason::ScaleDown)]
        );
        let reasons: Vec<&str> = applied.events.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(
            reasons,
            ["SuccessfulDelete", "SuccessfulCreate", "Completed"]
        );
        assert_eq!(job.status, Some(status));
        assert_eq!(backoff.failures_after_last_success, 2);
        assert_eq!(applied.requeue_after, Some(Duration::from_secs(3)));
        assert!(!applied.finished);
    }
}
