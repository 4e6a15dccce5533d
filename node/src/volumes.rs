//! Pod volumes as WASI preopens: `emptyDir` is a fresh directory that lives as long as the pod
//! (it survives OnFailure restarts), `hostPath` a host directory (relative paths are resolved
//! against the manifest's folder), a `csi` outputs volume the pod's staging folder (see
//! [`super::outputs`]). `volumeMounts` map them into a container, `subPath` selects a
//! subdirectory that must stay inside its volume, `readOnly` is enforced by WASI.

use super::outputs::{self, OutputVolume};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use wasmjob_sandbox::Mount;
use wasmjob_spec::{Container, Pod};

/// Creates or finds every volume of the pod; returns its host directory by name.
///
/// A pod starts once on a node, so whatever its `emptyDir`s already hold is from a start the
/// store never heard of: the process died before the pod's first report was stored, and the
/// pod is run again as one that never started (`control/src/manager/recovery.rs`). Those
/// leftovers are removed, so an `emptyDir` begins empty, as it does in Kubernetes.
pub fn prepare(
    pod: &Pod,
    base_dir: &Path,
    pod_dir: &Path,
    output_volumes: &[OutputVolume],
) -> Result<HashMap<String, PathBuf>, String> {
    if pod.spec.volumes.iter().any(|v| v.empty_dir.is_some()) {
        let leftovers = pod_dir.join("volumes");
        match std::fs::remove_dir_all(&leftovers) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!(
                    "cannot clear the pod's earlier volumes {}: {e}",
                    leftovers.display()
                ));
            }
            _ => {}
        }
    }
    let mut out = HashMap::new();
    for v in &pod.spec.volumes {
        let dir = if let Some(o) = output_volumes.iter().find(|o| o.name == v.name) {
            outputs::prepare(o)?;
            o.staging.clone()
        } else if v.empty_dir.is_some() {
            let dir = pod_dir.join("volumes").join(&v.name);
            std::fs::create_dir_all(&dir).map_err(|e| {
                format!(
                    "volume {:?}: cannot create emptyDir {}: {e}",
                    v.name,
                    dir.display()
                )
            })?;
            dir
        } else if let Some(hp) = &v.host_path {
            let path = base_dir.join(&hp.path);
            match hp.type_.as_deref().unwrap_or("") {
                "DirectoryOrCreate" => std::fs::create_dir_all(&path).map_err(|e| {
                    format!(
                        "volume {:?}: cannot create hostPath {}: {e}",
                        v.name,
                        path.display()
                    )
                })?,
                _ if !path.is_dir() => {
                    return Err(format!(
                        "volume {:?}: hostPath {} is not an existing directory",
                        v.name,
                        path.display()
                    ));
                }
                _ => {}
            }
            path
        } else {
            return Err(format!("volume {:?}: unsupported volume type", v.name));
        };
        out.insert(v.name.clone(), dir);
    }
    Ok(out)
}

/// The preopens of one container. `workingDir`, when set, must lie inside a mount; that
/// directory is also preopened as `.`, so relative paths resolve there.
pub fn mounts(
    container: &Container,
    volumes: &HashMap<String, PathBuf>,
) -> Result<Vec<Mount>, String> {
    let mut out = Vec::new();
    for vm in &container.volume_mounts {
        let root = volumes
            .get(&vm.name)
            .ok_or_else(|| format!("volumeMount {:?}: no such volume", vm.name))?;
        let mut host = root.clone();
        if let Some(sub) = vm.sub_path.as_deref().filter(|s| !s.is_empty()) {
            host = root.join(sub);
            if !host.exists() {
                std::fs::create_dir_all(&host).map_err(|e| format!("subPath {sub:?}: {e}"))?;
            }
            let real_root = root
                .canonicalize()
                .map_err(|e| format!("volume {:?}: {e}", vm.name))?;
            let real = host
                .canonicalize()
                .map_err(|e| format!("subPath {sub:?}: {e}"))?;
            if !real.starts_with(&real_root) {
                return Err(format!(
                    "subPath {sub:?} resolves outside its volume {:?}",
                    vm.name
                ));
            }
            if !real.is_dir() {
                return Err(format!(
                    "subPath {sub:?} is not a directory (WASI can only mount directories)"
                ));
            }
            host = real;
        }
        out.push(Mount {
            host_path: host,
            guest_path: vm.mount_path.clone(),
            read_only: vm.read_only == Some(true),
        });
    }
    if let Some(wd) = container.working_dir.as_deref().filter(|w| !w.is_empty()) {
        let best = out
            .iter()
            .filter(|m| Path::new(wd).starts_with(&m.guest_path))
            .max_by_key(|m| m.guest_path.len())
            .cloned()
            .ok_or_else(|| format!("workingDir {wd:?} is not inside a volume mount"))?;
        let rel = Path::new(wd)
            .strip_prefix(&best.guest_path)
            .unwrap_or(Path::new(""));
        if rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(format!("workingDir {wd:?} must not contain '..'"));
        }
        let host = best.host_path.join(rel);
        if !host.is_dir() {
            std::fs::create_dir_all(&host).map_err(|e| format!("workingDir {wd:?}: {e}"))?;
        }
        out.push(Mount {
            host_path: host,
            guest_path: ".".into(),
            read_only: best.read_only,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pod run again after a crash (the store never heard it start) finds its `emptyDir`
    /// empty, not holding what the lost first start wrote (a run counter, say).
    #[test]
    fn an_empty_dir_begins_empty_even_after_a_start_the_store_never_saw() {
        let root = std::env::temp_dir().join(format!("wasmjob-volumes-{}", uuid::Uuid::new_v4()));
        let pod_dir = root.join("pod");
        let mut pod = Pod::default();
        pod.spec.volumes.push(wasmjob_spec::Volume {
            name: "scratch".into(),
            empty_dir: Some(Default::default()),
            ..Default::default()
        });
        let first = prepare(&pod, &root, &pod_dir, &[]).unwrap();
        let scratch = first["scratch"].clone();
        assert_eq!(scratch, pod_dir.join("volumes").join("scratch"));
        std::fs::write(scratch.join("runs"), "1").unwrap();
        std::fs::create_dir_all(scratch.join("sub")).unwrap();

        let again = prepare(&pod, &root, &pod_dir, &[]).unwrap();
        assert_eq!(again["scratch"], scratch);
        assert_eq!(
            std::fs::read_dir(&scratch).unwrap().count(),
            0,
            "leftovers kept"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
