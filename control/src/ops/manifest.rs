//! A Job as a front end hands it over — the Job, the folder its relative paths resolve in,
//! its work-queue items — and what the API server gives a new Job: a name from
//! `generateName`, a uid, a creation time.

use std::path::PathBuf;
use wasmjob_spec::{Job, Time, defaults};

/// One Job read from a manifest.
pub struct Manifest {
    pub job: Job,
    /// Folder of the manifest: relative images and hostPaths resolve here.
    pub base_dir: PathBuf,
    /// Work-queue items (see `items`); `None`: the Job has no queue.
    pub items: Option<Vec<String>>,
}

/// What the API server gives a new Job: a name from `generateName`, a uid, a creation time.
pub fn give_identity(job: &mut Job, now: Time) {
    if job.metadata.name.is_none() {
        let prefix = job.metadata.generate_name.clone().unwrap_or_default();
        job.metadata.name = Some(format!(
            "{prefix}{}",
            &uuid::Uuid::new_v4().simple().to_string()[..5]
        ));
    }
    defaults::assign_identity(job, &uuid::Uuid::new_v4().to_string(), now);
}
