//! Looking at Jobs like kubectl: `describe`, `get events`, `get --field-selector`, `get -w`,
//! and `logs` with `--tail`, `--timestamps`, `--previous`, `-l --prefix` and `-f`.

use crate::common;

use common::*;
use std::io::{BufRead, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FAILING_ONCE: &str = "apiVersion: batch/v1
kind: Job
metadata:
  name: look
spec:
  completions: 2
  parallelism: 2
  backoffLimit: 4
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: PROBE
        args: [print, one, print, two, print, three, exit, '0']
";

#[test]
fn describe_and_events_show_what_happened() {
    let env = Env::new();
    let r = env.run(FAILING_ONCE);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let d = env.wasmjob(&["describe", "job", "look"]);
    assert_eq!(d.code, 0, "{}", d.stderr);
    for want in [
        "Name:             look\n",
        "Namespace:        default\n",
        "Completions:      2\n",
        "Completion Mode:  NonIndexed\n",
        "Pods Statuses:    0 Active (0 Ready) / 2 Succeeded / 0 Failed\n",
        "Complete",
        "CompletionsReached",
        "SuccessfulCreate",
        "job-controller",
        "Completed",
    ] {
        assert!(
            d.stdout.contains(want),
            "missing {want:?} in:\n{}",
            d.stdout
        );
    }
    let pods = env.pods("batch.kubernetes.io/job-name=look");
    let pod = pods[0]["metadata"]["name"].as_str().unwrap();
    let d = env.wasmjob(&["describe", "pod", pod]);
    assert_eq!(d.code, 0, "{}", d.stderr);
    for want in [
        "Status:           Succeeded\n",
        "Controlled By:    Job/look\n",
        "State:        Terminated",
        "Exit Code:  0",
        "Reason:     Completed",
    ] {
        assert!(
            d.stdout.contains(want),
            "missing {want:?} in:\n{}",
            d.stdout
        );
    }
    let missing = env.wasmjob(&["describe", "job", "nope"]);
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr.trim(),
        "Error from server (NotFound): jobs.batch \"nope\" not found"
    );

    let ev = env.wasmjob(&["get", "events"]);
    assert_eq!(ev.code, 0, "{}", ev.stderr);
    let lines: Vec<&str> = ev.stdout.lines().collect();
    assert!(lines[0].starts_with("LAST SEEN"), "{}", ev.stdout);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("SuccessfulCreate"))
            .count(),
        2
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("job/look") && l.contains("Completed"))
    );
    let ev = env.wasmjob(&[
        "get",
        "events",
        "--field-selector",
        "reason=Completed",
        "-o",
        "json",
    ]);
    assert_eq!(ev.code, 0, "{}", ev.stderr);
    let items = ev.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["involvedObject"]["kind"], "Job");
    assert_eq!(items[0]["involvedObject"]["name"], "look");
    assert_eq!(items[0]["source"]["component"], "job-controller");
}

/// A Job of 40 pods records its creations as Kubernetes' event recorder does: nine events of
/// their own, then one combined event whose count grows (client-go's `EventAggregator`).
#[test]
fn many_alike_events_are_combined_with_a_count() {
    let env = Env::new();
    let r = env.run(
        &FAILING_ONCE
            .replace(
                "completions: 2\n  parallelism: 2",
                "completions: 40\n  parallelism: 8",
            )
            .replace("name: look", "name: many"),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ev = env.wasmjob(&[
        "get",
        "events",
        "--field-selector",
        "reason=SuccessfulCreate",
        "-o",
        "json",
    ]);
    assert_eq!(ev.code, 0, "{}", ev.stderr);
    let items = ev.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 10, "nine events and a combined one");
    let counts: Vec<i64> = items.iter().map(|e| e["count"].as_i64().unwrap()).collect();
    assert_eq!(counts.iter().sum::<i64>(), 40, "{counts:?}");
    let combined: Vec<_> = items
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .unwrap()
                .starts_with("(combined from similar events): Created pod: many-")
        })
        .collect();
    assert_eq!(combined.len(), 1);
    assert_eq!(combined[0]["count"], 31);
    assert!(
        combined[0]["firstTimestamp"].as_str() <= combined[0]["lastTimestamp"].as_str(),
        "{}",
        combined[0]
    );
    let d = env.wasmjob(&["describe", "job", "many"]);
    assert_eq!(d.code, 0, "{}", d.stderr);
    assert!(d.stdout.contains(" (x31 over "), "{}", d.stdout);
}

#[test]
fn field_selectors_filter_and_unknown_fields_are_refused() {
    let env = Env::new();
    let r = env.run(
        &FAILING_ONCE
            .replace("exit, '0'", "exit, '3'")
            .replace("backoffLimit: 4", "backoffLimit: 0"),
    );
    assert_eq!(r.code, 1);
    let failed = env.wasmjob(&[
        "get",
        "pods",
        "--field-selector",
        "status.phase=Failed",
        "-o",
        "name",
    ]);
    assert_eq!(failed.code, 0, "{}", failed.stderr);
    assert!(!failed.stdout.is_empty());
    let ok = env.wasmjob(&[
        "get",
        "pods",
        "--field-selector",
        "status.phase=Succeeded",
        "-o",
        "name",
    ]);
    assert_eq!(ok.stdout, "");
    let not_failed = env.wasmjob(&[
        "get",
        "pods",
        "--field-selector",
        "status.phase!=Failed",
        "-o",
        "name",
    ]);
    assert_eq!(not_failed.stdout, "");
    let jobs = env.wasmjob(&[
        "get",
        "jobs",
        "--field-selector",
        "status.successful=0",
        "-o",
        "name",
    ]);
    assert_eq!(jobs.stdout, "job.batch/look\n");
    // A field the API server does not support on pods (it does support spec.nodeName).
    let bad = env.wasmjob(&["get", "pods", "--field-selector", "status.hostIP=x"]);
    assert_eq!(bad.code, 2);
    assert_eq!(
        bad.stderr.trim(),
        "Error from server (BadRequest): field label not supported: status.hostIP"
    );
}

#[test]
fn logs_tail_timestamps_prefix_and_previous() {
    let env = Env::new();
    let r = env.run(FAILING_ONCE);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pods = env.pods("batch.kubernetes.io/job-name=look");
    let pod = pods[0]["metadata"]["name"].as_str().unwrap().to_string();
    let tail = env.wasmjob(&["logs", &pod, "--tail", "2"]);
    assert_eq!(tail.stdout, "two\nthree\n");
    let ts = env.wasmjob(&["logs", &pod, "--timestamps", "--tail", "1"]);
    let (time, rest) = ts.stdout.trim_end().split_once(' ').unwrap();
    assert_eq!(rest, "three");
    assert!(time.parse::<jiff::Timestamp>().is_ok(), "{time}");
    let all = env.wasmjob(&[
        "logs",
        "-l",
        "batch.kubernetes.io/job-name=look",
        "--prefix",
    ]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    assert_eq!(all.stdout.lines().count(), 6);
    for p in &pods {
        let name = p["metadata"]["name"].as_str().unwrap();
        assert!(
            all.stdout.contains(&format!("[pod/{name}/main] three\n")),
            "{}",
            all.stdout
        );
    }
    let prev = env.wasmjob(&["logs", &pod, "--previous"]);
    assert_eq!(prev.code, 1);
    assert_eq!(
        prev.stderr.trim(),
        format!("error: previous terminated container \"main\" in pod \"{pod}\" not found")
    );

    // OnFailure: the run before the restart is `--previous`.
    let r = env.run(
        "apiVersion: batch/v1
kind: Job
metadata:
  name: again
spec:
  template:
    spec:
      restartPolicy: OnFailure
      volumes: [{name: scratch, emptyDir: {}}]
      containers:
      - name: main
        image: PROBE
        volumeMounts: [{name: scratch, mountPath: /scratch}]
        args: [print, attempt, append, /scratch/count, x, expect-file, /scratch/count, xx]
",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pod = env.pods("batch.kubernetes.io/job-name=again")[0].clone();
    assert_eq!(pod["status"]["containerStatuses"][0]["restartCount"], 1);
    let name = pod["metadata"]["name"].as_str().unwrap();
    let prev = env.wasmjob(&["logs", name, "--previous"]);
    assert_eq!(prev.code, 0, "{}", prev.stderr);
    assert!(
        prev.stdout
            .starts_with("attempt\nexpect-file: /scratch/count holds \"x\""),
        "{}",
        prev.stdout
    );
    assert_eq!(env.logs(name), "attempt\n");
}

#[test]
fn logs_follow_prints_as_the_guest_writes_and_ends_with_it() {
    let env = Env::new();
    let serve = env.serve(&[]);
    let file = env.manifest(
        "slow.yaml",
        &FAILING_ONCE
            .replace("completions: 2\n  parallelism: 2", "completions: 1")
            .replace(
                "[print, one, print, two, print, three, exit, '0']",
                "[print, early, sleep, '1500', print, late]",
            ),
    );
    assert_eq!(
        env.wasmjob(&["apply", "-f", file.to_str().unwrap()]).code,
        0
    );
    let started = Instant::now();
    let pod = loop {
        let pods = env.pods("batch.kubernetes.io/job-name=look");
        if let Some(p) = pods.iter().find(|p| p["status"]["phase"] == "Running") {
            break p["metadata"]["name"].as_str().unwrap().to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(10));
    };
    let r = env.wasmjob(&["logs", "-f", &pod]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "early\nlate\n");
    assert!(r.elapsed >= Duration::from_millis(500), "{:?}", r.elapsed);
    drop(serve);
}

#[test]
fn get_watch_prints_each_change() {
    let env = Env::new();
    let _serve = env.serve(&[]);
    let mut watch = Command::new(env!("CARGO_BIN_EXE_wasmjob"))
        .arg("--state-dir")
        .arg(env.state())
        .args(["get", "jobs", "-w"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The Job is applied once the watch has listed (nothing yet), however slow the machine.
    let mut listed = String::new();
    std::io::BufReader::new(watch.stderr.take().unwrap())
        .read_line(&mut listed)
        .unwrap();
    assert_eq!(listed.trim(), "No resources found in default namespace.");
    // The pods run long enough for the watch to see the Job Running on a loaded machine.
    let slow = FAILING_ONCE.replace("exit, '0'", "sleep, '1000', exit, '0'");
    assert_ne!(slow, FAILING_ONCE);
    let file = env.manifest("w.yaml", &slow);
    assert_eq!(
        env.wasmjob(&["apply", "-f", file.to_str().unwrap()]).code,
        0
    );
    let r = env.wasmjob(&["wait", "--for=condition=complete", "job/look"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::thread::sleep(Duration::from_millis(400));
    let _ = watch.kill();
    let mut text = String::new();
    watch
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let _ = watch.wait();
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("look ")).collect();
    assert!(rows.len() >= 2, "{text}");
    assert!(rows.first().unwrap().contains("Running"), "{text}");
    assert!(
        rows.last().unwrap().contains("Complete") && rows.last().unwrap().contains("2/2"),
        "{text}"
    );
}
