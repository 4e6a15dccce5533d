//! Making a Job's pods from its template, as the upstream controller does
//! (`pkg/controller/controller_utils.go`, `GetPodFromTemplate`, and `job_controller.go`,
//! `manageJob`, which adds the completion index): generated name `<job>-<5 random>`, the
//! template's labels and annotations, the Job as controlling owner, the tracking finalizer,
//! and phase Pending. The randomness of names and uids is the caller's ([`Identities`]).

use crate::PodToCreate;
use wasmjob_spec::*;

/// Where new pods' uids and name suffixes come from: the caller's randomness (the controller
/// has none of its own, as it has no clock).
pub trait Identities {
    /// A new uid (a UUID on a cluster).
    fn uid(&mut self) -> String;
    /// Five characters of [`NAME_SUFFIX_ALPHABET`], at random.
    fn name_suffix(&mut self) -> String;
}

/// Kubernetes' `utilrand` alphabet for generated names (`k8s.io/apimachinery/pkg/util/rand`):
/// no vowels (no words), no confusable characters.
pub const NAME_SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A name suffix of five characters, each chosen by `pick(n)` (a number below `n`).
pub fn name_suffix(mut pick: impl FnMut(usize) -> usize) -> String {
    (0..5)
        .map(|_| {
            NAME_SUFFIX_ALPHABET[pick(NAME_SUFFIX_ALPHABET.len()) % NAME_SUFFIX_ALPHABET.len()]
                as char
        })
        .collect()
}

/// Pod names are `<prefix><5 chars>`, the prefix cut so that the name fits 63 characters.
const MAX_PREFIX: usize = 58;

/// The pod `want` asks for, made from `job`'s template at `now`; its name is one `taken`
/// says is free.
pub fn new_pod(
    job: &Job,
    want: &PodToCreate,
    ids: &mut dyn Identities,
    now: Time,
    taken: &dyn Fn(&str) -> bool,
) -> Pod {
    let index = want.index;
    let template = &job.spec.template;
    let mut prefix = match index {
        Some(i) => format!("{}-{i}-", job.name()),
        None => format!("{}-", job.name()),
    };
    if prefix.len() > MAX_PREFIX {
        let keep = MAX_PREFIX - (prefix.len() - job.name().len());
        prefix = format!(
            "{}{}",
            &job.name()[..keep.min(job.name().len())],
            &prefix[job.name().len()..]
        );
    }
    let name = loop {
        let candidate = format!("{prefix}{}", ids.name_suffix());
        if !taken(&candidate) {
            break candidate;
        }
    };
    let mut meta = ObjectMeta {
        name: Some(name),
        generate_name: Some(prefix),
        namespace: Some(job.namespace().to_string()),
        uid: Some(ids.uid()),
        creation_timestamp: Some(now),
        labels: template.metadata.labels.clone(),
        annotations: template.metadata.annotations.clone(),
        owner_references: vec![OwnerReference {
            api_version: "batch/v1".into(),
            kind: "Job".into(),
            name: job.name().to_string(),
            uid: job.metadata.uid().to_string(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }],
        finalizers: vec![TRACKING_FINALIZER.to_string()],
        ..Default::default()
    };
    let mut spec = template.spec.clone();
    if let Some(i) = index {
        meta.labels
            .insert(COMPLETION_INDEX_ANNOTATION.into(), i.to_string());
        meta.annotations
            .insert(COMPLETION_INDEX_ANNOTATION.into(), i.to_string());
        spec.hostname = Some(format!("{}-{i}", job.name()));
        // Every container learns its index, unless it defines the variable itself.
        let env = EnvVar {
            name: COMPLETION_INDEX_ENV.into(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: Some("v1".into()),
                    field_path: format!("metadata.labels['{COMPLETION_INDEX_ANNOTATION}']"),
                }),
                ..Default::default()
            }),
        };
        for c in spec
            .init_containers
            .iter_mut()
            .chain(spec.containers.iter_mut())
        {
            if !c.env.iter().any(|e| e.name == COMPLETION_INDEX_ENV) {
                c.env.push(env.clone());
            }
        }
    }
    if let Some(n) = want.failure_count {
        meta.annotations
            .insert(INDEX_FAILURE_COUNT_ANNOTATION.into(), n.to_string());
    }
    if let Some(n) = want.ignored_failure_count.filter(|n| *n > 0) {
        meta.annotations
            .insert(INDEX_IGNORED_FAILURE_COUNT_ANNOTATION.into(), n.to_string());
    }
    Pod {
        api_version: "v1".into(),
        kind: "Pod".into(),
        metadata: meta,
        spec,
        status: PodStatus {
            phase: Some(PHASE_PENDING.into()),
            ..Default::default()
        },
    }
}
