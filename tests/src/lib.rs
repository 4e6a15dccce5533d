//! Test support for wasmjob's integration tests (in `tests/*.rs`).
//!
//! The build script compiles WASI guest programs from source for
//! `wasm32-wasip1` (release), so every test run exercises freshly built
//! modules:
//!
//! - [`guests::PROBE_WASM`]: the multi-purpose `probe` guest from
//!   `tests/guests/probe` (its step language is documented in
//!   `tests/guests/probe/src/main.rs`), e.g. `probe print hello exit 3`;
//! - [`guests::PI_WASM`]: the `pi` example (`examples/pi`).
//!
//! The helpers here do not depend on the runner.

use std::fs;
use std::path::{Path, PathBuf};

pub use tempfile;

/// Absolute paths of the WASI modules built by `build.rs`.
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

/// A fresh temporary directory, removed when the returned value is dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("wasmjob-test-")
        .tempdir()
        .expect("creating a temporary directory")
}

/// Writes `yaml` to `dir/name` (creating missing parent directories) and
/// returns the file's path.
pub fn write_manifest(dir: impl AsRef<Path>, name: &str, yaml: &str) -> PathBuf {
    let path = dir.as_ref().join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
    }
    fs::write(&path, yaml).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_manifest_writes_the_file() {
        let dir = tempdir();
        let path = write_manifest(dir.path(), "sub/job.yaml", "kind: Job\n");
        assert_eq!(path, dir.path().join("sub/job.yaml"));
        assert_eq!(fs::read_to_string(&path).unwrap(), "kind: Job\n");
    }

    #[test]
    fn tempdir_is_removed_on_drop() {
        let dir = tempdir();
        let path = dir.path().to_path_buf();
        assert!(path.is_dir());
        drop(dir);
        assert!(!path.exists());
    }
}
