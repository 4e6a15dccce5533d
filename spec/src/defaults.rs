//! Defaulting exactly as the API server does it for batch/v1 Jobs (`pkg/apis/batch/v1/
//! defaults.go` and the Job registry strategy): counts, completion mode, back-off limit,
//! replacement policy, and — once the Job has a uid — the generated selector and pod labels.
//! Must not: validate (defaulting runs first, validation reads the result).

use crate::job::*;
use crate::meta::{LabelSelector, Time};

/// Defaults that need nothing but the manifest. Idempotent.
pub fn apply(job: &mut Job) {
    let spec = &mut job.spec;
    match (spec.parallelism, spec.completions) {
        (None, None) => {
            spec.parallelism = Some(1);
            spec.completions = Some(1);
        }
        (None, Some(_)) => spec.parallelism = Some(1),
        _ => {} // only parallelism set: a work queue, completions stays unset
    }
    spec.completion_mode
        .get_or_insert_with(|| NON_INDEXED.to_string());
    if spec.backoff_limit.is_none() {
        spec.backoff_limit = Some(if spec.backoff_limit_per_index.is_some() {
            i32::MAX
        } else {
            6
        });
    }
    spec.suspend.get_or_insert(false);
    spec.manual_selector.get_or_insert(false);
    if spec.pod_replacement_policy.is_none() {
        let policy = if spec.pod_failure_policy.is_some() {
            "Failed"
        } else {
            "TerminatingOrFailed"
        };
        spec.pod_replacement_policy = Some(policy.to_string());
    }
    if let Some(pfp) = &mut spec.pod_failure_policy {
        for rule in &mut pfp.rules {
            for pattern in rule.on_pod_conditions.iter_mut().flatten() {
                pattern.status.get_or_insert_with(|| "True".to_string());
            }
        }
    }
    let pod = &mut spec.template.spec;
    pod.termination_grace_period_seconds.get_or_insert(30);
}

/// What the API server sets when it stores a new Job: uid, creation time, generation, and
/// (unless `manualSelector`) the generated selector with the job-name / controller-uid labels
/// on the pod template; the Job's own labels default to the template's.
pub fn assign_identity(job: &mut Job, uid: &str, now: Time) {
    job.metadata.uid = Some(uid.to_string());
    job.metadata.creation_timestamp = Some(now);
    job.metadata.generation = Some(1);
    let name = job.name().to_string();
    if job.spec.manual_selector != Some(true) {
        let labels = &mut job.spec.template.metadata.labels;
        for (k, v) in [
            (CONTROLLER_UID_LABEL, uid),
            (LEGACY_CONTROLLER_UID_LABEL, uid),
            (JOB_NAME_LABEL, name.as_str()),
            (LEGACY_JOB_NAME_LABEL, name.as_str()),
        ] {
            labels.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
        let mut selector = LabelSelector::default();
        selector
            .match_labels
            .insert(CONTROLLER_UID_LABEL.to_string(), uid.to_string());
        job.spec.selector = Some(selector);
    }
    if job.metadata.labels.is_empty() {
        job.metadata.labels = job.spec.template.metadata.labels.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        Job::default()
    }

    #[test]
    fn both_unset_become_one() {
        let mut j = job();
        apply(&mut j);
        assert_eq!((j.spec.parallelism, j.spec.completions), (Some(1), Some(1)));
        assert_eq!(j.spec.backoff_limit, Some(6));
        assert_eq!(j.spec.completion_mode.as_deref(), Some("NonIndexed"));
        assert_eq!(j.spec.suspend, Some(false));
        assert_eq!(
            j.spec.pod_replacement_policy.as_deref(),
            Some("TerminatingOrFailed")
        );
    }

    #[test]
    fn only_parallelism_is_a_work_queue() {
        let mut j = job();
        j.spec.parallelism = Some(3);
        apply(&mut j);
        assert_eq!((j.spec.parallelism, j.spec.completions), (Some(3), None));
    }

    #[test]
    fn only_completions_gets_parallelism_one() {
        let mut j = job();
        j.spec.completions = Some(5);
        apply(&mut j);
        assert_eq!((j.spec.parallelism, j.spec.completions), (Some(1), Some(5)));
    }

    #[test]
    fn per_index_limit_lifts_backoff_limit() {
        let mut j = job();
        j.spec.backoff_limit_per_index = Some(1);
        apply(&mut j);
        assert_eq!(j.spec.backoff_limit, Some(i32::MAX));
    }

    #[test]
    fn identity_generates_selector_and_labels() {
        let mut j = job();
        j.metadata.name = Some("pi".into());
        apply(&mut j);
        assign_identity(&mut j, "u-1", Time::from_millis(0));
        let labels = &j.spec.template.metadata.labels;
        assert_eq!(labels[JOB_NAME_LABEL], "pi");
        assert_eq!(labels[CONTROLLER_UID_LABEL], "u-1");
        assert_eq!(
            j.spec.selector.unwrap().match_labels[CONTROLLER_UID_LABEL],
            "u-1"
        );
        assert_eq!(j.metadata.labels[JOB_NAME_LABEL], "pi");
        assert_eq!(j.metadata.generation, Some(1));
    }
}
