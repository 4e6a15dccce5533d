//! Test support for wasmjob's integration tests (in `tests/*.rs`).
//!
//! The build script compiles WASI guest programs from source for
//! `wasm32-wasip1` (release), so every test run exercises freshly built
//! modules:
//!
//! - [`guests::PROBE_WASM`]: the multi-purpose `probe` guest from
//!   `tests/guests/probe` (its step language is documented in
//!   `tests/guests/probe/src/main.rs`), e.g. `probe print hello exit 3`;
//! - [`guests::PI_WASM`]: the `pi` example (`examples/pi`);
//! - [`guests::FLAKY_WASM`]: the `flaky` example (`examples/flaky`), a task
//!   that fails on purpose, e.g. `flaky fail 42`;
//! - [`guests::RUNAWAY_WASM`]: the `runaway` example (`examples/runaway`), a
//!   task that never ends on its own, e.g. `runaway spin`.
//! - [`guests::MANDELBROT_WASM`]: the `mandelbrot` example
//!   (`examples/mandelbrot`), which renders a tile of an Indexed Job
//!   (`mandelbrot tile`) or assembles the tiles into a PNG
//!   (`mandelbrot assemble`);
//! - [`guests::WORDFREQ_WASM`]: the `wordfreq` example (`examples/wordfreq`),
//!   a work-queue worker that counts the words of each item's file
//!   (`wordfreq count DIR`) or merges the published counts
//!   (`wordfreq merge DIR`).
//!
//! It also reads the malformed manifests of `tests/manifests/malformed/`
//! ([`malformed_cases`]), shared by the spec crate's tests and the CLI tests.
//!
//! [`nats`] runs real NATS servers (one, or a cluster of three) for the tests of cluster mode,
//! and [`netns`] gives their nodes network namespaces of their own where root allows.
//!
//! The helpers here depend neither on the runner nor on the spec crate.

use std::fs;
use std::path::{Path, PathBuf};

pub use tempfile;

pub mod nats;
pub mod netns;

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

/// One malformed manifest of `tests/manifests/malformed/`: it must be refused
/// (by `wasmjob_spec::load_jobs`, and with exit code 2 by `wasmjob run`),
/// never with a panic, by an error that names `path` and contains `expect`.
#[derive(Debug, Clone)]
pub struct MalformedCase {
    /// Absolute path of the manifest file.
    pub file: PathBuf,
    /// What the case shows (unique among the cases).
    pub what: String,
    /// The field path the error must name; `<root>` for the document itself.
    pub path: String,
    /// Words the error must contain, as `load_jobs(text, "case.yaml")` words it.
    pub expect: String,
    /// The manifest, byte for byte.
    pub text: String,
}

/// The directory of the malformed manifests and their index `cases.tsv`.
pub fn malformed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/malformed")
}

/// The malformed manifests listed in `tests/manifests/malformed/cases.tsv`
/// (its header describes the format), in the order of the index.
///
/// Panics, saying why, if the index cannot be read, has a bad line, lists
/// no case, lists a file twice, names a missing file, or if a manifest in the
/// directory is not listed.
pub fn malformed_cases() -> Vec<MalformedCase> {
    let dir = malformed_dir();
    let index = dir.join("cases.tsv");
    let tsv = fs::read_to_string(&index)
        .unwrap_or_else(|e| panic!("reading the index {}: {e}", index.display()));
    let cases = parse_cases(&tsv, &dir).unwrap_or_else(|e| panic!("{}: {e}", index.display()));
    assert!(
        !cases.is_empty(),
        "{} lists no malformed manifest",
        index.display()
    );
    let listed: Vec<&Path> = cases.iter().map(|c| c.file.as_path()).collect();
    let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    for entry in entries {
        let file = entry
            .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
            .path();
        let manifest = matches!(
            file.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        );
        assert!(
            !manifest || listed.contains(&file.as_path()),
            "{} is not listed in {}",
            file.display(),
            index.display()
        );
    }
    cases
}

/// Parses the index (see [`malformed_cases`]), reading each listed file from `dir`.
fn parse_cases(tsv: &str, dir: &Path) -> Result<Vec<MalformedCase>, String> {
    let mut cases: Vec<MalformedCase> = Vec::new();
    for (n, line) in tsv.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let columns: Vec<String> = line.split('\t').map(unescape).collect();
        let [file, path, expect, what] = <[String; 4]>::try_from(columns).map_err(|c| {
            format!(
                "line {}: {} tab-separated columns instead of 4 (file, path, expect, what)",
                n + 1,
                c.len()
            )
        })?;
        if [&file, &path, &expect, &what].iter().any(|c| c.is_empty()) {
            return Err(format!("line {}: an empty column", n + 1));
        }
        let file = dir.join(file);
        if cases.iter().any(|c| c.file == file) {
            return Err(format!(
                "line {}: {} is listed twice",
                n + 1,
                file.display()
            ));
        }
        let text = fs::read_to_string(&file).map_err(|e| {
            format!(
                "line {}: the manifest {} of case {what:?}: {e}",
                n + 1,
                file.display()
            )
        })?;
        cases.push(MalformedCase {
            file,
            what,
            path,
            expect,
            text,
        });
    }
    Ok(cases)
}

/// Undoes the index's escapes: `\t` is a tab, `\n` a newline, `\\` a backslash;
/// any other backslash stands for itself.
fn unescape(column: &str) -> String {
    let mut out = String::with_capacity(column.len());
    let mut chars = column.chars().peekable();
    while let Some(c) = chars.next() {
        let escaped = match (c, chars.peek()) {
            ('\\', Some('t')) => '\t',
            ('\\', Some('n')) => '\n',
            ('\\', Some('\\')) => '\\',
            _ => {
                out.push(c);
                continue;
            }
        };
        chars.next();
        out.push(escaped);
    }
    out
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
    fn the_index_unescapes_tabs_newlines_and_backslashes_only() {
        assert_eq!(unescape(r"a\tb\nc\\d"), "a\tb\nc\\d");
        assert_eq!(unescape(r"(\.[a-z])"), r"(\.[a-z])");
        assert_eq!(unescape(r"\\n"), r"\n");
        assert_eq!(unescape("end\\"), "end\\");
    }

    #[test]
    fn the_index_is_parsed_and_its_files_read() {
        let dir = tempdir();
        write_manifest(dir.path(), "001-a.yaml", "kind: Job\n");
        write_manifest(dir.path(), "002-b.json", "{}");
        let tsv = "# header\n#file\tpath\texpect\twhat\n\n\
                   001-a.yaml\t<root>\tline 1\\ncolumn\ta\n\
                   002-b.json\tspec\tx\\ty\tb\r\n";
        let cases = parse_cases(tsv, dir.path()).unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].file, dir.path().join("001-a.yaml"));
        assert_eq!(cases[0].text, "kind: Job\n");
        assert_eq!(cases[0].expect, "line 1\ncolumn");
        assert_eq!(cases[1].expect, "x\ty");
        assert_eq!(
            (cases[1].path.as_str(), cases[1].what.as_str()),
            ("spec", "b")
        );
    }

    #[test]
    fn bad_index_lines_and_missing_files_are_errors() {
        let dir = tempdir();
        write_manifest(dir.path(), "001-a.yaml", "");
        let err = |tsv: &str| parse_cases(tsv, dir.path()).unwrap_err();
        assert!(err("001-a.yaml\tp\te\n").contains("line 1: 3 tab-separated columns"));
        assert!(err("001-a.yaml\tp\t\tw\n").contains("an empty column"));
        assert!(err("002-b.yaml\tp\te\tw\n").contains("002-b.yaml"));
        let twice = "001-a.yaml\tp\te\tw\n001-a.yaml\tp\te\tv\n";
        assert!(err(twice).contains("line 2:") && err(twice).contains("listed twice"));
    }

    #[test]
    fn the_malformed_cases_are_read() {
        let cases = malformed_cases();
        assert!(cases.len() >= 30, "only {} cases", cases.len());
        assert!(cases.iter().all(|c| c.file.is_file()));
        // The empty file is a case: its text is empty.
        assert!(cases.iter().any(|c| c.text.is_empty()));
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
