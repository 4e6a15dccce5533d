//! Scenario tests of `reconcile` on a virtual clock: each case is data (a sentence, what
//! differs from a default Job, the pods, and what the decision must be). Expectations come from
//! the upstream Job controller's rules (upstream job_controller.go syncJob–upstream job_controller.go deleteActivePods) and its `job_controller_test.go`.

use super::*;
use wasmjob_spec::*;

const T0: i64 = 1_000_000; // seconds; the Job's startTime in most cases

fn at(secs: f64) -> Time {
    Time::from_millis((secs * 1000.0) as i64)
}

#[derive(Clone, Copy)]
enum P {
    Running,
    Pending,
    /// Succeeded at the given second, not yet counted.
    Ok(f64),
    /// Failed at the given second, not yet counted.
    Fail(f64),
    /// Failed and already counted (no finalizer).
    CountedFail(f64),
    /// Being stopped (deletionTimestamp), already counted.
    Stopping,
    /// Running with this many container restarts.
    Restarted(i32),
    Ready,
}

fn pod(i: usize, p: P) -> Pod {
    let mut pod = Pod::default();
    pod.metadata.name = Some(format!("p{i}"));
    pod.metadata.creation_timestamp = Some(at(T0 as f64 + i as f64));
    pod.metadata.finalizers = vec![TRACKING_FINALIZER.to_string()];
    let terminated = |code: i32, t: f64| ContainerStatus {
        name: "c".into(),
        state: ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: code,
                finished_at: Some(at(t)),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let phase = match p {
        P::Running | P::Ready => PHASE_RUNNING,
        P::Restarted(n) => {
            pod.status.container_statuses = vec![ContainerStatus {
                name: "c".into(),
                restart_count: n,
                ..Default::default()
            }];
            PHASE_RUNNING
        }
        P::Pending => PHASE_PENDING,
        P::Ok(t) => {
            pod.status.container_statuses = vec![terminated(0, t)];
            PHASE_SUCCEEDED
        }
        P::Fail(t) | P::CountedFail(t) => {
            pod.status.container_statuses = vec![terminated(1, t)];
            PHASE_FAILED
        }
        P::Stopping => {
            pod.metadata.deletion_timestamp = Some(at(T0 as f64));
            PHASE_RUNNING
        }
    };
    if matches!(p, P::CountedFail(_) | P::Stopping) {
        pod.metadata.finalizers.clear();
    }
    if matches!(p, P::Ready) {
        pod.status.conditions.push(PodCondition {
            type_: "Ready".into(),
            status: "True".into(),
            ..Default::default()
        });
    }
    pod.status.phase = Some(phase.to_string());
    pod
}

struct Case {
    name: &'static str,
    job: fn(&mut Job),
    pods: Vec<P>,
    /// Status counters already recorded: (succeeded, failed).
    counted: (i32, i32),
    backoff: BackoffRecord,
    now: f64,
    want: Want,
}

#[derive(Debug, PartialEq, Default)]
struct Want {
    create: usize,
    stop: Vec<(&'static str, StopReason)>,
    active: i32,
    succeeded: i32,
    failed: i32,
    terminating: i32,
    ready: i32,
    /// (type, reason) of every condition, in order.
    conditions: Vec<(&'static str, &'static str)>,
    requeue_secs: Option<f64>,
}

fn base_job(j: &mut Job) {
    j.api_version = "batch/v1".into();
    j.kind = "Job".into();
    j.metadata.name = Some("job".into());
    j.spec.template.spec.restart_policy = Some("Never".into());
    wasmjob_spec::defaults::apply(j);
    j.status = Some(JobStatus {
        start_time: Some(at(T0 as f64)),
        ..Default::default()
    });
}

fn none(_: &mut Job) {}

fn cases() -> Vec<Case> {
    let fresh = |j: &mut Job| j.status = None;
    let _ = fresh;
    vec![
        Case {
            name: "a new job creates min(parallelism, completions) pods",
            job: |j| {
                j.spec.completions = Some(5);
                j.spec.parallelism = Some(2);
            },
            pods: vec![],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64,
            want: Want {
                create: 2,
                active: 2,
                ..Default::default()
            },
        },
        Case {
            name: "parallelism 0 creates no pod and does not complete",
            job: |j| {
                j.spec.parallelism = Some(0);
            },
            pods: vec![],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64,
            want: Want::default(),
        },
        Case {
            name: "never more pods than remaining completions",
            job: |j| {
                j.spec.completions = Some(5);
                j.spec.parallelism = Some(4);
            },
            pods: vec![P::Running],
            counted: (3, 0),
            backoff: Default::default(),
            now: T0 as f64,
            want: Want {
                create: 1,
                active: 2,
                succeeded: 3,
                ..Default::default()
            },
        },
        Case {
            name: "a work queue starts parallelism pods",
            job: |j| {
                j.spec.completions = None;
                j.spec.parallelism = Some(3);
            },
            pods: vec![],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64,
            want: Want {
                create: 3,
                active: 3,
                ..Default::default()
            },
        },
        Case {
            name: "a work queue starts no pod after a success and waits for the others",
            job: |j| {
                j.spec.completions = None;
                j.spec.parallelism = Some(3);
            },
            pods: vec![P::Ok(T0 as f64 + 1.0), P::Running],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64 + 2.0,
            want: Want {
                active: 1,
                succeeded: 1,
                ..Default::default()
            },
        },
        Case {
            name: "a work queue completes once one succeeded and none is active",
            job: |j| {
                j.spec.completions = None;
                j.spec.parallelism = Some(2);
            },
            pods: vec![P::Ok(T0 as f64 + 1.0), P::Fail(T0 as f64 + 1.5)],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64 + 2.0,
            want: Want {
                succeeded: 1,
                failed: 1,
                conditions: vec![
                    ("SuccessCriteriaMet", "CompletionsReached"),
                    ("Complete", "CompletionsReached"),
                ],
                ..Default::default()
            },
        },
        Case {
            name: "fixed completions complete at the last success",
            job: |j| {
                j.spec.completions = Some(3);
                j.spec.parallelism = Some(3);
            },
            pods: vec![P::Ok(T0 as f64 + 1.0)],
            counted: (2, 0),
            backoff: Default::default(),
            now: T0 as f64 + 2.0,
            want: Want {
                succeeded: 3,
                conditions: vec![
                    ("SuccessCriteriaMet", "CompletionsReached"),
                    ("Complete", "CompletionsReached"),
                ],
                ..Default::default()
            },
        },
        Case {
            name: "completions 0 completes at once without pods",
            job: |j| {
                j.spec.completions = Some(0);
            },
            pods: vec![],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64,
            want: Want {
                conditions: vec![
                    ("SuccessCriteriaMet", "CompletionsReached"),
                    ("Complete", "CompletionsReached"),
                ],
                ..Default::default()
            },
        },
        Case {
            name: "a failure delays the replacement by the back-off base (10 s)",
            job: none,
            pods: vec![P::Fail(T0 as f64 + 1.0)],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64 + 2.0,
            want: Want {
                failed: 1,
                requeue_secs: Some(9.0),
                ..Default::default()
            },
        },
        Case {
            name: "the replacement is created once the back-off has elapsed",
            job: none,
            pods: vec![P::CountedFail(T0 as f64 + 1.0)],
            counted: (0, 1),
            backoff: BackoffRecord {
                failures_after_last_success: 1,
                last_failure_time: Some(at(T0 as f64 + 1.0)),
            },
            now: T0 as f64 + 11.0,
            want: Want {
                create: 1,
                active: 1,
                failed: 1,
                ..Default::default()
            },
        },
        Case {
            name: "the second failure doubles the delay to 20 s",
            job: none,
            pods: vec![P::CountedFail(T0 as f64 + 1.0), P::Fail(T0 as f64 + 12.0)],
            counted: (0, 1),
            backoff: BackoffRecord {
                failures_after_last_success: 1,
                last_failure_time: Some(at(T0 as f64 + 1.0)),
            },
            now: T0 as f64 + 12.0,
            want: Want {
                failed: 2,
                requeue_secs: Some(20.0),
                ..Default::default()
            },
        },
        Case {
            name: "backoffLimit 2: the third failure fails the Job (failed > backoffLimit)",
            job: |j| {
                j.spec.backoff_limit = Some(2);
            },
            pods: vec![
                P::CountedFail(T0 as f64),
                P::CountedFail(T0 as f64 + 10.0),
                P::Fail(T0 as f64 + 30.0),
            ],
            counted: (0, 2),
            backoff: Default::default(),
            now: T0 as f64 + 31.0,
            want: Want {
                failed: 3,
                conditions: vec![
                    ("FailureTarget", "BackoffLimitExceeded"),
                    ("Failed", "BackoffLimitExceeded"),
                ],
                ..Default::default()
            },
        },
        Case {
            name: "backoffLimit 0: the first failure fails the Job and running pods are stopped and counted",
            job: |j| {
                j.spec.backoff_limit = Some(0);
                j.spec.parallelism = Some(2);
                j.spec.completions = Some(2);
            },
            pods: vec![P::Fail(T0 as f64 + 1.0), P::Running],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64 + 2.0,
            want: Want {
                failed: 2,
                terminating: 1,
                stop: vec![("p1", StopReason::JobFailed)],
                conditions: vec![("FailureTarget", "BackoffLimitExceeded")],
                ..Default::default()
            },
        },
        Case {
            name: "Failed waits until stopped pods have terminated",
            job: |j| {
                let s = j.status.as_mut().unwrap();
                s.conditions.push(conditions::new_condition(
                    "FailureTarget",
                    "True",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    at(T0 as f64),
                ));
            },
            pods: vec![P::Stopping],
            counted: (0, 2),
            backoff: Default::default(),
            now: T0 as f64 + 3.0,
            want: Want {
                failed: 2,
                terminating: 1,
                conditions: vec![("FailureTarget", "BackoffLimitExceeded")],
                ..Default::default()
            },
        },
        Case {
            name: "Failed follows FailureTarget once nothing is terminating",
            job: |j| {
                let s = j.status.as_mut().unwrap();
                s.conditions.push(conditions::new_condition(
                    "FailureTarget",
                    "True",
                    "DeadlineExceeded",
                    deadline::MESSAGE,
                    at(T0 as f64),
                ));
            },
            pods: vec![P::CountedFail(T0 as f64 + 2.0)],
            counted: (0, 1),
            backoff: Default::default(),
            now: T0 as f64 + 3.0,
            want: Want {
                failed: 1,
                conditions: vec![
                    ("FailureTarget", "DeadlineExceeded"),
                    ("Failed", "DeadlineExceeded"),
                ],
                ..Default::default()
            },
        },
        Case {
            name: "activeDeadlineSeconds stops running pods and counts them as failed",
            job: |j| {
                j.spec.active_deadline_seconds = Some(2);
            },
            pods: vec![P::Running],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64 + 2.0,
            want: Want {
                failed: 1,
                terminating: 1,
                stop: vec![("p0", StopReason::JobFailed)],
                conditions: vec![("FailureTarget", "DeadlineExceeded")],
                ..Default::default()
            },
        },
        Case {
            name: "before the deadline a wake-up is scheduled for it",
            job: |j| {
                j.spec.active_deadline_seconds = Some(30);
            },
            pods: vec![P::Running],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64 + 10.0,
            want: Want {
                active: 1,
                requeue_secs: Some(20.0),
                ..Default::default()
            },
        },
        Case {
            name: "a deadline inside a back-off wait fails the Job without creating a pod",
            job: |j| {
                j.spec.active_deadline_seconds = Some(5);
            },
            pods: vec![P::CountedFail(T0 as f64 + 1.0)],
            counted: (0, 1),
            backoff: BackoffRecord {
                failures_after_last_success: 1,
                last_failure_time: Some(at(T0 as f64 + 1.0)),
            },
            now: T0 as f64 + 5.0,
            want: Want {
                failed: 1,
                conditions: vec![
                    ("FailureTarget", "DeadlineExceeded"),
                    ("Failed", "DeadlineExceeded"),
                ],
                ..Default::default()
            },
        },
        Case {
            name: "the backoff limit wins over the deadline when both hold",
            job: |j| {
                j.spec.active_deadline_seconds = Some(5);
                j.spec.backoff_limit = Some(0);
            },
            pods: vec![P::Fail(T0 as f64 + 6.0)],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64 + 7.0,
            want: Want {
                failed: 1,
                conditions: vec![
                    ("FailureTarget", "BackoffLimitExceeded"),
                    ("Failed", "BackoffLimitExceeded"),
                ],
                ..Default::default()
            },
        },
        Case {
            name: "a success first seen after the deadline still fails the Job",
            job: |j| {
                j.spec.active_deadline_seconds = Some(5);
            },
            pods: vec![P::Ok(T0 as f64 + 4.0)],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64 + 6.0,
            want: Want {
                succeeded: 1,
                conditions: vec![
                    ("FailureTarget", "DeadlineExceeded"),
                    ("Failed", "DeadlineExceeded"),
                ],
                ..Default::default()
            },
        },
        Case {
            name: "OnFailure: restarts of running pods reaching backoffLimit fail the Job",
            job: |j| {
                j.spec.template.spec.restart_policy = Some("OnFailure".into());
                j.spec.backoff_limit = Some(2);
            },
            pods: vec![P::Restarted(2)],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64 + 1.0,
            want: Want {
                failed: 1,
                terminating: 1,
                stop: vec![("p0", StopReason::JobFailed)],
                conditions: vec![("FailureTarget", "BackoffLimitExceeded")],
                ..Default::default()
            },
        },
        Case {
            name: "OnFailure: fewer restarts than backoffLimit keep the Job running",
            job: |j| {
                j.spec.template.spec.restart_policy = Some("OnFailure".into());
                j.spec.backoff_limit = Some(2);
            },
            pods: vec![P::Restarted(1)],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64 + 1.0,
            want: Want {
                active: 1,
                ..Default::default()
            },
        },
        Case {
            name: "OnFailure with backoffLimit 0: one restart fails the Job",
            job: |j| {
                j.spec.template.spec.restart_policy = Some("OnFailure".into());
                j.spec.backoff_limit = Some(0);
            },
            pods: vec![P::Restarted(1)],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64 + 1.0,
            want: Want {
                failed: 1,
                terminating: 1,
                stop: vec![("p0", StopReason::JobFailed)],
                conditions: vec![("FailureTarget", "BackoffLimitExceeded")],
                ..Default::default()
            },
        },
        Case {
            name: "pods already counted are not counted again",
            job: none,
            pods: vec![P::CountedFail(T0 as f64), P::Running],
            counted: (0, 1),
            backoff: Default::default(),
            now: T0 as f64 + 1.0,
            want: Want {
                active: 1,
                failed: 1,
                ..Default::default()
            },
        },
        Case {
            name: "lowering parallelism stops the least progressed pods, uncounted",
            job: |j| {
                j.spec.completions = Some(10);
                j.spec.parallelism = Some(1);
            },
            pods: vec![P::Ready, P::Pending, P::Running],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64 + 1.0,
            want: Want {
                active: 1,
                ready: 1,
                terminating: 2,
                stop: vec![("p1", StopReason::ScaleDown), ("p2", StopReason::ScaleDown)],
                ..Default::default()
            },
        },
        Case {
            name: "ready counts active pods whose Ready condition is True",
            job: |j| {
                j.spec.completions = Some(2);
                j.spec.parallelism = Some(2);
            },
            pods: vec![P::Ready, P::Pending],
            counted: (0, 0),
            backoff: Default::default(),
            now: T0 as f64 + 1.0,
            want: Want {
                active: 2,
                ready: 1,
                ..Default::default()
            },
        },
    ]
}

#[test]
fn scenarios() {
    let config = ControllerConfig::default();
    let mut failures = Vec::new();
    for case in cases() {
        let mut job = Job::default();
        base_job(&mut job);
        (case.job)(&mut job);
        {
            let s = job.status.get_or_insert_with(Default::default);
            s.succeeded = case.counted.0;
            s.failed = case.counted.1;
        }
        let pods: Vec<Pod> = case
            .pods
            .iter()
            .enumerate()
            .map(|(i, p)| pod(i, *p))
            .collect();
        let d = reconcile(&job, &pods, &case.backoff, &config, at(case.now));
        let got = Want {
            create: d.create.len(),
            stop: d.stop.iter().map(|s| (leak(&s.name), s.reason)).collect(),
            active: d.status.active,
            succeeded: d.status.succeeded,
            failed: d.status.failed,
            terminating: d.status.terminating.unwrap_or(0),
            ready: d.status.ready.unwrap_or(0),
            conditions: d
                .status
                .conditions
                .iter()
                .map(|c| (leak(&c.type_), leak(c.reason.as_deref().unwrap_or(""))))
                .collect(),
            requeue_secs: d.requeue_after.map(|r| r.as_secs_f64()),
        };
        if got != case.want {
            failures.push(format!(
                "{}\n  want: {:?}\n  got:  {:?}",
                case.name, case.want, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

#[test]
fn start_time_is_set_at_the_first_sync_and_kept() {
    let mut job = Job::default();
    base_job(&mut job);
    job.status = None;
    let d = reconcile(
        &job,
        &[],
        &BackoffRecord::default(),
        &ControllerConfig::default(),
        at(5.0),
    );
    assert_eq!(d.status.start_time, Some(at(5.0)));
    job.status = Some(d.status);
    let d = reconcile(
        &job,
        &[],
        &BackoffRecord::default(),
        &ControllerConfig::default(),
        at(9.0),
    );
    assert_eq!(d.status.start_time, Some(at(5.0)));
}

#[test]
fn complete_sets_completion_time_and_counts_each_pod_once() {
    let mut job = Job::default();
    base_job(&mut job);
    let pods = vec![pod(0, P::Ok(T0 as f64 + 1.0))];
    let d = reconcile(
        &job,
        &pods,
        &BackoffRecord::default(),
        &ControllerConfig::default(),
        at(T0 as f64 + 2.0),
    );
    assert_eq!(d.counted, vec!["p0".to_string()]);
    assert_eq!(d.status.completion_time, Some(at(T0 as f64 + 2.0)));
    assert_eq!(d.events[0].reason, "Completed");
    // A finished Job is left alone.
    job.status = Some(d.status.clone());
    let again = reconcile(
        &job,
        &pods,
        &BackoffRecord::default(),
        &ControllerConfig::default(),
        at(T0 as f64 + 3.0),
    );
    assert!(again.is_noop(&d.status, &BackoffRecord::default()));
}

#[test]
fn failure_message_matches_kubernetes() {
    let mut job = Job::default();
    base_job(&mut job);
    job.spec.backoff_limit = Some(0);
    let pods = vec![pod(0, P::Fail(T0 as f64 + 1.0))];
    let d = reconcile(
        &job,
        &pods,
        &BackoffRecord::default(),
        &ControllerConfig::default(),
        at(T0 as f64 + 2.0),
    );
    let failed = d
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Failed")
        .unwrap();
    assert_eq!(
        failed.message.as_deref(),
        Some("Job has reached the specified backoff limit")
    );
    assert_eq!(failed.status, "True");
    assert!(d.status.completion_time.is_none());
}
