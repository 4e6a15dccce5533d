//! The benchmark's guests: WebAssembly text in `bench/guests/`, compiled by `build.rs` (no
//! binaries in the repository, no WebAssembly text parser in the product). Each module's text
//! says what it does.

macro_rules! guest {
    ($file:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $file, ".wasm"))
    };
}

/// Prints `hello from wasm` and exits 0: the unit of the throughput figures.
pub const TINY: &[u8] = guest!("tiny");
/// Leases work-queue items and acknowledges each until the queue is drained.
pub const DRAINER: &[u8] = guest!("drainer");
/// Sleeps 10 minutes in `poll_oneoff` (a clock subscription), holding no thread.
pub const SLEEPER: &[u8] = guest!("sleeper");
/// Spins forever without a host call.
pub const SPINNER: &[u8] = guest!("spinner");
/// `run(n)`: a tight loop of `n` iterations with one store each, where epoch checks (one per
/// loop back-edge) cost the most.
pub const TIGHT_LOOP: &[u8] = guest!("tight_loop");

/// Sleeps `nap_ms` in `poll_oneoff` (holding no thread), then exits 0; `None` for a nap that
/// `build.rs` does not make.
pub fn napper(nap_ms: u64) -> Option<&'static [u8]> {
    match nap_ms {
        50 => Some(guest!("napper_50ms")),
        100 => Some(guest!("napper_100ms")),
        _ => None,
    }
}
