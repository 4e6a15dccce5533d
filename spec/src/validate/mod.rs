//! Validation as the API server does it for batch/v1 Jobs submitted for creation, in its words
//! (`spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: …`), plus
//! wasmjob's own limits (no ConfigMaps, Secrets or volumes other than `emptyDir`/`hostPath`) and
//! its `wasmjob.dev/` annotations; and [`locate`], which finds each error's field in the source.
//! Runs on the defaulted manifest, before the selector and identity labels are generated.
//! Must not: change the Job (defaulting runs before, in `defaults`).

use crate::errors::{FieldError, FieldErrorKind};
use crate::job::*;
use crate::meta::{LabelSelector, ObjectMeta};
use crate::parse::Document;
use crate::pod::*;
use crate::quantity::Quantity;
use crate::{ANNOTATION_PREFIX, FUEL_ANNOTATION, FUEL_ANNOTATION_PREFIX, MODULE_ANNOTATION_PREFIX};
use std::collections::{BTreeMap, BTreeSet, HashMap};

mod annotations;
mod env;
mod job_spec;
mod locate;
mod metadata;
mod names;
mod pod;
mod policies;
mod resources;
#[cfg(test)]
mod tests;
mod volumes;

use annotations::*;
use env::*;
use job_spec::*;
pub use locate::*;
use metadata::*;
pub use names::*;
use pod::*;
use policies::*;
use resources::*;
use volumes::*;

/// Every problem with a defaulted Job; empty when it is valid.
pub fn validate_job(job: &Job) -> Vec<FieldError> {
    let mut errs = Vec::new();
    type_meta(job, &mut errs);
    job_metadata(job, &mut errs);
    job_spec(job, &mut errs);
    selector(job, &mut errs);
    if let Some(policy) = &job.spec.pod_failure_policy {
        pod_failure_policy(job, policy, &mut errs);
    }
    if let Some(policy) = &job.spec.success_policy {
        success_policy(job, policy, &mut errs);
    }
    template_metadata(&job.spec.template.metadata, &mut errs);
    pod_spec(job, &mut errs);
    wasmjob_annotations(job, &mut errs);
    errs
}

/// Every problem with a node a user changed (its metadata and taints; the API server's
/// `ValidateNode` on what a user may set).
pub fn validate_node(node: &crate::node::Node) -> Vec<FieldError> {
    let mut errs = Vec::new();
    labels(&node.metadata.labels, "metadata.labels", &mut errs);
    annotations(
        &node.metadata.annotations,
        "metadata.annotations",
        &mut errs,
    );
    for (i, t) in node.spec.taints.iter().enumerate() {
        let path = format!("spec.taints[{i}]");
        if t.key.is_empty() {
            errs.push(FieldError::required(format!("{path}.key"), ""));
        } else {
            invalid_each(
                &mut errs,
                &format!("{path}.key"),
                &t.key,
                qualified_name_errors(&t.key),
            );
        }
        let value = t.value.as_deref().unwrap_or("");
        invalid_each(
            &mut errs,
            &format!("{path}.value"),
            value,
            label_value_errors(value),
        );
        if !matches!(
            t.effect.as_str(),
            "NoSchedule" | "PreferNoSchedule" | "NoExecute"
        ) {
            errs.push(FieldError::unsupported(
                format!("{path}.effect"),
                &t.effect,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ));
        }
    }
    errs
}

// ---------------------------------------------------------------------------------------------
// Limits of the API (pkg/apis/batch/validation and apimachinery)

pub(super) const MAX_INDEXED_PARALLELISM: i32 = 100_000;
pub(super) const MAX_FAILED_INDEXES: i32 = 100_000;
pub(super) const COMPLETIONS_SOFT_LIMIT: i32 = 100_000;
pub(super) const PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS: i32 = 10_000;
pub(super) const MAX_POD_FAILURE_POLICY_RULES: usize = 20;
pub(super) const MAX_EXIT_CODE_VALUES: usize = 255;
pub(super) const MAX_POD_CONDITION_PATTERNS: usize = 20;
pub(super) const MAX_SUCCESS_POLICY_RULES: usize = 20;
pub(super) const MAX_SUCCEEDED_INDEXES_BYTES: usize = 64 * 1024;
pub(super) const MAX_MANAGED_BY_LENGTH: usize = 63;
pub(super) const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;
pub(super) const LABEL_VALUE_MAX_LENGTH: usize = 63;
pub(super) const DNS1123_LABEL_MAX_LENGTH: usize = 63;
pub(super) const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;
pub(super) const QUALIFIED_NAME_MAX_LENGTH: usize = 63;

pub(super) const POD: &str = "spec.template.spec";
pub(super) const NOT_NEGATIVE: &str = "must be greater than or equal to 0";
pub(super) const NO_CONFIG: &str = "not supported by wasmjob: there are no ConfigMaps or Secrets; use `value` or a hostPath volume";
pub(super) const SUPPORTED_VOLUMES: &str =
    "not supported by wasmjob (supported: emptyDir, hostPath, csi with driver outputs.wasmjob.dev)";
