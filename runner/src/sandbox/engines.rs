//! The wasmtime engines: one without fuel metering (Jobs that ask for no fuel pay nothing for
//! it) and one with it, both with epoch interruption, and the ticker thread that advances their
//! epochs so that running guests yield to the executor every tick. Optionally both share an
//! on-disk cache of compiled modules (wasmtime's, keyed by the module's content and the engine's
//! settings), so that a later process skips compiling a module it has seen.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::{Cache, CacheConfig, Config, Engine};

/// How often epochs advance; a running guest yields (and can be stopped) at this granularity.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

pub struct Engines {
    pub plain: Engine,
    pub metered: Engine,
    cache: Option<Cache>,
    stop_ticker: Arc<AtomicBool>,
}

fn config(fuel: bool, cache: Option<&Cache>) -> Config {
    let mut c = Config::new();
    c.epoch_interruption(true);
    c.consume_fuel(fuel);
    c.cache(cache.cloned());
    c
}

impl Engines {
    /// Engines that keep compiled modules in `cache_dir` (created if missing), if given.
    pub fn new(cache_dir: Option<&Path>) -> wasmtime::Result<Engines> {
        let cache = match cache_dir {
            Some(dir) => {
                let mut cc = CacheConfig::new();
                cc.with_directory(dir);
                Some(Cache::new(cc)?)
            }
            None => None,
        };
        let plain = Engine::new(&config(false, cache.as_ref()))?;
        let metered = Engine::new(&config(true, cache.as_ref()))?;
        let stop_ticker = Arc::new(AtomicBool::new(false));
        let (p, m, stop) = (plain.weak(), metered.weak(), stop_ticker.clone());
        std::thread::Builder::new()
            .name("wasmjob-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match (p.upgrade(), m.upgrade()) {
                        (Some(p), Some(m)) => {
                            p.increment_epoch();
                            m.increment_epoch();
                        }
                        _ => break,
                    }
                }
            })
            .map_err(|e| wasmtime::format_err!("cannot start the epoch ticker: {e}"))?;
        Ok(Engines {
            plain,
            metered,
            cache,
            stop_ticker,
        })
    }

    /// Modules this process found compiled in the on-disk cache.
    pub fn cache_hits(&self) -> usize {
        self.cache.as_ref().map_or(0, Cache::cache_hits)
    }

    pub fn get(&self, metered: bool) -> &Engine {
        if metered { &self.metered } else { &self.plain }
    }
}

impl Drop for Engines {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use crate::sandbox::Sandbox;

    /// A later process (here: a second sandbox) finds the module compiled on disk.
    #[tokio::test]
    async fn a_second_sandbox_finds_the_module_compiled_on_disk() {
        let dir = std::env::temp_dir().join(format!("wasmjob-cache-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let module = dir.join("task.wasm");
        std::fs::write(
            &module,
            wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "_start")))"#)
                .unwrap(),
        )
        .unwrap();
        let cache = dir.join("modules");
        let first = Sandbox::with_module_cache(&cache).unwrap();
        first.prepare(&module, false).await.unwrap();
        assert_eq!(first.module_cache_hits(), 0, "nothing cached yet");
        assert!(
            std::fs::read_dir(&cache).unwrap().next().is_some(),
            "the compiled module was written"
        );
        let second = Sandbox::with_module_cache(&cache).unwrap();
        second.prepare(&module, false).await.unwrap();
        assert_eq!(second.module_cache_hits(), 1);
        // The metered engine's settings differ: its artifact is a different entry.
        second.prepare(&module, true).await.unwrap();
        assert_eq!(second.module_cache_hits(), 1);
        let without = Sandbox::new().unwrap();
        without.prepare(&module, false).await.unwrap();
        assert_eq!(without.module_cache_hits(), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
