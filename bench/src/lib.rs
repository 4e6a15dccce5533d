//! `wasmjob bench`: runs each performance goal's workload in this process (or, for start-up
//! latency, as processes), measures the baselines in the same run, and prints one table —
//! figure, wasmjob, baseline, ratio, goal, result. `--svg` draws pods/s against parallelism and
//! Job size, `--save` keeps the figures as JSON, and `--check` compares the ratios with a saved
//! run and fails only on a gross regression (5× worse), never on noise. `bench store` is the
//! store's own benchmark.

mod baselines;
mod guests;
mod jobs;
mod load;
mod plot;
mod store;

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
    /// What to measure: all, throughput, latency, guest, concurrency, scaling, load, or store.
    #[arg(default_value = "all")]
    pub what: String,
    /// Small workloads that finish in seconds (CI's regression check).
    #[arg(long)]
    pub quick: bool,
    /// Pods (and work-queue items) of the throughput Jobs [default: 100000; 5000 with --quick].
    #[arg(long, value_name = "N")]
    pub pods: Option<usize>,
    /// Folder for the benchmark's state directories and modules [default: the system's
    /// temporary folder]. Its file system matters: every pod's log is a file.
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
}

const WHATS: [&str; 8] = [
    "all",
    "throughput",
    "latency",
    "guest",
    "concurrency",
    "scaling",
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
            latency_runs: if q { 5 } else { 11 },
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
    let result = runtime.block_on(measure(&args, &work));
    let _ = std::fs::remove_dir_all(&work);
    let report = result?;
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
        throughput(args, &sizes, work, &tiny, &mut report).await?;
    }
    if all || args.what == "latency" {
        latency(&sizes, work, &tiny, &mut report)?;
    }
    if all || args.what == "guest" {
        guest(args, &sizes, work, &mut report).await?;
    }
    if all || args.what == "concurrency" {
        concurrency(&sizes, work, &mut report).await?;
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

async fn throughput(
    args: &BenchArgs,
    sizes: &Sizes,
    work: &Path,
    tiny: &Path,
    report: &mut Report,
) -> Result<(), BenchError> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let wasm = std::fs::read(tiny)?;
    let mut raw = 0.0;
    if args.what != "scaling" {
        status(&format!("raw loop on {threads} threads"));
        raw = baselines::raw_loop(&wasm, threads, sizes.raw_time).map_err(fail("raw loop"))?;
        report.raw_loop = Some(raw);
    }
    let sb = sandbox(1000)?;
    let n = sizes.throughput;
    let mut rows = Vec::new();
    let drainer = write_guest(work, "drainer", guests::DRAINER)?;
    let kinds: [(&str, &str, String, Option<Vec<String>>); 3] = [
        (
            "throughput_nonindexed",
            "NonIndexed",
            job_yaml("tput", tiny, Some(n), 64, ""),
            None,
        ),
        (
            "throughput_indexed",
            "Indexed",
            job_yaml(
                "tput-indexed",
                tiny,
                Some(n),
                64,
                "  completionMode: Indexed\n",
            ),
            None,
        ),
        (
            "throughput_queue",
            "work queue",
            job_yaml("tput-queue", &drainer, None, 64, ""),
            Some((0..n).map(|i| format!("item-{i}")).collect()),
        ),
    ];
    let mut nonindexed = None;
    if args.what != "scaling" {
        for (key, kind, yaml, items) in kinds {
            status(&format!("{kind} Job of {n} (parallelism 64)"));
            let queue = items.is_some();
            let o = run_job(work, &sb, &yaml, items, 1000, None).await?;
            expect_complete(&o, if queue { 1 } else { n })?;
            let pods_per_s = per_second(n, o.elapsed);
            if key == "throughput_nonindexed" {
                nonindexed = Some((pods_per_s, o.stats));
            }
            let unit = if queue { "items" } else { "pods" };
            let mut row = Row::new(
                key,
                format!(
                    "throughput, {kind} Job of {n} {unit}, parallelism 64 ({unit}/s; baseline: raw loop)"
                ),
            );
            row.wasmjob = rate(pods_per_s);
            row.baseline = rate(raw);
            row.ratio = Some(pods_per_s / raw);
            row.goal = ">= 20000/s and >= 0.25".into();
            row.pass = Some(pods_per_s >= 20_000.0 && pods_per_s / raw >= 0.25);
            if key == "throughput_indexed" {
                let ci = o.job.status().completed_indexes.clone().unwrap_or_default();
                row.figure += &format!(" [completedIndexes {ci:?}]");
            }
            rows.push(row);
        }
        let ours = nonindexed.map_or(0.0, |x| x.0);
        status(&format!("{} native processes (echo)", sizes.processes));
        let native = baselines::xargs_rate("echo hello from native", sizes.processes, threads)
            .map_err(fail("native processes"))?;
        let mut row = Row::new(
            "process_native",
            "throughput against one native process per task (echo of the same line, xargs -P)",
        );
        row.wasmjob = rate(ours);
        row.baseline = rate(native);
        row.ratio = Some(ours / native);
        rows.push(row);
        let mut row = Row::new(
            "process_wasmtime",
            "throughput against `wasmtime run` per task (xargs -P, precompiled)",
        );
        match baselines::wasmtime_cli() {
            Some(wt) => {
                let tasks = sizes.processes / 3;
                status(&format!("{tasks} wasmtime processes"));
                let r = baselines::wasmtime_xargs(&wt, tiny, tasks, threads)
                    .map_err(fail("wasmtime via xargs"))?;
                row.wasmjob = rate(ours);
                row.baseline = rate(r);
                row.ratio = Some(ours / r);
            }
            None => row.baseline = "skipped: no wasmtime on PATH".into(),
        }
        rows.push(row);
    }
    // Scaling: the manager's cost per pod event, by Job size.
    let mut by_size = Vec::new();
    for &size in &sizes.scaling {
        let (pods_per_s, stats) = match (size == n, nonindexed) {
            (true, Some(x)) => x,
            _ => {
                status(&format!("NonIndexed Job of {size} (parallelism 64)"));
                let o = run_job(
                    work,
                    &sb,
                    &job_yaml("scale", tiny, Some(size), 64, ""),
                    None,
                    1000,
                    None,
                )
                .await?;
                expect_complete(&o, size)?;
                (per_second(size, o.elapsed), o.stats)
            }
        };
        // Per pod handed to reconcile: what a sync costs for each pod in flight, which must
        // not grow with the pods the Job has already done.
        let per_pod_ns =
            stats.reconcile_time.as_secs_f64() * 1e9 / stats.reconciled_pods.max(1) as f64;
        by_size.push((size, pods_per_s, per_pod_ns, stats));
    }
    let first = by_size.first().map_or(1.0, |x| x.2);
    for (size, _, per_pod_ns, stats) in &by_size {
        let mut row = Row::new(
            &format!("scaling_{size}"),
            format!(
                "controller: reconcile cost per pod in flight and sync, Job of {size} pods (ns; baseline: smallest Job)"
            ),
        );
        let syncs = stats.syncs.max(1) as f64;
        row.wasmjob = format!(
            "{per_pod_ns:.0} ns ({:.1} µs per sync over {:.0} pods in flight; the whole sync with its writes {:.0} µs per pod report)",
            stats.reconcile_time.as_secs_f64() * 1e6 / syncs,
            stats.reconciled_pods as f64 / syncs,
            stats.sync_time.as_secs_f64() * 1e6 / stats.pod_updates.max(1) as f64,
        );
        row.baseline = format!("{first:.0} ns");
        row.ratio = Some(per_pod_ns / first);
        row.higher_is_better = false;
        row.goal = "<= 1.5 (independent of size)".into();
        row.pass = Some(per_pod_ns / first <= 1.5);
        rows.push(row);
    }
    report.by_size = by_size.iter().map(|(s, r, _, _)| (*s as f64, *r)).collect();
    if args.what != "scaling" {
        for &p in &sizes.parallelism {
            let pods = sizes.parallelism_pods;
            status(&format!("NonIndexed Job of {pods} (parallelism {p})"));
            let o = run_job(
                work,
                &sb,
                &job_yaml("par", tiny, Some(pods), p, ""),
                None,
                1000,
                None,
            )
            .await?;
            expect_complete(&o, pods)?;
            report
                .by_parallelism
                .push((p as f64, per_second(pods, o.elapsed)));
        }
    }
    report.rows.extend(rows);
    Ok(())
}

fn latency(sizes: &Sizes, work: &Path, tiny: &Path, report: &mut Report) -> Result<(), BenchError> {
    let exe = std::env::current_exe()?;
    let manifest = work.join("latency.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: batch/v1
kind: Job
metadata:
  generateName: latency-
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: task
        image: {}
",
            tiny.display()
        ),
    )?;
    let state = work.join("latency-state");
    let run = || {
        let mut c = Command::new(&exe);
        c.arg("run").arg("--state-dir").arg(&state).arg(&manifest);
        c
    };
    status("wasmjob run of a one-pod Job, first with a new module, then warm");
    let cold = baselines::time_process(&mut run()).map_err(fail("wasmjob run"))?;
    let warm = baselines::median_time(sizes.latency_runs, run).map_err(fail("wasmjob run"))?;
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let mut row = Row::new(
        "latency_warm",
        "latency: `wasmjob run` of a one-pod Job, process start to exit, warm module cache (median; baseline: `wasmtime run`)",
    );
    row.wasmjob = ms(warm);
    row.higher_is_better = false;
    row.goal = "<= 1.5".into();
    match baselines::wasmtime_cli() {
        Some(wt) => {
            let wt_run = || {
                let mut c = Command::new(&wt);
                c.arg("run").arg(tiny);
                c
            };
            baselines::time_process(&mut wt_run()).map_err(fail("wasmtime run"))?;
            let base =
                baselines::median_time(sizes.latency_runs, wt_run).map_err(fail("wasmtime run"))?;
            row.baseline = ms(base);
            let ratio = warm.as_secs_f64() / base.as_secs_f64();
            row.ratio = Some(ratio);
            row.pass = Some(ratio <= 1.5);
        }
        None => row.baseline = "skipped: no wasmtime on PATH".into(),
    }
    report.rows.push(row);
    let mut row = Row::new(
        "latency_cold",
        "latency: the first `wasmjob run` of a new module (compiles and caches it; baseline: warm)",
    );
    row.wasmjob = ms(cold);
    row.baseline = ms(warm);
    // Shown, not checked: a faster warm start would look like a slower cold one.
    row.goal = format!(
        "{:.1}x the warm run",
        cold.as_secs_f64() / warm.as_secs_f64()
    );
    row.higher_is_better = false;
    report.rows.push(row);
    Ok(())
}

async fn guest(
    args: &BenchArgs,
    sizes: &Sizes,
    work: &Path,
    report: &mut Report,
) -> Result<(), BenchError> {
    // Epoch checks on a tight loop, in wasmtime alone.
    status("epoch checks on a tight loop");
    let tight = guests::TIGHT_LOOP;
    let (off, on) =
        baselines::epoch_cost(tight, sizes.epoch_iterations).map_err(fail("epoch cost"))?;
    let mut row = Row::new(
        "epoch_cost",
        format!(
            "guest: a tight loop of {} stores with epoch checks (baseline: without)",
            sizes.epoch_iterations
        ),
    );
    row.wasmjob = format!("{:.0} ms", on * 1000.0);
    row.baseline = format!("{:.0} ms", off * 1000.0);
    row.ratio = Some(on / off);
    row.higher_is_better = false;
    row.goal = "reported".into();
    report.rows.push(row);

    // The deadline's reaction time on a spinning guest.
    status("a spinning pod stopped by activeDeadlineSeconds: 1");
    let spinner = write_guest(work, "spinner", guests::SPINNER)?;
    let sb = sandbox(64)?;
    let o = run_job(
        work,
        &sb,
        &job_yaml(
            "deadline",
            &spinner,
            Some(1),
            1,
            "  activeDeadlineSeconds: 1\n",
        ),
        None,
        64,
        None,
    )
    .await?;
    let reaction = after_deadline(&o, 1, o.finished_at);
    let mut row = Row::new(
        "deadline_reaction",
        "guest: a spinning pod's Job ended after activeDeadlineSeconds: 1 (ms past the deadline)",
    );
    row.wasmjob = reaction.map_or("-".into(), |r| format!("{:.0} ms", r * 1000.0));
    row.goal = "< 50 ms".into();
    row.pass = Some(reaction.is_some_and(|r| r < 0.05) && failed_by_deadline(&o));
    report.rows.push(row);

    // pi, plain and metered, against wasmtime run.
    let pi = std::path::absolute(&args.pi)?;
    if !pi.is_file() {
        let mut row = Row::new("guest_pi", "guest: the pi example's compute");
        row.baseline = format!(
            "skipped: no {} (cargo build --release --target wasm32-wasip1 -p pi)",
            args.pi.display()
        );
        report.rows.push(row);
        return Ok(());
    }
    let digits = sizes.pi_digits;
    let wt = baselines::wasmtime_cli();
    const FUEL: u64 = 1_000_000_000_000_000_000;
    let mut best = [f64::MAX; 4]; // wasmjob plain, metered, wasmtime plain, metered
    for round in 0..3 {
        status(&format!("pi to {digits} digits, round {}", round + 1));
        for (i, fuel) in [(0, false), (1, true)] {
            let extra = if fuel {
                format!("      annotations: {{wasmjob.dev/fuel: \"{FUEL}\"}}\n")
            } else {
                String::new()
            };
            let yaml = format!(
                "apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    metadata:
{extra}      labels: {{app: pi}}
    spec:
      restartPolicy: Never
      containers:
      - name: pi
        image: {}
        args: [\"{digits}\"]
",
                pi.display()
            );
            let o = run_job(work, &sb, &yaml, None, 64, None).await?;
            expect_complete(&o, 1)?;
            best[i] = best[i].min(o.elapsed.as_secs_f64());
        }
        if let Some(wt) = &wt {
            for (i, fuel) in [(2, false), (3, true)] {
                let mut c = Command::new(wt);
                c.arg("run");
                if fuel {
                    c.arg("-W").arg(format!("fuel={FUEL}"));
                }
                c.arg(&pi).arg(digits.to_string());
                let t = baselines::time_process(&mut c).map_err(fail("wasmtime run pi"))?;
                best[i] = best[i].min(t.as_secs_f64());
            }
        }
    }
    let secs = |s: f64| format!("{:.0} ms", s * 1000.0);
    for (key, what, ours, theirs) in [
        ("guest_pi", "", best[0], best[2]),
        ("guest_pi_fuel", " with fuel metering", best[1], best[3]),
    ] {
        let mut row = Row::new(
            key,
            format!(
                "guest: pi to {digits} digits{what}, whole Job (best of 3; baseline: `wasmtime run`{})",
                if what.is_empty() { "" } else { " -W fuel" }
            ),
        );
        row.wasmjob = secs(ours);
        row.higher_is_better = false;
        row.goal = "<= 1.1".into();
        if wt.is_some() {
            row.baseline = secs(theirs);
            row.ratio = Some(ours / theirs);
            row.pass = Some(ours / theirs <= 1.1);
        } else {
            row.baseline = "skipped: no wasmtime on PATH".into();
        }
        report.rows.push(row);
    }
    let mut row = Row::new(
        "guest_fuel_cost",
        format!("guest: pi to {digits} digits, metered (baseline: unmetered)"),
    );
    row.wasmjob = secs(best[1]);
    row.baseline = secs(best[0]);
    row.ratio = Some(best[1] / best[0]);
    row.higher_is_better = false;
    row.goal = "reported".into();
    report.rows.push(row);
    Ok(())
}

/// Seconds between the Job's deadline (`startTime` + `deadline`) and `end`.
fn after_deadline(o: &Outcome, deadline: u64, end: Option<jiff::Timestamp>) -> Option<f64> {
    let start = o.job.status().start_time?.0;
    let end = end?;
    let d = end.duration_since(start).as_secs_f64();
    Some(d - deadline as f64)
}

fn failed_by_deadline(o: &Outcome) -> bool {
    o.job
        .status()
        .true_condition(wasmjob_spec::COND_FAILED)
        .and_then(|c| c.reason.as_deref())
        == Some("DeadlineExceeded")
}

async fn concurrency(sizes: &Sizes, work: &Path, report: &mut Report) -> Result<(), BenchError> {
    let n = sizes.sleepers;
    let sleeper = write_guest(work, "sleeper", guests::SLEEPER)?;
    let sb = sandbox(n)?;
    status(&format!(
        "{n} sleeping pods (parallelism {n}), stopped by activeDeadlineSeconds: {}",
        sizes.sleep_deadline
    ));
    let before = sample();
    let yaml = job_yaml(
        "sleepers",
        &sleeper,
        Some(n),
        n,
        &format!("  activeDeadlineSeconds: {}\n", sizes.sleep_deadline),
    );
    let o = run_job(work, &sb, &yaml, None, n, Some(n as i32)).await?;
    let mut row = Row::new(
        "concurrency_memory",
        format!(
            "concurrency: host memory per sleeping pod, {n} at once (KiB of RSS; includes the guest's one touched page)"
        ),
    );
    row.goal = "<= 100 KiB".into();
    row.higher_is_better = false;
    let mut threads_row = Row::new(
        "concurrency_threads",
        format!("concurrency: process threads while {n} pods sleep"),
    );
    threads_row.goal = "no thread per pod".into();
    threads_row.higher_is_better = false;
    match o.peak {
        Some(peak) => {
            let per_pod = peak.rss.saturating_sub(before.rss) as f64 / n as f64 / 1024.0;
            // A goal, not a ratio to a baseline: RSS moves by megabytes with the allocator's
            // mood, so `--check` leaves it to the goal.
            row.wasmjob = format!("{per_pod:.1} KiB");
            row.baseline = format!("{} MiB before", before.rss >> 20);
            row.pass = Some(per_pod <= 100.0);
            threads_row.wasmjob = peak.threads.to_string();
            threads_row.baseline = format!("{} before", before.threads);
            threads_row.ratio = Some(peak.threads as f64 / n as f64);
            threads_row.pass = Some(peak.threads < 64);
        }
        None => {
            row.wasmjob = format!("not all {n} pods were active before the deadline");
            row.pass = Some(false);
        }
    }
    report.rows.push(row);
    report.rows.push(threads_row);
    let stop = after_deadline(&o, sizes.sleep_deadline, o.stopped_at);
    let failed = after_deadline(&o, sizes.sleep_deadline, o.finished_at);
    let mut row = Row::new(
        "concurrency_stop",
        format!(
            "concurrency: {n} sleeping pods stopped by the Job's deadline (s past it until every pod stopped; until the Job's Failed condition)"
        ),
    );
    row.wasmjob = match (stop, failed) {
        (Some(s), Some(f)) => format!("{s:.2} s; {f:.2} s"),
        _ => "-".into(),
    };
    row.goal = "<= 1 s".into();
    row.higher_is_better = false;
    row.pass = Some(stop.is_some_and(|s| s <= 1.0) && failed_by_deadline(&o));
    report.rows.push(row);
    Ok(())
}

fn print_table(report: &Report) {
    println!(
        "wasmjob bench{}",
        if report.quick { " --quick" } else { "" }
    );
    for (k, v) in &report.machine {
        println!("  {k}: {v}");
    }
    println!();
    let mut tw = tabwriter::TabWriter::new(Vec::new()).padding(2);
    let _ = writeln!(tw, "FIGURE\tWASMJOB\tBASELINE\tRATIO\tGOAL\tRESULT");
    for r in &report.rows {
        let _ = writeln!(
            tw,
            "{}\t{}\t{}\t{}\t{}\t{}",
            r.figure,
            r.wasmjob,
            r.baseline,
            r.ratio.map_or("-".into(), |x| format!("{x:.3}")),
            r.goal,
            match r.pass {
                Some(true) => "pass",
                Some(false) => "FAIL",
                None => "-",
            }
        );
    }
    let _ = tw.flush();
    let text = String::from_utf8(tw.into_inner().unwrap_or_default()).unwrap_or_default();
    print!("{text}");
    if !report.by_parallelism.is_empty() {
        let line: Vec<String> = report
            .by_parallelism
            .iter()
            .map(|(p, r)| format!("{p}: {r:.0}/s"))
            .collect();
        println!("\npods/s by parallelism: {}", line.join(", "));
    }
    if !report.by_size.is_empty() {
        let line: Vec<String> = report
            .by_size
            .iter()
            .map(|(s, r)| format!("{s}: {r:.0}/s"))
            .collect();
        println!("pods/s by Job size (parallelism 64): {}", line.join(", "));
    }
}

fn svg(report: &Report) -> String {
    // The raw loop is two orders of magnitude above: named in the caption, not drawn.
    let reference = None;
    let panels = [
        plot::Panel {
            title: "pods/s by parallelism",
            x_label: "parallelism (Job of tiny pods)",
            points: &report.by_parallelism,
            reference,
        },
        plot::Panel {
            title: "pods/s by Job size",
            x_label: "completions (parallelism 64)",
            points: &report.by_size,
            reference,
        },
    ];
    let mut caption: Vec<String> = report
        .machine
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    if let Some(raw) = report.raw_loop {
        caption.push(format!("raw loop {raw:.0}/s"));
    }
    plot::svg(&panels, &caption.join(", "))
}

/// What the figures were measured on.
fn machine(work: &Path) -> Vec<(String, String)> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| jobs::proc_number(&t, "MemTotal:"))
        .map_or("unknown".into(), |kb| format!("{} GiB", kb >> 20));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    vec![
        ("cpu".into(), format!("{cpu} ({cores} cores)")),
        ("memory".into(), memory),
        ("kernel".into(), kernel),
        ("state file system".into(), file_system(work)),
    ]
}

/// The type of the file system holding `path` (from `/proc/mounts`, longest mount point).
fn file_system(path: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, at, kind) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(at).then(|| (at.len(), kind.to_string()))
        })
        .max()
        .map_or("unknown".into(), |(_, k)| k)
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
