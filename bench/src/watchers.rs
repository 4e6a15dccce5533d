//! `wasmjob bench watchers`: what users following a large Job cost it. A real `wasmjob serve`
//! child runs a Job of 100,000 tiny pods (5,000 with `--quick`) twice, each time in a fresh
//! state directory: alone (the baseline), then with 20 `wasmjob get jobs -w` processes
//! following it while this process runs `wasmjob get jobs` — the CLI a user would run, process
//! start to exit — every 50 ms until the Job completes. Reports the Job's pods/s (from its
//! own start and completion times) against the baseline, and `get`'s p99 and calls per second.

use super::load::{ServeChild, complete_jobs, get_jobs, ms, percentile};
use super::*;
use std::process::{Child, Stdio};
use std::time::Instant;

/// Watchers following the Job.
const WATCHERS: usize = 20;

/// How often a `get jobs` starts while the Job is watched: twenty a second, a user at a
/// terminal many times over (back to back, the calls alone would take a core of the machine).
const GET_EVERY: Duration = Duration::from_millis(50);

/// Longest one run may take.
const LIMIT: Duration = Duration::from_secs(900);

fn pods(quick: bool) -> usize {
    if quick { 5_000 } else { 100_000 }
}

/// Watcher processes, killed however the benchmark ends.
struct Watchers(Vec<Child>);

impl Drop for Watchers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One run of the Job under a serve: its pods/s, and the `get jobs` calls made meanwhile
/// (none without watchers).
fn run_once(
    exe: &Path,
    work: &Path,
    name: &str,
    manifest: &Path,
    watched: bool,
) -> Result<(f64, Vec<Duration>), BenchError> {
    let state = work.join(format!("{name}-state"));
    let mut serve = ServeChild::spawn(
        exe,
        &state,
        &["--max-pods", "1000"],
        work.join(format!("{name}-serve.err")),
    )?;
    let started = Instant::now();
    while !serve.log().contains("controlling") {
        if started.elapsed() > Duration::from_secs(30) {
            return Err(BenchError::runtime(format!(
                "error: wasmjob serve did not start: {}",
                serve.log().trim()
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut watchers = Watchers(Vec::new());
    if watched {
        for _ in 0..WATCHERS {
            watchers.0.push(
                Command::new(exe)
                    .arg("--state-dir")
                    .arg(&state)
                    .args(["get", "jobs", "-w"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| BenchError::runtime(format!("error: cannot start get -w: {e}")))?,
            );
        }
    }
    baselines::time_process(
        Command::new(exe)
            .arg("--state-dir")
            .arg(&state)
            .arg("apply")
            .arg("-f")
            .arg(manifest),
    )
    .map_err(fail("wasmjob apply"))?;
    let started = Instant::now();
    let mut calls = Vec::new();
    loop {
        let (took, table) = get_jobs(exe, &state)?;
        if watched {
            calls.push(took);
            std::thread::sleep(GET_EVERY.saturating_sub(took));
        } else {
            std::thread::sleep(Duration::from_millis(100));
        }
        if complete_jobs(&table) > 0 {
            break;
        }
        serve.still_running("the watched Job", started, LIMIT)?;
    }
    drop(watchers);
    let out = Command::new(exe)
        .arg("--state-dir")
        .arg(&state)
        .args(["get", "jobs", "-o", "json"])
        .stdin(Stdio::null())
        .output()?;
    serve.stop();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| BenchError::runtime(format!("error: get jobs -o json: {e}")))?;
    let job = &list["items"][0]["status"];
    let time = |v: &serde_json::Value| v.as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok());
    let (Some(first), Some(last)) = (time(&job["startTime"]), time(&job["completionTime"])) else {
        return Err(BenchError::runtime(
            "error: the watched Job has no start or completion time",
        ));
    };
    let span = Duration::from_nanos(last.duration_since(first).as_nanos().max(1) as u64);
    let n = job["succeeded"].as_u64().unwrap_or(0) as usize;
    Ok((per_second(n, span), calls))
}

pub fn watchers(quick: bool, work: &Path, tiny: &Path) -> Result<Vec<Row>, BenchError> {
    let n = pods(quick);
    let exe = std::env::current_exe()?;
    let manifest = work.join("watched.yaml");
    std::fs::write(&manifest, job_yaml("watched", tiny, Some(n), 64, ""))?;
    status(&format!("a {n}-pod Job under serve, alone"));
    let (alone, _) = run_once(&exe, work, "alone", &manifest, false)?;
    status(&format!(
        "the same Job with {WATCHERS} `get jobs -w` following it and `get jobs` over and over"
    ));
    let (watched, mut calls) = run_once(&exe, work, "watched", &manifest, true)?;
    calls.sort();
    let p99 = percentile(&calls, 0.99);
    let mut rows = Vec::new();
    let mut row = Row::new(
        "watchers_rate",
        format!(
            "watchers: pods/s of a {n}-pod Job under serve with {WATCHERS} `get jobs -w` and `get jobs` polling (baseline: the Job alone)"
        ),
    );
    row.wasmjob = rate(watched);
    row.baseline = rate(alone);
    row.ratio = Some(watched / alone);
    row.goal = ">= 0.9".into();
    row.pass = Some(watched >= 0.9 * alone);
    rows.push(row);
    let mut row = Row::new(
        "watchers_get_p99",
        format!(
            "watchers: `wasmjob get jobs` (process start to exit) meanwhile, one every {} ms, p99 of {} calls",
            GET_EVERY.as_millis(),
            calls.len(),
        ),
    );
    row.wasmjob = ms(p99);
    row.higher_is_better = false;
    row.goal = "<= 50 ms".into();
    row.pass = Some(p99 <= Duration::from_millis(50));
    rows.push(row);
    Ok(rows)
}
