//! The Kubernetes API of `serve --listen` driven by client libraries beyond kubectl, each as
//! its users drive a cluster. The official Python client (`kubernetes` on PyPI,
//! `tests/kube/indexed_job.py`) creates an Indexed Job, watches it to completion and reads
//! each pod's log; its JSON lines and `wasmjob get job -o json` must both show the exact
//! result. Issue 16 added the official JavaScript client (`@kubernetes/client-node` 1.x,
//! `tests/kube/js/indexed_job.mjs`, with its informer) and kube-rs (`tests/kube-client`, with
//! `kube::runtime` watchers and `await_condition`). Each creates an Indexed Job, follows it to
//! `Complete`, sees a label another client sets through the API (kubectl for the JS client, a
//! second `kube::Client` for kube-rs), reads each pod's log and deletes the Job with
//! `propagationPolicy: Background` — the JS client in the query, kube-rs in the body — until
//! its pods are gone. The Python and JS tests are skipped with a message when
//! their runtime or client is missing, except under CI, where that fails.

use crate::common;
use crate::kube;
use common::*;
use kube::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What every client must have reported, in order.
fn check_report(lines: &[Value], name: &str) {
    assert_eq!(lines.len(), 6, "{lines:#?}");
    assert_eq!(
        lines[0],
        json!({
            "job": name,
            "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached"},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached"},
            ],
            "succeeded": 3,
            "completedIndexes": "0-2",
        })
    );
    assert_eq!(lines[1]["label"], "yes", "{lines:#?}");
    for (i, pod) in lines[2..5].iter().enumerate() {
        let pod_name = pod["pod"].as_str().unwrap();
        let prefix = format!("{name}-{i}-");
        assert!(
            pod_name.starts_with(&prefix) && pod_name.len() == prefix.len() + 5,
            "{pod_name}"
        );
        assert_eq!(pod["index"], i.to_string(), "{pod}");
        assert_eq!(pod["phase"], "Succeeded", "{pod}");
        assert_eq!(pod["log"], format!("shard {i} of 3\n"), "{pod}");
    }
    assert_eq!(lines[5], json!({"deleted": name, "podsLeft": 0}));
}

/// The label another client sets on the Job through the API: `kubectl label`.
fn label(env: &Env, kubeconfig: &Path, name: &str) {
    let r = kube(env, kubeconfig, &["label", "job", name, "reviewed=yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// After the clients' deletions: neither the Job nor a pod of it is left, as the CLI sees it.
fn check_gone(env: &Env, name: &str) {
    assert!(env.job(name).is_none(), "job {name} is gone");
    assert!(
        env.pods(&format!("batch.kubernetes.io/job-name={name}"))
            .is_empty(),
        "its pods are gone"
    );
}

/// The folder of the JavaScript client test, with its `node_modules` (`npm ci` there).
fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kube/js")
}

/// `node` when it and the client are installed, or `None` (after saying why) outside CI.
fn node_client() -> Option<&'static str> {
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let client = js_dir()
        .join("node_modules/@kubernetes/client-node/package.json")
        .exists();
    if !(node && client) {
        assert!(
            std::env::var_os("CI").is_none(),
            "Node.js or @kubernetes/client-node is missing, and CI is set: the JavaScript client test must run (npm ci --prefix runner/tests/kube/js)"
        );
        eprintln!(
            "skipped: {} (npm ci --prefix runner/tests/kube/js)",
            if node {
                "@kubernetes/client-node is not installed"
            } else {
                "node is not on PATH"
            }
        );
        return None;
    }
    Some("node")
}

#[test]
fn the_javascript_client_follows_an_indexed_job_with_its_informer_and_deletes_it() {
    let Some(node) = node_client() else { return };
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (serve, kc) = serve_with_api(&env);
    let script = js_dir().join("indexed_job.mjs");
    let mut client = Streaming::program(
        &env,
        node,
        &[
            script.to_str().unwrap(),
            kc.to_str().unwrap(),
            PROBE_WASM,
            "js-shards",
        ],
    );
    client.expect("the Job complete", Duration::from_secs(90), |l| {
        l.contains("\"conditions\"")
    });
    label(&env, &kc, "js-shards");
    let code = client.wait(Duration::from_secs(90));
    let lines: Vec<Value> = client
        .seen
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(
        code,
        0,
        "output:\n{}\nserve:\n{}",
        client.seen.join("\n"),
        serve.log()
    );
    check_report(&lines, "js-shards");
    check_gone(&env, "js-shards");
}

#[test]
fn kube_rs_awaits_an_indexed_job_watches_its_label_and_deletes_it() {
    let env = Env::new();
    let (serve, kc) = serve_with_api(&env);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut lines = Vec::new();
    let result = runtime.block_on(wasmjob_kube_client::indexed_job(
        &kc,
        PROBE_WASM,
        "rs-shards",
        |line| lines.push(line),
    ));
    if let Err(e) = result {
        panic!("{e}\nreported: {lines:#?}\nserve:\n{}", serve.log());
    }
    check_report(&lines, "rs-shards");
    check_gone(&env, "rs-shards");
}

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
