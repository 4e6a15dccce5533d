//! Modules by content digest, through the JetStream object store [`MODULES_BUCKET`]: the
//! control plane names each module a pod runs by its SHA-256 digest (`sha256:<hex>`, as OCI
//! names content) and puts it in the store once; a node gets it once, checks that its bytes
//! have that digest, and keeps it in its own cache (`<dir>/sha256-<hex>.wasm`, written through
//! a temporary file and renamed), so a node never runs a module other than the one named.
//! Must not: trust a module's name (the digest is checked on every fetch), or keep a module
//! larger than [`MAX_MODULE`].

use super::ClusterError;
use super::subjects::MODULES_BUCKET;
use async_nats::jetstream::object_store::{Config, ObjectStore};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;
use tokio::io::AsyncReadExt;

/// The largest module moved (256 MiB).
pub const MAX_MODULE: u64 = 256 << 20;

fn err(detail: impl std::fmt::Display) -> ClusterError {
    ClusterError::Modules {
        bucket: MODULES_BUCKET.into(),
        detail: detail.to_string(),
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The object's name for a digest (object names allow no `:`).
fn object_name(digest: &str) -> String {
    digest.replace(':', "-")
}

/// A module file's digest, with the file's size and modification time when it was read.
type Known = HashMap<PathBuf, (u64, Option<SystemTime>, String)>;

/// The module store, as the control plane and the nodes use it.
pub struct Modules {
    store: ObjectStore,
    /// Control plane: the digest of each module file read, by path, with the file's size and
    /// modification time when read (a changed file is read again).
    digests: Mutex<Known>,
}

impl Modules {
    /// Opens the store (creating it, if it is missing, with a copy on each server of the
    /// cluster up to three, so that it outlives a server).
    pub async fn open(client: &async_nats::Client) -> Result<Modules, ClusterError> {
        let replicas = (client.server_info().connect_urls.len() + 1).min(3);
        let js = async_nats::jetstream::new(client.clone());
        let store = match js.get_object_store(MODULES_BUCKET).await {
            Ok(s) => s,
            Err(_) => js
                .create_object_store(Config {
                    bucket: MODULES_BUCKET.into(),
                    description: Some("wasmjob: modules by content digest".into()),
                    num_replicas: replicas.max(1),
                    ..Default::default()
                })
                .await
                .map_err(err)?,
        };
        Ok(Modules {
            store,
            digests: Mutex::new(HashMap::new()),
        })
    }

    /// Control plane: the digest of the module at `path`, put in the store if it is not there.
    pub async fn publish(&self, path: &Path) -> Result<String, ClusterError> {
        let meta = std::fs::metadata(path)
            .map_err(|e| ClusterError::Io(format!("module {}: {e}", path.display())))?;
        let stamp = (meta.len(), meta.modified().ok());
        if let Some((len, modified, d)) = self.lock().get(path)
            && (*len, *modified) == stamp
        {
            return Ok(d.clone());
        }
        if meta.len() > MAX_MODULE {
            return Err(ClusterError::Io(format!(
                "module {} is {} bytes, more than the {MAX_MODULE} a node takes",
                path.display(),
                meta.len()
            )));
        }
        let bytes = std::fs::read(path)
            .map_err(|e| ClusterError::Io(format!("module {}: {e}", path.display())))?;
        let d = digest(&bytes);
        let name = object_name(&d);
        if self.store.info(&name).await.is_err() {
            self.store
                .put(name.as_str(), &mut bytes.as_slice())
                .await
                .map_err(err)?;
        }
        self.lock()
            .insert(path.to_path_buf(), (stamp.0, stamp.1, d.clone()));
        Ok(d)
    }

    /// Node: the path in `cache` of the module with digest `d`, fetched if it is not there.
    pub async fn fetch(&self, d: &str, cache: &Path) -> Result<PathBuf, ClusterError> {
        let hex = d
            .strip_prefix("sha256:")
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| err(format!("{d:?} is not a sha256 digest")))?;
        let path = cache.join(format!("sha256-{hex}.wasm"));
        if path.is_file() {
            return Ok(path);
        }
        let object = self
            .store
            .get(object_name(d))
            .await
            .map_err(|e| err(format!("module {d}: {e}")))?;
        let mut bytes = Vec::new();
        object
            .take(MAX_MODULE + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| err(format!("module {d}: {e}")))?;
        if bytes.len() as u64 > MAX_MODULE {
            return Err(err(format!("module {d} is larger than {MAX_MODULE} bytes")));
        }
        let got = digest(&bytes);
        if got != d {
            return Err(err(format!(
                "module {d} arrived with digest {got}: refused"
            )));
        }
        std::fs::create_dir_all(cache).map_err(|e| ClusterError::Io(e.to_string()))?;
        let partial = cache.join(format!(".sha256-{hex}.{}.part", std::process::id()));
        std::fs::write(&partial, &bytes)
            .and_then(|_| std::fs::rename(&partial, &path))
            .map_err(|e| ClusterError::Io(format!("{}: {e}", path.display())))?;
        Ok(path)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        self.digests.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_sha256_as_oci_writes_them() {
        assert_eq!(
            digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(object_name("sha256:ab"), "sha256-ab");
    }
}
