//! Binding pods to nodes with the scheduler's choice (`crate::scheduler`): a new pod (or one
//! a crash left waiting) is bound and goes to its node, or stays `Pending` unbound with
//! `PodScheduled=False` (reason `Unschedulable`, kube-scheduler's message) and a
//! `FailedScheduling` event, and is tried again when the nodes change (a cordon lifted, a
//! label added). An unbound pod the controller stops (a deadline, a deletion, a scale-down)
//! never reached a node: it is failed here, as PodGC fails an unscheduled pod being deleted.
//! Must not: decide where a pod goes (the scheduler does) or run anything.

use super::{Entry, LocalNode, Manager, ManagerError};
use crate::scheduler::{self, Candidate};
use crate::store::EventRecord;
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
    /// Reads the local node as stored; returns whether what scheduling looks at changed
    /// (its spec, its labels, whether it is there).
    pub(super) fn refresh_node(&mut self) -> Result<bool, ManagerError> {
        let Some(local) = &self.local_node else {
            return Ok(false);
        };
        let stored = self.store.node(&local.name)?;
        let seen = |n: &Option<Node>| {
            n.as_ref()
                .map(|n| (n.spec.clone(), n.metadata.labels.clone()))
        };
        let changed = seen(&stored) != seen(&local.view);
        if let Some(local) = &mut self.local_node {
            local.view = stored;
        }
        Ok(changed)
    }

    /// Binds Job `uid`'s new or waiting pods `names` to nodes, and sends those bound to them.
    pub(super) fn bind_and_assign(&mut self, pods: Vec<(String, String)>) {
        if pods.is_empty() {
            return;
        }
        let now = self.clock.now();
        let running = self.jobs.values().map(|e| e.running.len()).sum();
        let candidates = candidates(self.local_node.as_ref(), running);
        let mut failed = Vec::new();
        let mut bound = Vec::new();
        for (uid, name) in pods {
            let Some(e) = self.jobs.get_mut(&uid) else {
                continue;
            };
            let Some(pod) = e.pods.get_mut(&name) else {
                continue;
            };
            match bind(pod, candidates.as_deref()) {
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
        drop(candidates);
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
            if let Some(e) = self.jobs.get_mut(&uid)
                && let Some(pod) = e.pods.shared(&name)
            {
                // Written with its node at its first report, as every pod on a node is.
                assignments.push(Manager::assignment(e, &uid, pod));
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

/// The nodes pods may be bound to, with their pods (`None`: the manager registered no node,
/// and runs every pod on its link unbound).
fn candidates(local: Option<&LocalNode>, pods: usize) -> Option<Vec<Candidate<'_>>> {
    Some(
        local?
            .view
            .iter()
            .map(|node| Candidate { node, pods })
            .collect(),
    )
}

/// Binds `pod` to a node among `nodes` (`None`: no nodes are known, it runs unbound).
fn bind(pod: &mut Pod, nodes: Option<&[Candidate<'_>]>) -> Binding {
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
