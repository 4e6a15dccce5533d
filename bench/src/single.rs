//! Figures of one pod or one guest: `wasmjob run`'s start-up latency (warm and cold module
//! cache) against `wasmtime run`, the cost of epoch checks, how soon a spinning pod stops after
//! its deadline, and pi with and without fuel against `wasmtime run`.

use super::*;

pub fn latency(
    sizes: &Sizes,
    work: &Path,
    tiny: &Path,
    report: &mut Report,
) -> Result<(), BenchError> {
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
    // The warm runs alternate with `wasmtime run`'s (after one of those to warm its cache).
    let (warm, base) = match baselines::wasmtime_cli() {
        Some(wt) => {
            let wt_run = || {
                let mut c = Command::new(&wt);
                c.arg("run").arg(tiny);
                c
            };
            baselines::time_process(&mut wt_run()).map_err(fail("wasmtime run"))?;
            let m = baselines::interleaved_medians(sizes.latency_runs, &[&run, &wt_run])
                .map_err(fail("wasmjob run and wasmtime run"))?;
            (m[0], Some(m[1]))
        }
        None => (
            baselines::median_time(sizes.latency_runs, run).map_err(fail("wasmjob run"))?,
            None,
        ),
    };
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let mut row = Row::new(
        "latency_warm",
        "latency: `wasmjob run` of a one-pod Job, process start to exit, warm module cache (median, runs alternating with the baseline's; baseline: `wasmtime run`)",
    );
    row.wasmjob = ms(warm);
    row.higher_is_better = false;
    row.goal = "<= 1.3".into();
    match base {
        Some(base) => {
            row.baseline = ms(base);
            let ratio = warm.as_secs_f64() / base.as_secs_f64();
            row.ratio = Some(ratio);
            row.pass = Some(ratio <= 1.3);
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

pub async fn guest(
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
pub fn after_deadline(o: &Outcome, deadline: u64, end: Option<jiff::Timestamp>) -> Option<f64> {
    let start = o.job.status().start_time?.0;
    let end = end?;
    let d = end.duration_since(start).as_secs_f64();
    Some(d - deadline as f64)
}

pub fn failed_by_deadline(o: &Outcome) -> bool {
    o.job
        .status()
        .true_condition(wasmjob_spec::COND_FAILED)
        .and_then(|c| c.reason.as_deref())
        == Some("DeadlineExceeded")
}
