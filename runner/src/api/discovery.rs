//! Discovery: `/version`, `/api`, `/apis`, `/api/v1` and `/apis/batch/v1`, which kubectl reads
//! (and caches) to map `jobs`, `job`, `pods`, `po` to their paths.

use axum::Json;
use serde_json::{Value, json};

pub async fn version() -> Json<Value> {
    Json(json!({
        "major": "1",
        "minor": "34",
        "gitVersion": concat!("v1.34.0-wasmjob.", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    }))
}

pub async fn core_versions() -> Json<Value> {
    Json(json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [],
    }))
}

pub async fn groups() -> Json<Value> {
    let batch = json!({"groupVersion": "batch/v1", "version": "v1"});
    Json(json!({
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [{"name": "batch", "versions": [batch], "preferredVersion": batch}],
    }))
}

/// The verbs served for Namespaces and Events…
const VERBS: [&str; 2] = ["get", "list"];
/// …for Pods…
const VERBS_DELETE: [&str; 4] = ["get", "list", "watch", "delete"];
/// …and for Jobs.
const VERBS_JOBS: [&str; 7] = [
    "create", "delete", "get", "list", "patch", "update", "watch",
];

pub async fn core_resources() -> Json<Value> {
    Json(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "v1",
        "resources": [{
            "name": "pods",
            "singularName": "pod",
            "namespaced": true,
            "kind": "Pod",
            "verbs": VERBS_DELETE,
            "shortNames": ["po"],
            "categories": ["all"],
        }, {
            "name": "namespaces",
            "singularName": "namespace",
            "namespaced": false,
            "kind": "Namespace",
            "verbs": ["create", "get", "list"],
            "shortNames": ["ns"],
        }, {
            "name": "events",
            "singularName": "event",
            "namespaced": true,
            "kind": "Event",
            "verbs": VERBS,
            "shortNames": ["ev"],
        }, {
            "name": "pods/log",
            "singularName": "",
            "namespaced": true,
            "kind": "Pod",
            "verbs": ["get"],
        }],
    }))
}

pub async fn batch_resources() -> Json<Value> {
    Json(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "batch/v1",
        "resources": [{
            "name": "jobs",
            "singularName": "job",
            "namespaced": true,
            "kind": "Job",
            "verbs": VERBS_JOBS,
            "categories": ["all"],
        }, {
            "name": "jobs/status",
            "singularName": "",
            "namespaced": true,
            "kind": "Job",
            "verbs": ["get"],
        }],
    }))
}
