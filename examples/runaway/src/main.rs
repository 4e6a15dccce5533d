//! `runaway` — a task that never ends on its own, so that only a limit stops it (see `job.yaml`).
//!
//! ```text
//! runaway spin   count forever, burning CPU       → a fuel budget stops it (FuelExhausted)
//! runaway alloc  take 1 MiB more memory, forever  → the memory limit stops it (OOMKilled)
//! runaway sleep  wake up once a second, forever   → the Job's deadline stops it (DeadlineExceeded)
//! ```
//!
//! Each mode prints a little progress, which the pod's log keeps. A usage error exits with
//! status 2. No dependencies; it also runs natively (`cargo run -p runaway -- sleep`, Ctrl-C).

use std::hint::black_box;
use std::process::ExitCode;
use std::thread::sleep;
use std::time::Duration;

const MIB: usize = 1024 * 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["spin"] => spin(),
        ["alloc"] => alloc(),
        ["sleep"] => snooze(),
        _ => {
            eprintln!("usage: runaway spin|alloc|sleep");
            ExitCode::from(2)
        }
    }
}

/// Counts forever, printing every 2²⁰ steps.
fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        // black_box: the optimizer may not drop the counting.
        n = black_box(n + 1);
        if n.is_multiple_of(1 << 20) {
            println!("spin: {n} steps");
        }
    }
}

/// Takes 1 MiB more memory each step and keeps all of it, forever.
fn alloc() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        // Filled with ones, not zeros: every page is written, not just reserved.
        hoard.push(black_box(vec![1u8; MIB]));
        println!("alloc: holding {} MiB", hoard.len());
    }
}

/// Wakes up once a second, forever.
fn snooze() -> ! {
    let mut seconds: u64 = 0;
    loop {
        sleep(Duration::from_secs(1));
        seconds += 1;
        println!("sleep: still here after {seconds} s");
    }
}
