//! Faults of the host, not of the guest: SIGKILL at random points across several kinds of
//! Jobs, and SIGTERM with hundreds of pods in flight (the full disk and the damaged store are
//! in `faults_disk.rs`, with these helpers). Each proves that an accepted Job's results are neither lost nor counted twice, and that a
//! damaged store is refused with an error naming it, never silently reset or rewritten.

use crate::common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Helpers

/// Every Job in the state directory by name (`get jobs -o json`).
pub(crate) fn jobs_by_name(r: &Run) -> BTreeMap<String, Value> {
    assert_eq!(r.code, 0, "get jobs failed: {}", r.stderr);
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["metadata"]["name"].as_str().unwrap().to_string(),
                j.clone(),
            )
        })
        .collect()
}

pub(crate) fn finished(job: &Value) -> bool {
    conditions(job)
        .iter()
        .any(|(t, _)| t == "Complete" || t == "Failed")
}

pub(crate) fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

pub(crate) fn has_pod_condition(pod: &Value, type_: &str, reason: &str) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == type_ && c["reason"] == reason)
}

pub(crate) fn phase(pod: &Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or("")
}

/// The counts every finished Job must show, whatever happened to its controller: nothing in
/// flight, no pod left uncounted, one pod per name, `succeeded`/`failed` equal to the pods in
/// those phases. Returns the Failed pods.
pub(crate) fn assert_counted_exactly<'a>(
    name: &str,
    job: &Value,
    pods: &'a [Value],
) -> Vec<&'a Value> {
    let s = &job["status"];
    assert!(finished(job), "{name} did not finish: {job}");
    assert_eq!(int(&s["active"]), 0, "{name}: {s}");
    let uncounted = &s["uncountedTerminatedPods"];
    assert!(
        uncounted.is_null()
            || uncounted.as_object().is_some_and(|o| o
                .values()
                .all(|v| v.as_array().is_none_or(|a| a.is_empty()))),
        "{name}: pods left uncounted: {s}"
    );
    let names: BTreeSet<&str> = pods
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), pods.len(), "{name}: a pod name appears twice");
    for p in pods {
        assert!(
            matches!(phase(p), "Succeeded" | "Failed"),
            "{name}: pod {} still {} after the Job finished",
            p["metadata"]["name"],
            phase(p)
        );
    }
    let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count();
    let failed: Vec<&Value> = pods.iter().filter(|p| phase(p) == "Failed").collect();
    assert_eq!(int(&s["succeeded"]), succeeded as i64, "{name}: {s}");
    failed
}

/// A pod failed because its controller died under it (`kill -9`).
pub(crate) fn lost(pod: &Value) -> bool {
    has_pod_condition(pod, "DisruptionTarget", "DeletionByPodGC")
}

pub(crate) fn seed() -> u64 {
    std::env::var("FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..))
}

pub(crate) fn assert_no_panic(what: &str, stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{what} panicked:\n{stderr}"
    );
}

// ---------------------------------------------------------------------------------------
// 1. SIGKILL at random points

const MIXED: &str = "apiVersion: batch/v1
kind: Job
metadata: {name: plain}
spec:
  completions: 100
  parallelism: 6
  backoffLimit: 10000
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: PROBE, args: [sleep, '150', print, done]}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: indexed}
spec:
  completions: 50
  parallelism: 5
  completionMode: Indexed
  backoffLimit: 10000
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: PROBE, args: [sleep, '150', print, 'index-$(JOB_COMPLETION_INDEX)']}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: restarts}
spec:
  completions: 24
  parallelism: 3
  backoffLimit: 10000
  template:
    spec:
      restartPolicy: OnFailure
      volumes: [{name: scratch, emptyDir: {}}]
      containers:
      - name: main
        image: PROBE
        args: [fail-until, /scratch/runs, '3', sleep, '150', print, third-run]
        volumeMounts: [{name: scratch, mountPath: /scratch}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: failing}
spec:
  completions: 4
  parallelism: 2
  backoffLimit: 6
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: PROBE, args: [sleep, '400', exit, '3']}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: tolerant}
spec:
  completions: 40
  parallelism: 4
  backoffLimit: 0
  podFailurePolicy:
    rules:
    - action: Ignore
      onPodConditions: [{type: DisruptionTarget}]
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: PROBE, args: [sleep, '200', print, done]}]
";

/// Five Jobs of different kinds (NonIndexed, Indexed, OnFailure restarts, a Job failing past
/// its backoffLimit, a Job whose pod failure policy ignores disruptions) under `serve`, which
/// is SIGKILLed at up to 10 random moments (seeded: `FAULTS_SEED` repeats a run) and started
/// again each time. Every Job ends with exact counts.
#[test]
fn sigkill_at_random_points_across_mixed_jobs_counts_every_pod_once() {
    let seed = seed();
    println!("FAULTS_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let env = Env::new();
    let file = env.manifest("mixed.yaml", MIXED);
    let mut serve = env.serve(&[]);
    let r = env.wasmjob(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut kills = 0;
    while kills < 10 {
        std::thread::sleep(Duration::from_millis(rng.u64(100..700)));
        let jobs = jobs_by_name(&env.wasmjob(&["get", "jobs", "-o", "json"]));
        if jobs.values().all(finished) {
            break;
        }
        serve.kill9();
        kills += 1;
        serve = env.serve(&[]);
    }
    println!("{kills} kills (seed {seed})");
    assert!(
        kills >= 5,
        "only {kills} kills happened before every Job finished (seed {seed})"
    );
    let started = Instant::now();
    let jobs = loop {
        let jobs = jobs_by_name(&env.wasmjob(&["get", "jobs", "-o", "json"]));
        if jobs.len() == 5 && jobs.values().all(finished) {
            break jobs;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "Jobs did not finish (seed {seed}): {jobs:?}\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let pods_of = |name: &str| env.pods(&format!("batch.kubernetes.io/job-name={name}"));
    let mut lost_total = 0;

    // NonIndexed: every completion once; the only failures are the pods lost at the kills.
    let pods = pods_of("plain");
    let failed = assert_counted_exactly("plain", &jobs["plain"], &pods);
    assert!(has_condition(
        &jobs["plain"],
        "Complete",
        "CompletionsReached"
    ));
    assert_eq!(jobs["plain"]["status"]["succeeded"], 100);
    assert_eq!(int(&jobs["plain"]["status"]["failed"]), failed.len() as i64);
    assert!(
        failed.iter().all(|p| lost(p)),
        "plain: a failure not from a kill"
    );
    assert_eq!(pods.len(), 100 + failed.len());
    lost_total += failed.len();

    // Indexed: each index succeeded by exactly one pod, completedIndexes exact.
    let pods = pods_of("indexed");
    let failed = assert_counted_exactly("indexed", &jobs["indexed"], &pods);
    assert_eq!(jobs["indexed"]["status"]["succeeded"], 50);
    assert_eq!(jobs["indexed"]["status"]["completedIndexes"], "0-49");
    assert_eq!(
        int(&jobs["indexed"]["status"]["failed"]),
        failed.len() as i64
    );
    assert!(failed.iter().all(|p| lost(p)));
    let mut by_index: BTreeMap<i64, usize> = BTreeMap::new();
    for p in pods.iter().filter(|p| phase(p) == "Succeeded") {
        let index = p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        *by_index.entry(index).or_default() += 1;
        assert_eq!(
            env.logs(p["metadata"]["name"].as_str().unwrap()),
            format!("index-{index}\n")
        );
    }
    assert_eq!(by_index.len(), 50);
    assert!(by_index.values().all(|&n| n == 1), "{by_index:?}");
    lost_total += failed.len();

    // OnFailure: a pod that succeeded ran three times in place (its emptyDir counted them);
    // a pod lost at a kill is replaced by a fresh one, never resumed half-counted.
    let pods = pods_of("restarts");
    let failed = assert_counted_exactly("restarts", &jobs["restarts"], &pods);
    assert_eq!(jobs["restarts"]["status"]["succeeded"], 24);
    assert_eq!(
        int(&jobs["restarts"]["status"]["failed"]),
        failed.len() as i64
    );
    assert!(failed.iter().all(|p| lost(p)));
    for p in pods.iter().filter(|p| phase(p) == "Succeeded") {
        assert_eq!(
            p["status"]["containerStatuses"][0]["restartCount"], 2,
            "{}",
            p["metadata"]["name"]
        );
    }
    lost_total += failed.len();

    // Past its backoffLimit: Failed, every failure counted once, nothing succeeded.
    let pods = pods_of("failing");
    let failed = assert_counted_exactly("failing", &jobs["failing"], &pods);
    assert!(
        has_condition(&jobs["failing"], "Failed", "BackoffLimitExceeded"),
        "{}",
        jobs["failing"]
    );
    assert_eq!(int(&jobs["failing"]["status"]["succeeded"]), 0);
    assert_eq!(
        int(&jobs["failing"]["status"]["failed"]),
        failed.len() as i64
    );
    assert!(failed.len() > 6, "{} failures", failed.len());
    assert_eq!(pods.len(), failed.len());

    // Pod failure policy: the disruptions of the kills are ignored, not counted.
    let pods = pods_of("tolerant");
    let failed = assert_counted_exactly("tolerant", &jobs["tolerant"], &pods);
    assert!(has_condition(
        &jobs["tolerant"],
        "Complete",
        "CompletionsReached"
    ));
    assert_eq!(jobs["tolerant"]["status"]["succeeded"], 40);
    assert_eq!(int(&jobs["tolerant"]["status"]["failed"]), 0);
    assert!(failed.iter().all(|p| lost(p)));
    assert_eq!(pods.len(), 40 + failed.len());
    lost_total += failed.len();

    println!("{lost_total} pods lost at {kills} kills");
    assert!(lost_total > 0, "no kill hit a running pod (seed {seed})");
    // At most every pod in flight (parallelism 6 + 5 + 3 + 4) is lost at each kill.
    assert!(
        lost_total <= 18 * kills,
        "{lost_total} lost in {kills} kills"
    );
    // The store is whole: the last controller stops cleanly, the next open checks it.
    assert_eq!(serve.terminate(), 0);
    let r = env.wasmjob(&["get", "jobs"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------
// 2. SIGTERM under heavy load

/// Four Jobs of 250 pods, parallelism 100 each, under `serve --max-pods 200`: SIGTERM while
/// about 200 pods run. The serve exits 0 within 5 s, every pod it stopped carries
/// `DisruptionTarget`/`TerminationByKubelet`, and the next serve finishes every Job with
/// exact counts: each stopped pod counted once as failed and replaced, no completion lost.
#[test]
fn sigterm_under_heavy_load_stops_promptly_and_loses_nothing() {
    let env = Env::new();
    let serve = env.serve(&["--max-pods", "200"]);
    let names = ["load-a", "load-b", "load-c", "load-d"];
    let yaml: Vec<String> = names
        .iter()
        .map(|n| {
            format!(
                "apiVersion: batch/v1
kind: Job
metadata: {{name: {n}}}
spec:
  completions: 250
  parallelism: 100
  backoffLimit: 10000
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: PROBE, args: [sleep, '400', print, done]}}]
"
            )
        })
        .collect();
    let file = env.manifest("load.yaml", &yaml.join("---\n"));
    let r = env.wasmjob(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut peak = 0;
    wait_for(
        "200 pods in flight and some done",
        Duration::from_secs(60),
        || {
            let jobs = jobs_by_name(&env.wasmjob(&["get", "jobs", "-o", "json"]));
            let active: i64 = jobs.values().map(|j| int(&j["status"]["active"])).sum();
            let done: i64 = jobs.values().map(|j| int(&j["status"]["succeeded"])).sum();
            peak = peak.max(active);
            active >= 180 && done >= 50
        },
    );
    let stopping = Instant::now();
    assert_eq!(serve.terminate(), 0);
    let took = stopping.elapsed();
    println!("{peak} pods active; serve stopped in {took:?}");
    assert!(took < Duration::from_secs(5), "SIGTERM took {took:?}");

    // Every pod the SIGTERM met carries the condition. One whose container had already
    // exited 0 when the stop came is Succeeded (its work is done, as on a cluster); every
    // other was stopped and is Failed, to be counted once and replaced by the next serve.
    let mut stopped = 0;
    for n in names {
        for p in env.pods(&format!("batch.kubernetes.io/job-name={n}")) {
            if !has_pod_condition(&p, "DisruptionTarget", "TerminationByKubelet") {
                assert!(
                    matches!(phase(&p), "Succeeded" | "Failed"),
                    "a pod left {} by the SIGTERM without a condition: {p}",
                    phase(&p)
                );
                continue;
            }
            match phase(&p) {
                "Failed" => stopped += 1,
                "Succeeded" => assert_eq!(terminated(&p)["exitCode"], 0, "{p}"),
                other => panic!("a pod left {other} by the SIGTERM: {p}"),
            }
        }
    }
    println!("{stopped} pods stopped by the SIGTERM");
    assert!(
        stopped >= 100,
        "only {stopped} pods were stopped by the SIGTERM"
    );
    let serve = env.serve(&["--max-pods", "200"]);
    wait_for("every Job to finish", Duration::from_secs(120), || {
        let jobs = jobs_by_name(&env.wasmjob(&["get", "jobs", "-o", "json"]));
        jobs.len() == 4 && jobs.values().all(finished)
    });
    let jobs = jobs_by_name(&env.wasmjob(&["get", "jobs", "-o", "json"]));
    let mut failed_total = 0;
    for name in names {
        let pods = env.pods(&format!("batch.kubernetes.io/job-name={name}"));
        let failed = assert_counted_exactly(name, &jobs[name], &pods);
        assert!(has_condition(&jobs[name], "Complete", "CompletionsReached"));
        assert_eq!(jobs[name]["status"]["succeeded"], 250);
        assert_eq!(int(&jobs[name]["status"]["failed"]), failed.len() as i64);
        let others: Vec<&&Value> = failed
            .iter()
            .filter(|p| !has_pod_condition(p, "DisruptionTarget", "TerminationByKubelet"))
            .collect();
        assert!(
            others.is_empty(),
            "{name}: a failure other than the SIGTERM's: {others:#?}"
        );
        assert_eq!(pods.len(), 250 + failed.len());
        failed_total += failed.len();
    }
    assert_eq!(failed_total, stopped, "the stopped pods, each counted once");
    assert_eq!(serve.terminate(), 0);
}
