//! The node inside `serve` and `run` as a v1 Node object: its name (the host's, or
//! `--node-name`), the labels a kubelet sets, its capacity (`pods`: `--max-pods`; `memory`: the
//! guest memory ceiling) and allocatable (`memory`: `--memory-budget` when set), its system info,
//! and its `Ready` condition — `True` while the process runs (renewed every [`HEARTBEAT`]),
//! `Unknown` with the `node.kubernetes.io/unreachable` taint once it stopped, as Kubernetes'
//! node lifecycle controller marks a node whose kubelet stopped posting its status. The writes
//! are made in a batch (the manager hands them to its writer, with its other writes).
//!
//! Registering keeps what users set on a stored node of that name (its uid and creation time,
//! `spec` — a cordon —, labels and annotations beyond the kubelet's) and replaces its status.
//! Must not: schedule pods or decide anything about them.

use crate::store::{Batch, StoreError};
use std::collections::BTreeMap;
use std::time::Duration;
use wasmjob_spec::Time;
use wasmjob_spec::node::{
    LABEL_ARCH, LABEL_HOSTNAME, LABEL_OS, NODE_READY, Node, NodeAddress, NodeCondition,
    NodeSystemInfo, TAINT_UNREACHABLE, Taint,
};
use wasmjob_spec::quantity::Quantity;

/// How often `serve` renews its node's heartbeat (`lastHeartbeatTime` of `Ready`). A kubelet
/// renews a Lease every 10 s and writes its node's status every 5 min when nothing changed;
/// wasmjob has no Lease objects, and its control plane and local node share a process.
pub const HEARTBEAT: Duration = Duration::from_secs(60);

/// What the local node offers.
#[derive(Clone, Debug)]
pub struct Capacity {
    pub max_pods: usize,
    /// Bytes of linear memory all guests may hold together.
    pub guest_memory: u64,
    /// Bytes of memory limits pods may reserve at once, if bounded.
    pub memory_budget: Option<u64>,
}

/// The host's name as a node name (a DNS subdomain: lower case, other characters as `-`),
/// as a kubelet names its node; `localhost` when the host has none.
pub fn host_name() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name: String = raw
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches(|c| c == '-' || c == '.');
    if wasmjob_spec::validate::dns_subdomain_errors(name).is_empty() {
        name.to_string()
    } else {
        "localhost".into()
    }
}

/// The node `name` as this process sees it now: ready, with its capacity and system info.
pub fn fresh(name: &str, capacity: &Capacity, now: Time) -> Node {
    let mut node = Node::default();
    node.metadata.name = Some(name.to_string());
    node.metadata.uid = Some(uuid::Uuid::new_v4().to_string());
    node.metadata.creation_timestamp = Some(now);
    node.metadata.labels = system_labels(name);
    let kib = |bytes: u64| Quantity(format!("{}Ki", bytes / 1024));
    let pods = Quantity(capacity.max_pods.to_string());
    node.status.capacity = BTreeMap::from([
        ("memory".to_string(), kib(capacity.guest_memory)),
        ("pods".to_string(), pods.clone()),
    ]);
    let allocatable = capacity
        .memory_budget
        .map_or(capacity.guest_memory, |b| b.min(capacity.guest_memory));
    node.status.allocatable = BTreeMap::from([
        ("memory".to_string(), kib(allocatable)),
        ("pods".to_string(), pods),
    ]);
    node.status.conditions = vec![ready(
        "True",
        "KubeletReady",
        "wasmjob is posting ready status",
        now,
    )];
    node.status.addresses = vec![NodeAddress {
        type_: "Hostname".into(),
        address: name.to_string(),
    }];
    node.status.node_info = Some(system_info());
    node
}

fn ready(status: &str, reason: &str, message: &str, now: Time) -> NodeCondition {
    NodeCondition {
        type_: NODE_READY.into(),
        status: status.into(),
        last_heartbeat_time: Some(now),
        last_transition_time: Some(now),
        reason: Some(reason.into()),
        message: Some(message.into()),
    }
}

/// The labels a kubelet gives its node.
fn system_labels(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_ARCH.to_string(), architecture().to_string()),
        (LABEL_HOSTNAME.to_string(), name.to_string()),
        (LABEL_OS.to_string(), std::env::consts::OS.to_string()),
    ])
}

/// The architecture as Go (and so Kubernetes) names it.
fn architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The machine and its software, read once per process (they do not change while it runs).
fn system_info() -> NodeSystemInfo {
    static INFO: std::sync::OnceLock<NodeSystemInfo> = std::sync::OnceLock::new();
    INFO.get_or_init(read_system_info).clone()
}

fn read_system_info() -> NodeSystemInfo {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let os_image = read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_default();
    NodeSystemInfo {
        machine_id: read("/etc/machine-id"),
        system_uuid: read("/sys/class/dmi/id/product_uuid"),
        boot_id: read("/proc/sys/kernel/random/boot_id"),
        kernel_version: read("/proc/sys/kernel/osrelease"),
        os_image,
        container_runtime_version: format!("wasmtime://{}", crate::sandbox::WASMTIME_VERSION),
        kubelet_version: format!("v{}-wasmjob", env!("CARGO_PKG_VERSION")),
        kube_proxy_version: String::new(),
        operating_system: std::env::consts::OS.into(),
        architecture: architecture().into(),
    }
}

/// Stores `fresh` as the node of its name, keeping what users set on the stored one (see the
/// module's comment) and the `Ready` condition's transition time while its status stays.
/// Returns the node as stored.
///
/// With `events`, as a kubelet and the node lifecycle controller record them: `Starting` and
/// `NodeReady` when the node becomes ready, and `RegisteredNode` when it is new (`serve`
/// records them; a `run`, which starts and stops its node every time, does not).
pub fn register(batch: &mut Batch<'_>, mut fresh: Node, events: bool) -> Result<Node, StoreError> {
    let stored = batch.node(fresh.name())?;
    if let Some(stored) = &stored {
        merge_kept(stored, &mut fresh);
    }
    batch.put_node(&mut fresh)?;
    if !events {
        return Ok(fresh);
    }
    let name = fresh.name().to_string();
    let now = fresh
        .condition(NODE_READY)
        .and_then(|c| c.last_heartbeat_time)
        .unwrap_or(Time(jiff::Timestamp::now()));
    if !stored.as_ref().is_some_and(Node::is_ready) {
        event(batch, &fresh, "Starting", "Starting wasmjob.".into(), now)?;
        event(
            batch,
            &fresh,
            "NodeReady",
            format!("Node {name} status is now: NodeReady"),
            now,
        )?;
    }
    if stored.is_none() {
        let message = format!("Node {name} event: Registered Node {name} in Controller");
        event(batch, &fresh, "RegisteredNode", message, now)?;
    }
    Ok(fresh)
}

/// Records a Normal event about `node`.
fn event(
    batch: &mut Batch<'_>,
    node: &Node,
    reason: &str,
    message: String,
    time: Time,
) -> Result<(), StoreError> {
    batch.add_event(&crate::store::EventRecord {
        // Kubernetes records node events in the `default` namespace.
        namespace: "default".into(),
        kind: "Node".into(),
        name: node.name().to_string(),
        uid: node.metadata.uid().to_string(),
        type_: "Normal".into(),
        reason: reason.into(),
        message,
        time,
    })
}

/// `fresh` as it is stored over `stored` (what users set on it kept; see [`register`]).
pub fn merge_kept(stored: &Node, fresh: &mut Node) {
    let system = std::mem::take(&mut fresh.metadata.labels);
    fresh.metadata.uid = stored.metadata.uid.clone();
    fresh.metadata.creation_timestamp = stored.metadata.creation_timestamp;
    fresh.metadata.labels = stored.metadata.labels.clone();
    fresh.metadata.labels.extend(system);
    let posted = std::mem::take(&mut fresh.metadata.annotations);
    fresh.metadata.annotations = stored.metadata.annotations.clone();
    fresh.metadata.annotations.extend(posted);
    fresh.spec = stored.spec.clone();
    if fresh.is_ready() {
        fresh.spec.taints.retain(|t| t.key != TAINT_UNREACHABLE);
    }
    for c in &mut fresh.status.conditions {
        if let Some(old) = stored.condition(&c.type_)
            && old.status == c.status
        {
            c.last_transition_time = old.last_transition_time;
        }
    }
}

/// Marks node `name` as no longer posting its status (`serve` stopped): `Ready` `Unknown`, and
/// the `unreachable` taint, as Kubernetes marks a node whose kubelet went silent.
/// With `events`, the node lifecycle controller's `NodeNotReady` event too.
pub fn stopped(
    batch: &mut Batch<'_>,
    name: &str,
    now: Time,
    events: bool,
) -> Result<(), StoreError> {
    silent(
        batch,
        name,
        now,
        events,
        "wasmjob stopped posting node status (serve ended).",
    )
}

/// Marks node `name` as having gone silent, saying `why` (`Ready` `Unknown`, the
/// `unreachable` taint; with `events`, `NodeNotReady`).
pub fn silent(
    batch: &mut Batch<'_>,
    name: &str,
    now: Time,
    events: bool,
    why: &str,
) -> Result<(), StoreError> {
    let Some(mut node) = batch.node(name)? else {
        return Ok(());
    };
    let heartbeat = node
        .condition(NODE_READY)
        .and_then(|c| c.last_heartbeat_time);
    if events && node.is_ready() {
        let message = format!("Node {name} status is now: NodeNotReady");
        event(batch, &node, "NodeNotReady", message, now)?;
    }
    node.status.conditions.retain(|c| c.type_ != NODE_READY);
    let mut unknown = ready("Unknown", "NodeStatusUnknown", why, now);
    unknown.last_heartbeat_time = heartbeat;
    node.status.conditions.push(unknown);
    if !node.spec.taints.iter().any(|t| t.key == TAINT_UNREACHABLE) {
        node.spec.taints.push(Taint {
            key: TAINT_UNREACHABLE.into(),
            value: None,
            effect: "NoSchedule".into(),
            time_added: Some(now),
        });
    }
    batch.put_node(&mut node)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// `write` in a batch of its own, committed.
    fn in_batch<T>(
        store: &mut Store,
        write: impl FnOnce(&mut Batch<'_>) -> Result<T, StoreError>,
    ) -> T {
        let mut batch = store.batch().unwrap();
        let r = write(&mut batch).unwrap();
        batch.commit().unwrap();
        r
    }

    fn capacity() -> Capacity {
        Capacity {
            max_pods: 300,
            guest_memory: 8 << 30,
            memory_budget: Some(2 << 30),
        }
    }

    #[test]
    fn host_names_become_node_names() {
        let name = host_name();
        assert!(!name.is_empty());
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'),
            "{name}"
        );
    }

    #[test]
    fn a_fresh_node_is_ready_with_its_capacity() {
        let now = Time::from_millis(1_700_000_000_000);
        let n = fresh("edge-1", &capacity(), now);
        assert!(n.is_ready());
        assert_eq!(n.status.capacity["pods"].0, "300");
        assert_eq!(n.status.capacity["memory"].0, "8388608Ki");
        assert_eq!(n.status.allocatable["memory"].0, "2097152Ki");
        assert_eq!(n.metadata.labels[LABEL_HOSTNAME], "edge-1");
        let info = n.status.node_info.as_ref().unwrap();
        assert!(info.container_runtime_version.starts_with("wasmtime://48."));
        assert_eq!(n.status_column(), "Ready");
    }

    /// A re-registered node keeps its uid, creation time, cordon and users' labels; a node that
    /// stopped is Unknown and tainted, and ready again (untainted) when registered anew.
    #[test]
    fn registering_keeps_what_users_set_and_stopping_marks_it_unknown() {
        let dir = std::env::temp_dir().join(format!("wasmjob-node-{}", uuid::Uuid::new_v4()));
        let mut store = Store::open(&dir).unwrap();
        let t0 = Time::from_millis(1_700_000_000_000);
        let first = in_batch(&mut store, |b| {
            register(b, fresh("edge-1", &capacity(), t0), true)
        });
        let mut cordoned = first.clone();
        cordoned.spec.unschedulable = true;
        cordoned.metadata.labels.insert("zone".into(), "a".into());
        let mut batch = store.batch().unwrap();
        batch.put_node(&mut cordoned).unwrap();
        batch.commit().unwrap();

        let t1 = Time::from_millis(1_700_000_060_000);
        in_batch(&mut store, |b| stopped(b, "edge-1", t1, true));
        let down = store.node("edge-1").unwrap().unwrap();
        assert_eq!(down.status_column(), "NotReady,SchedulingDisabled");
        let c = down.condition(NODE_READY).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_deref()),
            ("Unknown", Some("NodeStatusUnknown"))
        );
        assert_eq!(c.last_heartbeat_time, Some(t0), "the last heartbeat stays");
        assert!(down.spec.taints.iter().any(|t| t.key == TAINT_UNREACHABLE));

        let reasons = |store: &Store| -> Vec<String> {
            store
                .events_about(first.metadata.uid())
                .unwrap()
                .into_iter()
                .map(|e| e.event.reason)
                .collect()
        };
        assert_eq!(
            reasons(&store),
            ["Starting", "NodeReady", "RegisteredNode", "NodeNotReady"]
        );
        let t2 = Time::from_millis(1_700_000_120_000);
        let again = in_batch(&mut store, |b| {
            register(b, fresh("edge-1", &capacity(), t2), true)
        });
        assert_eq!(
            reasons(&store).len(),
            6,
            "ready again: Starting and NodeReady"
        );
        assert_eq!(again.metadata.uid, first.metadata.uid);
        assert_eq!(again.metadata.creation_timestamp, Some(t0));
        assert!(again.spec.unschedulable, "the cordon stays");
        assert_eq!(again.metadata.labels["zone"], "a");
        assert!(again.spec.taints.is_empty(), "ready again: untainted");
        assert_eq!(again.status_column(), "Ready,SchedulingDisabled");
        assert_eq!(
            again.condition(NODE_READY).unwrap().last_transition_time,
            Some(t2)
        );
        // A heartbeat while ready keeps the transition time.
        let t3 = Time::from_millis(1_700_000_180_000);
        let beat = in_batch(&mut store, |b| {
            register(b, fresh("edge-1", &capacity(), t3), true)
        });
        assert_eq!(reasons(&store).len(), 6, "a heartbeat records nothing");
        let c = beat.condition(NODE_READY).unwrap();
        assert_eq!(
            (c.last_transition_time, c.last_heartbeat_time),
            (Some(t2), Some(t3))
        );
        drop(store);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
