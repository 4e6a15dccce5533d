//! `wasmjob bench store`: measures the state store where a busy controller stresses it — pod
//! status transitions — with group commit (many transitions per transaction, as the manager
//! writes them) against one transaction per transition, in a scratch directory. It then
//! deletes the Job and reports the database size before and after, to show deleted Jobs
//! give their space back. Figures and ratios come from one run, so noise affects both alike.

use super::BenchArgs;
use crate::BenchError;
use std::path::Path;
use std::time::Instant;
use wasmjob_control::controller::PodToCreate;
use wasmjob_control::controller::new_pod;
use wasmjob_control::manager::RandomIdentities;
use wasmjob_control::store::{JobRecord, Store};
use wasmjob_spec::*;

const JOB: &str = "apiVersion: batch/v1
kind: Job
metadata:
  name: bench
spec:
  completions: 100000
  parallelism: 64
  template:
    metadata:
      labels: {app: bench}
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: task.wasm
        args: [--items, '1000']
        env: [{name: MODE, value: fast}]
        resources: {limits: {memory: 64Mi}}
";

/// Runs the store benchmark in a scratch directory under `work`.
pub fn bench(work: &Path, args: &BenchArgs) -> Result<(), BenchError> {
    if args.transitions == 0 || args.batch == 0 {
        return Err(BenchError::input(
            "error: --transitions and --batch must be at least 1",
        ));
    }
    let dir = work.join(format!("wasmjob-bench-{}", uuid::Uuid::new_v4()));
    let result = run(&dir, args);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run(dir: &Path, args: &BenchArgs) -> Result<(), BenchError> {
    let mut store = Store::open(dir)?;
    let loaded = load_jobs(JOB, "bench")?;
    let mut job = loaded
        .into_iter()
        .next()
        .map(|l| l.job)
        .ok_or_else(|| BenchError::runtime("no job"))?;
    let now = Time(jiff::Timestamp::now());
    defaults::assign_identity(&mut job, &uuid::Uuid::new_v4().to_string(), now);
    job.metadata.namespace = Some("default".into());
    let uid = job.metadata.uid().to_string();
    let mut record = JobRecord {
        job: job.clone(),
        backoff: Default::default(),
        base_dir: dir.to_path_buf(),
    };
    let mut b = store.batch()?;
    b.create_job(&mut record, None)?;
    b.commit()?;
    let mut pods: Vec<Pod> = (0..args.transitions)
        .map(|i| {
            let mut pod = new_pod(
                &job,
                &PodToCreate {
                    index: None,
                    failure_count: None,
                    ignored_failure_count: None,
                },
                &mut RandomIdentities,
                now,
                &|_| false,
            );
            pod.metadata.name = Some(format!("bench-{i:06}"));
            pod
        })
        .collect();
    // Every pod is written once (created), so that the measured writes are updates.
    let mut b = store.batch()?;
    for p in &mut pods {
        b.put_pod(p, &uid, false)?;
    }
    b.commit()?;
    let phases = [PHASE_RUNNING, PHASE_SUCCEEDED];
    let mut transition =
        |store: &mut Store, per_tx: usize, phase: &str| -> Result<f64, BenchError> {
            let started = Instant::now();
            for chunk in pods.chunks_mut(per_tx) {
                let mut b = store.batch()?;
                for p in chunk {
                    p.status.phase = Some(phase.to_string());
                    b.put_pod(p, &uid, false)?;
                }
                b.commit()?;
            }
            Ok(args.transitions as f64 / started.elapsed().as_secs_f64())
        };
    let grouped = transition(&mut store, args.batch, phases[0])?;
    let single = transition(&mut store, 1, phases[1])?;
    let size = |store: &Store| {
        ["state.db", "state.db-wal"]
            .iter()
            .filter_map(|f| std::fs::metadata(store.dir().join(f)).ok())
            .map(|m| m.len())
            .sum::<u64>()
    };
    let checkpoint = |store: &Store| store.checkpoint();
    checkpoint(&store)?;
    let before = size(&store);
    let mut b = store.batch()?;
    b.delete_job(&uid, false)?;
    b.commit()?;
    store.reclaim_space()?;
    checkpoint(&store)?;
    let after = size(&store);
    println!(
        "store: {} pod transitions, {}-byte pod objects",
        args.transitions,
        serde_json::to_string(&pods[0])
            .map(|s| s.len())
            .unwrap_or(0)
    );
    println!(
        "  group commit ({} per transaction): {:>10.0} transitions/s",
        args.batch, grouped
    );
    println!("  one transaction per transition:   {single:>10.0} transitions/s (baseline)");
    println!("  ratio: {:.1}x the baseline", grouped / single);
    println!(
        "  goal >= 5000 transitions/s with group commit: {}",
        if grouped >= 5000.0 { "met" } else { "NOT met" }
    );
    println!(
        "  database after the Job's {} pods: {} KiB; after deleting the Job: {} KiB",
        args.transitions,
        before / 1024,
        after / 1024
    );
    Ok(())
}
