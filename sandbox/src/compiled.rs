//! The on-disk store of compiled modules, shared by the processes of a state directory: one
//! file per module content and engine setting, `<sha256 of the module>-<engine>.cwasm`, which
//! a later process maps as it is (no copy, no decompression) instead of compiling the module
//! again; a module without an entry is compiled here and its entry written. It owns the
//! folder's layout, the writing (a temporary file, synced, then renamed: a file at its final
//! name is always whole) and its bound on size. It must not check or link modules (`modules`
//! does), nor load any file but the entries it wrote.
//!
//! Why not wasmtime's own cache: that one compresses each entry (zstd) and copies it out at
//! every load, and keeps a worker thread that rewrites a statistics file beside the entry at
//! every use: together most of what a warm one-pod `run` spends on its module.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};
use wasmtime::{Engine, Module};

/// Entries kept at most: past it (or past [`MAX_BYTES`]) the least recently used go.
const MAX_ENTRIES: usize = 512;

/// Bytes of entries kept at most.
const MAX_BYTES: u64 = 1 << 30;

/// A used entry older than this has its time renewed, so that eviction spares it.
const RENEW_AFTER: Duration = Duration::from_secs(24 * 3600);

/// What the folder's entries end with.
const EXTENSION: &str = "cwasm";

/// The folder of compiled modules and this process's use of it.
pub struct CompiledDir {
    dir: PathBuf,
    hits: AtomicUsize,
    max_entries: usize,
    max_bytes: u64,
}

/// An entry's name part for `engine`: a digest of every setting that makes compiled code of
/// one engine unusable by another (wasmtime's compatibility hash, which includes its version).
fn engine_key(engine: &Engine) -> String {
    /// Feeds what `Hash` writes into a SHA-256, whose output (unlike std's hashers) is the
    /// same in every process and every build.
    struct Sha(Sha256);
    impl Hasher for Sha {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
        fn finish(&self) -> u64 {
            0
        }
    }
    let mut h = Sha(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    hex(&h.0.finalize()[..8])
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl CompiledDir {
    /// The folder `dir` (created when a module is first written into it).
    pub fn new(dir: &Path) -> CompiledDir {
        CompiledDir::bounded(dir, MAX_ENTRIES, MAX_BYTES)
    }

    /// The folder `dir`, keeping at most `max_entries` entries and `max_bytes` bytes of them.
    fn bounded(dir: &Path, max_entries: usize, max_bytes: u64) -> CompiledDir {
        CompiledDir {
            dir: dir.to_path_buf(),
            hits: AtomicUsize::new(0),
            max_entries,
            max_bytes,
        }
    }

    /// Modules this process found compiled here.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::Relaxed)
    }

    fn entry(&self, engine: &Engine, wasm: &[u8]) -> PathBuf {
        let digest = hex(&Sha256::digest(wasm));
        self.dir
            .join(format!("{digest}-{}.{EXTENSION}", engine_key(engine)))
    }

    /// The module `wasm` compiled for `engine`: mapped from its entry when there is one,
    /// compiled and written into the folder when not. The folder is a cache: an entry that
    /// cannot be read (another wasmtime's, damaged) is compiled again and replaced, and a
    /// folder that cannot be written leaves the module compiled in memory only.
    pub fn module(&self, engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Module> {
        let entry = self.entry(engine, wasm);
        if let Ok(meta) = std::fs::metadata(&entry) {
            // SAFETY: entries are only ever written by `store` below: wasmtime's own output
            // for an engine of these settings, written whole under another name and renamed,
            // never changed in place afterwards (eviction unlinks; a mapped file stays as it
            // was). The folder is inside the state directory, which only its owner can write
            // (0700). wasmtime checks the header and its version and settings, and refuses an
            // entry not made by this build.
            if let Ok(module) = unsafe { Module::deserialize_file(engine, &entry) } {
                self.hits.fetch_add(1, Ordering::Relaxed);
                renew(&entry, &meta);
                return Ok(module);
            }
        }
        let module = Module::new(engine, wasm)?;
        if let Ok(bytes) = module.serialize() {
            // Best effort, as for any cache: the module is compiled either way.
            let _ = self.store(&entry, &bytes);
        }
        Ok(module)
    }

    /// Writes `bytes` as `entry`: whole or not at all, then keeps the folder within bounds.
    fn store(&self, entry: &Path, bytes: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let name = entry
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("entry");
        // A name no other write uses, in this process or another: two threads of one process
        // may compile the same content at once (two paths to one module).
        static WRITES: AtomicUsize = AtomicUsize::new(0);
        let n = WRITES.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .dir
            .join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        let written = (|| {
            let mut f = std::fs::File::create_new(&tmp)?;
            f.write_all(bytes)?;
            // Synced before it takes its name: after a power loss an entry is whole or absent.
            f.sync_data()?;
            std::fs::rename(&tmp, entry)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written?;
        self.evict(entry);
        Ok(())
    }

    /// Removes the least recently used entries past the folder's bounds ([`MAX_ENTRIES`],
    /// [`MAX_BYTES`]), never `keep` (just written); leftovers of writes that died are removed
    /// after a day.
    fn evict(&self, keep: &Path) {
        let Ok(read) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
        for e in read.flatten() {
            let path = e.path();
            let Ok(meta) = e.metadata() else { continue };
            let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if path.extension().is_some_and(|x| x == "tmp") {
                if now.duration_since(used).unwrap_or_default() > RENEW_AFTER {
                    let _ = std::fs::remove_file(&path);
                }
                continue;
            }
            if meta.is_file() && path.extension().is_some_and(|x| x == EXTENSION) {
                entries.push((used, meta.len(), path));
            }
        }
        let mut bytes: u64 = entries.iter().map(|e| e.1).sum();
        let mut count = entries.len();
        entries.sort();
        for (_, len, path) in entries {
            if count <= self.max_entries && bytes <= self.max_bytes {
                break;
            }
            if path == keep {
                continue;
            }
            if std::fs::remove_file(&path).is_ok() {
                count -= 1;
                bytes -= len;
            }
        }
    }
}

/// Marks an entry used (its modification time), at most once per [`RENEW_AFTER`]: eviction
/// goes by it.
fn renew(entry: &Path, meta: &std::fs::Metadata) {
    let old = meta
        .modified()
        .ok()
        .and_then(|m| m.elapsed().ok())
        .is_none_or(|age| age > RENEW_AFTER);
    if old && let Ok(f) = std::fs::File::open(entry) {
        let _ = f.set_modified(SystemTime::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> PathBuf {
        std::env::temp_dir().join(format!("wasmjob-compiled-{}", uuid::Uuid::new_v4()))
    }

    /// A module exporting `_start` that returns `n` from a function, so each `n` is a
    /// different module.
    fn wasm(n: u32) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module (func (export "_start")) (func (export "n") (result i32) i32.const {n}))"#
        ))
        .unwrap()
    }

    fn entries(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_module_is_written_once_and_mapped_by_later_processes() {
        let dir = folder();
        let engine = Engine::default();
        let first = CompiledDir::new(&dir);
        first.module(&engine, &wasm(1)).unwrap();
        assert_eq!(first.hits(), 0);
        let written = entries(&dir);
        assert_eq!(written.len(), 1, "one entry, no leftovers: {written:?}");
        let name = written[0]
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let digest = hex(&Sha256::digest(wasm(1)));
        assert!(
            name.starts_with(&digest) && name.ends_with(".cwasm"),
            "{name}"
        );
        let later = CompiledDir::new(&dir);
        let module = later.module(&engine, &wasm(1)).unwrap();
        assert_eq!(later.hits(), 1);
        assert!(module.get_export("n").is_some());
        // Another engine setting is another entry.
        let mut config = wasmtime::Config::new();
        config.consume_fuel(true);
        let metered = Engine::new(&config).unwrap();
        later.module(&metered, &wasm(1)).unwrap();
        assert_eq!(later.hits(), 1);
        assert_eq!(entries(&dir).len(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_damaged_entry_is_compiled_again_and_replaced() {
        let dir = folder();
        let engine = Engine::default();
        CompiledDir::new(&dir).module(&engine, &wasm(2)).unwrap();
        let entry = entries(&dir).remove(0);
        for damage in [Vec::new(), b"not an ELF file".to_vec()] {
            std::fs::write(&entry, &damage).unwrap();
            let c = CompiledDir::new(&dir);
            let module = c.module(&engine, &wasm(2)).unwrap();
            assert!(module.get_export("n").is_some());
            assert_eq!(c.hits(), 0, "the damaged entry was not used");
            assert!(std::fs::metadata(&entry).unwrap().len() > 100, "replaced");
            let again = CompiledDir::new(&dir);
            again.module(&engine, &wasm(2)).unwrap();
            assert_eq!(again.hits(), 1);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_least_recently_used_entries_go_past_the_bound() {
        let dir = folder();
        let engine = Engine::default();
        let c = CompiledDir::bounded(&dir, 2, u64::MAX);
        let mut names = Vec::new();
        for n in 0..3 {
            c.module(&engine, &wasm(n)).unwrap();
            let newest = entries(&dir)
                .into_iter()
                .find(|p| !names.contains(p))
                .unwrap();
            // Apart in time, oldest first.
            let f = std::fs::File::open(&newest).unwrap();
            f.set_modified(SystemTime::now() - Duration::from_secs(3600 * (10 - n as u64)))
                .unwrap();
            names.push(newest);
        }
        // Writing the third evicted the first, the least recently used.
        assert_eq!(entries(&dir).len(), 2);
        assert!(!names[0].exists() && names[1].exists() && names[2].exists());
        // A byte bound keeps at least the entry just written.
        let tight = CompiledDir::bounded(&dir, 10, 1);
        tight.module(&engine, &wasm(7)).unwrap();
        let left = entries(&dir);
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(!names.contains(&left[0]));
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Threads (as processes would) writing the same entry at once leave one whole entry and
    /// no temporary file.
    #[test]
    fn writes_of_one_entry_at_once_leave_it_whole() {
        let dir = folder();
        let engine = Engine::default();
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    CompiledDir::new(&dir).module(&engine, &wasm(5)).unwrap();
                });
            }
        });
        let left = entries(&dir);
        assert_eq!(left.len(), 1, "{left:?}");
        let later = CompiledDir::new(&dir);
        let module = later.module(&engine, &wasm(5)).unwrap();
        assert_eq!(later.hits(), 1);
        assert!(module.get_export("n").is_some());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_unwritable_folder_leaves_the_module_compiled_in_memory() {
        let dir = folder();
        // A file where the folder should be.
        std::fs::write(&dir, b"").unwrap();
        let c = CompiledDir::new(&dir);
        let module = c.module(&Engine::default(), &wasm(3)).unwrap();
        assert!(module.get_export("n").is_some());
        std::fs::remove_file(dir).unwrap();
    }
}
