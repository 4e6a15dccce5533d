//! Atomic outputs: a `csi` volume with driver `outputs.wasmjob.dev`. The Job's output directory
//! (`volumeAttributes.path`, default `outputs/<job name>`, relative to the manifest's folder)
//! receives one folder per unit of work: `<index>/` in Indexed Jobs, `<item id>/` for an
//! acknowledged work-queue item, `<pod name>/` otherwise. A pod writes to a private staging
//! folder, `<output dir>/.staging/<pod uid>/`, on the same file system. Publishing moves the
//! staged files into a temporary folder beside it and renames that folder into place in one
//! step, so a reader sees all of a unit or nothing. A unit that exists is never overwritten: a
//! duplicate run's files are discarded. A failed or stopped pod's staging folder is removed.

use std::path::{Path, PathBuf};
use wasmjob_spec::{COMPLETION_INDEX_ANNOTATION, OUTPUTS_DRIVER, OUTPUTS_PATH_ATTRIBUTE, Pod};

/// Folder of staging and temporary folders inside an output directory.
pub const STAGING: &str = ".staging";

/// One outputs volume of one pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputVolume {
    /// The volume's name in the pod spec.
    pub name: String,
    /// The Job's output directory.
    pub out_dir: PathBuf,
    /// This pod's staging folder (what the container mounts).
    pub staging: PathBuf,
}

/// How a publish went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Published {
    /// The unit's folder was created with the staged files.
    Done,
    /// The unit was published before; the staged files were discarded.
    AlreadyThere,
    /// Nothing was staged; nothing was created.
    Nothing,
}

/// The pod's outputs volumes, without touching the disk.
pub fn of_pod(pod: &Pod, base_dir: &Path) -> Vec<OutputVolume> {
    let job = pod
        .metadata
        .controller()
        .map(|o| o.name.as_str())
        .unwrap_or(pod.metadata.name());
    pod.spec
        .volumes
        .iter()
        .filter_map(|v| {
            let csi = v.csi.as_ref().filter(|c| c.driver == OUTPUTS_DRIVER)?;
            let out_dir = match csi.volume_attributes.get(OUTPUTS_PATH_ATTRIBUTE) {
                Some(p) => base_dir.join(p),
                None => base_dir.join("outputs").join(job),
            };
            let staging = out_dir.join(STAGING).join(pod.metadata.uid());
            Some(OutputVolume {
                name: v.name.clone(),
                out_dir,
                staging,
            })
        })
        .collect()
}

/// Creates the output directory and a fresh, empty staging folder.
pub fn prepare(v: &OutputVolume) -> Result<(), String> {
    let fail = |what: &Path, e: std::io::Error| {
        format!("volume {:?}: cannot create {}: {e}", v.name, what.display())
    };
    std::fs::create_dir_all(&v.out_dir).map_err(|e| fail(&v.out_dir, e))?;
    discard(v);
    // Another pod's discard may remove an empty `.staging` under our feet: try again.
    let mut tries = 0;
    loop {
        match std::fs::create_dir_all(&v.staging) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 3 => tries += 1,
            Err(e) => return Err(fail(&v.staging, e)),
        }
    }
}

/// Empties the staging folder (a container restarts: its earlier attempt's files go).
pub fn clear(v: &OutputVolume) -> Result<(), String> {
    let entries = std::fs::read_dir(&v.staging)
        .map_err(|e| format!("volume {:?}: {}: {e}", v.name, v.staging.display()))?;
    for entry in entries.flatten() {
        remove(&entry.path());
    }
    Ok(())
}

/// Removes the staging folder and any half-made publish of this pod.
pub fn discard(v: &OutputVolume) {
    remove(&v.staging);
    let prefix = publish_prefix(v);
    let Ok(entries) = std::fs::read_dir(v.out_dir.join(STAGING)) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            remove(&entry.path());
        }
    }
    // Gone once no pod stages here.
    let _ = std::fs::remove_dir(v.out_dir.join(STAGING));
}

/// Publishes what is staged as `unit`, leaving the staging folder empty.
pub fn publish(v: &OutputVolume, unit: &str) -> Result<Published, String> {
    let err = |what: &str, p: &Path, e: std::io::Error| {
        format!("volume {:?}: cannot {what} {}: {e}", v.name, p.display())
    };
    let target = v.out_dir.join(unit);
    let staged: Vec<PathBuf> = std::fs::read_dir(&v.staging)
        .map_err(|e| err("read", &v.staging, e))?
        .flatten()
        .map(|e| e.path())
        .collect();
    if staged.is_empty() {
        return Ok(Published::Nothing);
    }
    if target.symlink_metadata().is_ok() {
        clear(v)?;
        return Ok(Published::AlreadyThere);
    }
    let tmp = v
        .out_dir
        .join(STAGING)
        .join(format!("{}{unit}", publish_prefix(v)));
    remove(&tmp);
    std::fs::create_dir(&tmp).map_err(|e| err("create", &tmp, e))?;
    for path in staged {
        if let Some(name) = path.file_name() {
            std::fs::rename(&path, tmp.join(name)).map_err(|e| err("move", &path, e))?;
        }
    }
    match std::fs::rename(&tmp, &target) {
        Ok(()) => Ok(Published::Done),
        // A duplicate published the unit meanwhile (rename refuses a non-empty target).
        Err(_) if target.symlink_metadata().is_ok() => {
            remove(&tmp);
            Ok(Published::AlreadyThere)
        }
        Err(e) => Err(err("publish", &target, e)),
    }
}

/// Publishes every volume's staged files as `unit`; a unit published before is reported to
/// `warn` (its duplicate files are discarded). Stops at the first volume that fails.
pub fn publish_all(
    volumes: &[OutputVolume],
    unit: &str,
    warn: impl Fn(String),
) -> Result<(), String> {
    for v in volumes {
        if publish(v, unit)? == Published::AlreadyThere {
            warn(format!(
                "outputs of volume {:?} not published: {} was published before (a duplicate run's files are discarded)",
                v.name,
                v.out_dir.join(unit).display()
            ));
        }
    }
    Ok(())
}

/// The name prefix of this pod's temporary publish folders (beside its staging folder).
fn publish_prefix(v: &OutputVolume) -> String {
    let own = v.staging.file_name().unwrap_or_default().to_string_lossy();
    format!("{own}.publish-")
}

/// The unit a pod's success publishes: its completion index, else its name.
pub fn pod_unit(pod: &Pod) -> String {
    pod.metadata
        .labels
        .get(COMPLETION_INDEX_ANNOTATION)
        .cloned()
        .unwrap_or_else(|| pod.metadata.name().to_string())
}

fn remove(path: &Path) {
    match path.symlink_metadata() {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(dir: &Path, pod_uid: &str) -> OutputVolume {
        let v = OutputVolume {
            name: "out".into(),
            out_dir: dir.join("out"),
            staging: dir.join("out").join(STAGING).join(pod_uid),
        };
        prepare(&v).unwrap();
        v
    }

    fn tempdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("wasmjob-outputs-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn publishes_the_staged_files_as_one_folder() {
        let dir = tempdir();
        let v = volume(&dir, "pod-a");
        std::fs::create_dir_all(v.staging.join("sub")).unwrap();
        std::fs::write(v.staging.join("tile.bin"), b"pixels").unwrap();
        std::fs::write(v.staging.join("sub/meta"), b"m").unwrap();
        assert_eq!(publish(&v, "3"), Ok(Published::Done));
        assert_eq!(
            std::fs::read(v.out_dir.join("3/tile.bin")).unwrap(),
            b"pixels"
        );
        assert_eq!(std::fs::read(v.out_dir.join("3/sub/meta")).unwrap(), b"m");
        assert_eq!(
            std::fs::read_dir(&v.staging).unwrap().count(),
            0,
            "staging emptied"
        );
        let left: Vec<_> = std::fs::read_dir(v.out_dir.join(STAGING))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            left,
            vec![std::ffi::OsString::from("pod-a")],
            "no temporary left"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_published_unit_is_never_overwritten() {
        let dir = tempdir();
        let first = volume(&dir, "pod-a");
        std::fs::write(first.staging.join("r"), b"first").unwrap();
        assert_eq!(publish(&first, "0"), Ok(Published::Done));
        let dup = volume(&dir, "pod-b");
        std::fs::write(dup.staging.join("r"), b"second").unwrap();
        std::fs::write(dup.staging.join("extra"), b"x").unwrap();
        assert_eq!(publish(&dup, "0"), Ok(Published::AlreadyThere));
        assert_eq!(std::fs::read(first.out_dir.join("0/r")).unwrap(), b"first");
        assert!(!first.out_dir.join("0/extra").exists());
        assert_eq!(std::fs::read_dir(&dup.staging).unwrap().count(), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn nothing_staged_publishes_nothing_and_discard_removes_all_traces() {
        let dir = tempdir();
        let v = volume(&dir, "pod-a");
        assert_eq!(publish(&v, "p"), Ok(Published::Nothing));
        assert!(!v.out_dir.join("p").exists());
        std::fs::write(v.staging.join("half"), b"partial").unwrap();
        std::fs::create_dir(v.out_dir.join(STAGING).join("pod-a.publish-7")).unwrap();
        discard(&v);
        assert!(!v.staging.exists());
        assert!(!v.out_dir.join(STAGING).exists(), "an unused .staging goes");
        let published: Vec<_> = std::fs::read_dir(&v.out_dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name() != STAGING)
            .collect();
        assert!(published.is_empty(), "no partial file is published");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
