//! A host program's use of the `wasmjob` library: build a Job for a plugin module in code,
//! run it to its end in a private state directory, and read its outcome and output. This is
//! the path edge and plugin hosts take instead of calling the CLI.

use std::path::Path;
use wasmjob::embed::{Host, Settings};

/// What the host learnt from the Job.
#[derive(Debug)]
pub struct Outcome {
    /// The Job completed.
    pub succeeded: bool,
    /// The reason of its terminal condition (`CompletionsReached`, `BackoffLimitExceeded`, …).
    pub reason: String,
    /// How many pods failed on the way.
    pub failed_pods: i32,
    /// The first pod's log.
    pub output: String,
}

/// Runs `module` (a WASI command) as a one-pod Job with `args`, keeping its state in
/// `state_dir`, retrying a failed pod twice.
pub async fn run_plugin(
    state_dir: &Path,
    module: &Path,
    args: &[&str],
) -> Result<Outcome, wasmjob::embed::Error> {
    let host = Host::new(state_dir)?.with_settings(Settings {
        backoff_base: std::time::Duration::from_millis(100),
        ..Settings::default()
    })?;
    let quoted: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    let manifest = format!(
        r#"
apiVersion: batch/v1
kind: Job
metadata:
  generateName: plugin-
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: plugin
        image: {module:?}
        args: [{args}]
        resources:
          limits:
            memory: 64Mi
"#,
        args = quoted.join(", ")
    );
    let base_dir = std::env::current_dir()?;
    let job = Host::load(&manifest, base_dir)?.remove(0);
    let done = host.run(job).await?;
    let output = match done.pods.first() {
        Some(pod) => done.log(pod, "plugin")?,
        None => String::new(),
    };
    Ok(Outcome {
        succeeded: done.succeeded(),
        reason: done.reason().unwrap_or_default().to_string(),
        failed_pods: done.job.status().failed,
        output,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmjob_tests::guests::{PI_WASM, PROBE_WASM};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_pi_and_reads_its_digits() {
        let dir = wasmjob_tests::tempdir();
        let out = run_plugin(dir.path(), Path::new(PI_WASM), &["30"])
            .await
            .unwrap();
        assert!(out.succeeded, "{out:?}");
        assert_eq!(out.reason, "CompletionsReached");
        assert_eq!(out.output.trim(), "3.14159265358979323846264338328");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_plugin_reports_the_back_off_limit() {
        let dir = wasmjob_tests::tempdir();
        let out = run_plugin(
            dir.path(),
            Path::new(PROBE_WASM),
            &["print", "nope", "exit", "3"],
        )
        .await
        .unwrap();
        assert!(!out.succeeded);
        assert_eq!(out.reason, "BackoffLimitExceeded");
        assert_eq!(out.failed_pods, 3);
        assert_eq!(out.output.trim(), "nope");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_missing_module_is_refused_before_anything_runs() {
        let dir = wasmjob_tests::tempdir();
        let err = run_plugin(dir.path(), Path::new("/nonexistent/plugin.wasm"), &[])
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot read module /nonexistent/plugin.wasm"),
            "{err}"
        );
    }
}
