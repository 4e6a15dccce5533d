//! OpenAPI v3 documents of the API, as the API server publishes them: the index
//! (`/openapi/v3`) and one document per group version (`/openapi/v3/api/v1`,
//! `/openapi/v3/apis/batch/v1`), each with its paths and the schemas they use under
//! Kubernetes' names. kubectl reads them for `kubectl explain`, to learn that the server
//! validates fields (so `kubectl create` / `apply` send `?fieldValidation=Strict` instead of
//! validating against an OpenAPI v2 document, which is not served), and for the merge keys of
//! client-side `kubectl apply`'s strategic merge patches.
//!
//! The documents are built once, from the builders of `openapi/schema.rs`; the schemas list
//! exactly the fields `wasmjob_spec` reads, each described as it works here. The index names
//! each document with a hash of its content, which kubectl caches by: a document asked for
//! with its current hash is answered as immutable, with another hash redirected to the current
//! one, as the API server does.
//!
//! Must not: read the store (the documents describe the API, not its objects).

mod batch;
mod core;
mod meta;
mod paths;
mod schema;

use super::ApiState;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use tokio_rustls::rustls;

/// Every schema by name, before each document takes those it uses.
type Schemas = BTreeMap<&'static str, Value>;

/// One document as it is served.
struct Served {
    /// Its key in the index (`api/v1`).
    key: &'static str,
    json: Vec<u8>,
    hash: String,
}

impl Served {
    fn new(key: &'static str, document: &Value) -> Served {
        let json = serde_json::to_vec(document).unwrap_or_default();
        let hash = content_hash(&json);
        Served { key, json, hash }
    }

    fn url(&self) -> String {
        format!("/openapi/v3/{}?hash={}", self.key, self.hash)
    }
}

struct Documents {
    core: Served,
    batch: Served,
    index: Served,
}

static DOCUMENTS: LazyLock<Documents> = LazyLock::new(|| {
    let mut all = Schemas::new();
    meta::add(&mut all);
    core::add(&mut all);
    batch::add(&mut all);
    let core = Served::new("api/v1", &document(paths::core(), &all));
    let batch = Served::new("apis/batch/v1", &document(paths::batch(), &all));
    let index = json!({"paths": {
        core.key: {"serverRelativeURL": core.url()},
        batch.key: {"serverRelativeURL": batch.url()},
    }});
    let index = Served::new("", &index);
    Documents { core, batch, index }
});

/// An OpenAPI 3.0 document of `paths`, with the schemas they refer to (and those these refer
/// to, and so on).
fn document(paths: Map<String, Value>, all: &Schemas) -> Value {
    let paths = Value::Object(paths);
    let mut wanted = Vec::new();
    references(&paths, &mut wanted);
    let mut schemas = BTreeMap::new();
    while let Some(name) = wanted.pop() {
        if schemas.contains_key(&name) {
            continue;
        }
        if let Some(schema) = all.get(name.as_str()) {
            references(schema, &mut wanted);
            schemas.insert(name, schema.clone());
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {
            "title": "wasmjob",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The Kubernetes API of `wasmjob serve --listen`: Jobs whose \
                containers are WebAssembly modules, their pods, events and namespaces.",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

/// Adds the names of the schemas `value` refers to.
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref")
                && let Some(name) = r.strip_prefix(schema::SCHEMAS)
            {
                out.push(name.to_string());
            }
            m.values().for_each(|v| references(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// SHA-384 of `bytes`, in upper-case hex. (The API server uses SHA-512; any content hash
/// serves, kubectl only compares it.) ring's, reached through the rustls suite that uses it:
/// the API links both for TLS already.
fn content_hash(bytes: &[u8]) -> String {
    let suite = rustls::crypto::ring::cipher_suite::TLS13_AES_256_GCM_SHA384;
    suite
        .tls13()
        .map(|s| s.common.hash_provider.hash(bytes))
        .map(|digest| digest.as_ref().iter().map(|b| format!("{b:02X}")).collect())
        .unwrap_or_default()
}

/// The routes of the OpenAPI documents.
pub fn routes() -> Router<Arc<ApiState>> {
    Router::new()
        .route("/openapi/v3", get(index))
        .route("/openapi/v3/api/v1", get(core_v1))
        .route("/openapi/v3/apis/batch/v1", get(batch_v1))
}

async fn index(headers: HeaderMap) -> Response {
    answer(&DOCUMENTS.index, None, &headers)
}

async fn core_v1(uri: Uri, headers: HeaderMap) -> Response {
    answer(&DOCUMENTS.core, asked_hash(&uri), &headers)
}

async fn batch_v1(uri: Uri, headers: HeaderMap) -> Response {
    answer(&DOCUMENTS.batch, asked_hash(&uri), &headers)
}

/// The `hash` query parameter, if any (hex: nothing to decode).
fn asked_hash(uri: &Uri) -> Option<&str> {
    uri.query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("hash="))
}

/// How long a document asked for by its hash may be cached: it never changes (a year, as
/// the API server's `Expires`).
const IMMUTABLE: &str = "public, immutable, max-age=31536000";

/// The document `served`, as the API server answers it: asked for by its current hash, it is
/// cached for good; by another hash, the client is sent to the current one; without a hash,
/// it must be revalidated (its ETag is its hash, and an `If-None-Match` with it gets 304).
fn answer(served: &Served, hash: Option<&str>, headers: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", served.hash);
    if let Some(h) = hash
        && h != served.hash
    {
        let mut r = StatusCode::MOVED_PERMANENTLY.into_response();
        if let Ok(to) = HeaderValue::from_str(&served.url()) {
            r.headers_mut().insert(header::LOCATION, to);
        }
        return r;
    }
    let cache = if hash.is_some() {
        IMMUTABLE
    } else {
        "no-cache, private"
    };
    let unchanged = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == etag || t.trim() == "*");
    let mut r = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(served.json.clone()));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    r
}

#[cfg(test)]
mod tests;
