//! The `paths` of the documents: every path the API serves for Jobs, Pods, pod logs, Events,
//! Namespaces and Nodes, with its operations (`operationId`, `x-kubernetes-action`,
//! `x-kubernetes-group-version-kind`, parameters, bodies and answers).
//!
//! What kubectl reads here: `kubectl explain` finds a resource's kind in the
//! `x-kubernetes-group-version-kind` of its path's operations; the field validation check of
//! `kubectl create` / `apply` / `replace` looks for a `fieldValidation` query parameter on the
//! PATCH operation of the object's kind (and, finding it, leaves validation to the server); and
//! client-side `kubectl apply` computes a strategic merge patch from the schemas only when that
//! PATCH operation accepts `application/strategic-merge-patch+json`.
//!
//! Must not: describe the objects themselves (that is `meta`, `core` and `batch`).

use super::batch::{JOB, JOB_GVK, JOB_LIST};
use super::core::{
    EVENT, EVENT_GVK, EVENT_LIST, NAMESPACE, NAMESPACE_GVK, NAMESPACE_LIST, NODE, NODE_GVK,
    NODE_LIST, POD, POD_GVK, POD_LIST,
};
use super::meta::{DELETE_OPTIONS, PATCH, STATUS, WATCH_EVENT};
use super::schema::{Gvk, reference};
use serde_json::{Map, Value, json};

/// The patch types the API applies (server-side apply is refused).
const PATCH_TYPES: [&str; 3] = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

/// One kind of object the API serves, and how its operations are named.
struct Resource {
    gvk: Gvk,
    schema: &'static str,
    list: &'static str,
    tag: &'static str,
}

const JOBS: Resource = Resource {
    gvk: JOB_GVK,
    schema: JOB,
    list: JOB_LIST,
    tag: "batch_v1",
};
const PODS: Resource = Resource {
    gvk: POD_GVK,
    schema: POD,
    list: POD_LIST,
    tag: "core_v1",
};
const EVENTS: Resource = Resource {
    gvk: EVENT_GVK,
    schema: EVENT,
    list: EVENT_LIST,
    tag: "core_v1",
};
const NODES: Resource = Resource {
    gvk: NODE_GVK,
    schema: NODE,
    list: NODE_LIST,
    tag: "core_v1",
};

const NAMESPACES: Resource = Resource {
    gvk: NAMESPACE_GVK,
    schema: NAMESPACE,
    list: NAMESPACE_LIST,
    tag: "core_v1",
};

fn query(name: &str, type_: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": type_}})
}

fn in_path(name: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "path",
        "required": true,
        "description": description,
        "schema": {"type": "string"},
    })
}

fn namespace_param() -> Value {
    in_path("namespace", "The namespace of the objects.")
}

fn name_param(kind: &str) -> Value {
    in_path("name", &format!("The name of the {kind}."))
}

/// The query parameters that filter a list.
/// The query parameters of every list and watch (`ListOptions`).
fn list_params() -> Vec<Value> {
    vec![
        query(
            "labelSelector",
            "string",
            "Keep the objects whose labels match (`app=x`, `tier in (a,b)`, `!legacy`).",
        ),
        query(
            "fieldSelector",
            "string",
            "Keep the objects whose fields match: terms `field=value`, `field==value` or \
             `field!=value`, separated by commas, on the fields the API server supports for \
             the kind (Jobs: `metadata.name`, `metadata.namespace`, `status.successful`; \
             pods: also `spec.nodeName`, `spec.restartPolicy`, `status.phase`, …; events: \
             `involvedObject.*`, `reason`, `type`, `source`, …). Another field is a 400.",
        ),
        query(
            "limit",
            "integer",
            "At most this many objects; when more remain, the list's `continue` token and \
             `remainingItemCount` say so.",
        ),
        query(
            "continue",
            "string",
            "A list's `continue` token: the next page (from the store as it is now, not a \
             snapshot of the first page).",
        ),
        query(
            "resourceVersion",
            "string",
            "In a list: `0` or unset, the store as it is; another, a version the store must \
             have reached (with `resourceVersionMatch`). In a watch: a list's \
             resourceVersion, to be sent first what changed and what was deleted since.",
        ),
        query(
            "resourceVersionMatch",
            "string",
            "`NotOlderThan` (a newer version than the store's is a 504) or `Exact` (only the \
             current one can be served; an older one is 410). In a watch only with \
             `sendInitialEvents`.",
        ),
        query(
            "watch",
            "boolean",
            "Stream changes (`ADDED`, `MODIFIED`, `DELETED`, one JSON object a line) instead \
             of listing. The store is checked for changes every 100 ms; every commit is \
             seen, whoever made it.",
        ),
        query(
            "allowWatchBookmarks",
            "boolean",
            "In a watch, also send `BOOKMARK` events carrying the store's resourceVersion.",
        ),
        query(
            "sendInitialEvents",
            "boolean",
            "In a watch (with `resourceVersionMatch=NotOlderThan`): `true` sends every object \
             first as `ADDED`, then a bookmark annotated `k8s.io/initial-events-end`; `false` \
             sends only what changes.",
        ),
        query(
            "timeoutSeconds",
            "integer",
            "End a watch after this many seconds.",
        ),
    ]
}

/// The query parameters of a delete (`DeleteOptions`, read from the query when the request
/// has no body).
fn delete_params() -> Vec<Value> {
    vec![
        query(
            "propagationPolicy",
            "string",
            "`Orphan` (the default for a Job), `Background` or `Foreground`.",
        ),
        query(
            "orphanDependents",
            "boolean",
            "Deprecated: `true` is `Orphan`, `false` `Background`.",
        ),
        query(
            "gracePeriodSeconds",
            "integer",
            "Read and without effect: pods stop at once.",
        ),
        query(
            "dryRun",
            "string",
            "`All`: answer what the deletion would make of the object, delete nothing.",
        ),
    ]
}

/// The query parameters of a create, replace or patch.
fn write_params() -> Vec<Value> {
    vec![
        query(
            "dryRun",
            "string",
            "`All`: check the change as if it were made (defaults, validation, modules that \
             must load) and store nothing.",
        ),
        query(
            "fieldManager",
            "string",
            "Accepted and ignored: wasmjob keeps no record of who set which field.",
        ),
        query(
            "fieldValidation",
            "string",
            "What to do with fields of the body that the schema does not have. wasmjob reads \
             every object strictly: an unknown field is refused (400, naming it) whatever \
             this says, as with `Strict`, kubectl's default.",
        ),
    ]
}

fn gvk(r: &Resource) -> Value {
    r.gvk.json()
}

fn json_content(schema: &str) -> Value {
    json!({"application/json": {"schema": reference(schema)}})
}

/// The answers every operation may give besides its success.
fn failures(mut answers: Map<String, Value>) -> Value {
    answers.insert(
        "401".into(),
        json!({"description": "Unauthorized: the bearer token is missing or wrong."}),
    );
    answers.insert(
        "default".into(),
        json!({
            "description": "A failure, as a Status naming its reason.",
            "content": json_content(STATUS),
        }),
    );
    Value::Object(answers)
}

fn ok(code: &str, description: &str, content: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        code.into(),
        json!({"description": description, "content": content}),
    );
    m
}

fn operation(
    r: &Resource,
    id: String,
    action: &str,
    description: &str,
    parameters: Vec<Value>,
    body: Option<Value>,
    answers: Map<String, Value>,
) -> Value {
    let mut op = json!({
        "tags": [r.tag],
        "description": description,
        "operationId": id,
        "parameters": parameters,
        "responses": failures(answers),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(r),
    });
    if let (Some(b), Value::Object(m)) = (body, &mut op) {
        m.insert("requestBody".into(), b);
    }
    op
}

fn list(r: &Resource, id: String, description: &str) -> Value {
    let mut content = json_content(r.list);
    if let Value::Object(m) = &mut content {
        m.insert(
            "application/json;stream=watch".into(),
            json!({"schema": reference(WATCH_EVENT)}),
        );
    }
    operation(
        r,
        id,
        "list",
        description,
        list_params(),
        None,
        ok("200", "The list, or with `watch` its changes.", content),
    )
}

fn read(r: &Resource, id: String, description: &str) -> Value {
    operation(
        r,
        id,
        "get",
        description,
        Vec::new(),
        None,
        ok("200", "The object.", json_content(r.schema)),
    )
}

fn object_body(r: &Resource) -> Value {
    json!({
        "required": true,
        "content": {
            "application/json": {"schema": reference(r.schema)},
            "application/yaml": {"schema": reference(r.schema)},
        },
    })
}

fn patch_body() -> Value {
    let content: Map<String, Value> = PATCH_TYPES
        .iter()
        .map(|t| (t.to_string(), json!({"schema": reference(PATCH)})))
        .collect();
    json!({"required": true, "content": content})
}

/// The PATCH of a kind the API does not change: listed so that kubectl, finding
/// `fieldValidation` on it, hands validation to the server, whose 405 it then shows.
fn refused_patch(r: &Resource, id: String, why: &str) -> Value {
    let mut answers = Map::new();
    answers.insert(
        "405".into(),
        json!({"description": "Always: the change is not served.", "content": json_content(STATUS)}),
    );
    operation(
        r,
        id,
        "patch",
        &format!(
            "Not served: {why}. Every request is answered 405 MethodNotAllowed. The operation \
             is listed so that `kubectl create` and `kubectl apply` leave validation to the \
             server and show that answer."
        ),
        write_params(),
        Some(patch_body()),
        answers,
    )
}

fn path_item(parameters: Vec<Value>, operations: Vec<(&str, Value)>) -> Value {
    let mut item = Map::new();
    for (method, op) in operations {
        item.insert(method.into(), op);
    }
    if !parameters.is_empty() {
        item.insert("parameters".into(), Value::Array(parameters));
    }
    Value::Object(item)
}

/// The paths of `apis/batch/v1`.
pub fn batch() -> Map<String, Value> {
    let r = &JOBS;
    let mut paths = Map::new();
    paths.insert(
        "/apis/batch/v1/jobs".into(),
        path_item(
            Vec::new(),
            vec![(
                "get",
                list(
                    r,
                    "listBatchV1JobForAllNamespaces".into(),
                    "List or watch the Jobs of every namespace.",
                ),
            )],
        ),
    );
    paths.insert(
        "/apis/batch/v1/namespaces/{namespace}/jobs".into(),
        path_item(
            vec![namespace_param()],
            vec![
                (
                    "get",
                    list(
                        r,
                        "listBatchV1NamespacedJob".into(),
                        "List or watch the Jobs of a namespace.",
                    ),
                ),
                (
                    "post",
                    operation(
                        r,
                        "createBatchV1NamespacedJob".into(),
                        "post",
                        "Create a Job. It is defaulted and validated as `wasmjob apply` does a \
                         manifest, and its modules must load; relative images, hostPaths and \
                         the items file resolve against serve's `--image-dir`. serve's \
                         controller runs it.",
                        write_params(),
                        Some(object_body(r)),
                        ok("201", "The Job as stored.", json_content(JOB)),
                    ),
                ),
            ],
        ),
    );
    paths.insert(
        "/apis/batch/v1/namespaces/{namespace}/jobs/{name}".into(),
        path_item(
            vec![namespace_param(), name_param("Job")],
            vec![
                (
                    "get",
                    read(r, "readBatchV1NamespacedJob".into(), "Read a Job."),
                ),
                (
                    "put",
                    operation(
                        r,
                        "replaceBatchV1NamespacedJob".into(),
                        "put",
                        "Replace a Job's spec and metadata. Only the changes Kubernetes allows \
                         on a Job are accepted (parallelism, suspend, deadlines, TTL, \
                         backoffLimit, …); others are refused as `field is immutable`. A \
                         `metadata.resourceVersion` other than the stored one is a Conflict.",
                        write_params(),
                        Some(object_body(r)),
                        ok("200", "The Job as stored.", json_content(JOB)),
                    ),
                ),
                (
                    "patch",
                    operation(
                        r,
                        "patchBatchV1NamespacedJob".into(),
                        "patch",
                        "Change a Job with a JSON patch, a JSON merge patch or a strategic \
                         merge patch (what `kubectl patch` and client-side `kubectl apply` \
                         send), under the rules of a replace.",
                        write_params(),
                        Some(patch_body()),
                        ok("200", "The Job as stored.", json_content(JOB)),
                    ),
                ),
                (
                    "delete",
                    operation(
                        r,
                        "deleteBatchV1NamespacedJob".into(),
                        "delete",
                        "Mark a Job for deletion. Its controller stops its pods and removes it \
                         (with them, unless the propagation is `Orphan`, the default for a \
                         Job).",
                        delete_params(),
                        Some(json!({"content": {"*/*": {"schema": reference(DELETE_OPTIONS)}}})),
                        ok(
                            "200",
                            "The Job as it is then, with its deletionTimestamp.",
                            json_content(JOB),
                        ),
                    ),
                ),
            ],
        ),
    );
    paths.insert(
        "/apis/batch/v1/namespaces/{namespace}/jobs/{name}/status".into(),
        path_item(
            vec![namespace_param(), name_param("Job")],
            vec![(
                "get",
                read(
                    r,
                    "readBatchV1NamespacedJobStatus".into(),
                    "Read a Job, for its status (written by its controller only).",
                ),
            )],
        ),
    );
    paths
}

/// The paths of `api/v1`.
pub fn core() -> Map<String, Value> {
    let mut paths = Map::new();
    let pods = &PODS;
    paths.insert(
        "/api/v1/pods".into(),
        path_item(
            Vec::new(),
            vec![(
                "get",
                list(
                    pods,
                    "listCoreV1PodForAllNamespaces".into(),
                    "List or watch the pods of every namespace.",
                ),
            )],
        ),
    );
    paths.insert(
        "/api/v1/namespaces/{namespace}/pods".into(),
        path_item(
            vec![namespace_param()],
            vec![(
                "get",
                list(
                    pods,
                    "listCoreV1NamespacedPod".into(),
                    "List or watch the pods of a namespace.",
                ),
            )],
        ),
    );
    paths.insert(
        "/api/v1/namespaces/{namespace}/pods/{name}".into(),
        path_item(
            vec![namespace_param(), name_param("pod")],
            vec![
                (
                    "get",
                    read(pods, "readCoreV1NamespacedPod".into(), "Read a pod."),
                ),
                (
                    "patch",
                    refused_patch(
                        pods,
                        "patchCoreV1NamespacedPod".into(),
                        "a pod is made and changed by its Job's controller",
                    ),
                ),
                (
                    "delete",
                    operation(
                        pods,
                        "deleteCoreV1NamespacedPod".into(),
                        "delete",
                        "Delete a pod. A running pod is stopped; its Job counts it (as failed) \
                         and replaces it as its podReplacementPolicy says, then the pod goes. \
                         A finished pod that was counted goes at once.",
                        delete_params(),
                        Some(json!({"content": {"*/*": {"schema": reference(DELETE_OPTIONS)}}})),
                        ok(
                            "200",
                            "The pod as it is then, with its deletionTimestamp.",
                            json_content(POD),
                        ),
                    ),
                ),
            ],
        ),
    );
    paths.insert(
        "/api/v1/namespaces/{namespace}/pods/{name}/log".into(),
        path_item(
            vec![namespace_param(), name_param("pod")],
            vec![(
                "get",
                operation(
                    pods,
                    "readCoreV1NamespacedPodLog".into(),
                    "get",
                    "Read a container's log: its stdout and stderr, bytes as the guest wrote \
                     them (at most serve's `--log-limit` per run).",
                    vec![
                        query(
                            "container",
                            "string",
                            "The container (default: the pod's only one).",
                        ),
                        query(
                            "previous",
                            "boolean",
                            "The log of the container's previous run (before an OnFailure \
                             restart).",
                        ),
                        query("tailLines", "integer", "Only this many last lines."),
                        query(
                            "follow",
                            "boolean",
                            "Go on sending what the run writes, until it ends.",
                        ),
                        query(
                            "timestamps",
                            "boolean",
                            "Start each line with the time it was written (RFC 3339).",
                        ),
                    ],
                    None,
                    ok(
                        "200",
                        "The log.",
                        json!({"text/plain": {"schema": {"type": "string"}}}),
                    ),
                ),
            )],
        ),
    );
    let events = &EVENTS;
    paths.insert(
        "/api/v1/events".into(),
        path_item(
            Vec::new(),
            vec![(
                "get",
                list(
                    events,
                    "listCoreV1EventForAllNamespaces".into(),
                    "List the events of every namespace.",
                ),
            )],
        ),
    );
    paths.insert(
        "/api/v1/namespaces/{namespace}/events".into(),
        path_item(
            vec![namespace_param()],
            vec![(
                "get",
                list(
                    events,
                    "listCoreV1NamespacedEvent".into(),
                    "List the events of a namespace (`involvedObject.*` field selectors pick \
                     one object's, as `kubectl describe` does).",
                ),
            )],
        ),
    );
    paths.insert(
        "/api/v1/namespaces/{namespace}/events/{name}".into(),
        path_item(
            vec![namespace_param(), name_param("event")],
            vec![(
                "get",
                read(events, "readCoreV1NamespacedEvent".into(), "Read an event."),
            )],
        ),
    );
    let nodes = &NODES;
    paths.insert(
        "/api/v1/nodes".into(),
        path_item(
            Vec::new(),
            vec![(
                "get",
                list(
                    nodes,
                    "listCoreV1Node".into(),
                    "List or watch the nodes (field selectors: `metadata.name`, \
                     `spec.unschedulable`).",
                ),
            )],
        ),
    );
    paths.insert(
        "/api/v1/nodes/{name}".into(),
        path_item(
            vec![name_param("node")],
            vec![
                ("get", read(nodes, "readCoreV1Node".into(), "Read a node.")),
                (
                    "patch",
                    operation(
                        nodes,
                        "patchCoreV1Node".into(),
                        "patch",
                        "Change a node's labels, annotations or spec (`kubectl cordon` sets \
                         `spec.unschedulable`) with a JSON patch, a JSON merge patch or a \
                         strategic merge patch. Its status is its node's and stays.",
                        write_params(),
                        Some(patch_body()),
                        ok("200", "The node as stored.", json_content(NODE)),
                    ),
                ),
                (
                    "delete",
                    operation(
                        nodes,
                        "deleteCoreV1Node".into(),
                        "delete",
                        "Delete a node: it takes no new pods; the pods it runs go on, and a \
                         node registers again when its process restarts.",
                        delete_params(),
                        Some(json!({"content": {"*/*": {"schema": reference(DELETE_OPTIONS)}}})),
                        ok(
                            "200",
                            "A Success status naming the node.",
                            json_content(STATUS),
                        ),
                    ),
                ),
            ],
        ),
    );
    let namespaces = &NAMESPACES;
    paths.insert(
        "/api/v1/namespaces".into(),
        path_item(
            Vec::new(),
            vec![(
                "get",
                list(
                    namespaces,
                    "listCoreV1Namespace".into(),
                    "List the namespaces: `default`, those created, and every namespace a \
                     Job lives in.",
                ),
            ),
            (
                "post",
                operation(
                    namespaces,
                    "createCoreV1Namespace".into(),
                    "post",
                    "Create a namespace (`kubectl create namespace`). Only its name is read: \
                     a DNS label not yet in use.",
                    Vec::new(),
                    Some(json!({
                        "required": true,
                        "content": {
                            "application/json": {"schema": reference(NAMESPACE)},
                            "application/vnd.kubernetes.protobuf": {"schema": reference(NAMESPACE)},
                        },
                    })),
                    ok("201", "The namespace.", json_content(NAMESPACE)),
                ),
            )],
        ),
    );
    paths.insert(
        "/api/v1/namespaces/{name}".into(),
        path_item(
            vec![name_param("namespace")],
            vec![
                (
                    "get",
                    read(
                        namespaces,
                        "readCoreV1Namespace".into(),
                        "Read a namespace.",
                    ),
                ),
                (
                    "patch",
                    refused_patch(
                        namespaces,
                        "patchCoreV1Namespace".into(),
                        "a namespace has nothing to change here",
                    ),
                ),
            ],
        ),
    );
    paths
}
