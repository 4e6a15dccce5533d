//! Reading Jobs (`/apis/batch/v1/…/jobs`) and Pods (`/api/v1/…/pods`): get one, or list a
//! namespace's or every namespace's, filtered by `labelSelector` and by `fieldSelector` on
//! `metadata.name` / `metadata.namespace`. A list asked for as
//! `application/json;as=Table;g=meta.k8s.io;v=v1` (what `kubectl get` asks for) is answered as
//! a `Table` with kubectl's columns, the same cells `wasmjob get` prints.

use super::ApiState;
use super::status::ApiError;
use super::watch::{self, Lister, Seen};
use crate::cli::printers;
use crate::selector::Selector;
use crate::store::{Store, StoreError};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use wasmjob_spec::{ObjectMeta, Time};

/// The query parameters of a list; others (`limit`, `resourceVersion`, …) are accepted and
/// have no effect yet.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    label_selector: Option<String>,
    field_selector: Option<String>,
    /// Stream changes instead of listing (a boolean, see [`query_bool`]).
    #[serde(default, deserialize_with = "query_bool")]
    watch: bool,
    resource_version: Option<String>,
    timeout_seconds: Option<u64>,
    #[serde(default, deserialize_with = "query_bool")]
    allow_watch_bookmarks: bool,
}

/// A boolean query parameter read as the API server reads one: `0` or `false` (in any case)
/// is false, any other value true (`True`, which the Python client before 37 sends, `1`, even
/// an empty one); an absent one is false (`#[serde(default)]`).
pub(super) fn query_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let value = <String as serde::Deserialize>::deserialize(d)?;
    Ok(value != "0" && !value.eq_ignore_ascii_case("false"))
}

impl ListQuery {
    fn watching(&self) -> bool {
        self.watch
    }

    /// The resourceVersion a watch continues from (a list's), if any other than 0.
    fn resumes(&self) -> Option<i64> {
        self.resource_version
            .as_deref()
            .and_then(|v| v.parse().ok())
            .filter(|v| *v > 0)
    }

    fn timeout(&self) -> Option<std::time::Duration> {
        self.timeout_seconds.map(std::time::Duration::from_secs)
    }
}

/// Runs `read` on the store on a blocking thread.
pub(super) async fn read<T: Send + 'static>(
    state: &Arc<ApiState>,
    read: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let store = state.store.lock().unwrap_or_else(|e| e.into_inner());
        read(&store).map_err(|e| ApiError::internal(e.to_string()))
    })
    .await
    .map_err(|e| ApiError::internal(format!("the store reader failed: {e}")))?
}

/// Runs `change` on the store on a blocking thread (the writes of every handler).
pub(super) async fn write<T: Send + 'static>(
    state: &Arc<ApiState>,
    change: impl FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let mut store = state.store.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut store)
    })
    .await
    .map_err(|e| ApiError::internal(format!("the store writer failed: {e}")))?
}

/// Whether the client asked for a `Table`.
pub(super) fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next()
        .is_some_and(|first| first.contains("as=Table"))
}

/// The objects a list keeps: a label selector, and field selector terms (`path=value`,
/// `path==value`, `path!=value`) on any dotted field path of the object, such as
/// `metadata.name` or `involvedObject.uid`.
struct Filter {
    labels: Selector,
    fields: Vec<(String, String, bool)>,
}

impl Filter {
    fn parse(q: &ListQuery) -> Result<Filter, ApiError> {
        let labels = Selector::parse(q.label_selector.as_deref().unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
        let mut fields = Vec::new();
        for term in q
            .field_selector
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let (path, value, equal) = if let Some((p, v)) = term.split_once("!=") {
                (p, v, false)
            } else if let Some((p, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (p, v, true)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid field selector: {term:?}"
                )));
            };
            fields.push((path.trim().to_string(), value.trim().to_string(), equal));
        }
        Ok(Filter { labels, fields })
    }

    /// Whether an object with `labels` passes; `object` (its JSON) is made only when a field
    /// term needs it, so a plain list or watch serializes nothing extra.
    fn keeps(
        &self,
        labels: &std::collections::BTreeMap<String, String>,
        object: impl FnOnce() -> Value,
    ) -> bool {
        if !self.labels.matches(labels) {
            return false;
        }
        if self.fields.is_empty() {
            return true;
        }
        let object = object();
        self.fields.iter().all(|(path, wanted, equal)| {
            let found = path
                .split('.')
                .try_fold(&object, |v, key| v.get(key))
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            (found == *wanted) == *equal
        })
    }
}

/// A Table column: name, type, format, priority (1: only with `-o wide`), description.
pub(super) type Column = (&'static str, &'static str, &'static str, u8, &'static str);

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

/// A `Table` of `rows` (cells, and the object's metadata) under `columns`.
pub(super) fn table(
    columns: &[Column],
    rows: Vec<(Vec<String>, &ObjectMeta)>,
    version: i64,
) -> Value {
    let definitions: Vec<Value> = columns
        .iter()
        .map(|(name, type_, format, priority, description)| {
            json!({"name": name, "type": type_, "format": format, "description": description, "priority": priority})
        })
        .collect();
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|(cells, meta)| {
            json!({
                "cells": cells,
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": meta,
                },
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": version.to_string()},
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

/// A `List` of `items`.
fn list(kind: &str, api_version: &str, items: Vec<Value>, version: i64) -> Value {
    json!({
        "kind": kind,
        "apiVersion": api_version,
        "metadata": {"resourceVersion": version.to_string()},
        "items": items,
    })
}

fn now() -> Time {
    Time(jiff::Timestamp::now())
}

/// What lists and watches of one kind of object need to know of it.
trait Listed: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static {
    const COLUMNS: &'static [Column];
    const KIND: &'static str;
    const LIST_KIND: &'static str;
    const API_VERSION: &'static str;
    fn load(store: &Store, namespace: Option<&str>) -> Result<Vec<Self>, StoreError>
    where
        Self: Sized;
    fn meta(&self) -> &ObjectMeta;
    /// kubectl's rows (header first), `-o wide` columns included.
    fn rows(objects: &[&Self], now: Time) -> Vec<Vec<String>>
    where
        Self: Sized;
}

impl Listed for wasmjob_spec::Job {
    const COLUMNS: &'static [Column] = &JOB_COLUMNS;
    const KIND: &'static str = "Job";
    const LIST_KIND: &'static str = "JobList";
    const API_VERSION: &'static str = "batch/v1";
    fn load(store: &Store, namespace: Option<&str>) -> Result<Vec<Self>, StoreError> {
        Ok(store
            .list_jobs(namespace)?
            .into_iter()
            .map(|r| r.job)
            .collect())
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn rows(objects: &[&Self], now: Time) -> Vec<Vec<String>> {
        printers::job_rows(objects, true, false, now)
    }
}

impl Listed for wasmjob_spec::Pod {
    const COLUMNS: &'static [Column] = &POD_COLUMNS;
    const KIND: &'static str = "Pod";
    const LIST_KIND: &'static str = "PodList";
    const API_VERSION: &'static str = "v1";
    fn load(store: &Store, namespace: Option<&str>) -> Result<Vec<Self>, StoreError> {
        store.list_pods(namespace)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn rows(objects: &[&Self], now: Time) -> Vec<Vec<String>> {
        printers::pod_rows(objects, true, false, now)
    }
}

/// A list of `T` in `namespace` (all when `None`), or a watch of it.
async fn listing<T: Listed>(
    state: Arc<ApiState>,
    namespace: Option<String>,
    q: ListQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let filter = Arc::new(Filter::parse(&q)?);
    let keep = move |all: &[T]| -> Vec<usize> {
        (0..all.len())
            .filter(|i| filter.keeps(&all[*i].meta().labels, || json!(all[*i])))
            .collect()
    };
    if q.watching() {
        let seen = move |all: &[T]| -> Vec<Seen> {
            let kept: Vec<&T> = keep(all).into_iter().map(|i| &all[i]).collect();
            let rows = T::rows(&kept, now());
            kept.iter()
                .zip(rows.into_iter().skip(1))
                .map(|(o, cells)| Seen {
                    uid: o.meta().uid().to_string(),
                    version: o.meta().resource_version.clone().unwrap_or_default(),
                    object: json!(o),
                    table: watch::one_row(T::COLUMNS, cells, o.meta()),
                })
                .collect()
        };
        let list: Lister = Arc::new(move |s: &Store, since: Option<i64>| {
            let all = T::load(s, namespace.as_deref()).map_err(|e| e.to_string())?;
            let deleted: Vec<T> = match since {
                None => Vec::new(),
                Some(since) => s
                    .deleted_since(T::KIND, namespace.as_deref(), since)
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .filter_map(|v| serde_json::from_value(v).ok())
                    .collect(),
            };
            Ok((seen(&all), seen(&deleted)))
        });
        let watch = watch::Watch {
            as_table: wants_table(&headers),
            resume: q.resumes(),
            timeout: q.timeout(),
            bookmarks: q.allow_watch_bookmarks.then_some((T::KIND, T::API_VERSION)),
        };
        return Ok(watch::stream(state, list, watch));
    }
    let (all, version) = read(&state, move |s| {
        Ok((T::load(s, namespace.as_deref())?, s.resource_version()?))
    })
    .await?;
    let kept: Vec<&T> = keep(&all).into_iter().map(|i| &all[i]).collect();
    if wants_table(&headers) {
        let rows = T::rows(&kept, now());
        let rows = rows
            .into_iter()
            .skip(1)
            .zip(&kept)
            .map(|(cells, o)| (cells, o.meta()));
        return Ok(Json(table(T::COLUMNS, rows.collect(), version)).into_response());
    }
    let items = kept.iter().map(|o| json!(o)).collect();
    Ok(Json(list(T::LIST_KIND, T::API_VERSION, items, version)).into_response())
}

pub async fn list_jobs(
    State(state): State<Arc<ApiState>>,
    Path(ns): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    listing::<wasmjob_spec::Job>(state, Some(ns), q, headers).await
}

pub async fn list_jobs_everywhere(
    State(state): State<Arc<ApiState>>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    listing::<wasmjob_spec::Job>(state, None, q, headers).await
}

pub async fn list_pods(
    State(state): State<Arc<ApiState>>,
    Path(ns): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    listing::<wasmjob_spec::Pod>(state, Some(ns), q, headers).await
}

pub async fn list_pods_everywhere(
    State(state): State<Arc<ApiState>>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    listing::<wasmjob_spec::Pod>(state, None, q, headers).await
}

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

async fn events(
    state: Arc<ApiState>,
    namespace: Option<String>,
    q: ListQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let filter = Filter::parse(&q)?;
    let (records, version) = read(&state, move |s| {
        Ok((s.list_events(namespace.as_deref())?, s.resource_version()?))
    })
    .await?;
    let no_labels = std::collections::BTreeMap::new();
    let events: Vec<(Value, &crate::store::EventRecord)> = records
        .iter()
        .enumerate()
        .map(|(i, e)| {
            (
                crate::cli::get::event_object(e, &format!("{}.{i:x}", e.name)),
                e,
            )
        })
        .filter(|(v, _)| filter.keeps(&no_labels, || v.clone()))
        .collect();
    if wants_table(&headers) {
        let now = now();
        let metas: Vec<ObjectMeta> = events
            .iter()
            .map(|(v, _)| serde_json::from_value(v["metadata"].clone()).unwrap_or_default())
            .collect();
        let rows = events
            .iter()
            .zip(&metas)
            .map(|((_, e), meta)| {
                let cells = vec![
                    printers::since(Some(e.time), now),
                    e.type_.clone(),
                    e.reason.clone(),
                    format!("{}/{}", e.kind.to_lowercase(), e.name),
                    e.message.clone(),
                ];
                (cells, meta)
            })
            .collect();
        return Ok(Json(table(&EVENT_COLUMNS, rows, version)));
    }
    let items = events.into_iter().map(|(v, _)| v).collect();
    Ok(Json(list("EventList", "v1", items, version)))
}

pub async fn list_events(
    State(state): State<Arc<ApiState>>,
    Path(ns): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    events(state, Some(ns), q, headers).await
}

pub async fn list_events_everywhere(
    State(state): State<Arc<ApiState>>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    events(state, None, q, headers).await
}

/// One object, as a Table of one row when asked for one (`kubectl get job NAME`).
fn one(
    columns: &[Column],
    rows: Vec<Vec<String>>,
    meta: &ObjectMeta,
    object: Value,
    headers: &HeaderMap,
) -> Json<Value> {
    if wants_table(headers) {
        let cells = rows.into_iter().nth(1).unwrap_or_default();
        return Json(table(columns, vec![(cells, meta)], 0));
    }
    Json(object)
}

pub async fn get_job(
    State(state): State<Arc<ApiState>>,
    Path((ns, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let wanted = name.clone();
    let record = read(&state, move |s| s.get_job(&ns, &wanted)).await?;
    let job = record
        .map(|r| r.job)
        .ok_or_else(|| ApiError::not_found("batch", "jobs.batch", &name))?;
    let rows = printers::job_rows(&[&job], true, false, now());
    Ok(one(&JOB_COLUMNS, rows, &job.metadata, json!(job), &headers))
}

pub async fn get_pod(
    State(state): State<Arc<ApiState>>,
    Path((ns, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let wanted = name.clone();
    let pod = read(&state, move |s| s.get_pod(&ns, &wanted))
        .await?
        .ok_or_else(|| ApiError::not_found("", "pods", &name))?;
    let rows = printers::pod_rows(&[&pod], true, false, now());
    Ok(one(&POD_COLUMNS, rows, &pod.metadata, json!(pod), &headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_selectors_match_dotted_paths() {
        let q = ListQuery {
            label_selector: Some("app=x".into()),
            field_selector: Some("metadata.name=pi, involvedObject.kind==Job,type!=Warning".into()),
            ..Default::default()
        };
        let f = Filter::parse(&q).unwrap();
        let mut labels = std::collections::BTreeMap::new();
        labels.insert("app".to_string(), "x".to_string());
        let object = json!({"metadata": {"name": "pi"}, "involvedObject": {"kind": "Job"}, "type": "Normal"});
        assert!(f.keeps(&labels, || object.clone()));
        let warning = json!({"metadata": {"name": "pi"}, "involvedObject": {"kind": "Job"}, "type": "Warning"});
        assert!(!f.keeps(&labels, || warning.clone()));
        assert!(
            !f.keeps(&Default::default(), || object.clone()),
            "the label selector counts too"
        );
        let bad = ListQuery {
            label_selector: None,
            field_selector: Some("no-operator".into()),
            ..Default::default()
        };
        assert!(Filter::parse(&bad).is_err());
    }

    #[test]
    fn boolean_parameters_are_read_as_the_api_server_reads_them() {
        let parse = |query: &str| -> ListQuery {
            axum::extract::Query::try_from_uri(&format!("/jobs?{query}").parse().unwrap())
                .unwrap()
                .0
        };
        for on in [
            "watch=true",
            "watch=True",
            "watch=TRUE",
            "watch=1",
            "watch=yes",
            "watch=",
        ] {
            assert!(parse(on).watching(), "{on}");
        }
        for off in [
            "",
            "watch=false",
            "watch=False",
            "watch=0",
            "labelSelector=a",
        ] {
            assert!(!parse(off).watching(), "{off}");
        }
        assert!(parse("allowWatchBookmarks=True").allow_watch_bookmarks);
        assert!(!parse("allowWatchBookmarks=False").allow_watch_bookmarks);
    }
}
