//! The `wordfreq` example end to end: its texts, items list and real manifests (image paths
//! replaced by the module built from source) run by `wasmjob run`. Checked against what the
//! example's README promises: the work queue is drained by three workers, the item whose first
//! attempt crashes on purpose goes back to the queue, each item's counts are published once as
//! `out/<item id>/`, the merged counts equal an independent count made here on the host, and
//! the merge Job's log shows the top words. `--items FILE` replaces the annotation's list.

use crate::common;
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/wordfreq");
const IMAGE: &str = "../../target/wasm32-wasip1/release/wordfreq.wasm";
/// The item whose first attempt `job.yaml` makes crash (`--fail-first-attempt 4`).
const CRASHING_ITEM: u64 = 4;

type Counts = BTreeMap<String, u64>;

/// Copies the example's `texts/`, `items.txt`, `job.yaml` and `merge.yaml` into `env`'s folder
/// (images replaced by the module built from source); returns the two manifests' paths.
fn copy_example(env: &Env) -> (PathBuf, PathBuf) {
    let example = Path::new(EXAMPLE);
    std::fs::create_dir(env.path().join("texts")).unwrap();
    for e in std::fs::read_dir(example.join("texts")).unwrap().flatten() {
        std::fs::copy(e.path(), env.path().join("texts").join(e.file_name())).unwrap();
    }
    std::fs::copy(example.join("items.txt"), env.path().join("items.txt")).unwrap();
    let manifest = |name: &str| {
        let yaml = std::fs::read_to_string(example.join(name)).unwrap();
        assert!(yaml.contains(IMAGE), "{name} does not run {IMAGE}");
        wasmjob_tests::write_manifest(env.path(), name, &yaml.replace(IMAGE, WORDFREQ_WASM))
    };
    (manifest("job.yaml"), manifest("merge.yaml"))
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// The README's word rule, computed here on the host: runs of alphabetic characters,
/// lowercased.
fn host_counts<'a>(env: &Env, files: impl IntoIterator<Item = &'a String>) -> Counts {
    let mut counts = Counts::new();
    for file in files {
        let text = std::fs::read_to_string(env.path().join("texts").join(file)).unwrap();
        for word in text.split(|c: char| !c.is_alphabetic()) {
            if !word.is_empty() {
                *counts.entry(word.to_lowercase()).or_default() += 1;
            }
        }
    }
    assert!(counts.values().sum::<u64>() > 100, "the texts have words");
    counts
}

/// The words by count, highest first, then by word.
fn ranked(counts: &Counts) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.iter().map(|(w, n)| (w.clone(), *n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// `wasmjob run FILE --backoff-base 20ms -o json ARGS`, which must complete the Job.
fn run_complete(env: &Env, file: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--backoff-base",
        "20ms",
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    let r = env.wasmjob(&args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let job = r.json();
    assert!(
        has_condition(&job, "Complete", "CompletionsReached"),
        "{job}"
    );
    job
}

/// The published folders of `out/`: item id → (the `source` file's item, `counts.tsv`),
/// after checking that each holds just those two files and that `counts.tsv` is ranked.
fn published(out: &Path) -> BTreeMap<u64, (String, Counts)> {
    let mut units = BTreeMap::new();
    for e in std::fs::read_dir(out).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == ".staging" {
            assert_eq!(
                std::fs::read_dir(e.path()).unwrap().count(),
                0,
                "nothing left staged"
            );
            continue;
        }
        let id: u64 = name
            .parse()
            .unwrap_or_else(|_| panic!("{name} is no item id"));
        let files: BTreeSet<String> = std::fs::read_dir(e.path())
            .unwrap()
            .flatten()
            .map(|f| f.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            files,
            BTreeSet::from(["counts.tsv".to_string(), "source".to_string()]),
            "{name}/"
        );
        let source = std::fs::read_to_string(e.path().join("source")).unwrap();
        let mut counts = Counts::new();
        let mut order = Vec::new();
        for line in lines(&e.path().join("counts.tsv")) {
            let (w, n) = line.split_once('\t').expect("word<TAB>count");
            let n: u64 = n.parse().unwrap();
            assert!(counts.insert(w.to_string(), n).is_none(), "{w} twice");
            order.push((w.to_string(), n));
        }
        assert_eq!(order, ranked(&counts), "{name}/counts.tsv is ranked");
        units.insert(id, (source.trim_end().to_string(), counts));
    }
    units
}

fn queue(env: &Env, job: &str) -> Vec<Value> {
    let r = env.wasmjob(&["queue", job, "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.json().as_array().cloned().unwrap()
}

/// Checks that `out/` holds exactly one folder per item of `items`, each the right file's
/// counts, and returns the merged counts.
fn check_published(env: &Env, items: &[String]) -> Counts {
    let units = published(&env.path().join("out"));
    assert_eq!(
        units.keys().copied().collect::<Vec<_>>(),
        (0..items.len() as u64).collect::<Vec<_>>(),
        "one published folder per item"
    );
    let mut merged = Counts::new();
    for (id, (source, counts)) in units {
        let item = &items[id as usize];
        assert_eq!(&source, item, "out/{id}/source");
        assert_eq!(
            counts,
            host_counts(env, [item]),
            "out/{id}/counts.tsv ({item})"
        );
        for (w, n) in counts {
            *merged.entry(w).or_default() += n;
        }
    }
    assert_eq!(merged, host_counts(env, items), "the merged counts");
    merged
}

#[test]
fn three_workers_drain_the_queue_and_the_merge_shows_the_top_words() {
    let env = Env::new();
    let (job_yaml, merge_yaml) = copy_example(&env);
    let items = lines(&env.path().join("items.txt"));
    assert!(items.len() >= 8, "{items:?}");

    let job = run_complete(&env, &job_yaml, &[]);
    assert_eq!(job["metadata"]["name"], "wordfreq");
    assert_eq!(
        job["status"]["failed"], 1,
        "only the crash on purpose failed: {job}"
    );
    assert!(job["status"]["succeeded"].as_u64().unwrap() >= 1, "{job}");
    let merged = check_published(&env, &items);

    // Each item is Done; only the crashing one needed a second attempt.
    let pods: BTreeSet<String> = env
        .pods("batch.kubernetes.io/job-name=wordfreq")
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(pods.len() >= 3, "three workers: {pods:?}");
    let q = queue(&env, "wordfreq");
    assert_eq!(q.len(), items.len());
    for (i, entry) in q.iter().enumerate() {
        assert_eq!(entry["id"], i as u64, "{entry}");
        assert_eq!(entry["item"], items[i], "{entry}");
        assert_eq!(entry["state"], "Done", "{entry}");
        let attempts = if i as u64 == CRASHING_ITEM { 2 } else { 1 };
        assert_eq!(entry["attempts"], attempts, "{entry}");
        assert!(pods.contains(entry["pod"].as_str().unwrap()), "{entry}");
    }
    let crashed = env.wasmjob(&[
        "logs",
        "-l",
        "batch.kubernetes.io/job-name=wordfreq",
        "--prefix",
    ]);
    assert!(
        crashed.stdout.contains(&format!(
            "crashing on purpose on the first attempt at item {CRASHING_ITEM}"
        )),
        "{}",
        crashed.stdout
    );

    // The merge Job prints the totals and the top 20 words.
    let merge = run_complete(&env, &merge_yaml, &[]);
    assert_eq!(merge["metadata"]["name"], "wordfreq-merge");
    let log = env.logs("job/wordfreq-merge");
    let total: u64 = merged.values().sum();
    assert!(
        log.contains(&format!(
            "{} files, {total} words, {} distinct; the top 20:",
            items.len(),
            merged.len()
        )),
        "{log}"
    );
    let top: Vec<(String, u64)> = log
        .lines()
        .skip_while(|l| !l.contains("the top 20"))
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 3, "rank count word: {l:?}");
            (f[2].to_string(), f[1].parse().unwrap())
        })
        .collect();
    let expected: Vec<(String, u64)> = ranked(&merged).into_iter().take(20).collect();
    assert_eq!(top, expected, "{log}");
    assert_eq!(top[0].0, "the", "{log}");
}

#[test]
fn items_flag_counts_only_the_listed_files_and_published_folders_stay() {
    let env = Env::new();
    let (job_yaml, _) = copy_example(&env);
    let few: Vec<String> = ["snow.txt", "bees.txt", "garden.txt"]
        .map(String::from)
        .into();
    std::fs::write(env.path().join("few.txt"), few.join("\n") + "\n").unwrap();

    let job = run_complete(&env, &job_yaml, &["--items", "few.txt"]);
    assert_eq!(job["status"]["failed"], Value::Null, "no crash: {job}");
    check_published(&env, &few);
    let q = queue(&env, "wordfreq");
    let listed: Vec<&str> = q.iter().map(|i| i["item"].as_str().unwrap()).collect();
    assert_eq!(listed, few, "the queue holds the --items list only");
    assert!(q.iter().all(|i| i["state"] == "Done" && i["attempts"] == 1));

    // A re-run with the full list over the same out/: published folders are never
    // overwritten (0..2 keep the first run's files), the other items are published.
    run_complete(&env, &job_yaml, &["--replace"]);
    let units = published(&env.path().join("out"));
    let all = lines(&env.path().join("items.txt"));
    assert_eq!(units.len(), all.len());
    for (id, (source, _)) in &units {
        let expected = if (*id as usize) < few.len() {
            &few[*id as usize]
        } else {
            &all[*id as usize]
        };
        assert_eq!(source, expected, "out/{id}");
    }
}
