//! A guest reaches only its volumes (issue 2): absolute paths outside them, `..`, symlinks that
//! point out of a hostPath, and writes to a readOnly mount all fail, and the host files stay as
//! they were. Each guest exits 0 only if every forbidden access failed.

use crate::common;
use common::*;

fn job(name: &str, args: &[&str], volumes: &str, mounts: &str) -> String {
    let args: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}}}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      volumes: {volumes}\n      containers:\n      - name: c\n        image: PROBE\n        args: [{}]\n        volumeMounts: {mounts}\n",
        args.join(", ")
    )
}

#[test]
fn host_files_outside_volumes_are_unreachable() {
    let env = Env::new();
    let secret = env.path().join("secret.txt");
    std::fs::write(&secret, "top secret").unwrap();
    let data = env.path().join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("inside.txt"), "fine").unwrap();
    std::os::unix::fs::symlink(&secret, data.join("abs-link")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", data.join("rel-link")).unwrap();
    std::os::unix::fs::symlink("/etc", data.join("etc-link")).unwrap();
    let secret_abs = secret.to_str().unwrap().to_string();
    let r = env.run(&job(
        "escape",
        &[
            "read",
            "/data/inside.txt",
            "fail-if-exists",
            &secret_abs,
            "fail-if-exists",
            "/etc/passwd",
            "fail-if-exists",
            "/data/../secret.txt",
            "fail-if-exists",
            "/data/sub/../../secret.txt",
            "fail-if-exists",
            "/data/abs-link",
            "fail-if-exists",
            "/data/rel-link",
            "fail-if-exists",
            "/data/etc-link/passwd",
            "fail-if-exists",
            "../secret.txt",
            "print",
            "contained",
        ],
        &format!("[{{name: d, hostPath: {{path: {}}}}}]", data.display()),
        "[{name: d, mountPath: /data}]",
    ));
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, env.logs("job/escape"));
    assert_eq!(env.logs("job/escape"), "finecontained\n");
}

#[test]
fn writes_through_symlinks_and_dotdot_do_not_leave_the_volume() {
    let env = Env::new();
    let outside = env.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let data = env.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::os::unix::fs::symlink(&outside, data.join("out")).unwrap();
    let r = env.run(&job(
        "writer",
        &["write", "/data/out/planted", "x", "print", "unexpected"],
        &format!("[{{name: d, hostPath: {{path: {}}}}}]", data.display()),
        "[{name: d, mountPath: /data}]",
    ));
    assert_eq!(r.code, 1, "the write must fail");
    let r2 = env.run(&job(
        "dotdot",
        &["write", "/data/../planted", "x"],
        &format!("[{{name: d, hostPath: {{path: {}}}}}]", data.display()),
        "[{name: d, mountPath: /data}]",
    ));
    assert_eq!(r2.code, 1, "the write must fail");
    assert!(!outside.join("planted").exists());
    assert!(!env.path().join("planted").exists());
    assert!(std::fs::read_dir(&outside).unwrap().next().is_none());
}

#[test]
fn read_only_mounts_refuse_writes() {
    let env = Env::new();
    let data = env.path().join("ro");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("keep.txt"), "original").unwrap();
    let volumes = format!("[{{name: d, hostPath: {{path: {}}}}}]", data.display());
    let mounts = "[{name: d, mountPath: /ro, readOnly: true}]";
    for (name, args) in [
        ("overwrite", vec!["write", "/ro/keep.txt", "changed"]),
        ("create", vec!["write", "/ro/new.txt", "x"]),
        ("remove", vec!["rm", "/ro/keep.txt"]),
        ("mkdir", vec!["mkdir", "/ro/dir"]),
        ("rename", vec!["rename", "/ro/keep.txt", "/ro/moved.txt"]),
    ] {
        let r = env.run(&job(name, &args, &volumes, mounts));
        assert_eq!(r.code, 1, "{name}: the write must fail");
    }
    // Reading works.
    let r = env.run(&job(
        "reader",
        &["expect-file", "/ro/keep.txt", "original"],
        &volumes,
        mounts,
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let names: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("keep.txt")]);
    assert_eq!(
        std::fs::read_to_string(data.join("keep.txt")).unwrap(),
        "original"
    );
}

#[test]
fn a_guest_without_volumes_sees_no_files_and_no_host_environment() {
    let env = Env::new();
    let r = env.run(&job(
        "bare",
        &["fail-if-exists", "/", "fail-if-exists", "/tmp", "env"],
        "[]",
        "[]",
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pods = env.pods("batch.kubernetes.io/job-name=bare");
    let name = pods[0]["metadata"]["name"].as_str().unwrap();
    assert_eq!(env.logs("job/bare"), format!("HOSTNAME={name}\n"));
}

#[test]
fn empty_dir_is_private_to_the_pod_and_removed_after_it() {
    let env = Env::new();
    let r = env.run(&job(
        "scratch",
        &[
            "write",
            "/s/f",
            "hello",
            "expect-file",
            "/s/f",
            "hello",
            "ls",
            "/s",
        ],
        "[{name: s, emptyDir: {}}]",
        "[{name: s, mountPath: /s}]",
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(env.logs("job/scratch"), "f\n");
    let pods_dir = env.state().join("pods");
    let left = std::fs::read_dir(&pods_dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "emptyDir volumes are removed with their pod");
}
