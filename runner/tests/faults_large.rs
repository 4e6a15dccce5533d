//! SIGKILL of a `serve` running a 100,000-pod Indexed Job, at least ten times at random
//! moments (seeded: `FAULTS_SEED` repeats a run). Whatever the kills cut — a group commit, a
//! pod started before it was stored, a controller taking over a Job of thousands of stored
//! pods — the Job ends with `status.succeeded == completions`, `completedIndexes` whole,
//! exactly one Succeeded pod per index, and every completed index's log readable. Pods and
//! logs are read through the store's own API (a listing of 100,000 pods through the CLI would
//! be the test's cost, not the product's).

use crate::common;
use crate::faults::{jobs_by_name, seed};

use common::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use wasmjob::store::Store;

const COMPLETIONS: i64 = 100_000;

const LARGE: &str = "apiVersion: batch/v1
kind: Job
metadata: {name: large}
spec:
  completions: 100000
  parallelism: 64
  completionMode: Indexed
  backoffLimit: 1000000
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: PROBE, args: [print, 'index-$(JOB_COMPLETION_INDEX)']}]
";

#[test]
fn sigkill_during_a_100000_pod_job_counts_every_index_once() {
    let seed = seed();
    println!("FAULTS_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let env = Env::new();
    let file = env.manifest("large.yaml", LARGE);
    let mut serve = env.serve(&[]);
    let r = env.wasmjob(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let succeeded = || {
        let jobs = jobs_by_name(&env.wasmjob(&["get", "jobs", "-o", "json"]));
        jobs["large"]["status"]["succeeded"].as_i64().unwrap_or(0)
    };
    let mut kills = 0;
    let mut progress = Vec::new();
    while kills < 10 {
        std::thread::sleep(Duration::from_millis(rng.u64(300..1500)));
        serve.kill9();
        kills += 1;
        progress.push(succeeded());
        serve = env.serve(&[]);
    }
    println!("{kills} kills at {progress:?} succeeded (seed {seed})");
    assert!(
        progress.last().is_some_and(|n| *n < COMPLETIONS),
        "the Job ended before the last kill (seed {seed}): {progress:?}"
    );
    let started = Instant::now();
    let job = loop {
        let jobs = jobs_by_name(&env.wasmjob(&["get", "jobs", "-o", "json"]));
        if crate::faults::finished(&jobs["large"]) {
            break jobs["large"].clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the Job did not finish (seed {seed}): {}\n{}",
            jobs["large"]["status"],
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        has_condition(&job, "Complete", "CompletionsReached"),
        "seed {seed}: {}",
        job["status"]
    );
    assert_eq!(job["status"]["succeeded"], COMPLETIONS, "seed {seed}");
    assert_eq!(job["status"]["completedIndexes"], "0-99999", "seed {seed}");
    assert_eq!(
        job["status"]["active"].as_i64().unwrap_or(0),
        0,
        "seed {seed}"
    );

    let store = Store::open(&env.state()).unwrap();
    let uid = job["metadata"]["uid"].as_str().unwrap();
    let pods = store.pods_of_job(uid).unwrap();
    let mut succeeded_by_index: BTreeMap<i64, Vec<&wasmjob_spec::Pod>> = BTreeMap::new();
    let mut failed = 0;
    for p in &pods {
        match p.phase() {
            "Succeeded" => {
                let index: i64 = p.metadata.annotations["batch.kubernetes.io/job-completion-index"]
                    .parse()
                    .unwrap();
                succeeded_by_index.entry(index).or_default().push(p);
            }
            "Failed" => {
                failed += 1;
                assert!(
                    p.condition_true("DisruptionTarget"),
                    "seed {seed}: a failure not from a kill: {}",
                    p.metadata.name()
                );
            }
            other => panic!("seed {seed}: pod {} still {other}", p.metadata.name()),
        }
    }
    assert_eq!(
        succeeded_by_index.len() as i64,
        COMPLETIONS,
        "seed {seed}: every index succeeded"
    );
    let twice: Vec<_> = succeeded_by_index
        .iter()
        .filter(|(_, ps)| ps.len() > 1)
        .map(|(i, _)| *i)
        .collect();
    assert!(
        twice.is_empty(),
        "seed {seed}: indexes succeeded twice: {twice:?}"
    );
    assert_eq!(
        job["status"]["failed"].as_i64().unwrap_or(0),
        failed,
        "seed {seed}: the failed pods, each counted once"
    );
    println!("{failed} pods lost to the kills (seed {seed})");
    // Every completed index's log, as `wasmjob logs` reads it (stored with the pod, or in its
    // file).
    for (index, ps) in &succeeded_by_index {
        let source =
            wasmjob::ops::logs::Source::of(&store, ps[0].clone(), "main".into(), false).unwrap();
        let lines = wasmjob::ops::logs::Reader::plain(source, false)
            .read_all()
            .unwrap();
        let text: Vec<u8> = lines.iter().flat_map(|l| l.raw()).collect();
        assert_eq!(
            String::from_utf8_lossy(&text),
            format!("index-{index}\n"),
            "seed {seed}: the log of index {index}"
        );
    }
    // A sample through the CLI too.
    let sample = succeeded_by_index[&(COMPLETIONS - 1)][0].metadata.name();
    assert_eq!(env.logs(sample), format!("index-{}\n", COMPLETIONS - 1));
    assert_eq!(serve.terminate(), 0);
}
