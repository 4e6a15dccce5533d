//! cli: the `wasmjob` command in kubectl's grammar. Each subcommand lives in its own file; this
//! one holds the shared flags, the state-directory default, and the one place where errors
//! become exit codes (0 success, 1 a Job failed or a runtime error, 2 invalid input or usage).

mod apply;
mod controller;
mod cordon;
mod delete;
mod describe;
mod get;
mod input;
mod kubeconfig;
mod logs;
mod node;
mod patch;
mod printers;
mod queue;
mod resource;
mod run;
mod serve;
mod wait;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Run Kubernetes batch/v1 Jobs whose containers are WebAssembly (WASI) modules.
#[derive(Debug, Parser)]
#[command(name = "wasmjob", version, about, long_about = None)]
pub struct Cli {
    /// Where Jobs, Pods and logs are kept. Default: the user's state directory
    /// ($XDG_STATE_HOME/wasmjob or ~/.local/state/wasmjob).
    #[arg(long, global = true, env = "WASMJOB_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Namespace of the objects (default: the manifest's, else "default").
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every Job in FILE to its end in the foreground.
    Run(run::RunArgs),
    /// Control the state directory: run every Job stored there, as they come, until stopped.
    Serve(serve::ServeArgs),
    /// Create Jobs, or change the mutable fields of existing ones, from a manifest.
    Apply(apply::ApplyArgs),
    /// Create Jobs from a manifest; an existing name is refused.
    Create(apply::ApplyArgs),
    /// Delete Jobs (with their pods and logs), pods, or nodes.
    Delete(delete::DeleteArgs),
    /// Mark nodes unschedulable: they take no new pods (those they run go on).
    Cordon(cordon::CordonArgs),
    /// Mark nodes schedulable again.
    Uncordon(cordon::CordonArgs),
    /// Cordon a node and evict the pods it runs (their Jobs replace them elsewhere).
    Drain(cordon::DrainArgs),
    /// Show a Job or pod in detail, with its conditions and events.
    Describe(describe::DescribeArgs),
    /// Measure the state store (pod transitions per second, space given back).
    Bench(wasmjob_bench::BenchArgs),
    /// Wait for a condition (or deletion) of Jobs or pods.
    Wait(wait::WaitArgs),
    /// List Jobs or Pods (kubectl's columns).
    Get(get::GetArgs),
    /// Print the log of a pod's container (`POD` or `job/NAME`).
    Logs(logs::LogsArgs),
    /// Change a live Job (parallelism, suspend, activeDeadlineSeconds, …).
    Patch(patch::PatchArgs),
    /// List a work-queue Job's items: state, attempts, pod.
    Queue(queue::QueueArgs),
    /// Join a `serve --nats` control plane as a node that runs its pods (cluster mode).
    Node(node::NodeArgs),
    /// Print (or write) the kubeconfig for `serve --listen`'s Kubernetes API.
    Kubeconfig(kubeconfig::KubeconfigArgs),
}

/// An error with its exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// Invalid input or usage: exit 2.
    pub fn input(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
    /// Anything else that went wrong: exit 1.
    pub fn runtime(message: impl Into<String>) -> Failure {
        Failure {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<wasmjob_spec::ManifestError> for Failure {
    fn from(e: wasmjob_spec::ManifestError) -> Failure {
        Failure::input(e.to_string())
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Failure {
        match e {
            crate::store::StoreError::AlreadyExists { .. } => {
                Failure::input(format!("Error from server (AlreadyExists): {e}"))
            }
            e => Failure::runtime(format!("error: {e}")),
        }
    }
}

/// An operation shared with the API: bad input exits 2, anything else 1.
impl From<crate::ops::OpError> for Failure {
    fn from(e: crate::ops::OpError) -> Failure {
        use crate::ops::OpError;
        match e {
            OpError::Invalid(m) => Failure::input(format!("error: {m}")),
            OpError::Timeout(m) | OpError::Failed(m) => Failure::runtime(format!("error: {m}")),
            OpError::Store(e) => e.into(),
            OpError::Io(e) => e.into(),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::runtime(format!("error: {e}"))
    }
}

/// Runs the command line; returns the process's exit code.
pub fn main() -> u8 {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(f) => {
            if !f.message.is_empty() {
                eprintln!("{}", f.message);
            }
            f.code
        }
    }
}

fn dispatch(cli: Cli) -> Result<u8, Failure> {
    let state_dir = state_dir(cli.state_dir)?;
    let ns = cli.namespace;
    match cli.command {
        Command::Run(a) => run::run(a, &state_dir, ns.as_deref()),
        Command::Serve(a) => serve::serve(a, &state_dir),
        Command::Apply(a) => apply::apply(a, &state_dir, ns.as_deref(), false).map(|_| 0),
        Command::Create(a) => apply::apply(a, &state_dir, ns.as_deref(), true).map(|_| 0),
        Command::Delete(a) => delete::delete(a, &state_dir, ns.as_deref()).map(|_| 0),
        Command::Cordon(a) => cordon::cordon_nodes(a, &state_dir, true).map(|_| 0),
        Command::Uncordon(a) => cordon::cordon_nodes(a, &state_dir, false).map(|_| 0),
        Command::Drain(a) => cordon::drain(a, &state_dir).map(|_| 0),
        Command::Describe(a) => describe::describe(a, &state_dir, ns.as_deref()).map(|_| 0),
        Command::Bench(a) => wasmjob_bench::bench(a).map_err(|e| Failure {
            code: e.exit_code(),
            message: e.to_string(),
        }),
        Command::Wait(a) => wait::wait(a, &state_dir, ns.as_deref()).map(|_| 0),
        Command::Get(a) => get::get(a, &state_dir, ns.as_deref()).map(|_| 0),
        Command::Logs(a) => logs::logs(a, &state_dir, ns.as_deref()).map(|_| 0),
        Command::Patch(a) => patch::patch(a, &state_dir, ns.as_deref()).map(|_| 0),
        Command::Queue(a) => queue::queue(a, &state_dir, ns.as_deref()).map(|_| 0),
        Command::Kubeconfig(a) => kubeconfig::kubeconfig(a, &state_dir).map(|_| 0),
        Command::Node(a) => node::node(a, &state_dir),
    }
}

/// The process's sandbox, with room for `pods` instances at once, keeping compiled modules in
/// `<state-dir>/modules` for later processes. The directory is checked first: a foreign one is
/// refused untouched.
fn sandbox(state_dir: &std::path::Path, pods: usize) -> Result<crate::sandbox::Sandbox, Failure> {
    crate::store::check_dir(state_dir)?;
    let slots = crate::sandbox::slots_for(pods);
    crate::sandbox::Sandbox::configured(
        Some(&crate::store::StateDir::new(state_dir).modules()),
        slots,
    )
    .map_err(|e| Failure::runtime(format!("error: {e:#}")))
}

/// A multi-threaded tokio runtime for the commands that run pods or compile modules.
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("error: cannot start the runtime: {e}")))
}

fn state_dir(flag: Option<PathBuf>) -> Result<PathBuf, Failure> {
    if let Some(d) = flag {
        return Ok(d);
    }
    dirs::state_dir()
        .or_else(|| dirs::home_dir().map(|h| h.join(".local").join("state")))
        .map(|d| d.join("wasmjob"))
        .ok_or_else(|| {
            Failure::input("error: no state directory: pass --state-dir or set WASMJOB_STATE_DIR")
        })
}

pub use crate::settings::parse_duration;

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
