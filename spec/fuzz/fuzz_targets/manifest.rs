//! Fuzz target: the path `wasmjob run`/`apply` read a manifest file through
//! (`wasmjob_spec::load_jobs`: split, parse, default, validate), on arbitrary bytes. The runner
//! refuses bytes that are not UTF-8 before calling the spec crate, so valid UTF-8 is loaded as
//! is, and other bytes are loaded after lossy conversion (still exercising the parser on the
//! rest of the input).
//!
//! Beyond "never panics" (libFuzzer's `-timeout` and `-rss_limit_mb` catch hangs and unbounded
//! allocation), it asserts:
//! - a refusal names at least one document, each with at least one error, and every error
//!   renders as `<field path or <root>>: <what is wrong>` with both parts non-empty;
//! - an accepted file yields at least one Job, documents in increasing order, and every Job
//!   survives what the store does with it: serialized to JSON and loaded again (defaulting and
//!   validation included), it is accepted and equal to the original.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wasmjob_spec::{ManifestError, load_jobs};

fuzz_target!(|data: &[u8]| {
    match std::str::from_utf8(data) {
        Ok(text) => check(text),
        Err(_) => check(&String::from_utf8_lossy(data)),
    }
});

fn check(text: &str) {
    match load_jobs(text, "fuzz.yaml") {
        Err(e) => check_refusal(&e),
        Ok(jobs) => {
            assert!(!jobs.is_empty(), "accepted a file without any Job");
            for pair in jobs.windows(2) {
                assert!(
                    pair[0].document < pair[1].document,
                    "documents out of order"
                );
            }
            for loaded in &jobs {
                let json = serde_json::to_string(&loaded.job).expect("an accepted Job serializes");
                let again = match load_jobs(&json, "roundtrip.json") {
                    Ok(again) => again,
                    Err(e) => {
                        panic!("an accepted Job is refused once stored as JSON:\n{e}\n{json}")
                    }
                };
                assert_eq!(again.len(), 1, "one Job stored, several loaded");
                assert_eq!(
                    again[0].job, loaded.job,
                    "a Job changed through JSON:\n{json}"
                );
            }
        }
    }
}

fn check_refusal(e: &ManifestError) {
    let rendered = e.to_string();
    assert!(!rendered.trim().is_empty(), "empty error message");
    assert!(
        !e.objects.is_empty(),
        "a refusal names no document: {rendered}"
    );
    for object in &e.objects {
        assert!(
            object
                .to_string()
                .contains(&format!("(document {})", object.document + 1)),
            "the error does not name its document: {object}"
        );
        assert!(
            !object.errors.is_empty(),
            "a refused document has no error: {object}"
        );
        for error in &object.errors {
            let line = error.to_string();
            let head = if error.path.is_empty() {
                "<root>: ".to_string()
            } else {
                format!("{}: ", error.path)
            };
            let rest = line
                .strip_prefix(&head)
                .unwrap_or_else(|| panic!("error does not start with its path {head:?}: {line:?}"));
            assert!(
                !rest.trim().is_empty(),
                "error names the field but not what is wrong: {line:?}"
            );
        }
    }
}
