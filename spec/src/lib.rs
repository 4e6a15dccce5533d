//! wasmjob-spec: the API of wasmjob — Kubernetes `batch/v1` Job and the v1 Pod subset it uses,
//! read from YAML or JSON, defaulted and validated as the API server would; and the v1 Node
//! ([`node`]) that cluster mode's machines are.
//!
//! Entry point: [`load_jobs`] turns a manifest file's text into defaulted, validated Jobs (or
//! every error, each naming its field). This crate knows nothing of wasmtime, tokio or storage.

pub mod defaults;
pub mod errors;
pub mod job;
pub mod meta;
pub mod node;
pub mod parse;
pub mod pod;
pub mod quantity;
pub mod update;
pub mod validate;
pub mod warnings;

pub use errors::{FieldError, FieldErrorKind, InvalidObject};
pub use job::*;
pub use meta::{LabelSelector, ObjectMeta, OwnerReference, Time};
pub use pod::*;
pub use quantity::Quantity;

use std::fmt;

/// Annotation prefix for wasmjob's extensions (never new fields, so manifests stay valid
/// Kubernetes).
pub const ANNOTATION_PREFIX: &str = "wasmjob.dev/";
/// Pod annotation: fuel budget of every container run of the pod.
pub const FUEL_ANNOTATION: &str = "wasmjob.dev/fuel";
/// Pod annotation prefix: `wasmjob.dev/fuel.<container>` is that container's fuel budget.
pub const FUEL_ANNOTATION_PREFIX: &str = "wasmjob.dev/fuel.";
/// Pod annotation prefix: `wasmjob.dev/module.<container>` overrides the container's `image`.
pub const MODULE_ANNOTATION_PREFIX: &str = "wasmjob.dev/module.";
/// Job annotation: a file of work-queue items, one per line (relative to the manifest's
/// folder).
pub const ITEMS_FILE_ANNOTATION: &str = "wasmjob.dev/items-file";
/// Pod condition carrying the progress a task reported: message `"42%"`, `"42%: text"` or
/// `"text"` (a custom condition type, as readiness gates use).
pub const PROGRESS_CONDITION: &str = "wasmjob.dev/Progress";

/// A Job read from a manifest, defaulted and valid, with the warnings it earned.
#[derive(Debug, Clone)]
pub struct LoadedJob {
    pub job: Job,
    pub warnings: Vec<String>,
    /// 0-based index of the document within its file.
    pub document: usize,
}

/// Why a manifest was refused: every invalid document with every error found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub objects: Vec<InvalidObject>,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, o) in self.objects.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{o}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ManifestError {}

/// Reads every document of a manifest file as a Job, applies the API server's defaults and
/// validates it. All or nothing: one invalid document refuses the whole file.
///
/// Hostile input costs bounded time, memory and stack: a file larger than
/// [`parse::MAX_MANIFEST_BYTES`] or with more than [`parse::MAX_DOCUMENTS`] documents is refused
/// before any document is read, and each document is read within the limits that
/// [`parse::yaml_options`] lists (JSON: [`parse::MAX_DEPTH`]).
pub fn load_jobs(text: &str, source: &str) -> Result<Vec<LoadedJob>, ManifestError> {
    let invalid =
        |document: usize, kind: &str, name: &str, errors: Vec<FieldError>| InvalidObject {
            source: source.to_string(),
            document,
            kind: kind.to_string(),
            name: name.to_string(),
            errors,
        };
    if text.len() > parse::MAX_MANIFEST_BYTES {
        let e = FieldError::new(
            "",
            FieldErrorKind::Malformed,
            format!(
                "manifest is larger than {} bytes",
                parse::MAX_MANIFEST_BYTES
            ),
        );
        return Err(ManifestError {
            objects: vec![invalid(0, "", "", vec![e])],
        });
    }
    let mut jobs = Vec::new();
    let mut bad = Vec::new();
    let docs = parse::split_documents(text);
    if docs.is_empty() {
        let e = FieldError::new("", FieldErrorKind::Malformed, "no objects passed to apply");
        return Err(ManifestError {
            objects: vec![invalid(0, "", "", vec![e])],
        });
    }
    if docs.len() > parse::MAX_DOCUMENTS {
        let e = FieldError::new(
            "",
            FieldErrorKind::Malformed,
            format!(
                "manifest holds more than {} documents",
                parse::MAX_DOCUMENTS
            ),
        );
        return Err(ManifestError {
            objects: vec![invalid(parse::MAX_DOCUMENTS, "", "", vec![e])],
        });
    }
    for (i, doc) in docs.iter().enumerate() {
        let mut job: Job = match parse::read_document(doc) {
            Ok(j) => j,
            Err(e) => {
                bad.push(invalid(i, "Job", "", vec![e]));
                continue;
            }
        };
        defaults::apply(&mut job);
        let mut errors = validate::validate_job(&job);
        if !errors.is_empty() {
            validate::locate(&mut errors, doc);
            bad.push(invalid(i, &job.kind, job.name(), errors));
            continue;
        }
        let warnings = warnings::collect(&job);
        jobs.push(LoadedJob {
            job,
            warnings,
            document: i,
        });
    }
    if bad.is_empty() {
        Ok(jobs)
    } else {
        Err(ManifestError { objects: bad })
    }
}
