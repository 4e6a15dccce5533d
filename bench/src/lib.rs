//! `wasmjob bench`: runs each performance goal's workload in this process (or, for start-up
//! latency, as processes), measures the baselines in the same run, and prints one table —
//! figure, wasmjob, baseline, ratio, goal, result. `--svg` draws pods/s against parallelism and
//! Job size, `--save` keeps the figures as JSON, and `--check` compares the ratios with a saved
//! run and fails only on a gross regression (5× worse), never on noise. `bench store` is the
//! store's own benchmark.

mod baselines;
mod concurrency;
mod guests;
mod jobs;
mod load;
mod million;
mod plot;
mod single;
mod store;
mod table;
mod throughput;
mod watchers;

use single::{guest, latency};
use table::{machine, print_table, svg};

use jobs::{Outcome, run_job, sample};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use wasmjob_control::sandbox::{Sandbox, slots_for};

/// Why a benchmark run stopped, with the exit code the `wasmjob` CLI gives it.
#[derive(Debug)]
pub enum BenchError {
    /// A bad argument or saved run: exit 2.
    Input(String),
    /// A workload that failed or could not be set up: exit 1.
    Failed(String),
}

impl BenchError {
    fn input(message: impl Into<String>) -> BenchError {
        BenchError::Input(message.into())
    }
    fn runtime(message: impl Into<String>) -> BenchError {
        BenchError::Failed(message.into())
    }
    /// The process's exit code: 2 for bad input, 1 for anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            BenchError::Input(_) => 2,
            BenchError::Failed(_) => 1,
        }
    }
}

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BenchError::Input(m) | BenchError::Failed(m) => f.write_str(m),
        }
    }
}

impl From<std::io::Error> for BenchError {
    fn from(e: std::io::Error) -> BenchError {
        BenchError::runtime(format!("error: {e}"))
    }
}

impl From<wasmjob_spec::ManifestError> for BenchError {
    fn from(e: wasmjob_spec::ManifestError) -> BenchError {
        BenchError::input(e.to_string())
    }
}

impl From<wasmjob_control::store::StoreError> for BenchError {
    fn from(e: wasmjob_control::store::StoreError) -> BenchError {
        BenchError::runtime(format!("error: {e}"))
    }
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// What to measure: all, throughput, latency, guest, concurrency, scaling, million,
    /// watchers, load, or store.
    #[arg(default_value = "all")]
    pub what: String,
    /// Small workloads that finish in seconds (CI's regression check).
    #[arg(long)]
    pub quick: bool,
    /// Pods (and work-queue items) of the throughput Jobs [default: 100000; 5000 with --quick].
    #[arg(long, value_name = "N")]
    pub pods: Option<usize>,
    /// Folder for the benchmark's state directories and modules [default: the system's
    /// temporary folder]. Its file system matters: every commit is synced.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The pi example's module, for the guest-speed figures (build it with `cargo build
    /// --release --target wasm32-wasip1 -p pi`).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "target/wasm32-wasip1/release/pi.wasm"
    )]
    pub pi: PathBuf,
    /// Digits of pi the guest-speed figures compute [default: 30000; 10000 with --quick].
    #[arg(long, value_name = "N")]
    pub pi_digits: Option<u32>,
    /// Writes the plot of pods/s against parallelism and Job size (SVG) to FILE.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Writes the figures as JSON to FILE (a baseline for --check).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Compares the ratios with those saved in FILE; exits 1 when one is 5× worse.
    #[arg(long, value_name = "FILE")]
    pub check: Option<PathBuf>,
    /// Prints (and with --svg draws) a run saved with --save instead of measuring.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["check", "save"])]
    pub from: Option<PathBuf>,
    /// `store`: pod transitions to write in each measurement.
    #[arg(long, default_value_t = 20_000)]
    pub transitions: usize,
    /// `store`: transitions per transaction with group commit.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// `million`: run the million-pod Job in this process and print its figures (the process
    /// `bench million` starts, so that its memory is the Job's alone).
    #[arg(long, hide = true)]
    pub million_child: bool,
}

const WHATS: [&str; 10] = [
    "all",
    "throughput",
    "latency",
    "guest",
    "concurrency",
    "scaling",
    "million",
    "watchers",
    "load",
    "store",
];

/// How many times worse than the saved ratio a figure must be to fail `--check`.
const GROSS: f64 = 5.0;

/// One line of the table.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Row {
    key: String,
    figure: String,
    wasmjob: String,
    baseline: String,
    /// wasmjob against the baseline (or the goal's measure), when there is one.
    ratio: Option<f64>,
    goal: String,
    pass: Option<bool>,
    /// Whether a larger ratio is better (throughput) or worse (time).
    higher_is_better: bool,
}

impl Row {
    fn new(key: &str, figure: impl Into<String>) -> Row {
        Row {
            key: key.into(),
            figure: figure.into(),
            wasmjob: "-".into(),
            baseline: "-".into(),
            ratio: None,
            goal: "-".into(),
            pass: None,
            higher_is_better: true,
        }
    }
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Report {
    machine: Vec<(String, String)>,
    quick: bool,
    rows: Vec<Row>,
    /// pods/s by parallelism, and by Job size.
    by_parallelism: Vec<(f64, f64)>,
    by_size: Vec<(f64, f64)>,
    raw_loop: Option<f64>,
    /// pods/s of the Indexed throughput Job, the million-pod Job's baseline.
    #[serde(default)]
    indexed_rate: Option<f64>,
}

/// Sizes of one run's workloads.
struct Sizes {
    throughput: usize,
    scaling: Vec<usize>,
    parallelism: Vec<usize>,
    parallelism_pods: usize,
    sleepers: usize,
    sleep_deadline: u64,
    latency_runs: usize,
    raw_time: Duration,
    processes: usize,
    epoch_iterations: i32,
    pi_digits: u32,
}

impl Sizes {
    fn of(args: &BenchArgs) -> Sizes {
        let q = args.quick;
        let throughput = args.pods.unwrap_or(if q { 5_000 } else { 100_000 }).max(1);
        Sizes {
            throughput,
            scaling: if q {
                vec![500, 2_000, throughput]
            } else {
                vec![1_000, 10_000, throughput]
            },
            parallelism: vec![1, 4, 16, 64, 256],
            parallelism_pods: if q { 1_000 } else { 20_000 },
            sleepers: if q { 1_000 } else { 10_000 },
            sleep_deadline: if q { 4 } else { 15 },
            latency_runs: if q { 5 } else { 21 },
            raw_time: Duration::from_secs(if q { 1 } else { 3 }),
            processes: if q { 300 } else { 3_000 },
            epoch_iterations: if q { 50_000_000 } else { 300_000_000 },
            pi_digits: args.pi_digits.unwrap_or(if q { 10_000 } else { 30_000 }),
        }
    }
}

pub fn bench(args: BenchArgs) -> Result<u8, BenchError> {
    if !WHATS.contains(&args.what.as_str()) {
        return Err(BenchError::input(format!(
            "error: unknown benchmark {:?} (known: {})",
            args.what,
            WHATS.join(", ")
        )));
    }
    let root = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    if args.what == "store" {
        store::bench(&root, &args)?;
        return Ok(0);
    }
    if let Some(path) = &args.from {
        let report = read_report(path)?;
        print_table(&report);
        if let Some(svg_path) = &args.svg {
            write_svg(svg_path, &report)?;
        }
        return Ok(0);
    }
    let baseline = match &args.check {
        Some(path) => Some(read_report(path)?),
        None => None,
    };
    let work = root.join(format!("wasmjob-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&work).map_err(|e| {
        BenchError::runtime(format!("error: cannot create {}: {e}", work.display()))
    })?;
    let work = std::path::absolute(&work)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| BenchError::runtime(format!("error: cannot start the runtime: {e}")))?;
    if args.million_child {
        let result = runtime.block_on(million::child(&args, &work));
        let _ = std::fs::remove_dir_all(&work);
        return result.map(|()| 0);
    }
    let result = runtime.block_on(measure(&args, &work));
    // A failed run leaves its state directories and the serves' logs for a look.
    let report = match result {
        Ok(r) => {
            let _ = std::fs::remove_dir_all(&work);
            r
        }
        Err(e) => {
            eprintln!(
                "bench: the failed run's files are kept in {}",
                work.display()
            );
            return Err(e);
        }
    };
    print_table(&report);
    if let Some(path) = &args.svg {
        write_svg(path, &report)?;
    }
    if let Some(path) = &args.save {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(|e| {
            BenchError::runtime(format!("error: cannot write {}: {e}", path.display()))
        })?;
        eprintln!("figures saved to {}", path.display());
    }
    match baseline {
        Some(b) => Ok(check(&report, &b)),
        None => Ok(0),
    }
}

fn write_svg(path: &Path, report: &Report) -> Result<(), BenchError> {
    std::fs::write(path, svg(report))
        .map_err(|e| BenchError::runtime(format!("error: cannot write {}: {e}", path.display())))?;
    eprintln!("plot written to {}", path.display());
    Ok(())
}

fn read_report(path: &Path) -> Result<Report, BenchError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        BenchError::input(format!(
            "error: cannot read the baseline {}: {e}",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        BenchError::input(format!(
            "error: {} is not a saved benchmark report: {e}",
            path.display()
        ))
    })
}

/// 0 when no ratio is `GROSS` times worse than the baseline's; else 1, naming each.
fn check(now: &Report, saved: &Report) -> u8 {
    let mut code = 0;
    let mut compared = 0;
    for row in &now.rows {
        let Some(old) = saved.rows.iter().find(|r| r.key == row.key) else {
            continue;
        };
        let (Some(new), Some(old)) = (row.ratio, old.ratio) else {
            continue;
        };
        compared += 1;
        let worse = if row.higher_is_better {
            new * GROSS < old
        } else {
            new > old * GROSS
        };
        if worse {
            code = 1;
            println!(
                "REGRESSION {}: ratio {new:.3} against {old:.3} in the baseline (more than {GROSS}x worse)",
                row.figure
            );
        }
    }
    println!(
        "check: {compared} ratios compared with the baseline, {}",
        if code == 0 {
            "no gross regression"
        } else {
            "gross regressions found"
        }
    );
    code
}

fn status(what: &str) {
    eprintln!("bench: {what}");
}

fn fail(what: &str) -> impl Fn(String) -> BenchError + '_ {
    move |e| BenchError::runtime(format!("error: {what}: {e}"))
}

async fn measure(args: &BenchArgs, work: &Path) -> Result<Report, BenchError> {
    let sizes = Sizes::of(args);
    let mut report = Report {
        machine: machine(work),
        quick: args.quick,
        ..Report::default()
    };
    let tiny = write_guest(work, "tiny", guests::TINY)?;
    let all = args.what == "all";
    if all || args.what == "throughput" || args.what == "scaling" {
        throughput::throughput(args, &sizes, work, &tiny, &mut report).await?;
    }
    if all || args.what == "latency" {
        latency(&sizes, work, &tiny, &mut report)?;
    }
    if all || args.what == "guest" {
        guest(args, &sizes, work, &mut report).await?;
    }
    if all || args.what == "million" {
        million::million(args, &sizes, work, &mut report).await?;
    }
    if all || args.what == "concurrency" {
        concurrency::concurrency(&sizes, work, &mut report).await?;
    }
    if all || args.what == "watchers" {
        report
            .rows
            .extend(watchers::watchers(args.quick, work, &tiny)?);
    }
    if all || args.what == "load" {
        report.rows.extend(load::load(args.quick, work)?);
    }
    Ok(report)
}

fn write_guest(work: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, BenchError> {
    let path = work.join(format!("{name}.wasm"));
    std::fs::write(&path, bytes)?;
    Ok(path)
}

fn sandbox(pods: usize) -> Result<Arc<Sandbox>, BenchError> {
    Sandbox::configured(None, slots_for(pods))
        .map(Arc::new)
        .map_err(|e| BenchError::runtime(format!("error: {e:#}")))
}

fn job_yaml(
    name: &str,
    module: &Path,
    completions: Option<usize>,
    parallelism: usize,
    extra: &str,
) -> String {
    let completions = completions
        .map(|c| format!("  completions: {c}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
{completions}  parallelism: {parallelism}
  backoffLimit: 0
{extra}  template:
    spec:
      restartPolicy: Never
      containers:
      - name: task
        image: {}
",
        module.display()
    )
}

/// The Job completed with `want` successes, or an error naming what happened.
fn expect_complete(o: &Outcome, want: usize) -> Result<(), BenchError> {
    let s = o.job.status();
    if o.job
        .status()
        .true_condition(wasmjob_spec::COND_COMPLETE)
        .is_none()
        || (s.succeeded as usize) < want.min(1)
    {
        return Err(BenchError::runtime(format!(
            "error: the benchmark Job {} did not complete: succeeded {}, failed {}",
            o.job.name(),
            s.succeeded,
            s.failed
        )));
    }
    Ok(())
}

fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn rate(v: f64) -> String {
    format!("{v:.0}/s")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rows: &[(&str, f64, bool)]) -> Report {
        Report {
            rows: rows
                .iter()
                .map(|(key, ratio, higher)| {
                    let mut r = Row::new(key, *key);
                    r.ratio = Some(*ratio);
                    r.higher_is_better = *higher;
                    r
                })
                .collect(),
            ..Report::default()
        }
    }

    #[test]
    fn check_fails_only_on_a_gross_regression() {
        let saved = report(&[
            ("tput", 0.02, true),
            ("latency", 1.6, false),
            ("gone", 1.0, true),
        ]);
        // Noise (2x either way) passes; rows missing on either side are not compared.
        assert_eq!(
            check(
                &report(&[("tput", 0.01, true), ("latency", 3.2, false)]),
                &saved
            ),
            0
        );
        // Throughput 6x lower fails.
        assert_eq!(
            check(
                &report(&[("tput", 0.003, true), ("latency", 1.6, false)]),
                &saved
            ),
            1
        );
        // Latency 6x higher fails; better than the baseline never fails.
        assert_eq!(
            check(
                &report(&[("tput", 0.5, true), ("latency", 9.7, false)]),
                &saved
            ),
            1
        );
        assert_eq!(
            check(
                &report(&[("tput", 0.5, true), ("latency", 0.1, false)]),
                &saved
            ),
            0
        );
    }

    #[test]
    fn a_saved_report_reads_back() {
        let dir = std::env::temp_dir().join(format!("wasmjob-bench-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.json");
        let mut r = report(&[("tput", 0.02, true)]);
        r.by_size = vec![(1000.0, 5000.0)];
        std::fs::write(&path, serde_json::to_string(&r).unwrap()).unwrap();
        let back = read_report(&path).unwrap();
        assert_eq!(back.rows[0].ratio, Some(0.02));
        assert_eq!(back.by_size, vec![(1000.0, 5000.0)]);
        std::fs::write(&path, "{not json").unwrap();
        let err = read_report(&path).err().unwrap();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("is not a saved benchmark report"),
            "{}",
            err
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
