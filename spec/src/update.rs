//! Updates of a stored Job, as the API server's Job strategy allows them
//! (`ValidateJobUpdate`): which spec fields may change on a live Job, the elastic-Indexed rule
//! for `completions`, and Kubernetes' `field is immutable` wording for everything else.
//! Must not: apply the update (the store does, bumping `metadata.generation`).

use crate::errors::FieldError;
use crate::job::Job;

/// Every reason `new` may not replace `old`; empty when the update is allowed.
pub fn validate_update(old: &Job, new: &Job) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let (o, n) = (&old.spec, &new.spec);
    if old.metadata.name != new.metadata.name {
        errs.push(immutable("metadata.name", &new.metadata.name));
    }
    if old.metadata.namespace != new.metadata.namespace {
        errs.push(immutable("metadata.namespace", &new.metadata.namespace));
    }
    if old.metadata.uid != new.metadata.uid {
        errs.push(immutable("metadata.uid", &new.metadata.uid));
    }
    if o.completions != n.completions {
        // ElasticIndexedJob: completions may change together with parallelism, to the same value.
        let elastic = new.is_indexed() && n.completions.is_some() && n.completions == n.parallelism;
        if !elastic {
            errs.push(immutable("spec.completions", &n.completions));
        }
    }
    let immutable_fields: [(&str, bool); 9] = [
        (
            "spec.completionMode",
            o.completion_mode != n.completion_mode,
        ),
        (
            "spec.backoffLimitPerIndex",
            o.backoff_limit_per_index != n.backoff_limit_per_index,
        ),
        (
            "spec.podFailurePolicy",
            o.pod_failure_policy != n.pod_failure_policy,
        ),
        ("spec.successPolicy", o.success_policy != n.success_policy),
        ("spec.selector", o.selector != n.selector),
        (
            "spec.manualSelector",
            o.manual_selector != n.manual_selector,
        ),
        ("spec.managedBy", o.managed_by != n.managed_by),
        ("spec.template", o.template != n.template),
        (
            "apiVersion",
            old.api_version != new.api_version || old.kind != new.kind,
        ),
    ];
    for (path, changed) in immutable_fields {
        if changed {
            errs.push(FieldError::invalid(path, "<changed>", "field is immutable"));
        }
    }
    for (path, value) in [
        ("spec.parallelism", n.parallelism.map(i64::from)),
        ("spec.activeDeadlineSeconds", n.active_deadline_seconds),
        ("spec.backoffLimit", n.backoff_limit.map(i64::from)),
        (
            "spec.ttlSecondsAfterFinished",
            n.ttl_seconds_after_finished.map(i64::from),
        ),
        ("spec.maxFailedIndexes", n.max_failed_indexes.map(i64::from)),
        ("spec.completions", n.completions.map(i64::from)),
    ] {
        if let Some(v) = value.filter(|v| *v < 0) {
            errs.push(FieldError::invalid(
                path,
                v,
                "must be greater than or equal to 0",
            ));
        }
    }
    if let (Some(max), Some(c)) = (n.max_failed_indexes, n.completions)
        && max > c
    {
        errs.push(FieldError::invalid(
            "spec.maxFailedIndexes",
            max,
            "must be less than or equal to completions",
        ));
    }
    if let Some(p) = n.pod_replacement_policy.as_deref()
        && !matches!(p, "TerminatingOrFailed" | "Failed")
    {
        errs.push(FieldError::unsupported(
            "spec.podReplacementPolicy",
            p,
            &["Failed", "TerminatingOrFailed"],
        ));
    }
    errs
}

fn immutable<T: std::fmt::Debug>(path: &str, value: &Option<T>) -> FieldError {
    match value {
        Some(v) => FieldError::invalid(path, v, "field is immutable"),
        None => FieldError::invalid(path, "null", "field is immutable"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        let mut j = Job {
            api_version: "batch/v1".into(),
            kind: "Job".into(),
            ..Default::default()
        };
        j.metadata.name = Some("j".into());
        j.spec.parallelism = Some(2);
        j.spec.completions = Some(4);
        j
    }

    #[test]
    fn mutable_fields_may_change() {
        let old = job();
        let mut new = old.clone();
        new.spec.parallelism = Some(5);
        new.spec.suspend = Some(true);
        new.spec.active_deadline_seconds = Some(30);
        new.spec.ttl_seconds_after_finished = Some(0);
        assert_eq!(validate_update(&old, &new), vec![]);
    }

    #[test]
    fn completions_are_immutable_unless_elastic_indexed() {
        let old = job();
        let mut new = old.clone();
        new.spec.completions = Some(5);
        let errs = validate_update(&old, &new);
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].to_string(),
            "spec.completions: Invalid value: 5: field is immutable"
        );
        let mut indexed = old.clone();
        indexed.spec.completion_mode = Some("Indexed".into());
        let mut elastic = indexed.clone();
        elastic.spec.completions = Some(3);
        elastic.spec.parallelism = Some(3);
        assert_eq!(validate_update(&indexed, &elastic), vec![]);
        elastic.spec.parallelism = Some(2);
        assert_eq!(validate_update(&indexed, &elastic).len(), 1);
    }

    #[test]
    fn template_and_policies_are_immutable() {
        let old = job();
        let mut new = old.clone();
        new.spec.template.spec.restart_policy = Some("OnFailure".into());
        new.spec.completion_mode = Some("Indexed".into());
        let text: Vec<String> = validate_update(&old, &new)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert!(
            text.contains(
                &"spec.template: Invalid value: \"<changed>\": field is immutable".to_string()
            ),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.starts_with("spec.completionMode")),
            "{text:?}"
        );
    }

    #[test]
    fn new_values_are_validated() {
        let old = job();
        let mut new = old.clone();
        new.spec.parallelism = Some(-1);
        assert_eq!(
            validate_update(&old, &new)[0].to_string(),
            "spec.parallelism: Invalid value: -1: must be greater than or equal to 0"
        );
    }
}
