//! `wasmjob apply -f FILE|DIR|-` and `wasmjob create -f …`, with kubectl's difference:
//! `create` refuses a Job that exists; `apply` creates it or changes the fields a live Job
//! may change (as `patch` does, refusing immutable changes with the API server's wording).
//! All or nothing: when one Job is refused, none is written. Running them is the controller's
//! work (`serve`).

use super::Failure;
use super::input::{Manifest, check_modules_blocking, give_identity, read_manifests};
use super::patch::invalid;
use crate::lease;
use crate::ops::update::updated;
use crate::store::{JobRecord, Store};
use std::path::Path;
use wasmjob_spec::Time;

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// A manifest file, a folder of them (.yaml, .yml, .json), or `-` for stdin.
    #[arg(short = 'f', long, value_name = "FILE")]
    pub filename: String,

    /// Work-queue items for the new Job, one per line (`-`: stdin). Overrides the annotation
    /// wasmjob.dev/items-file; only when the Job is created.
    #[arg(long, value_name = "FILE")]
    pub items: Option<String>,
}

/// Why a Job was not written.
enum Refusal {
    Unchanged,
    Failed(Failure),
}

pub fn apply(
    args: ApplyArgs,
    state_dir: &Path,
    namespace: Option<&str>,
    create_only: bool,
) -> Result<(), Failure> {
    let mut manifests = read_manifests(&args.filename, namespace)?;
    crate::ops::items::attach_items(&mut manifests, args.items.as_deref())?;
    check_modules_blocking(state_dir, &manifests)?;
    let mut store = Store::open(state_dir)?;
    let now = Time(jiff::Timestamp::now());
    let mut lines = Vec::new();
    let mut batch = store.batch()?;
    for Manifest {
        job,
        base_dir,
        items,
    } in manifests
    {
        let name = job.metadata.name.clone();
        let existing = match &name {
            Some(n) => batch.change_job(job.namespace(), n, |old| {
                if old.metadata.deletion_timestamp.is_some() {
                    return Err(Refusal::Failed(Failure::runtime(format!(
                        "Error from server (AlreadyExists): object is being deleted: jobs.batch {n:?} already exists"
                    ))));
                }
                if create_only {
                    return Err(Refusal::Failed(Failure::runtime(format!(
                        "Error from server (AlreadyExists): jobs.batch {n:?} already exists"
                    ))));
                }
                if args.items.is_some() {
                    return Err(Refusal::Failed(Failure::input(format!(
                        "error: jobs.batch {n:?} exists: work-queue items are given when a Job is created"
                    ))));
                }
                let new = updated(old, job.clone(), now)
                    .map_err(|errors| Refusal::Failed(invalid(old.name(), errors)))?;
                let mut bare = old.clone();
                bare.status = None;
                if new == bare {
                    Err(Refusal::Unchanged)
                } else {
                    Ok(new)
                }
            })?,
            None => None,
        };
        match existing {
            Some(Ok(j)) => lines.push(format!("job.batch/{} configured", j.name())),
            Some(Err(Refusal::Unchanged)) => {
                lines.push(format!("job.batch/{} unchanged", name.unwrap_or_default()))
            }
            Some(Err(Refusal::Failed(f))) => return Err(f),
            None => {
                let mut job = job;
                give_identity(&mut job, now);
                let mut record = JobRecord {
                    job,
                    backoff: Default::default(),
                    base_dir,
                };
                batch.create_job(&mut record, None)?;
                if let Some(items) = &items {
                    batch.add_queue_items(record.job.metadata.uid(), items)?;
                }
                lines.push(format!("job.batch/{} created", record.job.name()));
            }
        }
    }
    batch.commit()?;
    for l in lines {
        println!("{l}");
    }
    if !lease::served(state_dir) {
        eprintln!(
            "note: no `wasmjob serve` controls {}; the Jobs run when one starts",
            state_dir.display()
        );
    }
    Ok(())
}
