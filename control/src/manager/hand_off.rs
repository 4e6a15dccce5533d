//! What the manager hands the store's writer, and what becomes true once it is committed. A
//! sync changes pods, statuses, events and queue items in memory and marks them here; while the
//! writer is busy with a commit the marks pile up, and when it is free they go to it as one
//! group — a pod that changed five times since costs one write, and a settled pod leaves
//! memory as it goes. A pod's creation and its news before its end may wait [`WRITE_DELAY`]
//! to be written, so that a pod that ends sooner is written once, with its end; its end (and
//! every change that counts or stops it) is written at the next hand-off. So may what counts
//! nothing of a Job — a status change of only its active, ready and terminating pods or its
//! start time, and events — when nothing else is to be written: a Job whose pods end sooner
//! is written once, with what they count. (So a pod may run
//! for a moment before it is stored: a controller killed in that window leaves it unknown,
//! and its Job makes another — a pod may run twice, as on a cluster; what counts is only ever
//! what was committed.) The Jobs shown to
//! observers (`run`'s display, the library API) and the files to remove after a deletion wait
//! for their group's commit: nothing is reported before it is on disk.
//!
//! Must not: decide anything, or write to the store itself.

use super::correlator::{Correlated, Correlator};
use super::{Manager, ManagerError};
use crate::store::{EventRecord, InlineLog, Writes};
use foldhash::{HashSet, HashSetExt};
use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use wasmjob_spec::{Job, Pod};

/// How long a pod's creation and its news before its end may wait to be written.
pub(super) const WRITE_DELAY: Duration = Duration::from_millis(100);

/// Something to do once a hand-off is committed.
pub(super) type AfterCommit = Box<dyn FnOnce() + Send>;

/// Most pods waiting for the writer before the manager stops making new ones.
pub(super) const MAX_WAITING_PODS: usize = 50_000;

#[derive(Default)]
pub(super) struct Outbox {
    /// Pods to write at the next hand-off, as (pod name, Job uid): the name first, as it
    /// tells keys apart at once (a Job's pods share its uid).
    pods: BTreeSet<(String, String)>,
    /// Pods whose change may wait, oldest first, with when it was made; `queued` holds them.
    later: VecDeque<(Instant, (String, String))>,
    queued: HashSet<(String, String)>,
    /// Jobs whose status changed since the last hand-off.
    statuses: BTreeSet<String>,
    /// One of those changes counts (see [`Outbox::status`]): it goes at the next hand-off.
    status_counts: bool,
    /// When the oldest change that may wait with the Jobs' statuses (a status that counts
    /// nothing, an event) was made, if one is waiting: set only while `statuses` or `events`
    /// hold something (a time left behind, already past, would wake the manager at once, again
    /// and again).
    routine_since: Option<Instant>,
    /// Events, as the correlator made them.
    events: Vec<Correlated>,
    correlator: Correlator,
    /// Jobs whose work queue has changed items.
    pub queues: BTreeSet<String>,
    /// Other writes (claims, deletions), after the ones above, in order.
    pub other: Vec<Writes>,
    /// Things to do once the next hand-off is committed.
    pub after: Vec<AfterCommit>,
    /// Give the space of deleted rows back after the next commit.
    pub reclaim: bool,
    /// Hand-offs on their way, with what their commit makes true.
    waiting: Vec<Waiting>,
    /// After-commit work under way (see [`Manager::flush`]).
    working: Vec<tokio::task::JoinHandle<()>>,
}

/// One hand-off on its way to disk.
struct Waiting {
    number: u64,
    /// Jobs as handed off, shown from its commit on (by uid).
    shown: Vec<(String, Job)>,
    after: Vec<AfterCommit>,
    /// The pods it writes, freed here once it is committed: this thread made them, and a
    /// block freed by the thread that allocated it costs the allocator far less than one
    /// freed by the writer's (about 3% of a Job of tiny pods).
    _pods: Arc<Mutex<Vec<PodWrite>>>,
}

/// A pod to write: its Job's uid, the pod, whether its template made it, its new logs.
type PodWrite = (String, Box<Pod>, bool, Option<Vec<InlineLog>>);

impl Outbox {
    /// Marks a pod to write: at the next hand-off when `urgent` (its change counts, or stops
    /// it), else within [`WRITE_DELAY`].
    pub fn pod(&mut self, job_uid: &str, name: &str, urgent: bool) {
        let key = (name.to_string(), job_uid.to_string());
        if urgent {
            self.pods.insert(key);
        } else if !self.pods.contains(&key) && self.queued.insert(key.clone()) {
            self.later.push_back((Instant::now(), key));
        }
    }

    /// Marks Job `uid`'s status to write: at the next hand-off when the change `counts`
    /// (anything but its active, ready and terminating pods and its start time), else within
    /// [`WRITE_DELAY`] or with the next hand-off, whichever comes first.
    pub fn status(&mut self, uid: &str, counts: bool) {
        self.statuses.insert(uid.to_string());
        if counts {
            self.status_counts = true;
        } else {
            self.routine_since.get_or_insert_with(Instant::now);
        }
    }

    /// Forgets Job `uid`'s status change (it is gone).
    pub fn forget_status(&mut self, uid: &str) {
        self.statuses.remove(uid);
        if self.statuses.is_empty() {
            self.status_counts = false;
            if self.events.is_empty() {
                self.routine_since = None;
            }
        }
    }

    /// Forgets the marks of the pods of Job `uid` (it is gone), or of one of its pods.
    pub fn forget_pods(&mut self, uid: &str, name: Option<&str>) {
        let gone = |k: &(String, String)| k.1 == uid && name.is_none_or(|n| k.0 == n);
        self.pods.retain(|k| !gone(k));
        self.queued.retain(|k| !gone(k));
    }

    /// When the oldest waiting change must be written.
    pub fn next_due(&self) -> Option<Instant> {
        let pod = self.later.front().map(|(at, _)| *at);
        [pod, self.routine_since]
            .into_iter()
            .flatten()
            .min()
            .map(|at| at + WRITE_DELAY)
    }

    /// Moves the waiting changes that are due (all of them with `all`) to the next hand-off.
    fn mature(&mut self, all: bool) {
        let now = Instant::now();
        while let Some((at, _)) = self.later.front() {
            if !all && *at + WRITE_DELAY > now {
                break;
            }
            if let Some((_, key)) = self.later.pop_front()
                && self.queued.remove(&key)
            {
                self.pods.insert(key);
            }
        }
    }

    /// Records an event (aggregated as Kubernetes' recorder does).
    pub fn event(&mut self, e: EventRecord) {
        let c = self.correlator.correlate(e);
        self.events.push(c);
        self.routine_since.get_or_insert_with(Instant::now);
    }

    /// Whether something must be written at the next hand-off: a change that counts or
    /// stops, or one that has waited long enough (all of them with `all`).
    fn due(&self, all: bool) -> bool {
        all || self.status_counts
            || !self.urgent_is_empty()
            || self
                .routine_since
                .is_some_and(|at| at + WRITE_DELAY <= Instant::now())
    }

    /// Whether nothing that goes at the next hand-off whatever its age is marked: pods, queue
    /// items, other writes, after-commit work, reclaiming space.
    fn urgent_is_empty(&self) -> bool {
        self.pods.is_empty()
            && self.queues.is_empty()
            && self.other.is_empty()
            && self.after.is_empty()
            && !self.reclaim
    }

    /// Whether nothing is ready for a hand-off now (changes that may wait aside).
    fn ready_is_empty(&self) -> bool {
        self.statuses.is_empty() && self.events.is_empty() && self.urgent_is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.queued.is_empty() && self.ready_is_empty()
    }
}

impl Manager {
    /// Hands everything marked to the writer as one group, unless it is still committing the
    /// last one (then the marks gather for the next).
    pub(super) fn hand_off(&mut self) {
        self.hand_off_now(false);
    }

    /// [`Manager::hand_off`]; with `all`, the changes that may wait too.
    fn hand_off_now(&mut self, all: bool) {
        if !self.writer.idle() {
            return;
        }
        self.outbox.mature(all);
        if self.outbox.ready_is_empty() || !self.outbox.due(all) {
            return;
        }
        let out = &mut self.outbox;
        out.status_counts = false;
        out.routine_since = None;
        let mut pods = Vec::with_capacity(out.pods.len());
        for (name, uid) in std::mem::take(&mut out.pods) {
            let Some(e) = self.jobs.get_mut(&uid) else {
                continue;
            };
            // A settled pod goes with its last write, with its logs; the others are copied,
            // with their logs when new ones came.
            let key = (name, uid);
            out.queued.remove(&key);
            let (name, uid) = key;
            let made = e.pods.made(&name);
            match e.pods.take_settled(&name) {
                Some(p) => {
                    if let Some(pod_uid) = p.metadata.uid.as_deref() {
                        self.pod_jobs.remove(pod_uid);
                    }
                    let logs = e.logs.remove(&name).filter(|l| l.1).map(|l| l.0);
                    pods.push((uid, p, made, logs));
                }
                None => {
                    if let Some(p) = e.pods.get(&name) {
                        let logs = e.logs.get_mut(&name).filter(|l| l.1).map(|l| {
                            l.1 = false;
                            l.0.clone()
                        });
                        pods.push((uid, Box::new(p.clone()), made, logs));
                    }
                }
            }
        }
        self.stats.pods_written += pods.len() as u64;
        let mut statuses = Vec::with_capacity(out.statuses.len());
        let mut shown = Vec::with_capacity(out.statuses.len());
        for uid in std::mem::take(&mut out.statuses) {
            if let Some(e) = self.jobs.get(&uid) {
                statuses.push((
                    uid.clone(),
                    e.record.job.status().clone(),
                    e.record.backoff.clone(),
                ));
                shown.push((uid, e.record.job.clone()));
            }
        }
        let mut queues = Vec::new();
        for uid in std::mem::take(&mut out.queues) {
            if let Some(q) = self.jobs.get(&uid).and_then(|e| e.queue.as_ref()) {
                queues.push((uid, q.take_dirty()));
            }
        }
        // Of an event changed several times since the last hand-off, its last state.
        let mut handles = HashSet::new();
        let mut events: Vec<Correlated> = std::mem::take(&mut out.events)
            .into_iter()
            .rev()
            .filter(|e| handles.insert(e.handle))
            .collect();
        events.reverse();
        let forgotten = out.correlator.take_forgotten();
        let other = std::mem::take(&mut out.other);
        let pods = Arc::new(Mutex::new(pods));
        let kept = pods.clone();
        let writes: Writes = Box::new(move |batch| {
            let mut pods = pods.lock().unwrap_or_else(|e| e.into_inner());
            for (uid, pod, made, logs) in pods.iter_mut() {
                match logs {
                    Some(logs) => batch.put_pod_with_logs(pod, uid, *made, logs)?,
                    None => batch.put_pod(pod, uid, *made)?,
                }
            }
            for (uid, status, backoff) in &statuses {
                batch.update_status(uid, status, backoff)?;
            }
            for e in &events {
                batch.put_event(e.handle, &e.event, e.count, e.first)?;
            }
            batch.forget_events(&forgotten);
            for (uid, items) in &queues {
                batch.update_queue_items(uid, items)?;
            }
            for w in other {
                w(batch)?;
            }
            Ok(())
        });
        let number = self.writer.hand(writes);
        if std::mem::take(&mut out.reclaim) {
            self.writer.reclaim_space();
        }
        out.waiting.push(Waiting {
            number,
            shown,
            after: std::mem::take(&mut out.after),
            _pods: kept,
        });
    }

    /// What a commit up to hand-off `committed` makes true: its Jobs are shown, its
    /// after-commit work starts.
    pub(super) fn committed(&mut self, committed: u64) {
        let (done, waiting): (Vec<Waiting>, Vec<Waiting>) =
            std::mem::take(&mut self.outbox.waiting)
                .into_iter()
                .partition(|w| w.number <= committed);
        self.outbox.waiting = waiting;
        for w in done {
            for (uid, job) in w.shown {
                if let Some(e) = self.jobs.get_mut(&uid) {
                    e.shown = job;
                }
            }
            self.outbox.working.retain(|w| !w.is_finished());
            for f in w.after {
                self.outbox.working.push(tokio::task::spawn_blocking(f));
            }
        }
    }

    /// Hands off everything marked and waits until all of it is committed and the work its
    /// commits started (removing the files of what was deleted) is done.
    pub async fn flush(&mut self) -> Result<(), ManagerError> {
        loop {
            self.hand_off_now(true);
            self.writer.flush().await?;
            self.committed(self.writer.handed());
            if self.outbox.is_empty() {
                break;
            }
        }
        for w in std::mem::take(&mut self.outbox.working) {
            // A removal that panicked left its files; nothing counted depends on them.
            let _ = w.await;
        }
        Ok(())
    }

    /// Whether so many pods wait for the writer that no new ones should be made until it
    /// catches up.
    pub(super) fn writer_behind(&self) -> bool {
        self.outbox.pods.len() + self.outbox.queued.len() > MAX_WAITING_PODS && !self.writer.idle()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status change that may wait sets a time to write it by; once its Job is forgotten
    /// there is nothing to write, and no time is set (a time already past would wake the
    /// manager at once, again and again).
    #[tokio::test(start_paused = true)]
    async fn a_forgotten_status_change_sets_no_time() {
        let mut out = Outbox::default();
        out.status("job", false);
        let due = out.next_due().expect("a time to write it by");
        assert_eq!(due, Instant::now() + WRITE_DELAY);
        assert!(!out.due(false), "it may wait");
        tokio::time::advance(WRITE_DELAY).await;
        assert!(out.due(false), "it waited long enough");
        out.forget_status("job");
        assert_eq!(out.next_due(), None);
        assert!(out.ready_is_empty());
        // A new change waits its own time; one that counts goes at the next hand-off.
        out.status("other", false);
        assert!(!out.due(false));
        out.status("other", true);
        assert!(out.due(false));
    }
}
