//! Indexed Jobs, per-index back-off, pod failure policies and success policies end to end
//! through `wasmjob run` with real guests (issue 3). Guests pick their behaviour from their
//! completion index: `exit $(JOB_COMPLETION_INDEX)` fails every index but 0 with its own code.

use crate::common;
use common::*;

fn status(job: &serde_json::Value) -> &serde_json::Value {
    &job["status"]
}

#[test]
fn indexed_job_gives_each_pod_its_index() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: shards}\nspec:\n  completions: 3\n  parallelism: 2\n  completionMode: Indexed\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [print, 'shard $(JOB_COMPLETION_INDEX)', env]}\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let job = r.json();
    assert_eq!(status(&job)["completedIndexes"], "0-2");
    assert_eq!(status(&job)["succeeded"], 3);
    assert!(has_condition(&job, "Complete", "CompletionsReached"));
    let mut pods = env.pods("batch.kubernetes.io/job-name=shards");
    pods.sort_by_key(|p| {
        p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"]
            .as_str()
            .unwrap()
            .to_string()
    });
    for (i, p) in pods.iter().enumerate() {
        let name = p["metadata"]["name"].as_str().unwrap();
        assert!(
            name.starts_with(&format!("shards-{i}-"))
                && name.len() == format!("shards-{i}-").len() + 5,
            "{name}"
        );
        assert_eq!(
            p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"],
            i.to_string()
        );
        assert_eq!(p["spec"]["hostname"], format!("shards-{i}"));
        let log = env.logs(name);
        assert!(log.starts_with(&format!("shard {i}\n")), "{log}");
        assert!(
            log.contains(&format!("JOB_COMPLETION_INDEX={i}\n")),
            "{log}"
        );
        assert!(log.contains(&format!("HOSTNAME=shards-{i}\n")), "{log}");
    }
}

#[test]
fn per_index_failures_show_completed_and_failed_indexes() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: perindex}\nspec:\n  completions: 4\n  parallelism: 4\n  completionMode: Indexed\n  backoffLimitPerIndex: 1\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [exit, '$(JOB_COMPLETION_INDEX)']}\n",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let job = r.json();
    let s = status(&job);
    assert_eq!(s["completedIndexes"], "0");
    assert_eq!(s["failedIndexes"], "1-3");
    assert_eq!(s["succeeded"], 1);
    assert_eq!(
        s["failed"], 6,
        "two counted failures for each of three indexes"
    );
    assert_eq!(
        s["active"],
        serde_json::Value::Null,
        "active is omitted when 0, as in Kubernetes"
    );
    assert_eq!(s["terminating"], 0);
    assert_eq!(s["ready"], 0);
    assert_eq!(
        conditions(&job),
        vec![
            ("FailureTarget".into(), "FailedIndexes".into()),
            ("Failed".into(), "FailedIndexes".into())
        ]
    );
    assert_eq!(
        job["status"]["conditions"][1]["message"],
        "Job has failed indexes"
    );
    assert_eq!(job["spec"]["backoffLimit"], 2147483647);
    let pods = env.pods("batch.kubernetes.io/job-name=perindex");
    assert_eq!(pods.len(), 7);
    let counts: Vec<String> = pods
        .iter()
        .filter(|p| p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] == "2")
        .map(|p| {
            p["metadata"]["annotations"]["batch.kubernetes.io/job-index-failure-count"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut counts = counts;
    counts.sort();
    assert_eq!(counts, vec!["0", "1"]);
}

#[test]
fn max_failed_indexes_exceeded_fails_at_once() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: maxfail}\nspec:\n  completions: 3\n  parallelism: 3\n  completionMode: Indexed\n  backoffLimitPerIndex: 0\n  maxFailedIndexes: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [sleep, '$(JOB_COMPLETION_INDEX)00', exit, '$(JOB_COMPLETION_INDEX)']}\n",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let job = r.json();
    assert!(
        has_condition(&job, "Failed", "MaxFailedIndexesExceeded"),
        "{job}"
    );
    assert_eq!(
        job["status"]["conditions"][1]["message"],
        "Job has exceeded the specified maximal number of failed indexes"
    );
}

#[test]
fn pod_failure_policy_fail_job_names_container_pod_code_and_rule() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: fatal}\nspec:\n  backoffLimit: 6\n  podFailurePolicy:\n    rules:\n    - action: Ignore\n      onExitCodes: {operator: In, values: [1]}\n    - action: FailJob\n      onExitCodes: {containerName: main, operator: In, values: [42]}\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: main, image: PROBE, args: [exit, '42']}\n",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let job = r.json();
    assert!(has_condition(&job, "Failed", "PodFailurePolicy"));
    let pod = env.pods("batch.kubernetes.io/job-name=fatal")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        job["status"]["conditions"][1]["message"],
        format!(
            "Container main for pod default/{pod} failed with exit code 42 matching FailJob rule at index 1"
        )
    );
    assert_eq!(job["status"]["failed"], 1);
}

#[test]
fn ignored_failures_are_not_counted_but_the_job_retries() {
    let env = Env::new();
    let shared = env.path().join("attempts");
    std::fs::create_dir_all(&shared).unwrap();
    let r = env.run(&format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: tolerant}}\nspec:\n  backoffLimit: 0\n  podFailurePolicy:\n    rules:\n    - action: Ignore\n      onExitCodes: {{operator: In, values: [1]}}\n  template:\n    spec:\n      restartPolicy: Never\n      volumes: [{{name: a, hostPath: {{path: {}}}}}]\n      containers:\n      - name: c\n        image: PROBE\n        args: [fail-until, /a/n, '3', print, third-time-lucky]\n        volumeMounts: [{{name: a, mountPath: /a}}]\n",
        shared.display()
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let job = r.json();
    assert!(
        job["status"].get("failed").is_none(),
        "ignored failures are not counted: {job}"
    );
    assert_eq!(job["status"]["succeeded"], 1);
    assert_eq!(env.pods("batch.kubernetes.io/job-name=tolerant").len(), 3);
}

#[test]
fn fail_index_fails_only_that_index() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: failindex}\nspec:\n  completions: 3\n  parallelism: 3\n  completionMode: Indexed\n  backoffLimitPerIndex: 5\n  podFailurePolicy:\n    rules:\n    - action: FailIndex\n      onExitCodes: {operator: In, values: [2]}\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [exit, '$(JOB_COMPLETION_INDEX)']}\n",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let job = r.json();
    assert_eq!(job["status"]["failedIndexes"], "1,2");
    let pods = env.pods("batch.kubernetes.io/job-name=failindex");
    let index2 = pods
        .iter()
        .filter(|p| p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] == "2")
        .count();
    assert_eq!(
        index2, 1,
        "FailIndex fails index 2 at once, without retries"
    );
    let index1 = pods
        .iter()
        .filter(|p| p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] == "1")
        .count();
    assert_eq!(index1, 6, "index 1 uses its whole per-index budget");
}

#[test]
fn success_policy_completes_early_and_stops_lingering_pods_uncounted() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: leader}\nspec:\n  completions: 3\n  parallelism: 3\n  completionMode: Indexed\n  successPolicy:\n    rules:\n    - succeededIndexes: '0'\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [sleep, '$(JOB_COMPLETION_INDEX)0000']}\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.elapsed.as_secs() < 8,
        "lingering pods were stopped: {:?}",
        r.elapsed
    );
    let job = r.json();
    assert_eq!(
        conditions(&job),
        vec![
            ("SuccessCriteriaMet".into(), "SuccessPolicy".into()),
            ("Complete".into(), "SuccessPolicy".into())
        ]
    );
    assert_eq!(
        job["status"]["conditions"][0]["message"],
        "Matched rules at index 0"
    );
    assert_eq!(job["status"]["completedIndexes"], "0");
    assert!(
        job["status"].get("failed").is_none(),
        "stopped pods are not failures: {job}"
    );
}

#[test]
fn on_pod_conditions_status_defaults_to_true() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: disrupt}\nspec:\n  podFailurePolicy:\n    rules:\n    - action: Ignore\n      onPodConditions: [{type: DisruptionTarget}]\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [print, ok]}\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.json()["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"],
        "True"
    );
}
