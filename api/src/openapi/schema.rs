//! Builders for the schemas of the OpenAPI documents: a thin layer over `serde_json::Value` so
//! that each Kubernetes type reads as the list of its fields, each with what it means here.
//!
//! Must not: know any Kubernetes type (that is `meta`, `core` and `batch`).

use serde_json::{Map, Value, json};

/// Where a document keeps its schemas; a `$ref` is this followed by a schema's name.
pub const SCHEMAS: &str = "#/components/schemas/";

/// The group, version and kind of an object, as `x-kubernetes-group-version-kind` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gvk {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
}

impl Gvk {
    pub fn json(&self) -> Value {
        json!({"group": self.group, "kind": self.kind, "version": self.version})
    }

    /// Another kind of the same group and version (a list's kind).
    pub const fn with_kind(self, kind: &'static str) -> Gvk {
        Gvk { kind, ..self }
    }
}

/// One schema being built.
#[derive(Clone, Debug)]
pub struct Schema(pub Value);

impl Schema {
    fn with(mut self, key: &str, value: Value) -> Schema {
        if let Value::Object(m) = &mut self.0 {
            m.insert(key.to_string(), value);
        }
        self
    }

    /// The fields that must be set (`-required-` in `kubectl explain`).
    pub fn required(self, names: &[&str]) -> Schema {
        self.with("required", json!(names))
    }

    /// The format of a string or number (`date-time`, `int32`).
    pub fn format(self, format: &str) -> Schema {
        self.with("format", json!(format))
    }

    /// The only values accepted (`ENUM` in `kubectl explain`).
    pub fn values(self, values: &[&str]) -> Schema {
        self.with("enum", json!(values))
    }

    /// A list whose elements a strategic merge patch merges one by one, telling them apart by
    /// `key` (the API's `patchStrategy: merge` with `patchMergeKey`). `strategy` is `merge`,
    /// or `merge,retainKeys` where a patch may also drop the keys an element no longer has.
    pub fn merged_by(self, key: &str, strategy: &str) -> Schema {
        self.with("x-kubernetes-patch-strategy", json!(strategy))
            .with("x-kubernetes-patch-merge-key", json!(key))
    }

    /// `x-kubernetes-list-type: map`: the elements are unique by `keys`.
    pub fn keyed_by(self, keys: &[&str]) -> Schema {
        self.with("x-kubernetes-list-type", json!("map"))
            .with("x-kubernetes-list-map-keys", json!(keys))
    }

    /// `x-kubernetes-list-type`: `atomic` (the list is replaced whole) or `set` (unique
    /// scalars).
    pub fn list_type(self, kind: &str) -> Schema {
        self.with("x-kubernetes-list-type", json!(kind))
    }

    /// A strategic merge patch adds to this list of scalars instead of replacing it.
    pub fn merged(self) -> Schema {
        self.with("x-kubernetes-patch-strategy", json!("merge"))
    }

    /// `x-kubernetes-map-type: atomic`: the object is replaced whole, never merged.
    pub fn atomic(self) -> Schema {
        self.with("x-kubernetes-map-type", json!("atomic"))
    }

    /// The schema of a top-level kind (what `kubectl explain` and `kubectl apply` look up).
    pub fn kind(self, gvks: &[Gvk]) -> Schema {
        let all: Vec<Value> = gvks.iter().map(Gvk::json).collect();
        self.with("x-kubernetes-group-version-kind", Value::Array(all))
    }
}

fn typed(type_: &str, description: &str) -> Schema {
    Schema(json!({"type": type_, "description": description}))
}

pub fn string(description: &str) -> Schema {
    typed("string", description)
}

pub fn boolean(description: &str) -> Schema {
    typed("boolean", description)
}

pub fn int32(description: &str) -> Schema {
    typed("integer", description).format("int32")
}

pub fn int64(description: &str) -> Schema {
    typed("integer", description).format("int64")
}

/// `{"$ref": …}` to the schema `name`.
pub fn reference(name: &str) -> Value {
    json!({"$ref": format!("{SCHEMAS}{name}")})
}

/// A field whose type is the schema `name`, with the field's own description (the `allOf`
/// wrapper is how a described `$ref` is written in OpenAPI 3.0; kubectl resolves it).
pub fn of(name: &str, description: &str) -> Schema {
    Schema(json!({"description": description, "allOf": [reference(name)]}))
}

/// A list of the schema `name`.
pub fn list_of(name: &str, description: &str) -> Schema {
    typed("array", description).with("items", reference(name))
}

/// A list of strings.
pub fn strings(description: &str) -> Schema {
    typed("array", description).with("items", json!({"type": "string"}))
}

/// A list of integers.
pub fn int32s(description: &str) -> Schema {
    typed("array", description).with("items", json!({"type": "integer", "format": "int32"}))
}

/// A map from strings to strings.
pub fn string_map(description: &str) -> Schema {
    typed("object", description).with("additionalProperties", json!({"type": "string"}))
}

/// A map from strings to the schema `name`.
pub fn map_of(name: &str, description: &str) -> Schema {
    typed("object", description).with("additionalProperties", reference(name))
}

/// An object whose inside wasmjob does not read (a field accepted only so that a manifest
/// written for a cluster parses).
pub fn opaque(description: &str) -> Schema {
    typed("object", description).with("x-kubernetes-preserve-unknown-fields", json!(true))
}

/// A list of objects whose insides wasmjob does not read.
pub fn opaque_list(description: &str) -> Schema {
    typed("array", description).with(
        "items",
        json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
    )
}

/// A list of objects wasmjob does not read but that a patch merges by key: `keys` are the
/// fields (name, type) that tell the elements apart.
pub fn opaque_keyed_list(description: &str, keys: &[(&str, &str)]) -> Schema {
    let properties: Map<String, Value> = keys
        .iter()
        .map(|(k, t)| (k.to_string(), json!({"type": t})))
        .collect();
    typed("array", description).with(
        "items",
        json!({
            "type": "object",
            "properties": properties,
            "x-kubernetes-preserve-unknown-fields": true,
        }),
    )
}

/// An object of `fields`, in the order given.
pub fn object(description: &str, fields: Vec<(&str, Schema)>) -> Schema {
    let properties: Map<String, Value> = fields
        .into_iter()
        .map(|(name, s)| (name.to_string(), s.0))
        .collect();
    typed("object", description).with("properties", Value::Object(properties))
}
