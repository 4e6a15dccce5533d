//! `wasmjob bench load`: the controller's responsiveness under load. Many Jobs are applied at
//! once to a state directory run by a real `wasmjob serve` child (`--max-pods` caps the pods
//! running; the rest of the pods in flight wait as Pending), while this process runs
//! `wasmjob get jobs` — the CLI a user would run, process start to exit — over and over until
//! every Job is complete. The baseline is the same `get jobs` on the same store before the
//! serve starts (idle). Reports pods/s and `get`'s p50/p99/max against the idle figures.

use super::{Row, fail, rate, status};
use crate::BenchError;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest the loaded run may take before it counts as a failure.
const LIMIT: Duration = Duration::from_secs(600);

struct Sizes {
    jobs: usize,
    pods_per_job: usize,
    max_pods: usize,
    nap_ms: u64,
    idle_calls: usize,
}

impl Sizes {
    fn of(quick: bool) -> Sizes {
        if quick {
            Sizes {
                jobs: 10,
                pods_per_job: 100,
                max_pods: 200,
                nap_ms: 50,
                idle_calls: 10,
            }
        } else {
            Sizes {
                jobs: 50,
                pods_per_job: 200,
                max_pods: 1000,
                nap_ms: 100,
                idle_calls: 30,
            }
        }
    }
}

/// The serve child, stopped (SIGTERM, then SIGKILL) however the benchmark ends.
pub(crate) struct ServeChild {
    pub(crate) child: Child,
    pub(crate) stderr: PathBuf,
}

impl ServeChild {
    /// Starts `wasmjob serve` on `state` with `args`, its stderr into `stderr`.
    pub(crate) fn spawn(
        exe: &Path,
        state: &Path,
        args: &[&str],
        stderr: PathBuf,
    ) -> Result<ServeChild, BenchError> {
        let child = Command::new(exe)
            .arg("--state-dir")
            .arg(state)
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr)?)
            .spawn()
            .map_err(|e| BenchError::runtime(format!("error: cannot start wasmjob serve: {e}")))?;
        Ok(ServeChild { child, stderr })
    }

    /// An error when the serve has exited, or `started` is more than `limit` ago, before
    /// `what` completed.
    pub(crate) fn still_running(
        &mut self,
        what: &str,
        started: Instant,
        limit: Duration,
    ) -> Result<(), BenchError> {
        if let Ok(Some(st)) = self.child.try_wait() {
            return Err(BenchError::runtime(format!(
                "error: wasmjob serve exited ({st}) before {what} completed: {}",
                self.log().trim()
            )));
        }
        if started.elapsed() > limit {
            return Err(BenchError::runtime(format!(
                "error: {what} did not complete within {} s",
                limit.as_secs()
            )));
        }
        Ok(())
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGTERM and wait (10 s), then SIGKILL: the exit code, if it exited by itself.
    pub(crate) fn stop(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How many rows of a `get jobs` table say `Complete`.
pub(crate) fn complete_jobs(table: &str) -> usize {
    table
        .lines()
        .skip(1)
        .filter(|l| l.split_whitespace().nth(1) == Some("Complete"))
        .count()
}

/// The first Job the `get jobs` table shows as Failed, if any.
pub(crate) fn failed_job(table: &str) -> Option<&str> {
    table
        .lines()
        .skip(1)
        .find(|l| l.split_whitespace().nth(1) == Some("Failed"))
        .and_then(|l| l.split_whitespace().next())
}

pub(crate) fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// One `get jobs` through the CLI: its time and its table.
pub(crate) fn get_jobs(exe: &Path, state: &Path) -> Result<(Duration, String), BenchError> {
    let started = Instant::now();
    let out = Command::new(exe)
        .arg("--state-dir")
        .arg(state)
        .args(["get", "jobs"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| BenchError::runtime(format!("error: cannot run wasmjob get jobs: {e}")))?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(BenchError::runtime(format!(
            "error: `wasmjob get jobs` failed under load ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok((took, String::from_utf8_lossy(&out.stdout).into_owned()))
}

pub fn load(quick: bool, work: &Path) -> Result<Vec<Row>, BenchError> {
    let s = Sizes::of(quick);
    let total = s.jobs * s.pods_per_job;
    let exe = std::env::current_exe()?;
    let module = work.join("napper.wasm");
    let napper = super::guests::napper(s.nap_ms)
        .ok_or_else(|| BenchError::runtime(format!("error: no napper guest of {} ms", s.nap_ms)))?;
    std::fs::write(&module, napper)?;
    let manifest = work.join("load.yaml");
    let yaml: Vec<String> = (0..s.jobs)
        .map(|i| {
            super::job_yaml(
                &format!("load-{i:03}"),
                &module,
                Some(s.pods_per_job),
                s.pods_per_job,
                "",
            )
        })
        .collect();
    std::fs::write(&manifest, yaml.join("---\n"))?;
    let state = work.join("load-state");
    status(&format!(
        "{} Jobs of {} pods ({total} in flight) applied for one serve --max-pods {}",
        s.jobs, s.pods_per_job, s.max_pods
    ));
    super::baselines::time_process(
        Command::new(&exe)
            .arg("--state-dir")
            .arg(&state)
            .arg("apply")
            .arg("-f")
            .arg(&manifest),
    )
    .map_err(fail("wasmjob apply"))?;

    // Idle: the same store, the same Jobs, no controller at work.
    let mut idle = Vec::with_capacity(s.idle_calls);
    for _ in 0..s.idle_calls {
        idle.push(get_jobs(&exe, &state)?.0);
    }
    idle.sort();

    let max_pods = s.max_pods.to_string();
    let mut serve = ServeChild::spawn(
        &exe,
        &state,
        &[
            "--max-pods",
            &max_pods,
            "--backoff-base",
            "10ms",
            "--backoff-max",
            "100ms",
        ],
        work.join("load-serve.err"),
    )?;
    status(&format!("`get jobs` over and over while {total} pods run"));
    let started = Instant::now();
    let mut loaded = Vec::new();
    loop {
        let (took, table) = get_jobs(&exe, &state)?;
        loaded.push(took);
        if complete_jobs(&table) == s.jobs {
            break;
        }
        if let Some(name) = failed_job(&table) {
            return Err(BenchError::runtime(format!(
                "error: load Job {name} failed (see `wasmjob --state-dir {} describe job {name}`)",
                state.display()
            )));
        }
        serve.still_running("the load Jobs", started, LIMIT)?;
    }
    // Pods/s from the Jobs' own times: the first start to the last completion.
    let out = Command::new(&exe)
        .arg("--state-dir")
        .arg(&state)
        .args(["get", "jobs", "-o", "json"])
        .stdin(Stdio::null())
        .output()?;
    let stopped = serve.stop();
    if stopped != Some(0) {
        return Err(BenchError::runtime(format!(
            "error: wasmjob serve did not stop cleanly on SIGTERM ({stopped:?}): {}",
            serve.log().trim()
        )));
    }
    let list: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| BenchError::runtime(format!("error: get jobs -o json: {e}")))?;
    let items = list["items"].as_array().cloned().unwrap_or_default();
    let time = |v: &serde_json::Value| v.as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok());
    let mut first = None::<jiff::Timestamp>;
    let mut last = None::<jiff::Timestamp>;
    for j in &items {
        let succeeded = j["status"]["succeeded"].as_u64().unwrap_or(0) as usize;
        if succeeded != s.pods_per_job {
            return Err(BenchError::runtime(format!(
                "error: load Job {} completed with {succeeded} of {} pods succeeded",
                j["metadata"]["name"], s.pods_per_job
            )));
        }
        if let Some(t) = time(&j["status"]["startTime"]) {
            first = Some(first.map_or(t, |f| f.min(t)));
        }
        if let Some(t) = time(&j["status"]["completionTime"]) {
            last = Some(last.map_or(t, |l| l.max(t)));
        }
    }
    let span = match (first, last) {
        (Some(f), Some(l)) if items.len() == s.jobs => {
            Duration::from_nanos(l.duration_since(f).as_nanos().max(1) as u64)
        }
        _ => {
            return Err(BenchError::runtime(
                "error: the load Jobs have no start or completion times",
            ));
        }
    };
    loaded.sort();
    let pods_per_s = super::per_second(total, span);
    let (idle_p50, idle_p99, idle_max) = (
        percentile(&idle, 0.5),
        percentile(&idle, 0.99),
        idle.last().copied().unwrap_or_default(),
    );
    let (p50, p99, max) = (
        percentile(&loaded, 0.5),
        percentile(&loaded, 0.99),
        loaded.last().copied().unwrap_or_default(),
    );
    let ratio = |d: Duration, base: Duration| d.as_secs_f64() / base.as_secs_f64().max(1e-9);
    let what = format!(
        "{} Jobs x {} pods, parallelism {} each (up to {total} pods in flight) under one `serve --max-pods {}`, pods of {} ms",
        s.jobs, s.pods_per_job, s.pods_per_job, s.max_pods, s.nap_ms
    );
    let mut rows = Vec::new();
    let mut row = Row::new(
        "load_pods",
        format!("load: {what} (pods/s, first start to last completion)"),
    );
    row.wasmjob = rate(pods_per_s);
    row.baseline = format!(
        "{} ms pods, {} at once: at most {:.0}/s",
        s.nap_ms,
        s.max_pods,
        s.max_pods as f64 * 1000.0 / s.nap_ms as f64
    );
    row.goal = "reported".into();
    rows.push(row);
    let mut row = Row::new(
        "load_get_p99",
        format!(
            "load: `wasmjob get jobs` (process start to exit) while they run, p99 of {} calls (baseline: p50 of {} on the idle store)",
            loaded.len(),
            idle.len()
        ),
    );
    row.wasmjob = ms(p99);
    row.baseline = ms(idle_p50);
    row.ratio = Some(ratio(p99, idle_p50));
    row.higher_is_better = false;
    row.goal = "<= 1 s and <= 20".into();
    row.pass = Some(p99 <= Duration::from_secs(1) && ratio(p99, idle_p50) <= 20.0);
    rows.push(row);
    let mut row = Row::new(
        "load_get_p50",
        "load: `wasmjob get jobs` while they run, p50 (baseline: p50 on the idle store)",
    );
    row.wasmjob = ms(p50);
    row.baseline = ms(idle_p50);
    row.ratio = Some(ratio(p50, idle_p50));
    row.higher_is_better = false;
    row.goal = "reported".into();
    rows.push(row);
    let mut row = Row::new(
        "load_get_max",
        "load: `wasmjob get jobs` while they run, slowest call (baseline: slowest and p99 on the idle store)",
    );
    row.wasmjob = ms(max);
    row.baseline = format!("{}; p99 {}", ms(idle_max), ms(idle_p99));
    row.higher_is_better = false;
    row.goal = "reported".into();
    rows.push(row);
    Ok(rows)
}
