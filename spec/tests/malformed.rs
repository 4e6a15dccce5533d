//! Malformed manifests, as data (`tests/manifests/malformed/`, shared with the CLI tests): each
//! must be refused by `load_jobs` (never a panic) with an error that names the field and says
//! what is wrong, in the API server's words. Also: valid manifests that must load, warnings for
//! ignored fields, multi-document files, positions.

mod common;

use wasmjob_spec::{FieldErrorKind, load_jobs};
use wasmjob_tests::MalformedCase;

/// The refused manifests: `tests/manifests/malformed/`, one file per case, listed with the
/// field path the error must name and the words it must contain in `cases.tsv`.
fn cases() -> Vec<MalformedCase> {
    wasmjob_tests::malformed_cases()
}

/// The case described as `what`.
fn case(what: &str) -> MalformedCase {
    cases()
        .into_iter()
        .find(|c| c.what == what)
        .unwrap_or_else(|| panic!("no malformed case {what:?}"))
}

fn check(case: &MalformedCase) -> Result<(), String> {
    let outcome = std::panic::catch_unwind(|| load_jobs(&case.text, "case.yaml"));
    let result = outcome.map_err(|_| "panicked".to_string())?;
    let err = match result {
        Ok(jobs) => return Err(format!("accepted ({} jobs)", jobs.len())),
        Err(e) => e,
    };
    let message = err.to_string();
    let path = &case.path;
    let named =
        message.contains(&format!(": {path}: ")) || message.contains(&format!("\n* {path}: "));
    if path.is_empty() || !named {
        return Err(format!("no path {path:?} in:\n{message}"));
    }
    if !message.contains(&case.expect) {
        return Err(format!("no {:?} in:\n{message}", case.expect));
    }
    Ok(())
}

#[test]
fn every_malformed_manifest_is_refused_naming_its_field() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            check(c)
                .err()
                .map(|e| format!("{} ({}): {e}", c.what, c.file.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_case_description_is_unique() {
    let mut seen = std::collections::BTreeSet::new();
    for c in cases() {
        assert!(seen.insert(c.what.clone()), "duplicate case {:?}", c.what);
    }
}

#[test]
fn restart_policy_always_is_reported_in_the_api_servers_words() {
    let case = case("restartPolicy Always");
    let err = load_jobs(&case.text, "case.yaml").unwrap_err();
    let errors = &err.objects[0].errors;
    assert_eq!(errors.len(), 1, "{err}");
    let mut e = errors[0].clone();
    e.location = None;
    assert_eq!(
        e.to_string(),
        r#"spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never""#
    );
}

#[test]
fn all_errors_of_a_document_are_reported() {
    let yaml = r#"apiVersion: batch/v1
kind: Job
metadata: {name: Bad_Name}
spec:
  parallelism: -1
  template:
    spec:
      containers:
      - name: a
      - name: a
        image: a.wasm
      restartPolicy: Always
"#;
    let err = load_jobs(yaml, "many.yaml").unwrap_err();
    assert_eq!(err.objects.len(), 1);
    let paths: Vec<&str> = err.objects[0]
        .errors
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    for want in [
        "metadata.name",
        "spec.parallelism",
        "spec.template.spec.restartPolicy",
        "spec.template.spec.containers[0].image",
        "spec.template.spec.containers[1].name",
    ] {
        assert!(paths.contains(&want), "{want} missing from {paths:?}");
    }
    let shown = err.to_string();
    assert!(
        shown.starts_with("error: many.yaml (document 1): The Job \"Bad_Name\" is invalid:\n* "),
        "{shown}"
    );
}

#[test]
fn a_bad_second_document_refuses_the_file_and_is_located_in_the_file() {
    let case = case("second document invalid");
    let err = load_jobs(&case.text, "case.yaml").unwrap_err();
    assert_eq!(
        err.objects.len(),
        1,
        "only the bad document is reported: {err}"
    );
    let bad = &err.objects[0];
    assert_eq!(bad.document, 1);
    assert_eq!(bad.name, "bad");
    assert_eq!(bad.errors.len(), 1);
    // `restartPolicy: Always` is on line 17 of the file, indented by 6.
    assert_eq!(bad.errors[0].location, Some((17, 7)), "{err}");
    assert!(err.to_string().ends_with("(line 17, column 7)"), "{err}");
}

#[test]
fn positions_follow_the_field_or_its_nearest_ancestor() {
    let yaml = r#"# leading comment
---
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    metadata:
      annotations:
        wasmjob.dev/fuel: "-5"
    spec:
      containers:
      - name: a
        resources:
          limits:
            memory: 64MB
      restartPolicy: Never
"#;
    let err = load_jobs(yaml, "pos.yaml").unwrap_err();
    let at = |path: &str| {
        err.objects[0]
            .errors
            .iter()
            .find(|e| e.path == path)
            .unwrap_or_else(|| panic!("no error at {path}: {err}"))
            .location
    };
    assert_eq!(
        at("spec.template.metadata.annotations[wasmjob.dev/fuel]"),
        Some((11, 9))
    );
    assert_eq!(
        at("spec.template.spec.containers[0].resources.limits[memory]"),
        Some((17, 13))
    );
    // No `image` key: the container item itself.
    assert_eq!(at("spec.template.spec.containers[0].image"), Some((14, 9)));
}

#[test]
fn json_errors_are_located_too() {
    let json = "{\n  \"apiVersion\": \"batch/v1\",\n  \"kind\": \"Job\",\n  \"metadata\": {\"name\": \"pi\"},\n  \"spec\": {\"template\": {\"spec\": {\n    \"containers\": [{\"name\": \"a\", \"image\": \"a.wasm\"}],\n    \"restartPolicy\": \"Always\"}}}\n}\n";
    let err = load_jobs(json, "job.json").unwrap_err();
    let e = &err.objects[0].errors[0];
    assert_eq!(e.path, "spec.template.spec.restartPolicy");
    assert_eq!(e.location, Some((7, 5)), "{err}");
}

#[test]
fn malformed_documents_carry_no_validation_kind_mixups() {
    // A document that cannot be read is reported as such, not validated with defaults.
    let err = load_jobs("apiVersion: batch/v1\nkind: Job\nspec: 3\n", "x.yaml").unwrap_err();
    let e = &err.objects[0].errors[0];
    assert_eq!(e.kind, FieldErrorKind::Malformed, "{err}");
    assert_eq!(e.path, "spec");
}

#[test]
fn valid_manifests_load() {
    for (what, yaml) in common::VALID {
        let jobs = load_jobs(yaml, "valid.yaml").unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(!jobs.is_empty(), "{what}");
    }
}

#[test]
fn the_pi_example_loads_with_defaults_and_no_warnings() {
    let jobs = load_jobs(common::PI, "pi.yaml").unwrap();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0].job;
    assert_eq!(job.name(), "pi");
    assert_eq!(job.spec.backoff_limit, Some(4));
    assert_eq!(
        (job.spec.parallelism, job.spec.completions),
        (Some(1), Some(1))
    );
    assert_eq!(
        job.spec.template.spec.containers[0].image.as_deref(),
        Some("pi.wasm")
    );
    assert!(jobs[0].warnings.is_empty(), "{:?}", jobs[0].warnings);
}

#[test]
fn ignored_cluster_fields_load_with_one_warning_each() {
    let jobs = load_jobs(common::WITH_IGNORED_FIELDS, "w.yaml").unwrap();
    let warnings = &jobs[0].warnings;
    // nodeSelector and tolerations are honoured by the scheduler: no warning.
    let field = "spec.template.spec.containers[0].imagePullPolicy";
    let n = warnings.iter().filter(|w| w.starts_with(field)).count();
    assert_eq!(n, 1, "{field} in {warnings:?}");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

#[test]
fn two_jobs_in_one_file_load_in_order() {
    let jobs = load_jobs(common::TWO_JOBS, "two.yaml").unwrap();
    let names: Vec<(&str, usize)> = jobs.iter().map(|j| (j.job.name(), j.document)).collect();
    assert_eq!(names, [("first", 0), ("second", 1)]);
    assert_eq!(jobs[1].job.spec.completions, Some(3));
}

#[test]
fn a_manual_selector_and_generate_name_are_accepted() {
    let jobs = load_jobs(common::MANUAL_SELECTOR, "m.yaml").unwrap();
    let job = &jobs[0].job;
    assert_eq!(job.name(), "");
    assert_eq!(job.metadata.generate_name.as_deref(), Some("sweep-"));
    let bad = common::MANUAL_SELECTOR.replace("generateName: sweep-", "generateName: Sweep-");
    let err = load_jobs(&bad, "m.yaml").unwrap_err().to_string();
    assert!(
        err.contains("metadata.generateName: Invalid value: \"Sweep-\""),
        "{err}"
    );
}

#[test]
fn the_full_featured_manifest_loads() {
    let jobs = load_jobs(common::EVERYTHING, "all.yaml").unwrap();
    let job = &jobs[0].job;
    assert!(job.is_indexed());
    assert_eq!(job.spec.backoff_limit, Some(i32::MAX));
    assert!(jobs[0].warnings.is_empty(), "{:?}", jobs[0].warnings);
}

#[test]
fn no_prefix_or_line_deletion_of_a_manifest_panics() {
    let text = common::EVERYTHING;
    let run = |t: &str| {
        let outcome = std::panic::catch_unwind(|| load_jobs(t, "cut.yaml"));
        let result = outcome.unwrap_or_else(|_| panic!("panicked on:\n{t}"));
        if let Err(e) = &result {
            assert!(e.objects.iter().all(|o| !o.errors.is_empty()), "{e}");
        }
        result.is_ok()
    };
    let mut refused = 0;
    for (i, _) in text.char_indices() {
        refused += usize::from(!run(&text[..i]));
    }
    assert!(
        refused > text.len() / 2,
        "most prefixes are incomplete Jobs"
    );
    let lines: Vec<&str> = text.lines().collect();
    for skip in 0..lines.len() {
        let mut kept = lines.clone();
        kept.remove(skip);
        run(&kept.join("\n"));
    }
}
