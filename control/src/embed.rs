//! embed: running Jobs from a Rust program, the way `wasmjob run` does, for edge and plugin
//! hosts that want sandboxed batch work without a CLI in between. A [`Host`] owns the compiled
//! module cache of the process; [`Host::run`] stores a Job in a state directory, runs it to its
//! end under the full Job semantics, and returns the final Job, its pods, and access to their
//! termination messages and logs. Programs reach it as `wasmjob::embed` (the `wasmjob` crate
//! re-exports it) or as `wasmjob_control::embed`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wasmjob_control::embed::Error> {
//! use wasmjob_control::embed::{Host, Settings};
//!
//! let host = Host::new("/var/lib/my-host/wasmjob")?.with_settings(Settings {
//!     backoff_base: std::time::Duration::from_millis(100),
//!     ..Settings::default()
//! })?;
//! let yaml = r#"
//! apiVersion: batch/v1
//! kind: Job
//! metadata: {name: resize}
//! spec:
//!   template:
//!     spec:
//!       restartPolicy: Never
//!       containers: [{name: task, image: plugins/resize.wasm, args: ["800"]}]
//! "#;
//! let job = Host::load(yaml, "/etc/my-host")?.remove(0);
//! let done = host.run(job).await?;
//! if done.succeeded() {
//!     println!("result: {:?}", done.termination_messages());
//!     println!("log: {}", done.log(&done.pods[0], "task")?);
//! }
//! # Ok(()) }
//! ```
//!
//! Several `run`s may go on at once, in this process and in others (each takes the state
//! directory's shared lease); a `wasmjob serve` controlling the directory makes `run` fail with
//! [`Error::Lease`].

use crate::lease::{self, Role};
use crate::manager::{ManagerError, Scope};
use crate::sandbox::Sandbox;
use crate::store::{JobRecord, Store, StoreError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmjob_spec::{COND_COMPLETE, COND_FAILED, Job, Pod, Time};

/// Why a Job could not be run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The manifest is not a valid Job (the text names each field).
    #[error("{0}")]
    Manifest(String),
    /// A module cannot be loaded, linked or started.
    #[error("job {job:?}: {message}")]
    Module { job: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another controller holds the state directory.
    #[error(transparent)]
    Lease(#[from] lease::LeaseError),
    /// Reading a log or the working directory failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Runtime(String),
}

impl From<ManagerError> for Error {
    fn from(e: ManagerError) -> Error {
        match e {
            ManagerError::Store(s) => Error::Store(s),
            other => Error::Runtime(other.to_string()),
        }
    }
}

pub use crate::settings::Settings;

/// A Job ready to run: defaulted, validated, named.
#[derive(Clone, Debug)]
pub struct Submission {
    pub job: Job,
    /// Relative module paths and hostPaths resolve here.
    pub base_dir: PathBuf,
    /// Work-queue items (the Job must leave `completions` unset).
    pub items: Option<Vec<String>>,
}

impl Submission {
    /// Gives the Job work-queue items for its pods to take through the guest SDK.
    pub fn with_items(mut self, items: Vec<String>) -> Submission {
        self.items = Some(items);
        self
    }
}

/// A finished Job, with its pods.
#[derive(Clone, Debug)]
pub struct Finished {
    pub job: Job,
    pub pods: Vec<Pod>,
    state_dir: PathBuf,
}

impl Finished {
    /// Whether the Job completed (condition `Complete`).
    pub fn succeeded(&self) -> bool {
        self.job.true_condition(COND_COMPLETE).is_some()
    }

    /// The reason of the Job's terminal condition (`CompletionsReached`,
    /// `BackoffLimitExceeded`, `DeadlineExceeded`, …).
    pub fn reason(&self) -> Option<&str> {
        self.job
            .true_condition(COND_COMPLETE)
            .or_else(|| self.job.true_condition(COND_FAILED))
            .and_then(|c| c.reason.as_deref())
    }

    /// The termination message of every container that ended with one, pod by pod.
    pub fn termination_messages(&self) -> Vec<String> {
        self.pods
            .iter()
            .flat_map(|p| &p.status.container_statuses)
            .filter_map(|c| c.state.terminated.as_ref()?.message.clone())
            .collect()
    }

    /// The log of `container`'s last run in `pod` (stdout and stderr, in order).
    pub fn log(&self, pod: &Pod, container: &str) -> std::io::Result<String> {
        let restarts = pod
            .status
            .container_statuses
            .iter()
            .find(|c| c.name == container)
            .map(|c| c.restart_count)
            .unwrap_or(0);
        let store = crate::store::Store::open(&self.state_dir).map_err(std::io::Error::other)?;
        let records =
            crate::ops::logs::Source::run(&store, pod.clone(), container.into(), restarts)
                .and_then(|s| crate::ops::logs::Reader::plain(s, false).read_all())
                .map_err(std::io::Error::other)?;
        let mut text = String::new();
        for r in &records {
            text.push_str(&String::from_utf8_lossy(&r.content));
            if r.full {
                text.push('\n');
            }
        }
        Ok(text)
    }
}

fn sandbox(state_dir: &Path, pods: usize) -> Result<Sandbox, Error> {
    Sandbox::configured(
        Some(&crate::store::StateDir::new(state_dir).modules()),
        crate::sandbox::slots_for(pods),
    )
    .map_err(|e| Error::Runtime(format!("{e:#}")))
}

/// Runs Jobs in this process.
pub struct Host {
    state_dir: PathBuf,
    sandbox: Arc<Sandbox>,
    settings: Settings,
}

impl Host {
    /// A host keeping its Jobs, pods and logs in `state_dir` (created if missing).
    pub fn new(state_dir: impl AsRef<Path>) -> Result<Host, Error> {
        let state_dir = state_dir.as_ref().to_path_buf();
        // Opening checks (and creates) the directory now rather than at the first run.
        Store::open(&state_dir)?;
        let settings = Settings::default();
        let sandbox = sandbox(&state_dir, settings.max_pods)?;
        Ok(Host {
            state_dir,
            sandbox: Arc::new(sandbox),
            settings,
        })
    }

    pub fn with_settings(mut self, settings: Settings) -> Result<Host, Error> {
        if settings.max_pods != self.settings.max_pods {
            // The sandbox's instance slots follow the pod limit.
            self.sandbox = Arc::new(sandbox(&self.state_dir, settings.max_pods)?);
        }
        self.settings = settings;
        Ok(self)
    }

    /// Reads the Jobs of a manifest (YAML or JSON, several documents allowed), with the API
    /// server's defaults and validation; module paths resolve against `base_dir`.
    pub fn load(manifest: &str, base_dir: impl AsRef<Path>) -> Result<Vec<Submission>, Error> {
        let loaded = wasmjob_spec::load_jobs(manifest, "manifest")
            .map_err(|e| Error::Manifest(e.to_string()))?;
        let now = Time(jiff::Timestamp::now());
        Ok(loaded
            .into_iter()
            .map(|l| {
                let mut job = l.job;
                if job.metadata.namespace.is_none() {
                    job.metadata.namespace = Some("default".into());
                }
                crate::ops::manifest::give_identity(&mut job, now);
                Submission {
                    job,
                    base_dir: base_dir.as_ref().to_path_buf(),
                    items: None,
                }
            })
            .collect())
    }

    /// Stores the Job and runs it to its end. A Job of the same name must not exist.
    pub async fn run(&self, submission: Submission) -> Result<Finished, Error> {
        let Submission {
            job,
            base_dir,
            items,
        } = submission;
        crate::node::prepare_modules(&self.sandbox, &job, &base_dir)
            .await
            .map_err(|p| Error::Module {
                job: job.name().to_string(),
                message: p.message,
            })?;
        let lease = lease::acquire(&self.state_dir, Role::Run)?;
        let store = Store::open(&self.state_dir)?;
        let mut manager =
            self.settings
                .manager(store, self.sandbox.clone(), lease.id(), Scope::Own)?;
        let record = JobRecord {
            job,
            backoff: Default::default(),
            base_dir,
        };
        let uid = manager.create(record, items.as_deref())?;
        manager
            .run(
                Some(std::slice::from_ref(&uid)),
                &mut |_| {},
                std::future::pending(),
            )
            .await?;
        let job = manager
            .job(&uid)
            .cloned()
            .ok_or_else(|| Error::Runtime("the Job vanished while it ran".into()))?;
        let pods = manager.pods(&uid)?;
        drop(lease);
        Ok(Finished {
            job,
            pods,
            state_dir: self.state_dir.clone(),
        })
    }
}
