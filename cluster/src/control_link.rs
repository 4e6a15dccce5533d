//! The control plane's end of cluster mode: what the manager needs to speak to the nodes of
//! other processes ([`RemoteLinks`]) over NATS. Messages from `wasmjob.control.<node>` are read
//! as the seam's messages of that node (a message that is not one is refused, with a line on
//! stderr); orders for a node go to `wasmjob.node.<node>` in payloads that fit the server's
//! limit, and a pod given to a node has its modules named by digest (put in the module store
//! first).
//! Must not: change an order but for naming a pod's modules.

use super::ClusterError;
use super::batches::payloads;
use super::modules::Modules;
use super::subjects;
use futures_util::StreamExt;
use std::sync::Arc;
use tokio::sync::mpsc;
use wasmjob_control::manager::RemoteLinks;
use wasmjob_control::node::{Assignment, FromNode, ToNode, module_path, wire};

/// Subscribes to every node's messages and starts carrying the manager's orders; the links
/// last as long as the client.
pub async fn attach(
    client: async_nats::Client,
    modules: Arc<Modules>,
) -> Result<RemoteLinks, ClusterError> {
    let mut from_nodes = client
        .subscribe(subjects::FROM_ALL_NODES)
        .await
        .map_err(|e| ClusterError::Nats(e.to_string()))?;
    let (messages_tx, messages) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(m) = from_nodes.next().await {
            let Some(node) = subjects::sender(m.subject.as_str()) else {
                continue;
            };
            match wire::decode::<FromNode>(&m.payload) {
                Ok(message) => {
                    if messages_tx.send((node, message)).is_err() {
                        return;
                    }
                }
                Err(e) => eprintln!("wasmjob serve: a message from node {node:?} was refused: {e}"),
            }
        }
    });
    let (orders, mut orders_rx) = mpsc::unbounded_channel::<(String, ToNode)>();
    tokio::spawn(async move {
        while let Some((node, mut order)) = orders_rx.recv().await {
            if let ToNode::Assign(pods) = &mut order {
                for a in pods.iter_mut() {
                    name_modules(&modules, a).await;
                }
            }
            let max = client.server_info().max_payload.max(1024);
            match payloads(order, max) {
                Ok(parts) => {
                    for p in parts {
                        if let Err(e) = client.publish(subjects::to_node(&node), p.into()).await {
                            eprintln!(
                                "wasmjob serve: an order for node {node:?} was not sent: {e}"
                            );
                        }
                    }
                }
                Err(e) => eprintln!("wasmjob serve: an order for node {node:?} was not sent: {e}"),
            }
        }
    });
    Ok(RemoteLinks { orders, messages })
}

/// Names the modules of `a`'s containers by digest (each put in the module store). A module
/// that cannot be read is left unnamed: the node fails that container with a `StartError`.
async fn name_modules(modules: &Modules, a: &mut Assignment) {
    let pod = a.pod.clone();
    for c in pod.spec.init_containers.iter().chain(&pod.spec.containers) {
        let Ok(path) = module_path(&pod.metadata.annotations, c, &a.base_dir) else {
            continue;
        };
        match modules.publish(&path).await {
            Ok(d) => {
                a.modules.insert(c.name.clone(), d);
            }
            Err(e) => eprintln!("wasmjob serve: {e}"),
        }
    }
}
