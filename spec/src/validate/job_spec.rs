//! JobSpec and its selector (pkg/apis/batch/validation `validateJobSpec`, `ValidateGeneratedSelector`).

use super::*;

// JobSpec

pub(super) fn job_spec(job: &Job, errs: &mut Vec<FieldError>) {
    let spec = &job.spec;
    non_negative(errs, "spec.parallelism", spec.parallelism);
    non_negative(errs, "spec.completions", spec.completions);
    non_negative(
        errs,
        "spec.activeDeadlineSeconds",
        spec.active_deadline_seconds,
    );
    non_negative(errs, "spec.backoffLimit", spec.backoff_limit);
    non_negative(
        errs,
        "spec.ttlSecondsAfterFinished",
        spec.ttl_seconds_after_finished,
    );
    completion_mode(job, errs);
    per_index_limits(job, errs);
    pod_replacement_policy(spec, errs);
    if let Some(managed_by) = &spec.managed_by {
        managed_by_errors(managed_by, errs);
    }
}

pub(super) fn completion_mode(job: &Job, errs: &mut Vec<FieldError>) {
    let spec = &job.spec;
    let mode = spec.completion_mode.as_deref().unwrap_or(NON_INDEXED);
    if mode != NON_INDEXED && mode != INDEXED {
        errs.push(FieldError::unsupported(
            "spec.completionMode",
            mode,
            &[INDEXED, NON_INDEXED],
        ));
    }
    if mode != INDEXED {
        return;
    }
    match spec.completions {
        None => errs.push(FieldError::required(
            "spec.completions",
            "when completion mode is Indexed",
        )),
        Some(completions) if completions > 0 && !job.name().is_empty() => {
            let hostname = format!("{}-{}", job.name(), completions - 1);
            if !dns_label_errors(&hostname).is_empty() {
                errs.push(FieldError::invalid(
                    "metadata.name",
                    job.name(),
                    format!("will not able to create pod with invalid DNS label: {hostname}"),
                ));
            }
        }
        Some(_) => {}
    }
    if let Some(p) = spec.parallelism
        && p > MAX_INDEXED_PARALLELISM
    {
        errs.push(FieldError::invalid(
            "spec.parallelism",
            p,
            format!(
                "must be less than or equal to {MAX_INDEXED_PARALLELISM} when completion mode is Indexed"
            ),
        ));
    }
}

pub(super) fn per_index_limits(job: &Job, errs: &mut Vec<FieldError>) {
    let spec = &job.spec;
    let indexed = job.is_indexed();
    if let Some(limit) = spec.backoff_limit_per_index {
        non_negative(errs, "spec.backoffLimitPerIndex", Some(limit));
        if !indexed {
            errs.push(FieldError::invalid(
                "spec.backoffLimitPerIndex",
                limit,
                "requires indexed completion mode",
            ));
        }
    }
    if let Some(max) = spec.max_failed_indexes {
        non_negative(errs, "spec.maxFailedIndexes", Some(max));
        if spec.backoff_limit_per_index.is_none() {
            errs.push(FieldError::required(
                "spec.backoffLimitPerIndex",
                "when maxFailedIndexes is specified",
            ));
        }
        if !indexed {
            errs.push(FieldError::invalid(
                "spec.maxFailedIndexes",
                max,
                "requires indexed completion mode",
            ));
        }
        if max > MAX_FAILED_INDEXES {
            errs.push(FieldError::invalid(
                "spec.maxFailedIndexes",
                max,
                format!("must be less than or equal to {MAX_FAILED_INDEXES}"),
            ));
        } else if let Some(completions) = spec.completions
            && max > completions
        {
            errs.push(FieldError::invalid(
                "spec.maxFailedIndexes",
                max,
                "must be less than or equal to completions",
            ));
        }
    }
    let high_completions = spec.completions.is_some_and(|c| c > COMPLETIONS_SOFT_LIMIT);
    if indexed && high_completions && spec.backoff_limit_per_index.is_some() {
        if spec.max_failed_indexes.is_none() {
            errs.push(FieldError::required(
                "spec.maxFailedIndexes",
                format!("must be specified when completions is above {COMPLETIONS_SOFT_LIMIT}"),
            ));
        }
        if let Some(p) = spec.parallelism
            && p > PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS
        {
            errs.push(FieldError::invalid(
                "spec.parallelism",
                p,
                format!(
                    "must be less than or equal to {PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS} when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index"
                ),
            ));
        }
    }
}

pub(super) fn pod_replacement_policy(spec: &JobSpec, errs: &mut Vec<FieldError>) {
    let Some(policy) = spec.pod_replacement_policy.as_deref() else {
        return;
    };
    let path = "spec.podReplacementPolicy";
    if spec.pod_failure_policy.is_some() {
        if policy != "Failed" {
            errs.push(FieldError::unsupported(path, policy, &["Failed"]));
        }
    } else if !matches!(policy, "Failed" | "TerminatingOrFailed") {
        errs.push(FieldError::unsupported(
            path,
            policy,
            &["Failed", "TerminatingOrFailed"],
        ));
    }
}

/// Go's `IsDomainPrefixedPath` plus the length limit of `managedBy`.
pub(super) fn managed_by_errors(value: &str, errs: &mut Vec<FieldError>) {
    let path = "spec.managedBy";
    if value.is_empty() {
        errs.push(FieldError::required(path, ""));
        return;
    }
    match value.split_once('/') {
        Some((host, rest)) if !host.is_empty() && !rest.is_empty() => {
            invalid_each(errs, path, host, dns_subdomain_errors(host));
            let ok = rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/-._~%!$&'()*+,;=:".contains(c));
            if !ok {
                errs.push(FieldError::invalid(
                    path,
                    rest,
                    regex_error("Invalid path", "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+", &[]),
                ));
            }
        }
        _ => errs.push(FieldError::invalid(
            path,
            value,
            "must be a domain-prefixed path (such as \"acme.io/foo\")",
        )),
    }
    if value.len() > MAX_MANAGED_BY_LENGTH {
        errs.push(FieldError::too_long(path, MAX_MANAGED_BY_LENGTH));
    }
}

// ---------------------------------------------------------------------------------------------
// selector / manualSelector

pub(super) fn selector(job: &Job, errs: &mut Vec<FieldError>) {
    let spec = &job.spec;
    let template_labels = &spec.template.metadata.labels;
    if spec.manual_selector == Some(true) {
        let Some(sel) = &spec.selector else {
            errs.push(FieldError::required("spec.selector", ""));
            return;
        };
        label_selector(sel, "spec.selector", errs);
        if !sel.matches(template_labels) {
            errs.push(invalid_json(
                "spec.template.metadata.labels",
                template_labels,
                "`selector` does not match template `labels`",
            ));
        }
        return;
    }
    if let Some(sel) = &spec.selector {
        errs.push(invalid_json(
            "spec.selector",
            sel,
            "`selector` not auto-generated",
        ));
    }
    let name = job.name();
    for key in [JOB_NAME_LABEL, LEGACY_JOB_NAME_LABEL] {
        if let Some(v) = template_labels.get(key)
            && !name.is_empty()
            && v != name
        {
            errs.push(FieldError::invalid(
                format!("spec.template.metadata.labels[{key}]"),
                v,
                format!("must be '{name}'"),
            ));
        }
    }
    for key in [CONTROLLER_UID_LABEL, LEGACY_CONTROLLER_UID_LABEL] {
        if let Some(v) = template_labels.get(key) {
            errs.push(FieldError::invalid(
                format!("spec.template.metadata.labels[{key}]"),
                v,
                "must not be set unless `manualSelector` is true: it is set to the uid of the new Job",
            ));
        }
    }
}

pub(super) fn label_selector(sel: &LabelSelector, path: &str, errs: &mut Vec<FieldError>) {
    labels(&sel.match_labels, &format!("{path}.matchLabels"), errs);
    for (i, req) in sel.match_expressions.iter().enumerate() {
        let p = format!("{path}.matchExpressions[{i}]");
        match req.operator.as_str() {
            "In" | "NotIn" if req.values.is_empty() => errs.push(FieldError::required(
                format!("{p}.values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if !req.values.is_empty() => {
                errs.push(FieldError::forbidden(
                    format!("{p}.values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                ))
            }
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errs.push(FieldError::invalid(
                format!("{p}.operator"),
                other,
                "not a valid selector operator",
            )),
        }
        invalid_each(
            errs,
            &format!("{p}.key"),
            &req.key,
            qualified_name_errors(&req.key),
        );
        for (j, v) in req.values.iter().enumerate() {
            invalid_each(errs, &format!("{p}.values[{j}]"), v, label_value_errors(v));
        }
    }
}
