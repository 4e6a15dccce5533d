//! `wasmjob kubeconfig [-o FILE]`: the kubeconfig for the Kubernetes API of the `serve
//! --listen` of this state directory (its address and bearer token), so that
//! `kubectl --kubeconfig FILE …` or `KUBECONFIG=FILE kubectl …` works.

use super::Failure;
use crate::api::auth;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct KubeconfigArgs {
    /// Write it to FILE (mode 0600: it holds the token) instead of printing it.
    #[arg(short = 'o', long = "output-file", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

pub fn kubeconfig(args: KubeconfigArgs, state_dir: &Path) -> Result<(), Failure> {
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path)
            .map(|t| t.trim().to_string())
            .map_err(|e| {
                Failure::runtime(format!(
                    "error: {}: {e}; no `wasmjob serve --listen ADDR` has served the Kubernetes API of {} yet",
                    path.display(),
                    state_dir.display()
                ))
            })
    };
    let address = read(auth::address_path(state_dir))?;
    let token = read(auth::token_path(state_dir))?;
    let ca = read(crate::api::tls::cert_path(state_dir))?;
    let text = render(&address, &token, &ca);
    match args.file {
        None => {
            print!("{text}");
            Ok(())
        }
        Some(path) => std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| Failure::runtime(format!("error: {}: {e}", path.display()))),
    }
}

/// The kubeconfig for the API at `address` with `token`, trusting the certificate `ca` (PEM):
/// one cluster, user and context, all named `wasmjob`, namespace `default`.
fn render(address: &str, token: &str, ca: &str) -> String {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(format!("{ca}\n"));
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: wasmjob
  cluster:
    server: https://{address}
    certificate-authority-data: {ca}
users:
- name: wasmjob
  user:
    token: {token}
contexts:
- name: wasmjob
  context:
    cluster: wasmjob
    user: wasmjob
    namespace: default
current-context: wasmjob
"
    )
}
