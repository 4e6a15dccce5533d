//! `wasmjob node --nats URL`: a node of another process for a `serve --nats` control plane —
//! the same node that runs inside `serve`, its seam over NATS (see `wasmjob_cluster`). It needs
//! none of the controller's state: its own folder (`<state-dir>/nodes/<name>`) holds its module
//! cache, the logs of its runs and its pods' scratch space. The NATS options (`--nats-user`,
//! `--nats-password`, `--nats-token`, `--nats-creds`, `--nats-ca`) are shared with `serve`,
//! each also read from the environment variable the `nats` tool reads. SIGINT/SIGTERM stops
//! its pods (their Jobs replace them) and exits 0.

use super::Failure;
use super::controller::shutdown_signal;
use crate::local_node::Capacity;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use wasmjob_cluster::connect::NatsOptions;

/// How to reach NATS, for `serve --nats` and `node`.
#[derive(Debug, Clone, clap::Args)]
pub struct NatsAuth {
    /// A NATS user (with --nats-password).
    #[arg(long, env = "NATS_USER", value_name = "USER")]
    pub nats_user: Option<String>,
    /// The NATS user's password.
    #[arg(
        long,
        env = "NATS_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub nats_password: Option<String>,
    /// A NATS token.
    #[arg(long, env = "NATS_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub nats_token: Option<String>,
    /// A NATS credentials file (`.creds`: a user JWT and its NKey seed).
    #[arg(long, env = "NATS_CREDS", value_name = "FILE")]
    pub nats_creds: Option<PathBuf>,
    /// Certificate authorities (PEM) to trust for TLS to NATS (implies TLS).
    #[arg(long, env = "NATS_CA", value_name = "FILE")]
    pub nats_ca: Option<PathBuf>,
}

impl NatsAuth {
    pub fn options(&self, url: &str, name: String) -> NatsOptions {
        NatsOptions {
            url: url.to_string(),
            user: self.nats_user.clone(),
            password: self.nats_password.clone(),
            token: self.nats_token.clone(),
            creds: self.nats_creds.clone(),
            ca: self.nats_ca.clone(),
            name,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// The NATS servers of the control plane (`nats://host:4222`, `tls://…`, several separated
    /// by commas).
    #[arg(long, env = "NATS_URL", value_name = "URL")]
    pub nats: String,
    #[command(flatten)]
    pub auth: NatsAuth,
    /// The node's settings (`--node-name` names it; default: the host's name).
    #[command(flatten)]
    pub settings: crate::settings::Settings,
    /// Labels of the node beyond the kubelet's (`k=v,k2=v2`), for pods' nodeSelector.
    #[arg(long, value_name = "K=V,…", value_parser = parse_labels)]
    pub labels: Option<BTreeMap<String, String>>,
    /// How often the node registers again (its heartbeat).
    #[arg(long, value_parser = super::parse_duration, default_value = "10s", value_name = "DURATION")]
    pub heartbeat: Duration,
}

/// `k=v,k2=v2`, each key a qualified name and each value a label value.
fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for pair in text.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("{pair:?} is not key=value"))?;
        let mut node = wasmjob_spec::node::Node::default();
        node.metadata.labels.insert(k.to_string(), v.to_string());
        if let Some(e) = wasmjob_spec::validate::validate_node(&node).first() {
            return Err(format!("{pair:?}: {e}"));
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

pub fn node(args: NodeArgs, state_dir: &Path) -> Result<u8, Failure> {
    let name = args
        .settings
        .node_name
        .clone()
        .unwrap_or_else(crate::local_node::host_name);
    // Absolute: the pods' module paths are in it, and they resolve from any folder.
    let dir = std::path::absolute(state_dir.join("nodes").join(&name))?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::runtime(format!("error: {}: {e}", dir.display())))?;
    let runtime = super::runtime()?;
    runtime.block_on(async move {
        let s = &args.settings;
        let sandbox = Arc::new(super::sandbox(&dir, s.max_pods)?);
        if let Some(max) = s.guest_memory {
            sandbox.guest_memory().set_max(max);
        }
        let mut config = crate::node::NodeConfig::new(dir.join("logs"), dir.join("pods"));
        config.max_pods = s.max_pods;
        config.log_limit = s.log_limit;
        config.memory_budget = s.memory_budget;
        config.restart_backoff_base = s.backoff_base;
        config.restart_backoff_max = s.backoff_max / 2;
        let agent = wasmjob_cluster::node_agent::Agent {
            name: name.clone(),
            capacity: Capacity {
                max_pods: s.max_pods,
                guest_memory: sandbox.guest_memory().max(),
                memory_budget: s.memory_budget,
            },
            labels: args.labels.clone().unwrap_or_default(),
            dir: dir.clone(),
            node: config,
            heartbeat: args.heartbeat,
        };
        let options = args
            .auth
            .options(&args.nats, format!("wasmjob node {name}"));
        let client = wasmjob_cluster::connect::connect(&options)
            .await
            .map_err(|e| Failure::runtime(format!("error: {e}")))?;
        eprintln!(
            "wasmjob node: {name} joined {} (pid {}); Ctrl-C or SIGTERM stops it",
            wasmjob_cluster::connect::redacted(&args.nats),
            std::process::id()
        );
        wasmjob_cluster::node_agent::run(client, agent, sandbox, shutdown_signal())
            .await
            .map_err(|e| Failure::runtime(format!("error: {e}")))?;
        eprintln!("wasmjob node: stopped; its pods were stopped and their Jobs replace them");
        Ok(0)
    })
}
