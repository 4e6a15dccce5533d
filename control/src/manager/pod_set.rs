//! A Job's pods in memory: only those a sync must still see — not finished, or finished but not
//! counted yet — by name, and a hash of the name of every pod the Job ever had, so a new pod's
//! name is never one its namespace holds. A pod that is finished and counted (settled) leaves
//! memory when its last state is handed to the store's writer: memory follows the pods in
//! flight, not the size of the Job, and a sync walks only them. A pod is shared with the
//! node it was assigned to (not copied for it); a change here while the node still holds it
//! copies it then.

use foldhash::HashSet;
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmjob_spec::{Pod, TRACKING_FINALIZER};

#[derive(Default)]
pub struct PodSet {
    pods: BTreeMap<String, Arc<Pod>>,
    /// Hashes of every name the Job's pods had: a collision only makes a new pod draw another
    /// name.
    names: HashSet<u64>,
    /// Pods in memory that are not what their template makes (an older store's, orphans):
    /// stored whole, not compactly.
    unmade: HashSet<String>,
}

/// Whether a sync must still see the pod: it has not finished, or it has not been counted.
pub fn in_flight(pod: &Pod) -> bool {
    !pod.is_terminal()
        || pod
            .metadata
            .finalizers
            .iter()
            .any(|f| f == TRACKING_FINALIZER)
}

fn name_hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one(name)
}

impl PodSet {
    /// Keeps the pod (its name is the Job's from now on); `made`: it is what the Job's
    /// template makes, changed only in the ways the controller and the node change pods.
    pub fn insert(&mut self, pod: Pod, made: bool) {
        let name = pod.metadata.name().to_string();
        self.names.insert(name_hash(&name));
        if made {
            if !self.unmade.is_empty() {
                self.unmade.remove(&name);
            }
        } else {
            self.unmade.insert(name.clone());
        }
        self.pods.insert(name, Arc::new(pod));
    }

    /// Whether the pod is what its template makes (see [`PodSet::insert`]).
    pub fn made(&self, name: &str) -> bool {
        !self.unmade.contains(name)
    }

    /// Marks the pod as no longer what its template makes (its owner went).
    pub fn unmake(&mut self, name: &str) {
        self.unmade.insert(name.to_string());
    }

    /// Records a name of one of the Job's pods that is not in memory (a settled one).
    pub fn add_name(&mut self, name: &str) {
        self.names.insert(name_hash(name));
    }

    /// Whether one of the Job's pods may have had this name.
    pub fn has_name(&self, name: &str) -> bool {
        self.names.contains(&name_hash(name))
    }

    pub fn get(&self, name: &str) -> Option<&Pod> {
        self.pods.get(name).map(|p| &**p)
    }

    /// The pod as it is, shared (for a node to run).
    pub fn shared(&self, name: &str) -> Option<Arc<Pod>> {
        self.pods.get(name).cloned()
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Pod> {
        self.pods.get_mut(name).map(Arc::make_mut)
    }

    pub fn remove(&mut self, name: &str) -> Option<Box<Pod>> {
        self.unmade.remove(name);
        self.pods
            .remove(name)
            .map(|p| Box::new(Arc::try_unwrap(p).unwrap_or_else(|p| (*p).clone())))
    }

    /// The pod, out of memory, when it is settled (finished and counted).
    pub fn take_settled(&mut self, name: &str) -> Option<Box<Pod>> {
        if self.pods.get(name).is_some_and(|p| !in_flight(p)) {
            self.remove(name)
        } else {
            None
        }
    }

    /// The pods in memory, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Pod> {
        self.pods.values().map(|p| &**p)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Pod> {
        self.pods.values_mut().map(Arc::make_mut)
    }

    /// The names of the pods in memory.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.pods.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, phase: &str, finalizer: bool) -> Pod {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        p.status.phase = Some(phase.into());
        if finalizer {
            p.metadata.finalizers.push(TRACKING_FINALIZER.into());
        }
        p
    }

    #[test]
    fn settled_pods_leave_and_their_names_stay_taken() {
        let mut set = PodSet::default();
        set.insert(pod("b", "Running", true), true);
        set.insert(pod("a", "Succeeded", true), false);
        assert!(set.made("b") && !set.made("a"));
        set.add_name("old");
        let names = |s: &PodSet| {
            s.iter()
                .map(|p| p.metadata.name().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&set), ["a", "b"]);
        // Finished but not counted: still in flight.
        assert!(set.take_settled("a").is_none());
        // Counted: the finalizer goes, and the pod may leave.
        set.get_mut("a").unwrap().metadata.finalizers.clear();
        assert_eq!(
            set.take_settled("a").map(|p| p.metadata.name().to_string()),
            Some("a".into())
        );
        assert!(set.take_settled("b").is_none(), "running");
        assert!(set.made("a"), "forgotten with the pod");
        assert_eq!(names(&set), ["b"]);
        for taken in ["a", "b", "old"] {
            assert!(set.has_name(taken), "{taken}");
        }
        assert!(!set.has_name("c"));
    }
}
