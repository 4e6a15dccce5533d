//! Hostile guests, part 2: files. Hard links and renames that try to leave a volume or a
//! readOnly mount, an `emptyDir` filled past its `sizeLimit` (the pod is evicted, as the
//! kubelet evicts it), file floods and very long names. (`sandbox_escape.rs` covers absolute
//! paths, `..`, symlinks and readOnly writes.) Host files are checked byte for byte after each
//! attack.

use crate::common;
use crate::hostile;
use common::*;
use hostile::*;
use serde_json::{Value, json};
use std::time::Duration;

/// A probe Job with `volumes` and the first container's `mounts`.
fn with_volumes(name: &str, args: &[&str], volumes: Value, mounts: Value) -> Value {
    let mut j = job(name, "PROBE", args);
    set(&mut j, &format!("{POD}/volumes"), volumes);
    set(&mut j, &format!("{C0}/volumeMounts"), mounts);
    j
}

fn host_path(name: &str, dir: &std::path::Path) -> Value {
    json!({"name": name, "hostPath": {"path": dir.to_str().unwrap()}})
}

fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn hard_links_cannot_reach_out_of_a_volume() {
    let env = Env::new();
    let secret = env.path().join("secret.txt");
    std::fs::write(&secret, "top secret").unwrap();
    let data = env.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("inside.txt"), "fine").unwrap();
    let volumes = json!([host_path("d", &data)]);
    let mounts = json!([{"name": "d", "mountPath": "/data"}]);
    for (name, from, to) in [
        ("link-dotdot", "/data/../secret.txt", "/data/stolen"),
        ("link-absolute", secret.to_str().unwrap(), "/data/stolen"),
        ("link-out", "/data/inside.txt", "/data/../planted"),
        ("link-root", "/data/inside.txt", "/planted"),
    ] {
        let j = with_volumes(
            name,
            &["hardlink", from, to],
            volumes.clone(),
            mounts.clone(),
        );
        let o = run_job(&env, &j, &[]);
        assert_eq!(
            o.exit_code(),
            1,
            "{name}: the link must fail\n{}",
            o.context()
        );
    }
    // A link inside the volume works, so the step itself is sound.
    let j = with_volumes(
        "link-inside",
        &[
            "hardlink",
            "/data/inside.txt",
            "/data/again.txt",
            "read",
            "/data/again.txt",
        ],
        volumes,
        mounts,
    );
    let o = run_job(&env, &j, &[]);
    assert_eq!(o.exit_code(), 0, "{}", o.context());
    assert_eq!(env.logs("job/link-inside"), "fine");
    assert_eq!(names_in(&data), ["again.txt", "inside.txt"]);
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "top secret");
    assert!(!env.path().join("planted").exists());
}

#[test]
fn renames_across_mounts_respect_read_only() {
    let env = Env::new();
    let (ro, rw) = (env.path().join("ro"), env.path().join("rw"));
    std::fs::create_dir_all(&ro).unwrap();
    std::fs::create_dir_all(&rw).unwrap();
    std::fs::write(ro.join("keep.txt"), "kept").unwrap();
    std::fs::write(rw.join("mine.txt"), "mine").unwrap();
    let volumes = json!([host_path("ro", &ro), host_path("rw", &rw)]);
    let mounts = json!([
        {"name": "ro", "mountPath": "/ro", "readOnly": true},
        {"name": "rw", "mountPath": "/rw"}
    ]);
    for (name, from, to) in [
        ("out-of-ro", "/ro/keep.txt", "/rw/taken.txt"),
        ("into-ro", "/rw/mine.txt", "/ro/planted.txt"),
        ("out-of-volume", "/rw/mine.txt", "/rw/../planted.txt"),
    ] {
        let j = with_volumes(name, &["rename", from, to], volumes.clone(), mounts.clone());
        let o = run_job(&env, &j, &[]);
        assert_eq!(
            o.exit_code(),
            1,
            "{name}: the rename must fail\n{}",
            o.context()
        );
    }
    assert_eq!(names_in(&ro), ["keep.txt"]);
    assert_eq!(names_in(&rw), ["mine.txt"]);
    assert_eq!(
        std::fs::read_to_string(ro.join("keep.txt")).unwrap(),
        "kept"
    );
    assert!(!env.path().join("planted.txt").exists());
    // Between two writable places a rename works.
    let j = with_volumes(
        "rw-rename",
        &[
            "mkdir",
            "/rw/sub",
            "rename",
            "/rw/mine.txt",
            "/rw/sub/moved.txt",
        ],
        volumes,
        mounts,
    );
    assert_eq!(run_job(&env, &j, &[]).exit_code(), 0);
    assert_eq!(
        std::fs::read_to_string(rw.join("sub/moved.txt")).unwrap(),
        "mine"
    );
}

fn scratch(name: &str, args: &[&str], size_limit: Option<&str>) -> Value {
    let mut empty_dir = json!({});
    if let Some(l) = size_limit {
        empty_dir = json!({"sizeLimit": l});
    }
    with_volumes(
        name,
        args,
        json!([{"name": "scratch", "emptyDir": empty_dir}]),
        json!([{"name": "scratch", "mountPath": "/s"}]),
    )
}

/// The pod is evicted with the kubelet's reason, message and `DisruptionTarget` condition, and
/// its volume is removed; its container was stopped.
fn assert_evicted(env: &Env, o: &Outcome, limit: &str) {
    assert_evicted_pod(env, o, limit);
    assert_eq!(o.reason(), "Stopped", "{}", o.context());
}

/// The pod is evicted with the kubelet's reason, message and `DisruptionTarget` condition, its
/// Job fails, and its volume is removed.
fn assert_evicted_pod(env: &Env, o: &Outcome, limit: &str) {
    assert_eq!(o.run.code, 1, "{}", o.context());
    let status = &o.pods[0]["status"];
    assert_eq!(status["phase"], "Failed", "{}", o.context());
    assert_eq!(status["reason"], "Evicted", "{}", o.context());
    let message = format!("Usage of EmptyDir volume \"scratch\" exceeds the limit \"{limit}\". ");
    assert_eq!(status["message"], message.as_str(), "{}", o.context());
    let disruption = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "DisruptionTarget")
        .unwrap_or_else(|| panic!("no DisruptionTarget condition\n{}", o.context()));
    assert_eq!(disruption["status"], "True");
    assert_eq!(disruption["reason"], "TerminationByKubelet");
    assert!(
        has_condition(&o.job, "Failed", "BackoffLimitExceeded"),
        "{}",
        o.context()
    );
    let pods_dir = env.state().join("pods");
    let left = std::fs::read_dir(&pods_dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "the evicted pod's emptyDir is removed");
}

#[test]
fn filling_an_empty_dir_past_its_size_limit_evicts_the_pod() {
    let env = Env::new();
    let o = run_job(
        &env,
        &scratch("filler", &["fill", "/s/big", "0"], Some("8Mi")),
        &[],
    );
    assert_evicted(&env, &o, "8Mi");
    assert!(o.run.elapsed < Duration::from_secs(30), "{}", o.context());
}

/// Issue 16: a guest that writes past its limit and exits before the next measurement (every
/// 50 ms) is evicted all the same, by the last measurement when its containers end; its
/// container ended well, its outputs are not published, the pod has failed.
#[test]
fn a_guest_that_overshoots_its_size_limit_and_exits_at_once_is_evicted() {
    let env = Env::new();
    let o = run_job(
        &env,
        &scratch("overshoot", &["fill", "/s/big", "2"], Some("1Mi")),
        &[],
    );
    assert_evicted_pod(&env, &o, "1Mi");
    assert_eq!(o.exit_code(), 0, "{}", o.context());
    assert_eq!(o.reason(), "Completed", "{}", o.context());
}

#[test]
fn a_flood_of_empty_files_counts_against_the_size_limit() {
    let env = Env::new();
    // 4 KiB each at least: 1Mi is reached after 256 files, long before a million.
    let o = run_job(
        &env,
        &scratch("files", &["files", "/s", "0"], Some("1Mi")),
        &[],
    );
    assert_evicted(&env, &o, "1Mi");
}

#[test]
fn within_its_size_limit_an_empty_dir_works() {
    let env = Env::new();
    let j = scratch(
        "small",
        &["fill", "/s/f", "2", "files", "/s", "100", "print", "done"],
        Some("64Mi"),
    );
    let o = run_job(&env, &j, &[]);
    assert_eq!(o.run.code, 0, "{}", o.context());
    assert_eq!(env.logs("job/small"), "done\n");
}

#[test]
fn thousands_of_files_are_removed_with_their_pod() {
    let env = Env::new();
    let j = scratch("many", &["files", "/s", "5000", "ls", "/s"], None);
    let o = run_job(&env, &j, &[]);
    assert_eq!(o.run.code, 0, "{}", o.context());
    assert_eq!(env.logs("job/many").lines().count(), 5000);
    let pods_dir = env.state().join("pods");
    let left = std::fs::read_dir(&pods_dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "the emptyDir with its files is removed");
}

#[test]
fn very_long_file_names_are_an_error_for_the_guest_only() {
    let env = Env::new();
    let j = scratch(
        "long-names",
        &[
            "long-name",
            "/s",
            "255",
            "long-name",
            "/s",
            "256",
            "long-name",
            "/s",
            "100000",
            "ls",
            "/s",
        ],
        None,
    );
    let o = run_job(&env, &j, &[]);
    assert_eq!(o.run.code, 0, "{}", o.context());
    let log = env.logs("job/long-names");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines[0], "created", "{log}");
    assert!(lines[1].starts_with("error: "), "{log}");
    assert!(lines[2].starts_with("error: "), "{log}");
    assert_eq!(lines[3], "a".repeat(255));
    assert_eq!(lines.len(), 4);
}
