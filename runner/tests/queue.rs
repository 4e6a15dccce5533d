//! The brokered work queue end to end: items given with `--items` or the
//! `wasmjob.dev/items-file` annotation, leased to pods through the guest SDK, taken back from
//! failed pods, published exactly once as atomic outputs, durable across a controller crash,
//! and visible per item (`wasmjob queue`, `describe job`).

use crate::common;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

fn queue_job(name: &str, parallelism: u32, args: &str, annotations: &str) -> String {
    format!(
        r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
{annotations}
spec:
  parallelism: {parallelism}
  backoffLimit: 100000
  template:
    spec:
      restartPolicy: Never
      volumes:
      - name: results
        csi:
          driver: outputs.wasmjob.dev
          volumeAttributes:
            path: out/{name}
      containers:
      - name: worker
        image: TASKER
        args: [{args}]
        volumeMounts:
        - name: results
          mountPath: /results
"#
    )
}

fn write_items(env: &Env, name: &str, n: usize) -> (std::path::PathBuf, Vec<String>) {
    let items: Vec<String> = (0..n).map(|i| format!("item number {i}")).collect();
    let path = env.path().join(name);
    std::fs::write(&path, items.join("\n") + "\n").unwrap();
    (path, items)
}

/// Every published unit must be exactly one item: `<id>/item.txt` holding the item's text.
fn assert_each_item_published_once(out: &Path, items: &[String]) {
    let mut units: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".staging")
        .collect();
    units.sort_by_key(|u| u.parse::<usize>().unwrap_or(usize::MAX));
    let expected: Vec<String> = (0..items.len()).map(|i| i.to_string()).collect();
    assert_eq!(
        units, expected,
        "one published folder per item, nothing else"
    );
    for (i, text) in items.iter().enumerate() {
        let files: Vec<_> = std::fs::read_dir(out.join(i.to_string()))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            files,
            vec![std::ffi::OsString::from("item.txt")],
            "item {i}"
        );
        assert_eq!(
            std::fs::read_to_string(out.join(i.to_string()).join("item.txt")).unwrap(),
            *text
        );
    }
    let staging = out.join(".staging");
    assert!(
        !staging.exists() || std::fs::read_dir(&staging).unwrap().count() == 0,
        "nothing left staged"
    );
}

fn queue_items(env: &Env, job: &str) -> Vec<Value> {
    let r = env.wasmjob(&["queue", job, "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.json().as_array().cloned().unwrap()
}

#[test]
fn a_thousand_items_four_workers_ten_percent_failures() {
    let env = Env::new();
    let (items_file, items) = write_items(&env, "items.txt", 1000);
    let file = env.manifest(
        "q.yaml",
        &queue_job("words", 4, r#""drain", "10", "0""#, ""),
    );
    let r = env.wasmjob_limit(
        &[
            "run",
            file.to_str().unwrap(),
            "--items",
            items_file.to_str().unwrap(),
            "-o",
            "json",
            "--backoff-base",
            "1ms",
            "--backoff-max",
            "10ms",
        ],
        Duration::from_secs(240),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let job = r.json();
    assert!(
        has_condition(&job, "Complete", "CompletionsReached"),
        "{job}"
    );
    let failed = job["status"]["failed"].as_u64().unwrap();
    assert!(
        (30..=300).contains(&failed),
        "about 10% of 1000 items fail once or more: {failed} failed pods"
    );
    assert_each_item_published_once(&env.path().join("out/words"), &items);

    let q = queue_items(&env, "words");
    assert_eq!(q.len(), 1000);
    assert!(q.iter().all(|i| i["state"] == "Done"), "every item done");
    let attempts: u64 = q.iter().map(|i| i["attempts"].as_u64().unwrap()).sum();
    assert_eq!(
        attempts,
        1000 + failed,
        "each failed pod gave exactly one leased item back"
    );
    assert!(q.iter().any(|i| i["attempts"].as_u64().unwrap() >= 2));
    // A retried item's log shows its second attempt.
    let table = env.wasmjob(&["queue", "words"]);
    assert!(table.stdout.starts_with("ID"), "{}", table.stdout);
    let d = env.wasmjob(&["describe", "job", "words"]);
    assert!(
        d.stdout
            .contains("1000 items: 0 Pending / 0 Leased / 1000 Done"),
        "{}",
        d.stdout
    );
}

#[test]
fn the_queue_survives_a_controller_crash() {
    let env = Env::new();
    let (_, items) = write_items(&env, "items.txt", 150);
    let file = env.manifest(
        "crash.yaml",
        &queue_job(
            "durable",
            3,
            r#""drain", "0", "20""#,
            "  annotations:\n    wasmjob.dev/items-file: items.txt",
        ),
    );
    let serve = env.serve(&[]);
    let applied = env.wasmjob(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    // Let some items be done, and kill the controller mid-flight.
    wait_for("20 items done", Duration::from_secs(30), || {
        queue_items(&env, "durable")
            .iter()
            .filter(|i| i["state"] == "Done")
            .count()
            >= 20
    });
    serve.kill9();
    let before = queue_items(&env, "durable");
    assert!(
        before.iter().any(|i| i["state"] == "Leased"),
        "the crash left leases behind"
    );
    let serve = env.serve(&[]);
    let waited = env.wasmjob_limit(
        &[
            "wait",
            "--for=condition=complete",
            "job/durable",
            "--timeout",
            "120s",
        ],
        Duration::from_secs(130),
    );
    assert_eq!(waited.code, 0, "{}\n{}", waited.stderr, serve.log());
    let after = queue_items(&env, "durable");
    assert!(after.iter().all(|i| i["state"] == "Done"));
    // Items done before the crash stayed done (not processed again).
    for (b, a) in before.iter().zip(&after) {
        if b["state"] == "Done" {
            assert_eq!(b["attempts"], a["attempts"], "{b} {a}");
        }
    }
    assert_each_item_published_once(&env.path().join("out/durable"), &items);
    assert_eq!(serve.terminate(), 0);
}

#[test]
fn items_need_a_work_queue_job_and_readable_input() {
    let env = Env::new();
    let (items_file, _) = write_items(&env, "items.txt", 3);
    let items = items_file.to_str().unwrap();
    let indexed = env.manifest(
        "indexed.yaml",
        &queue_job("ix", 1, r#""exit", "0""#, "").replace(
            "  parallelism: 1",
            "  parallelism: 1\n  completions: 2\n  completionMode: Indexed",
        ),
    );
    let r = env.wasmjob(&["run", indexed.to_str().unwrap(), "--items", items]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("leave spec.completions unset"),
        "{}",
        r.stderr
    );

    let two = env.manifest(
        "two.yaml",
        &format!(
            "{}\n---\n{}",
            queue_job("a", 1, r#""exit", "0""#, ""),
            queue_job("b", 1, r#""exit", "0""#, "")
        ),
    );
    let r = env.wasmjob(&["apply", "-f", two.to_str().unwrap(), "--items", items]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("--items needs exactly one Job"),
        "{}",
        r.stderr
    );

    let one = env.manifest("one.yaml", &queue_job("c", 1, r#""exit", "0""#, ""));
    let r = env.wasmjob(&["run", one.to_str().unwrap(), "--items", "missing.txt"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("items file missing.txt"), "{}", r.stderr);

    let annotated = env.manifest(
        "annotated.yaml",
        &queue_job(
            "d",
            1,
            r#""exit", "0""#,
            "  annotations:\n    wasmjob.dev/items-file: nowhere.txt",
        ),
    );
    let r = env.wasmjob(&["apply", "-f", annotated.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("nowhere.txt (annotation wasmjob.dev/items-file)"),
        "{}",
        r.stderr
    );

    // Nothing was stored by any refused command.
    let jobs = env.wasmjob(&["get", "jobs", "-o", "json"]);
    assert_eq!(
        jobs.json()["items"].as_array().map(Vec::len),
        Some(0),
        "{}",
        jobs.stdout
    );
    let q = env.wasmjob(&["queue", "c"]);
    assert_eq!(q.code, 1);
    assert!(q.stderr.contains("not found"), "{}", q.stderr);
}

#[test]
fn a_task_without_a_queue_is_told_so() {
    let env = Env::new();
    let r = env.run(
        &queue_job("none", 1, r#""drain", "0", "0""#, "")
            .replace("backoffLimit: 100000", "backoffLimit: 0"),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        env.logs("job/none")
            .contains("queue: the Job has no work queue"),
        "{}",
        env.logs("job/none")
    );
}

#[test]
fn a_job_that_ends_before_its_queue_is_drained_says_so() {
    let env = Env::new();
    let (items_file, _) = write_items(&env, "items.txt", 5);
    // A worker that takes one item and exits 0 without asking for more.
    let file = env.manifest("lazy.yaml", &queue_job("lazy", 1, r#""exit", "0""#, ""));
    let r = env.wasmjob(&[
        "run",
        file.to_str().unwrap(),
        "--items",
        items_file.to_str().unwrap(),
        "--backoff-base",
        "20ms",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let q = queue_items(&env, "lazy");
    assert!(
        q.iter()
            .all(|i| i["state"] == "Pending" && i["attempts"] == 0)
    );
    let events = env.wasmjob(&["get", "events"]);
    assert!(
        events.stdout.contains("QueueNotDrained")
            && events.stdout.contains("5 of its work-queue items not done"),
        "{}",
        events.stdout
    );
}
