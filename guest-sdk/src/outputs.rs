//! Files in the atomic outputs volume (a `csi` volume with driver `outputs.wasmjob.dev`). The
//! task writes to a private staging directory; wasmjob publishes it into the Job's output
//! directory only when the work succeeds (the pod, or the acknowledged queue item), all at
//! once, and never over an index that was already published. A failed or stopped attempt
//! leaves nothing behind, so a task needs no clean-up of its own.

use crate::{Context, HostError};
use std::io;
use std::path::PathBuf;

/// The mount path of this container's outputs volume.
pub fn dir() -> io::Result<PathBuf> {
    let ctx = Context::get().map_err(host_error)?;
    ctx.outputs.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "the container mounts no atomic outputs volume (a csi volume with driver outputs.wasmjob.dev)",
        )
    })
}

/// Writes `bytes` to `name` (a relative path; parent folders are created) in the outputs.
pub fn write(name: &str, bytes: impl AsRef<[u8]>) -> io::Result<PathBuf> {
    let path = dir()?.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, bytes)?;
    Ok(path)
}

fn host_error(e: HostError) -> io::Error {
    io::Error::other(e)
}
