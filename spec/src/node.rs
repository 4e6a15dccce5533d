//! The v1 Node: a machine that runs pods (a `wasmjob node` process, or the node inside
//! `serve`), as Kubernetes models it — its labels, `spec.unschedulable` and taints, and its
//! status: capacity and allocatable resources (`pods`, `memory`), the `Ready` condition from
//! its heartbeats, its addresses and system info. Also how `kubectl get nodes` shows one (its
//! STATUS and ROLES columns, after Kubernetes' `printNode`).
//! Must not: decide whether a node is ready or schedulable (the control side does, from
//! heartbeats), or know the transport that carries them.

use crate::meta::{ObjectMeta, Time};
use crate::quantity::Quantity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The condition a node's heartbeats keep: `True` while they come.
pub const NODE_READY: &str = "Ready";

/// The taint Kubernetes puts on a cordoned node (`spec.unschedulable`).
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
/// The taint of a node whose `Ready` condition is `False`.
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
/// The taint of a node whose `Ready` condition is `Unknown` (no heartbeat in the grace period).
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";

/// Labels every node carries, as kubelets set them.
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
pub const LABEL_OS: &str = "kubernetes.io/os";
pub const LABEL_ARCH: &str = "kubernetes.io/arch";

/// Label prefix naming a node's roles (`node-role.kubernetes.io/<role>`).
const ROLE_PREFIX: &str = "node-role.kubernetes.io/";
/// The older role label (`kubernetes.io/role: <role>`).
const ROLE_LABEL: &str = "kubernetes.io/role";

fn node_api_version() -> String {
    "v1".into()
}

fn node_kind() -> String {
    "Node".into()
}

/// Annotation of a node that is a `wasmjob node` process (cluster mode): its pods' log files are
/// on its machine, not in the control plane's state directory.
pub const NODE_PROCESS_ANNOTATION: &str = "wasmjob.dev/node-process";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Node {
    #[serde(default = "node_api_version")]
    pub api_version: String,
    #[serde(default = "node_kind")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: NodeSpec,
    #[serde(default)]
    pub status: NodeStatus,
}

impl Default for Node {
    fn default() -> Node {
        Node {
            api_version: node_api_version(),
            kind: node_kind(),
            metadata: ObjectMeta::default(),
            spec: NodeSpec::default(),
            status: NodeStatus::default(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSpec {
    /// Cordoned: no new pod is scheduled onto the node (`kubectl cordon`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unschedulable: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Taint {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_added: Option<Time>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeStatus {
    /// What the node has (`pods`, `memory`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capacity: BTreeMap<String, Quantity>,
    /// What of it pods may use.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub allocatable: BTreeMap<String, Quantity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<NodeCondition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<NodeAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_info: Option<NodeSystemInfo>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeCondition {
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeAddress {
    /// `Hostname`, `InternalIP`, `ExternalIP`, …
    #[serde(rename = "type")]
    pub type_: String,
    pub address: String,
}

/// What `kubectl describe node` shows under "System Info"; every field is a string Kubernetes
/// requires (empty when unknown).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSystemInfo {
    #[serde(default, rename = "machineID")]
    pub machine_id: String,
    #[serde(default, rename = "systemUUID")]
    pub system_uuid: String,
    #[serde(default, rename = "bootID")]
    pub boot_id: String,
    #[serde(default)]
    pub kernel_version: String,
    #[serde(default)]
    pub os_image: String,
    #[serde(default)]
    pub container_runtime_version: String,
    #[serde(default)]
    pub kubelet_version: String,
    #[serde(default)]
    pub kube_proxy_version: String,
    #[serde(default)]
    pub operating_system: String,
    #[serde(default)]
    pub architecture: String,
}

impl Node {
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }

    /// The condition of type `type_`, if the node has one.
    pub fn condition(&self, type_: &str) -> Option<&NodeCondition> {
        self.status.conditions.iter().find(|c| c.type_ == type_)
    }

    /// Whether the node's `Ready` condition is `True`.
    pub fn is_ready(&self) -> bool {
        self.condition(NODE_READY)
            .is_some_and(|c| c.status == "True")
    }

    /// The STATUS column of `kubectl get nodes`: `Ready` or `NotReady` (from the `Ready`
    /// condition; `Unknown` without one), then `SchedulingDisabled` for a cordoned node.
    pub fn status_column(&self) -> String {
        let mut parts = vec![match self.condition(NODE_READY) {
            Some(c) if c.status == "True" => NODE_READY.to_string(),
            Some(_) => format!("Not{NODE_READY}"),
            None => "Unknown".to_string(),
        }];
        if self.spec.unschedulable {
            parts.push("SchedulingDisabled".into());
        }
        parts.join(",")
    }

    /// The ROLES column's roles: each `node-role.kubernetes.io/<role>` label's role, and the
    /// value of a `kubernetes.io/role` label, sorted (the column shows `<none>` for none).
    pub fn roles(&self) -> Vec<String> {
        let mut roles: Vec<String> = self
            .metadata
            .labels
            .iter()
            .filter_map(|(k, v)| match k.strip_prefix(ROLE_PREFIX) {
                Some(role) if !role.is_empty() => Some(role.to_string()),
                _ if k == ROLE_LABEL && !v.is_empty() => Some(v.clone()),
                _ => None,
            })
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Node as a cluster's API server returns one (trimmed), read and written back as it was.
    #[test]
    fn a_clusters_node_round_trips() {
        let json = r#"{"apiVersion":"v1","kind":"Node","metadata":{"name":"worker-1","labels":{"kubernetes.io/arch":"amd64","kubernetes.io/hostname":"worker-1","kubernetes.io/os":"linux","node-role.kubernetes.io/worker":""}},"spec":{"unschedulable":true,"taints":[{"key":"node.kubernetes.io/unschedulable","effect":"NoSchedule","timeAdded":"2026-12-07T10:00:00Z"}]},"status":{"capacity":{"memory":"16Gi","pods":"110"},"allocatable":{"memory":"15Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True","lastHeartbeatTime":"2026-12-07T10:00:05Z","lastTransitionTime":"2026-12-07T09:00:00Z","reason":"KubeletReady","message":"kubelet is posting ready status"}],"addresses":[{"type":"InternalIP","address":"10.0.0.5"},{"type":"Hostname","address":"worker-1"}],"nodeInfo":{"machineID":"m","systemUUID":"s","bootID":"b","kernelVersion":"6.1.0","osImage":"Debian GNU/Linux 12","containerRuntimeVersion":"containerd://1.7","kubeletVersion":"v1.32.0","kubeProxyVersion":"","operatingSystem":"linux","architecture":"amd64"}}}"#;
        let node: Node = serde_json::from_str(json).unwrap();
        assert_eq!(node.name(), "worker-1");
        assert!(node.is_ready());
        assert_eq!(node.status.capacity["pods"], Quantity("110".into()));
        assert_eq!(serde_json::to_string(&node).unwrap(), json);
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let e = serde_json::from_str::<Node>(r#"{"spec":{"podCIDRs":["10.0.0.0/24"]}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("podCIDRs"), "{e}");
    }

    fn with_ready(status: Option<&str>, unschedulable: bool) -> Node {
        let mut n = Node::default();
        n.spec.unschedulable = unschedulable;
        if let Some(s) = status {
            n.status.conditions.push(NodeCondition {
                type_: NODE_READY.into(),
                status: s.into(),
                ..Default::default()
            });
        }
        n
    }

    /// As `kubectl get nodes` prints them (Kubernetes' `printNode`).
    #[test]
    fn the_status_column_follows_ready_and_cordoning() {
        assert_eq!(with_ready(Some("True"), false).status_column(), "Ready");
        assert_eq!(with_ready(Some("False"), false).status_column(), "NotReady");
        assert_eq!(
            with_ready(Some("Unknown"), false).status_column(),
            "NotReady"
        );
        assert_eq!(with_ready(None, false).status_column(), "Unknown");
        assert_eq!(
            with_ready(Some("True"), true).status_column(),
            "Ready,SchedulingDisabled"
        );
        assert!(!with_ready(Some("Unknown"), false).is_ready());
    }

    #[test]
    fn roles_come_from_both_role_labels() {
        let mut n = Node::default();
        assert!(n.roles().is_empty());
        for (k, v) in [
            ("node-role.kubernetes.io/worker", ""),
            ("node-role.kubernetes.io/control-plane", ""),
            ("kubernetes.io/role", "worker"),
            ("node-role.kubernetes.io/", ""),
            ("kubernetes.io/hostname", "n"),
        ] {
            n.metadata.labels.insert(k.into(), v.into());
        }
        assert_eq!(n.roles(), ["control-plane", "worker"]);
    }
}
