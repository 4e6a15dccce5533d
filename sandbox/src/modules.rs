//! The compiled-module cache: each module file is read, checked (a core module, not a
//! component; a WASI command exporting `_start`), compiled once per process and engine, and
//! linked into an `InstancePre`, so that a pod costs an instantiation, not a compilation.
//! Compilation runs on a blocking thread so it never stalls running guests.

use super::compiled::CompiledDir;
use super::run::State;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::sync::OnceCell;
use wasmtime::{Engine, InstancePre, Linker, Module};

/// Largest module file accepted.
pub const MAX_MODULE_BYTES: u64 = 256 << 20;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
    metered: bool,
}

type Slot = Arc<OnceCell<Result<InstancePre<State>, String>>>;

pub struct ModuleCache {
    /// Where compiled modules are kept for later processes, if anywhere.
    compiled: Option<Arc<CompiledDir>>,
    slots: Mutex<HashMap<Key, Slot>>,
    /// The slot each module file was last found in, and when: within [`RECHECK`] a pod reuses
    /// it without looking at the file again (a stat per pod is a cost per pod).
    recent: Mutex<HashMap<(PathBuf, bool), (std::time::Instant, Slot)>>,
}

/// How long a module file found unchanged is trusted without looking at it again.
const RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

impl ModuleCache {
    pub fn new(compiled: Option<Arc<CompiledDir>>) -> ModuleCache {
        ModuleCache {
            compiled,
            slots: Default::default(),
            recent: Default::default(),
        }
    }

    /// The linked module at `path`, compiling it on first use. Errors are messages for the
    /// container's `StartError`.
    pub async fn get(
        &self,
        engine: &Engine,
        path: &Path,
        metered: bool,
    ) -> Result<InstancePre<State>, String> {
        let recent = {
            let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            recent
                .get(&(path.to_path_buf(), metered))
                .filter(|(at, _)| at.elapsed() < RECHECK)
                .map(|(_, slot)| slot.clone())
        };
        if let Some(slot) = recent
            && let Some(linked) = slot.get()
        {
            return linked.clone();
        }
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read module {}: {e}", path.display()))?;
        if !meta.is_file() {
            return Err(format!("module {} is not a file", path.display()));
        }
        if meta.len() > MAX_MODULE_BYTES {
            return Err(format!(
                "module {} is {} bytes; the limit is {MAX_MODULE_BYTES} bytes",
                path.display(),
                meta.len()
            ));
        }
        let key = Key {
            path: path.to_path_buf(),
            len: meta.len(),
            modified: meta.modified().ok(),
            metered,
        };
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.entry(key).or_default().clone()
        };
        self.recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                (path.to_path_buf(), metered),
                (std::time::Instant::now(), slot.clone()),
            );
        let engine = engine.clone();
        let path = path.to_path_buf();
        let compiled = self.compiled.clone();
        slot.get_or_init(|| async move {
            tokio::task::spawn_blocking(move || compile(&engine, &path, compiled.as_deref()))
                .await
                .unwrap_or_else(|e| Err(format!("module compilation failed: {e}")))
        })
        .await
        .clone()
    }
}

fn compile(
    engine: &Engine,
    path: &Path,
    compiled: Option<&CompiledDir>,
) -> Result<InstancePre<State>, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read module {}: {e}", path.display()))?;
    check_header(&bytes, path)?;
    let module = match compiled {
        Some(dir) => dir.module(engine, &bytes),
        None => Module::new(engine, &bytes),
    }
    .map_err(|e| format!("invalid module {}: {e:#}", path.display()))?;
    match module.get_export("_start") {
        Some(wasmtime::ExternType::Func(_)) => {}
        _ => {
            return Err(format!(
                "module {} exports no `_start` function: it is not a WASI command (a library or reactor module cannot run as a container)",
                path.display()
            ));
        }
    }
    let mut linker: Linker<State> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s: &mut State| &mut s.wasi)
        .map_err(|e| format!("cannot set up WASI: {e:#}"))?;
    exit_status_as_a_process(&mut linker).map_err(|e| format!("cannot set up WASI: {e:#}"))?;
    super::abi::add_to_linker(&mut linker)
        .map_err(|e| format!("cannot set up {}: {e:#}", super::abi::MODULE))?;
    linker.instantiate_pre(&module).map_err(|e| {
        format!(
            "module {} cannot be linked: {e:#} (wasmjob offers the imports of WASI preview 1 and {})",
            path.display(),
            super::abi::MODULE
        )
    })
}

/// wasmtime-wasi refuses `proc_exit` statuses of 126 and above (a trap); a container's exit
/// code is what a process's would be: the status's low 8 bits (`exit(255)` is 255, `exit(-1)`
/// is 255, `exit(300)` is 44), so pod failure policies see the whole 0–255 range.
fn exit_status_as_a_process(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "proc_exit",
        |status: i32| -> wasmtime::Result<()> { Err(wasmtime_wasi::I32Exit(status & 0xff).into()) },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

fn check_header(bytes: &[u8], path: &Path) -> Result<(), String> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(format!(
            "{} is not a WebAssembly module (no \\0asm header)",
            path.display()
        ));
    }
    match bytes[4..8] {
        [1, 0, 0, 0] => Ok(()),
        [_, _, 1, 0] => Err(format!(
            "{} is a WebAssembly component; wasmjob runs WASI preview 1 core modules (build for wasm32-wasip1)",
            path.display()
        )),
        _ => Err(format!(
            "{} has an unsupported WebAssembly version",
            path.display()
        )),
    }
}
