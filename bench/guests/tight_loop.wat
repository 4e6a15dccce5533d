;; Prints `hello from wasm` and exits 0: the unit of the throughput figures.
;; const TINY: &str = r#"(module
;; ort "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
;; ory (export "memory") 1)
;; a (i32.const 16) "hello from wasm\n")
;; c (export "_start")
;; .store (i32.const 0) (i32.const 16))
;; .store (i32.const 4) (i32.const 16))
;; p (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;
;; 
;; Leases work-queue items and acknowledges each until the queue is drained.
;; const DRAINER: &str = r#"(module
;; ort "wasmjob_v1" "queue_next" (func $next (param i32 i32 i32) (result i32)))
;; ort "wasmjob_v1" "queue_ack" (func $ack (param i64) (result i32)))
;; ory (export "memory") 2)
;; c (export "_start")
;; ck $done
;; p $more
;; if $done (i32.ne (call $next (i32.const 0) (i32.const 65536) (i32.const 65536)) (i32.const 1)))
;; p (call $ack (i64.load (i32.const 65536))))
;; $more)))))"#;
;; 
;; Sleeps 10 minutes in `poll_oneoff` (a clock subscription), holding no thread.
;; const SLEEPER: &str = r#"(module
;; ort "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
;; ory (export "memory") 1)
;; c (export "_start")
;; .store8 (i32.const 8) (i32.const 0))
;; .store (i32.const 16) (i32.const 1))
;; .store (i32.const 24) (i64.const 600000000000))
;; p (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#;
;; 
;; Spins forever without a host call.
;; const SPINNER: &str = r#"(module
;; ory (export "memory") 1)
;; c (export "_start") (loop $l (br $l))))"#;
;; 
;; `run(n)`: a tight loop of `n` iterations with one store each, where epoch checks (one per
;; loop back-edge) cost the most.
(module
  (memory (export "memory") 1)
  (func (export "run") (param $n i32) (local $i i32)
    (loop $l
      (i32.store (i32.and (local.get $i) (i32.const 0xfffc)) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))
