//! Watches (`?watch=true` on a list of Jobs or Pods): a stream of JSON lines `{"type":
//! "ADDED"|"MODIFIED"|"DELETED", "object": …}`, as `kubectl get -w` and `kubectl wait` read it.
//! The store is polled for commits every [`POLL`]; each commit is compared with the objects
//! seen so far (by uid and resourceVersion), in the list's filter. Without a
//! `resourceVersion`, every current object comes first as `ADDED` (Kubernetes' "start at the
//! most recent"); with one (a list's), the objects changed since it come first as `MODIFIED`
//! (resourceVersions count up across all objects), so that a client that listed a moment ago
//! misses no change in between; objects deleted in between are not reported. Objects are
//! Tables of one row when
//! the client asked for Tables. Ends after `timeoutSeconds`, or when the client goes.

use super::ApiState;
use super::objects::{Column, table};
use axum::body::{Body, Bytes};
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often the store is checked for commits.
pub const POLL: Duration = Duration::from_millis(100);

/// One object as a watch sends it: uid, resourceVersion, the object, and its Table form.
pub struct Seen {
    pub uid: String,
    pub version: String,
    pub object: Value,
    pub table: Value,
}

/// What a watch lists at each commit.
pub type Lister = Arc<dyn Fn(&crate::store::Store) -> Result<Vec<Seen>, String> + Send + Sync>;

/// The Table of one row for an object with `cells`.
pub fn one_row(columns: &[Column], cells: Vec<String>, meta: &wasmjob_spec::ObjectMeta) -> Value {
    table(columns, vec![(cells, meta)], 0)
}

/// Streams the changes of what `list` lists.
pub fn stream(
    state: Arc<ApiState>,
    list: Lister,
    as_table: bool,
    resume: Option<i64>,
    timeout: Option<Duration>,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let mut seen: HashMap<String, Seen> = HashMap::new();
        let mut first = true;
        let mut last_version = None;
        loop {
            let now_version = {
                let state = state.clone();
                let list = list.clone();
                let changed = tokio::task::spawn_blocking(move || {
                    let store = state.store.lock().unwrap_or_else(|e| e.into_inner());
                    let v = store.data_version().map_err(|e| e.to_string())?;
                    Ok::<_, String>((
                        v,
                        if Some(v) != last_version || first {
                            Some(list(&store)?)
                        } else {
                            None
                        },
                    ))
                })
                .await;
                match changed {
                    Ok(Ok(x)) => x,
                    _ => return,
                }
            };
            let (version, objects) = now_version;
            last_version = Some(version);
            if let Some(objects) = objects {
                let mut events = Vec::new();
                let mut current: HashMap<String, Seen> = HashMap::new();
                for o in objects {
                    let newer = |since: i64| o.version.parse::<i64>().is_ok_and(|v| v > since);
                    let kind = match (seen.get(&o.uid), resume) {
                        (None, Some(since)) if first => newer(since).then_some("MODIFIED"),
                        (None, _) => Some("ADDED"),
                        (Some(old), _) if old.version != o.version => Some("MODIFIED"),
                        (Some(_), _) => None,
                    };
                    if let Some(k) = kind {
                        events.push((
                            k,
                            if as_table {
                                o.table.clone()
                            } else {
                                o.object.clone()
                            },
                        ));
                    }
                    current.insert(o.uid.clone(), o);
                }
                for (uid, old) in &seen {
                    if !current.contains_key(uid) {
                        events.push((
                            "DELETED",
                            if as_table {
                                old.table.clone()
                            } else {
                                old.object.clone()
                            },
                        ));
                    }
                }
                seen = current;
                first = false;
                for (kind, object) in events {
                    let mut line = json!({"type": kind, "object": object}).to_string();
                    line.push('\n');
                    if tx.send(Bytes::from(line)).await.is_err() {
                        return;
                    }
                }
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) || tx.is_closed() {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<Bytes, std::convert::Infallible>(b), rx))
    });
    Response::builder()
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(body))
        .unwrap_or_default()
}
