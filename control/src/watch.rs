//! The watch diff: given the objects a watch saw at its last look and those listed now, the
//! `ADDED`, `MODIFIED` and `DELETED` events between them — one pure step, taken by the API's
//! watches (`?watch=true`) and by `wasmjob get -w`. For kinds the store can list by change
//! (pods, which a Job has by the hundred thousand), a look after the first lists only what
//! changed since the last one, and [`diff_changes`] takes that step, remembering only each
//! object's version: a commit costs a watch what it changed, not a listing of everything.
//! Reads no store and sends nothing.

use std::collections::HashMap;

/// Where a watch starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Every current object first, as `ADDED` (no resourceVersion, or `0`; or
    /// `sendInitialEvents=true`).
    Everything,
    /// The changes after this resourceVersion (a list's).
    After(i64),
    /// Only what changes from now on (`sendInitialEvents=false` without a resourceVersion).
    Now,
}

/// What a watch follows: an object with a uid and a resourceVersion.
pub trait Watched: Clone {
    fn uid(&self) -> &str;
    fn version(&self) -> i64;
}

/// One event of a watch.
pub type Change<T> = (&'static str, T);

/// The events one look at the store makes, given the objects `seen` at the last look (which
/// become `objects`): on the first look (`first`), what [`Start`] asks for; after it, new
/// objects are `ADDED`, changed ones `MODIFIED`, and those gone from the list — deleted, or
/// out of the filter now — `DELETED` (as their tombstone says when they were deleted, else as
/// last seen). In resourceVersion order.
pub fn diff<T: Watched>(
    seen: &mut HashMap<String, T>,
    objects: Vec<T>,
    deleted: Vec<T>,
    first: Option<Start>,
) -> Vec<Change<T>> {
    let mut events: Vec<Change<T>> = Vec::new();
    let mut current: HashMap<String, T> = HashMap::new();
    for o in objects {
        let kind = match (first, seen.get(o.uid())) {
            (Some(Start::Everything), _) => Some("ADDED"),
            (Some(Start::After(since)), _) => (o.version() > since).then_some("MODIFIED"),
            (Some(Start::Now), _) => None,
            (None, None) => Some("ADDED"),
            (None, Some(old)) if old.version() != o.version() => Some("MODIFIED"),
            (None, Some(_)) => None,
        };
        if let Some(k) = kind {
            events.push((k, o.clone()));
        }
        current.insert(o.uid().to_string(), o);
    }
    let mut tombstones: HashMap<String, T> = HashMap::new();
    for d in deleted {
        if !current.contains_key(d.uid()) {
            tombstones.insert(d.uid().to_string(), d);
        }
    }
    match first {
        // Resumed: what was deleted since the client's resourceVersion.
        Some(Start::After(_)) => events.extend(tombstones.into_values().map(|d| ("DELETED", d))),
        Some(_) => {}
        None => {
            for (uid, old) in seen.iter() {
                if !current.contains_key(uid) {
                    let last = tombstones.remove(uid).unwrap_or_else(|| old.clone());
                    events.push(("DELETED", last));
                }
            }
        }
    }
    events.sort_by_key(|(_, o)| o.version());
    *seen = current;
    events
}

/// The events of a look at only what changed since the last one (see the module comment):
/// `changed` objects now in the watch's filter, `left` changed objects out of it now, and the
/// tombstones of objects `deleted` since. `seen` holds the uid and version of every object in
/// the filter. An object that leaves the filter is `DELETED` as it is now (the API server sends
/// it as it was before, with the new resourceVersion). In resourceVersion order.
pub fn diff_changes<T: Watched>(
    seen: &mut HashMap<String, i64>,
    changed: Vec<T>,
    left: Vec<T>,
    deleted: Vec<T>,
) -> Vec<Change<T>> {
    let mut events: Vec<Change<T>> = Vec::new();
    for o in changed {
        match seen.insert(o.uid().to_string(), o.version()) {
            None => events.push(("ADDED", o)),
            Some(v) if v != o.version() => events.push(("MODIFIED", o)),
            Some(_) => {}
        }
    }
    for o in left.into_iter().chain(deleted) {
        if seen.remove(o.uid()).is_some() {
            events.push(("DELETED", o));
        }
    }
    events.sort_by_key(|(_, o)| o.version());
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An object: uid, resourceVersion, and what else it holds.
    #[derive(Clone, Debug, PartialEq)]
    struct Object(String, i64, &'static str);

    impl Watched for Object {
        fn uid(&self) -> &str {
            &self.0
        }
        fn version(&self) -> i64 {
            self.1
        }
    }

    fn object(uid: &str, version: i64) -> Object {
        Object(uid.into(), version, "")
    }

    fn kinds(events: &[Change<Object>]) -> Vec<(&'static str, String, String)> {
        events
            .iter()
            .map(|(k, o)| (*k, o.0.clone(), o.1.to_string()))
            .collect()
    }

    fn strings(events: &[(&'static str, &str, &str)]) -> Vec<(&'static str, String, String)> {
        events
            .iter()
            .map(|(k, u, v)| (*k, u.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_fresh_watch_adds_everything_then_follows_changes() {
        let mut seen = HashMap::new();
        let first = diff(
            &mut seen,
            vec![object("a", 3), object("b", 2)],
            vec![],
            Some(Start::Everything),
        );
        assert_eq!(
            kinds(&first),
            strings(&[("ADDED", "b", "2"), ("ADDED", "a", "3")])
        );
        // b changes, c appears, a is deleted (its tombstone has the deletion's version).
        let mut a_deleted = object("a", 9);
        a_deleted.2 = "its last state";
        let next = diff(
            &mut seen,
            vec![object("b", 7), object("c", 8)],
            vec![a_deleted.clone()],
            None,
        );
        assert_eq!(
            kinds(&next),
            strings(&[
                ("MODIFIED", "b", "7"),
                ("ADDED", "c", "8"),
                ("DELETED", "a", "9")
            ])
        );
        assert_eq!(next[2].1, a_deleted);
        // Nothing changed: nothing sent.
        assert!(
            diff(
                &mut seen,
                vec![object("b", 7), object("c", 8)],
                vec![],
                None
            )
            .is_empty()
        );
        // c leaves the filter (no tombstone): DELETED as last seen.
        let left = diff(&mut seen, vec![object("b", 7)], vec![], None);
        assert_eq!(kinds(&left), strings(&[("DELETED", "c", "8")]));
    }

    /// The case behind kubectl delete's hang on a loaded machine: the client lists at 5, the
    /// Job goes at 6, the watch from 5 must say so.
    #[test]
    fn a_resumed_watch_reports_changes_and_deletions_since_its_version() {
        let mut seen = HashMap::new();
        let events = diff(
            &mut seen,
            vec![object("old", 4), object("changed", 7)],
            vec![object("gone", 6), object("changed", 5)],
            Some(Start::After(5)),
        );
        assert_eq!(
            kinds(&events),
            strings(&[("DELETED", "gone", "6"), ("MODIFIED", "changed", "7")])
        );
        assert_eq!(seen.len(), 2, "both current objects are remembered");
        let events = diff(&mut seen, vec![object("old", 4)], vec![], None);
        assert_eq!(kinds(&events), strings(&[("DELETED", "changed", "7")]));
    }

    #[test]
    fn a_look_at_what_changed_adds_modifies_and_deletes() {
        let mut seen: HashMap<String, i64> = [("a".to_string(), 3), ("b".to_string(), 2)].into();
        // b changes, c appears, a leaves the filter, d (never seen) is deleted.
        let events = diff_changes(
            &mut seen,
            vec![object("b", 7), object("c", 8)],
            vec![object("a", 9)],
            vec![object("d", 10)],
        );
        assert_eq!(
            kinds(&events),
            strings(&[
                ("MODIFIED", "b", "7"),
                ("ADDED", "c", "8"),
                ("DELETED", "a", "9")
            ])
        );
        // Listed again at the same version (a look that overlapped a commit): nothing.
        assert!(diff_changes(&mut seen, vec![object("c", 8)], vec![], vec![]).is_empty());
        // c is deleted: its tombstone says when.
        let events = diff_changes(&mut seen, vec![], vec![], vec![object("c", 11)]);
        assert_eq!(kinds(&events), strings(&[("DELETED", "c", "11")]));
        assert_eq!(seen.keys().collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn a_watch_from_now_sends_only_later_changes() {
        let mut seen = HashMap::new();
        assert!(diff(&mut seen, vec![object("a", 1)], vec![], Some(Start::Now)).is_empty());
        let events = diff(&mut seen, vec![object("a", 2)], vec![], None);
        assert_eq!(kinds(&events), strings(&[("MODIFIED", "a", "2")]));
    }
}
