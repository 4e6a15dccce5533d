//! Nodes of other processes that go silent, as Kubernetes' node lifecycle controller and PodGC
//! treat them. A node that has not registered again (its heartbeat) for the grace period is
//! lost: it is marked `Ready` `Unknown` with the `node.kubernetes.io/unreachable` taint and a
//! `NodeNotReady` event, takes no pods, and the pods it ran are failed at once with a
//! `DisruptionTarget` condition (reason `DeletionByPodGC`) and their unfinished containers
//! terminated `ContainerStatusUnknown`, so their Jobs count and replace them (a
//! `podFailurePolicy` rule `Ignore` on `DisruptionTarget` keeps them out of `backoffLimit`).
//! Nothing such a node reports about those pods counts any more (reports are fenced by the
//! node a pod runs on), and when it comes back it is told to stop them. A node that registers
//! with a new incarnation (its process restarted) lost its pods the same way.
//! Must not: decide Job semantics (the pods' ends go through the controller as any other).

use super::recovery::{Recovered, recover};
use super::{Manager, OnNode};
use crate::node::{Stop, StopCause, ToNode};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long a node of another process may go without registering again before it is lost.
/// Kubernetes marks a node `Unknown` after 40 s without a heartbeat (`node-monitor-grace-period`)
/// and evicts its pods 300 s later (the default `tolerationSeconds` of the unreachable taint);
/// here its pods are failed as soon as it is lost, so that their Jobs go on.
pub const NODE_GRACE: Duration = Duration::from_secs(40);

/// The message of a lost node's `Ready` condition, as the node lifecycle controller words it.
const STOPPED_POSTING: &str = "Kubelet stopped posting node status.";

impl Manager {
    /// Sets the grace period after which a silent node is lost (`serve --node-grace`).
    pub fn set_node_grace(&mut self, grace: Duration) {
        self.node_grace = grace;
    }

    /// Declares lost every remote node silent for longer than the grace period.
    pub(super) fn watch_nodes(&mut self) {
        let Some(remote) = &self.remote else {
            return;
        };
        let now = Instant::now();
        let silent: Vec<Arc<str>> = remote
            .nodes
            .values()
            .filter(|n| !n.lost && now.duration_since(n.seen) > self.node_grace)
            .map(|n| n.name.clone())
            .collect();
        for name in silent {
            self.lose(&name);
        }
    }

    /// Node `name` is lost: it is marked so, and its pods failed.
    fn lose(&mut self, name: &Arc<str>) {
        if let Some(r) = self
            .remote
            .as_mut()
            .and_then(|r| r.nodes.get_mut(name.as_ref()))
        {
            r.lost = true;
        }
        let now = self.clock.now();
        let node = name.to_string();
        self.outbox.other.push(Box::new(move |b| {
            crate::local_node::silent(b, &node, now, true, STOPPED_POSTING)
        }));
        self.fail_pods_on(name, |_| true);
    }

    /// Fails the pods running on remote node `name` that `which` picks as lost (see the
    /// module's comment), and remembers them, to stop them if the node comes back.
    pub(super) fn fail_pods_on(&mut self, name: &Arc<str>, which: impl Fn(&OnNode) -> bool) {
        let now = self.clock.now();
        let mut failed: Vec<String> = Vec::new();
        for (uid, e) in &mut self.jobs {
            let on: Vec<(String, String)> = e
                .running
                .iter()
                .filter(|(_, r)| r.remote.as_ref() == Some(name) && which(r))
                .map(|(pod, r)| (pod.clone(), r.uid.clone()))
                .collect();
            for (pod_name, pod_uid) in on {
                e.running.remove(&pod_name);
                self.stopping.remove(&pod_uid);
                failed.push(pod_uid);
                if let Some(pod) = e.pods.get_mut(&pod_name)
                    && let Recovered::Lost(status) = recover(pod, now)
                {
                    pod.status = status;
                }
                if let Some(q) = &e.queue {
                    q.pod_ended(&pod_name, false);
                    self.outbox.queues.insert(uid.clone());
                }
                if e.deleting.is_some() || e.deleted_pods.contains(&pod_name) {
                    self.to_collect.insert(uid.clone());
                }
                self.outbox.pod(uid, &pod_name, true);
                self.dirty_jobs.insert(uid.clone());
            }
        }
        if let Some(r) = self
            .remote
            .as_mut()
            .and_then(|r| r.nodes.get_mut(name.as_ref()))
        {
            r.lost_pods.extend(failed);
        }
    }

    /// Remote node `name` registered again after it was lost: it takes pods again, and is told
    /// to stop those it ran before (failed and replaced meanwhile).
    pub(super) fn found_again(&mut self, name: &Arc<str>) {
        let Some(r) = self
            .remote
            .as_mut()
            .and_then(|r| r.nodes.get_mut(name.as_ref()))
        else {
            return;
        };
        r.lost = false;
        let stale = std::mem::take(&mut r.lost_pods);
        if stale.is_empty() {
            return;
        }
        let stops: Vec<Stop> = stale
            .into_iter()
            .map(|pod_uid| Stop {
                pod_uid,
                cause: StopCause::Deleted(
                    "stopped: its node was lost, and the pod failed and was replaced".into(),
                ),
            })
            .collect();
        if let Some(route) = self.route(Some(name)) {
            route.send(ToNode::Stop(stops));
        }
    }
}
