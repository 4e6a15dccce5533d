//! Smoke test: the build script produced the guest modules.

use std::fs;
use std::path::Path;

use wasmjob_tests::guests::{
    FLAKY_WASM, MANDELBROT_WASM, PI_WASM, PROBE_WASM, RUNAWAY_WASM, WORDFREQ_WASM,
};

/// `\0asm` followed by version 1 (little endian): a core module, not a
/// component (whose version/layer field is different).
const CORE_MODULE_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

fn check_module(path: &str) {
    let path = Path::new(path);
    assert!(path.is_absolute(), "{} should be absolute", path.display());
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert!(
        bytes.len() > 10 * 1024,
        "{} is suspiciously small ({} bytes)",
        path.display(),
        bytes.len()
    );
    assert_eq!(
        bytes[..8],
        CORE_MODULE_HEADER,
        "{} is not a core wasm module",
        path.display()
    );
}

#[test]
fn probe_module_is_built() {
    check_module(PROBE_WASM);
    assert!(PROBE_WASM.ends_with("probe.wasm"));
}

#[test]
fn pi_module_is_built() {
    check_module(PI_WASM);
    assert!(PI_WASM.ends_with("pi.wasm"));
}

#[test]
fn flaky_and_runaway_modules_are_built() {
    check_module(FLAKY_WASM);
    assert!(FLAKY_WASM.ends_with("flaky.wasm"));
    check_module(RUNAWAY_WASM);
    assert!(RUNAWAY_WASM.ends_with("runaway.wasm"));
}

#[test]
fn mandelbrot_module_is_built() {
    check_module(MANDELBROT_WASM);
    assert!(MANDELBROT_WASM.ends_with("mandelbrot.wasm"));
}

#[test]
fn wordfreq_module_is_built() {
    check_module(WORDFREQ_WASM);
    assert!(WORDFREQ_WASM.ends_with("wordfreq.wasm"));
}

#[test]
fn modules_are_wasi_preview1_commands() {
    // A WASI preview 1 command imports from `wasi_snapshot_preview1` and
    // exports `_start`; both names appear verbatim in the binary.
    for path in [
        PROBE_WASM,
        PI_WASM,
        FLAKY_WASM,
        RUNAWAY_WASM,
        MANDELBROT_WASM,
        WORDFREQ_WASM,
    ] {
        let bytes = fs::read(path).unwrap();
        let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"wasi_snapshot_preview1"), "{path}: no WASI imports");
        assert!(has(b"_start"), "{path}: no _start export");
    }
}
