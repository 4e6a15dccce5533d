//! The scheduler's choice of a node for a pod, as kube-scheduler's default filters make it:
//! a cordoned node (`spec.unschedulable`) is left out unless the pod tolerates
//! `node.kubernetes.io/unschedulable:NoSchedule` (`NodeUnschedulable`), a node with a
//! `NoSchedule` or `NoExecute` taint the pod does not tolerate is left out (`TaintToleration`),
//! and so is a node without every label of the pod's `nodeSelector` (`NodeAffinity`). Of the
//! nodes left, the one with the fewest pods bound to it is chosen (ties: by name), so pods
//! spread. When none is left, the answer is kube-scheduler's message, which names how many
//! nodes each filter left out.
//!
//! Must not: read or write the store, or bind anything (the manager does, with what this
//! returns); capacity (`--max-pods`, `--memory-budget`) is the node's admission.

use std::collections::BTreeMap;
use wasmjob_spec::PodSpec;
use wasmjob_spec::Toleration;
use wasmjob_spec::node::{Node, Taint};

/// The taint a cordoned node is treated as having (`NodeUnschedulable` filter).
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// A node the pod may go to, with the number of pods bound to it now.
pub struct Candidate<'a> {
    pub node: &'a Node,
    pub pods: usize,
}

/// Why a pod fits no node: kube-scheduler's message (the `PodScheduled` condition's and the
/// `FailedScheduling` event's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unschedulable(pub String);

/// The name of the node `pod` goes to, or why it fits none.
pub fn place<'a>(pod: &PodSpec, nodes: &[Candidate<'a>]) -> Result<&'a str, Unschedulable> {
    if nodes.is_empty() {
        return Err(Unschedulable("no nodes available to schedule pods".into()));
    }
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut best: Option<&Candidate<'a>> = None;
    for c in nodes {
        match filter(pod, c.node) {
            Some(reason) => *reasons.entry(reason).or_default() += 1,
            None => {
                let better = best.is_none_or(|b| (c.pods, c.node.name()) < (b.pods, b.node.name()));
                if better {
                    best = Some(c);
                }
            }
        }
    }
    if let Some(b) = best {
        return Ok(b.node.name());
    }
    let n = nodes.len();
    let mut histogram: Vec<String> = reasons.iter().map(|(r, k)| format!("{k} {r}")).collect();
    histogram.sort();
    Err(Unschedulable(format!(
        "0/{n} nodes are available: {}. preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling.",
        histogram.join(", ")
    )))
}

/// Why `node` is left out for `pod` (the first filter that leaves it out), if it is.
fn filter(pod: &PodSpec, node: &Node) -> Option<String> {
    let tolerations = pod.tolerations.as_deref().unwrap_or(&[]);
    if node.spec.unschedulable {
        let cordon = Taint {
            key: TAINT_UNSCHEDULABLE.into(),
            value: None,
            effect: "NoSchedule".into(),
            time_added: None,
        };
        if !tolerations.iter().any(|t| tolerates(t, &cordon)) {
            return Some("node(s) were unschedulable".into());
        }
    }
    let untolerated = node.spec.taints.iter().find(|taint| {
        matches!(taint.effect.as_str(), "NoSchedule" | "NoExecute")
            && !tolerations.iter().any(|t| tolerates(t, taint))
    });
    if let Some(taint) = untolerated {
        return Some(format!(
            "node(s) had untolerated taint {{{}: {}}}",
            taint.key,
            taint.value.as_deref().unwrap_or("")
        ));
    }
    let selected = pod
        .node_selector
        .iter()
        .flatten()
        .all(|(k, v)| node.metadata.labels.get(k) == Some(v));
    if !selected {
        return Some("node(s) didn't match Pod's node affinity/selector".into());
    }
    None
}

/// Whether toleration `t` tolerates `taint` (`Toleration.ToleratesTaint`).
fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    let effect = t.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = t.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match t.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" | "" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, labels: &[(&str, &str)]) -> Node {
        let mut n = Node::default();
        n.metadata.name = Some(name.into());
        n.metadata.labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        n
    }

    fn taint(key: &str, value: Option<&str>, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: value.map(Into::into),
            effect: effect.into(),
            time_added: None,
        }
    }

    fn toleration(key: &str, operator: &str, value: &str, effect: &str) -> Toleration {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Toleration {
            key: some(key),
            operator: some(operator),
            value: some(value),
            effect: some(effect),
            toleration_seconds: None,
        }
    }

    fn spec(selector: &[(&str, &str)], tolerations: Vec<Toleration>) -> PodSpec {
        PodSpec {
            node_selector: (!selector.is_empty()).then(|| {
                selector
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }),
            tolerations: (!tolerations.is_empty()).then_some(tolerations),
            ..Default::default()
        }
    }

    fn on(nodes: &[(&Node, usize)], pod: &PodSpec) -> Result<String, String> {
        let c: Vec<Candidate> = nodes
            .iter()
            .map(|(node, pods)| Candidate { node, pods: *pods })
            .collect();
        place(pod, &c).map(str::to_string).map_err(|u| u.0)
    }

    #[test]
    fn no_node_at_all_is_said_as_kube_scheduler_says_it() {
        assert_eq!(
            on(&[], &PodSpec::default()).unwrap_err(),
            "no nodes available to schedule pods"
        );
    }

    #[test]
    fn pods_spread_to_the_node_with_fewest_pods_and_ties_go_by_name() {
        let (a, b) = (node("a", &[]), node("b", &[]));
        let pod = PodSpec::default();
        assert_eq!(on(&[(&a, 3), (&b, 2)], &pod).unwrap(), "b");
        assert_eq!(on(&[(&b, 2), (&a, 2)], &pod).unwrap(), "a");
    }

    #[test]
    fn a_cordoned_node_takes_only_pods_that_tolerate_the_cordon() {
        let mut a = node("a", &[]);
        a.spec.unschedulable = true;
        assert_eq!(
            on(&[(&a, 0)], &PodSpec::default()).unwrap_err(),
            "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are \
             available: 1 Preemption is not helpful for scheduling."
        );
        let tolerant = spec(&[], vec![toleration(TAINT_UNSCHEDULABLE, "Exists", "", "")]);
        assert_eq!(on(&[(&a, 0)], &tolerant).unwrap(), "a");
    }

    #[test]
    fn the_node_selector_needs_every_label() {
        let a = node("a", &[("disk", "ssd"), ("zone", "1")]);
        let b = node("b", &[("disk", "ssd")]);
        let pod = spec(&[("disk", "ssd"), ("zone", "1")], vec![]);
        assert_eq!(on(&[(&a, 9), (&b, 0)], &pod).unwrap(), "a");
        let pod = spec(&[("zone", "2")], vec![]);
        assert_eq!(
            on(&[(&a, 0), (&b, 0)], &pod).unwrap_err(),
            "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. \
             preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn taints_keep_pods_off_unless_tolerated_and_reasons_are_counted_and_sorted() {
        let mut a = node("a", &[]);
        a.spec.taints = vec![taint("node.kubernetes.io/unreachable", None, "NoSchedule")];
        let mut b = node("b", &[]);
        b.spec.taints = vec![taint("dedicated", Some("batch"), "NoExecute")];
        let mut c = node("c", &[]);
        c.spec.unschedulable = true;
        let mut d = node("d", &[]);
        d.spec.taints = vec![taint("soft", None, "PreferNoSchedule")];
        let pod = spec(&[("x", "y")], vec![]);
        assert_eq!(
            on(&[(&a, 0), (&b, 0), (&c, 0), (&d, 0)], &pod).unwrap_err(),
            "0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 \
             node(s) had untolerated taint {dedicated: batch}, 1 node(s) had untolerated taint \
             {node.kubernetes.io/unreachable: }, 1 node(s) were unschedulable. preemption: 0/4 \
             nodes are available: 4 Preemption is not helpful for scheduling."
        );
        // PreferNoSchedule never keeps a pod off.
        assert_eq!(on(&[(&d, 5)], &PodSpec::default()).unwrap(), "d");
        // Tolerations match by key, value and effect.
        let equal = spec(
            &[],
            vec![toleration("dedicated", "Equal", "batch", "NoExecute")],
        );
        assert_eq!(on(&[(&b, 0)], &equal).unwrap(), "b");
        let other_value = spec(&[], vec![toleration("dedicated", "", "web", "")]);
        assert!(on(&[(&b, 0)], &other_value).is_err());
        let other_effect = spec(
            &[],
            vec![toleration("dedicated", "Exists", "", "NoSchedule")],
        );
        assert!(on(&[(&b, 0)], &other_effect).is_err());
        let everything = spec(&[], vec![toleration("", "Exists", "", "")]);
        assert_eq!(on(&[(&a, 1), (&b, 0)], &everything).unwrap(), "b");
    }
}
