//! Volumes and mounts (pkg/apis/core/validation `ValidateVolumes`, `ValidateVolumeMounts`): the kinds wasmjob supports.

use super::*;

// volumes and mounts

/// Validates the pod's volumes; returns the names of those that exist.
pub(super) fn volumes<'a>(volumes: &'a [Volume], errs: &mut Vec<FieldError>) -> BTreeSet<&'a str> {
    let mut names = BTreeSet::new();
    for (i, v) in volumes.iter().enumerate() {
        let path = format!("{POD}.volumes[{i}]");
        let name_path = format!("{path}.name");
        if v.name.is_empty() {
            errs.push(FieldError::required(&name_path, ""));
        } else {
            invalid_each(errs, &name_path, &v.name, dns_label_errors(&v.name));
            if !names.insert(v.name.as_str()) {
                errs.push(FieldError::duplicate(&name_path, &v.name));
            }
        }
        let sources = v.sources();
        if sources.is_empty() {
            errs.push(FieldError::required(&path, "must specify a volume type"));
        }
        for extra in sources.iter().skip(1) {
            errs.push(FieldError::forbidden(
                format!("{path}.{extra}"),
                "may not specify more than 1 volume type",
            ));
        }
        for kind in sources
            .iter()
            .filter(|s| !matches!(**s, "emptyDir" | "hostPath" | "csi"))
        {
            errs.push(FieldError::forbidden(
                format!("{path}.{kind}"),
                SUPPORTED_VOLUMES,
            ));
        }
        if let Some(hp) = &v.host_path {
            host_path(hp, &format!("{path}.hostPath"), errs);
        }
        if let Some(ed) = &v.empty_dir {
            empty_dir(ed, &format!("{path}.emptyDir"), errs);
        }
        if let Some(csi) = &v.csi {
            outputs_volume(csi, &format!("{path}.csi"), errs);
        }
    }
    names
}

/// A `csi` volume must be wasmjob's atomic outputs.
pub(super) fn outputs_volume(csi: &CsiVolumeSource, path: &str, errs: &mut Vec<FieldError>) {
    let driver_path = format!("{path}.driver");
    if csi.driver.is_empty() {
        errs.push(FieldError::required(&driver_path, ""));
        return;
    }
    if csi.driver != OUTPUTS_DRIVER {
        errs.push(FieldError::unsupported(
            &driver_path,
            &csi.driver,
            &[OUTPUTS_DRIVER],
        ));
        return;
    }
    if csi.read_only == Some(true) {
        errs.push(FieldError::invalid(
            format!("{path}.readOnly"),
            true,
            "an outputs volume is written by its pods",
        ));
    }
    for (k, v) in &csi.volume_attributes {
        let p = format!("{path}.volumeAttributes.{k}");
        if k != OUTPUTS_PATH_ATTRIBUTE {
            errs.push(FieldError::unsupported(&p, k, &[OUTPUTS_PATH_ATTRIBUTE]));
        } else if v.is_empty() {
            errs.push(FieldError::required(&p, ""));
        } else if has_dotdot(v) {
            errs.push(FieldError::invalid(&p, v, "must not contain '..'"));
        }
    }
}

pub(super) fn host_path(hp: &HostPathVolumeSource, path: &str, errs: &mut Vec<FieldError>) {
    let p = format!("{path}.path");
    if hp.path.is_empty() {
        errs.push(FieldError::required(&p, ""));
    } else if has_dotdot(&hp.path) {
        errs.push(FieldError::invalid(&p, &hp.path, "must not contain '..'"));
    }
    let t = hp.type_.as_deref().unwrap_or("");
    if !matches!(t, "" | "DirectoryOrCreate" | "Directory") {
        let mut e = FieldError::unsupported(
            format!("{path}.type"),
            t,
            &["", "DirectoryOrCreate", "Directory"],
        );
        e.detail = "WASI can only preopen directories".into();
        errs.push(e);
    }
}

pub(super) fn empty_dir(ed: &EmptyDirVolumeSource, path: &str, errs: &mut Vec<FieldError>) {
    let medium = ed.medium.as_deref().unwrap_or("");
    if !matches!(medium, "" | "Memory") {
        errs.push(FieldError::unsupported(
            format!("{path}.medium"),
            medium,
            &["", "Memory"],
        ));
    }
    if let Some(limit) = &ed.size_limit {
        quantity_ok(limit, &format!("{path}.sizeLimit"), errs);
    }
}

pub(super) fn volume_mounts(
    mounts: &[VolumeMount],
    path: &str,
    ctx: &PodContext<'_>,
    errs: &mut Vec<FieldError>,
) {
    let mut mount_paths = BTreeSet::new();
    for (i, m) in mounts.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if m.name.is_empty() {
            errs.push(FieldError::required(format!("{p}.name"), ""));
        } else if !ctx.volumes.contains(m.name.as_str()) {
            errs.push(FieldError::not_found(format!("{p}.name"), &m.name));
        }
        let mp = format!("{p}.mountPath");
        if m.mount_path.is_empty() {
            errs.push(FieldError::required(&mp, ""));
        } else {
            if !m.mount_path.starts_with('/') {
                errs.push(FieldError::invalid(
                    &mp,
                    &m.mount_path,
                    "must be an absolute path",
                ));
            }
            if !mount_paths.insert(m.mount_path.as_str()) {
                errs.push(FieldError::invalid(&mp, &m.mount_path, "must be unique"));
            }
        }
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            let sp = format!("{p}.subPath");
            if sub.starts_with('/') {
                errs.push(FieldError::invalid(&sp, sub, "must be a relative path"));
            }
            if has_dotdot(sub) {
                errs.push(FieldError::invalid(&sp, sub, "must not contain '..'"));
            }
        }
        if m.sub_path_expr.as_deref().is_some_and(|s| !s.is_empty()) {
            errs.push(FieldError::forbidden(
                format!("{p}.subPathExpr"),
                "not supported by wasmjob",
            ));
        }
    }
}
