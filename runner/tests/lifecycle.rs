//! The life of Jobs under `wasmjob serve`: apply, wait, logs, delete (Jobs and pods), TTL,
//! crash recovery after SIGKILL, graceful stop, and the refusals that leave state untouched.

use crate::common;

use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

fn job_yaml(name: &str, steps: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
{extra_spec}  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: PROBE
        args: {steps}
"
    )
}

fn pod_names(env: &Env, job: &str) -> Vec<String> {
    env.pods(&format!("batch.kubernetes.io/job-name={job}"))
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn serve_runs_applied_jobs_and_delete_takes_pods_and_logs_with_it() {
    let env = Env::new();
    let _serve = env.serve(&[]);
    let file = env.manifest(
        "three.yaml",
        &[
            job_yaml("alpha", "[print, alpha-says-hi]", ""),
            job_yaml("beta", "[print, beta-says-hi]", "  completions: 2\n"),
            job_yaml("gamma", "[print, gamma-says-hi]", ""),
        ]
        .join("---\n"),
    );
    let r = env.wasmjob(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "job.batch/alpha created\njob.batch/beta created\njob.batch/gamma created\n"
    );
    let r = env.wasmjob(&[
        "wait",
        "--for=condition=complete",
        "job/alpha",
        "job/beta",
        "job/gamma",
        "--timeout",
        "60s",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "job.batch/alpha condition met\njob.batch/beta condition met\njob.batch/gamma condition met\n"
    );
    assert_eq!(env.logs("job/alpha"), "alpha-says-hi\n");
    assert_eq!(env.logs("job/gamma"), "gamma-says-hi\n");
    let beta_pods = pod_names(&env, "beta");
    assert_eq!(beta_pods.len(), 2);
    for p in &beta_pods {
        assert_eq!(env.logs(p), "beta-says-hi\n");
    }
    assert_eq!(env.job("beta").unwrap()["status"]["succeeded"], 2);
    let logs_before = env.logs_kept().len();
    assert_eq!(logs_before, 4);

    // Applying the same file again changes nothing.
    let r = env.wasmjob(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "job.batch/alpha unchanged\njob.batch/beta unchanged\njob.batch/gamma unchanged\n"
    );

    let r = env.wasmjob(&["delete", "job", "beta"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "job.batch \"beta\" deleted\n");
    assert!(env.job("beta").is_none());
    assert!(pod_names(&env, "beta").is_empty());
    let logs = env.logs_kept();
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert!(logs.iter().all(|p| !p.to_string_lossy().contains("beta")));
    for p in &beta_pods {
        let r = env.wasmjob(&["logs", p]);
        assert_eq!(r.code, 1);
        assert_eq!(
            r.stderr.trim(),
            format!("Error from server (NotFound): pods \"{p}\" not found")
        );
    }
    // The others are untouched.
    for name in ["alpha", "gamma"] {
        let job = env.job(name).unwrap();
        assert!(has_condition(&job, "Complete", "CompletionsReached"));
        assert_eq!(pod_names(&env, name).len(), 1);
    }
    assert_eq!(env.logs("job/alpha"), "alpha-says-hi\n");
    let r = env.wasmjob(&["delete", "job", "beta"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        "Error from server (NotFound): jobs.batch \"beta\" not found"
    );
}

#[test]
fn a_deleted_running_pod_is_stopped_counted_and_replaced() {
    let env = Env::new();
    let _serve = env.serve(&[]);
    // The first pod sleeps long; its replacement (same template) would too, so the Job's
    // completion comes from a second index of work: use completions 1 and check counts.
    let file = env.manifest(
        "slow.yaml",
        &job_yaml("slow", "[sleep, '600000']", "  backoffLimit: 3\n"),
    );
    assert_eq!(
        env.wasmjob(&["apply", "-f", file.to_str().unwrap()]).code,
        0
    );
    let started = Instant::now();
    let first = loop {
        let pods = env.pods("batch.kubernetes.io/job-name=slow");
        if let Some(p) = pods.iter().find(|p| p["status"]["phase"] == "Running") {
            break p["metadata"]["name"].as_str().unwrap().to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no pod ran");
        std::thread::sleep(Duration::from_millis(20));
    };
    let r = env.wasmjob(&["delete", "pod", &first, "--timeout", "30s"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, format!("pod \"{first}\" deleted\n"));
    let r = env.wasmjob(&["get", "pod", &first]);
    assert_eq!(r.code, 1);
    // Counted as failed, and a replacement runs.
    let started = Instant::now();
    loop {
        let job = env.job("slow").unwrap();
        let names = pod_names(&env, "slow");
        if job["status"]["failed"] == 1 && job["status"]["active"] == 1 && names.len() == 1 {
            assert_ne!(names[0], first);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no replacement: {job}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = env.wasmjob(&["delete", "job", "slow"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        env.wasmjob(&["get", "pods", "-o", "name"])
            .stdout
            .is_empty()
    );
}

#[test]
fn ttl_zero_and_two_seconds_go_on_time_and_unset_stays() {
    let env = Env::new();
    let _serve = env.serve(&[]);
    let file = env.manifest(
        "ttl.yaml",
        &[
            job_yaml("ttl0", "[print, zero]", "  ttlSecondsAfterFinished: 0\n"),
            job_yaml("ttl2", "[print, two]", "  ttlSecondsAfterFinished: 2\n"),
            job_yaml("keep", "[print, kept]", ""),
        ]
        .join("---\n"),
    );
    let applied = Instant::now();
    assert_eq!(
        env.wasmjob(&["apply", "-f", file.to_str().unwrap()]).code,
        0
    );
    let r = env.wasmjob(&["wait", "--for=condition=complete", "job/keep", "job/ttl2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let finished_2 = env.job("ttl2").unwrap()["status"]["completionTime"]
        .as_str()
        .unwrap()
        .to_string();
    // TTL 0 goes at once.
    let r = env.wasmjob(&["wait", "--for=delete", "job/ttl0", "--timeout", "5s"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(env.job("ttl0").is_none());
    // TTL 2 s: still there about a second after it finished, gone soon after 2 s.
    assert!(env.job("ttl2").is_some(), "ttl2 went too early");
    let r = env.wasmjob(&["wait", "--for=delete", "job/ttl2", "--timeout", "10s"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let gone_after = applied.elapsed();
    assert!(
        gone_after >= Duration::from_secs(2),
        "ttl2 went after {gone_after:?} (finished {finished_2})"
    );
    assert!(pod_names(&env, "ttl2").is_empty());
    assert!(pod_names(&env, "ttl0").is_empty());
    // Unset TTL keeps the Job and its log.
    std::thread::sleep(Duration::from_millis(500));
    assert!(env.job("keep").is_some());
    assert_eq!(env.logs("job/keep"), "kept\n");
    assert_eq!(env.logs_kept().len(), 1);
}

#[test]
fn run_honours_ttl_zero_and_leaves_nothing_behind() {
    let env = Env::new();
    let r = env.run(&job_yaml(
        "once",
        "[print, bye]",
        "  ttlSecondsAfterFinished: 0\n",
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["status"]["succeeded"], 1);
    assert!(env.job("once").is_none());
    assert!(env.logs_kept().is_empty());
    assert!(
        env.wasmjob(&["get", "pods", "-o", "name"])
            .stdout
            .is_empty()
    );
}

/// A short `run` leaves its small write-ahead log (and its connections) to the process's end
/// rather than closing them one by one: every commit is in the synced log, so the next
/// commands read all of it, and a later `run` writes on after it (or, once the log has grown
/// past the bound, moves it in). The first `run` makes the store, whose schema goes into the
/// database at once: its log holds only its own writes.
#[test]
fn a_short_run_leaves_its_small_log_and_the_next_commands_read_it() {
    let env = Env::new();
    let wal = env.state().join("state.db-wal");
    for (n, name) in ["first", "second", "third"].into_iter().enumerate() {
        let r = env.run(&job_yaml(name, &format!("[print, {name}-done]"), ""));
        assert_eq!(r.code, 0, "{}", r.stderr);
        // The first run's log (its own writes: the new store's schema went into the database
        // at once) stays; a later one stays while small, and is moved in once past the bound.
        match std::fs::metadata(&wal) {
            Ok(m) => assert!(m.len() <= 256 << 10, "run {n}: {} bytes", m.len()),
            Err(e) => assert!(n > 0, "the first run's small log stays: {e}"),
        }
        if n == 0 {
            assert!(std::fs::metadata(&wal).unwrap().len() > 0);
        }
        let jobs = env.wasmjob(&["get", "jobs", "-o", "json"]);
        assert_eq!(jobs.code, 0, "{}", jobs.stderr);
        let items = jobs.json()["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), n + 1);
        assert!(
            items.iter().all(|j| j["status"]["succeeded"] == 1),
            "{items:?}"
        );
        assert_eq!(env.logs(&format!("job/{name}")), format!("{name}-done\n"));
    }
}

#[test]
fn run_beside_a_serve_hands_its_jobs_over_and_reports_them() {
    let env = Env::new();
    let serve = env.serve(&[]);
    let r = env.run(&job_yaml("handed", "[print, via-serve]", ""));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("handed to it"), "{}", r.stderr);
    assert_eq!(r.json()["status"]["succeeded"], 1);
    assert_eq!(env.logs("job/handed"), "via-serve\n");
    // The serve owns it: its pods ran there.
    let job = env.job("handed").unwrap();
    assert!(has_condition(&job, "Complete", "CompletionsReached"));
    assert_eq!(serve.terminate(), 0);
}

/// 200 completions, parallelism 8; the controller is SIGKILLed 5 times at random moments and
/// started again. Every completion is counted exactly once, every succeeded pod's log is
/// readable, and the failures are exactly the pods lost at the kills.
#[test]
fn crash_recovery_counts_every_pod_exactly_once() {
    let env = Env::new();
    let file = env.manifest(
        "crash.yaml",
        &job_yaml(
            "crash",
            "[sleep, '100', print, done]",
            "  completions: 200\n  parallelism: 8\n  backoffLimit: 1000\n",
        ),
    );
    let mut serve = env.serve(&[]);
    assert_eq!(
        env.wasmjob(&["apply", "-f", file.to_str().unwrap()]).code,
        0
    );
    let mut kills = 0;
    while kills < 5 {
        std::thread::sleep(Duration::from_millis(fastrand::u64(50..400)));
        let done = env
            .job("crash")
            .is_some_and(|j| j["status"]["succeeded"].as_i64().unwrap_or(0) >= 170);
        if done {
            break;
        }
        serve.kill9();
        kills += 1;
        serve = env.serve(&[]);
    }
    assert!(
        kills >= 3,
        "only {kills} kills happened before the Job was nearly done"
    );
    let r = env.wasmjob(&[
        "wait",
        "--for=condition=complete",
        "job/crash",
        "--timeout",
        "120s",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, serve.log());
    let job = env.job("crash").unwrap();
    assert_eq!(job["status"]["succeeded"], 200, "{job}");
    assert!(job["status"]["active"].as_i64().unwrap_or(0) == 0, "{job}");
    let pods = env.pods("batch.kubernetes.io/job-name=crash");
    let succeeded: Vec<&Value> = pods
        .iter()
        .filter(|p| p["status"]["phase"] == "Succeeded")
        .collect();
    let lost: Vec<&Value> = pods
        .iter()
        .filter(|p| {
            p["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "DisruptionTarget" && c["reason"] == "DeletionByPodGC")
        })
        .collect();
    assert_eq!(succeeded.len(), 200);
    assert_eq!(
        job["status"]["failed"].as_i64().unwrap_or(0),
        lost.len() as i64,
        "failed must equal the pods lost at the kills"
    );
    assert_eq!(pods.len(), 200 + lost.len());
    assert!(
        lost.len() <= 8 * kills,
        "{} lost in {kills} kills",
        lost.len()
    );
    for p in &lost {
        assert_eq!(p["status"]["phase"], "Failed");
        // A container still running at the kill is ContainerStatusUnknown; one that had just
        // exited 0 (its pod not yet marked Succeeded when the controller died) keeps Completed.
        let t = terminated(p);
        assert!(
            t["reason"] == "ContainerStatusUnknown"
                || (t["reason"] == "Completed" && t["exitCode"] == 0),
            "{t}"
        );
    }
    for p in succeeded {
        let name = p["metadata"]["name"].as_str().unwrap();
        assert_eq!(env.logs(name), "done\n", "log of {name}");
    }
}

#[test]
fn sigterm_stops_serve_gracefully_and_the_next_serve_replaces_the_pods() {
    let env = Env::new();
    let serve = env.serve(&[]);
    let file = env.manifest(
        "long.yaml",
        &job_yaml("long", "[sleep, '600000']", "  backoffLimit: 5\n"),
    );
    assert_eq!(
        env.wasmjob(&["apply", "-f", file.to_str().unwrap()]).code,
        0
    );
    let started = Instant::now();
    while env.job("long").unwrap()["status"]["active"] != 1 {
        assert!(started.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(serve.terminate(), 0);
    let pods = env.pods("batch.kubernetes.io/job-name=long");
    assert_eq!(pods.len(), 1);
    let d = pods[0]["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "DisruptionTarget")
        .cloned()
        .unwrap();
    assert_eq!(d["reason"], "TerminationByKubelet");
    let _serve = env.serve(&[]);
    let started = Instant::now();
    loop {
        let job = env.job("long").unwrap();
        if job["status"]["failed"] == 1 && job["status"]["active"] == 1 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{job}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bad_input_is_refused_and_leaves_the_state_untouched() {
    let env = Env::new();
    let serve = env.serve(&[]);
    let good = env.manifest("good.yaml", &job_yaml("steady", "[print, ok]", ""));
    assert_eq!(
        env.wasmjob(&["apply", "-f", good.to_str().unwrap()]).code,
        0
    );
    let r = env.wasmjob(&["wait", "--for=condition=complete", "job/steady"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let snapshot = || {
        (
            env.wasmjob(&["get", "jobs", "-o", "json"]).stdout,
            env.wasmjob(&["get", "pods", "-o", "json"]).stdout,
        )
    };
    let before = snapshot();

    // An invalid manifest.
    let bad = env.manifest(
        "bad.yaml",
        &job_yaml("broken", "[print, x]", "  parallelism: -1\n"),
    );
    let r = env.wasmjob(&["apply", "-f", bad.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("spec.parallelism"), "{}", r.stderr);
    // An immutable change.
    let changed = env.manifest("changed.yaml", &job_yaml("steady", "[print, other]", ""));
    let r = env.wasmjob(&["apply", "-f", changed.to_str().unwrap()]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("spec.template") && r.stderr.contains("field is immutable"),
        "{}",
        r.stderr
    );
    // create refuses an existing name.
    let r = env.wasmjob(&["create", "-f", good.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        "Error from server (AlreadyExists): jobs.batch \"steady\" already exists"
    );
    // A missing file.
    let r = env.wasmjob(&["apply", "-f", "no-such.yaml"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no-such.yaml"), "{}", r.stderr);
    // A second controller.
    let r = env.wasmjob(&["serve"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("already controlled by `wasmjob serve`")
            && r.stderr.contains(&format!("pid {}", serve.pid())),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(), before);
    drop(serve);

    // A corrupt state directory.
    let corrupt = env.path().join("corrupt");
    std::fs::create_dir_all(&corrupt).unwrap();
    let garbage = b"this is not a database, just bytes".repeat(100);
    std::fs::write(corrupt.join("state.db"), &garbage).unwrap();
    for args in [
        vec!["get", "jobs"],
        vec!["serve"],
        vec!["apply", "-f", good.to_str().unwrap()],
    ] {
        let r = env.wasmjob_at(&corrupt, &args, Duration::from_secs(60));
        assert_ne!(r.code, 0);
        assert!(
            r.stderr.contains("is not a wasmjob state directory"),
            "{}",
            r.stderr
        );
    }
    assert_eq!(std::fs::read(corrupt.join("state.db")).unwrap(), garbage);
    // A foreign one: somebody else's files, or another program's database.
    let foreign = env.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let r = env.wasmjob_at(&foreign, &["serve"], Duration::from_secs(60));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("holds other files (\"notes.txt\")"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);
}

#[test]
fn memory_budget_queues_pods_and_an_oversized_pod_is_unschedulable() {
    let env = Env::new();
    let _serve = env.serve(&["--memory-budget", "100Mi"]);
    let limited = |name: &str, parallelism: u32, memory: &str| {
        format!(
            "apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
  completions: {parallelism}
  parallelism: {parallelism}
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: PROBE
        args: [sleep, '300']
        resources: {{limits: {{memory: {memory}}}}}
"
        )
    };
    let file = env.manifest(
        "mem.yaml",
        &[limited("fits", 4, "40Mi"), limited("huge", 1, "200Mi")].join("---\n"),
    );
    assert_eq!(
        env.wasmjob(&["apply", "-f", file.to_str().unwrap()]).code,
        0
    );
    let r = env.wasmjob(&["wait", "--for=condition=complete", "job/fits"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // 100Mi holds two 40Mi pods: never more than two ran at once.
    let pods = env.pods("batch.kubernetes.io/job-name=fits");
    let time = |v: &Value| v.as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    let spans: Vec<(jiff::Timestamp, jiff::Timestamp)> = pods
        .iter()
        .map(|p| {
            let t = terminated(p);
            (time(&t["startedAt"]), time(&t["finishedAt"]))
        })
        .collect();
    for (start, _) in &spans {
        let overlapping = spans
            .iter()
            .filter(|(s, f)| s <= start && start < f)
            .count();
        assert!(
            overlapping <= 2,
            "{overlapping} pods ran at once: {spans:?}"
        );
    }
    let huge = env.pods("batch.kubernetes.io/job-name=huge");
    assert_eq!(huge.len(), 1);
    assert_eq!(huge[0]["status"]["phase"], "Pending");
    let scheduled = huge[0]["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "PodScheduled")
        .cloned()
        .unwrap();
    assert_eq!(scheduled["status"], "False");
    assert_eq!(scheduled["reason"], "Unschedulable");
    let r = env.wasmjob(&["serve", "--memory-budget", "lots"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("invalid quantity \"lots\""),
        "{}",
        r.stderr
    );
}

#[test]
fn bench_store_reports_group_commit_against_its_baseline() {
    let env = Env::new();
    let r = env.wasmjob(&["bench", "store", "--transitions", "2000", "--batch", "100"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("transitions/s (baseline)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("x the baseline"), "{}", r.stdout);
    let sizes: Vec<u64> = r
        .stdout
        .lines()
        .find(|l| l.contains("after deleting the Job"))
        .unwrap()
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    // [2000 pods, before KiB, after KiB]: deleting the Job gives the space back.
    assert_eq!(sizes.len(), 3, "{}", r.stdout);
    assert!(sizes[2] * 4 < sizes[1], "{}", r.stdout);
    let bad = env.wasmjob(&["bench", "disk"]);
    assert_eq!(bad.code, 2);
}

#[test]
fn delete_by_file_all_and_orphan_without_a_controller() {
    let env = Env::new();
    let file = env.manifest(
        "two.yaml",
        &[
            job_yaml("first", "[print, one]", ""),
            job_yaml("second", "[print, two]", ""),
        ]
        .join("---\n"),
    );
    let r = env.wasmjob(&["run", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let third = env.manifest("third.yaml", &job_yaml("third", "[print, three]", ""));
    assert_eq!(env.wasmjob(&["run", third.to_str().unwrap()]).code, 0);
    assert_eq!(env.logs_kept().len(), 3);

    // Orphan: the Job goes, its pod and log stay, without an owner.
    let r = env.wasmjob(&["delete", "job", "third", "--cascade=orphan"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(env.job("third").is_none());
    let orphans = env.pods("batch.kubernetes.io/job-name=third");
    assert_eq!(orphans.len(), 1);
    assert!(orphans[0]["metadata"]["ownerReferences"].is_null());
    assert_eq!(env.logs_kept().len(), 3);

    // -f deletes what the file defines; --ignore-not-found tolerates the rest.
    let r = env.wasmjob(&["delete", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "job.batch \"first\" deleted\njob.batch \"second\" deleted\n"
    );
    assert_eq!(env.logs_kept().len(), 1);
    let r = env.wasmjob(&["delete", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    let r = env.wasmjob(&["delete", "-f", file.to_str().unwrap(), "--ignore-not-found"]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // --all pods takes the orphan too.
    let r = env.wasmjob(&["delete", "pods", "--all"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(env.logs_kept().is_empty());
    assert!(
        env.wasmjob(&["get", "pods", "-o", "name"])
            .stdout
            .is_empty()
    );
    let r = env.wasmjob(&["delete", "job"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no name was specified"), "{}", r.stderr);
}
