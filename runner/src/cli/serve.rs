//! `wasmjob serve`: the long-running controller of a state directory. It takes over every
//! Job there (recovering those a crashed controller left: pods that were running are failed
//! as lost and replaced), runs new ones as `apply`/`create` store them, follows patches and
//! deletions, applies ttlSecondsAfterFinished, and on SIGINT/SIGTERM stops running pods with
//! a `DisruptionTarget` condition and exits 0. Only one controller may serve a directory.

use super::Failure;
use super::controller::{build_manager, manager_failure, shutdown_signal, take_lease};
use crate::lease::Role;
use crate::manager::{ManagerError, Scope};
use crate::store::Store;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub controller: crate::settings::Settings,

    /// Also answer the Kubernetes API (Jobs and Pods, read-only so far) on this address, for
    /// kubectl and the client libraries; port 0 picks a free one. HTTPS with a self-signed
    /// certificate and a bearer token. `wasmjob kubeconfig` prints the kubeconfig.
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    pub listen: Option<std::net::SocketAddr>,

    /// Where relative images (and hostPaths, and items files) of Jobs sent to the API resolve,
    /// as a request carries no folder; default: the current directory.
    #[arg(long, value_name = "DIR", requires = "listen")]
    pub image_dir: Option<std::path::PathBuf>,

    /// Cluster mode: also schedule pods onto `wasmjob node` processes that join through these
    /// NATS servers (`nats://host:4222`, `tls://…`, several separated by commas).
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,

    #[command(flatten)]
    pub nats_auth: super::node::NatsAuth,

    /// In cluster mode, run no pods in this process: only on the nodes that join.
    #[arg(long, requires = "nats")]
    pub no_local_node: bool,

    /// In cluster mode, how long a node may go without a heartbeat before it is lost (marked
    /// NotReady, its pods failed as disrupted and replaced). Kubernetes: 40s.
    #[arg(long, value_parser = crate::settings::parse_duration, default_value = "40s", value_name = "DURATION", requires = "nats")]
    pub node_grace: std::time::Duration,
}

/// The absolute `--image-dir` (or the current directory), which must be a directory.
fn image_dir(flag: Option<&Path>) -> Result<std::path::PathBuf, Failure> {
    let cwd = std::env::current_dir()?;
    let dir = flag.map(|d| cwd.join(d)).unwrap_or(cwd);
    if !dir.is_dir() {
        return Err(Failure::input(format!(
            "error: --image-dir {}: not a directory",
            dir.display()
        )));
    }
    Ok(dir)
}

/// `127.0.0.1:6443`, `[::1]:0`, or a port alone (on 127.0.0.1).
fn parse_listen(text: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse()
        .map_err(|_| format!("invalid address {text:?} (examples: 127.0.0.1:6443, 6443, [::1]:0)"))
}

/// Binds the API's listener and records its address and token, before the controller starts.
async fn start_api(
    addr: std::net::SocketAddr,
    state_dir: &Path,
) -> Result<(crate::api::tls::TlsListener, String), Failure> {
    let (cert, key) = crate::api::tls::certificate(state_dir)
        .map_err(|e| Failure::runtime(format!("error: {e}")))?;
    let acceptor = crate::api::tls::acceptor(&cert, &key)
        .map_err(|e| Failure::runtime(format!("error: {e}")))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::runtime(format!("error: cannot listen on {addr}: {e}")))?;
    let token = crate::api::auth::token(state_dir).map_err(|e| {
        Failure::runtime(format!(
            "error: cannot keep the API token in {}: {e}",
            state_dir.display()
        ))
    })?;
    let bound = listener
        .local_addr()
        .map_err(|e| Failure::runtime(format!("error: {e}")))?;
    std::fs::write(crate::api::auth::address_path(state_dir), bound.to_string()).map_err(|e| {
        Failure::runtime(format!(
            "error: cannot record the API address in {}: {e}",
            state_dir.display()
        ))
    })?;
    eprintln!(
        "wasmjob serve: Kubernetes API on https://{bound} (`wasmjob kubeconfig` prints a kubeconfig for it)"
    );
    let listener = crate::api::tls::TlsListener {
        tcp: listener,
        acceptor,
    };
    Ok((listener, token))
}

pub fn serve(args: ServeArgs, state_dir: &Path) -> Result<u8, Failure> {
    let store = Store::open(state_dir)?;
    let lease =
        take_lease(state_dir, Role::Serve)?.map_err(|e| Failure::runtime(format!("error: {e}")))?;
    let runtime = super::runtime()?;
    runtime.block_on(async move {
        let sandbox = Arc::new(super::sandbox(state_dir, args.controller.max_pods)?);
        let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
        let api = match args.listen {
            Some(addr) => {
                let (listener, token) = start_api(addr, state_dir).await?;
                let store = Store::open(state_dir)?;
                let config = crate::api::ApiConfig {
                    token,
                    sandbox: sandbox.clone(),
                    image_dir: image_dir(args.image_dir.as_deref())?,
                };
                Some(tokio::spawn(crate::api::serve(listener, store, config, async {
                    let _ = api_stopped.await;
                })))
            }
            None => None,
        };
        let mut manager = build_manager(&args.controller, store, sandbox, lease.id(), Scope::All)?;
        if let Some(url) = &args.nats {
            let options = args
                .nats_auth
                .options(url, format!("wasmjob serve {}", state_dir.display()));
            let client = wasmjob_cluster::connect::connect(&options)
                .await
                .map_err(|e| Failure::runtime(format!("error: {e}")))?;
            let modules = wasmjob_cluster::modules::Modules::open(&client)
                .await
                .map_err(|e| Failure::runtime(format!("error: {e}")))?;
            let links = wasmjob_cluster::control_link::attach(client, Arc::new(modules))
                .await
                .map_err(|e| Failure::runtime(format!("error: {e}")))?;
            manager.attach_remote(links);
            manager.set_node_grace(args.node_grace);
            if args.no_local_node {
                manager.no_local_node();
            }
            eprintln!(
                "wasmjob serve: scheduling onto the nodes that join through {}",
                wasmjob_cluster::connect::redacted(url)
            );
        }
        let swept = manager.sweep_leftovers().map_err(manager_failure)?;
        if swept > 0 {
            eprintln!("wasmjob serve: removed {swept} leftover log or volume folders of pods no longer stored");
        }
        // The node first: the Jobs taken over place their waiting pods on it.
        manager.write_node().await.map_err(manager_failure)?;
        manager.look_at_store().map_err(manager_failure)?;
        eprintln!(
            "wasmjob serve: controlling {} (pid {}); Ctrl-C or SIGTERM stops it",
            state_dir.display(),
            std::process::id()
        );
        let result = manager.run(None, &mut |_| {}, shutdown_signal()).await;
        let _ = stop_api.send(());
        if let Some(mut api) = api {
            // Open requests get a moment to finish; watches, which never do, are then cut.
            let grace = std::time::Duration::from_millis(500);
            if tokio::time::timeout(grace, &mut api).await.is_err() {
                api.abort();
            }
        }
        match result {
            Err(ManagerError::Interrupted) => {
                eprintln!("wasmjob serve: stopped; running pods were stopped and will be replaced when it starts again");
                Ok(0)
            }
            Err(e) => Err(manager_failure(e)),
            Ok(()) => Ok(0),
        }
    })
}
