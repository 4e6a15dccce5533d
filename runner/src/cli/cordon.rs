//! `wasmjob cordon NODE…` and `uncordon NODE…` (or `-l SELECTOR`): as kubectl's, they set a
//! node's `spec.unschedulable`. A cordoned node takes no new pods (they stay Pending with
//! `PodScheduled=False`, reason `Unschedulable`); the pods it runs go on. The controller places
//! waiting pods again once the cordon is lifted. `wasmjob drain NODE` cordons the node, then
//! evicts the pods it runs (each gets `DisruptionTarget`, reason `EvictionByEvictionAPI`; its Job
//! counts and replaces it) and waits until they are gone, as `kubectl drain` does.

use super::Failure;
use crate::ops::delete::{PodDeletion, evict_pod};
use crate::ops::nodes::{Cordon, cordon};
use crate::selector::Selector;
use crate::store::Store;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct CordonArgs {
    /// The nodes (`get nodes` lists them).
    pub nodes: Vec<String>,
    /// The nodes whose labels match a label selector (`k=v,k2!=v2,k3 in (a,b)`), instead of
    /// names.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
}

/// Cordons (`on`) or uncordons the nodes `args` names.
pub fn cordon_nodes(args: CordonArgs, state_dir: &Path, on: bool) -> Result<(), Failure> {
    let verb = if on { "cordon" } else { "uncordon" };
    let mut store = Store::open(state_dir)?;
    let names = match (&args.selector, args.nodes.is_empty()) {
        (Some(_), false) => {
            return Err(Failure::input(format!(
                "error: {verb} takes node names or --selector, not both"
            )));
        }
        (None, true) => {
            return Err(Failure::input(format!(
                "error: USAGE: {verb} NODE [flags] (give a node's name, or --selector)"
            )));
        }
        (None, false) => args.nodes.clone(),
        (Some(text), true) => {
            let selector = Selector::parse(text)
                .map_err(|e| Failure::input(format!("error: --selector {text:?}: {e}")))?;
            let names: Vec<String> = store
                .nodes()?
                .into_iter()
                .filter(|n| selector.matches(&n.metadata.labels))
                .map(|n| n.name().to_string())
                .collect();
            if names.is_empty() {
                println!("No resources found");
            }
            names
        }
    };
    let mut missing = Vec::new();
    for name in names {
        match cordon(&mut store, &name, on)? {
            Cordon::Changed => println!("node/{name} {verb}ed"),
            Cordon::Already => println!("node/{name} already {verb}ed"),
            Cordon::NotFound => missing.push(format!(
                "Error from server (NotFound): nodes {name:?} not found"
            )),
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Failure::runtime(missing.join("\n")))
    }
}

#[derive(Debug, clap::Args)]
pub struct DrainArgs {
    /// The node to drain.
    pub node: String,
    /// Evict pods with `emptyDir` volumes (their data is lost).
    #[arg(long)]
    pub delete_emptydir_data: bool,
    /// Accepted for kubectl's habit: there are no DaemonSets here.
    #[arg(long)]
    pub ignore_daemonsets: bool,
    /// Give up waiting after this long (0: wait as long as it takes).
    #[arg(long, value_parser = super::parse_duration, default_value = "0s", value_name = "DURATION")]
    pub timeout: Duration,
}

/// Cordons `args.node`, evicts the pods it runs, and waits until they are gone.
pub fn drain(args: DrainArgs, state_dir: &Path) -> Result<(), Failure> {
    let node = args.node.as_str();
    let mut store = Store::open(state_dir)?;
    match cordon(&mut store, node, true)? {
        Cordon::Changed => println!("node/{node} cordoned"),
        Cordon::Already => println!("node/{node} already cordoned"),
        Cordon::NotFound => {
            return Err(Failure::runtime(format!(
                "Error from server (NotFound): nodes {node:?} not found"
            )));
        }
    }
    let pods: Vec<_> = store
        .list_pods(None)?
        .into_iter()
        .filter(|p| p.spec.node_name.as_deref() == Some(node) && !p.is_terminal())
        .collect();
    let local: Vec<String> = pods
        .iter()
        .filter(|p| p.spec.volumes.iter().any(|v| v.empty_dir.is_some()))
        .map(|p| format!("{}/{}", p.metadata.namespace(), p.metadata.name()))
        .collect();
    if !local.is_empty() && !args.delete_emptydir_data {
        return Err(Failure::runtime(format!(
            "error: unable to drain node {node:?}: cannot delete Pods with local storage (use --delete-emptydir-data to override): {}",
            local.join(", ")
        )));
    }
    let deadline = (!args.timeout.is_zero()).then(|| Instant::now() + args.timeout);
    let mut unattended = Vec::new();
    for pod in &pods {
        let (ns, name) = (pod.metadata.namespace(), pod.metadata.name());
        println!("evicting pod {ns}/{name}");
        match evict_pod(&mut store, ns, name, true, deadline)? {
            PodDeletion::Deleted | PodDeletion::NotFound => println!("pod/{name} evicted"),
            PodDeletion::Marked => unattended.push(name.to_string()),
        }
    }
    if !unattended.is_empty() {
        return Err(Failure::runtime(format!(
            "error: pods {} are marked for eviction; they go once `wasmjob serve` runs their Jobs (node/{node} stays cordoned)",
            unattended.join(", ")
        )));
    }
    println!("node/{node} drained");
    Ok(())
}
