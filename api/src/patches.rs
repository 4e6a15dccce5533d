//! The patch types of a `PATCH` request, applied to an object's JSON: JSON patch (RFC 6902),
//! JSON merge patch (RFC 7386) and Kubernetes' strategic merge patch, which `kubectl patch`
//! and client-side `kubectl apply` send. Server-side apply is refused with 415 and what to
//! use instead.
//!
//! Strategic merge, as the API server applies it to Jobs and Pods: maps merge (`null`
//! deletes a key); lists that Kubernetes merges by a key (containers and volumes by `name`,
//! volume mounts by `mountPath`, …) merge element by element, and other lists are replaced;
//! the directives `$patch` (`replace`, `delete`, `merge`), `$retainKeys`,
//! `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` are honoured.
//!
//! Must not: validate the result (the caller reads it as a Job and checks the update).

use super::status::ApiError;
use serde_json::{Map, Value};

/// A patch's type, from the request's `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
}

impl PatchType {
    /// The patch type of a request, from its `Content-Type` header.
    pub fn of_request(headers: &axum::http::HeaderMap) -> Result<PatchType, ApiError> {
        let content_type = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        PatchType::from_content_type(content_type)
    }

    pub fn from_content_type(content_type: &str) -> Result<PatchType, ApiError> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media {
            "application/json-patch+json" => Ok(PatchType::Json),
            "application/merge-patch+json" => Ok(PatchType::Merge),
            "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                Err(ApiError::unsupported_media_type(
                    "server-side apply is not supported by wasmjob: use client-side apply (`kubectl apply --server-side=false`, the default)".into(),
                ))
            }
            other => Err(ApiError::unsupported_media_type(format!(
                "the body of the request was in an unknown format ({other:?}); accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"
            ))),
        }
    }
}

/// `doc` with `patch` (the request's body) applied.
pub fn apply(kind: PatchType, doc: &Value, patch: &[u8]) -> Result<Value, ApiError> {
    let bad = |e: String| ApiError::bad_request(e);
    let mut out = doc.clone();
    match kind {
        PatchType::Json => {
            let ops: json_patch::Patch = serde_json::from_slice(patch)
                .map_err(|e| bad(format!("the JSON patch is not a list of operations: {e}")))?;
            json_patch::patch(&mut out, &ops).map_err(|e| {
                ApiError::unprocessable(format!("the JSON patch cannot be applied: {e}"))
            })?;
        }
        PatchType::Merge => {
            let p: Value = serde_json::from_slice(patch)
                .map_err(|e| bad(format!("the merge patch is not JSON: {e}")))?;
            json_patch::merge(&mut out, &p);
        }
        PatchType::Strategic => {
            let p: Value = serde_json::from_slice(patch)
                .map_err(|e| bad(format!("the strategic merge patch is not JSON: {e}")))?;
            let Value::Object(p) = p else {
                return Err(bad("the strategic merge patch must be a JSON object".into()));
            };
            out = strategic_merge(out, p).map_err(bad)?;
        }
    }
    Ok(out)
}

/// How Kubernetes merges the list under a field of this name (the `patchStrategy` and
/// `patchMergeKey` of the Job and Pod types).
enum ListStrategy {
    Replace,
    /// Merge the elements (objects) with the same value of this key.
    ByKey(&'static str),
    /// A set of scalars: add the patch's values.
    Primitive,
}

fn list_strategy(field: &str) -> ListStrategy {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims" => ListStrategy::ByKey("name"),
        "volumeMounts" => ListStrategy::ByKey("mountPath"),
        "volumeDevices" => ListStrategy::ByKey("devicePath"),
        "ports" => ListStrategy::ByKey("containerPort"),
        "conditions" => ListStrategy::ByKey("type"),
        "ownerReferences" => ListStrategy::ByKey("uid"),
        "hostAliases" => ListStrategy::ByKey("ip"),
        "finalizers" => ListStrategy::Primitive,
        _ => ListStrategy::Replace,
    }
}

const ORDER: &str = "$setElementOrder/";
const DELETE_FROM: &str = "$deleteFromPrimitiveList/";

/// Merges the map `patch` into `target`.
fn strategic_merge(target: Value, mut patch: Map<String, Value>) -> Result<Value, String> {
    match patch.remove("$patch") {
        None => {}
        Some(Value::String(d)) if d == "replace" => return Ok(Value::Object(patch)),
        Some(Value::String(d)) if d == "merge" => {}
        Some(Value::String(d)) if d == "delete" => return Ok(Value::Null),
        Some(other) => return Err(format!("unknown patch directive $patch: {other}")),
    }
    let mut target = match target {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let retain = patch.remove("$retainKeys");
    let mut orders = Vec::new();
    let mut deletions = Vec::new();
    for key in patch.keys().cloned().collect::<Vec<_>>() {
        if let Some(field) = key.strip_prefix(ORDER) {
            orders.push((field.to_string(), patch.remove(&key)));
        } else if let Some(field) = key.strip_prefix(DELETE_FROM) {
            deletions.push((field.to_string(), patch.remove(&key)));
        }
    }
    for (key, value) in patch {
        if value.is_null() {
            target.remove(&key);
            continue;
        }
        let current = target.remove(&key).unwrap_or(Value::Null);
        let merged = match value {
            Value::Object(p) => strategic_merge(current, p)?,
            Value::Array(items) => merge_list(&key, current, items)?,
            other => other,
        };
        if !merged.is_null() {
            target.insert(key, merged);
        }
    }
    for (field, values) in deletions {
        let Some(Value::Array(remove)) = values else {
            return Err(format!("{DELETE_FROM}{field} must be a list"));
        };
        if let Some(Value::Array(list)) = target.get_mut(&field) {
            list.retain(|v| !remove.contains(v));
        }
    }
    for (field, order) in orders {
        let Some(Value::Array(order)) = order else {
            return Err(format!("{ORDER}{field} must be a list"));
        };
        if let Some(Value::Array(list)) = target.get_mut(&field) {
            reorder(list, &order, &field);
        }
    }
    if let Some(retain) = retain {
        let Value::Array(keys) = retain else {
            return Err("$retainKeys must be a list".into());
        };
        target.retain(|k, _| keys.iter().any(|r| r.as_str() == Some(k)));
    }
    Ok(Value::Object(target))
}

fn merge_list(field: &str, current: Value, items: Vec<Value>) -> Result<Value, String> {
    let key = match list_strategy(field) {
        ListStrategy::Replace => return Ok(Value::Array(items)),
        ListStrategy::Primitive => {
            let mut list = match current {
                Value::Array(l) => l,
                _ => Vec::new(),
            };
            for v in items {
                if !list.contains(&v) {
                    list.push(v);
                }
            }
            return Ok(Value::Array(list));
        }
        ListStrategy::ByKey(key) => key,
    };
    if items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace") && i.get(key).is_none())
    {
        // `[{"$patch": "replace"}, …]`: the list is the patch's, without the directive.
        let kept = items
            .into_iter()
            .filter(|i| i.get("$patch").is_none() || i.get(key).is_some())
            .collect();
        return Ok(Value::Array(kept));
    }
    let mut list = match current {
        Value::Array(l) => l,
        _ => Vec::new(),
    };
    for item in items {
        let Value::Object(mut item) = item else {
            return Err(format!(
                "the elements of {field} must be objects with the merge key {key:?}"
            ));
        };
        let Some(id) = item.get(key).cloned() else {
            return Err(format!("an element of {field} has no merge key {key:?}"));
        };
        let at = list.iter().position(|e| e.get(key) == Some(&id));
        if item.get("$patch").and_then(Value::as_str) == Some("delete") {
            if let Some(i) = at {
                list.remove(i);
            }
            continue;
        }
        match at {
            Some(i) => {
                let old = std::mem::take(&mut list[i]);
                list[i] = strategic_merge(old, item)?;
            }
            None => {
                item.remove("$patch");
                list.push(strategic_merge(Value::Null, item)?);
            }
        }
    }
    Ok(Value::Array(list))
}

/// Puts the elements named in `order` first, in that order; the others keep their places
/// after them.
fn reorder(list: &mut [Value], order: &[Value], field: &str) {
    let id = |v: &Value| -> Value {
        match list_strategy(field) {
            ListStrategy::ByKey(k) => v.get(k).cloned().unwrap_or(Value::Null),
            _ => v.clone(),
        }
    };
    let wanted: Vec<Value> = order.iter().map(id).collect();
    let rank = |v: &Value| {
        wanted
            .iter()
            .position(|w| *w == id(v))
            .unwrap_or(wanted.len())
    };
    list.sort_by_key(rank);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strategic(doc: Value, patch: Value) -> Value {
        apply(PatchType::Strategic, &doc, patch.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn strategic_merge_merges_maps_and_deletes_nulls() {
        let doc = json!({"spec": {"parallelism": 1, "suspend": false}, "metadata": {"labels": {"a": "1", "b": "2"}}});
        let out = strategic(
            doc,
            json!({"spec": {"suspend": true}, "metadata": {"labels": {"b": null, "c": "3"}}}),
        );
        assert_eq!(
            out,
            json!({"spec": {"parallelism": 1, "suspend": true}, "metadata": {"labels": {"a": "1", "c": "3"}}})
        );
    }

    #[test]
    fn strategic_merge_merges_containers_by_name_and_replaces_other_lists() {
        let doc = json!({"containers": [
            {"name": "a", "image": "a.wasm", "args": ["1", "2"], "env": [{"name": "X", "value": "1"}]},
            {"name": "b", "image": "b.wasm"}
        ]});
        let out = strategic(
            doc,
            json!({"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                   "containers": [{"name": "a", "args": ["3"], "env": [{"name": "Y", "value": "2"}]}]}),
        );
        assert_eq!(
            out,
            json!({"containers": [
                {"name": "b", "image": "b.wasm"},
                {"name": "a", "image": "a.wasm", "args": ["3"], "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}
            ]})
        );
    }

    #[test]
    fn strategic_merge_directives() {
        let doc = json!({"volumes": [{"name": "v", "emptyDir": {}}, {"name": "w", "emptyDir": {}}],
                         "finalizers": ["x", "y"], "m": {"a": 1, "b": 2}});
        let out = strategic(
            doc.clone(),
            json!({"volumes": [{"name": "v", "$patch": "delete"}],
                   "$deleteFromPrimitiveList/finalizers": ["x"], "finalizers": ["z"],
                   "m": {"$patch": "replace", "c": 3}}),
        );
        assert_eq!(
            out,
            json!({"volumes": [{"name": "w", "emptyDir": {}}], "finalizers": ["y", "z"], "m": {"c": 3}})
        );
        let out = strategic(
            doc,
            json!({"volumes": [{"$patch": "replace"}, {"name": "u", "emptyDir": {}}],
                   "m": {"$retainKeys": ["b"], "b": 5}}),
        );
        assert_eq!(out["volumes"], json!([{"name": "u", "emptyDir": {}}]));
        assert_eq!(out["m"], json!({"b": 5}));
    }

    #[test]
    fn bad_patches_are_refused_with_reasons() {
        let doc = json!({"containers": [{"name": "a"}]});
        for (kind, patch) in [
            (PatchType::Strategic, "[1]"),
            (PatchType::Strategic, r#"{"containers": [{"image": "x"}]}"#),
            (PatchType::Strategic, r#"{"$patch": "explode"}"#),
            (PatchType::Merge, "{not json"),
            (PatchType::Json, r#"{"op": "add"}"#),
            (
                PatchType::Json,
                r#"[{"op": "test", "path": "/containers/0/name", "value": "b"}]"#,
            ),
        ] {
            assert!(apply(kind, &doc, patch.as_bytes()).is_err(), "{patch}");
        }
    }

    #[test]
    fn json_and_merge_patches_follow_their_rfcs() {
        let doc = json!({"spec": {"parallelism": 1, "template": {"x": 1}}});
        let out = apply(
            PatchType::Json,
            &doc,
            br#"[{"op": "replace", "path": "/spec/parallelism", "value": 3}, {"op": "remove", "path": "/spec/template/x"}]"#,
        )
        .unwrap();
        assert_eq!(out, json!({"spec": {"parallelism": 3, "template": {}}}));
        let out = apply(PatchType::Merge, &doc, br#"{"spec": {"template": null}}"#).unwrap();
        assert_eq!(out, json!({"spec": {"parallelism": 1}}));
    }

    #[test]
    fn content_types_choose_the_patch_type() {
        assert_eq!(
            PatchType::from_content_type("application/strategic-merge-patch+json").unwrap(),
            PatchType::Strategic
        );
        assert_eq!(
            PatchType::from_content_type("application/merge-patch+json; charset=utf-8").unwrap(),
            PatchType::Merge
        );
        assert!(PatchType::from_content_type("application/apply-patch+yaml").is_err());
        assert!(PatchType::from_content_type("text/plain").is_err());
    }
}
