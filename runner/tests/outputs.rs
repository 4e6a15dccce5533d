//! Atomic outputs (a `csi` volume with driver `outputs.wasmjob.dev`) end to end: what a
//! succeeded pod publishes, what a failed, restarted, stopped or crashed attempt leaves behind
//! (nothing), and that a published index is never overwritten.

use crate::common;
use common::*;
use std::path::Path;
use std::time::Duration;

fn job(name: &str, spec: &str, restart: &str, args: &str) -> String {
    format!(
        r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
{spec}
  template:
    spec:
      restartPolicy: {restart}
      volumes:
      - name: results
        csi:
          driver: outputs.wasmjob.dev
          volumeAttributes:
            path: out/{name}
      containers:
      - name: task
        image: TASKER
        args: [{args}]
        volumeMounts:
        - name: results
          mountPath: /results
"#
    )
}

/// The published units of an output directory, and each one's files (relative paths, sorted)
/// with their contents.
fn published(dir: &Path) -> Vec<(String, Vec<(String, String)>)> {
    fn files(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                files(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut units: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.file_name() != ".staging")
        .map(|e| {
            let mut list = Vec::new();
            files(&e.path(), &e.path(), &mut list);
            list.sort();
            (e.file_name().to_string_lossy().into_owned(), list)
        })
        .collect();
    units.sort();
    units
}

/// Files left in `.staging` (staging folders and half-made publishes).
fn staged(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join(".staging"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn each_index_publishes_its_files_once_it_succeeds() {
    let env = Env::new();
    let r = env.run(&job(
        "tiles",
        "  completions: 4\n  parallelism: 2\n  completionMode: Indexed",
        "Never",
        r#""context", "write", "tile.txt", "tile $(JOB_COMPLETION_INDEX)", "write", "meta/size", "8""#,
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = env.path().join("out/tiles");
    let units = published(&out);
    assert_eq!(units.len(), 4, "{units:?}");
    for (i, (unit, files)) in units.iter().enumerate() {
        assert_eq!(unit, &i.to_string());
        assert_eq!(
            files,
            &vec![
                ("meta/size".to_string(), "8".to_string()),
                ("tile.txt".to_string(), format!("tile {i}")),
            ]
        );
    }
    assert!(staged(&out).is_empty(), "{:?}", staged(&out));
    // The task learnt where its outputs are.
    assert!(env.logs("job/tiles").contains("outputs=Some(\"/results\")"));
    let d = env.wasmjob(&["describe", "job", "tiles"]);
    assert!(d.stdout.contains("Driver:"), "{}", d.stdout);
    assert!(d.stdout.contains("outputs.wasmjob.dev"), "{}", d.stdout);
    assert!(d.stdout.contains("path=out/tiles"), "{}", d.stdout);
}

#[test]
fn a_failed_pod_publishes_nothing() {
    let env = Env::new();
    let r = env.run(&job(
        "broken",
        "  backoffLimit: 1",
        "Never",
        r#""write", "half.txt", "partial", "exit", "1""#,
    ));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json()["status"]["failed"], 2);
    let out = env.path().join("out/broken");
    assert!(published(&out).is_empty(), "{:?}", published(&out));
    assert!(staged(&out).is_empty(), "{:?}", staged(&out));
}

#[test]
fn a_restarted_container_starts_with_empty_staging() {
    let env = Env::new();
    let r = env.run(&job(
        "retry",
        "  backoffLimit: 3",
        "OnFailure",
        r#""write-attempt", "exit-if-attempt", "1", "1""#,
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = env.path().join("out/retry");
    let units = published(&out);
    assert_eq!(units.len(), 1, "{units:?}");
    assert_eq!(
        units[0].1,
        vec![("attempt-2.txt".to_string(), String::new())],
        "only the succeeded attempt's files"
    );
}

#[test]
fn a_published_index_is_never_overwritten() {
    let env = Env::new();
    let out = env.path().join("out/again");
    std::fs::create_dir_all(out.join("0")).unwrap();
    std::fs::write(out.join("0/result.txt"), "first run").unwrap();
    let r = env.run(&job(
        "again",
        "  completions: 2\n  completionMode: Indexed",
        "Never",
        r#""write", "result.txt", "second run""#,
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["status"]["succeeded"], 2);
    assert_eq!(
        published(&out),
        vec![
            ("0".into(), vec![("result.txt".into(), "first run".into())]),
            ("1".into(), vec![("result.txt".into(), "second run".into())]),
        ]
    );
    let events = env.wasmjob(&["get", "events"]);
    assert!(
        events.stdout.contains("OutputsNotPublished")
            && events.stdout.contains("was published before"),
        "{}",
        events.stdout
    );
}

/// The staged file of the running pod, once it is there.
fn staged_file(out: &Path, name: &str) -> bool {
    staged(out)
        .iter()
        .any(|pod| out.join(".staging").join(pod).join(name).exists())
}

#[test]
fn killing_a_pod_mid_write_leaves_no_partial_file() {
    let env = Env::new();
    let serve = env.serve(&[]);
    let file = env.manifest(
        "slow.yaml",
        &job(
            "slow",
            "  completions: 1\n  completionMode: Indexed\n  backoffLimit: 0",
            "Never",
            r#""write", "part.txt", "half of it", "sleep", "60000""#,
        ),
    );
    let applied = env.wasmjob(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let out = env.path().join("out/slow");
    wait_for("the staged file", Duration::from_secs(30), || {
        staged_file(&out, "part.txt")
    });
    // A pod may start a moment before it is stored (docs/reference.md).
    wait_for("the pod to be stored", Duration::from_secs(30), || {
        !env.pods("batch.kubernetes.io/job-name=slow").is_empty()
    });
    let pods = env.pods("batch.kubernetes.io/job-name=slow");
    let name = pods[0]["metadata"]["name"].as_str().unwrap().to_string();
    let deleted = env.wasmjob(&["delete", "pod", &name]);
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    let waited = env.wasmjob(&[
        "wait",
        "--for=condition=failed",
        "job/slow",
        "--timeout",
        "30s",
    ]);
    assert_eq!(waited.code, 0, "{}{}", waited.stderr, serve.log());
    assert!(published(&out).is_empty(), "{:?}", published(&out));
    assert!(staged(&out).is_empty(), "{:?}", staged(&out));
    assert_eq!(serve.terminate(), 0);
}

#[test]
fn a_crash_mid_write_leaves_no_partial_file() {
    let env = Env::new();
    let serve = env.serve(&[]);
    let file = env.manifest(
        "crash.yaml",
        &job(
            "crash",
            "  completions: 1\n  completionMode: Indexed\n  backoffLimit: 0",
            "Never",
            r#""write", "part.txt", "half of it", "sleep", "60000""#,
        ),
    );
    let applied = env.wasmjob(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let out = env.path().join("out/crash");
    wait_for("the staged file", Duration::from_secs(30), || {
        staged_file(&out, "part.txt")
    });
    // A pod may start a moment before it is stored (docs/reference.md): killed before, the
    // next controller would not know it.
    wait_for("the pod to be stored", Duration::from_secs(30), || {
        !env.pods("batch.kubernetes.io/job-name=crash").is_empty()
    });
    serve.kill9();
    // The next controller finds the pod lost: the Job fails (backoffLimit 0), and the attempt
    // it had staged is gone.
    let serve = env.serve(&[]);
    let waited = env.wasmjob(&[
        "wait",
        "--for=condition=failed",
        "job/crash",
        "--timeout",
        "30s",
    ]);
    assert_eq!(waited.code, 0, "{}{}", waited.stderr, serve.log());
    assert!(published(&out).is_empty(), "{:?}", published(&out));
    assert!(staged(&out).is_empty(), "{:?}", staged(&out));
    assert_eq!(serve.terminate(), 0);
}

#[test]
fn an_outputs_volume_must_use_the_wasmjob_driver() {
    let env = Env::new();
    let yaml = job("bad", "", "Never", r#""exit", "0""#)
        .replace("driver: outputs.wasmjob.dev", "driver: ebs.csi.aws.com");
    let r = env.run(&yaml);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "spec.template.spec.volumes[0].csi.driver: Unsupported value: \"ebs.csi.aws.com\""
        ),
        "{}",
        r.stderr
    );
    let yaml =
        job("bad", "", "Never", r#""exit", "0""#).replace("path: out/bad", "path: ../escape");
    let r = env.run(&yaml);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("volumeAttributes.path"), "{}", r.stderr);
}
