//! The guest SDK against the real host: the `wasmjob_v1` context, termination messages and
//! progress reports, as a task built with `wasmjob-guest` sees them and as `get`/`describe`
//! show them; and how the host answers modules that misuse the ABI.

use crate::common;
use common::*;
use serde_json::Value;

fn job_yaml(name: &str, extra_spec: &str, restart: &str, args: &str) -> String {
    format!(
        r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
{extra_spec}
  template:
    spec:
      restartPolicy: {restart}
      containers:
      - name: task
        image: TASKER
        args: [{args}]
"#
    )
}

fn log_values(log: &str) -> std::collections::BTreeMap<String, String> {
    log.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn pod_by_index(pods: &[Value], index: u32) -> &Value {
    pods.iter()
        .find(|p| {
            p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"].as_str()
                == Some(index.to_string().as_str())
        })
        .unwrap_or_else(|| panic!("no pod of index {index}"))
}

#[test]
fn context_tells_job_pod_index_completions_and_parallelism() {
    let env = Env::new();
    let yaml = job_yaml(
        "ctx",
        "  completions: 3\n  parallelism: 2\n  completionMode: Indexed",
        "Never",
        "context",
    );
    let r = env.run(&yaml);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pods = env.pods("batch.kubernetes.io/job-name=ctx");
    assert_eq!(pods.len(), 3);
    for i in 0..3 {
        let pod = pod_by_index(&pods, i);
        let name = pod["metadata"]["name"].as_str().unwrap();
        let v = log_values(&env.logs(name));
        assert_eq!(v["job"], "ctx");
        assert_eq!(v["namespace"], "default");
        assert_eq!(v["pod"], name);
        assert_eq!(v["container"], "task");
        assert_eq!(v["completion_index"], format!("Some({i})"));
        assert_eq!(v["completions"], "Some(3)");
        assert_eq!(v["parallelism"], "2");
        assert_eq!(v["restart_count"], "0");
        assert_eq!(v["attempt"], "1");
        assert_eq!(v["outputs"], "None");
    }
}

#[test]
fn attempt_counts_the_failed_pods_before() {
    let env = Env::new();
    let yaml = job_yaml(
        "again",
        "  backoffLimit: 2",
        "Never",
        r#""context", "exit", "1""#,
    );
    let r = env.run(&yaml);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let mut pods = env.pods("batch.kubernetes.io/job-name=again");
    assert_eq!(pods.len(), 3);
    pods.sort_by_key(|p| {
        p["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap()
            .to_string()
    });
    let attempts: Vec<String> = pods
        .iter()
        .map(|p| log_values(&env.logs(p["metadata"]["name"].as_str().unwrap()))["attempt"].clone())
        .collect();
    assert_eq!(attempts, ["1", "2", "3"]);
}

#[test]
fn restart_count_and_attempt_follow_in_place_restarts() {
    let env = Env::new();
    // The first run fails, the restarted one succeeds.
    let yaml = job_yaml(
        "restarts",
        "  backoffLimit: 3",
        "OnFailure",
        r#""context", "exit-if-attempt", "1", "1""#,
    );
    let r = env.run(&yaml);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pods = env.pods("batch.kubernetes.io/job-name=restarts");
    let name = pods[0]["metadata"]["name"].as_str().unwrap();
    let previous = env.wasmjob(&["logs", name, "--previous"]);
    assert_eq!(previous.code, 0, "{}", previous.stderr);
    let before = log_values(&previous.stdout);
    let last = log_values(&env.logs(name));
    assert_eq!(
        (before["restart_count"].as_str(), before["attempt"].as_str()),
        ("0", "1")
    );
    assert_eq!(
        (last["restart_count"].as_str(), last["attempt"].as_str()),
        ("1", "2")
    );
}

#[test]
fn termination_message_lands_in_the_container_state() {
    let env = Env::new();
    let r = env.run(&job_yaml(
        "msg",
        "",
        "Never",
        "message, \"7 tiles rendered\"",
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pods = env.pods("batch.kubernetes.io/job-name=msg");
    let t = terminated(&pods[0]);
    assert_eq!(t["exitCode"], 0);
    assert_eq!(t["reason"], "Completed");
    assert_eq!(t["message"], "7 tiles rendered");
    let name = pods[0]["metadata"]["name"].as_str().unwrap();
    let d = env.wasmjob(&["describe", "pod", name]);
    assert!(d.stdout.contains("7 tiles rendered"), "{}", d.stdout);
}

#[test]
fn sdk_fail_sets_exit_code_and_message() {
    let env = Env::new();
    let r = env.run(&job_yaml(
        "failing",
        "  backoffLimit: 0",
        "Never",
        r#""fail", "7", "input 3 is corrupt""#,
    ));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let pods = env.pods("batch.kubernetes.io/job-name=failing");
    let t = terminated(&pods[0]);
    assert_eq!(t["exitCode"], 7);
    assert_eq!(t["reason"], "Error");
    assert_eq!(t["message"], "input 3 is corrupt");
    assert_eq!(env.logs("job/failing").trim(), "input 3 is corrupt");
}

#[test]
fn a_huge_termination_message_is_capped_at_4096_bytes() {
    let env = Env::new();
    let long = "é".repeat(5000); // 10,000 bytes
    let r = env.run(&job_yaml(
        "huge",
        "",
        "Never",
        &format!("message, \"{long}\""),
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pods = env.pods("batch.kubernetes.io/job-name=huge");
    let message = terminated(&pods[0])["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(message.len(), 4096);
    assert!(message.chars().all(|c| c == 'é'));
}

#[test]
fn progress_shows_in_wide_pods_and_describe() {
    let env = Env::new();
    let r = env.run(&job_yaml(
        "prog",
        "",
        "Never",
        r#""progress", "100", "start", "progress", "425", "tile 3 of 8""#,
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pods = env.pods("batch.kubernetes.io/job-name=prog");
    let c = pods[0]["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "wasmjob.dev/Progress")
        .cloned()
        .expect("a progress condition");
    assert_eq!(c["status"], "True");
    assert_eq!(c["message"], "42.5%: tile 3 of 8", "the last report wins");
    let wide = env.wasmjob(&["get", "pods", "-o", "wide"]);
    assert!(
        wide.stdout.lines().next().unwrap().ends_with("PROGRESS"),
        "{}",
        wide.stdout
    );
    assert!(
        wide.stdout.contains("42.5%: tile 3 of 8"),
        "{}",
        wide.stdout
    );
    let name = pods[0]["metadata"]["name"].as_str().unwrap();
    let d = env.wasmjob(&["describe", "pod", name]);
    assert!(d.stdout.contains("Progress:"), "{}", d.stdout);
    assert!(d.stdout.contains("42.5%: tile 3 of 8"), "{}", d.stdout);
}

#[test]
fn progress_of_a_running_pod_is_visible_while_it_runs() {
    let env = Env::new();
    let serve = env.serve(&[]);
    let file = env.manifest(
        "live.yaml",
        &job_yaml(
            "live",
            "",
            "Never",
            r#""progress", "-", "reading input", "sleep", "60000""#,
        ),
    );
    let applied = env.wasmjob(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let wide = env.wasmjob(&["get", "pods", "-o", "wide"]);
        if wide.stdout.contains("reading input") {
            assert!(wide.stdout.contains("Running"), "{}", wide.stdout);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no progress shown: {}\n{}",
            wide.stdout,
            serve.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(serve.terminate(), 0);
}

fn wat_job(env: &Env, name: &str, wat: &str) -> (Run, Vec<Value>) {
    let module = env.path().join(format!("{name}.wasm"));
    std::fs::write(&module, wat::parse_str(wat).unwrap()).unwrap();
    let yaml = format!(
        r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: task
        image: {}
"#,
        module.display()
    );
    let r = env.run(&yaml);
    let pods = env.pods(&format!("batch.kubernetes.io/job-name={name}"));
    (r, pods)
}

#[test]
fn an_unknown_host_function_fails_the_start_naming_the_import() {
    let env = Env::new();
    let (r, pods) = wat_job(
        &env,
        "future",
        r#"(module
             (import "wasmjob_v1" "teleport" (func (param i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start")))"#,
    );
    // `run` checks every module before it stores the Job.
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("unknown import: `wasmjob_v1::teleport`"),
        "{}",
        r.stderr
    );
    assert!(pods.is_empty(), "nothing is stored: {pods:?}");
}

#[test]
fn a_wrong_signature_fails_the_start_naming_the_import() {
    let env = Env::new();
    let (r, pods) = wat_job(
        &env,
        "sig",
        r#"(module
             (import "wasmjob_v1" "context" (func (param i64) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start")))"#,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("`wasmjob_v1::context`"), "{}", r.stderr);
    assert!(pods.is_empty(), "nothing is stored: {pods:?}");
}

/// A guest passing pointers outside its memory gets FAULT (-1) back, never a host crash; the
/// guest exits with the negated code so the test can see it.
#[test]
fn pointers_outside_memory_are_refused_with_fault() {
    let env = Env::new();
    for (name, call) in [
        ("ctx", "(call $context (i32.const 65530) (i32.const 4096))"),
        ("msg", "(call $message (i32.const 65000) (i32.const 1000))"),
        ("neg", "(call $message (i32.const 0) (i32.const -5))"),
        (
            "far",
            "(call $progress (i32.const 5) (i32.const -16) (i32.const 100))",
        ),
    ] {
        let wat = format!(
            r#"(module
                 (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
                 (import "wasmjob_v1" "context" (func $context (param i32 i32) (result i32)))
                 (import "wasmjob_v1" "termination_message" (func $message (param i32 i32) (result i32)))
                 (import "wasmjob_v1" "progress" (func $progress (param i32 i32 i32) (result i32)))
                 (memory (export "memory") 1)
                 (func (export "_start") (call $exit (i32.sub (i32.const 0) {call}))))"#
        );
        let (r, pods) = wat_job(&env, name, &wat);
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        let t = terminated(&pods[0]);
        assert_eq!(t["exitCode"], 1, "{name}: {t}");
        assert_eq!(t["reason"], "Error", "{name}: {t}");
    }
}

#[test]
fn a_plain_wasi_program_needs_no_host_functions() {
    let env = Env::new();
    let r = env.run(
        r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: plain
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: task
        image: PROBE
        args: [print, hello]
"#,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(env.logs("job/plain").trim(), "hello");
}
