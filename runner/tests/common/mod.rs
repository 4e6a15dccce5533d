//! The harness of the CLI tests: a temporary directory holding manifests and a state
//! directory, and a way to run the real `wasmjob` binary there with a time limit.

#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
#[allow(unused_imports)]
pub use wasmjob_tests::guests::{
    FLAKY_WASM, MANDELBROT_WASM, PI_WASM, PROBE_WASM, RUNAWAY_WASM, TASKER_WASM, WORDFREQ_WASM,
};

pub struct Env {
    pub dir: wasmjob_tests::tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: wasmjob_tests::tempdir(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Writes a manifest; `PROBE` and `TASKER` in it stand for those guests' paths.
    pub fn manifest(&self, name: &str, yaml: &str) -> PathBuf {
        let yaml = yaml
            .replace("PROBE", PROBE_WASM)
            .replace("TASKER", TASKER_WASM);
        wasmjob_tests::write_manifest(self.dir.path(), name, &yaml)
    }

    /// Runs `wasmjob --state-dir <state> ARGS` (60 s limit).
    pub fn wasmjob(&self, args: &[&str]) -> Run {
        self.wasmjob_limit(args, Duration::from_secs(60))
    }

    pub fn wasmjob_limit(&self, args: &[&str], limit: Duration) -> Run {
        self.wasmjob_at(&self.state(), args, limit)
    }

    /// Runs `wasmjob --state-dir STATE ARGS`.
    pub fn wasmjob_at(&self, state: &Path, args: &[&str], limit: Duration) -> Run {
        let mut all = vec!["--state-dir", state.to_str().unwrap()];
        all.extend_from_slice(args);
        self.program(env!("CARGO_BIN_EXE_wasmjob"), &all, limit)
    }

    /// Runs `program ARGS` in the folder, without stdin; fails the test past `limit`.
    pub fn program(&self, program: &str, args: &[&str], limit: Duration) -> Run {
        let out_path = self.dir.path().join(format!("out-{}", fastrand::u64(..)));
        let err_path = self.dir.path().join(format!("err-{}", fastrand::u64(..)));
        let started = Instant::now();
        let mut child = Command::new(program)
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program}: {e}"));
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{program} {args:?} did not exit within {limit:?}\nstderr:\n{}",
                    std::fs::read_to_string(&err_path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&std::fs::read(&out_path).unwrap()).into_owned(),
            stderr: String::from_utf8_lossy(&std::fs::read(&err_path).unwrap()).into_owned(),
            elapsed: started.elapsed(),
        }
    }

    /// `wasmjob run FILE -o json` with a short back-off.
    pub fn run(&self, yaml: &str) -> Run {
        let file = self.manifest(&format!("job-{}.yaml", fastrand::u64(..)), yaml);
        self.run_file(&file, &[], Duration::from_secs(60))
    }

    /// `wasmjob run FILE -o json` with a short back-off and `extra` flags, within `limit`.
    pub fn run_file(&self, file: &Path, extra: &[&str], limit: Duration) -> Run {
        let mut args = vec![
            "run",
            file.to_str().unwrap(),
            "-o",
            "json",
            "--backoff-base",
            "20ms",
            "--backoff-max",
            "200ms",
        ];
        args.extend_from_slice(extra);
        self.wasmjob_limit(&args, limit)
    }

    pub fn pods(&self, selector: &str) -> Vec<Value> {
        let r = self.wasmjob(&["get", "pods", "-l", selector, "-o", "json"]);
        assert_eq!(r.code, 0, "get pods failed: {}", r.stderr);
        r.json()["items"].as_array().cloned().unwrap_or_default()
    }

    pub fn logs(&self, target: &str) -> String {
        let r = self.wasmjob(&["logs", target]);
        assert_eq!(r.code, 0, "logs failed: {}", r.stderr);
        r.stdout
    }
}

/// Polls `check` every 50 ms until it holds; fails the test after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `(type, reason)` of each condition of a Job object.
pub fn conditions(job: &Value) -> Vec<(String, String)> {
    job["status"]["conditions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        c["type"].as_str().unwrap_or("").to_string(),
                        c["reason"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn has_condition(job: &Value, type_: &str, reason: &str) -> bool {
    conditions(job)
        .iter()
        .any(|(t, r)| t == type_ && r == reason)
}

/// The pod's condition of type `type_` (null when it has none).
pub fn pod_condition<'a>(pod: &'a Value, type_: &str) -> &'a Value {
    pod["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_))
        .unwrap_or(&Value::Null)
}

/// The terminated state of the pod's first container.
pub fn terminated(pod: &Value) -> &Value {
    &pod["status"]["containerStatuses"][0]["state"]["terminated"]
}

/// A `wasmjob serve` running in the background on an [`Env`]'s state directory.
pub struct Serve {
    pub child: std::process::Child,
    pub stderr: PathBuf,
}

impl Env {
    /// Starts `wasmjob serve` with a short back-off and waits until it controls the state
    /// directory.
    pub fn serve(&self, extra: &[&str]) -> Serve {
        let stderr = self
            .dir
            .path()
            .join(format!("serve-{}.err", fastrand::u64(..)));
        let child = Command::new(env!("CARGO_BIN_EXE_wasmjob"))
            .arg("--state-dir")
            .arg(self.state())
            .args(["serve", "--backoff-base", "10ms", "--backoff-max", "100ms"])
            .args(extra)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("starting wasmjob serve");
        let serve = Serve { child, stderr };
        let started = Instant::now();
        while !serve.log().contains("controlling") {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "serve did not start:\n{}",
                serve.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        serve
    }

    /// The pods of Job `job` (by its `job-name` label), as JSON.
    pub fn pods_of(&self, job: &str) -> Vec<Value> {
        let list = self
            .wasmjob(&[
                "get",
                "pods",
                "-l",
                &format!("job-name={job}"),
                "-o",
                "json",
            ])
            .json();
        list["items"].as_array().cloned().unwrap_or_default()
    }

    /// `apply -f` of `yaml` (written as the manifest `name`), which must succeed.
    pub fn apply_manifest(&self, name: &str, yaml: &str) {
        let file = self.manifest(name, yaml);
        let r = self.wasmjob(&["apply", "-f", file.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }

    /// `wait --for=condition=CONDITION job/JOB`, which must succeed within `timeout`
    /// (`60s`).
    pub fn wait_job(&self, job: &str, condition: &str, timeout: &str) {
        let r = self.wasmjob(&[
            "wait",
            &format!("--for=condition={condition}"),
            &format!("job/{job}"),
            &format!("--timeout={timeout}"),
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }

    /// `get jobs NAME -o json`, or `None` when the Job does not exist.
    pub fn job(&self, name: &str) -> Option<Value> {
        let r = self.wasmjob(&["get", "jobs", name, "-o", "json"]);
        (r.code == 0).then(|| r.json())
    }

    /// Every log the state directory keeps: the files below its `logs` folder, and the logs
    /// of short runs stored with their pods (named as their files would be).
    pub fn logs_kept(&self) -> Vec<PathBuf> {
        let mut kept = self.log_files();
        let store = wasmjob::store::Store::open(&self.state()).unwrap();
        for r in store.inline_logs().unwrap() {
            kept.push(PathBuf::from(format!(
                "{}_{}_{}_{}_{}.log (stored with its pod)",
                r.namespace, r.pod, r.pod_uid, r.container, r.restart
            )));
        }
        kept
    }

    /// Every file below the state directory's `logs` folder.
    pub fn log_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.state().join("logs"), &mut out);
        out
    }
}

impl Serve {
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, as a crash.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and the exit code.
    pub fn terminate(mut self) -> i32 {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
        let started = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "serve did not stop on SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
