//! `wasmjob describe job|pod|node NAME…`: kubectl's layout — a spec summary, pod statuses,
//! conditions, and the object's events with their age; a node's labels, taints, conditions,
//! addresses, capacity and system info.

use super::Failure;
use super::printers::{format_selector, human_duration, node_roles, since, table};
use super::resource::Kind;
use crate::store::QueueItem;
use crate::store::{Store, StoredEvent};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use wasmjob_spec::*;

#[derive(Debug, clap::Args)]
pub struct DescribeArgs {
    /// `job` (jobs, job.batch), `pod` (pods, po) or `node` (nodes, no); `TYPE/NAME` works too.
    pub resource: String,
    /// Names (default: every object of the type in the namespace).
    pub names: Vec<String>,
}

pub fn describe(
    args: DescribeArgs,
    state_dir: &Path,
    namespace: Option<&str>,
) -> Result<(), Failure> {
    let ns = namespace.unwrap_or("default");
    let (kind, mut names) = match args.resource.split_once('/') {
        Some((k, n)) => (k.to_string(), vec![n.to_string()]),
        None => (args.resource.clone(), Vec::new()),
    };
    names.extend(args.names.iter().cloned());
    let store = Store::open_reader(state_dir)?;
    let now = Time(jiff::Timestamp::now());
    let mut text = String::new();
    match Kind::parse(&kind, "describe", &[Kind::Job, Kind::Pod, Kind::Node])? {
        Kind::Job => {
            let jobs: Vec<Job> = if names.is_empty() {
                store
                    .list_jobs(Some(ns))?
                    .into_iter()
                    .map(|r| r.job)
                    .collect()
            } else {
                let mut v = Vec::new();
                for n in &names {
                    let r = store.get_job(ns, n)?.ok_or_else(|| {
                        Failure::runtime(format!(
                            "Error from server (NotFound): jobs.batch {n:?} not found"
                        ))
                    })?;
                    v.push(r.job);
                }
                v
            };
            for (i, job) in jobs.iter().enumerate() {
                if i > 0 {
                    text.push_str("\n\n");
                }
                let events = store.events_about(job.metadata.uid())?;
                let queue = store.queue_items(job.metadata.uid())?;
                describe_job(&mut text, job, &queue, &events, now);
            }
        }
        Kind::Pod => {
            let pods: Vec<Pod> = if names.is_empty() {
                store.list_pods(Some(ns))?
            } else {
                let mut v = Vec::new();
                for n in &names {
                    v.push(store.get_pod(ns, n)?.ok_or_else(|| {
                        Failure::runtime(format!(
                            "Error from server (NotFound): pods {n:?} not found"
                        ))
                    })?);
                }
                v
            };
            for (i, pod) in pods.iter().enumerate() {
                if i > 0 {
                    text.push_str("\n\n");
                }
                let events = store.events_about(pod.metadata.uid())?;
                describe_pod(&mut text, pod, &events, now);
            }
        }
        Kind::Node => {
            let nodes = if names.is_empty() {
                store.nodes()?
            } else {
                let mut v = Vec::new();
                for n in &names {
                    v.push(store.node(n)?.ok_or_else(|| {
                        Failure::runtime(format!(
                            "Error from server (NotFound): nodes {n:?} not found"
                        ))
                    })?);
                }
                v
            };
            // Every node's non-terminated pods, from one read of the pods.
            let mut in_flight: Vec<Pod> = store.list_pods(None)?;
            in_flight.retain(|p| p.phase() != PHASE_SUCCEEDED && p.phase() != PHASE_FAILED);
            for (i, node) in nodes.iter().enumerate() {
                if i > 0 {
                    text.push_str("\n\n");
                }
                let events = store.events_about(node.metadata.uid())?;
                let pods: Vec<&Pod> = in_flight
                    .iter()
                    .filter(|p| p.spec.node_name.as_deref() == Some(node.name()))
                    .collect();
                describe_node(&mut text, node, &pods, &events, now);
            }
        }
        Kind::Event => unreachable!("describe takes jobs, pods and nodes"),
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// RFC 1123, as kubectl prints times.
fn when(t: Option<Time>) -> String {
    t.map(|t| t.0.strftime("%a, %d %b %Y %H:%M:%S %z").to_string())
        .unwrap_or_else(|| "<unset>".into())
}

fn field(out: &mut String, indent: usize, name: &str, value: impl std::fmt::Display) {
    let label = format!("{name}:");
    let _ = writeln!(
        out,
        "{:indent$}{label:<width$}{value}",
        "",
        width = 18usize.saturating_sub(indent).max(label.len() + 2)
    );
}

fn map_lines(out: &mut String, indent: usize, name: &str, map: &BTreeMap<String, String>) {
    if map.is_empty() {
        field(out, indent, name, "<none>");
        return;
    }
    let width = 18usize.saturating_sub(indent).max(name.len() + 3);
    for (i, (k, v)) in map.iter().enumerate() {
        let label = if i == 0 {
            format!("{name}:")
        } else {
            String::new()
        };
        let _ = writeln!(out, "{:indent$}{label:<width$}{k}={v}", "");
    }
}

fn describe_job(
    out: &mut String,
    job: &Job,
    queue: &[QueueItem],
    events: &[StoredEvent],
    now: Time,
) {
    let s = job.status();
    let spec = &job.spec;
    field(out, 0, "Name", job.name());
    field(out, 0, "Namespace", job.namespace());
    field(out, 0, "Selector", format_selector(spec.selector.as_ref()));
    map_lines(out, 0, "Labels", &job.metadata.labels);
    map_lines(out, 0, "Annotations", &job.metadata.annotations);
    field(out, 0, "Parallelism", spec.parallelism.unwrap_or(1));
    field(
        out,
        0,
        "Completions",
        spec.completions
            .map_or("<unset>".to_string(), |c| c.to_string()),
    );
    field(
        out,
        0,
        "Completion Mode",
        spec.completion_mode.as_deref().unwrap_or(NON_INDEXED),
    );
    field(out, 0, "Suspend", spec.suspend.unwrap_or(false));
    field(out, 0, "Backoff Limit", spec.backoff_limit.unwrap_or(6));
    if let Some(n) = spec.backoff_limit_per_index {
        field(out, 0, "Backoff Limit Per Index", n);
    }
    if let Some(n) = spec.max_failed_indexes {
        field(out, 0, "Max Failed Indexes", n);
    }
    if let Some(t) = spec.ttl_seconds_after_finished {
        field(out, 0, "TTL Seconds After Finished", t);
    }
    if let Some(d) = spec.active_deadline_seconds {
        field(out, 0, "Active Deadline Seconds", format!("{d}s"));
    }
    field(out, 0, "Start Time", when(s.start_time));
    if let Some(c) = s.completion_time {
        field(out, 0, "Completed At", when(Some(c)));
    }
    if let Some(start) = s.start_time {
        let end = s.completion_time.unwrap_or(now);
        field(
            out,
            0,
            "Duration",
            human_duration(Duration::from_millis(start.millis_until(end).max(0) as u64)),
        );
    }
    field(
        out,
        0,
        "Pods Statuses",
        format!(
            "{} Active ({} Ready) / {} Succeeded / {} Failed",
            s.active,
            s.ready.unwrap_or(0),
            s.succeeded,
            s.failed
        ),
    );
    if !queue.is_empty() {
        let count = |state: &str| queue.iter().filter(|i| i.state == state).count();
        let retried = queue.iter().filter(|i| i.attempts > 1).count();
        field(
            out,
            0,
            "Work Queue",
            format!(
                "{} items: {} Pending / {} Leased / {} Done ({retried} retried; wasmjob queue {} lists them)",
                queue.len(),
                count(crate::queue::PENDING),
                count(crate::queue::LEASED),
                count(crate::queue::DONE),
                job.name()
            ),
        );
    }
    if job.is_indexed() {
        field(
            out,
            0,
            "Completed Indexes",
            s.completed_indexes
                .as_deref()
                .filter(|x| !x.is_empty())
                .unwrap_or("<none>"),
        );
        if spec.backoff_limit_per_index.is_some() {
            field(
                out,
                0,
                "Failed Indexes",
                s.failed_indexes
                    .as_deref()
                    .filter(|x| !x.is_empty())
                    .unwrap_or("<none>"),
            );
        }
    }
    out.push_str("Pod Template:\n");
    map_lines(out, 2, "Labels", &spec.template.metadata.labels);
    if !spec.template.metadata.annotations.is_empty() {
        map_lines(out, 2, "Annotations", &spec.template.metadata.annotations);
    }
    let ps = &spec.template.spec;
    if !ps.init_containers.is_empty() {
        out.push_str("  Init Containers:\n");
        for c in &ps.init_containers {
            container_spec(out, c);
        }
    }
    out.push_str("  Containers:\n");
    for c in &ps.containers {
        container_spec(out, c);
    }
    volumes(out, 2, &ps.volumes);
    conditions(
        out,
        s.conditions
            .iter()
            .map(|c| condition_row(&c.type_, &c.status, &c.reason, &c.message)),
    );
    event_table(out, events, now);
}

fn container_spec(out: &mut String, c: &Container) {
    let _ = writeln!(out, "   {}:", c.name);
    field(out, 4, "Image", c.image.as_deref().unwrap_or("<none>"));
    for (name, list) in [("Command", &c.command), ("Args", &c.args)] {
        if !list.is_empty() {
            let _ = writeln!(out, "    {name}:");
            for a in list {
                let _ = writeln!(out, "      {a}");
            }
        }
    }
    if let Some(r) = &c.resources {
        for (name, m) in [("Limits", &r.limits), ("Requests", &r.requests)] {
            if !m.is_empty() {
                let _ = writeln!(out, "    {name}:");
                for (k, v) in m {
                    let _ = writeln!(out, "      {k}:  {v}");
                }
            }
        }
    }
    if c.env.is_empty() {
        field(out, 4, "Environment", "<none>");
    } else {
        out.push_str("    Environment:\n");
        for e in &c.env {
            let value = match (&e.value, &e.value_from) {
                (Some(v), _) => v.clone(),
                (None, Some(f)) => f
                    .field_ref
                    .as_ref()
                    .map(|r| {
                        format!(
                            " ({}:{})",
                            r.api_version.as_deref().unwrap_or("v1"),
                            r.field_path
                        )
                    })
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let _ = writeln!(out, "      {}:  {value}", e.name);
        }
    }
    if c.volume_mounts.is_empty() {
        field(out, 4, "Mounts", "<none>");
    } else {
        out.push_str("    Mounts:\n");
        for m in &c.volume_mounts {
            let _ = writeln!(
                out,
                "      {} from {} ({})",
                m.mount_path,
                m.name,
                if m.read_only == Some(true) {
                    "ro"
                } else {
                    "rw"
                }
            );
        }
    }
}

fn volumes(out: &mut String, indent: usize, vols: &[Volume]) {
    if vols.is_empty() {
        field(out, indent, "Volumes", "<none>");
        return;
    }
    let _ = writeln!(out, "{:indent$}Volumes:", "");
    for v in vols {
        let _ = writeln!(out, "{:indent$} {}:", "", v.name);
        if let Some(h) = &v.host_path {
            field(out, 4, "Type", "HostPath (bare host directory volume)");
            field(out, 4, "Path", &h.path);
        } else if v.empty_dir.is_some() {
            field(
                out,
                4,
                "Type",
                "EmptyDir (a temporary directory that shares a pod's lifetime)",
            );
        } else if let Some(c) = &v.csi {
            // kubectl's CSI lines.
            field(
                out,
                4,
                "Type",
                "CSI (a Container Storage Interface (CSI) volume source)",
            );
            field(out, 4, "Driver", &c.driver);
            field(out, 4, "FSType", c.fs_type.as_deref().unwrap_or(""));
            field(out, 4, "ReadOnly", c.read_only.unwrap_or(false));
            let attrs: Vec<String> = c
                .volume_attributes
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            field(out, 4, "VolumeAttributes", attrs.join(", "));
        }
    }
}

fn condition_row(
    type_: &str,
    status: &str,
    reason: &Option<String>,
    message: &Option<String>,
) -> Vec<String> {
    vec![
        type_.to_string(),
        status.to_string(),
        reason.clone().unwrap_or_default(),
        message.clone().unwrap_or_default(),
    ]
}

fn conditions(out: &mut String, rows: impl Iterator<Item = Vec<String>>) {
    let rows: Vec<Vec<String>> = rows.collect();
    if rows.is_empty() {
        return;
    }
    out.push_str("Conditions:\n");
    let mut all = vec![vec![
        "Type".into(),
        "Status".into(),
        "Reason".into(),
        "Message".into(),
    ]];
    all.push(vec![
        "----".into(),
        "------".into(),
        "------".into(),
        "-------".into(),
    ]);
    all.extend(rows);
    indented_table(out, &all);
}

fn indented_table(out: &mut String, rows: &[Vec<String>]) {
    let mut buf = Vec::new();
    let _ = table(&mut buf, rows);
    for line in String::from_utf8_lossy(&buf).lines() {
        let _ = writeln!(out, "  {}", line.trim_end());
    }
}

fn event_table(out: &mut String, events: &[StoredEvent], now: Time) {
    if events.is_empty() {
        field(out, 0, "Events", "<none>");
        return;
    }
    out.push_str("Events:\n");
    let mut rows = vec![
        vec![
            "Type".into(),
            "Reason".into(),
            "Age".into(),
            "From".into(),
            "Message".into(),
        ],
        vec![
            "----".into(),
            "------".into(),
            "----".into(),
            "----".into(),
            "-------".into(),
        ],
    ];
    for stored in events {
        let e = &stored.event;
        let from = crate::ops::events::reporting_component(e);
        // As kubectl describes an event seen more than once.
        let age = if stored.count > 1 {
            format!(
                "{} (x{} over {})",
                since(Some(e.time), now),
                stored.count,
                since(Some(stored.first), now)
            )
        } else {
            since(Some(stored.first), now)
        };
        rows.push(vec![
            e.type_.clone(),
            e.reason.clone(),
            age,
            from.into(),
            e.message.clone(),
        ]);
    }
    indented_table(out, &rows);
}

fn describe_pod(out: &mut String, pod: &Pod, events: &[StoredEvent], now: Time) {
    let s = &pod.status;
    field(out, 0, "Name", pod.metadata.name());
    field(out, 0, "Namespace", pod.metadata.namespace());
    field(out, 0, "Start Time", when(s.start_time));
    map_lines(out, 0, "Labels", &pod.metadata.labels);
    map_lines(out, 0, "Annotations", &pod.metadata.annotations);
    field(out, 0, "Status", pod.phase());
    if let Some(r) = &s.reason {
        field(out, 0, "Reason", r);
    }
    if let Some(m) = &s.message {
        field(out, 0, "Message", m);
    }
    if let Some(p) = super::printers::pod_progress(pod) {
        field(out, 0, "Progress", p);
    }
    if let Some(o) = pod.metadata.controller() {
        field(out, 0, "Controlled By", format!("{}/{}", o.kind, o.name));
    }
    for (title, specs, statuses) in [
        (
            "Init Containers",
            &pod.spec.init_containers,
            &s.init_container_statuses,
        ),
        ("Containers", &pod.spec.containers, &s.container_statuses),
    ] {
        if specs.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title}:");
        for c in specs {
            let _ = writeln!(out, "  {}:", c.name);
            field(out, 4, "Image", c.image.as_deref().unwrap_or("<none>"));
            if let Some(cs) = statuses.iter().find(|x| x.name == c.name) {
                container_state(out, "State", &cs.state);
                let last = &cs.last_state;
                if last.terminated.is_some() || last.running.is_some() || last.waiting.is_some() {
                    container_state(out, "Last State", last);
                }
                field(out, 4, "Ready", if cs.ready { "True" } else { "False" });
                field(out, 4, "Restart Count", cs.restart_count);
            }
        }
    }
    conditions(
        out,
        s.conditions
            .iter()
            .map(|c| condition_row(&c.type_, &c.status, &c.reason, &c.message)),
    );
    volumes(out, 0, &pod.spec.volumes);
    event_table(out, events, now);
}

fn container_state(out: &mut String, label: &str, st: &ContainerState) {
    if let Some(t) = &st.terminated {
        field(out, 4, label, "Terminated");
        field(out, 6, "Reason", t.reason.as_deref().unwrap_or(""));
        if let Some(m) = &t.message {
            field(out, 6, "Message", m.lines().next().unwrap_or(""));
        }
        field(out, 6, "Exit Code", t.exit_code);
        field(out, 6, "Started", when(t.started_at));
        field(out, 6, "Finished", when(t.finished_at));
    } else if let Some(r) = &st.running {
        field(out, 4, label, "Running");
        field(out, 6, "Started", when(r.started_at));
    } else if let Some(w) = &st.waiting {
        field(out, 4, label, "Waiting");
        field(out, 6, "Reason", w.reason.as_deref().unwrap_or(""));
    }
}

/// kubectl's `describe node`, without what wasmjob does not have (Lease objects, CPU, pods'
/// resource requests).
fn describe_node(
    out: &mut String,
    node: &node::Node,
    pods: &[&Pod],
    events: &[StoredEvent],
    now: Time,
) {
    field(out, 0, "Name", node.name());
    field(out, 0, "Roles", node_roles(node));
    map_lines(out, 0, "Labels", &node.metadata.labels);
    map_lines(out, 0, "Annotations", &node.metadata.annotations);
    field(
        out,
        0,
        "CreationTimestamp",
        when(node.metadata.creation_timestamp),
    );
    let taints: Vec<String> = node
        .spec
        .taints
        .iter()
        .map(|t| match &t.value {
            Some(v) => format!("{}={v}:{}", t.key, t.effect),
            None => format!("{}:{}", t.key, t.effect),
        })
        .collect();
    if taints.is_empty() {
        field(out, 0, "Taints", "<none>");
    }
    for (i, t) in taints.iter().enumerate() {
        field(out, 0, if i == 0 { "Taints" } else { "" }, t);
    }
    field(out, 0, "Unschedulable", node.spec.unschedulable);
    let s = &node.status;
    if !s.conditions.is_empty() {
        out.push_str("Conditions:\n");
        let mut rows = vec![
            [
                "Type",
                "Status",
                "LastHeartbeatTime",
                "LastTransitionTime",
                "Reason",
                "Message",
            ]
            .map(String::from)
            .to_vec(),
            [
                "----",
                "------",
                "-----------------",
                "------------------",
                "------",
                "-------",
            ]
            .map(String::from)
            .to_vec(),
        ];
        rows.extend(s.conditions.iter().map(|c| {
            vec![
                c.type_.clone(),
                c.status.clone(),
                when(c.last_heartbeat_time),
                when(c.last_transition_time),
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            ]
        }));
        indented_table(out, &rows);
    }
    out.push_str("Addresses:\n");
    for a in &s.addresses {
        field(out, 2, &a.type_, &a.address);
    }
    for (name, resources) in [("Capacity", &s.capacity), ("Allocatable", &s.allocatable)] {
        out.push_str(&format!("{name}:\n"));
        for (k, v) in resources {
            let _ = writeln!(
                out,
                "  {k}:{:width$}{v}",
                "",
                width = 8usize.saturating_sub(k.len() + 1).max(1)
            );
        }
    }
    let info = s.node_info.clone().unwrap_or_default();
    out.push_str("System Info:\n");
    for (label, value) in [
        ("Machine ID", &info.machine_id),
        ("System UUID", &info.system_uuid),
        ("Boot ID", &info.boot_id),
        ("Kernel Version", &info.kernel_version),
        ("OS Image", &info.os_image),
        ("Operating System", &info.operating_system),
        ("Architecture", &info.architecture),
        ("Container Runtime Version", &info.container_runtime_version),
        ("Kubelet Version", &info.kubelet_version),
        ("Kube-Proxy Version", &info.kube_proxy_version),
    ] {
        let _ = writeln!(out, "  {:<28}{value}", format!("{label}:"));
    }
    let _ = writeln!(
        out,
        "{:<30}({} in total)",
        "Non-terminated Pods:",
        pods.len()
    );
    if !pods.is_empty() {
        let mut rows = vec![
            ["Namespace", "Name", "Memory Limits", "Age"]
                .map(String::from)
                .to_vec(),
            ["---------", "----", "-------------", "---"]
                .map(String::from)
                .to_vec(),
        ];
        rows.extend(pods.iter().map(|p| {
            let limits: Vec<String> = p
                .spec
                .containers
                .iter()
                .filter_map(|c| {
                    c.resources
                        .as_ref()?
                        .limits
                        .get("memory")
                        .map(|q| q.0.clone())
                })
                .collect();
            vec![
                p.metadata.namespace().to_string(),
                p.metadata.name().to_string(),
                if limits.is_empty() {
                    "0".to_string()
                } else {
                    limits.join("+")
                },
                since(p.metadata.creation_timestamp, now),
            ]
        }));
        indented_table(out, &rows);
    }
    event_table(out, events, now);
}
