//! Watches (`?watch=true` on a list of Jobs or Pods): a stream of JSON lines `{"type":
//! "ADDED"|"MODIFIED"|"DELETED", "object": …}`, as `kubectl get -w` and `kubectl wait` read it.
//! The store is polled for commits every [`POLL`]; each commit is compared with the objects
//! seen so far (by uid and resourceVersion), in the list's filter. Without a
//! `resourceVersion`, every current object comes first as `ADDED` (Kubernetes' "start at the
//! most recent"); with one (a list's), the objects changed since it come first as `MODIFIED`
//! (resourceVersions count up across all objects), and the objects deleted since as `DELETED`
//! (from the store's tombstones of the last 10,000 resourceVersions), so that a client that
//! listed a moment ago misses no change in between. Objects are
//! Tables of one row when the client asked for Tables. With `allowWatchBookmarks`, a
//! `BOOKMARK` (the store's resourceVersion) follows the first events and comes every
//! [`BOOKMARK_EVERY`] of quiet. Ends after `timeoutSeconds`, or when the client goes.

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

/// What a watch lists at each commit: the objects, and given a resourceVersion, the objects
/// deleted since it.
pub type Lister = Arc<
    dyn Fn(&crate::store::Store, Option<i64>) -> Result<(Vec<Seen>, Vec<Seen>), String>
        + Send
        + Sync,
>;

/// The Table of one row for an object with `cells`.
pub fn one_row(columns: &[Column], cells: Vec<String>, meta: &wasmjob_spec::ObjectMeta) -> Value {
    table(columns, vec![(cells, meta)], 0)
}

/// How often a watch that allows bookmarks gets one when nothing else is sent.
pub const BOOKMARK_EVERY: Duration = Duration::from_secs(10);

/// What a watch asks for.
pub struct Watch {
    /// Objects as Tables of one row.
    pub as_table: bool,
    /// The resourceVersion it continues from.
    pub resume: Option<i64>,
    pub timeout: Option<Duration>,
    /// `allowWatchBookmarks`: the kind and apiVersion of the bookmarks' objects.
    pub bookmarks: Option<(&'static str, &'static str)>,
}

/// A `BOOKMARK` event: the resourceVersion the client has seen everything up to.
fn bookmark((kind, api_version): (&str, &str), version: i64) -> Value {
    json!({"type": "BOOKMARK", "object": {
        "kind": kind,
        "apiVersion": api_version,
        "metadata": {"resourceVersion": version.to_string()},
    }})
}

/// Streams the changes of what `list` lists.
pub fn stream(state: Arc<ApiState>, list: Lister, watch: Watch) -> Response {
    let Watch {
        as_table,
        resume,
        timeout,
        bookmarks,
    } = watch;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let mut seen: HashMap<String, Seen> = HashMap::new();
        let mut first = true;
        let mut last_version = None;
        let mut last_sent = tokio::time::Instant::now();
        let mut store_version = 0;
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
                            let rv = store.resource_version().map_err(|e| e.to_string())?;
                            let since = if first { resume } else { None };
                            Some((list(&store, since)?, rv))
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
            if let Some(((objects, deleted), rv)) = objects {
                store_version = rv;
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
                // Resumed: what was deleted since the client's resourceVersion, then what
                // has gone since the last look.
                for gone in deleted.iter().filter(|d| !current.contains_key(&d.uid)) {
                    events.push((
                        "DELETED",
                        if as_table {
                            gone.table.clone()
                        } else {
                            gone.object.clone()
                        },
                    ));
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
                let mut lines: Vec<Value> = events
                    .into_iter()
                    .map(|(kind, object)| json!({"type": kind, "object": object}))
                    .collect();
                if let Some(b) = bookmarks.filter(|_| first) {
                    lines.push(bookmark(b, store_version));
                }
                first = false;
                if send(&tx, lines).await.is_err() {
                    return;
                }
                last_sent = tokio::time::Instant::now();
            }
            if let Some(b) = bookmarks
                && last_sent.elapsed() >= BOOKMARK_EVERY
            {
                if send(&tx, vec![bookmark(b, store_version)]).await.is_err() {
                    return;
                }
                last_sent = tokio::time::Instant::now();
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

/// Sends each event as one JSON line.
async fn send(tx: &tokio::sync::mpsc::Sender<Bytes>, events: Vec<Value>) -> Result<(), ()> {
    for e in events {
        let mut line = e.to_string();
        line.push('\n');
        tx.send(Bytes::from(line)).await.map_err(|_| ())?;
    }
    Ok(())
}
