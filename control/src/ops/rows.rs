//! kubectl's rows of Jobs, pods, events and nodes — the columns of `get` (and `-o wide`), the STATUS
//! words, kubectl's human durations (`5s`, `2m30s`, `3h`, `2d`) — as the CLI prints them and
//! the API's Tables carry them. Cells only: laying them out is the front end's.

use std::time::Duration;
use wasmjob_spec::node::Node;
use wasmjob_spec::*;

/// kubectl's `duration.HumanDuration`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

pub fn since(t: Option<Time>, now: Time) -> String {
    match t {
        Some(t) => human_duration(Duration::from_millis(t.millis_until(now).max(0) as u64)),
        None => "<unknown>".into(),
    }
}

/// kubectl's STATUS column for a Job.
pub fn job_status_word(job: &Job) -> &'static str {
    let has = |t| job.true_condition(t).is_some();
    if has(COND_COMPLETE) {
        "Complete"
    } else if has(COND_FAILED) {
        "Failed"
    } else if job.metadata.deletion_timestamp.is_some() {
        "Terminating"
    } else if has(COND_SUSPENDED) {
        "Suspended"
    } else if has(COND_FAILURE_TARGET) {
        "FailureTarget"
    } else if has(COND_SUCCESS_CRITERIA_MET) {
        "SuccessCriteriaMet"
    } else {
        "Running"
    }
}

pub fn job_completions(job: &Job) -> String {
    let s = job.status();
    match job.spec.completions {
        Some(c) => format!("{}/{c}", s.succeeded),
        None => match job.spec.parallelism.unwrap_or(0) {
            p if p > 1 => format!("{}/1 of {p}", s.succeeded),
            _ => format!("{}/1", s.succeeded),
        },
    }
}

pub fn job_duration(job: &Job, now: Time) -> String {
    let s = job.status();
    match (s.start_time, s.completion_time) {
        (None, _) => String::new(),
        (Some(start), None) => since(Some(start), now),
        (Some(start), Some(end)) => {
            human_duration(Duration::from_millis(start.millis_until(end).max(0) as u64))
        }
    }
}

pub fn job_rows(jobs: &[&Job], wide: bool, with_namespace: bool, now: Time) -> Vec<Vec<String>> {
    let mut header: Vec<&str> = vec!["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"];
    if wide {
        header.extend(["CONTAINERS", "IMAGES", "SELECTOR"]);
    }
    if with_namespace {
        header.insert(0, "NAMESPACE");
    }
    let mut rows = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for job in jobs {
        let mut row = vec![
            job.name().to_string(),
            job_status_word(job).to_string(),
            job_completions(job),
            job_duration(job, now),
            since(job.metadata.creation_timestamp, now),
        ];
        if wide {
            let cs = &job.spec.template.spec.containers;
            row.push(
                cs.iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            );
            row.push(
                cs.iter()
                    .map(|c| c.image.as_deref().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            row.push(format_selector(job.spec.selector.as_ref()));
        }
        if with_namespace {
            row.insert(0, job.namespace().to_string());
        }
        rows.push(row);
    }
    rows
}

pub fn format_selector(s: Option<&LabelSelector>) -> String {
    let Some(s) = s else { return "<none>".into() };
    let mut parts: Vec<String> = s
        .match_labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for r in &s.match_expressions {
        parts.push(match r.operator.as_str() {
            "Exists" => r.key.clone(),
            "DoesNotExist" => format!("!{}", r.key),
            op => format!("{} {} ({})", r.key, op.to_lowercase(), r.values.join(",")),
        });
    }
    if parts.is_empty() {
        "<none>".into()
    } else {
        parts.join(",")
    }
}

/// kubectl's STATUS column for a Pod (the container's waiting or terminated reason wins).
pub fn pod_status_word(pod: &Pod) -> String {
    let mut reason = pod
        .status
        .reason
        .clone()
        .unwrap_or_else(|| pod.phase().to_string());
    for cs in pod.status.container_statuses.iter().rev() {
        if let Some(w) = cs.state.waiting.as_ref().and_then(|w| w.reason.clone()) {
            reason = w;
        } else if let Some(t) = &cs.state.terminated {
            reason = t
                .reason
                .clone()
                .unwrap_or_else(|| format!("ExitCode:{}", t.exit_code));
        }
    }
    if pod.metadata.deletion_timestamp.is_some() && !pod.is_terminal() {
        reason = "Terminating".into();
    }
    reason
}

/// kubectl's cells of an event: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE.
pub fn event_row(e: &crate::store::EventRecord, now: Time) -> Vec<String> {
    vec![
        since(Some(e.time), now),
        e.type_.clone(),
        e.reason.clone(),
        format!("{}/{}", e.kind.to_lowercase(), e.name),
        e.message.clone(),
    ]
}

pub fn pod_rows(pods: &[&Pod], wide: bool, with_namespace: bool, now: Time) -> Vec<Vec<String>> {
    let mut header: Vec<&str> = vec!["NAME", "READY", "STATUS", "RESTARTS", "AGE"];
    if wide {
        header.extend([
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES",
            "PROGRESS",
        ]);
    }
    if with_namespace {
        header.insert(0, "NAMESPACE");
    }
    let mut rows = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for pod in pods {
        let cs = &pod.status.container_statuses;
        let ready = cs.iter().filter(|c| c.ready).count();
        let total = pod.spec.containers.len();
        let restarts: i32 = cs.iter().map(|c| c.restart_count).sum();
        let last_restart = cs
            .iter()
            .filter_map(|c| c.last_state.terminated.as_ref().and_then(|t| t.finished_at))
            .max();
        let restarts = match last_restart {
            Some(t) if restarts > 0 => format!("{restarts} ({} ago)", since(Some(t), now)),
            _ => restarts.to_string(),
        };
        let mut row = vec![
            pod.metadata.name().to_string(),
            format!("{ready}/{total}"),
            pod_status_word(pod),
            restarts,
            since(pod.metadata.creation_timestamp, now),
        ];
        if wide {
            let node = match &pod.spec.node_name {
                Some(n) => n.as_str(),
                None if pod.phase() == PHASE_PENDING && pod.status.start_time.is_none() => "<none>",
                None => crate::node::env::NODE_NAME,
            };
            row.extend([
                "<none>".into(),
                node.to_string(),
                "<none>".into(),
                "<none>".into(),
                pod_progress(pod).unwrap_or("<none>").to_string(),
            ]);
        }
        if with_namespace {
            row.insert(0, pod.metadata.namespace().to_string());
        }
        rows.push(row);
    }
    rows
}

/// The progress the pod's task last reported (`wasmjob_v1.progress`).
pub fn pod_progress(pod: &Pod) -> Option<&str> {
    pod.condition(PROGRESS_CONDITION)
        .and_then(|c| c.message.as_deref())
}

/// A node's roles as kubectl shows them: joined with `,`, `<none>` without any.
pub fn node_roles(node: &Node) -> String {
    let roles = node.roles();
    if roles.is_empty() {
        "<none>".into()
    } else {
        roles.join(",")
    }
}

/// `kubectl get nodes` (Kubernetes' `printNode`): NAME, STATUS (`Ready`, `NotReady`,
/// `SchedulingDisabled` when cordoned), ROLES (`<none>` without role labels), AGE, VERSION
/// (the node's kubeletVersion); `-o wide` adds INTERNAL-IP, EXTERNAL-IP (`<none>` without one),
/// OS-IMAGE, KERNEL-VERSION and CONTAINER-RUNTIME (`<unknown>` when empty).
pub fn node_rows(nodes: &[&Node], wide: bool, now: Time) -> Vec<Vec<String>> {
    let mut header = vec!["NAME", "STATUS", "ROLES", "AGE", "VERSION"];
    if wide {
        header.extend([
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "OS-IMAGE",
            "KERNEL-VERSION",
            "CONTAINER-RUNTIME",
        ]);
    }
    let mut rows = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for node in nodes {
        let info = node.status.node_info.clone().unwrap_or_default();
        let mut row = vec![
            node.name().to_string(),
            node.status_column(),
            node_roles(node),
            since(node.metadata.creation_timestamp, now),
            info.kubelet_version.clone(),
        ];
        if wide {
            let address = |kind: &str| {
                node.status
                    .addresses
                    .iter()
                    .find(|a| a.type_ == kind)
                    .map_or_else(|| "<none>".to_string(), |a| a.address.clone())
            };
            let known = |s: String| if s.is_empty() { "<unknown>".into() } else { s };
            row.extend([
                address("InternalIP"),
                address("ExternalIP"),
                known(info.os_image),
                known(info.kernel_version),
                known(info.container_runtime_version),
            ]);
        }
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_kubectl() {
        for (secs, want) in [
            (0, "0s"),
            (59, "59s"),
            (119, "119s"),
            (120, "2m"),
            (150, "2m30s"),
            (600, "10m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 60 * 5, "3h5m"),
            (47 * 3600, "47h"),
            (49 * 3600, "2d1h"),
            (10 * 86400, "10d"),
            (800 * 86400, "2y70d"),
            (3000 * 86400, "8y"),
        ] {
            assert_eq!(human_duration(Duration::from_secs(secs)), want, "{secs}");
        }
    }
}
