//! Crash recovery: what a pod becomes when the controller that ran it died (`kill -9`, power
//! loss). Like pods on a lost node in Kubernetes (PodGC), a pod that had started is Failed
//! with a `DisruptionTarget` condition, its unfinished containers terminated with
//! `ContainerStatusUnknown`; a pod that was only waiting for capacity simply runs again.

use wasmjob_spec::*;

/// What to do with a stored pod when its Job is taken over after a crash.
#[derive(Debug, PartialEq)]
pub enum Recovered {
    /// Terminal already: nothing to do.
    Finished,
    /// Never started: start it now.
    Restart,
    /// It was running when its controller died: store this status.
    Lost(PodStatus),
}

pub fn recover(pod: &Pod, now: Time) -> Recovered {
    let s = &pod.status;
    match s.phase.as_deref() {
        Some(PHASE_SUCCEEDED) | Some(PHASE_FAILED) => return Recovered::Finished,
        Some(PHASE_PENDING) | None
            if s.start_time.is_none() && pod.metadata.deletion_timestamp.is_none() =>
        {
            return Recovered::Restart;
        }
        _ => {}
    }
    let mut status = s.clone();
    status.phase = Some(PHASE_FAILED.into());
    for cs in status
        .init_container_statuses
        .iter_mut()
        .chain(status.container_statuses.iter_mut())
    {
        if cs.state.terminated.is_some() {
            continue;
        }
        let started_at = cs.state.running.as_ref().and_then(|r| r.started_at);
        cs.state = ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: 137,
                reason: Some("ContainerStatusUnknown".into()),
                message: Some(
                    "The container could not be located when the pod was terminated".into(),
                ),
                started_at,
                finished_at: Some(now),
                ..Default::default()
            }),
            ..Default::default()
        };
        cs.ready = false;
        cs.started = Some(false);
    }
    let mut set = |type_: &str, status_: bool, reason: &str, message: Option<&str>| {
        let c = PodCondition {
            type_: type_.into(),
            status: if status_ { "True" } else { "False" }.into(),
            last_probe_time: None,
            last_transition_time: Some(now),
            reason: Some(reason.into()),
            message: message.map(Into::into),
        };
        match status.conditions.iter_mut().find(|x| x.type_ == type_) {
            Some(x) => *x = c,
            None => status.conditions.push(c),
        }
    };
    set("Ready", false, "PodFailed", None);
    set("ContainersReady", false, "PodFailed", None);
    if pod.metadata.deletion_timestamp.is_none() {
        set(
            "DisruptionTarget",
            true,
            "DeletionByPodGC",
            Some("PodGC: node no longer exists"),
        );
    }
    Recovered::Lost(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(phase: &str, started: bool) -> Pod {
        let mut p: Pod = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "x.wasm"}]}
        }))
        .unwrap();
        p.status.phase = Some(phase.into());
        if started {
            p.status.start_time = Some(Time::from_millis(1));
            p.status.container_statuses.push(ContainerStatus {
                name: "c".into(),
                state: ContainerState {
                    running: Some(ContainerStateRunning {
                        started_at: Some(Time::from_millis(2)),
                    }),
                    ..Default::default()
                },
                ..Default::default()
            });
        }
        p
    }

    #[test]
    fn a_running_pod_is_lost_with_a_disruption_target() {
        let Recovered::Lost(s) = recover(&pod(PHASE_RUNNING, true), Time::from_millis(9)) else {
            panic!("not lost");
        };
        assert_eq!(s.phase.as_deref(), Some(PHASE_FAILED));
        let d = s
            .conditions
            .iter()
            .find(|c| c.type_ == "DisruptionTarget")
            .unwrap();
        assert_eq!(
            (d.status.as_str(), d.reason.as_deref()),
            ("True", Some("DeletionByPodGC"))
        );
        let t = s.container_statuses[0].state.terminated.as_ref().unwrap();
        assert_eq!(t.exit_code, 137);
        assert_eq!(t.reason.as_deref(), Some("ContainerStatusUnknown"));
        assert_eq!(t.started_at, Some(Time::from_millis(2)));
        assert_eq!(t.finished_at, Some(Time::from_millis(9)));
    }

    #[test]
    fn a_waiting_pod_runs_again_and_a_finished_one_stays() {
        assert_eq!(
            recover(&pod(PHASE_PENDING, false), Time::from_millis(9)),
            Recovered::Restart
        );
        assert_eq!(
            recover(&pod(PHASE_SUCCEEDED, true), Time::from_millis(9)),
            Recovered::Finished
        );
        assert_eq!(
            recover(&pod(PHASE_FAILED, true), Time::from_millis(9)),
            Recovered::Finished
        );
    }

    #[test]
    fn a_pod_being_stopped_fails_without_a_disruption_target() {
        let mut p = pod(PHASE_RUNNING, true);
        p.metadata.deletion_timestamp = Some(Time::from_millis(5));
        let Recovered::Lost(s) = recover(&p, Time::from_millis(9)) else {
            panic!("not lost");
        };
        assert!(s.conditions.iter().all(|c| c.type_ != "DisruptionTarget"));
    }
}
