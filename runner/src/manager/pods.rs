//! Making a Job's pods from its template, as the upstream controller does (§8.2): generated
//! name `<job>-<5 random>`, the template's labels and annotations, the Job as controlling
//! owner, the tracking finalizer, and phase Pending.

use crate::controller::PodToCreate;
use rand_name::suffix;
use wasmjob_spec::*;

/// Pod names are `<prefix><5 chars>`, the prefix cut so that the name fits 63 characters.
const MAX_PREFIX: usize = 58;

pub fn new_pod(
    job: &Job,
    want: &PodToCreate,
    uid: &str,
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
        let candidate = format!("{prefix}{}", suffix());
        if !taken(&candidate) {
            break candidate;
        }
    };
    let mut meta = ObjectMeta {
        name: Some(name),
        generate_name: Some(prefix),
        namespace: Some(job.namespace().to_string()),
        uid: Some(uid.to_string()),
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

/// What the pod's tasks learn of their Job when it starts (`wasmjob_v1.context`).
pub fn task_info(job: &Job, pod: &Pod) -> crate::node::TaskInfo {
    let failed_before = pod
        .metadata
        .annotations
        .get(INDEX_FAILURE_COUNT_ANNOTATION)
        .and_then(|n| n.parse().ok())
        .unwrap_or(job.status().failed);
    crate::node::TaskInfo {
        completions: job.spec.completions,
        parallelism: job.spec.parallelism.unwrap_or(1),
        failed_before,
    }
}

mod rand_name {
    /// Kubernetes' `utilrand` alphabet: no vowels (no words), no confusable characters.
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

    pub fn suffix() -> String {
        (0..5)
            .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
            .collect()
    }
}
