//! Which node an order goes to. The node inside this process has its own link (the
//! `NodeLink` the manager was made with); the nodes of other processes (cluster mode) share
//! one transport ([`RemoteLinks`]) that names the node of each message both ways. Pods are
//! routed by the node they are bound to, stops by the node running them, queue answers to
//! the node that called. A node of another process makes itself known with
//! `FromNode::Register` (again at every heartbeat); it is a candidate for pods from then on.
//! Must not: decide where pods go (the scheduler does) or keep pods' state.

use super::{Manager, OnNode};
use crate::node::{Assignment, FromNode, QueueReply, Stop, StopCause, ToNode};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use wasmjob_spec::node::Node;

/// How long a message to a remote node goes unanswered before it is sent again.
pub(super) const RESEND: Duration = Duration::from_secs(3);

/// The nodes of other processes, as a transport carries their messages: orders go out named
/// by their node, messages come in named by theirs.
pub struct RemoteLinks {
    pub orders: mpsc::UnboundedSender<(String, ToNode)>,
    pub messages: mpsc::UnboundedReceiver<(String, FromNode)>,
}

/// The remote nodes this manager has heard from, with their transport.
pub(super) struct Remote {
    pub(super) orders: mpsc::UnboundedSender<(String, ToNode)>,
    pub(super) messages: mpsc::UnboundedReceiver<(String, FromNode)>,
    /// By name: the node as last read from the store, and when it last registered.
    pub(super) nodes: BTreeMap<String, RemoteNode>,
}

pub(super) struct RemoteNode {
    /// Its process's incarnation (new at every start); `None` until it registers with this
    /// manager (a node whose pods were taken over from a store), and it takes no pods before.
    pub(super) incarnation: Option<String>,
    pub(super) seen: Instant,
    pub(super) name: Arc<str>,
    /// As stored (users change its spec and labels): as it registered until its registration
    /// is read back; `None` once a user deleted it.
    pub(super) view: Option<Node>,
    /// Whether the store has shown it (a node missing from the store before that is one whose
    /// registration is not committed yet, not a deleted one).
    pub(super) stored: bool,
    /// Silent past the grace period (see `lost_nodes`): it takes no pods.
    pub(super) lost: bool,
    /// The pods it ran that were failed as lost, to stop if it comes back.
    pub(super) lost_pods: Vec<String>,
}

/// Where orders for one node go.
#[derive(Clone)]
pub(super) enum Route {
    Local(mpsc::UnboundedSender<ToNode>),
    Remote(Arc<str>, mpsc::UnboundedSender<(String, ToNode)>),
}

impl Route {
    pub(super) fn send(&self, message: ToNode) {
        match self {
            Route::Local(orders) => {
                let _ = orders.send(message);
            }
            Route::Remote(node, orders) => {
                let _ = orders.send((node.to_string(), message));
            }
        }
    }
}

impl Manager {
    /// Connects the nodes of other processes (`serve --nats`).
    pub fn attach_remote(&mut self, links: RemoteLinks) {
        self.remote = Some(Remote {
            orders: links.orders,
            messages: links.messages,
            nodes: BTreeMap::new(),
        });
    }

    /// The route to node `remote` (`None`: the node inside this process).
    pub(super) fn route(&self, remote: Option<&Arc<str>>) -> Option<Route> {
        match remote {
            None => Some(Route::Local(self.orders.clone())),
            Some(node) => self
                .remote
                .as_ref()
                .map(|r| Route::Remote(node.clone(), r.orders.clone())),
        }
    }

    /// The remote node named `name`, if it registered (its shared name).
    pub(super) fn remote_name(&self, name: &str) -> Option<Arc<str>> {
        self.remote
            .as_ref()
            .and_then(|r| r.nodes.get(name))
            .map(|n| n.name.clone())
    }

    /// Sends each node its batch of stops (by pod uid); a remote pod's stop is sent again
    /// until the pod ends (see `resend`).
    pub(super) fn stop_pods(&mut self, stops: impl IntoIterator<Item = (OnNode, StopCause)>) {
        let mut by_node: BTreeMap<Option<Arc<str>>, Vec<Stop>> = BTreeMap::new();
        for (on, cause) in stops {
            if on.remote.is_some() {
                self.stopping
                    .insert(on.uid.clone(), (on.clone(), cause.clone(), Instant::now()));
            }
            by_node.entry(on.remote).or_default().push(Stop {
                pod_uid: on.uid,
                cause,
            });
        }
        for (node, stops) in by_node {
            if let Some(route) = self.route(node.as_ref()) {
                route.send(ToNode::Stop(stops));
            }
        }
    }

    /// Sends each node its batch of pods to run (by the node each is bound to).
    pub(super) fn assign(&self, pods: Vec<(Option<Arc<str>>, Assignment)>) {
        let mut by_node: BTreeMap<Option<Arc<str>>, Vec<Assignment>> = BTreeMap::new();
        for (node, a) in pods {
            by_node.entry(node).or_default().push(a);
        }
        for (node, pods) in by_node {
            if let Some(route) = self.route(node.as_ref()) {
                route.send(ToNode::Assign(pods));
            }
        }
    }

    /// Sends each node the answers to its queue calls gathered since the last time, in one
    /// message.
    pub(super) fn send_answers(&mut self) {
        if self.answers.is_empty() {
            return;
        }
        let mut by_node: BTreeMap<Option<Arc<str>>, Vec<QueueReply>> = BTreeMap::new();
        for (node, reply) in std::mem::take(&mut self.answers) {
            by_node.entry(node).or_default().push(reply);
        }
        for (node, replies) in by_node {
            if let Some(route) = self.route(node.as_ref()) {
                route.send(ToNode::Answers(replies));
            }
        }
    }

    /// A node of another process registered (or renewed its registration): it is stored (as
    /// the node sent it, with what users set on it kept) and takes pods at once. Pods it ran
    /// are lost if it comes as another incarnation, or if it does not list them (`pods`: what
    /// it runs) though it was heard running them.
    pub(super) fn register_remote(
        &mut self,
        name: &str,
        node: Node,
        incarnation: String,
        pods: Vec<String>,
    ) {
        if node.name() != name || self.remote.is_none() {
            // A node speaks for itself only.
            return;
        }
        let mut view = node.clone();
        if let Ok(Some(stored)) = self.store.node(name) {
            crate::local_node::merge_kept(&stored, &mut view);
        }
        let Some(remote) = &mut self.remote else {
            return;
        };
        let new = !remote.nodes.contains_key(name);
        let entry = remote
            .nodes
            .entry(name.to_string())
            .or_insert_with(|| RemoteNode {
                incarnation: None,
                seen: Instant::now(),
                name: Arc::from(name),
                view: None,
                stored: false,
                lost: false,
                lost_pods: Vec::new(),
            });
        // Another incarnation: the node's process restarted, and the pods it ran are gone.
        let restarted = entry
            .incarnation
            .as_ref()
            .is_some_and(|known| *known != incarnation);
        let was_lost = entry.lost;
        let shared = entry.name.clone();
        entry.incarnation = Some(incarnation);
        entry.seen = Instant::now();
        entry.view = Some(view);
        if restarted {
            self.fail_pods_on(&shared, |_| true);
            // The new process has none of them to stop.
            if let Some(r) = self.remote.as_mut().and_then(|r| r.nodes.get_mut(name)) {
                r.lost_pods.clear();
            }
        } else if !new {
            // Heard running here, and not listed: gone (a pod sent but not heard of yet may
            // still be on its way, and is sent again until it is).
            let listed: std::collections::HashSet<String> = pods.into_iter().collect();
            self.fail_pods_on(&shared, |on| on.sent.is_none() && !listed.contains(&on.uid));
        }
        if was_lost {
            self.found_again(&shared);
        }
        self.outbox.other.push(Box::new(move |b| {
            crate::local_node::register(b, node, true).map(|_| ())
        }));
        if new || was_lost {
            self.reschedule();
        }
    }

    /// Sends again what a broker may have lost: the assignment of a remote pod not heard from
    /// for [`RESEND`] (the node runs a pod once, whatever it is sent), and the stop of a remote
    /// pod that has not ended for as long. Nodes that are lost are left out (their pods fail).
    pub(super) fn resend(&mut self) {
        let Some(remote) = &self.remote else {
            return;
        };
        let now = Instant::now();
        let lost = |node: &Arc<str>| remote.nodes.get(node.as_ref()).is_none_or(|n| n.lost);
        let mut again: Vec<(String, String, Arc<str>)> = Vec::new();
        for (uid, e) in &self.jobs {
            for (name, on) in &e.running {
                if let (Some(node), Some(sent)) = (&on.remote, on.sent)
                    && now.duration_since(sent) > RESEND
                    && !lost(node)
                {
                    again.push((uid.clone(), name.clone(), node.clone()));
                }
            }
        }
        let mut stops: Vec<(OnNode, StopCause)> = Vec::new();
        self.stopping.retain(|_, (on, cause, at)| {
            let Some(node) = &on.remote else {
                return false;
            };
            if lost(node) {
                return false;
            }
            if now.duration_since(*at) > RESEND {
                stops.push((on.clone(), cause.clone()));
            }
            true
        });
        let mut assignments = Vec::new();
        for (uid, name, node) in again {
            if let Some(e) = self.jobs.get_mut(&uid)
                && let Some(pod) = e.pods.shared(&name)
            {
                let a = Manager::assignment(e, &uid, pod, Some(node.clone()));
                assignments.push((Some(node), a));
            }
        }
        self.assign(assignments);
        self.stop_pods(stops);
    }

    /// The remote node `pod` was running on, when this manager speaks to remote nodes (the
    /// node is known from then on, waiting for its registration; see `Manager::adopt`).
    pub(super) fn follow_remote(&mut self, pod: &wasmjob_spec::Pod) -> Option<Arc<str>> {
        let node = pod.spec.node_name.as_deref()?;
        let local = self.local_node.as_ref().map(|n| n.name.as_str());
        if Some(node) == local || pod.metadata.deletion_timestamp.is_some() {
            return None;
        }
        let remote = self.remote.as_mut()?;
        let entry = remote
            .nodes
            .entry(node.to_string())
            .or_insert_with(|| RemoteNode {
                incarnation: None,
                seen: Instant::now(),
                name: Arc::from(node),
                view: None,
                stored: false,
                lost: false,
                lost_pods: Vec::new(),
            });
        Some(entry.name.clone())
    }

    /// The next message of a remote node (never, without remote nodes).
    pub(super) async fn next_remote(remote: &mut Option<Remote>) -> Option<(String, FromNode)> {
        match remote {
            Some(r) => r.messages.recv().await,
            None => std::future::pending().await,
        }
    }
}
