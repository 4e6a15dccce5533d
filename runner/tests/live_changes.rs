//! Changing a live Job from another process (issue 3): `wasmjob patch` on a Job that a
//! `wasmjob run` in another process is running — resume a suspended Job, raise parallelism —
//! and refusing immutable changes with Kubernetes' wording.

use crate::common;
use common::*;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn spawn_run(env: &Env, file: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wasmjob"))
        .arg("--state-dir")
        .arg(env.state())
        .args([
            "run",
            file.to_str().unwrap(),
            "-o",
            "json",
            "--backoff-base",
            "20ms",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn job(env: &Env, name: &str) -> serde_json::Value {
    let r = env.wasmjob(&["get", "job", name, "-o", "json"]);
    if r.code != 0 {
        return serde_json::Value::Null;
    }
    r.json()
}

fn finish(child: Child) -> (i32, serde_json::Value) {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), json)
}

#[test]
fn a_job_created_suspended_waits_and_runs_once_resumed() {
    let env = Env::new();
    let file = env.manifest(
        "job.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: later}\nspec:\n  suspend: true\n  completions: 2\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [print, ran]}\n",
    );
    let child = spawn_run(&env, &file);
    wait_for("the Suspended condition", Duration::from_secs(20), || {
        has_condition(&job(&env, "later"), "Suspended", "JobSuspended")
    });
    let suspended = job(&env, "later");
    assert!(
        suspended["status"].get("startTime").is_none(),
        "no startTime while suspended: {suspended}"
    );
    assert!(env.pods("batch.kubernetes.io/job-name=later").is_empty());

    let r = env.wasmjob(&[
        "patch",
        "job",
        "later",
        "-p",
        r#"{"spec":{"suspend":false}}"#,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "job.batch/later patched\n");
    let (code, done) = finish(child);
    assert_eq!(code, 0);
    let conds: Vec<_> = done["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
                c["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        conds,
        vec![
            ("Suspended".into(), "False".into(), "JobResumed".into()),
            (
                "SuccessCriteriaMet".into(),
                "True".into(),
                "CompletionsReached".into()
            ),
            (
                "Complete".into(),
                "True".into(),
                "CompletionsReached".into()
            ),
        ]
    );
    assert_eq!(done["metadata"]["generation"], 2);
    assert_eq!(env.pods("batch.kubernetes.io/job-name=later").len(), 2);
}

#[test]
fn raising_parallelism_of_a_running_job_starts_more_pods() {
    let env = Env::new();
    let file = env.manifest(
        "job.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: wider}\nspec:\n  completions: 4\n  parallelism: 1\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [sleep, '1500']}\n",
    );
    let child = spawn_run(&env, &file);
    wait_for("the first pod", Duration::from_secs(20), || {
        !env.pods("batch.kubernetes.io/job-name=wider").is_empty()
    });
    let r = env.wasmjob(&[
        "patch",
        "job",
        "wider",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"parallelism":4}}"#,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    wait_for("four pods", Duration::from_secs(20), || {
        env.pods("batch.kubernetes.io/job-name=wider").len() == 4
    });
    let (code, done) = finish(child);
    assert_eq!(code, 0);
    assert_eq!(done["status"]["succeeded"], 4);
    assert_eq!(done["spec"]["parallelism"], 4);
}

#[test]
fn immutable_changes_are_refused_with_kubernetes_wording() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: fixed}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE}\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (patch, want) in [
        (
            r#"{"spec":{"completions":3}}"#,
            "spec.completions: Invalid value: 3: field is immutable",
        ),
        (
            r#"{"spec":{"template":{"spec":{"restartPolicy":"OnFailure"}}}}"#,
            "spec.template: Invalid value",
        ),
        (
            r#"{"spec":{"parallelism":-2}}"#,
            "spec.parallelism: Invalid value: -2: must be greater than or equal to 0",
        ),
        (r#"{"spec":{"bogus":1}}"#, "bogus"),
        ("not json", "unable to parse the patch"),
    ] {
        let r = env.wasmjob(&["patch", "job", "fixed", "-p", patch]);
        assert_eq!(r.code, 2, "{patch}: {}", r.stderr);
        assert!(
            r.stderr.contains(want),
            "{patch}: want {want:?} in {}",
            r.stderr
        );
    }
    let r = env.wasmjob(&["patch", "job", "nope", "-p", "{}"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("NotFound"), "{}", r.stderr);
    assert_eq!(
        job(&env, "fixed")["metadata"]["generation"],
        1,
        "a refused patch changes nothing"
    );
}
