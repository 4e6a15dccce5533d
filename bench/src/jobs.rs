//! Jobs run in this process for the benchmark, exactly as `wasmjob run` runs them (a store, a
//! lease, the manager and node, logs on disk), each in a fresh state directory, with what the
//! figures need observed along the way: elapsed time, the manager's own cost, and the process's
//! memory and threads once the wanted number of pods are active.

use crate::BenchError;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmjob_control::embed::Settings;
use wasmjob_control::lease::{self, Role};
use wasmjob_control::manager::{Scope, Stats};
use wasmjob_control::sandbox::Sandbox;
use wasmjob_control::store::{JobRecord, Store};
use wasmjob_spec::{Job, Time};

/// Longest a benchmark Job may take: a Job that hangs is a failure, not a wait.
const JOB_LIMIT: Duration = Duration::from_secs(900);

/// How a benchmark Job went.
pub struct Outcome {
    pub job: Job,
    /// From the Job's creation to its end, every pod ended.
    pub elapsed: Duration,
    pub stats: Stats,
    /// The process when the wanted pods were first all active.
    pub peak: Option<Sample>,
    /// When the Job was seen finished.
    pub finished_at: Option<jiff::Timestamp>,
    /// When every pod was seen stopped, after all the wanted ones had been running.
    pub stopped_at: Option<jiff::Timestamp>,
}

#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub rss: u64,
    pub threads: u64,
}

/// The number after `name` in a `/proc` file such as `/proc/self/status` (`VmRSS:  1234 kB`).
pub fn proc_number(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
}

/// The process's resident memory and thread count, from `/proc/self/status`.
pub fn sample() -> Sample {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| proc_number(&text, name).unwrap_or(0);
    Sample {
        rss: field("VmRSS:") * 1024,
        threads: field("Threads:"),
    }
}

/// Containers of `pods` that are running now.
fn running_containers<'a>(pods: impl Iterator<Item = &'a wasmjob_spec::Pod>) -> usize {
    pods.flat_map(|p| p.status.container_statuses.iter())
        .filter(|c| c.state.running.is_some())
        .count()
}

/// Runs the single Job of `yaml` (modules relative to `work`) to its end in a fresh state
/// directory under `work`.
pub async fn run_job(
    work: &Path,
    sandbox: &Arc<Sandbox>,
    yaml: &str,
    items: Option<Vec<String>>,
    max_pods: usize,
    want_active: Option<i32>,
) -> Result<Outcome, BenchError> {
    // Kept until the whole benchmark ends: deleting many files just before the next Job creates
    // its own makes some file systems (ext4) slow to allocate inodes, which is not wasmjob's cost.
    let dir = &work.join(format!("state-{}", uuid::Uuid::new_v4()));
    let mut job = wasmjob_spec::load_jobs(yaml, "bench")?
        .into_iter()
        .next()
        .map(|l| l.job)
        .ok_or_else(|| BenchError::runtime("error: the benchmark manifest has no Job"))?;
    job.metadata.namespace = Some("default".into());
    wasmjob_control::ops::manifest::give_identity(&mut job, Time(jiff::Timestamp::now()));
    wasmjob_control::node::prepare_modules(sandbox, &job, work)
        .await
        .map_err(|p| BenchError::runtime(format!("error: {}", p.message)))?;
    let store = Store::open(dir)?;
    let lease =
        lease::acquire(dir, Role::Run).map_err(|e| BenchError::runtime(format!("error: {e}")))?;
    let settings = Settings {
        max_pods,
        backoff_base: Duration::from_millis(10),
        ..Settings::default()
    };
    let mut manager = settings
        .manager(store, sandbox.clone(), lease.id(), Scope::Own)
        .map_err(|e| BenchError::runtime(format!("error: {e}")))?;
    let started = Instant::now();
    let uid = manager
        .create(
            JobRecord {
                job,
                backoff: Default::default(),
                base_dir: work.to_path_buf(),
            },
            items.as_deref(),
        )
        .map_err(|e| BenchError::runtime(format!("error: {e}")))?;
    let mut peak = None;
    let mut finished_at = None;
    let mut stopped_at = None;
    let mut observe = |m: &wasmjob_control::manager::Manager| {
        let Some(job) = m.job(&uid) else { return };
        // Sampled once every wanted container is running, not merely created.
        if peak.is_none()
            && let Some(w) = want_active
            && job.status().active >= w
            && running_containers(m.pods_in_flight(&uid)) >= w as usize
        {
            peak = Some(sample());
        }
        // Every pod that was running has stopped (and the manager knows).
        if stopped_at.is_none() && peak.is_some() && m.pods_in_flight(&uid).all(|p| p.is_terminal())
        {
            stopped_at = Some(jiff::Timestamp::now());
        }
        if finished_at.is_none() && job.is_finished() {
            finished_at = Some(jiff::Timestamp::now());
        }
    };
    let uids = [uid.clone()];
    let run = manager.run(Some(&uids), &mut observe, std::future::pending());
    match tokio::time::timeout(JOB_LIMIT, run).await {
        Ok(r) => r.map_err(|e| BenchError::runtime(format!("error: {e}")))?,
        Err(_) => {
            return Err(BenchError::runtime(format!(
                "error: the benchmark Job did not finish within {} s",
                JOB_LIMIT.as_secs()
            )));
        }
    }
    let elapsed = started.elapsed();
    let job = manager
        .job(&uid)
        .cloned()
        .ok_or_else(|| BenchError::runtime("error: the benchmark Job vanished"))?;
    Ok(Outcome {
        job,
        elapsed,
        stats: manager.stats(),
        peak,
        finished_at,
        stopped_at,
    })
}
