//! apiVersion, kind and metadata of a Job (pkg/apis/batch/validation `ValidateJob`, apimachinery `ValidateObjectMeta`).

use super::*;

// apiVersion, kind, metadata

pub(super) fn type_meta(job: &Job, errs: &mut Vec<FieldError>) {
    if job.api_version != "batch/v1" {
        errs.push(FieldError::unsupported(
            "apiVersion",
            &job.api_version,
            &["batch/v1"],
        ));
    }
    if job.kind != "Job" {
        errs.push(FieldError::unsupported("kind", &job.kind, &["Job"]));
    }
}

pub(super) fn job_metadata(job: &Job, errs: &mut Vec<FieldError>) {
    let meta = &job.metadata;
    let generate_name = meta.generate_name.as_deref().unwrap_or("");
    match meta.name.as_deref().unwrap_or("") {
        "" if generate_name.is_empty() => errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        )),
        "" => {}
        name => {
            let messages = dns_subdomain_errors(name);
            let too_long_for_label = messages.is_empty() && name.len() > LABEL_VALUE_MAX_LENGTH;
            invalid_each(errs, "metadata.name", name, messages);
            if too_long_for_label {
                errs.push(FieldError::invalid(
                    "metadata.name",
                    name,
                    max_len_error(LABEL_VALUE_MAX_LENGTH),
                ));
            }
        }
    }
    if !generate_name.is_empty() {
        // A prefix: a trailing '-' is fine, the random suffix follows it.
        let masked = match generate_name.strip_suffix('-') {
            Some(head) if !head.is_empty() => format!("{head}a"),
            _ => generate_name.to_string(),
        };
        invalid_each(
            errs,
            "metadata.generateName",
            generate_name,
            dns_subdomain_errors(&masked),
        );
    }
    if let Some(ns) = &meta.namespace {
        invalid_each(errs, "metadata.namespace", ns, dns_label_errors(ns));
    }
    labels(&meta.labels, "metadata.labels", errs);
    annotations(&meta.annotations, "metadata.annotations", errs);
}

pub(super) fn template_metadata(meta: &ObjectMeta, errs: &mut Vec<FieldError>) {
    labels(&meta.labels, "spec.template.metadata.labels", errs);
    annotations(
        &meta.annotations,
        "spec.template.metadata.annotations",
        errs,
    );
}

pub(super) fn labels(map: &BTreeMap<String, String>, path: &str, errs: &mut Vec<FieldError>) {
    for (k, v) in map {
        let p = format!("{path}[{k}]");
        invalid_each(errs, &p, k, qualified_name_errors(k));
        invalid_each(errs, &p, v, label_value_errors(v));
    }
}

pub(super) fn annotations(map: &BTreeMap<String, String>, path: &str, errs: &mut Vec<FieldError>) {
    let mut total = 0usize;
    for (k, v) in map {
        total = total.saturating_add(k.len()).saturating_add(v.len());
        let p = format!("{path}[{k}]");
        invalid_each(errs, &p, k, qualified_name_errors(&k.to_lowercase()));
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
}
