//! Faults of the host's storage: a full disk under the state directory (in a private mount
//! namespace on a small tmpfs) and a damaged `state.db` or `state.db-wal`. Each proves that an
//! accepted Job's results are neither lost nor counted twice, and that a damaged store is
//! refused with an error naming it, never silently reset or rewritten.

use crate::common;
use crate::faults::*;

use common::*;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// 1. A full disk under the state directory

/// A small tmpfs mounted in a private mount namespace, kept alive by a holder process;
/// commands run inside it with `nsenter`. The test process reaches its files through
/// `/proc/<holder>/root`.
struct Tmpfs {
    holder: std::process::Child,
    /// The mount point, as seen inside the namespace.
    mount: PathBuf,
}

impl Tmpfs {
    /// `None` (after saying why) when this machine cannot mount; a failure when `CI` is set.
    fn new(env: &Env, size: &str) -> Option<Tmpfs> {
        let mount = env.path().join("vol");
        std::fs::create_dir_all(&mount).unwrap();
        let why = |why: String| {
            if std::env::var_os("CI").is_some() {
                panic!("CI is set, so the disk-full test must run, but {why}");
            }
            println!("SKIPPED: {why} (needs root, unshare -m and mount -t tmpfs)");
        };
        let script = format!(
            "mount -t tmpfs -o size={size} wasmjob-faults '{}' && echo ready && exec sleep 600",
            mount.display()
        );
        let mut holder = match Command::new("unshare")
            .args(["-m", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                why(format!("unshare cannot be started: {e}"));
                return None;
            }
        };
        let mut line = String::new();
        let _ = std::io::BufReader::new(holder.stdout.take().unwrap()).read_line(&mut line);
        if line.trim() != "ready" {
            let _ = holder.kill();
            let out = holder.wait_with_output().unwrap();
            why(format!(
                "the tmpfs could not be mounted: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            return None;
        }
        Some(Tmpfs { holder, mount })
    }

    /// A path inside the tmpfs, as the test process reaches it.
    fn outside(&self, inner: &Path) -> PathBuf {
        let rel = inner.strip_prefix("/").unwrap();
        Path::new(&format!("/proc/{}/root", self.holder.id())).join(rel)
    }

    fn state(&self) -> PathBuf {
        self.mount.join("state")
    }

    fn nsenter_args(&self) -> Vec<String> {
        vec![
            "-t".into(),
            self.holder.id().to_string(),
            "-m".into(),
            "--".into(),
            env!("CARGO_BIN_EXE_wasmjob").into(),
            "--state-dir".into(),
            self.state().display().to_string(),
        ]
    }

    /// `wasmjob --state-dir <tmpfs>/state ARGS` inside the namespace.
    fn wasmjob(&self, env: &Env, args: &[&str]) -> Run {
        let mut all = self.nsenter_args();
        all.extend(args.iter().map(|a| a.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        env.program("nsenter", &all, Duration::from_secs(60))
    }

    /// `wasmjob serve` inside the namespace (nsenter execs it: the child is the serve).
    fn serve(&self, env: &Env) -> Serve {
        let stderr = env.path().join(format!("serve-{}.err", fastrand::u64(..)));
        let child = Command::new("nsenter")
            .args(self.nsenter_args())
            .args(["serve", "--backoff-base", "10ms", "--backoff-max", "100ms"])
            .current_dir(env.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let serve = Serve { child, stderr };
        wait_for("serve in the namespace", Duration::from_secs(30), || {
            serve.log().contains("controlling")
        });
        serve
    }

    /// Fills the file system with a file until a write fails with ENOSPC.
    fn fill(&self) {
        let path = self.outside(&self.mount.join("filler"));
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0x5au8; 64 << 10];
        loop {
            match f.write(&chunk) {
                Ok(0) => panic!("a write of 0 bytes before the disk was full"),
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{e}");
                    break;
                }
            }
        }
        // Whatever a partial write left, the last byte goes too.
        while f.write(&[0]).is_ok() {}
    }

    fn unfill(&self) {
        std::fs::remove_file(self.outside(&self.mount.join("filler"))).unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// The error of a command that met the full disk: names the state directory and the cause.
fn assert_disk_full_error(what: &str, r: &Run, state: &Path) {
    assert_eq!(
        r.code, 1,
        "{what} on a full disk: exit {}\n{}",
        r.code, r.stderr
    );
    assert_no_panic(what, &r.stderr);
    assert!(
        r.stderr.contains(&state.display().to_string())
            && (r.stderr.contains("No space left on device")
                || r.stderr.contains("database or disk is full")),
        "{what}: the error does not say the state directory's disk is full:\n{}",
        r.stderr
    );
}

fn small_job(name: &str, completions: u32) -> String {
    format!(
        "apiVersion: batch/v1
kind: Job
metadata: {{name: {name}}}
spec:
  completions: {completions}
  parallelism: 4
  backoffLimit: 10000
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: PROBE, args: [sleep, '15', print, '{name}-done']}}]
"
    )
}

/// With the state directory's file system full, `apply` and `run` fail with exit 1 and an
/// error naming the directory and the full disk, and `get` either reads (the log and its index
/// the last `run` left need no new space) or fails so; nothing panics, no partial Job is
/// stored, and once space returns the store opens (its structure checked) with the earlier Job
/// intact and the same `run` succeeds.
#[test]
fn disk_full_fails_commands_clearly_keeps_the_store_and_recovers() {
    let env = Env::new();
    let Some(fs) = Tmpfs::new(&env, "16m") else {
        return;
    };
    let before = env.manifest("before.yaml", &small_job("before", 3));
    let during = env.manifest("during.yaml", &small_job("during", 3));
    let r = fs.wasmjob(&env, &["run", before.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    fs.fill();
    let state = fs.state();
    for args in [
        vec!["apply", "-f", during.to_str().unwrap()],
        vec!["run", during.to_str().unwrap()],
        vec!["get", "jobs"],
    ] {
        let r = fs.wasmjob(&env, &args);
        println!("{}: {}", args.join(" "), r.stderr.trim());
        if args[0] == "get" && r.code == 0 {
            let listed = r.stdout.lines().skip(1).collect::<Vec<_>>();
            assert_eq!(listed.len(), 1, "{}", r.stdout);
            assert!(listed[0].starts_with("before "), "{}", r.stdout);
            assert!(listed[0].contains("Complete"), "{}", r.stdout);
            continue;
        }
        assert_disk_full_error(&args.join(" "), &r, &state);
    }
    fs.unfill();
    let jobs = jobs_by_name(&fs.wasmjob(&env, &["get", "jobs", "-o", "json"]));
    assert_eq!(
        jobs.keys().collect::<Vec<_>>(),
        ["before"],
        "a Job refused for want of space was stored anyway"
    );
    assert_eq!(jobs["before"]["status"]["succeeded"], 3);
    let r = fs.wasmjob(&env, &["logs", "job/before"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "before-done\n"),
        "{}",
        r.stderr
    );
    let r = fs.wasmjob(&env, &["run", during.to_str().unwrap(), "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["status"]["succeeded"], 3);
}

/// A `serve` whose state directory fills up mid-run reports the full disk (naming the state
/// directory) and exits non-zero, or keeps going once space returns; either way, after
/// space returns every accepted Job completes with exact counts.
#[test]
fn disk_full_under_serve_loses_no_accepted_job() {
    let env = Env::new();
    let Some(fs) = Tmpfs::new(&env, "16m") else {
        return;
    };
    let state = fs.state();
    let mut serve = fs.serve(&env);
    let file = env.manifest(
        "busy.yaml",
        &[small_job("busy", 600), small_job("second", 60)].join("---\n"),
    );
    let r = fs.wasmjob(&env, &["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    wait_for("busy to be under way", Duration::from_secs(60), || {
        let r = fs.wasmjob(&env, &["get", "jobs", "busy", "-o", "json"]);
        r.code == 0 && int(&r.json()["status"]["succeeded"]) >= 30
    });
    fs.fill();
    let full_at = Instant::now();
    let mut exited = None;
    while full_at.elapsed() < Duration::from_secs(20) {
        if let Some(s) = serve.child.try_wait().unwrap() {
            exited = Some(s.code().unwrap_or(-1));
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = serve.log();
    assert_no_panic("serve", &log);
    match exited {
        Some(code) => {
            println!("serve exited {code} on the full disk:\n{log}");
            assert_ne!(code, 0, "serve exited 0 on a full disk:\n{log}");
            assert!(
                log.contains(&state.display().to_string())
                    && (log.contains("No space left on device")
                        || log.contains("database or disk is full")),
                "serve's error does not say the disk is full:\n{log}"
            );
        }
        None => {
            // Still running: it must have said why it is not getting anywhere.
            assert!(
                log.contains("No space left on device") || log.contains("database or disk is full"),
                "serve neither stopped nor reported the full disk:\n{log}"
            );
        }
    }
    fs.unfill();
    if exited.is_some() {
        serve = fs.serve(&env);
    }
    wait_for("both Jobs to finish", Duration::from_secs(120), || {
        let jobs = jobs_by_name(&fs.wasmjob(&env, &["get", "jobs", "-o", "json"]));
        jobs.len() == 2 && jobs.values().all(finished)
    });
    let jobs = jobs_by_name(&fs.wasmjob(&env, &["get", "jobs", "-o", "json"]));
    for (name, completions) in [("busy", 600), ("second", 60)] {
        let r = fs.wasmjob(
            &env,
            &[
                "get",
                "pods",
                "-l",
                &format!("batch.kubernetes.io/job-name={name}"),
                "-o",
                "json",
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let pods = r.json()["items"].as_array().cloned().unwrap();
        let failed = assert_counted_exactly(name, &jobs[name], &pods);
        assert!(has_condition(&jobs[name], "Complete", "CompletionsReached"));
        assert_eq!(jobs[name]["status"]["succeeded"], completions);
        assert_eq!(int(&jobs[name]["status"]["failed"]), failed.len() as i64);
        assert_eq!(pods.len(), completions as usize + failed.len());
    }
    assert_eq!(serve.terminate(), 0);
}

// ---------------------------------------------------------------------------------------
// 2. A damaged state file

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The state directory's top-level files and their bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// A store of a few MB whose pages in the middle are overwritten, one cut to half or to its
/// first page, and a good store beside a garbage or too-short `state.db-wal`: every command
/// (`get`, `serve`, `apply`, `run`) refuses it with exit 1 and an error naming the damaged
/// file; no byte of the state directory changes and no file appears or goes. Then a real log
/// left by a killed serve: as left, or with its last frame cut or damaged (an interrupted
/// commit), it is accepted; with frame 2 damaged and commits after it (which SQLite would
/// drop without a word, the Job with them) it is refused, unchanged.
#[test]
fn a_damaged_state_db_or_wal_is_refused_by_name_and_left_unchanged() {
    let env = Env::new();
    let pristine = env.path().join("pristine");
    let job = "apiVersion: batch/v1
kind: Job
metadata: {name: filler}
spec:
  completions: 400
  parallelism: 16
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: PROBE, args: [print, hello]}]
";
    let file = env.manifest("filler.yaml", job);
    let r = env.wasmjob_at(
        &pristine,
        &["run", file.to_str().unwrap()],
        Duration::from_secs(120),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let db_len = std::fs::metadata(pristine.join("state.db")).unwrap().len() as usize;
    assert!(db_len >= 64 * 4096, "the store is only {db_len} bytes");
    assert!(!pristine.join("state.db-wal").exists());
    let good = env.manifest("good.yaml", &small_job("newcomer", 1));

    type Damage = Box<dyn Fn(&Path)>;
    let middle = db_len / 2 / 4096 * 4096;
    let cases: Vec<(&str, &str, Damage)> = vec![
        (
            "pages in the middle overwritten",
            "state.db",
            Box::new(move |d: &Path| {
                let mut bytes = std::fs::read(d.join("state.db")).unwrap();
                let mut rng = fastrand::Rng::with_seed(7);
                for b in &mut bytes[middle - 8192..middle + 8192] {
                    *b = rng.u8(..);
                }
                std::fs::write(d.join("state.db"), bytes).unwrap();
            }),
        ),
        (
            "cut to half",
            "state.db",
            Box::new(move |d: &Path| {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(d.join("state.db"))
                    .unwrap();
                f.set_len(middle as u64).unwrap();
            }),
        ),
        (
            "cut to its first page",
            "state.db",
            Box::new(|d: &Path| {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(d.join("state.db"))
                    .unwrap();
                f.set_len(4096).unwrap();
            }),
        ),
        (
            "a garbage write-ahead log",
            "state.db-wal",
            Box::new(|d: &Path| {
                let mut rng = fastrand::Rng::with_seed(11);
                let bytes: Vec<u8> = (0..5 * 4096 + 32).map(|_| rng.u8(..)).collect();
                std::fs::write(d.join("state.db-wal"), bytes).unwrap();
            }),
        ),
        (
            "a write-ahead log shorter than its header",
            "state.db-wal",
            Box::new(|d: &Path| std::fs::write(d.join("state.db-wal"), b"\x37\x7f\x06").unwrap()),
        ),
    ];
    for (i, (what, damaged, damage)) in cases.iter().enumerate() {
        let dir = env.path().join(format!("case-{i}"));
        copy_dir(&pristine, &dir);
        damage(&dir);
        let before = snapshot(&dir);
        let named = dir.join(damaged).display().to_string();
        for args in [
            vec!["get", "jobs"],
            vec!["serve"],
            vec!["apply", "-f", good.to_str().unwrap()],
            vec!["run", good.to_str().unwrap()],
        ] {
            let r = env.wasmjob_at(&dir, &args, Duration::from_secs(60));
            assert_eq!(r.code, 1, "{what}: {args:?} exit {}:\n{}", r.code, r.stderr);
            assert_no_panic(what, &r.stderr);
            assert!(
                r.stderr.contains(&format!("state store {named}: corrupt")),
                "{what}: {args:?} does not name {named} as corrupt:\n{}",
                r.stderr
            );
            assert_eq!(
                snapshot(&dir),
                before,
                "{what}: {args:?} changed the state files"
            );
        }
    }
    // A real log, left by a serve killed after its Job completed: every commit of that
    // session is in it (far fewer than the 1000 pages of a checkpoint).
    let killed = env.path().join("killed");
    let serve_env_file = env.manifest("ten.yaml", &small_job("ten", 10));
    let mut serve = Command::new(env!("CARGO_BIN_EXE_wasmjob"))
        .arg("--state-dir")
        .arg(&killed)
        .args(["serve", "--backoff-base", "10ms"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the serve's store", Duration::from_secs(30), || {
        killed.join("state.db").exists()
    });
    let r = env.wasmjob_at(
        &killed,
        &["apply", "-f", serve_env_file.to_str().unwrap()],
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = env.wasmjob_at(
        &killed,
        &[
            "wait",
            "--for=condition=complete",
            "job/ten",
            "--timeout",
            "60s",
        ],
        Duration::from_secs(90),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    serve.kill().unwrap();
    serve.wait().unwrap();
    let wal = std::fs::read(killed.join("state.db-wal")).unwrap();
    // A frame is a 24-byte header and a page (the page size is in the log's header).
    let page = u32::from_be_bytes(wal[8..12].try_into().unwrap()) as usize;
    let frame = 24 + page;
    let frames = (wal.len() - 32) / frame;
    assert!(frames >= 10, "only {frames} frames in the log");
    let at = |i: usize| 32 + (i - 1) * frame;
    let log_cases: Vec<(&str, Option<Vec<u8>>)> = vec![
        ("the log as the kill left it", Some(wal.clone())),
        ("its last frame cut short (an interrupted commit)", {
            Some(wal[..wal.len() - 100].to_vec())
        }),
        ("its last frame damaged", {
            let mut w = wal.clone();
            let last = at(frames) + 24 + 100;
            w[last..last + 64].fill(0xee);
            Some(w)
        }),
        ("frame 2 damaged, commits after it", {
            let mut w = wal.clone();
            w[at(2) + 24 + 100..at(2) + 24 + 164].fill(0xee);
            Some(w)
        }),
    ];
    for (i, (what, bytes)) in log_cases.into_iter().enumerate() {
        let dir = env.path().join(format!("log-{i}"));
        copy_dir(&killed, &dir);
        std::fs::write(dir.join("state.db-wal"), bytes.unwrap()).unwrap();
        let before = snapshot(&dir);
        let r = env.wasmjob_at(
            &dir,
            &["get", "jobs", "ten", "-o", "json"],
            Duration::from_secs(60),
        );
        if i < 3 {
            // Accepted: nothing committed is lost.
            assert_eq!(r.code, 0, "{what}: {}", r.stderr);
            // The untouched log holds every commit; a torn tail rolls back its last commit (a
            // group of pod updates) and nothing before it.
            let succeeded = int(&r.json()["status"]["succeeded"]);
            if i == 0 {
                assert_eq!(succeeded, 10, "{what}");
            } else {
                assert!((1..=10).contains(&succeeded), "{what}: {succeeded}");
            }
        } else {
            let named = dir.join("state.db-wal").display().to_string();
            assert_eq!(r.code, 1, "{what}: exit {}:\n{}", r.code, r.stderr);
            assert!(
                r.stderr
                    .contains(&format!("state store {named}: corrupt write-ahead log"))
                    && r.stderr.contains("frame 2 fails its checksum"),
                "{what}:\n{}",
                r.stderr
            );
            assert_eq!(
                snapshot(&dir),
                before,
                "{what}: the refusal changed the state files"
            );
        }
    }

    // The undamaged store opens and holds its Job.
    let r = env.wasmjob_at(
        &pristine,
        &["get", "jobs", "filler", "-o", "json"],
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["status"]["succeeded"], 400);
}
