//! `wasmjob cordon NODE…` and `uncordon NODE…` (or `-l SELECTOR`): as kubectl's, they set a
//! node's `spec.unschedulable`. A cordoned node takes no new pods (they stay Pending with
//! `PodScheduled=False`, reason `Unschedulable`); the pods it runs go on. The controller places
//! waiting pods again once the cordon is lifted.

use super::Failure;
use crate::ops::nodes::{Cordon, cordon};
use crate::selector::Selector;
use crate::store::Store;
use std::path::Path;

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
