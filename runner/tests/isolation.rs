//! Isolation between pods: pods of different Jobs, running at the same time under one
//! controller, cannot see each other's volumes, environment or work-queue items, and a pod that
//! crashes (trap, abort, stack overflow, out of memory, out of fuel) harms no other pod.

use crate::common;
use crate::hostile;
use common::*;
use hostile::*;
use serde_json::json;
use std::time::Duration;

#[test]
fn pods_of_different_jobs_see_neither_volumes_nor_environment_of_the_other() {
    let env = Env::new();
    let _serve = env.serve(&[]);
    // Job a writes its secret into its emptyDir and its env, and stays alive while b looks.
    let mut a = job(
        "alpha",
        "PROBE",
        &[
            "write",
            "/s/secret",
            "alpha-secret",
            "sleep",
            "4000",
            "read",
            "/s/secret",
        ],
    );
    set(
        &mut a,
        &format!("{POD}/volumes"),
        json!([{"name": "s", "emptyDir": {}}]),
    );
    set(
        &mut a,
        &format!("{C0}/volumeMounts"),
        json!([{"name": "s", "mountPath": "/s"}]),
    );
    set(
        &mut a,
        &format!("{C0}/env"),
        json!([{"name": "ALPHA_TOKEN", "value": "alpha-env"}]),
    );
    apply(&env, &a);
    let pods_dir = env.state().join("pods");
    wait_for("alpha's volume", Duration::from_secs(30), || {
        std::fs::read_dir(&pods_dir)
            .map(|d| {
                d.flatten()
                    .any(|p| p.path().join("volumes/s/secret").exists())
            })
            .unwrap_or(false)
    });
    let alpha_uid = std::fs::read_dir(&pods_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name()
        .to_string_lossy()
        .into_owned();
    // Job b has an emptyDir of the same name mounted at the same path, and looks for a's
    // files by every path it could guess.
    let guesses = [
        "/s/secret".to_string(),
        format!("/s/../{alpha_uid}/volumes/s/secret"),
        format!("/s/../../{alpha_uid}/volumes/s/secret"),
        format!("/pods/{alpha_uid}/volumes/s/secret"),
        format!("{}/{alpha_uid}/volumes/s/secret", pods_dir.display()),
    ];
    let mut steps: Vec<&str> = vec!["ls", "/s"];
    for g in &guesses {
        steps.push("fail-if-exists");
        steps.push(g);
    }
    steps.extend(["env", "print", "looked"]);
    let mut b = job("beta", "PROBE", &steps);
    set(
        &mut b,
        &format!("{POD}/volumes"),
        json!([{"name": "s", "emptyDir": {}}]),
    );
    set(
        &mut b,
        &format!("{C0}/volumeMounts"),
        json!([{"name": "s", "mountPath": "/s"}]),
    );
    apply(&env, &b);
    let beta = wait_finished(&env, "beta", Duration::from_secs(30));
    assert!(
        has_condition(&beta, "Complete", "CompletionsReached"),
        "{beta:#}"
    );
    let log = env.logs("job/beta");
    assert!(log.ends_with("looked\n"), "{log}");
    assert!(!log.contains("alpha"), "beta saw alpha's data: {log}");
    let beta_pod = env.pods("batch.kubernetes.io/job-name=beta");
    let beta_name = beta_pod[0]["metadata"]["name"].as_str().unwrap();
    // ls of an empty /s prints nothing: the log is the environment and the last line.
    assert_eq!(log, format!("HOSTNAME={beta_name}\nlooked\n"));
    let alpha = wait_finished(&env, "alpha", Duration::from_secs(30));
    assert!(has_condition(&alpha, "Complete", "CompletionsReached"));
    assert_eq!(env.logs("job/alpha"), "alpha-secret");
}

fn queue_job(name: &str) -> serde_json::Value {
    let mut j = job(name, "TASKER", &["drain", "0", "0"]);
    set(&mut j, "/spec/parallelism", json!(2));
    set(
        &mut j,
        "/metadata/annotations",
        json!({"wasmjob.dev/items-file": format!("{name}.items")}),
    );
    set(
        &mut j,
        &format!("{POD}/volumes"),
        json!([{"name": "out", "csi": {"driver": "outputs.wasmjob.dev",
            "volumeAttributes": {"path": format!("out/{name}")}}}]),
    );
    set(
        &mut j,
        &format!("{C0}/volumeMounts"),
        json!([{"name": "out", "mountPath": "/out"}]),
    );
    j
}

#[test]
fn work_queue_items_go_only_to_their_own_jobs_pods() {
    let env = Env::new();
    let _serve = env.serve(&[]);
    for name in ["red", "blue"] {
        let items: Vec<String> = (0..40).map(|i| format!("{name}-item-{i}")).collect();
        std::fs::write(env.path().join(format!("{name}.items")), items.join("\n")).unwrap();
    }
    apply(&env, &queue_job("red"));
    apply(&env, &queue_job("blue"));
    for (name, other) in [("red", "blue"), ("blue", "red")] {
        let done = wait_finished(&env, name, Duration::from_secs(60));
        assert!(
            has_condition(&done, "Complete", "CompletionsReached"),
            "{done:#}"
        );
        let mut seen = Vec::new();
        for pod in env.pods(&format!("batch.kubernetes.io/job-name={name}")) {
            let log = env.logs(pod["metadata"]["name"].as_str().unwrap());
            assert!(
                !log.contains(other),
                "{name}'s pod got {other}'s items: {log}"
            );
            seen.extend(
                log.lines()
                    .map(|l| l.rsplit(": ").next().unwrap().to_string()),
            );
        }
        seen.sort();
        let mut expected: Vec<String> = (0..40).map(|i| format!("{name}-item-{i}")).collect();
        expected.sort();
        assert_eq!(
            seen, expected,
            "{name}: every item exactly once, and only its own"
        );
    }
}

#[test]
fn a_crashing_pod_harms_no_other_pod() {
    let env = Env::new();
    let serve = env.serve(&[]);
    // A calm Job that counts to 20 over two seconds while the others crash beside it.
    let mut calm = job(
        "calm",
        "PROBE",
        &[
            "printn",
            "20",
            "tick",
            "sleep",
            "2000",
            "print",
            "calm done",
        ],
    );
    set(&mut calm, "/spec/completions", json!(3));
    set(&mut calm, "/spec/parallelism", json!(3));
    apply(&env, &calm);
    let crashes: [(&str, Vec<&str>, Option<&str>); 5] = [
        ("trap", vec!["panic"], None),
        ("abort", vec!["abort"], None),
        ("overflow", vec!["recurse"], None),
        ("oom", vec!["alloc", "100"], Some("16Mi")),
        ("fuel", vec!["spin"], None),
    ];
    for (name, args, memory) in &crashes {
        let mut j = job(name, "PROBE", args);
        set(&mut j, "/spec/backoffLimit", json!(3));
        if let Some(m) = memory {
            set(
                &mut j,
                &format!("{C0}/resources"),
                json!({"limits": {"memory": m}}),
            );
        }
        if *name == "fuel" {
            set(
                &mut j,
                "/spec/template/metadata/annotations",
                json!({"wasmjob.dev/fuel": "5000000"}),
            );
        }
        apply(&env, &j);
    }
    for (name, _, _) in &crashes {
        let done = wait_finished(&env, name, Duration::from_secs(60));
        assert!(
            has_condition(&done, "Failed", "BackoffLimitExceeded"),
            "{name}: {done:#}"
        );
        assert_eq!(done["status"]["failed"], 4, "{name}");
    }
    let calm_done = wait_finished(&env, "calm", Duration::from_secs(60));
    assert!(
        has_condition(&calm_done, "Complete", "CompletionsReached"),
        "{calm_done:#}"
    );
    assert_eq!(calm_done["status"]["succeeded"], 3);
    assert!(calm_done["status"]["failed"].is_null(), "{calm_done:#}");
    for pod in env.pods("batch.kubernetes.io/job-name=calm") {
        let log = env.logs(pod["metadata"]["name"].as_str().unwrap());
        assert_eq!(log, format!("{}calm done\n", "tick\n".repeat(20)));
    }
    // The controller is still the same process, and healthy.
    let r = env.wasmjob(&["get", "jobs"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!serve.log().contains("panicked"), "{}", serve.log());
}

/// Every file a guest holds open is a host descriptor: a guest that opens files without end is
/// stopped at its share (it traps), and the other pods and the controller still open theirs.
#[test]
fn a_guest_hoarding_open_files_starves_no_other_pod() {
    let env = Env::new();
    let serve = env.serve(&[]);
    let mut hog = job(
        "hoarder",
        "PROBE",
        &["hold-files", "/s", "0", "sleep", "3000"],
    );
    set(&mut hog, "/spec/parallelism", json!(3));
    set(&mut hog, "/spec/completions", json!(3));
    set(
        &mut hog,
        &format!("{POD}/volumes"),
        json!([{"name": "s", "emptyDir": {}}]),
    );
    set(
        &mut hog,
        &format!("{C0}/volumeMounts"),
        json!([{"name": "s", "mountPath": "/s"}]),
    );
    apply(&env, &hog);
    let mut calm = job(
        "neighbour",
        "PROBE",
        &[
            "write", "/s/a", "1", "write", "/s/b", "2", "read", "/s/b", "print", " ok",
        ],
    );
    set(&mut calm, "/spec/parallelism", json!(4));
    set(&mut calm, "/spec/completions", json!(8));
    set(
        &mut calm,
        &format!("{POD}/volumes"),
        json!([{"name": "s", "emptyDir": {}}]),
    );
    set(
        &mut calm,
        &format!("{C0}/volumeMounts"),
        json!([{"name": "s", "mountPath": "/s"}]),
    );
    apply(&env, &calm);
    let hog_done = wait_finished(&env, "hoarder", Duration::from_secs(60));
    assert!(
        has_condition(&hog_done, "Failed", "BackoffLimitExceeded"),
        "{hog_done:#}"
    );
    // The first hoarder to reach its share traps; the Job then stops the others.
    let hog_pods = env.pods("batch.kubernetes.io/job-name=hoarder");
    let trapped: Vec<_> = hog_pods
        .iter()
        .filter(|p| terminated(p)["reason"] == "Trap")
        .collect();
    assert!(!trapped.is_empty(), "{hog_pods:#?}");
    for p in trapped {
        let message = terminated(p)["message"].as_str().unwrap();
        assert!(message.starts_with("too many open files"), "{message}");
    }
    let calm_done = wait_finished(&env, "neighbour", Duration::from_secs(60));
    assert!(
        has_condition(&calm_done, "Complete", "CompletionsReached"),
        "{calm_done:#}"
    );
    assert_eq!(calm_done["status"]["succeeded"], 8);
    for pod in env.pods("batch.kubernetes.io/job-name=neighbour") {
        assert_eq!(
            env.logs(pod["metadata"]["name"].as_str().unwrap()),
            "2 ok\n"
        );
    }
    // The controller can still open its store and write.
    let r = env.wasmjob(&["get", "jobs"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !serve.log().contains("Too many open files"),
        "{}",
        serve.log()
    );
}

/// Guests without memory limits share the node's guest memory (`--guest-memory`): the one
/// whose growth would pass it is OOMKilled with the node's reason, the one holding memory is
/// untouched, and memory comes back when a guest ends.
#[test]
fn guests_without_memory_limits_cannot_take_the_hosts_memory() {
    let env = Env::new();
    let _serve = env.serve(&["--guest-memory", "96Mi"]);
    let holder = job(
        "holder",
        "PROBE",
        &["alloc", "60", "sleep", "3000", "print", "held"],
    );
    apply(&env, &holder);
    wait_for("the holder's memory", Duration::from_secs(30), || {
        env.pods("batch.kubernetes.io/job-name=holder")
            .first()
            .and_then(|p| p["metadata"]["name"].as_str().map(str::to_string))
            .is_some_and(|name| {
                let r = env.wasmjob(&["logs", &name]);
                r.stdout.contains("allocated 60 MiB")
            })
    });
    apply(&env, &job("grower", "PROBE", &["alloc", "60"]));
    let grower = wait_finished(&env, "grower", Duration::from_secs(30));
    assert!(
        has_condition(&grower, "Failed", "BackoffLimitExceeded"),
        "{grower:#}"
    );
    let pod = &env.pods("batch.kubernetes.io/job-name=grower")[0];
    let t = terminated(pod);
    assert_eq!(t["reason"], "OOMKilled", "{pod:#}");
    assert_eq!(t["exitCode"], 137);
    let message = t["message"].as_str().unwrap();
    assert!(
        message.starts_with("the node is out of guest memory")
            && message.contains("the node allows 100663296 bytes (--guest-memory)"),
        "{message}"
    );
    let held = wait_finished(&env, "holder", Duration::from_secs(30));
    assert!(
        has_condition(&held, "Complete", "CompletionsReached"),
        "{held:#}"
    );
    assert!(env.logs("job/holder").ends_with("held\n"));
    // The holder's memory is back: the same growth now fits.
    apply(&env, &job("grower-again", "PROBE", &["alloc", "60"]));
    let again = wait_finished(&env, "grower-again", Duration::from_secs(30));
    assert!(
        has_condition(&again, "Complete", "CompletionsReached"),
        "{again:#}"
    );
}
