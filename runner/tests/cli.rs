//! The CLI as a new user meets it: bad input exits 2 with a message naming what is wrong and
//! stores nothing; names are unique per namespace (kubectl's AlreadyExists); bad modules are
//! refused before anything runs; `get` and `logs` read the state directory.

use crate::common;
use common::*;

const GOOD: &str = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: hello}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [print, hi]}\n";

fn nothing_stored(env: &Env) {
    let r = env.wasmjob(&["get", "jobs", "-A", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.json()["items"].as_array().unwrap().len(),
        0,
        "a Job was stored"
    );
}

#[test]
fn malformed_manifests_exit_2_naming_the_field_and_store_nothing() {
    let env = Env::new();
    for (yaml, want) in [
        (
            GOOD.replace("restartPolicy: Never", "restartPolicy: Always"),
            "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"",
        ),
        (
            GOOD.replace("image: PROBE", "imag: PROBE"),
            "spec.template.spec.containers[0].imag",
        ),
        (
            GOOD.replace("name: hello", "name: Hello_World"),
            "metadata.name",
        ),
        (
            GOOD.replace("spec:\n  template", "spec:\n  parallelism: -1\n  template"),
            "spec.parallelism",
        ),
        (
            GOOD.replace(
                "{name: c,",
                "{name: c, resources: {limits: {memory: 64MB}},",
            ),
            "spec.template.spec.containers[0].resources.limits[memory]",
        ),
        (
            format!("{GOOD}---\n{}", GOOD.replace("kind: Job", "kind: Pod")),
            "kind",
        ),
        (
            "apiVersion: batch/v1\nkind: Job\nspec: [\n".to_string(),
            "line",
        ),
    ] {
        let file = env.manifest("bad.yaml", &yaml);
        let r = env.wasmjob(&["run", file.to_str().unwrap()]);
        assert_eq!(r.code, 2, "{want}: {}", r.stderr);
        assert!(r.stderr.contains(want), "want {want:?} in:\n{}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
    nothing_stored(&env);
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    assert_eq!(env.wasmjob(&["run"]).code, 2);
    assert_eq!(env.wasmjob(&["frobnicate"]).code, 2);
    let r = env.wasmjob(&["run", "missing.yaml"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("missing.yaml"), "{}", r.stderr);
    let file = env.manifest("job.yaml", GOOD);
    let r = env.wasmjob(&["run", file.to_str().unwrap(), "--backoff-base", "soon"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("soon"), "{}", r.stderr);
    let r = env.wasmjob(&["get", "deployments"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("deployments"), "{}", r.stderr);
    let r = env.wasmjob(&["get", "pods", "-l", "a in b"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn a_name_is_taken_once_per_namespace() {
    let env = Env::new();
    let file = env.manifest("job.yaml", GOOD);
    let file = file.to_str().unwrap();
    assert_eq!(env.wasmjob(&["run", file]).code, 0);
    let again = env.wasmjob(&["run", file]);
    assert_eq!(again.code, 2);
    assert!(
        again
            .stderr
            .contains("Error from server (AlreadyExists): jobs.batch \"hello\" already exists"),
        "{}",
        again.stderr
    );
    // Another namespace is another name.
    assert_eq!(env.wasmjob(&["-n", "other", "run", file]).code, 0);
    // --replace deletes the old Job, its pods and logs first.
    let old_pod = env.pods("batch.kubernetes.io/job-name=hello")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(env.wasmjob(&["run", file, "--replace"]).code, 0);
    let pods = env.pods("batch.kubernetes.io/job-name=hello");
    assert_eq!(pods.len(), 1);
    assert_ne!(pods[0]["metadata"]["name"].as_str().unwrap(), old_pod);
    let r = env.wasmjob(&["-n", "other", "get", "jobs", "hello", "-o", "json"]);
    assert_eq!(r.json()["metadata"]["namespace"], "other");
}

#[test]
fn namespace_flag_must_agree_with_the_manifest() {
    let env = Env::new();
    let file = env.manifest(
        "job.yaml",
        &GOOD.replace("{name: hello}", "{name: hello, namespace: team-a}"),
    );
    let r = env.wasmjob(&["-n", "team-b", "run", file.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("does not match the namespace"),
        "{}",
        r.stderr
    );
    nothing_stored(&env);
}

#[test]
fn bad_modules_are_refused_before_anything_runs() {
    let env = Env::new();
    let dir = env.path();
    std::fs::write(dir.join("text.wasm"), "not wasm").unwrap();
    std::fs::write(
        dir.join("lib.wasm"),
        wat::parse_str("(module (func (export \"f\")))").unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("imports.wasm"),
        wat::parse_str(
            "(module (import \"env\" \"launch_missiles\" (func)) (func (export \"_start\")))",
        )
        .unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("component.wasm"),
        wat::parse_str("(component)").unwrap(),
    )
    .unwrap();
    for (image, want) in [
        ("nowhere.wasm", "nowhere.wasm"),
        ("text.wasm", "not a WebAssembly module"),
        ("lib.wasm", "_start"),
        ("imports.wasm", "launch_missiles"),
        ("component.wasm", "component"),
        ("docker.io/library/perl:5.34", "wasmjob.dev/module.c"),
    ] {
        let file = env.manifest("job.yaml", &GOOD.replace("PROBE", image));
        let r = env.wasmjob(&["run", file.to_str().unwrap()]);
        assert_eq!(r.code, 2, "{image}: {}", r.stderr);
        assert!(
            r.stderr.contains(want),
            "{image}: want {want:?} in {}",
            r.stderr
        );
    }
    nothing_stored(&env);
}

#[test]
fn module_annotation_overrides_a_cluster_image() {
    let env = Env::new();
    let yaml = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: portable}\nspec:\n  template:\n    metadata:\n      annotations: {wasmjob.dev/module.c: PROBE}\n    spec:\n      runtimeClassName: wasmtime\n      restartPolicy: Never\n      containers:\n      - {name: c, image: 'ghcr.io/example/probe:1.0', args: [print, portable]}\n";
    let r = env.run(yaml);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(env.logs("job/portable"), "portable\n");
}

#[test]
fn ignored_fields_are_warned_about() {
    let env = Env::new();
    let yaml = GOOD
        .replace(
            "restartPolicy: Never",
            "restartPolicy: Never\n      serviceAccountName: batch",
        )
        .replace("{name: c,", "{name: c, imagePullPolicy: Always,");
    let r = env.run(&yaml);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("Warning:") && r.stderr.contains("spec.template.spec.serviceAccountName"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("spec.template.spec.containers[0].imagePullPolicy"),
        "{}",
        r.stderr
    );
}

#[test]
fn get_and_logs_read_the_state_directory() {
    let env = Env::new();
    let two = format!(
        "{GOOD}---\n{}",
        GOOD.replace("name: hello", "name: second")
            .replace("[print, hi]", "[print, two, exit, '0']")
    );
    let r = env.run(&two);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let list = r.json();
    assert_eq!(list["kind"], "List", "several Jobs print as a List");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    let table = env.wasmjob(&["get", "jobs"]);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines[0], "NAME     STATUS     COMPLETIONS   DURATION   AGE");
    assert!(
        lines[1].starts_with("hello    Complete   1/1 "),
        "{}",
        table.stdout
    );
    assert_eq!(lines.len(), 3);

    let names = env.wasmjob(&[
        "get",
        "pods",
        "-o",
        "name",
        "-l",
        "batch.kubernetes.io/job-name=second",
    ]);
    assert!(names.stdout.starts_with("pod/second-"), "{}", names.stdout);
    assert_eq!(names.stdout.lines().count(), 1);

    assert_eq!(env.logs("job/second"), "two\n");
    assert_eq!(
        env.logs(names.stdout.trim().trim_start_matches("pod/")),
        "two\n"
    );
    let missing = env.wasmjob(&["logs", "job/nope"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("NotFound"), "{}", missing.stderr);

    let job = env.wasmjob(&["get", "job", "hello", "-o", "yaml"]);
    assert!(
        job.stdout.contains("kind: Job")
            && job.stdout.contains("batch.kubernetes.io/controller-uid"),
        "{}",
        job.stdout
    );
    let pod = &env.pods("batch.kubernetes.io/job-name=hello")[0];
    assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "Job");
    assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
    assert!(pod["metadata"]["name"].as_str().unwrap().len() == "hello-".len() + 5);
    assert!(
        pod["metadata"].get("finalizers").is_none(),
        "counted pods lose the tracking finalizer"
    );
}

#[test]
fn json_manifests_run_too() {
    let env = Env::new();
    let json = format!(
        "{{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{{\"name\":\"fromjson\"}},\"spec\":{{\"template\":{{\"spec\":{{\"restartPolicy\":\"Never\",\"containers\":[{{\"name\":\"c\",\"image\":\"{PROBE_WASM}\",\"args\":[\"print\",\"json\"]}}]}}}}}}}}"
    );
    let file = env.manifest("job.json", &json);
    let r = env.wasmjob(&["run", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("job.batch/fromjson complete"),
        "{}",
        r.stdout
    );
}

#[test]
fn sigterm_stops_running_pods_with_a_disruption_target_condition() {
    let env = Env::new();
    let file = env.manifest(
        "sleepy.yaml",
        &GOOD
            .replace("name: hello", "name: sleepy")
            .replace("[print, hi]", "[sleep, '60000']"),
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wasmjob"))
        .arg("--state-dir")
        .arg(env.state())
        .args(["run", file.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the pod runs.
    let started = std::time::Instant::now();
    loop {
        let pods = env.pods("batch.kubernetes.io/job-name=sleepy");
        if pods
            .first()
            .is_some_and(|p| p["status"]["phase"] == "Running")
        {
            break;
        }
        assert!(started.elapsed().as_secs() < 20, "the pod never ran");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let stopped_at = std::time::Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(stopped_at.elapsed().as_secs() < 10, "wasmjob did not stop");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    let pod = &env.pods("batch.kubernetes.io/job-name=sleepy")[0];
    assert_eq!(pod["status"]["phase"], "Failed");
    let disruption = pod["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "DisruptionTarget")
        .expect("a DisruptionTarget condition");
    assert_eq!(disruption["status"], "True");
    assert_eq!(terminated(pod)["exitCode"], 143);
}

#[test]
fn events_are_kept_per_job_like_kubernetes() {
    let env = Env::new();
    let r = env.run(
        &GOOD
            .replace("[print, hi]", "[exit, '1']")
            .replace("spec:\n  template", "spec:\n  backoffLimit: 1\n  template"),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let uid = r.json()["metadata"]["uid"].as_str().unwrap().to_string();
    let store = wasmjob::store::Store::open(&env.state()).unwrap();
    let events: Vec<(String, String, String)> = store
        .events_of(&uid)
        .unwrap()
        .into_iter()
        .map(|e| (e.type_, e.reason, e.message))
        .collect();
    let pods = env.pods("batch.kubernetes.io/job-name=hello");
    assert_eq!(pods.len(), 2);
    let created: Vec<_> = events
        .iter()
        .filter(|e| e.1 == "SuccessfulCreate")
        .collect();
    assert_eq!(created.len(), 2);
    for p in &pods {
        let name = p["metadata"]["name"].as_str().unwrap();
        assert!(
            created
                .iter()
                .any(|e| e.2 == format!("Created pod: {name}")),
            "{events:?}"
        );
    }
    let last = events.last().unwrap();
    assert_eq!(
        (last.0.as_str(), last.1.as_str(), last.2.as_str()),
        (
            "Warning",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit"
        )
    );
}
