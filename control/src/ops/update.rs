//! A Job update as the API server makes it — `apply` of a manifest, the API's PUT and PATCH:
//! what the server keeps of the stored object, and the update validation of Kubernetes
//! (`ValidateJobUpdate`, in `wasmjob_spec::update`).

use wasmjob_spec::{FieldError, Job, Time, defaults};

/// The stored Job `old` replaced by `new` (a manifest, or the object a client sent): the
/// server keeps identity (uid, creation time, generation, a deletion under way), the generated
/// selector and pod labels, and the status; the update must be one Kubernetes allows.
pub fn updated(old: &Job, mut new: Job, now: Time) -> Result<Job, Vec<FieldError>> {
    let created = old.metadata.creation_timestamp.unwrap_or(now);
    defaults::assign_identity(&mut new, old.metadata.uid(), created);
    new.metadata.generation = old.metadata.generation;
    new.metadata.resource_version = old.metadata.resource_version.clone();
    new.metadata.deletion_timestamp = old.metadata.deletion_timestamp;
    new.metadata.deletion_grace_period_seconds = old.metadata.deletion_grace_period_seconds;
    new.status = None;
    let errors = wasmjob_spec::update::validate_update(old, &new);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(new)
}
