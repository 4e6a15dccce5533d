//! Hostile guests, part 3: modules that are not what they claim. Each bad module is refused
//! before anything is stored (`wasmjob run`/`apply` exit 2 with a message that names the file
//! and what is wrong, and `get jobs` stays empty); a module whose compilation is slow does not
//! hold up other Jobs of the controller.

use crate::common;
use crate::hostile;
use common::*;
use hostile::*;
use serde_json::json;
use std::time::{Duration, Instant};

/// `wasmjob run` of a one-container Job on `module` must exit 2 with a message containing
/// every one of `words`, and store nothing.
fn refused(env: &Env, name: &str, module: &str, words: &[&str]) {
    let o = run_job(env, &job(name, module, &[]), &[]);
    assert_eq!(o.run.code, 2, "{name}: {}", o.context());
    for w in words {
        assert!(
            o.run.stderr.contains(w),
            "{name}: the error should say {w:?}: {}",
            o.run.stderr
        );
    }
    assert!(!o.run.stderr.contains("panicked"), "{}", o.run.stderr);
    let r = env.wasmjob(&["get", "jobs", "-o", "name"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "", "{name}: nothing is stored");
}

#[test]
fn bytes_that_are_no_module_are_refused() {
    let env = Env::new();
    let garbage = bytes_module(&env, "garbage.wasm", b"this is not wasm at all");
    refused(
        &env,
        "garbage",
        &garbage,
        &["garbage.wasm", "not a WebAssembly module"],
    );
    let empty = bytes_module(&env, "empty.wasm", b"");
    refused(
        &env,
        "empty",
        &empty,
        &["empty.wasm", "not a WebAssembly module"],
    );
    // A valid header with a broken body.
    let broken = bytes_module(
        &env,
        "broken.wasm",
        b"\0asm\x01\0\0\0\x01\xff\xff\xff\xff\x0f",
    );
    refused(&env, "broken", &broken, &["broken.wasm", "invalid module"]);
}

#[test]
fn a_component_is_refused_with_a_clear_error() {
    let env = Env::new();
    let component = bytes_module(&env, "component.wasm", b"\0asm\x0d\0\x01\0");
    refused(
        &env,
        "component",
        &component,
        &[
            "component.wasm",
            "is a WebAssembly component",
            "wasm32-wasip1",
        ],
    );
}

#[test]
fn unknown_imports_are_named() {
    let env = Env::new();
    let module = wat_module(
        &env,
        "teleport.wasm",
        r#"(module (import "env" "teleport" (func (param i32)))
                   (memory (export "memory") 1) (func (export "_start")))"#,
    );
    refused(
        &env,
        "teleport",
        &module,
        &["teleport.wasm", "env::teleport"],
    );
    let wrong = wat_module(
        &env,
        "wrong-sig.wasm",
        r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i64 i64)))
                   (memory (export "memory") 1) (func (export "_start")))"#,
    );
    refused(
        &env,
        "wrong-sig",
        &wrong,
        &["wrong-sig.wasm", "wasi_snapshot_preview1::proc_exit"],
    );
}

#[test]
fn a_module_without_start_is_refused() {
    let env = Env::new();
    let module = wat_module(
        &env,
        "library.wasm",
        r#"(module (memory (export "memory") 1) (func (export "add") (param i32 i32) (result i32)
                 (i32.add (local.get 0) (local.get 1))))"#,
    );
    refused(&env, "library", &module, &["library.wasm", "`_start`"]);
}

#[test]
fn a_huge_module_is_refused_before_it_is_read() {
    let env = Env::new();
    // A sparse 300 MB file with a valid header: refused by its size, not read.
    let path = env.path().join("huge.wasm");
    let file = std::fs::File::create(&path).unwrap();
    use std::io::Write;
    (&file).write_all(b"\0asm\x01\0\0\0").unwrap();
    file.set_len(300 << 20).unwrap();
    let started = Instant::now();
    refused(
        &env,
        "huge",
        path.to_str().unwrap(),
        &["huge.wasm", "the limit is 268435456 bytes"],
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_missing_module_or_a_directory_is_refused() {
    let env = Env::new();
    let missing = env.path().join("missing.wasm");
    refused(
        &env,
        "missing",
        missing.to_str().unwrap(),
        &["missing.wasm"],
    );
    std::fs::create_dir_all(env.path().join("dir.wasm")).unwrap();
    let dir = env.path().join("dir.wasm");
    refused(
        &env,
        "dir",
        dir.to_str().unwrap(),
        &["dir.wasm", "not a file"],
    );
}

/// WebAssembly text of a module whose one function has `n` blocks of arithmetic: slow for
/// the compiler, quick to run.
fn slow_to_compile(n: usize) -> String {
    let mut body = String::from("(local $x i64)");
    for i in 0..n {
        body.push_str(&format!(
            "(local.set $x (i64.add (i64.mul (local.get $x) (i64.const {})) (i64.const {i})))",
            i % 7 + 3
        ));
    }
    wasi_command(&format!("{body} (call $exit (i32.const 0))"), "")
}

/// The bytes of a module that takes this machine's compiler at least about 2 s (measured
/// here with wasmtime's default settings, doubling the size until it does), and that time.
fn calibrated_slow_module() -> (Vec<u8>, Duration) {
    let engine = wasmtime::Engine::default();
    let mut n = 20_000;
    loop {
        let bytes = wat::parse_str(slow_to_compile(n)).unwrap();
        let started = Instant::now();
        wasmtime::Module::new(&engine, &bytes).unwrap();
        let took = started.elapsed();
        if took >= Duration::from_secs(2) || n >= 1_280_000 {
            return (bytes, took);
        }
        n *= 2;
    }
}

/// While the controller compiles a slow module for one Job's pod, another Job's pods start
/// and finish.
#[test]
fn a_slow_compilation_does_not_stall_other_jobs() {
    let env = Env::new();
    let (slow, compile_time) = calibrated_slow_module();
    assert!(compile_time >= Duration::from_secs(1), "{compile_time:?}");
    let serve = env.serve(&[]);
    // The slow Job is applied suspended with a quick module, which apply compiles; the module
    // file is then replaced by the slow one, so the controller itself compiles it when the Job
    // resumes.
    let task = wat_module(
        &env,
        "task.wasm",
        &wasi_command("(call $exit (i32.const 0))", ""),
    );
    let mut slow_job = job("slow", &task, &[]);
    set(&mut slow_job, "/spec/suspend", json!(true));
    apply(&env, &slow_job);
    std::fs::write(&task, &slow).unwrap();
    let r = env.wasmjob(&[
        "patch",
        "job",
        "slow",
        "-p",
        r#"{"spec":{"suspend":false}}"#,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    wait_for("the slow Job's pod", Duration::from_secs(30), || {
        !env.pods("batch.kubernetes.io/job-name=slow").is_empty()
    });
    let started = Instant::now();
    let mut quick_job = job("quick", "PROBE", &["print", "quick"]);
    set(&mut quick_job, "/spec/completions", json!(5));
    set(&mut quick_job, "/spec/parallelism", json!(5));
    apply(&env, &quick_job);
    let quick_done = wait_finished(&env, "quick", Duration::from_secs(60));
    let quick_took = started.elapsed();
    assert!(has_condition(&quick_done, "Complete", "CompletionsReached"));
    let slow_now = env.job("slow").unwrap();
    assert!(
        conditions(&slow_now)
            .iter()
            .all(|(t, _)| t != "Complete" && t != "Failed"),
        "the slow Job finished before the quick one: {slow_now:#}"
    );
    assert!(
        quick_took < compile_time,
        "the quick Job took {quick_took:?}, as long as compiling the slow module ({compile_time:?})"
    );
    let slow_done = wait_finished(&env, "slow", Duration::from_secs(120));
    assert!(
        has_condition(&slow_done, "Complete", "CompletionsReached"),
        "{slow_done:#}\n{}",
        serve.log()
    );
}
