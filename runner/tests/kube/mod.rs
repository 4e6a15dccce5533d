//! kubectl for the API tests: finding it (a skip outside CI, a failure under CI) and running
//! it with a kubeconfig and a discovery cache of the test's own.

#![allow(dead_code)]

use super::common::*;
use std::path::Path;
use std::time::Duration;

/// `kubectl` on PATH, or `None` (after saying why) outside CI.
pub fn kubectl() -> Option<&'static str> {
    let found = std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "kubectl is not on PATH, and CI is set: the API tests must run"
        );
        eprintln!("skipped: kubectl is not on PATH");
        return None;
    }
    Some("kubectl")
}

/// kubectl's arguments for `args` with `kubeconfig` (and a discovery cache of the test's own).
fn kubectl_args(env: &Env, kubeconfig: &Path, args: &[&str]) -> Vec<String> {
    let cache = env.path().join("kube-cache");
    let mut all = vec![
        "--kubeconfig".to_string(),
        kubeconfig.display().to_string(),
        "--cache-dir".to_string(),
        cache.display().to_string(),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    all
}

/// Runs kubectl with `kubeconfig` (and its own discovery cache in the test's folder).
pub fn kube(env: &Env, kubeconfig: &Path, args: &[&str]) -> Run {
    let all = kubectl_args(env, kubeconfig, args);
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    env.program("kubectl", &all, Duration::from_secs(60))
}

/// The rows of a table as printed, each split into its columns.
pub fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// A serve answering the API on a free loopback port, and a kubeconfig file for it.
pub fn serve_with_api(env: &Env) -> (Serve, std::path::PathBuf) {
    let serve = env.serve(&["--listen", "127.0.0.1:0"]);
    assert!(
        serve.log().contains("Kubernetes API on https://127.0.0.1:"),
        "{}",
        serve.log()
    );
    let kubeconfig = env.path().join("kubeconfig");
    let r = env.wasmjob(&["kubeconfig", "-o", kubeconfig.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    (serve, kubeconfig)
}

/// A kubectl that keeps running (a watch), its output lines read as they come.
pub struct Streaming {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// Every line read so far.
    pub seen: Vec<String>,
}

impl Streaming {
    /// Starts `kubectl ARGS` with `kubeconfig`.
    pub fn start(env: &Env, kubeconfig: &Path, args: &[&str]) -> Streaming {
        let all = kubectl_args(env, kubeconfig, args);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        Streaming::program(env, "kubectl", &all)
    }

    /// Starts `program ARGS` in the test's folder.
    pub fn program(env: &Env, program: &str, args: &[&str]) -> Streaming {
        let mut child = std::process::Command::new(program)
            .args(args)
            .current_dir(env.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program}: {e}"));
        let (tx, lines) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(stream)
                    .lines()
                    .map_while(Result::ok)
                {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        Streaming {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits up to `limit` for a line that `wanted` accepts; returns it, or fails the test
    /// with every line seen.
    pub fn expect(&mut self, what: &str, limit: Duration, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + limit;
        if let Some(l) = self.seen.iter().find(|l| wanted(l)) {
            return l.clone();
        }
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {what} within {limit:?}; kubectl printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Waits up to `limit` for the program to exit; returns its exit code, after reading
    /// what it printed.
    pub fn wait(&mut self, limit: Duration) -> i32 {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The output threads end with the pipes.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
                    self.seen.push(line);
                }
                return status.code().unwrap_or(-1);
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "the program did not exit within {limit:?}; it printed:\n{}",
                    self.seen.join("\n")
                );
            }
            while let Ok(line) = self.lines.try_recv() {
                self.seen.push(line);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
