//! Discovery: `/version`, `/api`, `/apis`, `/api/v1` and `/apis/batch/v1`, which kubectl and
//! the client libraries read (and cache) to map `jobs`, `job`, `pods`, `po` to their paths and
//! to know what they may do with each, from [`wasmjob_control::resources::RESOURCES`], the one list of
//! what is served (the router's routes are tested against it, verb by verb, both ways).

use axum::Json;
use serde_json::{Value, json};
use wasmjob_control::resources::RESOURCES;

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

/// The `APIResourceList` of one group version.
fn resource_list(group_version: &str) -> Json<Value> {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.group_version == group_version)
        .map(|r| {
            let mut v = json!({
                "name": r.name,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": r.verbs,
            });
            if !r.short_names.is_empty() {
                v["shortNames"] = json!(r.short_names);
            }
            if !r.categories.is_empty() {
                v["categories"] = json!(r.categories);
            }
            v
        })
        .collect();
    Json(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }))
}

pub async fn core_resources() -> Json<Value> {
    resource_list("v1")
}

pub async fn batch_resources() -> Json<Value> {
    resource_list("batch/v1")
}
