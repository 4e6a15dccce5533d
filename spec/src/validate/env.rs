//! Container env (pkg/apis/core/validation `ValidateEnv`): names, values, fieldRef and resourceFieldRef sources.

use super::*;

// env

pub(super) const ENV_FIELD_PATHS: [&str; 11] = [
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

pub(super) const RESOURCE_FIELD_PATHS: [&str; 6] = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

pub(super) fn env_var(env: &EnvVar, path: &str, ctx: &PodContext<'_>, errs: &mut Vec<FieldError>) {
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

pub(super) fn env_field_ref(fs: &ObjectFieldSelector, path: &str, errs: &mut Vec<FieldError>) {
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
pub(super) fn split_subscript(path: &str) -> Option<(&str, &str)> {
    let inner = path.strip_suffix("']")?;
    let (field, key) = inner.split_once("['")?;
    (!field.is_empty()).then_some((field, key))
}

pub(super) fn env_resource_field_ref(
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

pub(super) fn is_memory_divisor(bytes: u64) -> bool {
    (0..=6).any(|i| bytes == 1000u64.pow(i) || bytes == 1u64 << (10 * i))
}
