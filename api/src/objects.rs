//! Reading objects — Jobs, Pods, Events, Namespaces (the [`Kind`]s) — once for every kind:
//! get one, list a namespace's or every namespace's (with the selectors and pages of
//! [`ListOptions`]), or watch them (`watch=true`, see [`super::watch`]). A request asking for
//! `application/json;as=Table;g=meta.k8s.io;v=v1` (what `kubectl get` asks for) is answered
//! as a `Table` with kubectl's columns, the same cells `wasmjob get` prints. Also the store
//! access every handler shares: [`read`] and [`write`].

use super::ApiState;
use super::kinds::{Column, Kind};
use super::list_options::{Filter, ListOptions};
use super::status::ApiError;
use super::watch::{self, Lister, Seen};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use wasmjob_control::store::{Store, StoreError};
use wasmjob_spec::{ObjectMeta, Time};

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

/// A `Table` of `rows` (cells, and the object's metadata) under `columns`, with the list
/// metadata `meta` (resourceVersion, continue).
pub(super) fn table(
    columns: &[Column],
    rows: Vec<(Vec<String>, &ObjectMeta)>,
    meta: Value,
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
        "metadata": meta,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

/// The Table of one object.
pub(super) fn one_row<T: Kind>(object: &T, now: Time) -> Value {
    let cells = T::cells(&[object], now).pop().unwrap_or_default();
    table(T::COLUMNS, vec![(cells, object.meta())], json!({}))
}

fn now() -> Time {
    Time(jiff::Timestamp::now())
}

/// The objects of `all` that `filter` keeps.
fn kept<'a, T: Kind>(filter: &Filter, all: &'a [T]) -> Vec<&'a T> {
    all.iter()
        .filter(|o| filter.keeps(&o.meta().labels, || json!(o)))
        .collect()
}

/// A list of `T` in `namespace` (all when `None`), or a watch of it.
async fn listing<T: Kind>(
    state: Arc<ApiState>,
    namespace: Option<String>,
    q: ListOptions,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let filter = Arc::new(Filter::parse(&q, T::FIELDS)?);
    if q.watch {
        let seen = |objects: Vec<&T>| -> Vec<Seen> {
            let rows = T::cells(&objects, now());
            objects
                .iter()
                .zip(rows)
                .map(|(o, cells)| Seen {
                    uid: o.meta().uid().to_string(),
                    version: o.meta().resource_version.clone().unwrap_or_default(),
                    object: json!(o),
                    table: table(T::COLUMNS, vec![(cells, o.meta())], json!({})),
                })
                .collect()
        };
        let list: Lister = Arc::new(move |s: &Store, since: Option<i64>, changed: Option<i64>| {
            let deleted: Vec<T> = match since {
                None => Vec::new(),
                Some(since) => s
                    .deleted_since(T::KIND, namespace.as_deref(), since)
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .filter_map(|v| serde_json::from_value(v).ok())
                    .collect(),
            };
            let deleted = seen(kept(&filter, &deleted));
            let partial = match changed {
                Some(v) => {
                    T::load_changed(s, namespace.as_deref(), v).map_err(|e| e.to_string())?
                }
                None => None,
            };
            Ok(match partial {
                // Only what changed: those still in the filter, and those that left it.
                Some(changed) => {
                    let (inside, outside): (Vec<&T>, Vec<&T>) = changed
                        .iter()
                        .partition(|o| filter.keeps(&o.meta().labels, || json!(o)));
                    watch::Look::Changes {
                        changed: seen(inside),
                        left: seen(outside),
                        deleted,
                    }
                }
                None => {
                    let all = T::load(s, namespace.as_deref()).map_err(|e| e.to_string())?;
                    watch::Look::Everything {
                        objects: seen(kept(&filter, &all)),
                        deleted,
                    }
                }
            })
        });
        let watch = watch::Watch {
            as_table: wants_table(&headers),
            start: q.start(),
            timeout: q.timeout(),
            bookmarks: q.allow_watch_bookmarks.then_some((T::KIND, T::API_VERSION)),
            initial_events_end: q.send_initial_events == Some(true),
        };
        return Ok(watch::stream(state, list, watch));
    }
    let (all, version) = read(&state, move |s| {
        Ok((T::load(s, namespace.as_deref())?, s.resource_version()?))
    })
    .await?;
    q.check_version(version)?;
    let page = q.page(kept(&filter, &all), version)?;
    let mut meta = json!({"resourceVersion": version.to_string()});
    if let Some((token, remaining)) = page.next {
        meta["continue"] = json!(token);
        meta["remainingItemCount"] = json!(remaining);
    }
    let page = page.objects;
    if wants_table(&headers) {
        let cells = T::cells(&page, now());
        let rows = cells.into_iter().zip(&page).map(|(c, o)| (c, o.meta()));
        return Ok(Json(table(T::COLUMNS, rows.collect(), meta)).into_response());
    }
    let items: Vec<Value> = page.iter().map(|o| json!(o)).collect();
    Ok(Json(json!({
        "kind": T::LIST_KIND,
        "apiVersion": T::API_VERSION,
        "metadata": meta,
        "items": items,
    }))
    .into_response())
}

/// `GET` of a collection in a namespace: a list or a watch.
pub async fn list<T: Kind>(
    State(state): State<Arc<ApiState>>,
    Path(ns): Path<String>,
    q: ListOptions,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    listing::<T>(state, Some(ns), q, headers).await
}

/// `GET` of a collection across namespaces (or of a cluster-scoped kind).
pub async fn list_all<T: Kind>(
    State(state): State<Arc<ApiState>>,
    q: ListOptions,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    listing::<T>(state, None, q, headers).await
}

/// One object, as a Table of one row when asked for one (`kubectl get job NAME`).
async fn one<T: Kind>(
    state: Arc<ApiState>,
    namespace: Option<String>,
    name: String,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let wanted = name.clone();
    let object = read(&state, move |s| T::find(s, namespace.as_deref(), &wanted))
        .await?
        .ok_or_else(|| ApiError::not_found(T::GROUP, T::RESOURCE, &name))?;
    if wants_table(&headers) {
        return Ok(Json(one_row(&object, now())));
    }
    Ok(Json(json!(object)))
}

/// `GET` of one object in a namespace.
pub async fn get<T: Kind>(
    State(state): State<Arc<ApiState>>,
    Path((ns, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    one::<T>(state, Some(ns), name, headers).await
}

/// `GET` of one cluster-scoped object.
pub async fn get_cluster<T: Kind>(
    State(state): State<Arc<ApiState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    one::<T>(state, None, name, headers).await
}
