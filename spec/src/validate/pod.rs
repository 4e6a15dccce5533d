//! The pod template spec (pkg/apis/core/validation `ValidatePodTemplateSpec`, as the Job validation calls it), and what wasmjob refuses in it.

use super::*;

// Pod template spec

/// Names of every container and init container of the pod.
pub(super) fn container_names(pod: &PodSpec) -> BTreeSet<&str> {
    pod.containers
        .iter()
        .chain(&pod.init_containers)
        .map(|c| c.name.as_str())
        .collect()
}

/// What container validation needs to know about the rest of the pod.
pub(super) struct PodContext<'a> {
    pub(super) volumes: BTreeSet<&'a str>,
    pub(super) containers: BTreeSet<&'a str>,
    pub(super) annotations: &'a BTreeMap<String, String>,
}

pub(super) fn pod_spec(job: &Job, errs: &mut Vec<FieldError>) {
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
    if let Some(selector) = &pod.node_selector {
        labels(selector, &format!("{POD}.nodeSelector"), errs);
    }
    for (i, t) in pod.tolerations.iter().flatten().enumerate() {
        toleration(t, &format!("{POD}.tolerations[{i}]"), errs);
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

/// A toleration, as the API server's `ValidateTolerations` checks it.
pub(super) fn toleration(t: &Toleration, path: &str, errs: &mut Vec<FieldError>) {
    let key = t.key.as_deref().unwrap_or("");
    if !key.is_empty() {
        invalid_each(
            errs,
            &format!("{path}.key"),
            key,
            qualified_name_errors(key),
        );
    }
    let operator = t.operator.as_deref().unwrap_or("");
    if key.is_empty() && operator != "Exists" {
        errs.push(FieldError::invalid(
            format!("{path}.operator"),
            operator,
            "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
        ));
    }
    let effect = t.effect.as_deref().unwrap_or("");
    if t.toleration_seconds.is_some() && effect != "NoExecute" {
        errs.push(FieldError::invalid(
            format!("{path}.effect"),
            effect,
            "effect must be 'NoExecute' when `tolerationSeconds` is set",
        ));
    }
    let value = t.value.as_deref().unwrap_or("");
    match operator {
        "" | "Equal" => invalid_each(
            errs,
            &format!("{path}.operator"),
            value,
            label_value_errors(value),
        ),
        "Exists" if !value.is_empty() => errs.push(FieldError::invalid(
            format!("{path}.operator"),
            value,
            "value must be empty when `operator` is 'Exists'",
        )),
        "Exists" => {}
        other => errs.push(FieldError::unsupported(
            format!("{path}.operator"),
            other,
            &["Equal", "Exists"],
        )),
    }
    if !matches!(effect, "" | "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
        errs.push(FieldError::unsupported(
            format!("{path}.effect"),
            effect,
            &["NoSchedule", "PreferNoSchedule", "NoExecute"],
        ));
    }
}

pub(super) fn restart_policy(pod: &PodSpec, errs: &mut Vec<FieldError>) {
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

pub(super) fn container(
    c: &Container,
    path: &str,
    ctx: &PodContext<'_>,
    errs: &mut Vec<FieldError>,
) {
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
