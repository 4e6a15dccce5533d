//! A container's environment and argv as Kubernetes builds them: the declared `env` in order,
//! `fieldRef`/`resourceFieldRef` resolved from the pod, `$(VAR)` references expanded (in env
//! values, command and args; `$$` escapes), then `HOSTNAME`. Nothing from the host leaks in.

use wasmjob_spec::{Container, Pod};

/// What `spec.nodeName` reports to a guest whose pod is bound to no node (a pod run by the
/// library, without a node registered).
pub const NODE_NAME: &str = "wasmjob";

/// The environment of `container` in `pod`, in declaration order.
pub fn environment(pod: &Pod, container: &Container) -> Result<Vec<(String, String)>, String> {
    let mut env: Vec<(String, String)> = Vec::new();
    // The variables defined so far are `env`'s (each name once).
    let defined = |env: &[(String, String)], name: &str| {
        env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    };
    for var in &container.env {
        let value = match (&var.value, &var.value_from) {
            (_, Some(src)) => {
                if let Some(f) = &src.field_ref {
                    field_value(pod, &f.field_path)?
                } else if let Some(r) = &src.resource_field_ref {
                    resource_value(pod, container, r)?
                } else {
                    return Err(format!("env {}: unsupported valueFrom", var.name));
                }
            }
            (Some(v), None) => expand(v, &|name| defined(&env, name)),
            (None, None) => String::new(),
        };
        env.retain(|(k, _)| k != &var.name);
        env.push((var.name.clone(), value));
    }
    if !env.iter().any(|(k, _)| k == "HOSTNAME") {
        let host = pod
            .spec
            .hostname
            .clone()
            .unwrap_or_else(|| pod.metadata.name().to_string());
        env.push(("HOSTNAME".to_string(), host));
    }
    Ok(env)
}

/// argv: `command` + `args` (without `command`, argv[0] is the container name), with `$(VAR)`
/// references to the container's environment expanded.
pub fn argv(container: &Container, env: &[(String, String)]) -> Vec<String> {
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut argv: Vec<String> = if container.command.is_empty() {
        vec![container.name.clone()]
    } else {
        container
            .command
            .iter()
            .map(|c| expand(c, &lookup))
            .collect()
    };
    argv.extend(container.args.iter().map(|a| expand(a, &lookup)));
    argv
}

/// Kubernetes' `$(VAR)` expansion: defined names are replaced, undefined references are kept
/// as written, `$$` is a literal `$`.
pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            match bytes[i + 1] {
                b'$' => {
                    out.push('$');
                    i += 2;
                    continue;
                }
                b'(' => {
                    if let Some(end) = input[i + 2..].find(')') {
                        let name = &input[i + 2..i + 2 + end];
                        match lookup(name) {
                            Some(v) => out.push_str(&v),
                            None => out.push_str(&input[i..i + 3 + end]),
                        }
                        i += 3 + end;
                        continue;
                    }
                }
                _ => {}
            }
        }
        let ch = input[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn field_value(pod: &Pod, path: &str) -> Result<String, String> {
    let m = &pod.metadata;
    let keyed = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix("']"))
            .map(|k| k.to_string())
    };
    Ok(match path {
        "metadata.name" => m.name().to_string(),
        "metadata.namespace" => m.namespace().to_string(),
        "metadata.uid" => m.uid().to_string(),
        "spec.nodeName" => pod
            .spec
            .node_name
            .clone()
            .unwrap_or_else(|| NODE_NAME.to_string()),
        "spec.serviceAccountName" => "default".to_string(),
        // No network: a guest has no IP address.
        "status.hostIP" | "status.hostIPs" | "status.podIP" | "status.podIPs" => String::new(),
        _ => {
            if let Some(k) = keyed("metadata.labels['") {
                m.labels.get(&k).cloned().unwrap_or_default()
            } else if let Some(k) = keyed("metadata.annotations['") {
                m.annotations.get(&k).cloned().unwrap_or_default()
            } else {
                return Err(format!("unsupported fieldRef {path:?}"));
            }
        }
    })
}

fn resource_value(
    pod: &Pod,
    container: &Container,
    r: &wasmjob_spec::ResourceFieldSelector,
) -> Result<String, String> {
    let target = match &r.container_name {
        Some(name) if !name.is_empty() => pod
            .spec
            .containers
            .iter()
            .chain(&pod.spec.init_containers)
            .find(|c| &c.name == name)
            .ok_or_else(|| format!("resourceFieldRef names unknown container {name:?}"))?,
        _ => container,
    };
    let (group, resource) = r
        .resource
        .split_once('.')
        .ok_or_else(|| format!("bad resource {:?}", r.resource))?;
    let res = target.resources.clone().unwrap_or_default();
    let map = if group == "limits" {
        &res.limits
    } else {
        &res.requests
    };
    let divisor = r
        .divisor
        .as_ref()
        .and_then(|d| d.to_bytes_ceil().ok())
        .filter(|d| *d > 0)
        .unwrap_or(1);
    Ok(
        match map.get(resource).and_then(|q| q.to_bytes_ceil().ok()) {
            Some(v) => v.div_ceil(divisor).to_string(),
            // Kubernetes reports node allocatable when no limit is set; here: no limit is 0.
            None => "0".to_string(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_follows_kubernetes() {
        let lookup = |n: &str| (n == "A").then(|| "x".to_string());
        assert_eq!(expand("$(A)-$(B)-$$(A)-$", &lookup), "x-$(B)-$(A)-$");
        assert_eq!(expand("$(A", &lookup), "$(A");
        assert_eq!(expand("é$(A)", &lookup), "éx");
    }

    #[test]
    fn argv_defaults_to_container_name() {
        let c = Container {
            name: "pi".into(),
            args: vec!["$(N)".into()],
            ..Default::default()
        };
        assert_eq!(argv(&c, &[("N".into(), "50".into())]), vec!["pi", "50"]);
    }
}
