//! Binding pods to nodes with the scheduler's choice (`crate::scheduler`): a new pod (or one
//! a crash left waiting) is bound and goes to its node, or stays `Pending` unbound with
//! `PodScheduled=False` (reason `Unschedulable`, kube-scheduler's message) and a
//! `FailedScheduling` event, and is tried again when the nodes change (a cordon lifted, a
//! label added). An unbound pod the controller stops (a deadline, a deletion, a scale-down)
//! never reached a node: it is failed here, as PodGC fails an unscheduled pod being deleted.
//! Must not: decide where a pod goes (the scheduler does) or run anything.

use super::routing::Remote;
use super::{Entry, LocalNode, Manager, ManagerError};
use crate::scheduler::{self, Candidate};
use crate::store::EventRecord;
use foldhash::{HashMap, HashMapExt};
use std::collections::BTreeMap;
use wasmjob_spec::node::Node;
use wasmjob_spec::{PHASE_FAILED, PHASE_PENDING, Pod, PodCondition, Time};

/// What happened to a pod given to the scheduler.
enum Binding {
    /// Bound to a node: it goes there.
    Bound,
    /// It fits no node: the scheduler's message.
    Unschedulable(String),
    /// Its template names a node that is not there: it waits for it (no scheduler involved).
    Waiting,
}

impl Manager {
    /// Reads the nodes pods may go to as stored — the local one, and the remote ones that
    /// registered —; returns whether what scheduling looks at changed (their specs, labels,
    /// whether they are there).
    pub(super) fn refresh_node(&mut self) -> Result<bool, ManagerError> {
        let seen = |n: &Option<Node>| {
            n.as_ref()
                .map(|n| (n.spec.clone(), n.metadata.labels.clone()))
        };
        let mut changed = false;
        if let Some(name) = self.local_node.as_ref().map(|l| l.name.clone()) {
            let stored = self.store.node(&name)?;
            if let Some(local) = &mut self.local_node {
                changed |= seen(&stored) != seen(&local.view);
                local.view = stored;
            }
        }
        if self.remote.as_ref().is_some_and(|r| !r.nodes.is_empty()) {
            let mut stored: BTreeMap<String, Node> = self
                .store
                .nodes()?
                .into_iter()
                .map(|n| (n.name().to_string(), n))
                .collect();
            if let Some(remote) = &mut self.remote {
                for (name, r) in &mut remote.nodes {
                    let view = stored.remove(name);
                    if view.is_none() && !r.stored {
                        // Its registration is not committed yet.
                        continue;
                    }
                    r.stored = true;
                    changed |= seen(&view) != seen(&r.view);
                    r.view = view;
                }
            }
        }
        Ok(changed)
    }

    /// Binds Job `uid`'s new or waiting pods `names` to nodes, and sends those bound to them.
    pub(super) fn bind_and_assign(&mut self, pods: Vec<(String, String)>) {
        if pods.is_empty() {
            return;
        }
        let now = self.clock.now();
        let local_name = self.local_node.as_ref().map(|n| n.name.clone());
        let mut nodes = candidates(self.local_node.as_ref(), self.remote.as_ref());
        if nodes.as_ref().is_some_and(|n| n.len() > 1) {
            // Spread: each node's pods now.
            let mut on: HashMap<&str, usize> = HashMap::new();
            for e in self.jobs.values() {
                for r in e.running.values() {
                    let node = r.remote.as_deref().or(local_name.as_deref()).unwrap_or("");
                    *on.entry(node).or_default() += 1;
                }
            }
            for c in nodes.iter_mut().flatten() {
                c.pods = on.get(c.node.name()).copied().unwrap_or(0);
            }
        }
        let mut failed = Vec::new();
        let mut bound = Vec::new();
        for (uid, name) in pods {
            let Some(e) = self.jobs.get_mut(&uid) else {
                continue;
            };
            let Some(pod) = e.pods.get_mut(&name) else {
                continue;
            };
            match bind(pod, nodes.as_deref_mut()) {
                Binding::Bound => {
                    e.unbound.remove(&name);
                    bound.push((uid, name));
                }
                Binding::Waiting => {
                    e.unbound.insert(name);
                }
                Binding::Unschedulable(message) => {
                    e.unbound.insert(name.clone());
                    if unschedulable(pod, &message, now) {
                        failed.push((uid, name, pod.metadata.uid().to_string(), message));
                    }
                }
            }
        }
        drop(nodes);
        for (uid, name, pod_uid, message) in failed {
            let namespace = self.jobs[&uid].record.job.namespace().to_string();
            self.outbox.event(EventRecord {
                namespace,
                kind: "Pod".into(),
                name: name.clone(),
                uid: pod_uid,
                type_: "Warning".into(),
                reason: "FailedScheduling".into(),
                message,
                time: now,
            });
            self.outbox.pod(&uid, &name, false);
        }
        let mut assignments = Vec::with_capacity(bound.len());
        for (uid, name) in bound {
            let Some(pod) = self.jobs.get(&uid).and_then(|e| e.pods.shared(&name)) else {
                continue;
            };
            // The node inside this process, or a remote one by its shared name.
            let remote = match pod.spec.node_name.as_deref() {
                Some(node) if Some(node) != local_name.as_deref() => match self.remote_name(node) {
                    Some(r) => Some(r),
                    None => continue,
                },
                _ => None,
            };
            if let Some(e) = self.jobs.get_mut(&uid) {
                // Written with its node at its first report, as every pod on a node is.
                let a = Manager::assignment(e, &uid, pod, remote.clone());
                assignments.push((remote, a));
            }
        }
        self.assign(assignments);
    }

    /// Tries every unbound pod again (the nodes changed).
    pub(super) fn reschedule(&mut self) {
        let waiting: Vec<(String, String)> = self
            .jobs
            .iter()
            .filter(|(_, e)| e.deleting.is_none())
            .flat_map(|(uid, e)| e.unbound.iter().map(move |n| (uid.clone(), n.clone())))
            .collect();
        self.bind_and_assign(waiting);
    }
}

impl Entry {
    /// Fails pod `name` if it is unbound (it never reached a node), as PodGC fails an
    /// unscheduled pod being deleted; returns whether it did. The caller marks it for the
    /// writer and its Job for a sync.
    pub(super) fn fail_unbound(&mut self, name: &str) -> bool {
        if !self.unbound.remove(name) {
            return false;
        }
        if let Some(pod) = self.pods.get_mut(name) {
            pod.status.phase = Some(PHASE_FAILED.into());
        }
        true
    }
}

/// The nodes pods may be bound to (`None`: the manager registered no node and has no remote
/// ones: it runs every pod on its link unbound): the local node and the remote nodes that
/// registered, as stored.
fn candidates<'a>(
    local: Option<&'a LocalNode>,
    remote: Option<&'a Remote>,
) -> Option<Vec<Candidate<'a>>> {
    if local.is_none() && remote.is_none() {
        return None;
    }
    let local = local.and_then(|l| l.view.as_ref());
    let remote = remote
        .into_iter()
        .flat_map(|r| r.nodes.values())
        .filter(|n| !n.lost && n.incarnation.is_some())
        .filter_map(|n| n.view.as_ref());
    Some(
        local
            .into_iter()
            .chain(remote)
            .map(|node| Candidate { node, pods: 0 })
            .collect(),
    )
}

/// Binds `pod` to a node among `nodes` (`None`: no nodes are known, it runs unbound).
fn bind(pod: &mut Pod, nodes: Option<&mut [Candidate<'_>]>) -> Binding {
    let Some(nodes) = nodes else {
        return Binding::Bound;
    };
    // A pod whose template names its node bypasses the scheduler, as on a cluster.
    if let Some(named) = &pod.spec.node_name {
        return if nodes.iter().any(|c| c.node.name() == named) {
            Binding::Bound
        } else {
            Binding::Waiting
        };
    }
    match scheduler::place(&pod.spec, nodes) {
        Ok(name) => {
            if let Some(c) = nodes.iter_mut().find(|c| c.node.name() == name) {
                c.pods += 1;
            }
            pod.spec.node_name = Some(name.to_string());
            Binding::Bound
        }
        Err(u) => Binding::Unschedulable(u.0),
    }
}

/// Marks `pod` `Pending` and unschedulable for `message`; returns whether that changed its
/// status (a pod tried again for the same reason is not reported again).
fn unschedulable(pod: &mut Pod, message: &str, now: Time) -> bool {
    let s = &mut pod.status;
    s.phase = Some(PHASE_PENDING.into());
    let condition = PodCondition {
        type_: "PodScheduled".into(),
        status: "False".into(),
        last_probe_time: None,
        last_transition_time: Some(now),
        reason: Some("Unschedulable".into()),
        message: Some(message.into()),
    };
    match s.conditions.iter_mut().find(|c| c.type_ == "PodScheduled") {
        Some(c) if c.status == "False" && c.message.as_deref() == Some(message) => false,
        Some(c) => {
            // The transition is when its status last changed.
            let since = (c.status == "False")
                .then_some(c.last_transition_time)
                .flatten();
            *c = condition;
            if since.is_some() {
                c.last_transition_time = since;
            }
            true
        }
        None => {
            s.conditions.push(condition);
            true
        }
    }
}
