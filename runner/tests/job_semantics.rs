//! End-to-end Job semantics with real guests (issue 2's acceptance list): completions and
//! parallelism, back-off limit, OnFailure restarts, deadlines, memory and fuel limits, work
//! queues, parallelism 0, and the pi example.

use crate::common;
use common::*;

fn time_ms(v: &serde_json::Value) -> i64 {
    v.as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond()
}

#[test]
fn pi_example_completes_with_2000_correct_digits() {
    let env = Env::new();
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/pi/job.yaml"
    ))
    .unwrap();
    let yaml = yaml.replace("../../target/wasm32-wasip1/release/pi.wasm", PI_WASM);
    let r = env.run(&yaml);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let job = r.json();
    assert!(
        has_condition(&job, "Complete", "CompletionsReached"),
        "{job}"
    );
    assert_eq!(job["status"]["succeeded"], 1);
    assert_eq!(job["spec"]["backoffLimit"], 4);
    let log = env.logs("job/pi");
    assert_eq!(log.trim_end(), pi_digits(2000));
}

/// π to `n` significant digits by the Rabinowitz–Wagon spigot (an independent method from the
/// example's Machin formula), rounded as `bpi` rounds.
fn pi_digits(n: usize) -> String {
    let digits = n + 10;
    let len = digits * 10 / 3 + 1;
    let mut a = vec![2u64; len];
    let mut out: Vec<u8> = Vec::new();
    let (mut nines, mut predigit) = (0usize, 0u64);
    for _ in 0..digits {
        let mut carry = 0u64;
        for i in (0..len).rev() {
            let x = 10 * a[i] + carry * (i as u64 + 1);
            a[i] = x % (2 * i as u64 + 1);
            carry = x / (2 * i as u64 + 1);
        }
        a[0] = carry % 10;
        let q = carry / 10;
        if q == 9 {
            nines += 1;
        } else if q == 10 {
            out.push((predigit + 1) as u8);
            out.extend(std::iter::repeat_n(0u8, nines));
            predigit = 0;
            nines = 0;
        } else {
            out.push(predigit as u8);
            predigit = q;
            out.extend(std::iter::repeat_n(9u8, nines));
            nines = 0;
        }
    }
    out.push(predigit as u8);
    let mut ds: Vec<u8> = out[1..].to_vec(); // drop the leading 0 predigit
    // Round to n significant digits.
    let round_up = ds[n] >= 5;
    ds.truncate(n);
    if round_up {
        let mut i = n - 1;
        loop {
            if ds[i] == 9 {
                ds[i] = 0;
                i -= 1;
            } else {
                ds[i] += 1;
                break;
            }
        }
    }
    let s: String = ds.iter().map(|d| char::from(b'0' + d)).collect();
    format!("{}.{}", &s[..1], &s[1..])
}

#[test]
fn spigot_reference_is_right() {
    assert_eq!(pi_digits(10), "3.141592654");
    assert_eq!(pi_digits(5), "3.1416");
}

#[test]
fn completions_5_parallelism_2_never_runs_more_than_2() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: five}\nspec:\n  completions: 5\n  parallelism: 2\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [sleep, '300', print, done]}\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let job = r.json();
    assert_eq!(job["status"]["succeeded"], 5);
    assert!(has_condition(&job, "Complete", "CompletionsReached"));
    let pods = env.pods("batch.kubernetes.io/job-name=five");
    assert_eq!(pods.len(), 5);
    let mut edges: Vec<(i64, i32)> = Vec::new();
    for p in &pods {
        assert_eq!(p["status"]["phase"], "Succeeded");
        let t = terminated(p);
        edges.push((time_ms(&t["startedAt"]), 1));
        edges.push((time_ms(&t["finishedAt"]), -1));
    }
    edges.sort();
    let (mut running, mut peak) = (0, 0);
    for (_, d) in edges {
        running += d;
        peak = peak.max(running);
    }
    assert!(peak <= 2, "{peak} pods ran at once");
    assert_eq!(peak, 2, "parallelism 2 should run two pods side by side");
}

#[test]
fn failing_guest_with_backoff_limit_2_makes_exactly_3_pods() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: fails}\nspec:\n  backoffLimit: 2\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [eprint, boom, exit, '3']}\n",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let job = r.json();
    assert_eq!(
        conditions(&job),
        vec![
            ("FailureTarget".into(), "BackoffLimitExceeded".into()),
            ("Failed".into(), "BackoffLimitExceeded".into())
        ]
    );
    assert_eq!(job["status"]["failed"], 3);
    let pods = env.pods("batch.kubernetes.io/job-name=fails");
    assert_eq!(pods.len(), 3);
    for p in &pods {
        assert_eq!(p["status"]["phase"], "Failed");
        assert_eq!(terminated(p)["exitCode"], 3);
        assert_eq!(terminated(p)["reason"], "Error");
    }
    assert!(r.stderr.contains("BackoffLimitExceeded"), "{}", r.stderr);
    assert!(
        r.stderr.contains("boom"),
        "the log tail is shown: {}",
        r.stderr
    );
}

#[test]
fn on_failure_restarts_in_place_and_counts_restarts() {
    let env = Env::new();
    // Fails twice, then succeeds: the emptyDir keeps the counter across restarts.
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: flaky}\nspec:\n  backoffLimit: 5\n  template:\n    spec:\n      restartPolicy: OnFailure\n      volumes: [{name: scratch, emptyDir: {}}]\n      containers:\n      - name: c\n        image: PROBE\n        args: [fail-until, /scratch/n, '3', print, ok]\n        volumeMounts: [{name: scratch, mountPath: /scratch}]\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pods = env.pods("batch.kubernetes.io/job-name=flaky");
    assert_eq!(pods.len(), 1, "restarts happen in the same pod");
    let cs = &pods[0]["status"]["containerStatuses"][0];
    assert_eq!(cs["restartCount"], 2);
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1);
    assert_eq!(cs["state"]["terminated"]["exitCode"], 0);
    assert_eq!(env.logs("job/flaky"), "ok\n");
}

#[test]
fn on_failure_restarts_count_toward_the_backoff_limit() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: crashloop}\nspec:\n  backoffLimit: 2\n  template:\n    spec:\n      restartPolicy: OnFailure\n      containers:\n      - {name: c, image: PROBE, args: [exit, '1']}\n",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let job = r.json();
    assert!(
        has_condition(&job, "Failed", "BackoffLimitExceeded"),
        "{job}"
    );
    assert_eq!(
        job["status"]["failed"], 1,
        "the running pod is counted as failed"
    );
    let pods = env.pods("batch.kubernetes.io/job-name=crashloop");
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0]["status"]["containerStatuses"][0]["restartCount"], 2);
}

fn deadline_case(args: &str) {
    let env = Env::new();
    let r = env.run(&format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: slow}}\nspec:\n  activeDeadlineSeconds: 2\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {{name: c, image: PROBE, args: [{args}]}}\n"
    ));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let job = r.json();
    assert_eq!(
        conditions(&job),
        vec![
            ("FailureTarget".into(), "DeadlineExceeded".into()),
            ("Failed".into(), "DeadlineExceeded".into())
        ]
    );
    assert_eq!(
        job["status"]["conditions"][1]["message"],
        "Job was active longer than specified deadline"
    );
    assert_eq!(job["status"]["failed"], 1);
    assert!(r.elapsed.as_secs_f64() < 5.0, "took {:?}", r.elapsed);
    let pods = env.pods("batch.kubernetes.io/job-name=slow");
    assert_eq!(terminated(&pods[0])["exitCode"], 143);
    assert_eq!(
        terminated(&pods[0])["message"],
        "stopped by the Job controller: the Job failed (DeadlineExceeded)"
    );
    assert_eq!(pods[0]["status"]["phase"], "Failed");
}

#[test]
fn spinning_guest_is_stopped_by_the_job_deadline() {
    deadline_case("spin");
}

#[test]
fn sleeping_guest_is_stopped_by_the_job_deadline() {
    deadline_case("sleep, '600000'");
}

#[test]
fn pod_deadline_fails_the_pod_which_counts_as_a_failure() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: podslow}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      activeDeadlineSeconds: 1\n      containers:\n      - {name: c, image: PROBE, args: [spin]}\n",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(has_condition(&r.json(), "Failed", "BackoffLimitExceeded"));
    let pods = env.pods("batch.kubernetes.io/job-name=podslow");
    assert_eq!(pods[0]["status"]["reason"], "DeadlineExceeded");
    assert_eq!(terminated(&pods[0])["reason"], "DeadlineExceeded");
    assert_eq!(terminated(&pods[0])["exitCode"], 142);
}

#[test]
fn memory_past_the_limit_is_oom_killed() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: hog}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: PROBE\n        args: [alloc, '64']\n        resources: {limits: {memory: 16Mi}}\n",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let pods = env.pods("batch.kubernetes.io/job-name=hog");
    let t = terminated(&pods[0]);
    assert_eq!(t["reason"], "OOMKilled");
    assert_eq!(t["exitCode"], 137);
    assert!(t["message"].as_str().unwrap().contains("16777216"), "{t}");
}

#[test]
fn memory_within_the_limit_runs() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: fits}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: PROBE\n        args: [alloc, '8']\n        resources: {limits: {memory: 32Mi}}\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn fuel_budget_exhausted_is_fuel_exhausted() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: burner}\nspec:\n  backoffLimit: 0\n  template:\n    metadata:\n      annotations: {wasmjob.dev/fuel: '1000000'}\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [spin]}\n",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let pods = env.pods("batch.kubernetes.io/job-name=burner");
    let t = terminated(&pods[0]);
    assert_eq!(t["reason"], "FuelExhausted");
    assert_eq!(t["exitCode"], 152);
}

#[test]
fn enough_fuel_completes() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: frugal}\nspec:\n  template:\n    metadata:\n      annotations: {wasmjob.dev/fuel.c: '100000000'}\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [burn, '1000', print, ok]}\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn trap_is_a_failure_whose_message_is_the_trap() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: trap}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [panic]}\n",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let pods = env.pods("batch.kubernetes.io/job-name=trap");
    let t = terminated(&pods[0]);
    assert_eq!(t["exitCode"], 134);
    assert_eq!(t["reason"], "Trap");
    assert!(
        t["message"].as_str().unwrap().contains("unreachable"),
        "{t}"
    );
    assert!(env.logs("job/trap").contains("probe: panic step"));
}

#[test]
fn work_queue_completes_when_one_succeeded_and_all_ended() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: queue}\nspec:\n  parallelism: 3\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [sleep, '100', print, drained]}\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let job = r.json();
    assert!(
        job["spec"].get("completions").is_none(),
        "completions stays unset: {job}"
    );
    assert!(has_condition(&job, "Complete", "CompletionsReached"));
    let pods = env.pods("batch.kubernetes.io/job-name=queue");
    assert_eq!(pods.len(), 3, "no pod is started after the first success");
    assert_eq!(job["status"]["succeeded"], 3);
}

#[test]
fn parallelism_0_creates_no_pod() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: paused}\nspec:\n  parallelism: 0\n  completions: 2\n  activeDeadlineSeconds: 1\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE}\n",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let job = r.json();
    assert!(has_condition(&job, "Failed", "DeadlineExceeded"));
    assert!(
        job["status"]["startTime"].is_string(),
        "parallelism 0 is not suspend: startTime is set"
    );
    assert!(env.pods("batch.kubernetes.io/job-name=paused").is_empty());
}

#[test]
fn env_argv_and_hostname_follow_kubernetes() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: envy}\nspec:\n  template:\n    metadata:\n      labels: {tier: batch}\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: PROBE\n        command: [probe, args]\n        args: [env, print, '$(GREETING)-$$(X)']\n        env:\n        - {name: NAME, value: world}\n        - {name: GREETING, value: 'hello-$(NAME)'}\n        - name: POD\n          valueFrom: {fieldRef: {fieldPath: metadata.name}}\n        - name: TIER\n          valueFrom: {fieldRef: {fieldPath: \"metadata.labels['tier']\"}}\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pods = env.pods("batch.kubernetes.io/job-name=envy");
    let pod_name = pods[0]["metadata"]["name"].as_str().unwrap().to_string();
    let log = env.logs(&pod_name);
    let expected = format!(
        "probe\nargs\nenv\nprint\nhello-world-$(X)\nGREETING=hello-world\nHOSTNAME={pod_name}\nNAME=world\nPOD={pod_name}\nTIER=batch\nhello-world-$(X)\n"
    );
    assert_eq!(log, expected);
}

#[test]
fn a_log_flood_is_capped_with_a_marker_and_the_pod_still_succeeds() {
    let env = Env::new();
    let file = env.manifest(
        "flood.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: flood}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [flood, '1000000', print, after]}\n",
    );
    let r = env.wasmjob(&["run", file.to_str().unwrap(), "--log-limit", "5000"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let log = env.logs("job/flood");
    let (kept, marker) = log.split_at(
        log.find("[wasmjob] log truncated")
            .expect("a truncation marker"),
    );
    assert_eq!(
        kept.chars().filter(|c| *c != '\n').count() + kept.matches('\n').count(),
        5000
    );
    assert!(marker.contains("5000 bytes"), "{marker}");
    assert!(!log.contains("after"), "output past the cap is dropped");
}

#[test]
fn binary_output_is_kept_byte_for_byte() {
    let env = Env::new();
    let r = env.run(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: bin}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [binary]}\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasmjob"))
        .arg("--state-dir")
        .arg(env.state())
        .args(["logs", "job/bin"])
        .output()
        .unwrap();
    let mut want: Vec<u8> = (0u8..=255).collect();
    want.extend_from_slice(&[0xc3, 0x28, 0xa0, 0xa1, 0xff, 0xfe, b'\n']);
    assert_eq!(out.stdout, want);
}

#[test]
fn the_failure_summary_names_the_pod_that_failed_not_one_stopped_after() {
    let env = Env::new();
    let r = env.run(
        r#"
apiVersion: batch/v1
kind: Job
metadata: {name: culprit}
spec:
  completions: 2
  parallelism: 2
  completionMode: Indexed
  backoffLimit: 5
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes: {operator: In, values: [42]}
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: PROBE
        args: [sleep, "$(JOB_COMPLETION_INDEX)0000", print, "index $(JOB_COMPLETION_INDEX)", exit, "42"]
"#,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let pods = env.pods("batch.kubernetes.io/job-name=culprit");
    let culprit = pods
        .iter()
        .find(|p| terminated(p)["exitCode"] == 42)
        .expect("the pod that exited 42");
    let name = culprit["metadata"]["name"].as_str().unwrap();
    assert!(
        r.stderr.contains(&format!(
            "last failed pod {name}: container \"c\" exited with code 42"
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("index 0"), "{}", r.stderr);
}
