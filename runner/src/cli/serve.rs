//! `wasmjob serve`: the long-running controller of a state directory. It takes over every
//! Job there (recovering those a crashed controller left: pods that were running are failed
//! as lost and replaced), runs new ones as `apply`/`create` store them, follows patches and
//! deletions, applies ttlSecondsAfterFinished, and on SIGINT/SIGTERM stops running pods with
//! a `DisruptionTarget` condition and exits 0. Only one controller may serve a directory.

use super::Failure;
use super::controller::{
    ControllerArgs, build_manager, manager_failure, shutdown_signal, take_lease,
};
use crate::lease::Role;
use crate::manager::{ManagerError, Scope};
use crate::store::Store;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub controller: ControllerArgs,
}

pub fn serve(args: ServeArgs, state_dir: &Path) -> Result<u8, Failure> {
    let store = Store::open(state_dir)?;
    let lease =
        take_lease(state_dir, Role::Serve)?.map_err(|e| Failure::runtime(format!("error: {e}")))?;
    let runtime = super::runtime()?;
    runtime.block_on(async move {
        let sandbox = Arc::new(super::sandbox(state_dir, args.controller.max_pods)?);
        let mut manager = build_manager(&args.controller, store, sandbox, lease.id(), Scope::All);
        let swept = manager.sweep_leftovers().map_err(manager_failure)?;
        if swept > 0 {
            eprintln!("wasmjob serve: removed {swept} leftover log or volume folders of pods no longer stored");
        }
        manager.look_at_store().map_err(manager_failure)?;
        eprintln!(
            "wasmjob serve: controlling {} (pid {}); Ctrl-C or SIGTERM stops it",
            state_dir.display(),
            std::process::id()
        );
        match manager.run(None, &mut |_| {}, shutdown_signal()).await {
            Err(ManagerError::Interrupted) => {
                eprintln!("wasmjob serve: stopped; running pods were stopped and will be replaced when it starts again");
                Ok(0)
            }
            Err(e) => Err(manager_failure(e)),
            Ok(()) => Ok(0),
        }
    })
}
