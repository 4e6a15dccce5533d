//! The v1 `Event` object of a stored event, as `get events -o json`, the API's lists and
//! watches, and `kubectl events` read it: a name and uid that are never reused, the involved
//! object, and the reporting component.

use crate::store::StoredEvent;
use serde_json::{Value, json};

/// An event as the v1 API shapes it. Its name (`<object>.<hex>`, as the API server's
/// recorder names events) and uid come from the resourceVersion it was first stored with,
/// which is never reused; an aggregated event keeps them as its count grows.
pub fn event_object(stored: &StoredEvent) -> Value {
    let e = &stored.event;
    let component = reporting_component(e);
    // Events stored before they had versions are named by their row instead.
    let key = if stored.name_version > 0 {
        stored.name_version as u64
    } else {
        (1 << 63) | stored.id as u64
    };
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": format!("{}.{key:x}", e.name),
            "namespace": e.namespace,
            "uid": uuid::Uuid::from_u64_pair(EVENT_UID_HIGH, key).to_string(),
            "resourceVersion": stored.version.to_string(),
            "creationTimestamp": stored.first,
        },
        "involvedObject": {
            "apiVersion": if e.kind == "Job" { "batch/v1" } else { "v1" },
            "kind": e.kind, "name": e.name, "namespace": e.namespace, "uid": e.uid
        },
        "reason": e.reason,
        "message": e.message,
        "type": e.type_,
        "count": stored.count,
        "firstTimestamp": stored.first,
        "lastTimestamp": e.time,
        "source": {"component": component},
        "reportingComponent": component,
    })
}

/// Who records an event as Kubernetes has it: the Job controller a Job's, the node lifecycle
/// controller a node's registration and its going silent, the kubelet the rest (a pod's, a
/// node's start).
pub fn reporting_component(e: &crate::store::EventRecord) -> &'static str {
    match (e.kind.as_str(), e.reason.as_str()) {
        ("Job", _) => "job-controller",
        ("Node", "RegisteredNode" | "NodeNotReady") => "node-controller",
        ("Pod", "FailedScheduling") => "default-scheduler",
        _ => "kubelet",
    }
}

/// The high half of every event's uid (its low half is the event's key).
const EVENT_UID_HIGH: u64 = u64::from_be_bytes(*b"wasmjobe");
