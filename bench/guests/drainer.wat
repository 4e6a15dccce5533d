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
(module
  (import "wasmjob_v1" "queue_next" (func $next (param i32 i32 i32) (result i32)))
  (import "wasmjob_v1" "queue_ack" (func $ack (param i64) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start")
    (block $done
      (loop $more
        (br_if $done (i32.ne (call $next (i32.const 0) (i32.const 65536) (i32.const 65536)) (i32.const 1)))
        (drop (call $ack (i64.load (i32.const 65536))))
        (br $more)))))
