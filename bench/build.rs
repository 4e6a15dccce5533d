//! Compiles the benchmark's guests (`guests/*.wat`) to WebAssembly in `OUT_DIR`, so the
//! repository holds no binaries and `wat` stays a build dependency, outside the product.
//! `napper.wat` is a template: one module per nap in `NAPS_MS` (the loaded run's sizes).

use std::path::Path;

/// The naps, in milliseconds, that `load.rs` asks for (quick and full).
const NAPS_MS: [u64; 2] = [50, 100];

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    let out = Path::new(&out);
    for name in ["tiny", "drainer", "sleeper", "spinner", "tight_loop"] {
        let text = read(name);
        write(out, name, &text);
    }
    let napper = read("napper");
    for ms in NAPS_MS {
        let text = napper.replace("NAP_NS", &(ms * 1_000_000).to_string());
        write(out, &format!("napper_{ms}ms"), &text);
    }
}

fn read(name: &str) -> String {
    let path = format!("guests/{name}.wat");
    println!("cargo::rerun-if-changed={path}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn write(out: &Path, name: &str, text: &str) {
    let bytes = wat::parse_str(text).unwrap_or_else(|e| panic!("bench guest {name}: {e}"));
    let path = out.join(format!("{name}.wasm"));
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
