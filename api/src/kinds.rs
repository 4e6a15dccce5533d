//! The kinds of object the API lists, gets and watches — Jobs, Pods, Events, Namespaces, Nodes —
//! each described once by [`Kind`]: its names, how it is read from the store, and kubectl's
//! Table columns and cells (the same cells `wasmjob get` prints). Lists, gets and watches are
//! written once, over this trait (see `objects` and `watch`), so every kind listed is
//! watchable the same way.
//!
//! Must not: write to the store or know about HTTP.

use serde_json::{Map, Value, json};
use wasmjob_control::field_selector::Resource;
use wasmjob_control::ops::rows as printers;
use wasmjob_control::store::{Store, StoreError};
use wasmjob_spec::{ObjectMeta, Time};

/// A Table column: name, type, format, priority (1: only with `-o wide`), description.
pub(super) type Column = (&'static str, &'static str, &'static str, u8, &'static str);

/// What lists, gets and watches of one kind of object need to know of it.
pub(super) trait Kind:
    serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static
{
    const COLUMNS: &'static [Column];
    const KIND: &'static str;
    const LIST_KIND: &'static str;
    const API_VERSION: &'static str;
    /// The API group (`""` for the core group) and the resource as errors name it
    /// (`jobs.batch`, `pods`).
    const GROUP: &'static str;
    const RESOURCE: &'static str;
    /// What its field selectors may name.
    const FIELDS: Resource;
    /// The objects in `namespace` (all when `None`; cluster-scoped kinds ignore it), in the
    /// order of their [`Kind::key`]s.
    fn load(store: &Store, namespace: Option<&str>) -> Result<Vec<Self>, StoreError>
    where
        Self: Sized;
    /// One object by name.
    fn find(store: &Store, namespace: Option<&str>, name: &str) -> Result<Option<Self>, StoreError>
    where
        Self: Sized,
    {
        Ok(Self::load(store, namespace)?
            .into_iter()
            .find(|o| o.meta().name.as_deref() == Some(name)))
    }
    /// The objects in `namespace` written after resourceVersion `since`, for kinds the store
    /// lists by change (`None`: the kind is listed whole at every look of a watch).
    fn load_changed(
        _store: &Store,
        _namespace: Option<&str>,
        _since: i64,
    ) -> Result<Option<Vec<Self>>, StoreError>
    where
        Self: Sized,
    {
        Ok(None)
    }
    fn meta(&self) -> &ObjectMeta;
    /// What a list is ordered by, and a continued list goes on after: namespace and name, as
    /// the API server (etcd) orders them.
    fn key(&self) -> String {
        let m = self.meta();
        format!("{}/{}", m.namespace(), m.name())
    }
    /// kubectl's cells of each object, `-o wide` columns included (no header).
    fn cells(objects: &[&Self], now: Time) -> Vec<Vec<String>>
    where
        Self: Sized;
}

/// Objects sorted by their key.
fn by_key<T: Kind>(mut all: Vec<T>) -> Vec<T> {
    all.sort_by_cached_key(|o| o.key());
    all
}

impl Kind for wasmjob_spec::Job {
    const COLUMNS: &'static [Column] = &JOB_COLUMNS;
    const KIND: &'static str = "Job";
    const FIELDS: Resource = Resource::Jobs;
    const LIST_KIND: &'static str = "JobList";
    const API_VERSION: &'static str = "batch/v1";
    const GROUP: &'static str = "batch";
    const RESOURCE: &'static str = "jobs.batch";
    fn load(store: &Store, namespace: Option<&str>) -> Result<Vec<Self>, StoreError> {
        Ok(by_key(
            store
                .list_jobs(namespace)?
                .into_iter()
                .map(|r| r.job)
                .collect(),
        ))
    }
    fn find(
        store: &Store,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Self>, StoreError> {
        Ok(store
            .get_job(namespace.unwrap_or("default"), name)?
            .map(|r| r.job))
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn cells(objects: &[&Self], now: Time) -> Vec<Vec<String>> {
        let mut rows = printers::job_rows(objects, true, false, now);
        rows.remove(0);
        rows
    }
}

impl Kind for wasmjob_spec::Pod {
    const COLUMNS: &'static [Column] = &POD_COLUMNS;
    const KIND: &'static str = "Pod";
    const FIELDS: Resource = Resource::Pods;
    const LIST_KIND: &'static str = "PodList";
    const API_VERSION: &'static str = "v1";
    const GROUP: &'static str = "";
    const RESOURCE: &'static str = "pods";
    fn load(store: &Store, namespace: Option<&str>) -> Result<Vec<Self>, StoreError> {
        Ok(by_key(store.list_pods(namespace)?))
    }
    fn find(
        store: &Store,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Self>, StoreError> {
        store.get_pod(namespace.unwrap_or("default"), name)
    }
    fn load_changed(
        store: &Store,
        namespace: Option<&str>,
        since: i64,
    ) -> Result<Option<Vec<Self>>, StoreError> {
        store.pods_changed_since(namespace, since).map(Some)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn cells(objects: &[&Self], now: Time) -> Vec<Vec<String>> {
        let mut rows = printers::pod_rows(objects, true, false, now);
        rows.remove(0);
        rows
    }
}

/// A core/v1 Event, as `wasmjob_control::ops::events::event_object` shapes it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct Event {
    metadata: ObjectMeta,
    #[serde(flatten)]
    rest: Map<String, Value>,
    /// The stored record, for the Table's cells.
    #[serde(skip)]
    record: Option<wasmjob_control::store::EventRecord>,
    /// The resourceVersion and row it was stored with.
    #[serde(skip)]
    order: (i64, i64),
}

impl Kind for Event {
    const COLUMNS: &'static [Column] = &EVENT_COLUMNS;
    const KIND: &'static str = "Event";
    const FIELDS: Resource = Resource::Events;
    const LIST_KIND: &'static str = "EventList";
    const API_VERSION: &'static str = "v1";
    const GROUP: &'static str = "";
    const RESOURCE: &'static str = "events";
    fn load(store: &Store, namespace: Option<&str>) -> Result<Vec<Self>, StoreError> {
        let events = store
            .list_events(namespace)?
            .into_iter()
            .filter_map(|stored| {
                let mut event: Event =
                    serde_json::from_value(wasmjob_control::ops::events::event_object(&stored))
                        .ok()?;
                event.record = Some(stored.event);
                event.order = (stored.version, stored.id);
                Some(event)
            });
        Ok(by_key(events.collect()))
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    /// Events are listed in the order they happened (their resourceVersions; events stored
    /// before they had one come first, by row), as `kubectl get events` shows them.
    fn key(&self) -> String {
        format!("{:020}.{:020}", self.order.0, self.order.1)
    }
    fn cells(objects: &[&Self], now: Time) -> Vec<Vec<String>> {
        objects
            .iter()
            .map(|e| match &e.record {
                Some(r) => printers::event_row(r, now),
                None => vec![String::new(); EVENT_COLUMNS.len()],
            })
            .collect()
    }
}

/// A core/v1 Namespace: `default`, and every namespace recorded (created through the API,
/// or by the first Job created in it). Namespaces are not deleted.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct Namespace {
    metadata: ObjectMeta,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// The namespace uids are made from their names, so they stay the same for every reader.
const NAMESPACE_UIDS: uuid::Uuid = uuid::Uuid::from_u128(0x7761_736d_6a6f_622d_6e61_6d65_7370_6163);

impl Namespace {
    /// The Namespace `name`, created at `created` (unknown: `None`) with resourceVersion
    /// `version`.
    pub(super) fn new(name: &str, created: Option<Time>, version: i64) -> Namespace {
        let object = json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "uid": uuid::Uuid::new_v5(&NAMESPACE_UIDS, name.as_bytes()).to_string(),
                "resourceVersion": version.to_string(),
                "creationTimestamp": created,
                "labels": {"kubernetes.io/metadata.name": name},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        });
        serde_json::from_value(object).unwrap_or_else(|_| Namespace {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                ..Default::default()
            },
            rest: Map::new(),
        })
    }
}

impl Kind for Namespace {
    const COLUMNS: &'static [Column] = &NAMESPACE_COLUMNS;
    const KIND: &'static str = "Namespace";
    const FIELDS: Resource = Resource::Namespaces;
    const LIST_KIND: &'static str = "NamespaceList";
    const API_VERSION: &'static str = "v1";
    const GROUP: &'static str = "";
    const RESOURCE: &'static str = "namespaces";
    fn load(store: &Store, _: Option<&str>) -> Result<Vec<Self>, StoreError> {
        let stored = store.namespaces()?;
        let mut all: Vec<Namespace> = stored
            .iter()
            .map(|n| {
                let created = (n.created.as_millis() > 0).then_some(n.created);
                Namespace::new(&n.name, created, n.version)
            })
            .collect();
        if !stored.iter().any(|n| n.name == "default") {
            all.push(Namespace::new("default", None, 0));
        }
        Ok(by_key(all))
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn cells(objects: &[&Self], now: Time) -> Vec<Vec<String>> {
        objects
            .iter()
            .map(|n| {
                let age = match n.metadata.creation_timestamp {
                    Some(t) => printers::since(Some(t), now),
                    None => "<unknown>".into(),
                };
                vec![n.metadata.name().to_string(), "Active".into(), age]
            })
            .collect()
    }
}

impl Kind for wasmjob_spec::node::Node {
    const COLUMNS: &'static [Column] = &NODE_COLUMNS;
    const KIND: &'static str = "Node";
    const FIELDS: Resource = Resource::Nodes;
    const LIST_KIND: &'static str = "NodeList";
    const API_VERSION: &'static str = "v1";
    const GROUP: &'static str = "";
    const RESOURCE: &'static str = "nodes";
    fn load(store: &Store, _: Option<&str>) -> Result<Vec<Self>, StoreError> {
        Ok(by_key(store.nodes()?))
    }
    fn find(store: &Store, _: Option<&str>, name: &str) -> Result<Option<Self>, StoreError> {
        store.node(name)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn cells(objects: &[&Self], now: Time) -> Vec<Vec<String>> {
        let mut rows = printers::node_rows(objects, true, now);
        rows.remove(0);
        rows
    }
}

/// kubectl's node columns (Kubernetes' `nodeColumnDefinitions`).
const NODE_COLUMNS: [Column; 10] = [
    (
        "Name",
        "string",
        "name",
        0,
        "Name must be unique within a namespace.",
    ),
    ("Status", "string", "", 0, "The status of the node"),
    ("Roles", "string", "", 0, "The roles of the node"),
    (
        "Age",
        "string",
        "",
        0,
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    ),
    (
        "Version",
        "string",
        "",
        0,
        "Kubelet Version reported by the node.",
    ),
    (
        "Internal-IP",
        "string",
        "",
        1,
        "List of addresses reachable to the node.",
    ),
    (
        "External-IP",
        "string",
        "",
        1,
        "List of addresses reachable to the node.",
    ),
    (
        "OS-Image",
        "string",
        "",
        1,
        "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
    ),
    (
        "Kernel-Version",
        "string",
        "",
        1,
        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
    ),
    (
        "Container-Runtime",
        "string",
        "",
        1,
        "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
    ),
];

const JOB_COLUMNS: [Column; 8] = [
    (
        "Name",
        "string",
        "name",
        0,
        "Name must be unique within a namespace.",
    ),
    ("Status", "string", "", 0, "Status of the job."),
    (
        "Completions",
        "string",
        "",
        0,
        "The desired number of successfully finished pods the job should be run with.",
    ),
    (
        "Duration",
        "string",
        "",
        0,
        "Time required to complete the job.",
    ),
    (
        "Age",
        "date",
        "",
        0,
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    ),
    (
        "Containers",
        "string",
        "",
        1,
        "Names of each container in the template.",
    ),
    (
        "Images",
        "string",
        "",
        1,
        "Images referenced by each container in the template.",
    ),
    (
        "Selector",
        "string",
        "",
        1,
        "A label query over pods that should match the pod count.",
    ),
];

const POD_COLUMNS: [Column; 10] = [
    (
        "Name",
        "string",
        "name",
        0,
        "Name must be unique within a namespace.",
    ),
    (
        "Ready",
        "string",
        "",
        0,
        "The aggregate readiness state of this pod for accepting traffic.",
    ),
    (
        "Status",
        "string",
        "",
        0,
        "The aggregate status of the containers in this pod.",
    ),
    (
        "Restarts",
        "string",
        "",
        0,
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    (
        "Age",
        "string",
        "",
        0,
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    ),
    (
        "IP",
        "string",
        "",
        1,
        "IP address allocated to the pod (none: wasm guests have no network).",
    ),
    (
        "Node",
        "string",
        "",
        1,
        "Name of the Node this pod is running on.",
    ),
    (
        "Nominated Node",
        "string",
        "",
        1,
        "Name of the node the pod is nominated to.",
    ),
    (
        "Readiness Gates",
        "string",
        "",
        1,
        "Readiness gates of the pod.",
    ),
    (
        "Progress",
        "string",
        "",
        1,
        "The task's own report of its progress (guest SDK).",
    ),
];

const EVENT_COLUMNS: [Column; 5] = [
    (
        "Last Seen",
        "string",
        "",
        0,
        "Time when this Event was last observed.",
    ),
    (
        "Type",
        "string",
        "",
        0,
        "Type of this event (Normal, Warning).",
    ),
    (
        "Reason",
        "string",
        "",
        0,
        "A short, machine understandable string that gives the reason for the transition into the object's current status.",
    ),
    (
        "Object",
        "string",
        "",
        0,
        "The object that this event is about.",
    ),
    (
        "Message",
        "string",
        "",
        0,
        "A human-readable description of the status of this operation.",
    ),
];

const NAMESPACE_COLUMNS: [Column; 3] = [
    (
        "Name",
        "string",
        "name",
        0,
        "Name must be unique within a namespace.",
    ),
    ("Status", "string", "", 0, "The status of the namespace."),
    (
        "Age",
        "string",
        "",
        0,
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    ),
];
