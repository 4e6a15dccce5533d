//! A Job's pods in memory, kept apart by whether a sync must still see them: in flight (not
//! finished, or finished but not counted yet) or settled (finished and counted). A sync walks
//! only the pods in flight, so its cost follows the pods running, not what the Job has done.
//! A settled pod never goes back in flight.

use std::collections::BTreeMap;
use wasmjob_spec::{Pod, TRACKING_FINALIZER};

#[derive(Default)]
pub struct PodSet {
    in_flight: BTreeMap<String, Pod>,
    settled: BTreeMap<String, Pod>,
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

impl PodSet {
    pub fn insert(&mut self, pod: Pod) {
        let name = pod.metadata.name().to_string();
        self.settled.remove(&name);
        if in_flight(&pod) {
            self.in_flight.insert(name, pod);
        } else {
            self.in_flight.remove(&name);
            self.settled.insert(name, pod);
        }
    }

    pub fn get(&self, name: &str) -> Option<&Pod> {
        self.in_flight.get(name).or_else(|| self.settled.get(name))
    }

    /// The pod, to change; call [`PodSet::settle`] after a change that may finish or count it.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Pod> {
        match self.in_flight.get_mut(name) {
            Some(p) => Some(p),
            None => self.settled.get_mut(name),
        }
    }

    /// Moves the pod to the settled ones if it no longer is in flight.
    pub fn settle(&mut self, name: &str) {
        if self.in_flight.get(name).is_some_and(|p| !in_flight(p))
            && let Some(p) = self.in_flight.remove(name)
        {
            self.settled.insert(name.to_string(), p);
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<Pod> {
        self.in_flight
            .remove(name)
            .or_else(|| self.settled.remove(name))
    }

    /// The pods a sync must see, by name.
    pub fn in_flight(&self) -> impl Iterator<Item = &Pod> {
        self.in_flight.values()
    }

    /// Every pod, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Pod> {
        let mut all: Vec<&Pod> = self
            .in_flight
            .values()
            .chain(self.settled.values())
            .collect();
        all.sort_by(|a, b| a.metadata.name().cmp(b.metadata.name()));
        all.into_iter()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Pod> {
        self.in_flight.values_mut().chain(self.settled.values_mut())
    }

    pub fn into_pods(self) -> Vec<Pod> {
        let mut all: Vec<Pod> = self
            .in_flight
            .into_values()
            .chain(self.settled.into_values())
            .collect();
        all.sort_by(|a, b| a.metadata.name().cmp(b.metadata.name()));
        all
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
    fn pods_leave_the_flight_once_finished_and_counted() {
        let mut set = PodSet::default();
        set.insert(pod("b", "Running", true));
        set.insert(pod("a", "Succeeded", true));
        set.insert(pod("c", "Failed", false));
        let names = |it: Vec<&Pod>| {
            it.iter()
                .map(|p| p.metadata.name().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(set.in_flight().collect()), ["a", "b"]);
        // Counted: the finalizer goes, and the pod settles.
        set.get_mut("a").unwrap().metadata.finalizers.clear();
        set.settle("a");
        assert_eq!(names(set.in_flight().collect()), ["b"]);
        // Finished but not counted: still in flight.
        set.get_mut("b").unwrap().status.phase = Some("Succeeded".into());
        set.settle("b");
        assert_eq!(names(set.in_flight().collect()), ["b"]);
        assert_eq!(names(set.iter().collect()), ["a", "b", "c"]);
        assert!(set.get("c").is_some());
        assert_eq!(
            set.remove("a").map(|p| p.metadata.name().to_string()),
            Some("a".into())
        );
        assert_eq!(names(set.iter().collect()), ["b", "c"]);
    }
}
