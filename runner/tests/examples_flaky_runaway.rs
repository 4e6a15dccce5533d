//! The `flaky` and `runaway` examples end to end: each example's real `job.yaml` (its image
//! paths replaced by the module built from source) run by `wasmjob run`, checked against what
//! the example's README promises: conditions, reasons, counters, restarts, exit codes, logs,
//! and the STATUS column of `wasmjob get pods`.

use crate::common;
use common::*;
use serde_json::Value;
use std::path::PathBuf;

/// Writes `examples/<name>/job.yaml`, its image paths replaced by `wasm`, into `env`'s folder
/// (which then holds the manifest's relative hostPath volumes) and returns its path.
fn example_manifest(env: &Env, name: &str, wasm: &str) -> PathBuf {
    let source = format!("{}/../examples/{name}/job.yaml", env!("CARGO_MANIFEST_DIR"));
    let yaml = std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("{source}: {e}"));
    let image = format!("../../target/wasm32-wasip1/release/{name}.wasm");
    assert!(yaml.contains(&image), "{source} does not run {image}");
    wasmjob_tests::write_manifest(env.path(), "job.yaml", &yaml.replace(&image, wasm))
}

/// `wasmjob run FILE --replace -o json` with a short back-off.
fn run(env: &Env, file: &std::path::Path) -> Run {
    env.wasmjob(&[
        "run",
        file.to_str().unwrap(),
        "--replace",
        "-o",
        "json",
        "--backoff-base",
        "20ms",
        "--backoff-max",
        "200ms",
    ])
}

/// The Job called `name` in the List that `run -o json` printed.
fn job<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["items"]
        .as_array()
        .expect("run -o json prints a List for several Jobs")
        .iter()
        .find(|j| j["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no Job {name} in {list}"))
}

/// A Job counter (`succeeded`, `failed`, …): Kubernetes leaves out zeros.
fn counter(job: &Value, name: &str) -> i64 {
    match &job["status"][name] {
        Value::Null => 0,
        v => v.as_i64().unwrap_or_else(|| panic!("status.{name} = {v}")),
    }
}

/// The pods of the Job `name`, oldest first.
fn pods_of(env: &Env, name: &str) -> Vec<Value> {
    let mut pods = env.pods(&format!("batch.kubernetes.io/job-name={name}"));
    pods.sort_by_key(|p| {
        p["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    });
    pods
}

fn name(pod: &Value) -> &str {
    pod["metadata"]["name"].as_str().unwrap()
}

fn container(pod: &Value) -> &Value {
    &pod["status"]["containerStatuses"][0]
}

/// `wasmjob get pods` as text: `(NAME, STATUS, RESTARTS)` of each row, after checking the
/// header.
fn pods_table(env: &Env) -> Vec<(String, String, String)> {
    let r = env.wasmjob(&["get", "pods"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut lines = r.stdout.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "{}",
        r.stdout
    );
    lines
        .map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // RESTARTS may read `2 (1s ago)`: everything between STATUS and AGE.
            let restarts = cols[3..cols.len() - 1].join(" ");
            (cols[0].to_string(), cols[2].to_string(), restarts)
        })
        .collect()
}

/// The STATUS column of the pod `pod` in `table`.
fn status_of<'a>(table: &'a [(String, String, String)], pod: &str) -> &'a str {
    table
        .iter()
        .find(|(n, _, _)| n == pod)
        .map(|(_, s, _)| s.as_str())
        .unwrap_or_else(|| panic!("no row for {pod} in {table:?}"))
}

fn pair(t: &str, r: &str) -> (String, String) {
    (t.to_string(), r.to_string())
}

#[test]
fn flaky_example_shows_backoff_limit_restarts_and_pod_failure_policies() {
    let env = Env::new();
    let file = example_manifest(&env, "flaky", FLAKY_WASM);
    // Twice in the same folder and state directory: the README's command can be repeated
    // (the marker of the Ignore Job is per Job uid and removed by the pod that succeeds).
    for attempt in 1..=2 {
        let r = run(&env, &file);
        assert_eq!(r.code, 1, "attempt {attempt}: two Jobs fail\n{}", r.stderr);
        check_flaky(&env, &r.json());
        assert!(
            r.stderr.contains("BackoffLimitExceeded") && r.stderr.contains("PodFailurePolicy"),
            "{}",
            r.stderr
        );
    }
}

fn check_flaky(env: &Env, list: &Value) {
    assert_eq!(list["items"].as_array().map(Vec::len), Some(4), "{list}");
    let table = pods_table(env);
    assert_eq!(table.len(), 7, "3 + 1 + 1 + 2 pods: {table:?}");

    // backoffLimit 2, every run exits 1: three failed pods, then BackoffLimitExceeded.
    let j = job(list, "flaky-backoff-limit");
    assert_eq!(
        common::conditions(j),
        [
            pair("FailureTarget", "BackoffLimitExceeded"),
            pair("Failed", "BackoffLimitExceeded")
        ],
        "{j}"
    );
    assert_eq!((counter(j, "failed"), counter(j, "succeeded")), (3, 0));
    let pods = pods_of(env, "flaky-backoff-limit");
    assert_eq!(pods.len(), 3);
    for p in &pods {
        assert_eq!(p["status"]["phase"], "Failed");
        assert_eq!(terminated(p)["exitCode"], 1);
        assert_eq!(terminated(p)["reason"], "Error");
        assert_eq!(status_of(&table, name(p)), "Error");
        assert_eq!(env.logs(name(p)), "failing with exit code 1\n");
    }

    // OnFailure: two in-place restarts counted in the emptyDir, then success, in one pod.
    let j = job(list, "flaky-on-failure");
    assert!(has_condition(j, "Complete", "CompletionsReached"), "{j}");
    assert_eq!((counter(j, "succeeded"), counter(j, "failed")), (1, 0));
    let pods = pods_of(env, "flaky-on-failure");
    assert_eq!(pods.len(), 1, "OnFailure restarts in the same pod");
    let p = &pods[0];
    assert_eq!(container(p)["restartCount"], 2);
    assert_eq!(container(p)["lastState"]["terminated"]["exitCode"], 1);
    assert_eq!(terminated(p)["exitCode"], 0);
    assert_eq!(status_of(&table, name(p)), "Completed");
    let row = table.iter().find(|(n, _, _)| n == name(p)).unwrap();
    assert!(row.2.starts_with("2 ("), "RESTARTS column: {row:?}");
    assert_eq!(
        env.logs(name(p)),
        "run 3 of /scratch/runs: succeeding (and removing /scratch/runs)\n"
    );
    let previous = env.wasmjob(&["logs", name(p), "--previous"]);
    assert_eq!(
        previous.stdout, "run 2 of /scratch/runs: failing with exit code 1\n",
        "{}",
        previous.stderr
    );

    // FailJob on exit code 42: one failed pod fails the Job, though backoffLimit is 6.
    let j = job(list, "flaky-fail-job");
    assert_eq!(j["spec"]["backoffLimit"], 6);
    assert_eq!(
        common::conditions(j),
        [
            pair("FailureTarget", "PodFailurePolicy"),
            pair("Failed", "PodFailurePolicy")
        ],
        "{j}"
    );
    let pods = pods_of(env, "flaky-fail-job");
    assert_eq!(pods.len(), 1);
    assert_eq!(counter(j, "failed"), 1);
    assert_eq!(
        j["status"]["conditions"][1]["message"],
        format!(
            "Container flaky for pod default/{} failed with exit code 42 matching FailJob rule at index 0",
            name(&pods[0])
        )
    );
    assert_eq!(terminated(&pods[0])["exitCode"], 42);
    assert_eq!(status_of(&table, name(&pods[0])), "Error");

    // Ignore on exit code 3: the failure is not counted (backoffLimit 0 would fail the Job),
    // the replacement pod finds the marker and succeeds.
    let j = job(list, "flaky-ignore");
    assert_eq!(j["spec"]["backoffLimit"], 0);
    assert_eq!(
        common::conditions(j),
        [
            pair("SuccessCriteriaMet", "CompletionsReached"),
            pair("Complete", "CompletionsReached")
        ],
        "{j}"
    );
    assert_eq!((counter(j, "succeeded"), counter(j, "failed")), (1, 0));
    let pods = pods_of(env, "flaky-ignore");
    assert_eq!(pods.len(), 2, "the ignored pod and its replacement");
    assert_eq!(pods[0]["status"]["phase"], "Failed");
    assert_eq!(terminated(&pods[0])["exitCode"], 3);
    assert_eq!(pods[1]["status"]["phase"], "Succeeded");
    assert_eq!(status_of(&table, name(&pods[0])), "Error");
    assert_eq!(status_of(&table, name(&pods[1])), "Completed");
    let marker = format!("/markers/{}", j["metadata"]["uid"].as_str().unwrap());
    assert_eq!(
        env.logs(name(&pods[0])),
        format!("run 1 of {marker}: failing with exit code 3\n")
    );
    assert_eq!(
        env.logs(name(&pods[1])),
        format!("run 2 of {marker}: succeeding (and removing {marker})\n")
    );
    // The hostPath folder, next to the manifest, is left empty.
    let markers: Vec<_> = std::fs::read_dir(env.path().join("markers"))
        .expect("the hostPath folder was created next to the manifest")
        .collect();
    assert!(markers.is_empty(), "left behind: {markers:?}");
}

#[test]
fn runaway_example_is_stopped_by_fuel_memory_and_deadline() {
    let env = Env::new();
    let file = example_manifest(&env, "runaway", RUNAWAY_WASM);
    let r = run(&env, &file);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let list = r.json();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(3), "{list}");
    let table = pods_table(&env);
    let failed_by = |name: &str, reason: &str| {
        let j = job(&list, name);
        assert_eq!(
            common::conditions(j),
            [pair("FailureTarget", reason), pair("Failed", reason)],
            "{j}"
        );
        assert_eq!((counter(j, "failed"), counter(j, "succeeded")), (1, 0));
        let pods = pods_of(&env, name);
        assert_eq!(pods.len(), 1, "backoffLimit 0: one pod");
        assert_eq!(pods[0]["status"]["phase"], "Failed");
        (j.clone(), pods[0].clone())
    };

    // Fuel: the spinning task ran (and printed) until its budget was gone.
    let (_, p) = failed_by("runaway-fuel", "BackoffLimitExceeded");
    let t = terminated(&p);
    assert_eq!(
        (&t["exitCode"], &t["reason"]),
        (&152.into(), &"FuelExhausted".into())
    );
    assert!(t["message"].as_str().unwrap().contains("200000000"), "{t}");
    assert_eq!(status_of(&table, name(&p)), "FuelExhausted");
    assert!(env.logs(name(&p)).starts_with("spin: 1048576 steps\n"));

    // Memory: the allocating task was stopped at the 32 MiB limit.
    let (_, p) = failed_by("runaway-memory", "BackoffLimitExceeded");
    let t = terminated(&p);
    assert_eq!(
        (&t["exitCode"], &t["reason"]),
        (&137.into(), &"OOMKilled".into())
    );
    assert!(t["message"].as_str().unwrap().contains("33554432"), "{t}");
    assert_eq!(status_of(&table, name(&p)), "OOMKilled");
    let log = env.logs(name(&p));
    let held: Vec<u32> = log
        .lines()
        .map(|l| {
            l.strip_prefix("alloc: holding ")
                .and_then(|l| l.strip_suffix(" MiB"))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected log line {l:?}"))
        })
        .collect();
    let most = *held.last().expect("it printed progress");
    assert!(
        (16..32).contains(&most),
        "held {most} MiB under a 32 MiB limit"
    );

    // Deadline: the sleeping task was stopped when the Job's 3 s were up.
    let (j, p) = failed_by("runaway-deadline", "DeadlineExceeded");
    assert_eq!(
        j["status"]["conditions"][1]["message"],
        "Job was active longer than specified deadline"
    );
    let t = terminated(&p);
    assert_eq!(
        (&t["exitCode"], &t["reason"]),
        (&143.into(), &"Stopped".into())
    );
    assert_eq!(status_of(&table, name(&p)), "Stopped");
    let ms = |v: &Value| {
        v.as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond()
    };
    let active =
        ms(&j["status"]["conditions"][1]["lastTransitionTime"]) - ms(&j["status"]["startTime"]);
    assert!((3000..6000).contains(&active), "the Job ran {active} ms");
    assert!(
        env.logs(name(&p))
            .starts_with("sleep: still here after 1 s\n")
    );
}
