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

// ---------------------------------------------------------------------------------------------
// Limits of the API (pkg/apis/batch/validation and apimachinery)

const MAX_INDEXED_PARALLELISM: i32 = 100_000;
const MAX_FAILED_INDEXES: i32 = 100_000;
const COMPLETIONS_SOFT_LIMIT: i32 = 100_000;
const PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS: i32 = 10_000;
const MAX_POD_FAILURE_POLICY_RULES: usize = 20;
const MAX_EXIT_CODE_VALUES: usize = 255;
const MAX_POD_CONDITION_PATTERNS: usize = 20;
const MAX_SUCCESS_POLICY_RULES: usize = 20;
const MAX_SUCCEEDED_INDEXES_BYTES: usize = 64 * 1024;
const MAX_MANAGED_BY_LENGTH: usize = 63;
const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;
const LABEL_VALUE_MAX_LENGTH: usize = 63;
const DNS1123_LABEL_MAX_LENGTH: usize = 63;
const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;
const QUALIFIED_NAME_MAX_LENGTH: usize = 63;

const POD: &str = "spec.template.spec";
const NOT_NEGATIVE: &str = "must be greater than or equal to 0";
const NO_CONFIG: &str = "not supported by wasmjob: there are no ConfigMaps or Secrets; use `value` or a hostPath volume";
const SUPPORTED_VOLUMES: &str =
    "not supported by wasmjob (supported: emptyDir, hostPath, csi with driver outputs.wasmjob.dev)";

// ---------------------------------------------------------------------------------------------
// Name rules (k8s.io/apimachinery/pkg/util/validation), with their messages

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const QUALIFIED_NAME_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// Go's `validation.RegexError`: the rule, examples, and the regex.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let ex: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{msg} (e.g. {}regex used for validation is '{fmt}')",
        ex.join(" or ")
    )
}

fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.iter().all(|c| alnum(c) || *c == b'-')
        && alnum(&b[0])
        && alnum(&b[b.len() - 1])
}

fn is_dns_subdomain(s: &str) -> bool {
    s.split('.').all(is_dns_label)
}

/// The name part of a qualified name, and a non-empty label value.
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    let ext = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.');
    !b.is_empty()
        && b.iter().all(ext)
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// Why `s` is not a DNS-1123 label (a namespace name, a container name); empty when it is.
pub fn dns_label_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !is_dns_label(s) {
        if is_dns_subdomain(s) {
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

fn dns_subdomain_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !is_dns_subdomain(s) {
        errs.push(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// Go's `IsQualifiedName`: `[prefix/]name`, prefix a DNS subdomain, name ≤ 63 characters.
fn qualified_name_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let examples = ["MyName", "my.name", "123-abc"];
    let parts: Vec<&str> = s.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                errs.extend(
                    dns_subdomain_errors(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, &examples)
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > QUALIFIED_NAME_MAX_LENGTH {
        errs.push(format!(
            "name part {}",
            max_len_error(QUALIFIED_NAME_MAX_LENGTH)
        ));
    }
    if !is_qualified_name_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, &examples)
        ));
    }
    errs
}

fn label_value_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !s.is_empty() && !is_qualified_name_part(s) {
        errs.push(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// One `Invalid value` error per message of a name rule.
fn invalid_each(errs: &mut Vec<FieldError>, path: &str, value: &str, messages: Vec<String>) {
    for m in messages {
        errs.push(FieldError::invalid(path, value, m));
    }
}

fn non_negative(errs: &mut Vec<FieldError>, path: &str, value: Option<impl Into<i64> + Copy>) {
    if let Some(v) = value {
        let v: i64 = v.into();
        if v < 0 {
            errs.push(FieldError::invalid(path, v, NOT_NEGATIVE));
        }
    }
}

/// `Too many: <n>: must have at most <max> items`, as an `Invalid value`.
fn too_many(path: &str, n: usize, max: usize) -> FieldError {
    FieldError::invalid(path, n, format!("must have at most {max} items"))
}

/// `Invalid value: <json>: <detail>`, for maps and structs (Go prints them with `%#v`).
fn invalid_json(path: &str, value: &impl serde::Serialize, detail: &str) -> FieldError {
    let shown = serde_json::to_string(value).unwrap_or_default();
    FieldError::new(path, FieldErrorKind::Invalid(shown), detail)
}

fn has_dotdot(path: &str) -> bool {
    path.split(['/', '\\']).any(|part| part == "..")
}

// ---------------------------------------------------------------------------------------------
// apiVersion, kind, metadata

fn type_meta(job: &Job, errs: &mut Vec<FieldError>) {
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
}

fn job_metadata(job: &Job, errs: &mut Vec<FieldError>) {
    let meta = &job.metadata;
    let generate_name = meta.generate_name.as_deref().unwrap_or("");
    match meta.name.as_deref().unwrap_or("") {
        "" if generate_name.is_empty() => errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        )),
        "" => {}
        name => {
            let messages = dns_subdomain_errors(name);
            let too_long_for_label = messages.is_empty() && name.len() > LABEL_VALUE_MAX_LENGTH;
            invalid_each(errs, "metadata.name", name, messages);
            if too_long_for_label {
                errs.push(FieldError::invalid(
                    "metadata.name",
                    name,
                    max_len_error(LABEL_VALUE_MAX_LENGTH),
                ));
            }
        }
    }
    if !generate_name.is_empty() {
        // A prefix: a trailing '-' is fine, the random suffix follows it.
        let masked = match generate_name.strip_suffix('-') {
            Some(head) if !head.is_empty() => format!("{head}a"),
            _ => generate_name.to_string(),
        };
        invalid_each(
            errs,
            "metadata.generateName",
            generate_name,
            dns_subdomain_errors(&masked),
        );
    }
    if let Some(ns) = &meta.namespace {
        invalid_each(errs, "metadata.namespace", ns, dns_label_errors(ns));
    }
    labels(&meta.labels, "metadata.labels", errs);
    annotations(&meta.annotations, "metadata.annotations", errs);
}

fn template_metadata(meta: &ObjectMeta, errs: &mut Vec<FieldError>) {
    labels(&meta.labels, "spec.template.metadata.labels", errs);
    annotations(
        &meta.annotations,
        "spec.template.metadata.annotations",
        errs,
    );
}

fn labels(map: &BTreeMap<String, String>, path: &str, errs: &mut Vec<FieldError>) {
    for (k, v) in map {
        let p = format!("{path}[{k}]");
        invalid_each(errs, &p, k, qualified_name_errors(k));
        invalid_each(errs, &p, v, label_value_errors(v));
    }
}

fn annotations(map: &BTreeMap<String, String>, path: &str, errs: &mut Vec<FieldError>) {
    let mut total = 0usize;
    for (k, v) in map {
        total = total.saturating_add(k.len()).saturating_add(v.len());
        let p = format!("{path}[{k}]");
        invalid_each(errs, &p, k, qualified_name_errors(&k.to_lowercase()));
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
}

// ---------------------------------------------------------------------------------------------
// JobSpec

fn job_spec(job: &Job, errs: &mut Vec<FieldError>) {
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

fn completion_mode(job: &Job, errs: &mut Vec<FieldError>) {
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

fn per_index_limits(job: &Job, errs: &mut Vec<FieldError>) {
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

fn pod_replacement_policy(spec: &JobSpec, errs: &mut Vec<FieldError>) {
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
fn managed_by_errors(value: &str, errs: &mut Vec<FieldError>) {
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

fn selector(job: &Job, errs: &mut Vec<FieldError>) {
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

fn label_selector(sel: &LabelSelector, path: &str, errs: &mut Vec<FieldError>) {
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

// ---------------------------------------------------------------------------------------------
// podFailurePolicy

fn pod_failure_policy(job: &Job, policy: &PodFailurePolicy, errs: &mut Vec<FieldError>) {
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

fn on_exit_codes(
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

fn on_pod_conditions(
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

fn success_policy(job: &Job, policy: &SuccessPolicy, errs: &mut Vec<FieldError>) {
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
fn count_indexes(list: &str, completions: Option<i32>) -> Result<i64, String> {
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

// ---------------------------------------------------------------------------------------------
// Pod template spec

/// Names of every container and init container of the pod.
fn container_names(pod: &PodSpec) -> BTreeSet<&str> {
    pod.containers
        .iter()
        .chain(&pod.init_containers)
        .map(|c| c.name.as_str())
        .collect()
}

/// What container validation needs to know about the rest of the pod.
struct PodContext<'a> {
    volumes: BTreeSet<&'a str>,
    containers: BTreeSet<&'a str>,
    annotations: &'a BTreeMap<String, String>,
}

fn pod_spec(job: &Job, errs: &mut Vec<FieldError>) {
    let pod = &job.spec.template.spec;
    restart_policy(pod, errs);
    if let Some(d) = pod.active_deadline_seconds
        && !(1..=i64::from(i32::MAX)).contains(&d)
    {
        errs.push(FieldError::invalid(
            format!("{POD}.activeDeadlineSeconds"),
            d,
            "must be between 1 and 2147483647, inclusive",
        ));
    }
    non_negative(
        errs,
        &format!("{POD}.terminationGracePeriodSeconds"),
        pod.termination_grace_period_seconds,
    );
    for (field, value) in [("hostname", &pod.hostname), ("subdomain", &pod.subdomain)] {
        if let Some(v) = value {
            invalid_each(errs, &format!("{POD}.{field}"), v, dns_label_errors(v));
        }
    }
    let ctx = PodContext {
        volumes: volumes(&pod.volumes, errs),
        containers: container_names(pod),
        annotations: &job.spec.template.metadata.annotations,
    };
    if pod.containers.is_empty() {
        errs.push(FieldError::required(format!("{POD}.containers"), ""));
    }
    let mut seen = BTreeSet::new();
    let groups = [
        ("containers", &pod.containers),
        ("initContainers", &pod.init_containers),
    ];
    for (group, containers) in groups {
        for (i, c) in containers.iter().enumerate() {
            let path = format!("{POD}.{group}[{i}]");
            if !c.name.is_empty() && !seen.insert(c.name.as_str()) {
                errs.push(FieldError::duplicate(format!("{path}.name"), &c.name));
            }
            container(c, &path, &ctx, errs);
        }
    }
}

fn restart_policy(pod: &PodSpec, errs: &mut Vec<FieldError>) {
    let path = format!("{POD}.restartPolicy");
    match pod.restart_policy.as_deref() {
        None | Some("") => errs.push(FieldError::required(
            path,
            "valid values: \"OnFailure\", \"Never\"",
        )),
        Some("OnFailure" | "Never") => {}
        Some(other) => errs.push(FieldError::unsupported(
            path,
            other,
            &["OnFailure", "Never"],
        )),
    }
}

fn container(c: &Container, path: &str, ctx: &PodContext<'_>, errs: &mut Vec<FieldError>) {
    let name_path = format!("{path}.name");
    if c.name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else {
        invalid_each(errs, &name_path, &c.name, dns_label_errors(&c.name));
    }
    let module_key = format!("{MODULE_ANNOTATION_PREFIX}{}", c.name);
    let has_module = ctx
        .annotations
        .get(&module_key)
        .is_some_and(|m| !m.is_empty());
    if c.image.as_deref().unwrap_or("").is_empty() && !has_module {
        errs.push(FieldError::required(
            format!("{path}.image"),
            format!("set `image` or the pod template annotation {module_key:?}"),
        ));
    }
    if let Some(dir) = &c.working_dir
        && !dir.starts_with('/')
    {
        errs.push(FieldError::invalid(
            format!("{path}.workingDir"),
            dir,
            "must be an absolute path",
        ));
    }
    for (i, env) in c.env.iter().enumerate() {
        env_var(env, &format!("{path}.env[{i}]"), ctx, errs);
    }
    if c.env_from.is_some() {
        errs.push(FieldError::forbidden(format!("{path}.envFrom"), NO_CONFIG));
    }
    if c.volume_devices.is_some() {
        errs.push(FieldError::forbidden(
            format!("{path}.volumeDevices"),
            "not supported by wasmjob",
        ));
    }
    if c.restart_policy.is_some() {
        errs.push(FieldError::forbidden(
            format!("{path}.restartPolicy"),
            "not supported by wasmjob",
        ));
    }
    if let Some(res) = &c.resources {
        resources(res, &format!("{path}.resources"), errs);
    }
    volume_mounts(&c.volume_mounts, &format!("{path}.volumeMounts"), ctx, errs);
}

// ---------------------------------------------------------------------------------------------
// env

const ENV_FIELD_PATHS: [&str; 11] = [
    "metadata.annotations['<KEY>']",
    "metadata.labels['<KEY>']",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

const RESOURCE_FIELD_PATHS: [&str; 6] = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

fn env_var(env: &EnvVar, path: &str, ctx: &PodContext<'_>, errs: &mut Vec<FieldError>) {
    let name_path = format!("{path}.name");
    if env.name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else if env
        .name
        .bytes()
        .any(|b| !(b' '..=b'~').contains(&b) || b == b'=')
    {
        errs.push(FieldError::invalid(
            &name_path,
            &env.name,
            "a valid environment variable name must consist only of printable ASCII characters other than '='",
        ));
    }
    let Some(from) = &env.value_from else {
        return;
    };
    let from_path = format!("{path}.valueFrom");
    if env.value.as_deref().is_some_and(|v| !v.is_empty()) {
        errs.push(FieldError::invalid(
            &from_path,
            "",
            "may not be specified when `value` is not empty",
        ));
    }
    let sources = [
        ("configMapKeyRef", from.config_map_key_ref.is_some()),
        ("secretKeyRef", from.secret_key_ref.is_some()),
        ("fileKeyRef", from.file_key_ref.is_some()),
    ];
    let unsupported: Vec<&str> = sources.iter().filter(|s| s.1).map(|s| s.0).collect();
    let count = unsupported.len()
        + usize::from(from.field_ref.is_some())
        + usize::from(from.resource_field_ref.is_some());
    match count {
        0 => errs.push(FieldError::invalid(
            &from_path,
            "",
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        )),
        1 => {}
        _ => errs.push(FieldError::invalid(
            &from_path,
            "",
            "may not have more than one field specified at a time",
        )),
    }
    for source in unsupported {
        errs.push(FieldError::forbidden(
            format!("{from_path}.{source}"),
            NO_CONFIG,
        ));
    }
    if let Some(field_ref) = &from.field_ref {
        env_field_ref(field_ref, &format!("{from_path}.fieldRef"), errs);
    }
    if let Some(rf) = &from.resource_field_ref {
        env_resource_field_ref(rf, &format!("{from_path}.resourceFieldRef"), ctx, errs);
    }
}

fn env_field_ref(fs: &ObjectFieldSelector, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(v) = fs.api_version.as_deref()
        && !v.is_empty()
        && v != "v1"
    {
        errs.push(FieldError::unsupported(
            format!("{path}.apiVersion"),
            v,
            &["v1"],
        ));
    }
    let fp_path = format!("{path}.fieldPath");
    let fp = fs.field_path.as_str();
    if fp.is_empty() {
        errs.push(FieldError::required(fp_path, ""));
        return;
    }
    if let Some((field, key)) = split_subscript(fp) {
        match field {
            "metadata.annotations" => invalid_each(
                errs,
                &fp_path,
                key,
                qualified_name_errors(&key.to_lowercase()),
            ),
            "metadata.labels" => invalid_each(errs, &fp_path, key, qualified_name_errors(key)),
            _ => errs.push(FieldError::invalid(
                &fp_path,
                field,
                "does not support subscript",
            )),
        }
    } else if !ENV_FIELD_PATHS.contains(&fp) {
        errs.push(FieldError::unsupported(fp_path, fp, &ENV_FIELD_PATHS));
    }
}

/// `metadata.labels['key']` → `("metadata.labels", "key")` (Go's `SplitMaybeSubscriptedPath`).
fn split_subscript(path: &str) -> Option<(&str, &str)> {
    let inner = path.strip_suffix("']")?;
    let (field, key) = inner.split_once("['")?;
    (!field.is_empty()).then_some((field, key))
}

fn env_resource_field_ref(
    rf: &ResourceFieldSelector,
    path: &str,
    ctx: &PodContext<'_>,
    errs: &mut Vec<FieldError>,
) {
    if let Some(name) = rf.container_name.as_deref()
        && !name.is_empty()
        && !ctx.containers.contains(name)
    {
        errs.push(FieldError::not_found(format!("{path}.containerName"), name));
    }
    let resource = rf.resource.as_str();
    let hugepages = ["limits.hugepages-", "requests.hugepages-"]
        .iter()
        .any(|p| resource.starts_with(p));
    if resource.is_empty() {
        errs.push(FieldError::required(format!("{path}.resource"), ""));
    } else if !RESOURCE_FIELD_PATHS.contains(&resource) && !hugepages {
        errs.push(FieldError::unsupported(
            format!("{path}.resource"),
            resource,
            &RESOURCE_FIELD_PATHS,
        ));
    }
    let Some(divisor) = &rf.divisor else {
        return;
    };
    let dp = format!("{path}.divisor");
    if !quantity_ok(divisor, &dp, errs) {
        return;
    }
    let milli = milli_ceil(divisor);
    let whole = divisor.to_bytes_ceil().ok();
    let exact_whole = matches!((milli, whole), (Some(m), Some(w)) if m == w.saturating_mul(1000));
    let (ok, detail) = match resource {
        "limits.cpu" | "requests.cpu" => (
            matches!(milli, Some(1 | 1000)),
            "only divisor's values 1m and 1 are supported with the cpu resource",
        ),
        "limits.memory" | "requests.memory" => (
            exact_whole && whole.is_some_and(is_memory_divisor),
            "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource",
        ),
        "limits.ephemeral-storage" | "requests.ephemeral-storage" => (
            exact_whole && whole.is_some_and(is_memory_divisor),
            "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the local ephemeral storage resource",
        ),
        _ => (true, ""),
    };
    if !ok {
        errs.push(FieldError::invalid(dp, resource, detail));
    }
}

fn is_memory_divisor(bytes: u64) -> bool {
    (0..=6).any(|i| bytes == 1000u64.pow(i) || bytes == 1u64 << (10 * i))
}

// ---------------------------------------------------------------------------------------------
// resources

/// Whether `name` is a standard container resource (`cpu`, `memory`, `ephemeral-storage`,
/// `hugepages-<size>`).
fn is_standard_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage")
        || name
            .strip_prefix("hugepages-")
            .is_some_and(|size| Quantity(size.to_string()).validate().is_ok())
}

/// Extended resources (`example.com/gpu`): whole numbers only, no overcommit.
fn is_extended_resource(name: &str) -> bool {
    match name.split_once('/') {
        Some((prefix, _)) => prefix != "kubernetes.io" && !prefix.ends_with(".kubernetes.io"),
        None => false,
    }
}

/// Checks a quantity's syntax and sign; false when it is not usable.
fn quantity_ok(q: &Quantity, path: &str, errs: &mut Vec<FieldError>) -> bool {
    if let Err(e) = q.validate() {
        errs.push(FieldError::invalid(path, &q.0, e.to_string()));
        return false;
    }
    if q.is_negative() {
        errs.push(FieldError::invalid(path, &q.0, NOT_NEGATIVE));
        return false;
    }
    // Kubernetes keeps arbitrarily large quantities; wasmjob counts them in 64 bits, and a
    // limit that does not fit must be refused, never read as "no limit".
    if q.to_bytes_ceil().is_err() {
        errs.push(FieldError::invalid(
            path,
            &q.0,
            format!("quantity is too large: must be at most {}", u64::MAX),
        ));
        return false;
    }
    true
}

/// The quantity in thousandths of a unit, rounded up (`500m` → 500, `2` → 2000, `0.1` → 100):
/// the decimal point of the number is moved three places, the suffix kept.
fn milli_ceil(q: &Quantity) -> Option<u64> {
    let s = q.0.trim();
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+' | b'-') => s.split_at(1),
        _ => ("", s),
    };
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(end);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let frac = format!("{frac:0<3}");
    let (moved, tail) = frac.split_at(3);
    let shifted = if tail.is_empty() {
        format!("{sign}{int}{moved}{suffix}")
    } else {
        format!("{sign}{int}{moved}.{tail}{suffix}")
    };
    Quantity(shifted).to_bytes_ceil().ok()
}

/// The value used to compare a request with its limit: milli-units for cpu, whole units else.
fn comparable(resource: &str, q: &Quantity) -> Option<u64> {
    if resource == "cpu" {
        milli_ceil(q)
    } else {
        q.to_bytes_ceil().ok()
    }
}

fn resources(res: &ResourceRequirements, path: &str, errs: &mut Vec<FieldError>) {
    let mut usable_limits = BTreeMap::new();
    for (name, q) in &res.limits {
        let p = format!("{path}.limits[{name}]");
        resource_name(name, &p, errs);
        if resource_quantity(name, q, &p, errs) {
            usable_limits.insert(name.as_str(), q);
        }
    }
    for (name, q) in &res.requests {
        let p = format!("{path}.requests[{name}]");
        resource_name(name, &p, errs);
        if !resource_quantity(name, q, &p, errs) {
            continue;
        }
        let overcommit = !name.starts_with("hugepages-") && !is_extended_resource(name);
        let Some(limit) = usable_limits.get(name.as_str()) else {
            if !overcommit && !res.limits.contains_key(name) {
                errs.push(FieldError::required(
                    format!("{path}.limits[{name}]"),
                    "Limit must be set for non overcommitable resources",
                ));
            }
            continue;
        };
        let (Some(r), Some(l)) = (comparable(name, q), comparable(name, limit)) else {
            continue;
        };
        if !overcommit && r != l {
            errs.push(FieldError::invalid(
                &p,
                &q.0,
                format!("must be equal to {name} limit of {}", limit.0),
            ));
        } else if r > l {
            errs.push(FieldError::invalid(
                &p,
                &q.0,
                format!("must be less than or equal to {name} limit of {}", limit.0),
            ));
        }
    }
}

fn resource_name(name: &str, path: &str, errs: &mut Vec<FieldError>) {
    if name.contains('/') {
        invalid_each(errs, path, name, qualified_name_errors(name));
    } else if !is_standard_resource(name) {
        errs.push(FieldError::invalid(
            path,
            name,
            "must be a standard resource for containers",
        ));
    }
}

fn resource_quantity(name: &str, q: &Quantity, path: &str, errs: &mut Vec<FieldError>) -> bool {
    if !quantity_ok(q, path, errs) {
        return false;
    }
    // cpu is compared in thousandths of a core.
    if name == "cpu" && milli_ceil(q).is_none() {
        errs.push(FieldError::invalid(
            path,
            &q.0,
            format!("quantity is too large: must be at most {}m", u64::MAX),
        ));
        return false;
    }
    if is_extended_resource(name) && milli_ceil(q).is_some_and(|m| m % 1000 != 0) {
        errs.push(FieldError::invalid(path, &q.0, "must be an integer"));
        return false;
    }
    true
}

// ---------------------------------------------------------------------------------------------
// volumes and mounts

/// Validates the pod's volumes; returns the names of those that exist.
fn volumes<'a>(volumes: &'a [Volume], errs: &mut Vec<FieldError>) -> BTreeSet<&'a str> {
    let mut names = BTreeSet::new();
    for (i, v) in volumes.iter().enumerate() {
        let path = format!("{POD}.volumes[{i}]");
        let name_path = format!("{path}.name");
        if v.name.is_empty() {
            errs.push(FieldError::required(&name_path, ""));
        } else {
            invalid_each(errs, &name_path, &v.name, dns_label_errors(&v.name));
            if !names.insert(v.name.as_str()) {
                errs.push(FieldError::duplicate(&name_path, &v.name));
            }
        }
        let sources = v.sources();
        if sources.is_empty() {
            errs.push(FieldError::required(&path, "must specify a volume type"));
        }
        for extra in sources.iter().skip(1) {
            errs.push(FieldError::forbidden(
                format!("{path}.{extra}"),
                "may not specify more than 1 volume type",
            ));
        }
        for kind in sources
            .iter()
            .filter(|s| !matches!(**s, "emptyDir" | "hostPath" | "csi"))
        {
            errs.push(FieldError::forbidden(
                format!("{path}.{kind}"),
                SUPPORTED_VOLUMES,
            ));
        }
        if let Some(hp) = &v.host_path {
            host_path(hp, &format!("{path}.hostPath"), errs);
        }
        if let Some(ed) = &v.empty_dir {
            empty_dir(ed, &format!("{path}.emptyDir"), errs);
        }
        if let Some(csi) = &v.csi {
            outputs_volume(csi, &format!("{path}.csi"), errs);
        }
    }
    names
}

/// A `csi` volume must be wasmjob's atomic outputs.
fn outputs_volume(csi: &CsiVolumeSource, path: &str, errs: &mut Vec<FieldError>) {
    let driver_path = format!("{path}.driver");
    if csi.driver.is_empty() {
        errs.push(FieldError::required(&driver_path, ""));
        return;
    }
    if csi.driver != OUTPUTS_DRIVER {
        errs.push(FieldError::unsupported(
            &driver_path,
            &csi.driver,
            &[OUTPUTS_DRIVER],
        ));
        return;
    }
    if csi.read_only == Some(true) {
        errs.push(FieldError::invalid(
            format!("{path}.readOnly"),
            true,
            "an outputs volume is written by its pods",
        ));
    }
    for (k, v) in &csi.volume_attributes {
        let p = format!("{path}.volumeAttributes.{k}");
        if k != OUTPUTS_PATH_ATTRIBUTE {
            errs.push(FieldError::unsupported(&p, k, &[OUTPUTS_PATH_ATTRIBUTE]));
        } else if v.is_empty() {
            errs.push(FieldError::required(&p, ""));
        } else if has_dotdot(v) {
            errs.push(FieldError::invalid(&p, v, "must not contain '..'"));
        }
    }
}

fn host_path(hp: &HostPathVolumeSource, path: &str, errs: &mut Vec<FieldError>) {
    let p = format!("{path}.path");
    if hp.path.is_empty() {
        errs.push(FieldError::required(&p, ""));
    } else if has_dotdot(&hp.path) {
        errs.push(FieldError::invalid(&p, &hp.path, "must not contain '..'"));
    }
    let t = hp.type_.as_deref().unwrap_or("");
    if !matches!(t, "" | "DirectoryOrCreate" | "Directory") {
        let mut e = FieldError::unsupported(
            format!("{path}.type"),
            t,
            &["", "DirectoryOrCreate", "Directory"],
        );
        e.detail = "WASI can only preopen directories".into();
        errs.push(e);
    }
}

fn empty_dir(ed: &EmptyDirVolumeSource, path: &str, errs: &mut Vec<FieldError>) {
    let medium = ed.medium.as_deref().unwrap_or("");
    if !matches!(medium, "" | "Memory") {
        errs.push(FieldError::unsupported(
            format!("{path}.medium"),
            medium,
            &["", "Memory"],
        ));
    }
    if let Some(limit) = &ed.size_limit {
        quantity_ok(limit, &format!("{path}.sizeLimit"), errs);
    }
}

fn volume_mounts(
    mounts: &[VolumeMount],
    path: &str,
    ctx: &PodContext<'_>,
    errs: &mut Vec<FieldError>,
) {
    let mut mount_paths = BTreeSet::new();
    for (i, m) in mounts.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if m.name.is_empty() {
            errs.push(FieldError::required(format!("{p}.name"), ""));
        } else if !ctx.volumes.contains(m.name.as_str()) {
            errs.push(FieldError::not_found(format!("{p}.name"), &m.name));
        }
        let mp = format!("{p}.mountPath");
        if m.mount_path.is_empty() {
            errs.push(FieldError::required(&mp, ""));
        } else {
            if !m.mount_path.starts_with('/') {
                errs.push(FieldError::invalid(
                    &mp,
                    &m.mount_path,
                    "must be an absolute path",
                ));
            }
            if !mount_paths.insert(m.mount_path.as_str()) {
                errs.push(FieldError::invalid(&mp, &m.mount_path, "must be unique"));
            }
        }
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            let sp = format!("{p}.subPath");
            if sub.starts_with('/') {
                errs.push(FieldError::invalid(&sp, sub, "must be a relative path"));
            }
            if has_dotdot(sub) {
                errs.push(FieldError::invalid(&sp, sub, "must not contain '..'"));
            }
        }
        if m.sub_path_expr.as_deref().is_some_and(|s| !s.is_empty()) {
            errs.push(FieldError::forbidden(
                format!("{p}.subPathExpr"),
                "not supported by wasmjob",
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// wasmjob.dev/ annotations

fn wasmjob_annotations(job: &Job, errs: &mut Vec<FieldError>) {
    let names = container_names(&job.spec.template.spec);
    let known = [
        FUEL_ANNOTATION,
        "wasmjob.dev/fuel.<container>",
        "wasmjob.dev/module.<container>",
    ];
    for (key, value) in &job.spec.template.metadata.annotations {
        if !key.starts_with(ANNOTATION_PREFIX) {
            continue;
        }
        let path = format!("spec.template.metadata.annotations[{key}]");
        let container = if key == FUEL_ANNOTATION {
            fuel(value, &path, errs);
            None
        } else if let Some(c) = key.strip_prefix(FUEL_ANNOTATION_PREFIX) {
            fuel(value, &path, errs);
            Some(c)
        } else if let Some(c) = key.strip_prefix(MODULE_ANNOTATION_PREFIX) {
            if value.is_empty() {
                errs.push(FieldError::invalid(
                    &path,
                    value,
                    "must name a WebAssembly module (a .wasm file or an image reference)",
                ));
            }
            Some(c)
        } else {
            errs.push(FieldError::unsupported(&path, key, &known));
            None
        };
        if let Some(c) = container
            && !names.contains(c)
        {
            let mut e = FieldError::not_found(&path, c);
            e.detail = "must name a container or init container of the pod template".into();
            errs.push(e);
        }
    }
}

fn fuel(value: &str, path: &str, errs: &mut Vec<FieldError>) {
    let ok = !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_digit())
        && value.parse::<u64>().is_ok_and(|n| n >= 1);
    if !ok {
        errs.push(FieldError::invalid(
            path,
            value,
            format!("must be a positive integer (1 to {})", u64::MAX),
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// locate

/// Upper bounds of the position index, so that a hostile document cannot make it expensive.
const MAX_LOCATE_EVENTS: usize = 1 << 20;
const MAX_LOCATE_DEPTH: usize = 256;
/// Most bytes of field paths the index may hold: each path repeats its parents', so a deep
/// document with long keys would otherwise cost its depth times its size.
const MAX_LOCATE_PATH_BYTES: usize = 16 << 20;

/// Adds the line and column of each error's field, where the document shows it: the field
/// itself, or else its nearest ancestor that the document holds.
pub fn locate(errors: &mut [FieldError], doc: &Document<'_>) {
    if errors.iter().all(|e| e.location.is_some()) {
        return;
    }
    let index = position_index(doc.text);
    for e in errors.iter_mut().filter(|e| e.location.is_none()) {
        if let Some((line, col)) = find_position(&index, &e.path) {
            e.location = Some((line + doc.first_line, col));
        }
    }
}

/// An open collection while walking the parser's events. `path` is `None` inside a mapping
/// key that is itself a collection (nothing there is a field).
enum Frame {
    Map {
        path: Option<String>,
        /// The path of the value that comes next; `None` while a key is expected.
        value_path: Option<Option<String>>,
    },
    Seq {
        path: Option<String>,
        next: usize,
    },
}

/// Field path → (1-based line within the document, 1-based column) of its key (or, for a
/// sequence item, of the item). Keys appear both as `a.key` and `a[key]`.
fn position_index(text: &str) -> HashMap<String, (usize, usize)> {
    use serde_saphyr::granit_parser::{Event, Options, Parser};
    let mut options = Options::default();
    options.set_emit_comments(false);
    let mut index = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut started = false;
    let mut path_bytes = 0usize;
    for (n, item) in Parser::new_from_str_with_options(text, options).enumerate() {
        let Ok((event, span)) = item else { break };
        if n >= MAX_LOCATE_EVENTS
            || stack.len() > MAX_LOCATE_DEPTH
            || path_bytes > MAX_LOCATE_PATH_BYTES
        {
            break;
        }
        let pos = (span.start.line(), span.start.col() + 1);
        match event {
            Event::DocumentStart(..) if started => break,
            Event::DocumentStart(..) => started = true,
            Event::DocumentEnd | Event::StreamEnd => break,
            Event::Scalar(value, ..) => {
                node(&mut stack, &mut index, &mut path_bytes, pos, Some(&value));
            }
            Event::Alias(..) => {
                node(&mut stack, &mut index, &mut path_bytes, pos, None);
            }
            Event::MappingStart(..) => {
                let path = node(&mut stack, &mut index, &mut path_bytes, pos, None);
                stack.push(Frame::Map {
                    path,
                    value_path: None,
                });
            }
            Event::SequenceStart(..) => {
                let path = node(&mut stack, &mut index, &mut path_bytes, pos, None);
                stack.push(Frame::Seq { path, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            _ => {}
        }
    }
    index
}

/// A node begins at `pos`; returns its field path (`None` for keys and ignored nodes).
/// `path_bytes` counts the bytes of the paths it indexes.
fn node(
    stack: &mut [Frame],
    index: &mut HashMap<String, (usize, usize)>,
    path_bytes: &mut usize,
    pos: (usize, usize),
    scalar: Option<&str>,
) -> Option<String> {
    match stack.last_mut() {
        None => Some(String::new()),
        Some(Frame::Seq { path, next }) => {
            let i = *next;
            *next += 1;
            let item = format!("{}[{i}]", path.as_ref()?);
            *path_bytes += item.len();
            index.entry(item.clone()).or_insert(pos);
            Some(item)
        }
        Some(Frame::Map { path, value_path }) => {
            if let Some(value) = value_path.take() {
                return value;
            }
            // A key: the value that follows gets its path.
            let child = match (path.as_deref(), scalar) {
                (Some(parent), Some(key)) => {
                    let dotted = if parent.is_empty() {
                        key.to_string()
                    } else {
                        index.entry(format!("{parent}[{key}]")).or_insert(pos);
                        format!("{parent}.{key}")
                    };
                    *path_bytes += 2 * dotted.len();
                    index.entry(dotted.clone()).or_insert(pos);
                    Some(dotted)
                }
                _ => None,
            };
            *value_path = Some(child);
            None
        }
    }
}

/// The position of `path`, or of its nearest ancestor in the index.
fn find_position(index: &HashMap<String, (usize, usize)>, path: &str) -> Option<(usize, usize)> {
    let mut p = path;
    while !p.is_empty() {
        if let Some(pos) = index.get(p) {
            return Some(*pos);
        }
        let cut = if p.ends_with(']') {
            p.rfind('[')
        } else {
            p.rfind(['.', '['])
        };
        p = &p[..cut?];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules_match_apimachinery() {
        assert!(dns_label_errors("my-name").is_empty());
        assert_eq!(dns_label_errors("a.b"), vec!["must not contain dots"]);
        assert!(dns_label_errors("-a")[0].contains("e.g. 'my-name',  or '123-abc'"));
        assert!(dns_subdomain_errors("example.com").is_empty());
        assert!(!dns_subdomain_errors("a..b").is_empty());
        assert!(qualified_name_errors("example.com/MyName").is_empty());
        assert_eq!(
            qualified_name_errors("/x"),
            vec!["prefix part must be non-empty"]
        );
        assert_eq!(qualified_name_errors("a/b/c").len(), 1);
        assert!(label_value_errors("").is_empty());
        assert!(!label_value_errors("-x").is_empty());
        assert_eq!(
            label_value_errors(&"a".repeat(64)),
            vec!["must be no more than 63 characters"]
        );
    }

    #[test]
    fn milli_units() {
        let m = |s: &str| milli_ceil(&Quantity(s.into()));
        assert_eq!(m("500m"), Some(500));
        assert_eq!(m("2"), Some(2000));
        assert_eq!(m("0.1"), Some(100));
        assert_eq!(m(".5"), Some(500));
        assert_eq!(m("1.2345"), Some(1235));
        assert_eq!(m("1k"), Some(1_000_000));
        assert_eq!(m("1e3"), Some(1_000_000));
        assert_eq!(m("1u"), Some(1));
        assert_eq!(m("-1"), None);
    }

    #[test]
    fn indexes_format() {
        assert_eq!(count_indexes("", Some(3)), Ok(0));
        assert_eq!(count_indexes("0,2-4,7", Some(8)), Ok(5));
        assert!(count_indexes("3-3", Some(8)).is_err());
        assert!(count_indexes("2,1", Some(8)).is_err());
        assert!(count_indexes("1-3,3", Some(8)).is_err());
        assert!(count_indexes("8", Some(8)).is_err());
        assert!(count_indexes("1-2-3", Some(8)).is_err());
        assert!(count_indexes("a", Some(8)).is_err());
        assert!(count_indexes(",", Some(8)).is_err());
    }

    #[test]
    fn index_records_keys_items_and_brackets() {
        let text = "a:\n  b:\n  - x: 1\n    y: [2, {z: 3}]\n  m:\n    k.io/v: w\n? [c]\n: d\n";
        let idx = position_index(text);
        assert_eq!(idx.get("a"), Some(&(1, 1)));
        assert_eq!(idx.get("a.b"), Some(&(2, 3)));
        assert_eq!(idx.get("a.b[0].x"), Some(&(3, 5)));
        assert_eq!(idx.get("a.b[0].y"), Some(&(4, 5)));
        assert_eq!(idx.get("a.b[0].y[1].z").map(|p| p.0), Some(4));
        assert_eq!(idx.get("a.m[k.io/v]"), Some(&(6, 5)));
        assert!(idx.keys().all(|k| !k.contains('c') && !k.contains('d')));
        assert_eq!(find_position(&idx, "a.b[0].missing"), Some((3, 5)));
        assert_eq!(find_position(&idx, "a.m[nope]"), Some((5, 3)));
        assert_eq!(find_position(&idx, "other"), None);
    }

    #[test]
    fn index_reads_json_and_survives_garbage() {
        let idx = position_index("{\n  \"spec\": {\"a\": [1, {\"b\": 2}]}\n}");
        assert_eq!(idx.get("spec.a[1].b").map(|p| p.0), Some(2));
        let deep = "[".repeat(10_000);
        assert!(position_index(&deep).is_empty());
        assert!(position_index("a: [1,\n").contains_key("a"));
    }
}
