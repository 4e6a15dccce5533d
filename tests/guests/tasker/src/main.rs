//! A test guest that uses the guest SDK (the `wasmjob_v1` host functions), driven by its
//! arguments: a list of steps run in order.
//!
//! - `context`: prints the task's context, one `key=value` line per field;
//! - `message TEXT`: sets the termination message;
//! - `progress PERMILLE TEXT`: reports progress (PERMILLE `-` for none);
//! - `write NAME TEXT`: writes TEXT to NAME in the atomic outputs volume;
//! - `write-attempt`: writes `attempt-<attempt>.txt` there;
//! - `exit-if-attempt N CODE`: exits with CODE when this is attempt N;
//! - `sleep MS`;
//! - `exit N`; `fail N TEXT` (SDK `fail`: stderr, termination message, exit N);
//! - `drain PERCENT SLEEP_MS`: takes work-queue items until the queue is drained; for each,
//!   writes `item.txt` (the item's text) to the outputs, then fails (exit 3, leaving the file
//!   staged) on PERCENT % of the items at random, else acknowledges it. Prints each item.
//!   Exits 0 once the queue is drained.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;
use wasmjob_guest::{Context, fail, outputs, progress, queue, status, termination_message};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut steps = args.iter().map(String::as_str);
    while let Some(step) = steps.next() {
        let mut arg = || {
            steps
                .next()
                .unwrap_or_else(|| fail(2, format!("step {step} needs an argument")))
        };
        match step {
            "context" => print_context(),
            "message" => check(termination_message(arg())),
            "progress" => {
                let permille = arg();
                let text = arg();
                match permille.parse::<f64>() {
                    Ok(p) => check(progress(p / 1000.0, text)),
                    Err(_) => check(status(text)),
                }
            }
            "write" => {
                let name = arg();
                let text = arg();
                if let Err(e) = outputs::write(name, text) {
                    fail(2, format!("cannot write output {name}: {e}"));
                }
            }
            "write-attempt" => {
                let attempt = context().attempt;
                if let Err(e) = outputs::write(&format!("attempt-{attempt}.txt"), "") {
                    fail(2, format!("cannot write output: {e}"));
                }
            }
            "exit-if-attempt" => {
                let n = number(arg());
                let code = number(arg()) as i32;
                if u64::from(context().attempt) == n {
                    std::process::exit(code);
                }
            }
            "sleep" => std::thread::sleep(Duration::from_millis(number(arg()))),
            "exit" => std::process::exit(number(arg()) as i32),
            "fail" => {
                let code = number(arg()) as i32;
                fail(code, arg())
            }
            "drain" => {
                let percent = number(arg());
                let pause = number(arg());
                drain(percent, pause)
            }
            other => fail(2, format!("unknown step {other:?}")),
        }
    }
}

fn drain(percent: u64, pause_ms: u64) {
    for item in queue::items() {
        let item = item.unwrap_or_else(|e| fail(2, format!("queue: {e}")));
        println!("item {} attempt {}: {}", item.id, item.attempt, item.text);
        if let Err(e) = outputs::write("item.txt", &item.text) {
            fail(2, format!("cannot write output: {e}"));
        }
        std::thread::sleep(Duration::from_millis(pause_ms));
        if random() % 100 < percent {
            fail(3, format!("failing on item {} on purpose", item.id));
        }
        let id = item.id;
        item.ack()
            .unwrap_or_else(|e| fail(2, format!("ack of item {id}: {e}")));
    }
}

fn context() -> Context {
    Context::get().unwrap_or_else(|e| fail(2, format!("context: {e}")))
}

fn print_context() {
    let c = context();
    println!("job={}", c.job);
    println!("namespace={}", c.namespace);
    println!("pod={}", c.pod);
    println!("container={}", c.container);
    println!("completion_index={:?}", c.completion_index);
    println!("completions={:?}", c.completions);
    println!("parallelism={}", c.parallelism);
    println!("restart_count={}", c.restart_count);
    println!("attempt={}", c.attempt);
    println!("outputs={:?}", c.outputs);
}

fn check(r: Result<(), wasmjob_guest::HostError>) {
    if let Err(e) = r {
        fail(2, format!("host call failed: {e}"));
    }
}

fn number(s: &str) -> u64 {
    s.parse()
        .unwrap_or_else(|_| fail(2, format!("{s:?} is not a number")))
}

/// A random number from WASI's `random_get` (through std's hash seeds).
fn random() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish()
}
