//! The malformed manifests of `tests/manifests/malformed/` (the cases of the spec crate's
//! `tests/malformed.rs`), through the real binary: `wasmjob run FILE` must exit with code 2
//! and an error naming the field, in the library's words, never panic, and store nothing.

use crate::common;

use common::{Env, Run};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use wasmjob_tests::MalformedCase;

/// Time limit of one `wasmjob run`.
const LIMIT: Duration = Duration::from_secs(10);

/// Runs `wasmjob run` on one case (its text in `cases/` under the environment's directory)
/// and returns what is wrong with the outcome, if anything.
fn check(env: &Env, case: &MalformedCase) -> Result<(), String> {
    let name = case.file.file_name().unwrap().to_str().unwrap();
    let file = format!("cases/{name}");
    wasmjob_tests::write_manifest(env.path(), &file, &case.text);
    let run: Run = catch_unwind(AssertUnwindSafe(|| {
        env.wasmjob_limit(&["run", &file], LIMIT)
    }))
    .map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        format!("the test harness failed: {message}")
    })?;
    let mut wrong = Vec::new();
    if run.code != 2 {
        wrong.push(format!("exit code {} instead of 2", run.code));
    }
    if run.stderr.contains("panicked") {
        wrong.push("it panicked".to_string());
    }
    // The field path, except for errors about the whole document (`<root>`); and, so that the
    // CLI is seen to refuse the manifest for the reason the library gives, the library's words
    // (the library test loads the text under the name `case.yaml`, here it is `file`).
    if case.path != "<root>" && !run.stderr.contains(&case.path) {
        wrong.push(format!("no field path {:?}", case.path));
    }
    let expect = case.expect.replace("case.yaml", &file);
    if !run.stderr.contains(&expect) {
        wrong.push(format!("no {expect:?}"));
    }
    if wrong.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        wrong.join("; "),
        run.stdout,
        run.stderr
    ))
}

#[test]
fn every_malformed_manifest_exits_2_naming_its_field_and_stores_nothing() {
    let cases = wasmjob_tests::malformed_cases();
    assert!(
        cases.len() >= 30,
        "only {} malformed manifests",
        cases.len()
    );
    let env = Env::new();
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let ran = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get().clamp(2, 8));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if let Err(e) = check(&env, case) {
                        let file = case.file.file_name().unwrap().to_string_lossy();
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{file} ({}): {e}", case.what));
                    }
                    ran.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let ran = ran.into_inner();
    let mut failures = failures.into_inner().unwrap();
    failures.sort();

    let listed = env.wasmjob(&["get", "jobs", "-A", "-o", "json"]);
    if listed.code != 0 {
        failures.push(format!(
            "get jobs -A -o json: exit code {}\nstderr:\n{}",
            listed.code, listed.stderr
        ));
    } else {
        let items = listed.json()["items"].as_array().cloned();
        if items.as_ref().is_none_or(|i| !i.is_empty()) {
            failures.push(format!(
                "get jobs -A -o json: the refused manifests stored Jobs:\n{}",
                listed.stdout
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems with {ran} malformed manifests:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert_eq!(ran, cases.len());
    assert!(ran >= 30, "only {ran} malformed manifests ran");
    eprintln!(
        "{ran} malformed manifests refused in {:?} ({threads} threads)",
        started.elapsed()
    );
}
