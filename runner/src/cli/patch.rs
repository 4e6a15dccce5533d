//! `wasmjob patch job NAME -p PATCH [--type merge|strategic]`: change a live Job the way
//! Kubernetes allows (parallelism, suspend, activeDeadlineSeconds, ttlSecondsAfterFinished,
//! backoffLimit, maxFailedIndexes, elastic completions); anything else is refused with the API
//! server's `field is immutable`. A `wasmjob run` holding the Job picks the change up.

use super::Failure;
use super::resource::Kind;
use crate::store::Store;
use serde_json::Value;
use std::path::Path;
use wasmjob_spec::{FieldError, InvalidObject, Job};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PatchType {
    /// RFC 7386 JSON merge patch.
    Merge,
    /// kubectl's default; for the scalar fields a Job lets you change it is the same as merge.
    Strategic,
}

#[derive(Debug, clap::Args)]
pub struct PatchArgs {
    /// `job` (job.batch, jobs).
    pub resource: String,
    pub name: String,
    /// The patch, as JSON (or YAML flow), e.g. `{"spec":{"parallelism":3}}`.
    #[arg(short = 'p', long)]
    pub patch: String,
    #[arg(long = "type", value_enum, default_value = "strategic")]
    pub patch_type: PatchType,
}

pub fn patch(args: PatchArgs, state_dir: &Path, namespace: Option<&str>) -> Result<(), Failure> {
    Kind::parse(&args.resource, "patch", &[Kind::Job])?;
    let patch: Value = serde_json::from_str(&args.patch)
        .or_else(|_| serde_saphyr::from_str(&args.patch))
        .map_err(|e| {
            Failure::input(format!(
                "error: unable to parse the patch {:?}: {e}",
                args.patch
            ))
        })?;
    if !patch.is_object() {
        return Err(Failure::input(format!(
            "error: unable to parse the patch {:?}: it must be a JSON object",
            args.patch
        )));
    }
    let ns = namespace.unwrap_or("default");
    let mut store = Store::open(state_dir)?;
    let mut batch = store.batch()?;
    let name = args.name.clone();
    let outcome = batch.change_job(ns, &args.name, |old| apply(old, &patch, &name))?;
    let changed = match outcome {
        None => {
            return Err(Failure::runtime(format!(
                "Error from server (NotFound): jobs.batch {:?} not found",
                args.name
            )));
        }
        Some(Err(f)) => return Err(f),
        Some(Ok(job)) => job,
    };
    batch.commit()?;
    println!("job.batch/{} patched", changed.name());
    Ok(())
}

fn apply(old: &Job, patch: &Value, name: &str) -> Result<Job, Failure> {
    let mut doc = serde_json::to_value(old).map_err(|e| Failure::runtime(e.to_string()))?;
    merge(&mut doc, patch);
    if let Some(obj) = doc.as_object_mut() {
        obj.remove("status");
    }
    let new: Job = serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        invalid(
            name,
            vec![FieldError::new(
                path,
                wasmjob_spec::FieldErrorKind::Malformed,
                e.inner().to_string(),
            )],
        )
    })?;
    let errors = wasmjob_spec::update::validate_update(old, &new);
    if !errors.is_empty() {
        return Err(invalid(name, errors));
    }
    Ok(new)
}

pub(super) fn invalid(name: &str, errors: Vec<FieldError>) -> Failure {
    let object = InvalidObject {
        source: "patch".into(),
        document: 0,
        kind: "Job".into(),
        name: name.into(),
        errors,
    };
    // kubectl: `The Job "x" is invalid: …`
    let text = object.to_string();
    let text = text
        .split_once(": ")
        .map(|(_, rest)| rest.to_string())
        .unwrap_or(text);
    Failure::input(format!("Error from server (Invalid): {text}"))
}

/// RFC 7386: objects merge recursively, `null` deletes, anything else replaces.
fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (_, Some(p)) => {
            *target = Value::Object(Default::default());
            merge(target, &Value::Object(p.clone()));
        }
        _ => *target = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::merge;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut doc = json!({"a": {"b": 1, "c": 2}, "d": [1, 2]});
        merge(&mut doc, &json!({"a": {"b": null, "e": 3}, "d": [3]}));
        assert_eq!(doc, json!({"a": {"c": 2, "e": 3}, "d": [3]}));
    }
}
