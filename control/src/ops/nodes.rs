//! Changes users make to Node objects, shared by the CLI and the API: a cordon and its end
//! (`spec.unschedulable`), a change of a node as a whole (an API patch: labels, annotations,
//! spec), and a deletion. Whatever changes a node, its `node.kubernetes.io/unschedulable`
//! taint follows `spec.unschedulable`, as Kubernetes' node lifecycle controller keeps it; the
//! manager notices the change and places waiting pods again.
//! Must not: touch a node's status (its node posts it).

use super::OpError;
use crate::scheduler::TAINT_UNSCHEDULABLE;
use crate::store::Store;
use wasmjob_spec::Time;
use wasmjob_spec::node::{Node, Taint};

/// What a cordon (or its end) found.
#[derive(Debug, PartialEq, Eq)]
pub enum Cordon {
    /// The node was changed.
    Changed,
    /// It already was as asked.
    Already,
    NotFound,
}

/// Sets node `name`'s `spec.unschedulable` to `on` (`cordon`, `uncordon`).
pub fn cordon(store: &mut Store, name: &str, on: bool) -> Result<Cordon, OpError> {
    let outcome = change(store, name, false, |node| {
        let mut node = node.clone();
        node.spec.unschedulable = on;
        Ok::<_, OpError>(node)
    })?;
    Ok(match outcome {
        None => Cordon::NotFound,
        Some((_, false)) => Cordon::Already,
        Some((_, true)) => Cordon::Changed,
    })
}

/// Changes node `name` to what `f` makes of it (its status kept, its cordon taint made to
/// follow `spec.unschedulable`) in one transaction; returns the node as stored and whether it
/// changed (`None`: there is no such node). `f`'s error is returned as it is, nothing written;
/// with `dry_run` nothing is written either, and the answer is what would have been.
pub fn change<E: From<OpError>>(
    store: &mut Store,
    name: &str,
    dry_run: bool,
    f: impl FnOnce(&Node) -> Result<Node, E>,
) -> Result<Option<(Node, bool)>, E> {
    let mut batch = store.batch().map_err(|e| E::from(e.into()))?;
    let Some(old) = batch.node(name).map_err(|e| E::from(e.into()))? else {
        return Ok(None);
    };
    let mut new = f(&old)?;
    new.metadata.resource_version = old.metadata.resource_version.clone();
    new.status = old.status.clone();
    follow_cordon(&mut new, Time(jiff::Timestamp::now()));
    if new == old {
        return Ok(Some((old, false)));
    }
    batch.put_node(&mut new).map_err(|e| E::from(e.into()))?;
    if dry_run {
        new.metadata.resource_version = old.metadata.resource_version.clone();
    } else {
        batch.commit().map_err(|e| E::from(e.into()))?;
    }
    Ok(Some((new, true)))
}

/// Deletes node `name`; returns whether there was one. Its pods are not touched: a node's
/// kubelet that still runs goes on running them, and registers again when it restarts.
pub fn delete(store: &mut Store, name: &str) -> Result<bool, OpError> {
    let mut batch = store.batch()?;
    if batch.node(name)?.is_none() {
        return Ok(false);
    }
    batch.delete_node(name)?;
    batch.commit()?;
    Ok(true)
}

/// Gives a cordoned node the `node.kubernetes.io/unschedulable:NoSchedule` taint (added at
/// `now`) and takes it from one that is not.
pub fn follow_cordon(node: &mut Node, now: Time) {
    let tainted = node
        .spec
        .taints
        .iter()
        .any(|t| t.key == TAINT_UNSCHEDULABLE);
    if node.spec.unschedulable && !tainted {
        node.spec.taints.push(Taint {
            key: TAINT_UNSCHEDULABLE.into(),
            value: None,
            effect: "NoSchedule".into(),
            time_added: Some(now),
        });
    } else if !node.spec.unschedulable && tainted {
        node.spec.taints.retain(|t| t.key != TAINT_UNSCHEDULABLE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cordon_taint_follows_the_cordon() {
        let mut node = Node::default();
        node.spec.unschedulable = true;
        follow_cordon(&mut node, Time::from_millis(5));
        follow_cordon(&mut node, Time::from_millis(9));
        assert_eq!(node.spec.taints.len(), 1);
        let t = &node.spec.taints[0];
        assert_eq!(
            (t.key.as_str(), t.effect.as_str(), t.time_added),
            (
                TAINT_UNSCHEDULABLE,
                "NoSchedule",
                Some(Time::from_millis(5))
            )
        );
        node.spec.unschedulable = false;
        follow_cordon(&mut node, Time::from_millis(9));
        assert!(node.spec.taints.is_empty());
    }
}
