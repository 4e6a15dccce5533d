//! Hostile guests, part 1: CPU, memory and output. Each test runs a real guest (the `probe`
//! guest or WebAssembly text) that attacks one limit, and checks that the limit holds with the
//! documented reason and exit code, in bounded time, and that the host is unharmed.
//! The table in `tests/HARDENING.md` lists every attack and the test that covers it.

use crate::common;
use crate::hostile;
use common::*;
use hostile::*;
use serde_json::json;
use std::time::Duration;

// ---------------------------------------------------------------- CPU

#[test]
fn a_loop_without_host_calls_is_stopped_by_the_jobs_deadline() {
    let env = Env::new();
    let mut j = job("spin", "PROBE", &["spin"]);
    set(&mut j, "/spec/activeDeadlineSeconds", json!(1));
    let o = run_job(&env, &j, &[]);
    assert_eq!(o.run.code, 1, "{}", o.context());
    assert!(
        has_condition(&o.job, "Failed", "DeadlineExceeded"),
        "{}",
        o.context()
    );
    assert_eq!(o.reason(), "Stopped", "{}", o.context());
    assert!(o.run.elapsed < Duration::from_secs(15), "{}", o.context());
}

#[test]
fn a_loop_reading_the_clock_is_stopped_by_the_pods_deadline() {
    let env = Env::new();
    let mut j = job("clock", "PROBE", &["spin-ms", "3600000"]);
    set(&mut j, &format!("{POD}/activeDeadlineSeconds"), json!(1));
    let o = expect_failure(&env, &j, &[], "DeadlineExceeded", 142);
    assert_eq!(o.pods[0]["status"]["reason"], "DeadlineExceeded");
    assert!(o.run.elapsed < Duration::from_secs(15), "{}", o.context());
}

#[test]
fn a_sleep_inside_a_host_call_is_interrupted_by_the_deadline() {
    let env = Env::new();
    let mut j = job("sleeper", "PROBE", &["sleep", "3600000"]);
    set(&mut j, &format!("{POD}/activeDeadlineSeconds"), json!(1));
    let o = expect_failure(&env, &j, &[], "DeadlineExceeded", 142);
    assert!(o.run.elapsed < Duration::from_secs(15), "{}", o.context());
}

#[test]
fn a_write_loop_inside_host_calls_is_interrupted_by_the_deadline() {
    let env = Env::new();
    // 1 TB of output: only the deadline can end it.
    let mut j = job("writer", "PROBE", &["flood", "1000000000000"]);
    set(&mut j, &format!("{POD}/activeDeadlineSeconds"), json!(1));
    let o = expect_failure(&env, &j, &["--log-limit", "65536"], "DeadlineExceeded", 142);
    assert!(o.run.elapsed < Duration::from_secs(15), "{}", o.context());
}

#[test]
fn fuel_stops_a_loop_without_host_calls() {
    let env = Env::new();
    let mut j = job("fuel-spin", "PROBE", &["spin"]);
    set(
        &mut j,
        "/spec/template/metadata/annotations",
        json!({"wasmjob.dev/fuel": "20000000"}),
    );
    let o = expect_failure(&env, &j, &[], "FuelExhausted", 152);
    assert!(o.message().contains("20000000"), "{}", o.context());
}

#[test]
fn fuel_stops_a_loop_that_calls_the_host() {
    let env = Env::new();
    let mut j = job("fuel-clock", "PROBE", &["spin-ms", "3600000"]);
    set(
        &mut j,
        "/spec/template/metadata/annotations",
        json!({"wasmjob.dev/fuel": "20000000"}),
    );
    expect_failure(&env, &j, &[], "FuelExhausted", 152);
}

#[test]
fn an_endless_start_function_is_stopped_by_the_deadline() {
    let env = Env::new();
    let module = wat_module(
        &env,
        "start-loop.wasm",
        &wasi_command("", "(func $forever (loop $l (br $l))) (start $forever)"),
    );
    let mut j = job("start-loop", &module, &[]);
    set(&mut j, &format!("{POD}/activeDeadlineSeconds"), json!(1));
    let o = expect_failure(&env, &j, &[], "DeadlineExceeded", 142);
    assert!(o.run.elapsed < Duration::from_secs(15), "{}", o.context());
}

/// After a Job of spinning guests ends, no host thread keeps running them: the controller's
/// CPU use drops to (almost) nothing.
#[test]
fn no_host_thread_keeps_spinning_after_the_job_ends() {
    let env = Env::new();
    let serve = env.serve(&[]);
    let mut j = job("spinners", "PROBE", &["spin"]);
    set(&mut j, "/spec/parallelism", json!(4));
    set(&mut j, "/spec/completions", json!(4));
    set(&mut j, "/spec/activeDeadlineSeconds", json!(2));
    apply(&env, &j);
    // While the guests spin, the controller burns CPU: the measurement can see spinning.
    wait_for("the spinners to run", Duration::from_secs(30), || {
        env.pods("batch.kubernetes.io/job-name=spinners")
            .iter()
            .filter(|p| p["status"]["phase"] == "Running")
            .count()
            == 4
    });
    let busy = cpu_used_during(serve.pid(), Duration::from_millis(500));
    assert!(
        busy > 0.2,
        "four spinning guests use CPU, measured {busy:.2} s"
    );
    let finished = wait_finished(&env, "spinners", Duration::from_secs(30));
    assert!(has_condition(&finished, "Failed", "DeadlineExceeded"));
    let idle = cpu_used_during(serve.pid(), Duration::from_millis(1500));
    assert!(
        idle < 0.15,
        "the controller used {idle:.2} CPU seconds in 1.5 s after the Job ended"
    );
}

/// A guest cannot catch or ignore being stopped: deleting its Job stops a spinning guest at
/// once, and it is gone with its Job.
#[test]
fn deleting_a_job_stops_its_spinning_guests_at_once() {
    let env = Env::new();
    let serve = env.serve(&[]);
    let mut j = job("stubborn", "PROBE", &["spin"]);
    set(&mut j, "/spec/parallelism", json!(2));
    set(&mut j, "/spec/completions", json!(2));
    apply(&env, &j);
    wait_for("the guests to run", Duration::from_secs(30), || {
        env.pods("batch.kubernetes.io/job-name=stubborn")
            .iter()
            .filter(|p| p["status"]["phase"] == "Running")
            .count()
            == 2
    });
    let r = env.wasmjob_limit(&["delete", "job", "stubborn"], Duration::from_secs(20));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.elapsed < Duration::from_secs(10),
        "delete took {:?}",
        r.elapsed
    );
    assert!(env.job("stubborn").is_none());
    let idle = cpu_used_during(serve.pid(), Duration::from_millis(1500));
    assert!(idle < 0.15, "{idle:.2} CPU seconds after the delete");
}

/// A process's exit status is its low 8 bits; wasmtime-wasi alone would trap on 126 and above.
#[test]
fn exit_statuses_are_reported_as_a_processs_would_be() {
    let env = Env::new();
    let cases = [
        ("125", 125),
        ("126", 126),
        ("255", 255),
        ("300", 44),
        ("-1", 255),
    ];
    for (i, (status, code)) in cases.into_iter().enumerate() {
        let o = run_job(
            &env,
            &job(&format!("exit-{i}"), "PROBE", &["exit", status]),
            &[],
        );
        assert_eq!(o.exit_code(), code, "exit {status}: {}", o.context());
        assert_eq!(o.reason(), "Error", "exit {status}: {}", o.context());
    }
}

// ---------------------------------------------------------------- memory

fn limited(name: &str, image: &str, args: &[&str], memory: &str) -> serde_json::Value {
    let mut j = job(name, image, args);
    set(
        &mut j,
        &format!("{C0}/resources"),
        json!({"limits": {"memory": memory}}),
    );
    j
}

#[test]
fn growth_past_the_memory_limit_is_oom_killed() {
    let env = Env::new();
    let j = limited("hog", "PROBE", &["alloc", "200"], "32Mi");
    let o = expect_failure(&env, &j, &[], "OOMKilled", 137);
    assert!(o.message().contains("33554432"), "{}", o.context());
}

#[test]
fn one_huge_memory_grow_is_oom_killed() {
    let env = Env::new();
    let j = limited("huge-grow", "PROBE", &["grow-pages", "65000"], "64Mi");
    expect_failure(&env, &j, &[], "OOMKilled", 137);
}

#[test]
fn many_small_grows_stop_at_the_limit() {
    let env = Env::new();
    // Grow one page at a time until refused; a refusal (-1) would exit 3, but the limit ends
    // the run first.
    let module = wat_module(
        &env,
        "grow-loop.wasm",
        &wasi_command(
            "(loop $l (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) \
             (then (call $exit (i32.const 3)))) (br $l))",
            "",
        ),
    );
    let j = limited("grow-loop", &module, &[], "8Mi");
    let o = expect_failure(&env, &j, &[], "OOMKilled", 137);
    assert!(o.message().contains("8388608"), "{}", o.context());
}

#[test]
fn a_huge_initial_memory_is_refused_at_start() {
    let env = Env::new();
    let module = wat_module(
        &env,
        "big-initial.wasm",
        r#"(module (memory (export "memory") 60000) (func (export "_start")))"#,
    );
    let j = limited("big-initial", &module, &[], "64Mi");
    let o = expect_failure(&env, &j, &[], "OOMKilled", 137);
    assert!(o.message().contains("67108864"), "{}", o.context());
}

#[test]
fn a_large_data_segment_runs_within_its_limit_and_is_refused_past_it() {
    let env = Env::new();
    // 16 MiB of data, whose last byte the guest returns as its exit code.
    let data = "a".repeat(16 << 20);
    let wat = wasi_command(
        "(call $exit (i32.load8_u (i32.const 16777215)))",
        &format!(r#"(data (i32.const 0) "{data}")"#),
    )
    .replace(
        "(memory (export \"memory\") 1)",
        "(memory (export \"memory\") 257)",
    );
    let module = wat_module(&env, "data.wasm", &wat);
    let fits = run_job(&env, &limited("data-fits", &module, &[], "32Mi"), &[]);
    assert_eq!(fits.exit_code(), 97, "b'a': {}", fits.context());
    expect_failure(
        &env,
        &limited("data-too-big", &module, &[], "8Mi"),
        &[],
        "OOMKilled",
        137,
    );
}

#[test]
fn table_growth_past_the_cap_is_refused() {
    let env = Env::new();
    // table.grow answers -1 past the cap: the guest exits 7 then, 0 if it was allowed.
    let module = wat_module(
        &env,
        "table-grow.wasm",
        &wasi_command(
            "(call $exit (select (i32.const 7) (i32.const 0) \
             (i32.eq (table.grow $t (ref.null func) (i32.const 50000000)) (i32.const -1))))",
            "(table $t 1 funcref)",
        ),
    );
    let o = run_job(&env, &job("table-grow", &module, &[]), &[]);
    assert_eq!(o.exit_code(), 7, "{}", o.context());
    assert_eq!(o.reason(), "Error", "{}", o.context());
}

/// What the pooling allocator's slots cannot hold is refused before anything is stored (the
/// module is compiled when the Job is accepted), naming the module and the limit.
#[test]
fn too_many_memories_tables_or_globals_are_refused() {
    let env = Env::new();
    let globals: String = (0..200_000)
        .map(|i| format!("(global $g{i} (mut i64) (i64.const 0))"))
        .collect();
    let tables: String = (0..40)
        .map(|i| format!("(table $t{i} 1 funcref)"))
        .collect();
    for (name, extra, why) in [
        (
            "memories",
            "(memory $second 1)".to_string(),
            "defined memories count of 2 exceeds the per-instance limit of 1",
        ),
        (
            "tables",
            tables,
            "defined tables count of 40 exceeds the per-instance limit of 1",
        ),
        (
            "globals",
            globals,
            "exceeds the configured maximum of 1048576 bytes",
        ),
    ] {
        let module = wat_module(
            &env,
            &format!("{name}.wasm"),
            &wasi_command("(call $exit (i32.const 0))", &extra),
        );
        let o = run_job(&env, &job(name, &module, &[]), &[]);
        assert_eq!(o.run.code, 2, "{name}: {}", o.context());
        assert!(
            o.run.stderr.contains(&format!("{name}.wasm")),
            "{name}: {}",
            o.run.stderr
        );
        assert!(o.run.stderr.contains(why), "{name}: {}", o.run.stderr);
        assert!(o.pods.is_empty(), "{name}: {}", o.context());
    }
    let r = env.wasmjob(&["get", "jobs", "-o", "name"]);
    assert_eq!(r.stdout, "", "nothing is stored");
}

#[test]
fn unbounded_recursion_on_the_wasm_stack_is_a_trap() {
    let env = Env::new();
    let module = wat_module(
        &env,
        "recurse.wasm",
        &wasi_command(
            "(call $down (i64.const 0))",
            "(func $down (param i64) (call $down (i64.add (local.get 0) (i64.const 1))))",
        ),
    );
    let o = expect_failure(&env, &job("wasm-stack", &module, &[]), &[], "Trap", 134);
    assert!(
        o.message().starts_with("wasm trap: call stack exhausted"),
        "{}",
        o.context()
    );
    // Tens of thousands of frames deep: the backtrace in the message is capped.
    assert!(o.message().len() <= 4096, "{} bytes", o.message().len());
}

#[test]
fn unbounded_recursion_of_a_rust_guest_is_a_trap() {
    let env = Env::new();
    // Rust keeps its stack in linear memory: overflowing it is an out-of-bounds access.
    let o = expect_failure(
        &env,
        &job("recurse", "PROBE", &["recurse"]),
        &[],
        "Trap",
        134,
    );
    assert!(
        o.message()
            .starts_with("wasm trap: out of bounds memory access"),
        "{}",
        o.context()
    );
    assert!(o.message().len() <= 4096, "{} bytes", o.message().len());
}

#[test]
fn a_trapping_start_function_is_a_trap() {
    let env = Env::new();
    let module = wat_module(
        &env,
        "start-trap.wasm",
        &wasi_command("", "(func $boom unreachable) (start $boom)"),
    );
    let o = expect_failure(&env, &job("start-trap", &module, &[]), &[], "Trap", 134);
    assert!(o.message().contains("unreachable"), "{}", o.context());
}

// ---------------------------------------------------------------- output

#[test]
fn a_log_flood_is_capped_and_the_truncation_marked() {
    let env = Env::new();
    let o = run_job(
        &env,
        &job("flood", "PROBE", &["flood", "50000000", "print", "after"]),
        &["--log-limit", "1048576"],
    );
    assert_eq!(o.run.code, 0, "{}", o.context());
    let log = raw_logs(&env, "job/flood");
    assert!(
        log.len() <= (1 << 20) + 200,
        "the log holds {} bytes",
        log.len()
    );
    assert!(log.len() >= (1 << 20) - 200, "{} bytes", log.len());
    let text = String::from_utf8_lossy(&log);
    let last = text.lines().last().unwrap();
    assert!(
        last.contains("[wasmjob] log truncated: output past 1048576 bytes"),
        "last line: {last:?}"
    );
    assert!(!text.contains("after"), "output past the cap is dropped");
    let files: u64 = env
        .log_files()
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    assert!(files < 2 << 20, "log files on disk: {files} bytes");
}

/// While a guest floods its log, the controller keeps answering.
#[test]
fn the_host_stays_responsive_during_a_log_flood() {
    let env = Env::new();
    let _serve = env.serve(&["--log-limit", "1048576"]);
    let mut j = job("endless-flood", "PROBE", &["flood", "1000000000000"]);
    set(&mut j, "/spec/parallelism", json!(2));
    set(&mut j, "/spec/completions", json!(2));
    set(&mut j, "/spec/activeDeadlineSeconds", json!(4));
    apply(&env, &j);
    wait_for("the flood to start", Duration::from_secs(30), || {
        env.pods("batch.kubernetes.io/job-name=endless-flood")
            .iter()
            .any(|p| p["status"]["phase"] == "Running")
    });
    for _ in 0..5 {
        let r = env.wasmjob(&["get", "jobs", "endless-flood"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.elapsed < Duration::from_secs(3),
            "get took {:?} during the flood",
            r.elapsed
        );
    }
    let done = wait_finished(&env, "endless-flood", Duration::from_secs(30));
    assert!(has_condition(&done, "Failed", "DeadlineExceeded"));
}

#[test]
fn binary_and_invalid_utf8_output_is_kept_byte_for_byte() {
    let env = Env::new();
    let o = run_job(&env, &job("binary", "PROBE", &["binary"]), &[]);
    assert_eq!(o.run.code, 0, "{}", o.context());
    let mut expected: Vec<u8> = (0..=255u8).collect();
    expected.extend_from_slice(&[0xc3, 0x28, 0xa0, 0xa1, 0xff, 0xfe, b'\n']);
    assert_eq!(raw_logs(&env, "job/binary"), expected);
}

#[test]
fn a_huge_termination_message_is_capped() {
    let env = Env::new();
    // 1 MiB of 'm' passed to wasmjob_v1::termination_message in one call.
    let module = wat_module(
        &env,
        "message.wasm",
        r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasmjob_v1" "termination_message" (func $msg (param i32 i32) (result i32)))
  (memory (export "memory") 17)
  (func (export "_start")
    (memory.fill (i32.const 0) (i32.const 109) (i32.const 1048576))
    (drop (call $msg (i32.const 0) (i32.const 1048576)))
    (call $exit (i32.const 9))))"#,
    );
    let o = expect_failure(&env, &job("message", &module, &[]), &[], "Error", 9);
    let m = o.message();
    assert!(
        !m.is_empty() && m.len() <= 4096,
        "message of {} bytes",
        m.len()
    );
    assert!(m.bytes().all(|b| b == b'm'), "{m:?}");
}
