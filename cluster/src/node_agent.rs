//! A node of another process (`wasmjob node`): the same node that runs inside `serve`, its
//! seam carried over NATS. It registers (its Node object and a new incarnation) at start and
//! again at every heartbeat, takes the orders sent to `wasmjob.node.<name>` — fetching each
//! pod's modules by digest into its cache and running those, and no other — and sends its
//! reports and work-queue calls to `wasmjob.control.<name>`. A pod's last report carries the
//! logs of its runs that are small (up to the inline size), so that the control plane keeps
//! them with the pod, as it keeps its own node's short runs'; it is sent again every
//! [`RESEND`] until the control plane acknowledges it (once its commit is on disk), so a
//! message the broker loses loses nothing. A pod it is sent twice runs once. When it is told to stop, it stops
//! its pods (`DisruptionTarget`, as a kubelet shutting down) and sends their last reports.
//! Must not: keep state the control plane needs (what it runs is the control plane's record).

use super::ClusterError;
use super::batches::payloads;
use super::modules::Modules;
use super::subjects;
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use wasmjob_control::local_node::{Capacity, fresh};
use wasmjob_control::node::{
    FromNode, Node, NodeConfig, RunLog, StatusReport, Stop, StopCause, ToNode, log_path, wire,
};
use wasmjob_control::sandbox::Sandbox;
use wasmjob_spec::{MODULE_ANNOTATION_PREFIX, Time};

/// How long a pod's last report goes unacknowledged before it is sent again.
pub const RESEND: Duration = Duration::from_secs(2);

/// What a node process is.
#[derive(Clone, Debug)]
pub struct Agent {
    pub name: String,
    pub capacity: Capacity,
    /// Labels beyond the kubelet's (`--labels`).
    pub labels: BTreeMap<String, String>,
    /// Its own folder: module cache, logs, pods' scratch space.
    pub dir: PathBuf,
    pub node: NodeConfig,
    /// How often it registers again.
    pub heartbeat: Duration,
}

impl Agent {
    /// Its Node object now; `address` is the one the NATS server sees it connect from (its
    /// `InternalIP`, as a kubelet reports the address other nodes reach it at).
    fn node_object(&self, address: &str) -> wasmjob_spec::node::Node {
        let mut node = fresh(&self.name, &self.capacity, Time(jiff::Timestamp::now()));
        node.metadata.labels.extend(self.labels.clone());
        node.metadata.annotations.insert(
            wasmjob_spec::node::NODE_PROCESS_ANNOTATION.into(),
            "true".into(),
        );
        if !address.is_empty() {
            node.status.addresses.insert(
                0,
                wasmjob_spec::node::NodeAddress {
                    type_: "InternalIP".into(),
                    address: address.to_string(),
                },
            );
        }
        node
    }
}

/// Runs node `agent` over `client` until `shutdown`.
pub async fn run(
    client: async_nats::Client,
    agent: Agent,
    sandbox: Arc<Sandbox>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ClusterError> {
    let modules = Modules::open(&client).await?;
    let cache = agent.dir.join("modules");
    let link = Node::start(sandbox, agent.node.clone());
    let (to_node, mut reports) = (link.orders, link.reports);
    let mut orders = client
        .subscribe(subjects::to_node(&agent.name))
        .await
        .map_err(|e| ClusterError::Nats(e.to_string()))?;
    let incarnation = uuid::Uuid::new_v4().to_string();
    let to_control = subjects::from_node(&agent.name);
    let send = |message: FromNode| {
        let client = client.clone();
        let subject = to_control.clone();
        async move {
            let max = client.server_info().max_payload.max(1024);
            match payloads(message, max) {
                Ok(parts) => {
                    for p in parts {
                        if let Err(e) = client.publish(subject.clone(), p.into()).await {
                            eprintln!("wasmjob node: a message was not sent: {e}");
                        }
                    }
                }
                Err(e) => eprintln!("wasmjob node: a message was not sent: {e}"),
            }
        }
    };
    let register = |pods: Vec<String>| FromNode::Register {
        node: Box::new(agent.node_object(&client.server_info().client_ip)),
        incarnation: incarnation.clone(),
        pods,
    };
    send(register(Vec::new())).await;
    let mut beat = tokio::time::interval(agent.heartbeat);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The pods it runs, by uid.
    let mut running: HashMap<String, Arc<wasmjob_spec::Pod>> = HashMap::new();
    // Last reports not acknowledged yet, by uid (a pod in it is not run again).
    let mut unacked: HashMap<String, StatusReport> = HashMap::new();
    let mut resend = tokio::time::interval(RESEND);
    resend.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let logs_dir = agent.node.logs_dir.clone();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = beat.tick() => {
                let pods = running.keys().chain(unacked.keys()).cloned().collect();
                send(register(pods)).await;
            }
            _ = resend.tick() => {
                if !unacked.is_empty() {
                    send(FromNode::Reports(unacked.values().cloned().collect())).await;
                }
            }
            order = orders.next() => {
                let Some(order) = order else { break };
                match wire::decode::<ToNode>(&order.payload) {
                    Ok(ToNode::Acks(uids)) => {
                        for uid in uids {
                            unacked.remove(&uid);
                        }
                    }
                    Ok(mut order) => {
                        if let ToNode::Assign(pods) = &mut order {
                            // A pod sent again (its first report may be on its way) runs once.
                            pods.retain(|a| {
                                let uid = a.pod.metadata.uid();
                                !running.contains_key(uid) && !unacked.contains_key(uid)
                            });
                            for a in pods.iter_mut() {
                                take_modules(&modules, &cache, &agent.dir, a).await;
                                running.insert(a.pod.metadata.uid().to_string(), a.pod.clone());
                            }
                        }
                        let _ = to_node.send(order);
                    }
                    Err(e) => eprintln!("wasmjob node: an order was refused: {e}"),
                }
            }
            report = reports.recv() => {
                let Some(mut report) = report else { break };
                if let FromNode::Reports(rs) = &mut report {
                    ended(rs, &mut running, &logs_dir);
                    for r in rs.iter().filter(|r| r.finished) {
                        unacked.insert(r.pod_uid.clone(), r.clone());
                    }
                }
                send(report).await;
            }
            _ = &mut shutdown => break,
        }
    }
    // Stops its pods, as a kubelet shutting down, and sends their last reports.
    let stops: Vec<Stop> = running
        .keys()
        .map(|uid| Stop {
            pod_uid: uid.clone(),
            cause: StopCause::Shutdown,
        })
        .collect();
    if !stops.is_empty() {
        let _ = to_node.send(ToNode::Stop(stops));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !running.is_empty() {
        match tokio::time::timeout_at(deadline, reports.recv()).await {
            Ok(Some(mut report)) => {
                if let FromNode::Reports(rs) = &mut report {
                    ended(rs, &mut running, &logs_dir);
                }
                send(report).await;
            }
            _ => break,
        }
    }
    let _ = client.flush().await;
    Ok(())
}

/// Forgets the pods whose reports say they ended, giving each last report the logs of its runs
/// that went to files on this node and are small enough to travel (the files go: the control
/// plane keeps them from now on).
fn ended(
    reports: &mut [StatusReport],
    running: &mut HashMap<String, Arc<wasmjob_spec::Pod>>,
    logs_dir: &std::path::Path,
) {
    for r in reports.iter_mut().filter(|r| r.finished) {
        let Some(pod) = running.remove(&r.pod_uid) else {
            continue;
        };
        let runs = r
            .status
            .init_container_statuses
            .iter()
            .chain(&r.status.container_statuses)
            .flat_map(|c| (0..=c.restart_count).map(move |restart| (c.name.clone(), restart)));
        let mut carried = Vec::new();
        for (container, restart) in runs {
            if r.logs
                .iter()
                .any(|l| l.container == container && l.restart == restart)
            {
                continue;
            }
            let path = log_path(logs_dir, &pod, &container, restart);
            let small = std::fs::metadata(&path)
                .is_ok_and(|m| m.len() <= wasmjob_control::sandbox::log::INLINE_MAX as u64);
            if small && let Ok(bytes) = std::fs::read(&path) {
                carried.push((
                    path,
                    RunLog {
                        container,
                        restart,
                        bytes,
                    },
                ));
            }
        }
        for (path, log) in carried {
            r.logs.push(log);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Points each container of `a` with a named module at its copy in `cache` (fetched and
/// checked by digest); the pod's relative paths resolve in the node's own folder `dir`.
async fn take_modules(
    modules: &Modules,
    cache: &std::path::Path,
    dir: &std::path::Path,
    a: &mut wasmjob_control::node::Assignment,
) {
    a.base_dir = dir.join("work");
    let named = std::mem::take(&mut a.modules);
    for (container, digest) in named {
        let key = format!("{MODULE_ANNOTATION_PREFIX}{container}");
        let path = match modules.fetch(&digest, cache).await {
            Ok(path) => path,
            Err(e) => {
                eprintln!("wasmjob node: {e}");
                // Not run: the container fails to start, naming what is missing.
                cache.join(format!("unavailable-{}.wasm", digest.replace(':', "-")))
            }
        };
        std::sync::Arc::make_mut(&mut a.pod)
            .metadata
            .annotations
            .insert(key, path.display().to_string());
    }
}
