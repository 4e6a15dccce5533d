//! Many pods at once: host memory and threads per sleeping pod, and how soon 1000 sleeping
//! pods stop at their Job's deadline.

use super::single::{after_deadline, failed_by_deadline};
use super::*;

pub async fn concurrency(
    sizes: &Sizes,
    work: &Path,
    report: &mut Report,
) -> Result<(), BenchError> {
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
    row.goal = "<= 1 s (both)".into();
    row.higher_is_better = false;
    row.pass = Some(
        stop.is_some_and(|s| s <= 1.0)
            && failed.is_some_and(|f| f <= 1.0)
            && failed_by_deadline(&o),
    );
    report.rows.push(row);
    Ok(())
}
