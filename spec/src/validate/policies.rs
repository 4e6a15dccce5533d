//! podFailurePolicy and successPolicy (pkg/apis/batch/validation `validatePodFailurePolicy`, `validateSuccessPolicy`).

use super::*;

// podFailurePolicy

pub(super) fn pod_failure_policy(job: &Job, policy: &PodFailurePolicy, errs: &mut Vec<FieldError>) {
    let spec = &job.spec;
    if spec.template.spec.restart_policy.as_deref() == Some("OnFailure") {
        errs.push(FieldError::invalid(
            format!("{POD}.restartPolicy"),
            "OnFailure",
            "only \"Never\" is supported when podFailurePolicy is specified",
        ));
    }
    let rules_path = "spec.podFailurePolicy.rules";
    if policy.rules.len() > MAX_POD_FAILURE_POLICY_RULES {
        errs.push(too_many(
            rules_path,
            policy.rules.len(),
            MAX_POD_FAILURE_POLICY_RULES,
        ));
    }
    let names = container_names(&spec.template.spec);
    for (i, rule) in policy.rules.iter().enumerate() {
        let path = format!("{rules_path}[{i}]");
        let action_path = format!("{path}.action");
        const ACTIONS: [&str; 4] = ["Count", "FailIndex", "FailJob", "Ignore"];
        match rule.action.as_str() {
            "" => errs.push(FieldError::required(
                action_path,
                format!("valid values: {ACTIONS:?}"),
            )),
            "FailIndex" if spec.backoff_limit_per_index.is_none() => {
                errs.push(FieldError::invalid(
                    action_path,
                    "FailIndex",
                    "requires the backoffLimitPerIndex to be set",
                ))
            }
            a if ACTIONS.contains(&a) => {}
            a => errs.push(FieldError::unsupported(action_path, a, &ACTIONS)),
        }
        if let Some(req) = &rule.on_exit_codes {
            on_exit_codes(req, &format!("{path}.onExitCodes"), &names, errs);
        }
        let conditions = rule.on_pod_conditions.as_deref().unwrap_or_default();
        if !conditions.is_empty() {
            on_pod_conditions(conditions, &format!("{path}.onPodConditions"), errs);
        }
        match (rule.on_exit_codes.is_some(), !conditions.is_empty()) {
            (true, true) => errs.push(FieldError::invalid_omit_value(
                &path,
                "specifying both OnExitCodes and OnPodConditions is not supported",
            )),
            (false, false) => errs.push(FieldError::invalid_omit_value(
                &path,
                "specifying one of OnExitCodes and OnPodConditions is required",
            )),
            _ => {}
        }
    }
}

pub(super) fn on_exit_codes(
    req: &PodFailurePolicyOnExitCodesRequirement,
    path: &str,
    names: &BTreeSet<&str>,
    errs: &mut Vec<FieldError>,
) {
    let operator_path = format!("{path}.operator");
    match req.operator.as_str() {
        "" => errs.push(FieldError::required(
            operator_path,
            "valid values: [\"In\" \"NotIn\"]",
        )),
        "In" | "NotIn" => {}
        other => errs.push(FieldError::unsupported(
            operator_path,
            other,
            &["In", "NotIn"],
        )),
    }
    if let Some(name) = &req.container_name
        && !names.contains(name.as_str())
    {
        let mut e = FieldError::not_found(format!("{path}.containerName"), name);
        e.detail = "must be one of the container or initContainer names in the pod template".into();
        errs.push(e);
    }
    let values_path = format!("{path}.values");
    if req.values.is_empty() {
        errs.push(invalid_json(
            &values_path,
            &req.values,
            "at least one value is required",
        ));
    } else if req.values.len() > MAX_EXIT_CODE_VALUES {
        errs.push(too_many(
            &values_path,
            req.values.len(),
            MAX_EXIT_CODE_VALUES,
        ));
    }
    let mut seen = BTreeSet::new();
    for (j, &v) in req.values.iter().enumerate() {
        let p = format!("{values_path}[{j}]");
        if req.operator == "In" && v == 0 {
            errs.push(FieldError::invalid(
                &p,
                v,
                "must not be 0 for the In operator",
            ));
        }
        if !seen.insert(v) {
            errs.push(FieldError::duplicate(&p, &v.to_string()));
        }
    }
    if req.values.windows(2).any(|w| w[0] > w[1]) {
        errs.push(invalid_json(&values_path, &req.values, "must be ordered"));
    }
}

pub(super) fn on_pod_conditions(
    patterns: &[PodFailurePolicyOnPodConditionsPattern],
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    if patterns.len() > MAX_POD_CONDITION_PATTERNS {
        errs.push(too_many(path, patterns.len(), MAX_POD_CONDITION_PATTERNS));
    }
    const STATUSES: [&str; 3] = ["False", "True", "Unknown"];
    for (j, pattern) in patterns.iter().enumerate() {
        let p = format!("{path}[{j}]");
        invalid_each(
            errs,
            &format!("{p}.type"),
            &pattern.type_,
            qualified_name_errors(&pattern.type_),
        );
        let status_path = format!("{p}.status");
        match pattern.status.as_deref().unwrap_or("") {
            "" => errs.push(FieldError::required(
                status_path,
                format!("valid values: {STATUSES:?}"),
            )),
            s if STATUSES.contains(&s) => {}
            s => errs.push(FieldError::unsupported(status_path, s, &STATUSES)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// successPolicy

pub(super) fn success_policy(job: &Job, policy: &SuccessPolicy, errs: &mut Vec<FieldError>) {
    let path = "spec.successPolicy";
    if !job.is_indexed() {
        errs.push(invalid_json(
            path,
            policy,
            "requires indexed completion mode",
        ));
    }
    let rules_path = format!("{path}.rules");
    if policy.rules.is_empty() {
        errs.push(FieldError::required(
            &rules_path,
            "at least one rules must be specified when the successPolicy is specified",
        ));
    }
    if policy.rules.len() > MAX_SUCCESS_POLICY_RULES {
        errs.push(too_many(
            &rules_path,
            policy.rules.len(),
            MAX_SUCCESS_POLICY_RULES,
        ));
    }
    let completions = job.spec.completions;
    for (i, rule) in policy.rules.iter().enumerate() {
        let p = format!("{rules_path}[{i}]");
        if rule.succeeded_count.is_none() && rule.succeeded_indexes.is_none() {
            errs.push(FieldError::required(
                &p,
                "at least one of succeededCount or succeededIndexes must be specified",
            ));
        }
        let mut total_indexes = None;
        if let Some(indexes) = &rule.succeeded_indexes {
            let ip = format!("{p}.succeededIndexes");
            if indexes.len() > MAX_SUCCEEDED_INDEXES_BYTES {
                errs.push(FieldError::too_long(&ip, MAX_SUCCEEDED_INDEXES_BYTES));
            } else {
                match count_indexes(indexes, completions) {
                    Ok(n) => total_indexes = Some(n),
                    Err(e) => errs.push(FieldError::invalid(
                        &ip,
                        indexes,
                        format!("error parsing succeededIndexes: {e}"),
                    )),
                }
            }
        }
        if let Some(count) = rule.succeeded_count {
            let cp = format!("{p}.succeededCount");
            non_negative(errs, &cp, Some(count));
            if let Some(c) = completions
                && count > c
            {
                errs.push(FieldError::invalid(
                    &cp,
                    count,
                    format!(
                        "must be less than or equal to {c} (the number of specified completions)"
                    ),
                ));
            }
            if let Some(total) = total_indexes
                && i64::from(count) > total
            {
                errs.push(FieldError::invalid(
                    &cp,
                    count,
                    format!(
                        "must be less than or equal to {total} (the number of indexes in the specified succeededIndexes field)"
                    ),
                ));
            }
        }
    }
}

/// Go's `validateIndexesFormat`: `"1,3-5,7"`, increasing, `a-b` with `a < b`, every index below
/// `completions` (when known). Returns how many indexes the list names.
pub(super) fn count_indexes(list: &str, completions: Option<i32>) -> Result<i64, String> {
    if list.is_empty() {
        return Ok(0);
    }
    let number = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| format!("cannot convert string to integer for index: {s:?}"))
    };
    let in_range = |x: i64, s: &str| match completions {
        Some(c) if x >= i64::from(c) => Err(format!("too large index: {s:?}")),
        _ => Ok(()),
    };
    let mut last: Option<i64> = None;
    let mut total = 0i64;
    for interval in list.split(',') {
        let limits: Vec<&str> = interval.split('-').collect();
        if limits.len() > 2 {
            return Err(format!(
                "the fragment {interval:?} violates the requirement that an index interval can have at most two parts separated by '-'"
            ));
        }
        let x = number(limits[0])?;
        in_range(x, limits[0])?;
        if let Some(prev) = last
            && prev >= x
        {
            return Err(format!(
                "non-increasing order, previous: {prev}, current: {x}"
            ));
        }
        total += 1;
        last = Some(x);
        if let Some(second) = limits.get(1) {
            let y = number(second)?;
            in_range(y, second)?;
            if x >= y {
                return Err(format!("non-increasing order, previous: {x}, current: {y}"));
            }
            total += y - x;
            last = Some(y);
        }
    }
    Ok(total)
}
