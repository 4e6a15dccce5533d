//! Admission: which waiting pod may start. A pod needs a slot (at most `max_pods` run at
//! once) and, under a memory budget, room for its containers' memory limits. Waiting pods of
//! different Jobs take turns (round robin over Jobs, first come first served within a Job),
//! so one Job of 10 000 pods cannot starve the others. A pod is admitted once; its
//! [`Ticket`] gives the room back when dropped.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use wasmjob_spec::Pod;

pub struct Admission {
    max_pods: usize,
    memory_budget: Option<u64>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    running: usize,
    memory: u64,
    /// Waiting pods per group (Job uid), in arrival order.
    queues: BTreeMap<String, VecDeque<Waiter>>,
    /// The group served last; the next turn goes to the one after it.
    last: Option<String>,
}

struct Waiter {
    need: u64,
    grant: oneshot::Sender<Ticket>,
}

/// Room held by a running pod; dropping it frees the room for the next waiting pod.
pub struct Ticket {
    admission: Arc<Admission>,
    need: u64,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let refused = {
            let mut s = self.admission.lock();
            s.running -= 1;
            s.memory -= self.need;
            self.admission.dispatch(&mut s)
        };
        drop(refused);
    }
}

impl Admission {
    pub fn new(max_pods: usize, memory_budget: Option<u64>) -> Arc<Admission> {
        Arc::new(Admission {
            max_pods: max_pods.max(1),
            memory_budget,
            state: Mutex::new(State::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a pod needing `need` bytes could ever run here.
    pub fn fits_ever(&self, need: u64) -> bool {
        self.memory_budget.is_none_or(|b| need <= b)
    }

    /// Waits for room for a pod of `group` needing `need` bytes. Dropping the future gives up
    /// the place in the queue (and any room granted meanwhile).
    pub async fn admit(self: &Arc<Self>, group: &str, need: u64) -> Option<Ticket> {
        let (tx, rx) = oneshot::channel();
        let refused = {
            let mut s = self.lock();
            s.queues
                .entry(group.to_string())
                .or_default()
                .push_back(Waiter { need, grant: tx });
            self.dispatch(&mut s)
        };
        drop(refused);
        rx.await.ok()
    }

    /// Grants room to waiting pods, turn by turn over the groups, while it lasts. Returns
    /// the tickets whose waiter had gone, to be dropped once the lock is released.
    fn dispatch(self: &Arc<Self>, s: &mut State) -> Vec<Ticket> {
        let mut refused = Vec::new();
        loop {
            s.queues.retain(|_, q| {
                while q.front().is_some_and(|w| w.grant.is_closed()) {
                    q.pop_front();
                }
                !q.is_empty()
            });
            if s.running >= self.max_pods {
                break;
            }
            let free = self.memory_budget.map(|b| b - s.memory);
            let fits =
                |q: &VecDeque<Waiter>| q.front().is_some_and(|w| free.is_none_or(|f| w.need <= f));
            let after: Option<String> = match &s.last {
                Some(l) => s
                    .queues
                    .range::<String, _>((
                        std::ops::Bound::Excluded(l.clone()),
                        std::ops::Bound::Unbounded,
                    ))
                    .find(|(_, q)| fits(q))
                    .map(|(g, _)| g.clone()),
                None => None,
            };
            let next = after.or_else(|| {
                s.queues
                    .iter()
                    .find(|(_, q)| fits(q))
                    .map(|(g, _)| g.clone())
            });
            let Some(group) = next else {
                break;
            };
            let Some(w) = s.queues.get_mut(&group).and_then(|q| q.pop_front()) else {
                break;
            };
            s.running += 1;
            s.memory += w.need;
            s.last = Some(group);
            let ticket = Ticket {
                admission: self.clone(),
                need: w.need,
            };
            if let Err(t) = w.grant.send(ticket) {
                // Dropped after the lock is released: its Drop takes the lock.
                refused.push(t);
            }
        }
        refused
    }
}

/// The memory a pod reserves: its containers' memory limits side by side, or its largest
/// init container's (init containers run one at a time, before the others), whichever is
/// more; a container without a limit reserves nothing.
pub fn pod_memory(pod: &Pod) -> u64 {
    let sum: u64 = pod
        .spec
        .containers
        .iter()
        .filter_map(|c| c.memory_limit_bytes())
        .sum();
    let init = pod
        .spec
        .init_containers
        .iter()
        .filter_map(|c| c.memory_limit_bytes())
        .max()
        .unwrap_or(0);
    sum.max(init)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn waiting_jobs_take_turns() {
        let a = Admission::new(1, None);
        let first = a.admit("big", 0).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (i, g) in ["big", "big", "big", "small"].iter().enumerate() {
            let (a, order) = (a.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let t = a.admit(g, 0).await.unwrap();
                order.lock().unwrap().push(format!("{g}{i}"));
                tokio::time::sleep(Duration::from_millis(5)).await;
                drop(t);
            }));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        // "big" holds the slot, so although "small" came last it is served first; then the
        // remaining "big" pods in their order.
        let order = order.lock().unwrap().clone();
        assert_eq!(order, vec!["small3", "big0", "big1", "big2"]);
    }

    #[tokio::test]
    async fn memory_budget_holds_back_what_does_not_fit() {
        let a = Admission::new(10, Some(100));
        assert!(!a.fits_ever(101));
        let t1 = a.admit("x", 60).await.unwrap();
        let waiting = tokio::spawn({
            let a = a.clone();
            async move { a.admit("y", 50).await.map(|t| t.need) }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !waiting.is_finished(),
            "50 more than the budget's 40 left must wait"
        );
        // A smaller pod that fits goes ahead.
        let t2 = a.admit("z", 40).await.unwrap();
        drop(t1);
        drop(t2);
        assert_eq!(waiting.await.unwrap(), Some(50));
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_loses_nothing() {
        let a = Admission::new(1, None);
        let t = a.admit("g", 0).await.unwrap();
        let gave_up = tokio::time::timeout(Duration::from_millis(10), a.admit("g", 0)).await;
        assert!(gave_up.is_err());
        drop(t);
        // The slot is free again, not leaked to the waiter that left.
        let again = tokio::time::timeout(Duration::from_millis(100), a.admit("g", 0)).await;
        assert!(again.is_ok());
    }
}
