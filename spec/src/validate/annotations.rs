//! wasmjob's own `wasmjob.dev/` annotations (module paths, fuel).

use super::*;

// wasmjob.dev/ annotations

pub(super) fn wasmjob_annotations(job: &Job, errs: &mut Vec<FieldError>) {
    let names = container_names(&job.spec.template.spec);
    let known = [
        FUEL_ANNOTATION,
        "wasmjob.dev/fuel.<container>",
        "wasmjob.dev/module.<container>",
    ];
    for (key, value) in &job.spec.template.metadata.annotations {
        if !key.starts_with(ANNOTATION_PREFIX) {
            continue;
        }
        let path = format!("spec.template.metadata.annotations[{key}]");
        let container = if key == FUEL_ANNOTATION {
            fuel(value, &path, errs);
            None
        } else if let Some(c) = key.strip_prefix(FUEL_ANNOTATION_PREFIX) {
            fuel(value, &path, errs);
            Some(c)
        } else if let Some(c) = key.strip_prefix(MODULE_ANNOTATION_PREFIX) {
            if value.is_empty() {
                errs.push(FieldError::invalid(
                    &path,
                    value,
                    "must name a WebAssembly module (a .wasm file or an image reference)",
                ));
            }
            Some(c)
        } else {
            errs.push(FieldError::unsupported(&path, key, &known));
            None
        };
        if let Some(c) = container
            && !names.contains(c)
        {
            let mut e = FieldError::not_found(&path, c);
            e.detail = "must name a container or init container of the pod template".into();
            errs.push(e);
        }
    }
}

pub(super) fn fuel(value: &str, path: &str, errs: &mut Vec<FieldError>) {
    let ok = !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_digit())
        && value.parse::<u64>().is_ok_and(|n| n >= 1);
    if !ok {
        errs.push(FieldError::invalid(
            path,
            value,
            format!("must be a positive integer (1 to {})", u64::MAX),
        ));
    }
}
