//! Watches (`?watch=true` on the list of any [`super::kinds::Kind`]): a stream of JSON lines
//! `{"type": "ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR", "object": …}`, as
//! `kubectl get -w`, `kubectl wait` and the client libraries' informers read it.
//!
//! The store is looked at every [`POLL`] for commits (any connection's, the API's own
//! included: [`wasmjob_control::store::Store::changes`]); at each, the objects in the list's filter are
//! compared with those seen so far by [`wasmjob_control::watch::diff`], the pure step `get -w` takes too
//! — for pods, after the first look, only the pods written since the last one
//! ([`wasmjob_control::watch::diff_changes`]: a commit costs a watch what it changed, not a
//! listing of a large Job's pods under the store's lock). Where the watch starts
//! ([`Start`]): with every current object as `ADDED` (no resourceVersion: "start at the most
//! recent", or `sendInitialEvents=true`), with the changes after a list's resourceVersion
//! (objects changed since come as `MODIFIED`, deleted ones as `DELETED` from the store's
//! tombstones of the last 10,000 resourceVersions, so a client that listed a moment ago
//! misses nothing; older than that: an `ERROR` event with a 410 `Expired` Status, and the
//! client lists again), or from now on. Events of one look go out in resourceVersion order.
//! Objects are Tables of one row when the client asked for Tables. With
//! `allowWatchBookmarks`, a `BOOKMARK` (the store's resourceVersion; after
//! `sendInitialEvents=true` annotated `k8s.io/initial-events-end`) follows the first events
//! and comes every [`BOOKMARK_EVERY`] of quiet. Ends after `timeoutSeconds`, or when the
//! client goes.

use super::ApiState;
use axum::body::{Body, Bytes};
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use wasmjob_control::watch::{Start, Watched, diff, diff_changes};

/// How often the store is checked for commits.
pub const POLL: Duration = Duration::from_millis(100);

/// How often a watch that allows bookmarks gets one when nothing else is sent.
pub const BOOKMARK_EVERY: Duration = Duration::from_secs(10);

/// One object as a watch sends it: uid, resourceVersion, the object, and its Table form.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    pub uid: String,
    pub version: String,
    pub object: Value,
    pub table: Value,
}

impl Watched for Seen {
    fn uid(&self) -> &str {
        &self.uid
    }
    fn version(&self) -> i64 {
        self.version.parse().unwrap_or(0)
    }
}

/// What one look of a watch lists.
pub enum Look {
    /// Every object in the filter, and those deleted after the resourceVersion asked for.
    Everything {
        objects: Vec<Seen>,
        deleted: Vec<Seen>,
    },
    /// The objects written after the resourceVersion asked for: those in the filter, those
    /// out of it, and those deleted (kinds the store lists by change).
    Changes {
        changed: Vec<Seen>,
        left: Vec<Seen>,
        deleted: Vec<Seen>,
    },
}

/// What a watch lists at each look, given the resourceVersion deletions are asked after and,
/// after its first look, the one it has seen everything up to (a kind the store lists by
/// change then lists only what changed since).
pub type Lister = Arc<
    dyn Fn(&wasmjob_control::store::Store, Option<i64>, Option<i64>) -> Result<Look, String>
        + Send
        + Sync,
>;

/// What a watch asks for.
pub struct Watch {
    /// Objects as Tables of one row.
    pub as_table: bool,
    pub start: Start,
    pub timeout: Option<Duration>,
    /// `allowWatchBookmarks`: the kind and apiVersion of the bookmarks' objects.
    pub bookmarks: Option<(&'static str, &'static str)>,
    /// `sendInitialEvents=true`: the first bookmark marks the end of the initial events.
    pub initial_events_end: bool,
}

/// A `BOOKMARK` event: the resourceVersion the client has seen everything up to;
/// `initial_end` marks the end of the initial events of `sendInitialEvents=true`.
fn bookmark((kind, api_version): (&str, &str), version: i64, initial_end: bool) -> Value {
    let mut metadata = json!({"resourceVersion": version.to_string()});
    if initial_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"type": "BOOKMARK", "object": {
        "kind": kind,
        "apiVersion": api_version,
        "metadata": metadata,
    }})
}

/// What one look at the store found: its change token, and when it changed, what was listed
/// and the store's resourceVersion.
type Found = (wasmjob_control::store::Changes, Option<(Look, i64)>);

/// Looks at the store: lists when anything was committed since `last` (or at the first look).
async fn look(
    state: &Arc<ApiState>,
    list: &Lister,
    last: Option<wasmjob_control::store::Changes>,
    since: Option<i64>,
    changed: Option<i64>,
) -> Result<Found, String> {
    let state = state.clone();
    let list = list.clone();
    tokio::task::spawn_blocking(move || {
        let store = state.store.lock().unwrap_or_else(|e| e.into_inner());
        let changes = store.changes().map_err(|e| e.to_string())?;
        if last == Some(changes) {
            return Ok((changes, None));
        }
        // The version first: what is listed is at least as new (a change made between the
        // two is listed again at the next look, and sends nothing twice).
        let rv = store.resource_version().map_err(|e| e.to_string())?;
        Ok((changes, Some((list(&store, since, changed)?, rv))))
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Streams the changes of what `list` lists.
pub fn stream(state: Arc<ApiState>, list: Lister, watch: Watch) -> Response {
    let Watch {
        as_table,
        start,
        timeout,
        bookmarks,
        initial_events_end,
    } = watch;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let mut seen: HashMap<String, Seen> = HashMap::new();
        // Once the store lists this kind by change: the version of each object in the filter.
        let mut versions: Option<HashMap<String, i64>> = None;
        let mut first = Some(start);
        let mut last = None;
        let mut last_sent = tokio::time::Instant::now();
        // The resourceVersion seen up to: deletions after it are asked for (none at a first
        // look that does not resume).
        let mut store_version = match start {
            Start::After(v) => Some(v),
            _ => None,
        };
        loop {
            let changed_after = if first.is_none() { store_version } else { None };
            let Ok((changes, found)) =
                look(&state, &list, last, store_version, changed_after).await
            else {
                return;
            };
            last = Some(changes);
            if let Some((found, rv)) = found {
                if let Some(Start::After(since)) = first
                    && rv - since > wasmjob_control::store::TOMBSTONES_KEPT
                {
                    let expired = super::status::ApiError::gone(format!(
                        "too old resource version: {since} ({rv})"
                    ));
                    let _ = send(
                        &tx,
                        vec![json!({"type": "ERROR", "object": expired.status()})],
                    )
                    .await;
                    return;
                }
                store_version = Some(rv);
                let events = match found {
                    Look::Everything { objects, deleted } => {
                        let events = diff(&mut seen, objects, deleted, first);
                        versions = None;
                        events
                    }
                    Look::Changes {
                        changed,
                        left,
                        deleted,
                    } => {
                        // From here on only versions are kept: a watch of a large Job's pods
                        // holds a number per pod, not the pods.
                        let v = versions.get_or_insert_with(|| {
                            std::mem::take(&mut seen)
                                .into_iter()
                                .map(|(uid, s)| (uid, s.version()))
                                .collect()
                        });
                        diff_changes(v, changed, left, deleted)
                    }
                };
                let mut lines: Vec<Value> = events
                    .into_iter()
                    .map(|(kind, o)| {
                        let object = if as_table { o.table } else { o.object };
                        json!({"type": kind, "object": object})
                    })
                    .collect();
                if let Some(b) = bookmarks.filter(|_| first.is_some()) {
                    lines.push(bookmark(b, rv, initial_events_end));
                }
                first = None;
                if send(&tx, lines).await.is_err() {
                    return;
                }
                last_sent = tokio::time::Instant::now();
            }
            if let Some(b) = bookmarks
                && last_sent.elapsed() >= BOOKMARK_EVERY
            {
                if send(&tx, vec![bookmark(b, store_version.unwrap_or(0), false)])
                    .await
                    .is_err()
                {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookmarks_carry_the_version_and_the_end_of_initial_events() {
        let b = bookmark(("Job", "batch/v1"), 12, true);
        assert_eq!(b["type"], "BOOKMARK");
        assert_eq!(b["object"]["metadata"]["resourceVersion"], "12");
        assert_eq!(
            b["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
            "true"
        );
        assert!(
            bookmark(("Job", "batch/v1"), 12, false)["object"]["metadata"]
                .get("annotations")
                .is_none()
        );
    }
}
