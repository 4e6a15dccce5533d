//! Shared by the hardening suites (`hostile_*.rs`, `isolation.rs`): Job manifests built as
//! JSON (a manifest may be JSON), WebAssembly text guests written to files, and readers of a
//! finished pod's outcome.

#![allow(dead_code)]

use crate::common::*;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A Job of one pod (`backoffLimit: 0`, `restartPolicy: Never`) whose container `c` runs
/// `image` (a path, or `PROBE`/`TASKER`) with `args`.
pub fn job(name: &str, image: &str, args: &[&str]) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "c", "image": image, "args": args}]
            }}
        }
    })
}

/// Sets `value` at the JSON pointer `at` below `job` (creating missing objects).
pub fn set(job: &mut Value, at: &str, value: Value) {
    let mut here = job;
    for key in at.trim_start_matches('/').split('/') {
        here = match here {
            Value::Array(items) => &mut items[key.parse::<usize>().expect("array index")],
            other => {
                if !other.is_object() {
                    *other = json!({});
                }
                other
                    .as_object_mut()
                    .unwrap()
                    .entry(key)
                    .or_insert(Value::Null)
            }
        };
    }
    *here = value;
}

/// The pod template's spec.
pub const POD: &str = "/spec/template/spec";
/// The first container.
pub const C0: &str = "/spec/template/spec/containers/0";

/// Writes the WebAssembly text `wat` as a module called `name` in `env`'s folder.
pub fn wat_module(env: &Env, name: &str, wat: &str) -> String {
    let bytes = wat::parse_str(wat).unwrap_or_else(|e| panic!("{name}: {e}"));
    bytes_module(env, name, &bytes)
}

/// Writes `bytes` as the module file `name` in `env`'s folder.
pub fn bytes_module(env: &Env, name: &str, bytes: &[u8]) -> String {
    let path = env.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

/// A WASI command whose `_start` runs `body` (WebAssembly text instructions) with
/// `proc_exit` imported as `$exit` and one page of memory exported, plus `extra` module
/// fields.
pub fn wasi_command(body: &str, extra: &str) -> String {
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  {extra}
  (func (export "_start") {body}))"#
    )
}

/// What `wasmjob run` did with a Job, and its pods afterwards.
pub struct Outcome {
    pub run: Run,
    pub job: Value,
    pub pods: Vec<Value>,
}

impl Outcome {
    /// The terminated state of the first container of the only (or first) pod.
    pub fn terminated(&self) -> &Value {
        terminated(&self.pods[0])
    }

    pub fn exit_code(&self) -> i64 {
        self.terminated()["exitCode"].as_i64().unwrap_or(-1)
    }

    pub fn reason(&self) -> &str {
        self.terminated()["reason"].as_str().unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.terminated()["message"].as_str().unwrap_or("")
    }

    pub fn context(&self) -> String {
        format!(
            "exit {} after {:?}\nstdout: {}\nstderr: {}\npods: {:#}",
            self.run.code,
            self.run.elapsed,
            self.run.stdout,
            self.run.stderr,
            Value::Array(self.pods.clone())
        )
    }
}

/// Runs `job` with `wasmjob run … -o json` plus `extra` flags and reads its pods.
pub fn run_job(env: &Env, job: &Value, extra: &[&str]) -> Outcome {
    let name = job["metadata"]["name"].as_str().unwrap().to_string();
    let file = env.manifest(&format!("{name}.json"), &job.to_string());
    let run = env.run_file(&file, extra, Duration::from_secs(120));
    let job = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    let pods = env.pods(&format!("batch.kubernetes.io/job-name={name}"));
    Outcome { run, job, pods }
}

/// `wasmjob run` of a Job that must fail with one pod whose container ended with `reason`
/// and `code`; returns the outcome for further checks.
pub fn expect_failure(env: &Env, job: &Value, extra: &[&str], reason: &str, code: i64) -> Outcome {
    let o = run_job(env, job, extra);
    assert_eq!(o.run.code, 1, "the Job must fail\n{}", o.context());
    assert_eq!(o.pods.len(), 1, "{}", o.context());
    assert_eq!(o.reason(), reason, "{}", o.context());
    assert_eq!(o.exit_code(), code, "{}", o.context());
    o
}

/// The bytes of the log of `target`, exactly as `wasmjob logs` prints them.
pub fn raw_logs(env: &Env, target: &str) -> Vec<u8> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wasmjob"))
        .arg("--state-dir")
        .arg(env.state())
        .args(["logs", target])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Writes `job` into `env`'s folder and applies it (to a running `serve`).
pub fn apply(env: &Env, job: &Value) -> PathBuf {
    let name = job["metadata"]["name"].as_str().unwrap();
    let file = env.manifest(&format!("{name}.json"), &job.to_string());
    let r = env.wasmjob(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "apply {name}: {}", r.stderr);
    file
}

/// Waits until the Job `name` has a `Complete` or `Failed` condition and returns it.
pub fn wait_finished(env: &Env, name: &str, limit: Duration) -> Value {
    let mut last = Value::Null;
    wait_for(&format!("Job {name} to finish"), limit, || {
        last = env.job(name).unwrap_or(Value::Null);
        conditions(&last)
            .iter()
            .any(|(t, _)| t == "Complete" || t == "Failed")
    });
    last
}

/// CPU seconds (user + system) the process `pid` has used so far, from `/proc/PID/stat`.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let hz = 100.0; // USER_HZ, 100 on Linux.
    ticks / hz
}

/// The CPU seconds the process `pid` uses during `window`.
pub fn cpu_used_during(pid: u32, window: Duration) -> f64 {
    let before = cpu_seconds(pid);
    let started = Instant::now();
    std::thread::sleep(window);
    let used = cpu_seconds(pid) - before;
    used * window.as_secs_f64() / started.elapsed().as_secs_f64()
}
