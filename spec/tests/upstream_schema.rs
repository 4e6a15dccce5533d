//! Every manifest under the workspace's `examples/` is a valid Kubernetes Job: it deserializes
//! into `k8s_openapi::api::batch::v1::Job` (the upstream schema) without any field being
//! ignored, and `wasmjob_spec::load_jobs` accepts it. The same oracle runs over the test suite's
//! own valid manifests, and must catch a misspelled field.

mod common;

use k8s_openapi::api::batch::v1::Job;
use std::path::{Path, PathBuf};
use wasmjob_spec::parse::{Document, split_documents};

/// Deserializes one document as an upstream Job; returns the paths of the ignored fields.
fn upstream_ignored(doc: &Document<'_>) -> Result<Vec<String>, String> {
    let mut ignored = Vec::new();
    let result: Result<Job, String> = if doc.json {
        let mut de = serde_json::Deserializer::from_str(doc.text);
        serde_ignored::deserialize(&mut de, |path| ignored.push(path.to_string()))
            .map_err(|e| e.to_string())
    } else {
        serde_saphyr::with_deserializer_from_str(doc.text, |de| {
            serde_ignored::deserialize(de, |path| ignored.push(path.to_string()))
        })
        .map_err(|e| e.to_string())
    };
    let job = result?;
    if job.metadata.name.is_none() && job.metadata.generate_name.is_none() {
        return Err("metadata.name is not set".into());
    }
    Ok(ignored)
}

/// Every problem the oracle and `load_jobs` find in one file's text.
fn problems(name: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let docs = split_documents(text);
    if docs.is_empty() {
        out.push(format!("{name}: no documents"));
    }
    for (i, doc) in docs.iter().enumerate() {
        match upstream_ignored(doc) {
            Ok(ignored) if ignored.is_empty() => {}
            Ok(ignored) => out.push(format!(
                "{name} (document {}): fields not in the Kubernetes schema: {}",
                i + 1,
                ignored.join(", ")
            )),
            Err(e) => out.push(format!(
                "{name} (document {}): not a Kubernetes Job: {e}",
                i + 1
            )),
        }
    }
    if let Err(e) = wasmjob_spec::load_jobs(text, name) {
        out.push(format!("{name}: refused by wasmjob: {e}"));
    }
    out
}

fn manifests_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if !file_name.starts_with('.') && file_name != "target" {
                manifests_under(&path, out);
            }
        } else if ["yaml", "yml", "json"]
            .iter()
            .any(|ext| path.extension().is_some_and(|e| e == *ext))
        {
            out.push(path);
        }
    }
}

#[test]
fn every_manifest_under_examples_is_a_valid_kubernetes_job() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut files = Vec::new();
    manifests_under(&examples, &mut files);
    files.sort();
    assert!(
        !files.is_empty(),
        "no *.yaml, *.yml or *.json manifest under {}",
        examples.display()
    );
    let mut all = Vec::new();
    for file in &files {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        all.extend(problems(&file.display().to_string(), &text));
    }
    assert!(all.is_empty(), "{}", all.join("\n"));
}

#[test]
fn the_test_suites_valid_manifests_are_valid_kubernetes_jobs() {
    let mut all = Vec::new();
    for (name, text) in common::VALID {
        all.extend(problems(name, text));
    }
    assert!(all.is_empty(), "{}", all.join("\n"));
}

#[test]
fn the_oracle_reports_a_misspelled_field() {
    let text = common::PI.replace("backoffLimit: 4", "backofLimit: 4");
    let docs = split_documents(&text);
    let ignored = upstream_ignored(&docs[0]).unwrap();
    // serde_ignored shows optional values as `?`: `spec.?.backofLimit`.
    assert!(
        matches!(ignored.as_slice(), [p] if p.starts_with("spec.") && p.ends_with(".backofLimit")),
        "YAML: {ignored:?}"
    );
    let json = r#"{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
        "spec": {"template": {"spec": {"containers": [{"name": "pi", "image": "pi.wasm",
        "imagePullPolcy": "Never"}], "restartPolicy": "Never"}}}}"#;
    let docs = split_documents(json);
    assert!(docs[0].json);
    let ignored = upstream_ignored(&docs[0]).unwrap();
    assert!(
        matches!(ignored.as_slice(), [p] if p.contains("containers") && p.ends_with(".imagePullPolcy")),
        "JSON: {ignored:?}"
    );
    // The whole check names the file, the document and the field.
    let found = problems("typo.yaml", &text);
    assert!(
        found
            .iter()
            .any(|p| p.contains("typo.yaml (document 1)") && p.contains("backofLimit")),
        "{found:?}"
    );
}

#[test]
fn the_oracle_refuses_what_is_not_a_job() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n";
    let docs = split_documents(pod);
    assert!(upstream_ignored(&docs[0]).is_err());
}
