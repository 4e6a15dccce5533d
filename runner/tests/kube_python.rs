//! The Kubernetes API of `serve --listen` driven by the official Python client (`kubernetes`
//! on PyPI): `tests/kube/indexed_job.py` creates an Indexed Job, watches it to completion and
//! reads each pod's log; its JSON lines and `wasmjob get job -o json` must both show the exact
//! result. Skipped with a message when the module is not importable, except under CI, where
//! that fails.

mod common;
mod kube;
use common::*;
use kube::*;
use serde_json::{Value, json};
use std::time::Duration;

/// `python3` when it can import `kubernetes`, or `None` (after saying why) outside CI.
fn python_client() -> Option<&'static str> {
    let found = std::process::Command::new("python3")
        .args(["-c", "import kubernetes"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 cannot import kubernetes, and CI is set: the Python client test must run"
        );
        eprintln!("skipped: python3 cannot import kubernetes (pip install kubernetes)");
        return None;
    }
    Some("python3")
}

#[test]
fn the_python_client_runs_an_indexed_job_and_reads_each_pods_log() {
    let Some(python) = python_client() else {
        return;
    };
    let env = Env::new();
    let (serve, kubeconfig) = serve_with_api(&env);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kube/indexed_job.py");
    let r = env.program(
        python,
        &[script, kubeconfig.to_str().unwrap(), PROBE_WASM, "shards"],
        Duration::from_secs(90),
    );
    assert_eq!(
        r.code,
        0,
        "stdout:\n{}\nstderr:\n{}\nserve:\n{}",
        r.stdout,
        r.stderr,
        serve.log()
    );
    let lines: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    assert_eq!(
        lines[0],
        json!({
            "job": "shards",
            "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached"},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached"},
            ],
            "succeeded": 3,
            "failed": null,
            "completedIndexes": "0-2",
        })
    );
    for (i, pod) in lines[1..].iter().enumerate() {
        let name = pod["pod"].as_str().unwrap();
        let prefix = format!("shards-{i}-");
        assert!(
            name.starts_with(&prefix) && name.len() == prefix.len() + 5,
            "{name}"
        );
        assert_eq!(pod["index"], i.to_string(), "{pod}");
        assert_eq!(pod["phase"], "Succeeded", "{pod}");
        assert_eq!(pod["log"], format!("shard {i} of 3\n"), "{pod}");
    }

    // The same Job as the CLI sees it.
    let job = env.job("shards").expect("get job shards");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    assert_eq!(job["status"]["succeeded"], 3);
    assert_eq!(job["status"]["completedIndexes"], "0-2");
    assert_eq!(
        conditions(&job),
        [
            ("SuccessCriteriaMet".into(), "CompletionsReached".into()),
            ("Complete".into(), "CompletionsReached".into()),
        ]
    );
    let mut pods = env.pods("batch.kubernetes.io/job-name=shards");
    pods.sort_by_key(|p| p["metadata"]["name"].as_str().unwrap().to_string());
    let names: Vec<&str> = pods
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    let from_python: Vec<&str> = lines[1..]
        .iter()
        .map(|p| p["pod"].as_str().unwrap())
        .collect();
    assert_eq!(names, from_python);
    for (i, name) in names.iter().enumerate() {
        assert_eq!(env.logs(name), format!("shard {i} of 3\n"));
    }
}
