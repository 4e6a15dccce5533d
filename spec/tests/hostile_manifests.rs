//! Hostile manifests: inputs built to exhaust the reader (alias bombs, deep nesting, giant
//! strings, numeric overflow, document storms) must be refused quickly, within bounded memory
//! and a 2 MiB stack, with an error that names the field and says what is wrong. Also the
//! regression tests of what the fuzz targets in `spec/fuzz` found.
//!
//! Every load runs on a thread with a 2 MiB stack (what a test or tokio thread gets), so a
//! reader that recurses without bound crashes the test instead of passing by luck.

use std::time::{Duration, Instant};
use wasmjob_spec::parse::{
    MAX_ALIAS_REPLAYED_EVENTS, MAX_ALIASES, MAX_DEPTH, MAX_DOCUMENTS, MAX_MANIFEST_BYTES,
    MAX_SCALAR_BYTES,
};
use wasmjob_spec::{LoadedJob, ManifestError, load_jobs};

/// Generous for a debug build on a loaded 2-core machine; the attacks below take seconds to
/// minutes (or all memory) without their defence.
const QUICK: Duration = Duration::from_secs(10);

/// Loads `text` on a thread with a 2 MiB stack; how long it took.
fn load(text: String) -> (Result<Vec<LoadedJob>, ManifestError>, Duration) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let t = Instant::now();
            let r = load_jobs(&text, "hostile.yaml");
            (r, t.elapsed())
        })
        .unwrap()
        .join()
        .expect("load_jobs panicked")
}

/// Loads `text`, which must be refused quickly; the whole message.
fn refused(text: String) -> String {
    let (result, took) = load(text);
    let message = match result {
        Ok(jobs) => panic!("accepted ({} jobs)", jobs.len()),
        Err(e) => e.to_string(),
    };
    assert!(took < QUICK, "took {took:?} to refuse: {}", short(&message));
    message
}

/// The message must hold an error line `<path>: ...<words>`.
fn assert_names(message: &str, path: &str, words: &str) {
    let head = format!("{path}: ");
    let found = message
        .lines()
        .flat_map(|l| l.match_indices(&head).map(move |(i, _)| &l[i..]))
        .any(|rest| rest.contains(words));
    assert!(found, "no {path:?} with {words:?} in:\n{}", short(message));
}

/// The message with long runs of one character shortened, and at most 1200 characters.
fn short(message: &str) -> String {
    let mut out = String::new();
    let mut run = 0;
    let mut last = None;
    for c in message.chars() {
        run = if Some(c) == last { run + 1 } else { 0 };
        last = Some(c);
        if run < 20 {
            out.push(c);
        } else if run == 20 {
            out.push('…');
        }
    }
    out.chars().take(1200).collect()
}

/// A valid Job; attacks are appended under `spec.template.spec` (indent 6) or `spec` (2).
const HEAD: &str = "apiVersion: batch/v1
kind: Job
metadata:
  name: hostile
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: a
        image: a.wasm
";

/// `affinity` takes any value (it is ignored with a warning), so an attack placed there is read
/// in full by the parser instead of failing on the first wrong type.
fn in_affinity(yaml: &str) -> String {
    format!("{HEAD}      affinity:\n{yaml}")
}

#[test]
fn yaml_alias_bomb_is_refused_quickly() {
    // Billion laughs: 10 levels of 10 aliases each, 10^10 nodes once expanded.
    let mut bomb =
        String::from("        a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("        a{i}: &a{i} [{refs}]\n"));
    }
    let message = refused(in_affinity(&bomb));
    assert!(
        message.contains("spec.template.spec.affinity.a"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "YAML aliases expand to more than {MAX_ALIAS_REPLAYED_EVENTS} events (an alias bomb?)"
        )),
        "{message}"
    );
}

#[test]
fn yaml_alias_of_a_long_string_cannot_outgrow_the_manifest_limit() {
    // 1 MiB, repeated 20 times by aliases: 21 MiB of strings from a 1 MiB file.
    let long = "x".repeat(1 << 20);
    let refs = vec!["*s"; 20].join(", ");
    let message = refused(in_affinity(&format!(
        "        a: &s \"{long}\"\n        b: [{refs}]\n"
    )));
    assert_names(
        &message,
        "spec.template.spec.affinity.b",
        &format!("more than {MAX_SCALAR_BYTES} bytes of strings, aliases expanded"),
    );
}

#[test]
fn yaml_anchor_used_too_many_times_is_refused() {
    let refs = vec!["*s"; MAX_ALIASES + 1].join(", ");
    let message = refused(in_affinity(&format!(
        "        a: &s x\n        b: [{refs}]\n"
    )));
    assert!(
        message.contains("spec.template.spec.affinity.b"),
        "{message}"
    );
    assert!(
        message.contains(&format!("more than {MAX_ALIASES}")),
        "{message}"
    );
}

#[test]
fn deep_yaml_flow_nesting_is_refused_without_stack_overflow() {
    let depth = 100_000;
    let message = refused(in_affinity(&format!(
        "        {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    )));
    // The parser looks ahead: the breach is found while `affinity` is still a key.
    assert_names(
        &message,
        "spec.template.spec",
        &format!("nested more than {MAX_DEPTH} levels deep (line 13, column 41)"),
    );
}

#[test]
fn deep_yaml_block_nesting_is_refused_without_stack_overflow() {
    // Block sequences, then block mappings, each 2 000 levels deep.
    let seqs: String = (0..2_000)
        .map(|i| format!("{}-\n", " ".repeat(8 + 2 * i)))
        .collect();
    let maps: String = (0..2_000)
        .map(|i| format!("{}k{i}:\n", " ".repeat(8 + 2 * i)))
        .collect();
    for nest in [seqs, maps] {
        let message = refused(in_affinity(&nest));
        assert!(message.contains("spec.template.spec.affinity"), "{message}");
        assert!(
            message.contains(&format!("nested more than {MAX_DEPTH} levels deep")),
            "{message}"
        );
    }
}

#[test]
fn deep_json_nesting_is_refused_without_stack_overflow() {
    for depth in [200, 100_000] {
        let value = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let json = format!(
            r#"{{"apiVersion": "batch/v1", "kind": "Job", "metadata": {{"name": "a"}},
"spec": {{"template": {{"spec": {{"affinity": {value}}}}}}}}}"#
        );
        let message = refused(json);
        // The depth limit is checked before serde_json reads the document: at its root, with
        // the position of the first bracket too many.
        assert_names(
            &message,
            "<root>",
            &format!("nested more than {MAX_DEPTH} levels deep (line 2, column 72)"),
        );
    }
    // Brackets inside strings do not count.
    let json = format!(
        r#"{{"apiVersion": "batch/v1", "kind": "Job", "metadata": {{"name": "a",
"annotations": {{"a": "{}\"{}"}}}}, "spec": {{"template": {{"spec": {{"restartPolicy": "Never",
"containers": [{{"name": "a", "image": "a.wasm"}}]}}}}}}}}"#,
        "[".repeat(1000),
        "{".repeat(1000)
    );
    let (result, _) = load(json);
    assert!(result.is_ok(), "{:?}", result.err().map(|e| e.to_string()));
}

#[test]
fn the_deepest_fields_of_a_job_are_within_the_depth_limit() {
    // An affinity term's `matchExpressions[].values[]` is level 13 of 32, the deepest a Job has.
    let yaml = in_affinity(
        "        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 1
            podAffinityTerm:
              topologyKey: kubernetes.io/hostname
              labelSelector:
                matchExpressions:
                - key: app
                  operator: In
                  values: [a, b]
",
    );
    let (result, _) = load(yaml.clone());
    assert!(result.is_ok(), "{:?}", result.err().map(|e| e.to_string()));
    // And once as JSON.
    let (result, _) = load(
        r#"{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "a"}, "spec": {
"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "a", "image": "a.wasm"}],
"affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1,
"podAffinityTerm": {"topologyKey": "h", "labelSelector": {"matchExpressions": [{"key": "app",
"operator": "In", "values": ["a", "b"]}]}}}]}}}}}}"#
            .to_string(),
    );
    assert!(result.is_ok(), "{:?}", result.err().map(|e| e.to_string()));
}

#[test]
fn giant_string_within_the_manifest_limit_is_read_once() {
    let arg = "x".repeat(MAX_MANIFEST_BYTES - 4096);
    let (result, took) = load(format!("{HEAD}        args: [\"{arg}\"]\n"));
    let jobs = result.unwrap_or_else(|e| panic!("{}", short(&e.to_string())));
    assert!(took < QUICK, "took {took:?}");
    assert_eq!(jobs[0].job.spec.template.spec.containers[0].args, [arg]);
}

#[test]
fn giant_string_over_the_manifest_limit_is_refused_before_parsing() {
    let arg = "x".repeat(MAX_MANIFEST_BYTES);
    let t = Instant::now();
    let message = refused(format!("{HEAD}        args: [\"{arg}\"]\n"));
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(
        message,
        format!(
            "error: hostile.yaml (document 1): the object is invalid: <root>: manifest is larger \
             than {MAX_MANIFEST_BYTES} bytes"
        )
    );
}

#[test]
fn giant_string_in_a_name_is_refused_naming_the_field() {
    let name = "a".repeat(1 << 20);
    let message = refused(HEAD.replace("name: hostile", &format!("name: {name}")));
    assert_names(
        &message,
        "metadata.name",
        "must be no more than 253 characters (line 4, column 3)",
    );
}

#[test]
fn memory_quantity_overflow_names_the_field() {
    // Too many digits or too large an exponent to parse, and values that parse but do not fit
    // in 64 bits of bytes (which must not be read as "no limit").
    for (memory, words) in [
        ("\"1e400\"", "quantity is too large"),
        (
            "9999999999999999999999999999999999999",
            "quantity is too large",
        ),
        ("1e41", "quantity is too large"),
        (
            "99999999999999999999Ei",
            "quantity is too large: must be at most 18446744073709551615",
        ),
        (
            "16Ei",
            "quantity is too large: must be at most 18446744073709551615",
        ),
        (
            "18446744073709551616",
            "quantity is too large: must be at most 18446744073709551615",
        ),
    ] {
        let message = refused(format!(
            "{HEAD}        resources:\n          limits:\n            memory: {memory}\n"
        ));
        assert_names(
            &message,
            "spec.template.spec.containers[0].resources.limits[memory]",
            words,
        );
    }
    // The largest that fits is a limit.
    let (result, _) = load(format!(
        "{HEAD}        resources:\n          limits:\n            memory: 18446744073709551615\n"
    ));
    let jobs = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        jobs[0].job.spec.template.spec.containers[0].memory_limit_bytes(),
        Some(u64::MAX)
    );
}

#[test]
fn cpu_quantity_overflow_names_the_field() {
    let message = refused(format!(
        "{HEAD}        resources:\n          requests:\n            cpu: \"20000000000000000\"\n"
    ));
    assert_names(
        &message,
        "spec.template.spec.containers[0].resources.requests[cpu]",
        "quantity is too large: must be at most 18446744073709551615m",
    );
}

#[test]
fn unquoted_infinite_float_quantity_names_the_field() {
    let message = refused(format!(
        "{HEAD}        resources:\n          limits:\n            cpu: 1e400\n"
    ));
    assert_names(
        &message,
        "spec.template.spec.containers[0].resources.limits.cpu",
        "non-finite float `1e400`",
    );
}

#[test]
fn integer_overflow_in_durations_names_the_field() {
    let cases = [
        (
            "  activeDeadlineSeconds: 99999999999999999999\n",
            "spec.activeDeadlineSeconds",
            "must be a 64-bit integer",
        ),
        (
            "  ttlSecondsAfterFinished: 4294967296\n",
            "spec.ttlSecondsAfterFinished",
            "must be an integer between -2147483648 and 2147483647",
        ),
        (
            "  backoffLimit: -99999999999999999999\n",
            "spec.backoffLimit",
            "must be an integer between -2147483648 and 2147483647",
        ),
    ];
    for (field, path, words) in cases {
        let message = refused(format!("{HEAD}{field}"));
        assert_names(&message, path, words);
    }
    let pod = HEAD.replace(
        "      restartPolicy: Never\n",
        "      restartPolicy: Never\n      activeDeadlineSeconds: 99999999999999999999\n",
    );
    assert_names(
        &refused(pod),
        "spec.template.spec.activeDeadlineSeconds",
        "must be a 64-bit integer",
    );
}

#[test]
fn integer_overflow_in_json_durations_names_the_field() {
    let message = refused(
        r#"{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "a"},
"spec": {"activeDeadlineSeconds": 99999999999999999999, "template": {}}}"#
            .to_string(),
    );
    assert_names(&message, "spec.activeDeadlineSeconds", "floating point");
}

#[test]
fn document_storm_is_refused_whole_before_reading_a_document() {
    let one = "a: 1\n---\n";
    let message = refused(one.repeat(MAX_DOCUMENTS + 1));
    assert!(
        message.contains(&format!("(document {}): ", MAX_DOCUMENTS + 1)),
        "{}",
        short(&message)
    );
    assert_names(
        &message,
        "<root>",
        &format!("manifest holds more than {MAX_DOCUMENTS} documents"),
    );
}

#[test]
fn a_file_of_separators_is_an_empty_manifest() {
    let message = refused("---\n".repeat((MAX_MANIFEST_BYTES - 1) / 4));
    assert_names(&message, "<root>", "no objects passed to apply");
}

#[test]
fn error_positions_of_a_deep_document_with_long_keys_cost_bounded_memory() {
    // Each field path repeats its parents': 25 levels of 1000-byte keys make 25 KB paths,
    // times 100 000 leaf keys would be 2.5 GB of index. A validation error (a negative
    // memory limit) makes `locate` build that index.
    let key = "k".repeat(1000);
    let mut yaml =
        format!("{HEAD}        resources:\n          limits: {{memory: -1Mi}}\n      affinity:\n");
    for i in 0..25 {
        yaml.push_str(&format!("{}{key}{i}:\n", " ".repeat(8 + 2 * i)));
    }
    let leaves: Vec<String> = (0..100_000).map(|j| format!("x{j}: 1")).collect();
    yaml.push_str(&format!("{}{{{}}}\n", " ".repeat(58), leaves.join(", ")));
    assert!(yaml.len() < MAX_MANIFEST_BYTES);
    let message = refused(yaml);
    assert_names(
        &message,
        "spec.template.spec.containers[0].resources.limits[memory]",
        "must be greater than or equal to 0 (line 13, column 20)",
    );
}
