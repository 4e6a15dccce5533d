//! `wasmjob bench million`: an Indexed Job of a million tiny pods (20,000 with `--quick`), in a
//! process of its own — this binary again, with `--million-child` — so that its peak resident
//! memory (`VmHWM`) is the Job's and nothing else's. Its pods/s are compared with the 100,000-pod
//! Indexed Job's of the throughput part (measured in this run; run alone, this part measures
//! one too): a Job's rate must not fall as it grows, and its memory must follow the pods in
//! flight, not the Job's size.

use super::*;

/// Pods of the large Job.
fn pods(quick: bool) -> usize {
    if quick { 20_000 } else { 1_000_000 }
}

/// What the child reports on its one line of output.
#[derive(serde::Serialize, serde::Deserialize)]
struct Measured {
    pods_per_s: f64,
    peak_rss: u64,
    completed_indexes: String,
}

/// The child: runs the large Job in this process and prints what it measured.
pub async fn child(args: &BenchArgs, work: &Path) -> Result<(), BenchError> {
    let n = pods(args.quick);
    let tiny = write_guest(work, "tiny", guests::TINY)?;
    let sb = sandbox(1000)?;
    let yaml = job_yaml("million", &tiny, Some(n), 64, "  completionMode: Indexed\n");
    let o = run_job(work, &sb, &yaml, None, 1000, None).await?;
    expect_complete(&o, n)?;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let m = Measured {
        pods_per_s: per_second(n, o.elapsed),
        peak_rss: jobs::proc_number(&status, "VmHWM:").unwrap_or(0) * 1024,
        completed_indexes: o.job.status().completed_indexes.clone().unwrap_or_default(),
    };
    println!("{}", serde_json::to_string(&m).unwrap_or_default());
    Ok(())
}

/// The rows: the large Job's pods/s against the 100,000-pod Indexed Job's, and its peak RSS.
pub async fn million(
    args: &BenchArgs,
    sizes: &Sizes,
    work: &Path,
    report: &mut Report,
) -> Result<(), BenchError> {
    let n = pods(args.quick);
    let base = match report.indexed_rate {
        Some(r) => r,
        None => {
            let m = sizes.throughput;
            status(&format!(
                "Indexed Job of {m} (parallelism 64), the baseline"
            ));
            let tiny = write_guest(work, "tiny", guests::TINY)?;
            let yaml = job_yaml("base", &tiny, Some(m), 64, "  completionMode: Indexed\n");
            let o = run_job(work, &sandbox(1000)?, &yaml, None, 1000, None).await?;
            expect_complete(&o, m)?;
            per_second(m, o.elapsed)
        }
    };
    status(&format!(
        "Indexed Job of {n} (parallelism 64), in a process of its own"
    ));
    let exe = std::env::current_exe()?;
    let dir = work.join("million");
    std::fs::create_dir_all(&dir)?;
    let mut cmd = Command::new(&exe);
    cmd.args(["bench", "million", "--million-child", "--dir"])
        .arg(&dir)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    if args.quick {
        cmd.arg("--quick");
    }
    let out = cmd
        .output()
        .map_err(|e| BenchError::runtime(format!("error: cannot run {}: {e}", exe.display())))?;
    if !out.status.success() {
        return Err(BenchError::runtime(format!(
            "error: the {n}-pod Job's process failed ({})",
            out.status
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let m: Measured = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| {
            BenchError::runtime(format!("error: no figures from the {n}-pod Job: {text}"))
        })?;
    let mib = m.peak_rss as f64 / (1u64 << 20) as f64;
    let mut row = Row::new(
        "million_rate",
        format!(
            "throughput, Indexed Job of {n} pods, parallelism 64, own process (pods/s; baseline: the {}-pod Indexed Job) [peak RSS {mib:.0} MiB; completedIndexes {:?}]",
            sizes.throughput, m.completed_indexes
        ),
    );
    row.wasmjob = rate(m.pods_per_s);
    row.baseline = rate(base);
    row.ratio = Some(m.pods_per_s / base);
    row.goal = ">= 0.9".into();
    row.pass = Some(m.pods_per_s >= 0.9 * base);
    report.rows.push(row);
    let mut row = Row::new(
        "million_memory",
        format!("memory: peak resident memory of the process running the {n}-pod Job (MiB)"),
    );
    row.wasmjob = format!("{mib:.0} MiB");
    row.higher_is_better = false;
    row.goal = "<= 256 MiB".into();
    row.pass = Some(mib <= 256.0);
    report.rows.push(row);
    Ok(())
}
