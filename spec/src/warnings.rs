//! Warnings for fields that Kubernetes knows but that mean nothing for a WebAssembly task
//! (scheduling, images, probes, security contexts): they are accepted so that a manifest written
//! for a cluster parses, and each one that is set is named on stderr. None changes behaviour.
//! Must not: reject anything (that is `validate`).

use crate::job::Job;

/// One line per ignored field that is set, plus the API server's own warnings.
pub fn collect(job: &Job) -> Vec<String> {
    let mut out = Vec::new();
    let name = job.name();
    if !name.is_empty() && name.contains('.') {
        out.push(
            "metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]"
                .to_string(),
        );
    }
    let pod = &job.spec.template.spec;
    for field in pod.ignored_fields() {
        out.push(format!(
            "spec.template.spec.{field}: ignored: has no meaning for a WebAssembly task"
        ));
    }
    let groups = [
        ("initContainers", &pod.init_containers),
        ("containers", &pod.containers),
    ];
    for (group, containers) in groups {
        for (i, c) in containers.iter().enumerate() {
            for field in c.ignored_fields() {
                out.push(format!(
                    "spec.template.spec.{group}[{i}].{field}: ignored: has no meaning for a WebAssembly task"
                ));
            }
        }
    }
    out
}
