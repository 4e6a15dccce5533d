//! queue: the brokered work queue of one Job. Items are leased to pods one at a time; an item
//! whose pod fails or is stopped goes back to the queue (its attempt count stays), an item is
//! done when its task acknowledges it or its pod succeeds. A pod asking for an item while all
//! remaining ones are leased to others waits: one of them may come back. The queue is drained
//! when every item is done. Changed items are marked for the manager to store; the queue itself
//! does no I/O. Must not: decide Job semantics.

use crate::sandbox::abi::{LeasedItem, NextItem};
use crate::store::QueueItem;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;
use tokio::sync::{Notify, mpsc};

pub const PENDING: &str = "Pending";
pub const LEASED: &str = "Leased";
pub const DONE: &str = "Done";

/// How many items are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub pending: usize,
    pub leased: usize,
    pub done: usize,
}

struct State {
    items: Vec<QueueItem>,
    /// Ids of pending items, in the order they are handed out.
    pending: VecDeque<u64>,
    leased: usize,
    /// The items leased to each pod (a pod's end finds its items without a walk of all).
    leases: HashMap<String, Vec<u64>>,
    dirty: BTreeSet<u64>,
}

pub struct WorkQueue {
    job_uid: String,
    state: Mutex<State>,
    /// Wakes pods waiting for an item.
    changed: Notify,
    /// Tells the manager that this Job's queue has changes to store.
    dirty_tx: mpsc::UnboundedSender<String>,
}

impl WorkQueue {
    /// A queue of stored items. Leases found (their pods died with the last controller) are
    /// taken back.
    pub fn new(
        job_uid: &str,
        mut items: Vec<QueueItem>,
        dirty_tx: mpsc::UnboundedSender<String>,
    ) -> WorkQueue {
        let mut dirty = BTreeSet::new();
        for i in &mut items {
            if i.state == LEASED {
                i.state = PENDING.into();
                i.pod = None;
                dirty.insert(i.id);
            }
        }
        let pending = items
            .iter()
            .filter(|i| i.state == PENDING)
            .map(|i| i.id)
            .collect();
        let took_back = !dirty.is_empty();
        let q = WorkQueue {
            job_uid: job_uid.to_string(),
            state: Mutex::new(State {
                items,
                pending,
                leased: 0,
                leases: HashMap::new(),
                dirty,
            }),
            changed: Notify::new(),
            dirty_tx,
        };
        if took_back {
            q.mark_dirty();
        }
        q
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mark_dirty(&self) {
        let _ = self.dirty_tx.send(self.job_uid.clone());
    }

    /// A queue of new items, all pending, with ids 0, 1, … (as the store numbers them).
    pub fn fresh(
        job_uid: &str,
        items: &[String],
        dirty_tx: mpsc::UnboundedSender<String>,
    ) -> WorkQueue {
        let items = items
            .iter()
            .enumerate()
            .map(|(id, text)| QueueItem {
                id: id as u64,
                text: text.clone(),
                state: PENDING.into(),
                pod: None,
                attempts: 0,
            })
            .collect();
        WorkQueue::new(job_uid, items, dirty_tx)
    }

    /// Leases the next pending item to `pod`; waits while all remaining items are leased.
    pub async fn lease(&self, pod: &str) -> NextItem {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Registered before looking, so that a change right after is not missed.
            notified.as_mut().enable();
            if let Some(next) = self.try_lease(pod) {
                return next;
            }
            notified.await;
        }
    }

    /// The next pending item, leased to `pod`, or `Drained`; `None` while every remaining item
    /// is leased to other pods (a lease must wait).
    pub fn try_lease(&self, pod: &str) -> Option<NextItem> {
        let mut s = self.lock();
        if let Some(id) = s.pending.pop_front() {
            s.leased += 1;
            s.dirty.insert(id);
            s.leases.entry(pod.to_string()).or_default().push(id);
            let item = &mut s.items[id as usize];
            item.state = LEASED.into();
            item.pod = Some(pod.to_string());
            item.attempts += 1;
            let leased = LeasedItem {
                id,
                attempt: item.attempts,
                text: item.text.clone(),
            };
            drop(s);
            self.mark_dirty();
            return Some(NextItem::Item(leased));
        }
        (s.leased == 0).then_some(NextItem::Drained)
    }

    /// Whether item `id` is leased to `pod`.
    pub fn is_leased_to(&self, pod: &str, id: u64) -> bool {
        let s = self.lock();
        s.items
            .get(id as usize)
            .is_some_and(|i| i.state == LEASED && i.pod.as_deref() == Some(pod))
    }

    /// Marks item `id`, leased to `pod`, done. False if it is not leased to `pod`.
    pub fn ack(&self, pod: &str, id: u64) -> bool {
        let mut s = self.lock();
        let Some(item) = s.items.get_mut(id as usize) else {
            return false;
        };
        if item.state != LEASED || item.pod.as_deref() != Some(pod) {
            return false;
        }
        item.state = DONE.into();
        s.leased -= 1;
        s.dirty.insert(id);
        if let Some(mine) = s.leases.get_mut(pod) {
            mine.retain(|i| *i != id);
        }
        drop(s);
        self.mark_dirty();
        self.changed.notify_waiters();
        true
    }

    /// The pod ended: its leased items are done (it succeeded) or go back to the queue.
    pub fn pod_ended(&self, pod: &str, succeeded: bool) {
        let mut s = self.lock();
        let mine: Vec<u64> = s.leases.remove(pod).unwrap_or_default();
        if mine.is_empty() {
            return;
        }
        for &id in &mine {
            let item = &mut s.items[id as usize];
            if succeeded {
                item.state = DONE.into();
            } else {
                item.state = PENDING.into();
                item.pod = None;
            }
            s.leased -= 1;
            s.dirty.insert(id);
            if !succeeded {
                s.pending.push_back(id);
            }
        }
        drop(s);
        self.mark_dirty();
        self.changed.notify_waiters();
    }

    /// The items changed since the last call, for the store.
    pub fn take_dirty(&self) -> Vec<QueueItem> {
        let mut s = self.lock();
        let ids = std::mem::take(&mut s.dirty);
        ids.into_iter()
            .filter_map(|id| s.items.get(id as usize).cloned())
            .collect()
    }

    pub fn counts(&self) -> Counts {
        let s = self.lock();
        Counts {
            pending: s.pending.len(),
            leased: s.leased,
            done: s.items.len() - s.pending.len() - s.leased,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn items(n: usize) -> Vec<QueueItem> {
        (0..n)
            .map(|i| QueueItem {
                id: i as u64,
                text: format!("item {i}"),
                state: PENDING.into(),
                pod: None,
                attempts: 0,
            })
            .collect()
    }

    fn leased(n: NextItem) -> LeasedItem {
        match n {
            NextItem::Item(i) => i,
            other => panic!("expected an item, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn items_go_out_in_order_and_a_failed_pod_gives_them_back() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let q = WorkQueue::new("job", items(3), tx);
        let a = leased(q.lease("a").await);
        let b = leased(q.lease("b").await);
        assert_eq!((a.id, a.attempt, a.text.as_str()), (0, 1, "item 0"));
        assert_eq!(b.id, 1);
        assert!(q.ack("a", 0));
        assert!(!q.ack("a", 0), "twice");
        assert!(!q.ack("a", 1), "another pod's item");
        q.pod_ended("b", false);
        assert_eq!(
            q.counts(),
            Counts {
                pending: 2,
                leased: 0,
                done: 1
            }
        );
        let c = leased(q.lease("c").await);
        assert_eq!(c.id, 2, "never-tried items first");
        let again = leased(q.lease("c").await);
        assert_eq!((again.id, again.attempt), (1, 2));
        q.pod_ended("c", true);
        assert_eq!(q.lease("d").await, NextItem::Drained);
        let dirty = q.take_dirty();
        assert_eq!(dirty.len(), 3);
        assert!(dirty.iter().all(|i| i.state == DONE));
        assert_eq!(dirty[1].attempts, 2);
        assert!(q.take_dirty().is_empty());
        assert_eq!(rx.recv().await.as_deref(), Some("job"));
    }

    #[tokio::test]
    async fn a_pod_waits_while_others_hold_the_last_items() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let q = Arc::new(WorkQueue::new("job", items(1), tx));
        let a = leased(q.lease("a").await);
        let waiter = {
            let q = q.clone();
            tokio::spawn(async move { q.lease("b").await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "b waits while a holds the item");
        q.pod_ended("a", false);
        let b = leased(waiter.await.unwrap());
        assert_eq!((b.id, b.attempt), (a.id, 2));
        let drained = {
            let q = q.clone();
            tokio::spawn(async move { q.lease("c").await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(q.ack("b", 0));
        assert_eq!(drained.await.unwrap(), NextItem::Drained);
    }

    #[tokio::test]
    async fn leases_of_a_dead_controller_are_taken_back() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let mut stored = items(2);
        stored[0].state = LEASED.into();
        stored[0].pod = Some("lost".into());
        stored[0].attempts = 1;
        stored[1].state = DONE.into();
        let q = WorkQueue::new("job", stored, tx);
        assert_eq!(q.counts().pending, 1);
        let item = leased(q.lease("new").await);
        assert_eq!((item.id, item.attempt), (0, 2));
    }
}
