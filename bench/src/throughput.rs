//! The throughput figures: pods/s of NonIndexed, Indexed and work-queue Jobs against a raw
//! loop of the same instances, against one native process per task and `wasmtime run` per task,
//! the reconcile cost per pod by Job size, and pods/s by parallelism and by Job size.

use super::*;

pub async fn throughput(
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
            if !queue {
                row.goal = ">= 40000/s and >= 0.15".into();
                row.pass = Some(pods_per_s >= 40_000.0 && pods_per_s / raw >= 0.15);
            } else {
                row.goal = "reported".into();
            }
            if key == "throughput_indexed" {
                let ci = o.job.status().completed_indexes.clone().unwrap_or_default();
                row.figure += &format!(" [completedIndexes {ci:?}]");
                report.indexed_rate = Some(pods_per_s);
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
    // pods/s of the smallest Job against the largest: a Job's rate must not fall as it grows.
    if let (Some(small), Some(large)) = (by_size.first(), by_size.last())
        && by_size.len() > 1
    {
        let mut row = Row::new(
            "scaling_rate",
            format!(
                "scaling: pods/s of a Job of {} pods (baseline: a Job of {} pods)",
                large.0, small.0
            ),
        );
        row.wasmjob = rate(large.1);
        row.baseline = rate(small.1);
        row.ratio = Some(large.1 / small.1);
        row.goal = ">= 0.83 (within 1.2x)".into();
        row.pass = Some(large.1 * 1.2 >= small.1);
        rows.push(row);
    }
    for (size, _, per_pod_ns, stats) in &by_size {
        let mut row = Row::new(
            &format!("scaling_{size}"),
            format!(
                "controller: reconcile cost per pod in flight and sync, Job of {size} pods (ns; baseline: smallest Job)"
            ),
        );
        let syncs = stats.syncs.max(1) as f64;
        row.wasmjob = format!(
            "{per_pod_ns:.0} ns ({:.1} µs per sync over {:.0} pods in flight; the whole sync {:.1} µs per pod report; the writer {:.1} µs per pod written, {:.0} pods per commit; {:.2} turns of the manager's loop per pod)",
            stats.reconcile_time.as_secs_f64() * 1e6 / syncs,
            stats.reconciled_pods as f64 / syncs,
            stats.sync_time.as_secs_f64() * 1e6 / stats.pod_updates.max(1) as f64,
            stats.write_time.as_secs_f64() * 1e6 / stats.pods_written.max(1) as f64,
            stats.pods_written as f64 / stats.commits.max(1) as f64,
            stats.turns as f64 / (*size).max(1) as f64,
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
