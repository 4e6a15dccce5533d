//! Reading manifests for `run`, `apply`, `create` and `delete -f`: a file, every
//! `.yaml`/`.yml`/`.json` file of a folder (kubectl's rule: not recursive), or `-` for stdin;
//! defaults and validation (all or nothing), namespaces as kubectl resolves them, and the
//! compile check of every module (a bad module is bad input, refused before anything is
//! stored).

use super::Failure;
pub use crate::ops::manifest::{Manifest, give_identity};
use crate::sandbox::Sandbox;
use std::io::Read;
use std::path::{Path, PathBuf};
use wasmjob_spec::*;

/// Reads every Job of `file` (a file, a folder or `-`), printing warnings on stderr.
pub fn read_manifests(file: &str, namespace: Option<&str>) -> Result<Vec<Manifest>, Failure> {
    let cwd = std::env::current_dir()?;
    let mut texts = Vec::new();
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::input(format!("error: reading stdin: {e}")))?;
        texts.push((text, "-".to_string(), cwd.clone()));
    } else {
        let path = cwd.join(file);
        let meta = std::fs::metadata(&path).map_err(|e| {
            Failure::input(format!(
                "error: the path {file:?} cannot be read: {}",
                io_words(&e)
            ))
        })?;
        if meta.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
                .map_err(|e| Failure::input(format!("error: {file}: {e}")))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
                })
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(Failure::input(format!(
                    "error: no objects passed to apply: {file} has no .yaml, .yml or .json file"
                )));
            }
            for f in files {
                let shown = f.display().to_string();
                texts.push((read_text(&f, &shown)?, shown, path.clone()));
            }
        } else {
            let base = path.parent().map(Path::to_path_buf).unwrap_or(cwd);
            texts.push((read_text(&path, file)?, file.to_string(), base));
        }
    }
    let mut out = Vec::new();
    for (text, source, base_dir) in texts {
        for l in load_jobs(&text, &source)? {
            for w in &l.warnings {
                eprintln!("Warning: {source}: job {:?}: {w}", l.job.name());
            }
            let mut job = l.job;
            job.metadata.namespace = Some(resolve_namespace(&job, namespace)?);
            out.push(Manifest {
                job,
                base_dir: base_dir.clone(),
                items: None,
            });
        }
    }
    let mut names: Vec<(String, String)> = out
        .iter()
        .filter(|m| m.job.metadata.name.is_some())
        .map(|m| (m.job.namespace().into(), m.job.name().into()))
        .collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(Failure::input(format!(
            "error: {file}: two documents define Job {:?} in namespace {:?}",
            w[0].1, w[0].0
        )));
    }
    Ok(out)
}

fn io_words(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "it does not exist".into(),
        _ => e.to_string(),
    }
}

fn read_text(path: &Path, shown: &str) -> Result<String, Failure> {
    let meta =
        std::fs::metadata(path).map_err(|e| Failure::input(format!("error: {shown}: {e}")))?;
    if meta.len() > parse::MAX_MANIFEST_BYTES as u64 {
        return Err(Failure::input(format!(
            "error: {shown}: larger than {} bytes",
            parse::MAX_MANIFEST_BYTES
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Failure::input(format!("error: {shown}: {e}")))?;
    String::from_utf8(bytes).map_err(|_| Failure::input(format!("error: {shown}: not UTF-8 text")))
}

/// kubectl's rule: the manifest's namespace and `-n` must agree.
fn resolve_namespace(job: &Job, flag: Option<&str>) -> Result<String, Failure> {
    match (job.metadata.namespace.as_deref(), flag) {
        (Some(a), Some(b)) if a != b => Err(Failure::input(format!(
            "error: the namespace from the provided object {a:?} does not match the namespace {b:?}. You must pass '--namespace={a}' to perform this operation."
        ))),
        (Some(a), _) => Ok(a.to_string()),
        (None, Some(b)) => Ok(b.to_string()),
        (None, None) => Ok("default".to_string()),
    }
}

/// Compiles every module the Jobs name; the first that does not load is bad input.
pub async fn check_modules(sandbox: &Sandbox, manifests: &[Manifest]) -> Result<(), Failure> {
    for m in manifests {
        let job = &m.job;
        crate::node::prepare_modules(sandbox, job, &m.base_dir)
            .await
            .map_err(|p| match p.container {
                None => Failure::input(format!("error: job {:?}: {}", job.name(), p.message)),
                Some(c) => Failure::input(format!(
                    "error: job {:?}, container {c:?}: {}",
                    job.name(),
                    p.message
                )),
            })?;
    }
    Ok(())
}

/// Checks the modules on a runtime of its own (for commands that are not async).
pub fn check_modules_blocking(state_dir: &Path, manifests: &[Manifest]) -> Result<(), Failure> {
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let sandbox = super::sandbox(state_dir, 1)?;
        check_modules(&sandbox, manifests).await
    })
}
