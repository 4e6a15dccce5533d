//! The runtime knobs of a controller and its node — back-off, pods at once, memory budgets,
//! log size — in one struct for `run`, `serve` and [`crate::embed`]. The defaults are written
//! once, in the flags' attributes (Kubernetes' values where Kubernetes has one), and
//! [`Settings::default`] reads them from there. Owns building a manager over a node from them;
//! holds no Job semantics.

use crate::controller::ControllerConfig;
use crate::manager::{Manager, ManagerError, Scope, SystemClock};
use crate::node::{Node, NodeConfig};
use crate::sandbox::Sandbox;
use crate::store::{StateDir, Store};
use clap::Parser;
use std::sync::Arc;
use std::time::Duration;

/// The controller's and node's settings; the defaults are Kubernetes'.
#[derive(Clone, Debug, PartialEq, clap::Args)]
pub struct Settings {
    /// First delay before re-creating pods after a failure (doubles per failure). Also paces
    /// OnFailure container restarts. Kubernetes: 10s.
    #[arg(long, value_parser = parse_duration, default_value = "10s", value_name = "DURATION")]
    pub backoff_base: Duration,

    /// Cap of the re-creation delay (OnFailure restarts are capped at half of it). Kubernetes'
    /// controller: 10m.
    #[arg(long, value_parser = parse_duration, default_value = "10m", value_name = "DURATION")]
    pub backoff_max: Duration,

    /// Most pods running at once; further pods wait as Pending.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_pods: usize,

    /// Guest memory the pods' memory limits may reserve at once (e.g. `4Gi`); pods that do
    /// not fit wait as Pending, and one that could never fit stays Unschedulable.
    #[arg(long, value_parser = parse_memory, value_name = "QUANTITY")]
    pub memory_budget: Option<u64>,

    /// Linear memory all running guests may hold together (e.g. `16Gi`); a guest whose growth
    /// would pass it is OOMKilled, so guests without memory limits cannot take the host's
    /// memory. Default: the machine's memory less 1 GiB.
    #[arg(long, value_parser = parse_memory, value_name = "QUANTITY")]
    pub guest_memory: Option<u64>,

    /// The name of the node inside this process (`wasmjob get nodes`), which its pods run on;
    /// default: the host's name, as a kubelet names its node.
    #[arg(long, value_name = "NAME", value_parser = parse_node_name)]
    pub node_name: Option<String>,

    /// Bytes of output kept per container run; past it the log is truncated with a marker.
    #[arg(long, default_value_t = 10 << 20, value_name = "BYTES")]
    pub log_limit: u64,
}

/// The settings alone on a command line, to read their defaults from.
#[derive(Parser)]
struct Defaults {
    #[command(flatten)]
    settings: Settings,
}

impl Default for Settings {
    /// What `run` and `serve` take without flags.
    fn default() -> Settings {
        Defaults::try_parse_from(["wasmjob"])
            .map(|d| d.settings)
            .expect("the settings' default values parse (tested)")
    }
}

impl Settings {
    /// A manager over a fresh node with these settings (it starts the store's writer).
    pub fn manager(
        &self,
        store: Store,
        sandbox: Arc<Sandbox>,
        owner: &str,
        scope: Scope,
    ) -> Result<Manager, ManagerError> {
        if let Some(max) = self.guest_memory {
            sandbox.guest_memory().set_max(max);
        }
        let dir = StateDir::new(store.dir());
        let mut node_config = NodeConfig::new(dir.logs(), dir.pods());
        node_config.max_pods = self.max_pods;
        node_config.log_limit = self.log_limit;
        node_config.memory_budget = self.memory_budget;
        node_config.restart_backoff_base = self.backoff_base;
        node_config.restart_backoff_max = self.backoff_max / 2;
        let capacity = crate::local_node::Capacity {
            max_pods: self.max_pods,
            guest_memory: sandbox.guest_memory().max(),
            memory_budget: self.memory_budget,
        };
        let node = Node::start(sandbox, node_config);
        let controller = ControllerConfig {
            backoff_base: self.backoff_base,
            backoff_max: self.backoff_max,
            ..Default::default()
        };
        let mut manager = Manager::new(
            store,
            node,
            controller,
            Box::new(SystemClock),
            owner.to_string(),
            scope,
        )?;
        let name = self
            .node_name
            .clone()
            .unwrap_or_else(crate::local_node::host_name);
        manager.register_node(name, capacity);
        Ok(manager)
    }
}

/// Parses `10s`, `1m30s`, `250ms`, `1h` (and ISO 8601 `PT10S`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d: jiff::SignedDuration = text
        .trim()
        .parse()
        .map_err(|e| format!("invalid duration {text:?} (examples: 10s, 1m30s, 250ms): {e}"))?;
    if d.is_negative() {
        return Err(format!("invalid duration {text:?}: must not be negative"));
    }
    Ok(d.unsigned_abs())
}

/// A node name: a DNS subdomain, as the API server requires of every Node.
pub fn parse_node_name(text: &str) -> Result<String, String> {
    match wasmjob_spec::validate::dns_subdomain_errors(text) {
        errors if errors.is_empty() => Ok(text.to_string()),
        errors => Err(errors.join("; ")),
    }
}

/// A Kubernetes memory quantity (`512Mi`, `4Gi`, `1e9`) in bytes.
pub fn parse_memory(text: &str) -> Result<u64, String> {
    wasmjob_spec::Quantity(text.to_string())
        .to_bytes_ceil()
        .map_err(|e| format!("invalid quantity {text:?} (examples: 512Mi, 4Gi): {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_kubernetes_values() {
        let s = Settings::default();
        assert_eq!(s.backoff_base, Duration::from_secs(10));
        assert_eq!(s.backoff_max, Duration::from_secs(600));
        assert_eq!(s.max_pods, 1000);
        assert_eq!((s.memory_budget, s.guest_memory), (None, None));
        assert_eq!(s.log_limit, 10 << 20);
    }

    #[test]
    fn flags_set_them() {
        let d = Defaults::try_parse_from([
            "wasmjob",
            "--backoff-base",
            "250ms",
            "--memory-budget",
            "1Gi",
            "--max-pods",
            "3",
        ])
        .unwrap();
        assert_eq!(d.settings.backoff_base, Duration::from_millis(250));
        assert_eq!(d.settings.memory_budget, Some(1 << 30));
        assert_eq!(d.settings.max_pods, 3);
        assert!(Defaults::try_parse_from(["wasmjob", "--memory-budget", "lots"]).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
