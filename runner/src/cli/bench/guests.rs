//! The benchmark's guests, as WebAssembly text compiled when the benchmark runs (no binaries in
//! the repository): a task that prints one line, a work-queue worker, a sleeper, a spinner and a
//! tight loop for the cost of epoch checks.

/// Prints `hello from wasm` and exits 0: the unit of the throughput figures.
pub const TINY: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from wasm\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 16))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

/// Leases work-queue items and acknowledges each until the queue is drained.
pub const DRAINER: &str = r#"(module
  (import "wasmjob_v1" "queue_next" (func $next (param i32 i32 i32) (result i32)))
  (import "wasmjob_v1" "queue_ack" (func $ack (param i64) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start")
    (block $done
      (loop $more
        (br_if $done (i32.ne (call $next (i32.const 0) (i32.const 65536) (i32.const 65536)) (i32.const 1)))
        (drop (call $ack (i64.load (i32.const 65536))))
        (br $more)))))"#;

/// Sleeps 10 minutes in `poll_oneoff` (a clock subscription), holding no thread.
pub const SLEEPER: &str = r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 600000000000))
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#;

/// Spins forever without a host call.
pub const SPINNER: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $l (br $l))))"#;

/// `run(n)`: a tight loop of `n` iterations with one store each, where epoch checks (one per
/// loop back-edge) cost the most.
pub const TIGHT_LOOP: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "run") (param $n i32) (local $i i32)
    (loop $l
      (i32.store (i32.and (local.get $i) (i32.const 0xfffc)) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))"#;

/// The binary module of `text`.
pub fn compile(name: &str, text: &str) -> Result<Vec<u8>, String> {
    wat::parse_str(text).map_err(|e| format!("bench guest {name}: {e}"))
}
