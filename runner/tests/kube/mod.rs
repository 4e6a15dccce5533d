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

/// Runs kubectl with `kubeconfig` (and its own discovery cache in the test's folder).
pub fn kube(env: &Env, kubeconfig: &Path, args: &[&str]) -> Run {
    let cache = env.path().join("kube-cache");
    let mut all = vec![
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
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
