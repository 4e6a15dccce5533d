//! A Job's pods in memory: only those a sync must still see — not finished, or finished but not
//! counted yet — by name, and a hash of the name of every pod the Job ever had, so a new pod's
//! name is never one its namespace holds. A pod that is finished and counted (settled) leaves
//! memory when its last state is handed to the store's writer: memory follows the pods in
//! flight, not the size of the Job, and a sync walks only them.

use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use wasmjob_spec::{Pod, TRACKING_FINALIZER};

#[derive(Default)]
pub struct PodSet {
    pods: BTreeMap<String, Pod>,
    /// Hashes of every name the Job's pods had: a collision only makes a new pod draw another
    /// name.
    names: HashSet<u64>,
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
    let mut h = std::hash::DefaultHasher::new();
    name.hash(&mut h);
    h.finish()
}

impl PodSet {
    /// Keeps the pod (its name is the Job's from now on).
    pub fn insert(&mut self, pod: Pod) {
        self.names.insert(name_hash(pod.metadata.name()));
        self.pods.insert(pod.metadata.name().to_string(), pod);
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
        self.pods.get(name)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Pod> {
        self.pods.get_mut(name)
    }

    pub fn remove(&mut self, name: &str) -> Option<Pod> {
        self.pods.remove(name)
    }

    /// The pod, out of memory, when it is settled (finished and counted).
    pub fn take_settled(&mut self, name: &str) -> Option<Pod> {
        if self.pods.get(name).is_some_and(|p| !in_flight(p)) {
            self.pods.remove(name)
        } else {
            None
        }
    }

    /// The pods in memory, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Pod> {
        self.pods.values()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Pod> {
        self.pods.values_mut()
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
        set.insert(pod("b", "Running", true));
        set.insert(pod("a", "Succeeded", true));
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
        assert_eq!(names(&set), ["b"]);
        for taken in ["a", "b", "old"] {
            assert!(set.has_name(taken), "{taken}");
        }
        assert!(!set.has_name("c"));
    }
}
