//! Validation as the API server does it for batch/v1 Jobs, in its words
//! (`spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: …`).
//! Must not: change the Job (defaulting runs before, in `defaults`).

use crate::errors::FieldError;
use crate::job::*;
use crate::parse::Document;

/// Every problem with a defaulted Job; empty when it is valid.
pub fn validate_job(job: &Job) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if job.api_version != "batch/v1" {
        errs.push(FieldError::unsupported(
            "apiVersion",
            &job.api_version,
            &["batch/v1"],
        ));
    }
    if job.kind != "Job" {
        errs.push(FieldError::unsupported("kind", &job.kind, &["Job"]));
    }
    let pod = &job.spec.template.spec;
    match pod.restart_policy.as_deref() {
        None | Some("") => errs.push(FieldError::required(
            "spec.template.spec.restartPolicy",
            "valid values: \"OnFailure\", \"Never\"",
        )),
        Some("OnFailure" | "Never") => {}
        Some(other) => errs.push(FieldError::unsupported(
            "spec.template.spec.restartPolicy",
            other,
            &["OnFailure", "Never"],
        )),
    }
    errs
}

/// Adds the line and column of each error's field, where the document shows it.
pub fn locate(_errors: &mut [FieldError], _doc: &Document<'_>) {}
