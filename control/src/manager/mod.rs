//! manager: the event loop that wires controller, node and store together. It keeps every
//! managed Job and its pods in flight in memory (the store holds every pod, durably),
//! reconciles Jobs whose pods changed or whose timer is due, applies each decision — new pods
//! are bound to nodes (`binding`), stops and bound pods go to their nodes at once (`routing`:
//! the node inside the process, or nodes of other processes; `lost_nodes` for those that go
//! silent), the changes to the store's writer (`hand_off`), which commits them in groups — and
//! folds pod status reports back in. A pod counts only once the
//! commit that counts it is on disk: the Jobs this manager shows, and `run`'s last word, wait
//! for it. The life of Jobs (taking them over, deletion, TTL) is in `lifecycle`.
//! Must not: decide Job semantics (that is `wasmjob-controller`, whose `apply` also makes the
//! decision's changes to the Job and its pods), or write to the store but through the writer
//! (a Job's creation and adoption, before any write of it is handed off, excepted).

mod binding;
mod correlator;
mod hand_off;
mod lifecycle;
mod lost_nodes;
mod pod_set;
mod recovery;
mod routing;
#[cfg(test)]
mod tests;

pub use lost_nodes::NODE_GRACE;
pub use routing::RemoteLinks;

use crate::controller::{
    self, ControllerConfig, Decision, Identities, JobPods, StopReason, apply, reconcile_pods,
};
use crate::node::{
    Assignment, FromNode, NodeLink, QueueAnswer, QueueCall, QueueOp, QueueReply, StatusReport,
    StopCause, ToNode,
};
use crate::queue::WorkQueue;
use crate::store::{EventRecord, InlineLog, JobRecord, Store, StoreError, Writer};
use foldhash::{HashMap, HashMapExt};
use hand_off::Outbox;
use pod_set::PodSet;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use wasmjob_spec::{COND_FAILED, COND_FAILURE_TARGET, Job, Pod, Time};

/// How often the manager looks for changes made by other processes (new Jobs, patches,
/// deletions).
const STORE_CHECK: Duration = Duration::from_millis(250);

/// Under load, the shortest time between two syncs: reports that come meanwhile are taken
/// together, so a sync's cost (it walks the pods in flight) is shared by many of them. Only
/// while many pods run (more than [`SYNC_BATCH`]) does a sync wait for news, and only until
/// a quarter of them have some; after a quiet spell, or with few pods running, a sync comes
/// at once (a one-pod Job waits for nothing).
const SYNC_GAP: Duration = Duration::from_millis(1);

/// The fewest pods with news a sync waits for, when more than this many pods run.
const SYNC_BATCH: usize = 8;

/// Where time comes from; tests can drive a virtual one.
pub trait Clock: Send + Sync {
    fn now(&self) -> Time;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Time {
        Time(jiff::Timestamp::now())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "interrupted: running pods were stopped; the unfinished Jobs stay in the state directory"
    )]
    Interrupted,
}

struct Entry {
    record: JobRecord,
    /// The Job as last committed: what observers are shown.
    shown: Job,
    pods: pod_set::PodSet,
    /// The pods running on nodes, by name.
    running: HashMap<String, OnNode>,
    /// Pods waiting for a node to be bound to (see `binding`), by name.
    unbound: BTreeSet<String>,
    wake_at: Option<Instant>,
    /// Deletion asked for, with its propagation policy; the Job is no longer reconciled.
    deleting: Option<String>,
    /// Pods a user deleted; each goes once it has ended and been counted.
    deleted_pods: BTreeSet<String>,
    /// The brokered work queue, for Jobs given items.
    queue: Option<Arc<WorkQueue>>,
    /// Logs of ended runs of pods in memory that stay with their pod (small and short runs),
    /// by pod name, and whether any came since the pod's last hand-off.
    logs: HashMap<String, (Vec<InlineLog>, bool)>,
}

/// A pod given to a node: its uid, and its node when that is another process's.
#[derive(Clone, Debug)]
struct OnNode {
    uid: String,
    remote: Option<Arc<str>>,
    /// For a remote pod not heard from yet: when its assignment was (last) sent.
    sent: Option<Instant>,
}

impl Entry {
    fn new(record: JobRecord) -> Entry {
        Entry {
            shown: record.job.clone(),
            record,
            pods: pod_set::PodSet::default(),
            running: HashMap::new(),
            unbound: BTreeSet::new(),
            wake_at: None,
            deleting: None,
            deleted_pods: BTreeSet::new(),
            queue: None,
            logs: HashMap::new(),
        }
    }
}

/// What the manager's work cost so far (for `wasmjob bench`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    /// Turns of the manager's loop: each wakes on news (reports, a commit, a timer).
    pub turns: u64,
    /// Reconcile passes, each over every Job with news.
    pub syncs: u64,
    /// Time spent in them: reconciling, writing the batch, starting and stopping pods.
    pub sync_time: Duration,
    /// Pod status reports folded in.
    pub pod_updates: u64,
    /// Of `sync_time`, the time spent deciding (the pure controller's `reconcile`).
    pub reconcile_time: Duration,
    /// Pods handed to `reconcile`, summed over its calls.
    pub reconciled_pods: u64,
    /// Pod rows handed to the store's writer.
    pub pods_written: u64,
    /// Reports dropped: about pods their sender no longer runs (failed as lost, or ended).
    pub reports_dropped: u64,
    /// The writer's group commits, and the time they took (writing and syncing, on its own
    /// thread).
    pub commits: u64,
    pub write_time: Duration,
}

/// Which Jobs a manager runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Only the Jobs it creates (`wasmjob run`).
    Own,
    /// Every Job in the state directory, taken over as it appears (`wasmjob serve`).
    All,
}

pub struct Manager {
    /// The manager's reads (and the writes that come before any hand-off of their Job).
    store: Store,
    /// Commits what the manager hands off, in groups, on a thread of its own.
    writer: Writer,
    outbox: Outbox,
    /// The seam to the node: assignments and stops go out, reports and queue calls come in.
    orders: mpsc::UnboundedSender<ToNode>,
    reports: mpsc::UnboundedReceiver<FromNode>,
    clock: Box<dyn Clock>,
    config: ControllerConfig,
    /// The lease id recorded as owner of the Jobs this manager runs.
    owner: String,
    scope: Scope,
    jobs: HashMap<String, Entry>,
    /// The Job uid of each pod in memory, by pod uid.
    pod_jobs: HashMap<String, String>,
    /// Jobs to reconcile.
    dirty_jobs: BTreeSet<String>,
    /// Jobs that may have something to collect: a deletion in progress, a TTL, deleted pods.
    to_collect: BTreeSet<String>,
    /// Own Jobs that were deleted, as they were last (for `run`'s summary).
    gone: HashMap<String, Job>,
    /// The store's `data_version` at the last look for changes by other processes.
    seen_version: Option<i64>,
    /// Jobs whose work queue has changes to store.
    queue_changes: mpsc::UnboundedReceiver<String>,
    queue_changes_tx: mpsc::UnboundedSender<String>,
    stats: Stats,
    /// When the last sync was, and how many pod reports came since.
    last_sync: Instant,
    reports_since_sync: usize,
    /// The node inside this process as a Node object, once registered
    /// ([`Manager::register_node`]).
    local_node: Option<LocalNode>,
    /// Answers to the nodes' queue calls, sent together once the messages that came with
    /// their calls are taken in (with the remote node that called).
    answers: Vec<(Option<Arc<str>>, QueueReply)>,
    /// The nodes of other processes, once attached (cluster mode).
    remote: Option<routing::Remote>,
    /// How long a remote node may be silent before it is lost.
    node_grace: Duration,
    /// Stops sent to remote nodes whose pods have not ended yet, by pod uid: sent again until
    /// they do (a broker may lose a message).
    stopping: HashMap<String, (OnNode, StopCause, Instant)>,
}

/// The node this manager's pods run on, as stored.
struct LocalNode {
    name: String,
    capacity: crate::local_node::Capacity,
    /// Whether its registration is written (or handed to the writer).
    registered: bool,
    /// When its heartbeat is next renewed.
    beat_at: Instant,
    /// The node as last read from the store (users change its spec and labels: a cordon);
    /// `None` before its registration is read, or once a user deleted it.
    view: Option<wasmjob_spec::node::Node>,
}

impl Manager {
    /// A manager that records `owner` (its lease id) on the Jobs it runs; it starts the
    /// store's writer.
    pub fn new(
        store: Store,
        node: NodeLink,
        config: ControllerConfig,
        clock: Box<dyn Clock>,
        owner: String,
        scope: Scope,
    ) -> Result<Manager, ManagerError> {
        let (queue_changes_tx, queue_changes) = mpsc::unbounded_channel();
        Ok(Manager {
            writer: Writer::start(store.dir())?,
            outbox: Outbox::default(),
            store,
            orders: node.orders,
            reports: node.reports,
            clock,
            config,
            owner,
            scope,
            jobs: HashMap::new(),
            pod_jobs: HashMap::new(),
            dirty_jobs: BTreeSet::new(),
            to_collect: BTreeSet::new(),
            gone: HashMap::new(),
            seen_version: None,
            queue_changes,
            queue_changes_tx,
            stats: Stats::default(),
            last_sync: Instant::now(),
            reports_since_sync: 0,
            local_node: None,
            answers: Vec::new(),
            remote: None,
            node_grace: NODE_GRACE,
            stopping: HashMap::new(),
        })
    }

    /// Registers the node inside this process (`Ready`; see [`crate::local_node`]) with the
    /// next write — a Job's creation ([`Manager::create`]), or the first commit of the
    /// manager's run —, renews its heartbeat while the manager runs, and marks it stopped with
    /// the manager's last commit. The pods it makes from then on are bound to it
    /// (`spec.nodeName`).
    pub fn register_node(&mut self, name: String, capacity: crate::local_node::Capacity) {
        self.local_node = Some(LocalNode {
            name,
            capacity,
            registered: false,
            beat_at: Instant::now(),
            view: None,
        });
    }

    /// Runs no pods in this process: pods go to remote nodes only (`serve --nats
    /// --no-local-node`).
    pub fn no_local_node(&mut self) {
        self.local_node = None;
    }

    /// Writes the local node's registration now, if it is not written yet (`serve` does before
    /// it says it is in control, so that its node is there to be seen).
    pub async fn write_node(&mut self) -> Result<(), ManagerError> {
        self.heartbeat();
        self.flush().await?;
        if self.refresh_node()? {
            self.reschedule();
        }
        Ok(())
    }

    /// Renews the local node's registration (with the next hand-off) when it is not written
    /// yet or its heartbeat is due.
    fn heartbeat(&mut self) {
        if let Some(write) = self.node_registration() {
            self.outbox.other.push(write);
        }
    }

    /// The write of the local node's registration, when it is not written yet or its heartbeat
    /// is due (it counts as written from then on).
    fn node_registration(&mut self) -> Option<crate::store::Writes> {
        let now = self.clock.now();
        let events = self.scope == Scope::All;
        // A node a user deleted is not registered again while this process runs (a kubelet
        // registers its node when it starts).
        let node = self
            .local_node
            .as_mut()
            .filter(|n| !n.registered || (n.beat_at <= Instant::now() && n.view.is_some()))?;
        node.registered = true;
        node.beat_at = Instant::now() + crate::local_node::HEARTBEAT;
        let (name, capacity) = (node.name.clone(), node.capacity.clone());
        Some(Box::new(move |b| {
            let fresh = crate::local_node::fresh(&name, &capacity, now);
            crate::local_node::register(b, fresh, events).map(|_| ())
        }))
    }

    /// Marks the local node as no longer posting its status, with the next commit.
    fn node_stops(&mut self) {
        if let Some(node) = self.local_node.take() {
            let now = self.clock.now();
            let events = self.scope == Scope::All;
            self.outbox.other.push(Box::new(move |b| {
                crate::local_node::stopped(b, &node.name, now, events)
            }));
        }
    }

    pub fn stats(&self) -> Stats {
        let (commits, write_time) = self.writer.work();
        Stats {
            commits,
            write_time,
            ..self.stats
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Commits what is left, waits for the work its commits started, and closes the store's
    /// connections: once this returns, nothing of the manager's is under way, and its process
    /// may end without waiting for its runtime's threads.
    pub async fn close(mut self) -> Result<(), ManagerError> {
        self.node_stops();
        self.flush().await?;
        let Manager { writer, store, .. } = self;
        writer.close().await;
        drop(store);
        Ok(())
    }

    /// Ends the manager of a process that ends right after (`run`): what is left is committed,
    /// as by [`Manager::close`]. Then, when closing the store's connections would move nothing
    /// into the database ([`Store::closing_moves_nothing`]), they and the writer's threads are
    /// left to the process's end, which closes them as it would a killed process's: every
    /// commit is already in the synced log, so nothing is lost, and the next process reads
    /// the log as it does after any end. Closing each and waiting for it was a few tenths of
    /// a millisecond of a one-pod `run`. A large log is moved in by [`Manager::close`].
    pub async fn close_before_exit(mut self) -> Result<(), ManagerError> {
        self.node_stops();
        self.flush().await?;
        if self.store.closing_moves_nothing() {
            std::mem::forget(self);
            return Ok(());
        }
        self.close().await
    }

    /// Stores a new Job, with its work-queue items if it has a queue, and takes charge of it.
    /// It is committed when this returns (nothing of it was handed to the writer yet).
    pub fn create(
        &mut self,
        mut record: JobRecord,
        items: Option<&[String]>,
    ) -> Result<String, ManagerError> {
        // Not synced on its own: the Job counts nothing yet, and the writer's first commit,
        // which is synced, makes it durable with what follows.
        // The local node's registration goes with the first Job's creation (no commit of its
        // own in a short `run`).
        let node = self.node_registration();
        self.store.write_unsynced(|batch| {
            batch.create_job(&mut record, Some(&self.owner))?;
            if let Some(items) = items {
                batch.add_queue_items(record.job.metadata.uid(), items)?;
            }
            node.map_or(Ok(()), |write| write(batch))
        })?;
        // The node pods are bound to, as stored (a cordon or labels users set kept).
        if self.local_node.as_ref().is_some_and(|n| n.view.is_none()) {
            self.refresh_node()?;
        }
        let uid = record.job.metadata.uid().to_string();
        let mut entry = Entry::new(record);
        // Built from the items just stored, not read back (no items: no queue, as on load).
        entry.queue = items
            .filter(|i| !i.is_empty())
            .map(|items| Arc::new(WorkQueue::fresh(&uid, items, self.queue_changes_tx.clone())));
        self.jobs.insert(uid.clone(), entry);
        self.dirty_jobs.insert(uid.clone());
        Ok(uid)
    }

    /// The Job's work queue, from the store (`None`: it has none).
    fn load_queue(&self, uid: &str) -> Result<Option<Arc<WorkQueue>>, ManagerError> {
        let items = self.store.queue_items(uid)?;
        if items.is_empty() {
            return Ok(None);
        }
        Ok(Some(Arc::new(WorkQueue::new(
            uid,
            items,
            self.queue_changes_tx.clone(),
        ))))
    }

    /// A Job as its last commit has it, or as it was when it was deleted.
    pub fn job(&self, uid: &str) -> Option<&Job> {
        self.jobs
            .get(uid)
            .map(|e| &e.shown)
            .or_else(|| self.gone.get(uid))
    }

    /// Whether the Job was deleted while this manager ran it.
    pub fn was_deleted(&self, uid: &str) -> bool {
        self.gone.contains_key(uid)
    }

    /// Every stored pod of the Job, from the store: call after [`Manager::run`] (or
    /// [`Manager::flush`]) to read them all.
    pub fn pods(&self, uid: &str) -> Result<Vec<Pod>, ManagerError> {
        Ok(self.store.pods_of_job(uid)?)
    }

    /// The Job's pods that have not finished or not been counted: a cheap view for progress
    /// displays, whatever the Job's size.
    pub fn pods_in_flight(&self, uid: &str) -> impl Iterator<Item = &Pod> {
        self.jobs.get(uid).into_iter().flat_map(|e| e.pods.iter())
    }

    /// Runs until every Job in `uids` is finished (or deleted), its pods have ended and all
    /// of it is committed — with `uids` `None`, until `shutdown` — calling `observe` after each
    /// change. When `shutdown` fires, running pods are stopped (with a `DisruptionTarget`
    /// condition), their last status is committed, and `Interrupted` returned.
    pub async fn run(
        &mut self,
        uids: Option<&[String]>,
        observe: &mut dyn FnMut(&Manager),
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ManagerError> {
        tokio::pin!(shutdown);
        let mut store_check = tokio::time::interval(STORE_CHECK);
        store_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // One timer for every wake-up (a Job's, a held sync, a write that may wait): a new
        // timer per turn of the loop is a cost per report. It is armed (`timer_at`) or not; a
        // timer that fired stays as it is, unpolled, until it is set again.
        let timer = tokio::time::sleep_until(Instant::now());
        tokio::pin!(timer);
        let mut timer_at: Option<Instant> = None;
        self.heartbeat();
        loop {
            self.stats.turns += 1;
            let held = self.sync_held();
            if held.is_none() && !self.writer_behind() {
                let started = std::time::Instant::now();
                if self.sync() {
                    self.stats.syncs += 1;
                    self.stats.sync_time += started.elapsed();
                }
            }
            self.collect()?;
            let done = uids.is_some_and(|uids| {
                uids.iter().all(|u| {
                    self.jobs
                        .get(u)
                        .is_none_or(|e| e.record.job.is_finished() && e.running.is_empty())
                })
            });
            if done {
                // The run is over: its node stops with its last commit (the same commit as
                // its last pods').
                self.node_stops();
            }
            self.hand_off();
            observe(self);
            if done {
                self.flush().await?;
                observe(self);
                return Ok(());
            }
            let wake = self.jobs.values().filter_map(|e| e.wake_at).min();
            // Writes that are due wait for a busy writer's commit, whose word wakes the loop:
            // a timer for them would fire at once, turn after turn, until the commit is in.
            let due = self.writer.idle().then(|| self.outbox.next_due()).flatten();
            let next = [wake, held, due].into_iter().flatten().min();
            // Moved earlier only: a wake-up that came too soon costs one turn of the loop,
            // moving the timer later at every report cost more (the times move on each turn).
            if let Some(n) = next
                && timer_at.is_none_or(|t| n < t)
            {
                timer_at = Some(n);
                timer.as_mut().reset(n);
            }
            tokio::select! {
                message = self.reports.recv() => {
                    if let Some(m) = message {
                        self.take(None, m);
                    }
                    while let Ok(m) = self.reports.try_recv() {
                        self.take(None, m);
                    }
                    self.send_answers();
                }
                Some((node, m)) = Manager::next_remote(&mut self.remote) => {
                    self.take_remote(&node, m);
                    while let Some(Ok((node, m))) = self.remote.as_mut().map(|r| r.messages.try_recv()) {
                        self.take_remote(&node, m);
                    }
                    self.send_answers();
                }
                committed = self.writer.changed() => {
                    let n = committed.map_err(StoreError::Shared)?;
                    self.committed(n);
                }
                _ = &mut timer, if timer_at.is_some() => {
                    timer_at = None;
                    let now = Instant::now();
                    for (uid, e) in &mut self.jobs {
                        if e.wake_at.is_some_and(|w| w <= now) {
                            e.wake_at = None;
                            self.dirty_jobs.insert(uid.clone());
                            self.to_collect.insert(uid.clone());
                        }
                    }
                }
                Some(uid) = self.queue_changes.recv() => {
                    self.outbox.queues.insert(uid);
                    while let Ok(uid) = self.queue_changes.try_recv() {
                        self.outbox.queues.insert(uid);
                    }
                }
                _ = store_check.tick() => {
                    self.look_at_store()?;
                    self.heartbeat();
                    self.watch_nodes();
                    self.resend();
                }
                _ = &mut shutdown => {
                    self.shutdown().await?;
                    return Err(ManagerError::Interrupted);
                }
            }
        }
    }

    /// Stops every running pod, waits for their final reports, and commits them.
    async fn shutdown(&mut self) -> Result<(), ManagerError> {
        let all: Vec<OnNode> = self
            .jobs
            .values()
            .flat_map(|e| e.running.values().cloned())
            .collect();
        self.stop_pods(all.into_iter().map(|on| (on, StopCause::Shutdown)));
        while self.jobs.values().any(|e| !e.running.is_empty()) {
            let next = async {
                tokio::select! {
                    m = self.reports.recv() => m.map(|m| (None, m)),
                    m = Manager::next_remote(&mut self.remote) => m.map(|(n, m)| (Some(n), m)),
                }
            };
            match tokio::time::timeout(Duration::from_secs(10), next).await {
                Ok(Some((None, m))) => {
                    self.take(None, m);
                    self.send_answers();
                }
                Ok(Some((Some(node), m))) => {
                    self.take_remote(&node, m);
                    self.send_answers();
                }
                _ => break,
            }
        }
        self.node_stops();
        self.flush().await
    }

    /// The assignment of Job `uid`'s `pod`, which is recorded as running on its node
    /// (`remote`: another process's).
    fn assignment(
        entry: &mut Entry,
        uid: &str,
        pod: Arc<Pod>,
        remote: Option<Arc<str>>,
    ) -> Assignment {
        entry.running.insert(
            pod.metadata.name().to_string(),
            OnNode {
                uid: pod.metadata.uid().to_string(),
                sent: remote.as_ref().map(|_| Instant::now()),
                remote,
            },
        );
        Assignment {
            info: task_info(&entry.record.job, &pod),
            pod,
            job_uid: uid.to_string(),
            base_dir: entry.record.base_dir.clone(),
            queue: entry.queue.is_some(),
            modules: Default::default(),
        }
    }

    /// Until when the next sync waits for more news (`None`: it may come now). See
    /// [`SYNC_GAP`].
    fn sync_held(&self) -> Option<Instant> {
        if self.dirty_jobs.is_empty() {
            return None;
        }
        let running: usize = self.jobs.values().map(|e| e.running.len()).sum();
        let enough = (running / 4).max(SYNC_BATCH);
        let next = self.last_sync + SYNC_GAP;
        (running > SYNC_BATCH && self.reports_since_sync < enough && Instant::now() < next)
            .then_some(next)
    }

    /// Folds in one message from a node (`node`: another process's, by its shared name).
    fn take(&mut self, node: Option<Arc<str>>, message: FromNode) {
        match message {
            FromNode::Reports(reports) => {
                self.reports_since_sync += reports.len();
                // A remote node sends a pod's last report until it is acknowledged: once its
                // commit is on disk, or at once when it no longer counts.
                let (mut durable, mut at_once) = (Vec::new(), Vec::new());
                for r in reports {
                    let (finished, pod_uid) = (r.finished, r.pod_uid.clone());
                    let counted = self.apply_update(r, node.as_ref());
                    if node.is_some() && finished {
                        if counted {
                            durable.push(pod_uid);
                        } else {
                            at_once.push(pod_uid);
                        }
                    }
                }
                if let Some(route) = node.as_ref().and_then(|n| self.route(Some(n))) {
                    if !at_once.is_empty() {
                        route.send(ToNode::Acks(at_once));
                    }
                    if !durable.is_empty() {
                        self.outbox
                            .after
                            .push(Box::new(move || route.send(ToNode::Acks(durable))));
                    }
                }
            }
            FromNode::Queue(call) => self.answer_queue(node, call),
            // Only a remote node registers itself (see `take_remote`).
            FromNode::Register { .. } => {}
        }
    }

    /// Folds in one message from the remote node `name`: its registration first, then what
    /// it sends once registered (a node this manager does not know is ignored).
    fn take_remote(&mut self, name: &str, message: FromNode) {
        if let FromNode::Register {
            node,
            incarnation,
            pods,
        } = message
        {
            self.register_remote(name, *node, incarnation, pods);
            return;
        }
        if let Some(node) = self.remote_name(name) {
            self.take(Some(node), message);
        }
    }

    /// Answers a pod's work-queue call from its Job's queue (a lease that must wait for an
    /// item waits in a task of its own).
    fn answer_queue(&mut self, node: Option<Arc<str>>, call: QueueCall) {
        let QueueCall {
            id: call,
            job_uid,
            pod,
            op,
        } = call;
        let answer = move |answer| QueueReply { id: call, answer };
        let Some(q) = self.jobs.get(&job_uid).and_then(|e| e.queue.clone()) else {
            let none = match op {
                QueueOp::Lease => QueueAnswer::Item(crate::sandbox::abi::NextItem::NoQueue),
                _ => QueueAnswer::Yes(false),
            };
            self.answers.push((node, answer(none)));
            return;
        };
        match op {
            QueueOp::Lease => {
                // An item now, when one is free: a lease that must wait for one waits in a
                // task of its own, which answers alone.
                if let Some(item) = q.try_lease(&pod) {
                    self.answers.push((node, answer(QueueAnswer::Item(item))));
                    return;
                }
                let Some(route) = self.route(node.as_ref()) else {
                    return;
                };
                tokio::spawn(async move {
                    let item = q.lease(&pod).await;
                    route.send(ToNode::Answers(vec![answer(QueueAnswer::Item(item))]));
                });
            }
            QueueOp::IsLeased(id) => {
                let yes = q.is_leased_to(&pod, id);
                self.answers.push((node, answer(QueueAnswer::Yes(yes))));
            }
            QueueOp::Ack(id) => {
                let yes = q.ack(&pod, id);
                self.answers.push((node, answer(QueueAnswer::Yes(yes))));
            }
        }
    }

    /// Folds in a pod's report from node `node` (`None`: the node inside this process). A
    /// report counts only from the node the pod runs on: one about a pod that node no longer
    /// runs (it was failed as lost, or it ended) is dropped. Returns whether it counted.
    fn apply_update(&mut self, u: StatusReport, node: Option<&Arc<str>>) -> bool {
        self.stats.pod_updates += 1;
        let Some(uid) = self.pod_jobs.get(&u.pod_uid) else {
            self.stats.reports_dropped += 1;
            return false;
        };
        let Some(entry) = self.jobs.get_mut(uid) else {
            self.stats.reports_dropped += 1;
            return false;
        };
        let name = u.name;
        let on_its_node = entry
            .running
            .get_mut(&name)
            .filter(|on| on.uid == u.pod_uid && on.remote.as_ref() == node);
        let Some(on) = on_its_node else {
            self.stats.reports_dropped += 1;
            return false;
        };
        // Heard from: its assignment needs no sending again.
        on.sent = None;
        if u.finished {
            self.stopping.remove(&u.pod_uid);
        }
        let Some(pod) = entry.pods.get_mut(&name) else {
            return false;
        };
        pod.status = u.status;
        if !u.logs.is_empty() {
            let (kept, fresh) = entry.logs.entry(name.clone()).or_default();
            kept.extend(u.logs.into_iter().map(|l| InlineLog {
                container: l.container,
                restart: l.restart,
                bytes: l.bytes,
            }));
            *fresh = true;
        }
        for message in u.warnings {
            self.outbox.event(EventRecord {
                namespace: u.namespace.clone(),
                kind: "Pod".into(),
                name: name.clone(),
                uid: u.pod_uid.clone(),
                type_: "Warning".into(),
                reason: "OutputsNotPublished".into(),
                message,
                time: self.clock.now(),
            });
        }
        if u.finished {
            if let Some(q) = &entry.queue {
                let succeeded = pod.phase() == wasmjob_spec::PHASE_SUCCEEDED;
                q.pod_ended(&name, succeeded);
                // Stored in the same group as the pod's end.
                self.outbox.queues.insert(uid.clone());
            }
            entry.running.remove(&name);
            if entry.deleting.is_some() || entry.deleted_pods.contains(&name) {
                self.to_collect.insert(uid.clone());
            }
        }
        self.dirty_jobs.insert(uid.clone());
        // A pod's end is written at the next hand-off; news before it may wait (see
        // `hand_off`): a pod that ends meanwhile is written once.
        self.outbox.pod(uid, &name, u.finished);
        true
    }

    /// Reconciles every dirty Job: stops pods and starts new ones at once, and marks every
    /// change for the writer. Returns whether there was anything to do.
    fn sync(&mut self) -> bool {
        if self.dirty_jobs.is_empty() {
            return false;
        }
        self.last_sync = Instant::now();
        self.reports_since_sync = 0;
        let now = self.clock.now();
        let mut starts: Vec<(String, String)> = Vec::new();
        let mut stops: Vec<(OnNode, StopCause)> = Vec::new();
        let mut decisions: Vec<(String, Decision)> = Vec::new();
        for uid in std::mem::take(&mut self.dirty_jobs) {
            let Some(e) = self.jobs.get(&uid) else {
                continue;
            };
            if e.deleting.is_some() {
                continue;
            }
            let started = std::time::Instant::now();
            let pods: Vec<&Pod> = e.pods.iter().collect();
            let d = reconcile_pods(&e.record.job, &pods, &e.record.backoff, &self.config, now);
            self.stats.reconcile_time += started.elapsed();
            self.stats.reconciled_pods += pods.len() as u64;
            decisions.push((uid, d));
        }
        for (uid, d) in decisions {
            // Out of the map while its decision is applied, so that new pods' names can be
            // checked against the other Jobs' pods.
            let Some(mut e) = self.jobs.remove(&uid) else {
                continue;
            };
            self.apply_decision(&uid, &mut e, d, now, &mut starts, &mut stops);
            self.jobs.insert(uid, e);
        }
        // Stops and starts go out at once. A stop needs no record to be safe (after a crash
        // the pods still stored as running are failed as lost, and the next sync decides the
        // same); a pod may run before its creation is committed — it counts only in a commit
        // that holds its end, and a pod lost with an uncommitted creation was never seen, so
        // its Job makes another (a pod may run twice, as on a cluster).
        self.stop_pods(stops);
        self.bind_and_assign(starts);
        true
    }

    /// Applies Job `uid`'s decision to its entry `e` (taken out of the map), marking its
    /// changes for the writer and collecting the pods to start (by name) and to stop.
    fn apply_decision(
        &mut self,
        uid: &str,
        e: &mut Entry,
        d: Decision,
        now: wasmjob_spec::Time,
        starts: &mut Vec<(String, String)>,
        stops: &mut Vec<(OnNode, StopCause)>,
    ) {
        e.wake_at = d.requeue_after.map(|r| Instant::now() + r);
        if d.is_noop(e.record.job.status(), &e.record.backoff) {
            return;
        }
        let counts = counts_change(e.record.job.status(), &e.record.backoff, &d);
        self.outbox.status(uid, counts);
        let ns = e.record.job.namespace().to_string();
        let mut pods = EntryPods {
            pods: &mut e.pods,
            others: &self.jobs,
            pod_jobs: &mut self.pod_jobs,
            outbox: &mut self.outbox,
            namespace: &ns,
            uid,
        };
        let applied = apply(
            &mut e.record.job,
            &mut e.record.backoff,
            &mut pods,
            d,
            &mut RandomIdentities,
            now,
        );
        let mut never_bound = Vec::new();
        let job = &e.record.job;
        let event = |type_: &str, reason: &str, message: String| EventRecord {
            namespace: job.namespace().to_string(),
            kind: "Job".into(),
            name: job.name().to_string(),
            uid: uid.to_string(),
            type_: type_.into(),
            reason: reason.into(),
            message,
            time: now,
        };
        for (name, reason) in &applied.stop {
            if let Some(on) = e.running.get(name) {
                stops.push((on.clone(), StopCause::Deleted(stop_message(job, *reason))));
            } else if e.unbound.contains(name) {
                never_bound.push(name.clone());
            }
        }
        for name in applied.created {
            starts.push((uid.to_string(), name));
        }
        for ev in &applied.events {
            self.outbox
                .event(event(ev.type_, &ev.reason, ev.message.clone()));
        }
        if applied.finished
            && let Some(q) = &e.queue
        {
            let left = q.counts();
            if left.pending + left.leased > 0 {
                self.outbox.event(event(
                    "Warning",
                    "QueueNotDrained",
                    format!(
                        "the Job finished with {} of its work-queue items not done (wasmjob queue {} lists them)",
                        left.pending + left.leased,
                        job.name()
                    ),
                ));
            }
        }
        for name in never_bound {
            if e.fail_unbound(&name) {
                self.outbox.pod(uid, &name, true);
                self.dirty_jobs.insert(uid.to_string());
            }
        }
        if applied.requeue_after == Some(Duration::ZERO) {
            self.dirty_jobs.insert(uid.to_string());
        }
        if e.record.job.is_finished() || !e.deleted_pods.is_empty() {
            self.to_collect.insert(uid.to_string());
        }
    }
}

/// Whether decision `d` changes what Job status `old` (with back-off record `backoff`) counts:
/// anything but its active, ready and terminating pods and its start time. A change of only
/// those may wait to be written (see `hand_off`).
fn counts_change(
    old: &wasmjob_spec::JobStatus,
    backoff: &controller::BackoffRecord,
    d: &Decision,
) -> bool {
    // Every field named: a field added to the status is decided on here.
    let wasmjob_spec::JobStatus {
        conditions,
        start_time: _,
        completion_time,
        active: _,
        succeeded,
        failed,
        terminating: _,
        ready: _,
        completed_indexes,
        failed_indexes,
        uncounted_terminated_pods,
    } = &d.status;
    !d.counted.is_empty()
        || &d.backoff != backoff
        || *succeeded != old.succeeded
        || *failed != old.failed
        || *conditions != old.conditions
        || *completion_time != old.completion_time
        || *completed_indexes != old.completed_indexes
        || *failed_indexes != old.failed_indexes
        || uncounted(uncounted_terminated_pods) != uncounted(&old.uncounted_terminated_pods)
}

/// Pods ended and not yet counted, if any (none and an empty record are the same).
fn uncounted(
    u: &Option<wasmjob_spec::UncountedTerminatedPods>,
) -> Option<&wasmjob_spec::UncountedTerminatedPods> {
    u.as_ref()
        .filter(|u| !u.succeeded.is_empty() || !u.failed.is_empty())
}

/// A Job's pods as [`apply`] changes them: every change is marked for the writer, and a new
/// pod's name is one no pod of the namespace's Jobs had.
struct EntryPods<'a> {
    pods: &'a mut PodSet,
    /// The other Jobs (the one applying is out of the map meanwhile).
    others: &'a HashMap<String, Entry>,
    pod_jobs: &'a mut HashMap<String, String>,
    outbox: &'a mut Outbox,
    namespace: &'a str,
    uid: &'a str,
}

impl JobPods for EntryPods<'_> {
    fn pod_mut(&mut self, name: &str) -> Option<&mut Pod> {
        let pod = self.pods.get_mut(name)?;
        // Counted or stopped: written at the next hand-off.
        self.outbox.pod(self.uid, name, true);
        Some(pod)
    }
    fn name_taken(&self, name: &str) -> bool {
        self.pods.has_name(name)
            || self
                .others
                .values()
                .any(|e| e.record.job.namespace() == self.namespace && e.pods.has_name(name))
    }
    fn add(&mut self, pod: Pod) {
        // Bound to a node when the sync that made it ends (see `binding`).
        self.pod_jobs
            .insert(pod.metadata.uid().to_string(), self.uid.to_string());
        // A new pod may wait a moment: if it ends meanwhile, it is written once.
        self.outbox.pod(self.uid, pod.metadata.name(), false);
        self.pods.insert(pod, true);
    }
}

/// New pods' uids and name suffixes, at random. The uids are UUIDs of version 7 (random,
/// led by the time): a pod's uid is as unique as a cluster's (version 4), and the store's
/// index of uids grows at its end rather than at random places.
pub struct RandomIdentities;

impl Identities for RandomIdentities {
    fn uid(&mut self) -> String {
        // The time from the clock, the rest from a fast generator (uuid's own asks the kernel
        // for randomness at every call).
        let millis = jiff::Timestamp::now().as_millisecond().max(0) as u64;
        uuid::Builder::from_unix_timestamp_millis(
            millis,
            &fastrand::u128(..).to_le_bytes()[..10]
                .try_into()
                .unwrap_or_default(),
        )
        .into_uuid()
        .to_string()
    }
    fn name_suffix(&mut self) -> String {
        controller::pods::name_suffix(|n| fastrand::usize(..n))
    }
}

/// What a pod the Job controller stops is told: why, naming the rule that failed the Job (a
/// deadline, the back-off limit, a failure policy).
fn stop_message(job: &Job, reason: StopReason) -> String {
    let why = match reason {
        StopReason::JobFailed => {
            let status = job.status();
            let reason = status
                .true_condition(COND_FAILED)
                .or_else(|| status.true_condition(COND_FAILURE_TARGET))
                .and_then(|c| c.reason.as_deref());
            match reason {
                Some(r) => format!("the Job failed ({r})"),
                None => "the Job failed".to_string(),
            }
        }
        StopReason::JobSucceeded => "the Job met its success criteria".into(),
        StopReason::ScaleDown => "the Job needs fewer pods".into(),
    };
    format!("stopped by the Job controller: {why}")
}

/// What the pod's tasks learn of their Job when it starts (`wasmjob_v1.context`).
pub fn task_info(job: &Job, pod: &Pod) -> crate::node::TaskInfo {
    let failed_before = pod
        .metadata
        .annotations
        .get(wasmjob_spec::INDEX_FAILURE_COUNT_ANNOTATION)
        .and_then(|n| n.parse().ok())
        .unwrap_or(job.status().failed);
    crate::node::TaskInfo {
        completions: job.spec.completions,
        parallelism: job.spec.parallelism.unwrap_or(1),
        failed_before,
    }
}
