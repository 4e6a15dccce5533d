//! The wasmtime engines: one without fuel metering (Jobs that ask for no fuel pay nothing for
//! it) and one with it, created on first use, both with epoch interruption, and the ticker
//! thread that advances their epochs so that running guests yield to the executor every tick.
//!
//! Instances come from wasmtime's pooling allocator: each engine reserves `slots` instance,
//! memory, table and fiber-stack slots up front, memories start from copy-on-write images of
//! the module's data, and a slot is reset (not unmapped) when its instance ends, keeping its
//! first pages resident — only the pages the instance touched, where Linux can say which
//! (`PAGEMAP_SCAN`, Linux 6.7 and later; elsewhere all of them). That is what makes a pod cost microseconds. A run waits for a free
//! slot rather than failing (see `Sandbox::run`).
//!
//! Optionally both engines share an on-disk store of compiled modules (see `compiled`), so
//! that a later process skips compiling a module it has seen.

use super::compiled::CompiledDir;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use wasmtime::{Config, Engine, EngineWeak, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often epochs advance; a running guest yields (and can be stopped) at this granularity.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Largest linear memory a guest may have (all of wasm32's address space); each memory slot
/// reserves this much address space, not memory.
pub const MAX_MEMORY_BYTES: usize = 4 << 30;

/// Largest table a guest may have, in elements.
pub const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Bytes of a linear memory kept mapped (and zeroed rather than unmapped) when its slot is
/// reused, so the next instance does not fault them in again: a Rust guest's stack and data fit.
const MEMORY_KEEP_RESIDENT: usize = 2 << 20;

/// The same for tables and fiber stacks.
const KEEP_RESIDENT: usize = 64 << 10;

/// Slots kept warm (resident, with their module's image mapped) while unused; what they keep
/// resident is bounded by this times `MEMORY_KEEP_RESIDENT`.
const WARM_SLOTS: u32 = 128;

pub struct Engines {
    pub plain: Engine,
    metered: OnceLock<Result<Engine, String>>,
    slots: u32,
    compiled: Option<Arc<CompiledDir>>,
    /// The engines the ticker advances.
    ticked: Arc<Mutex<Vec<EngineWeak>>>,
    stop_ticker: Arc<AtomicBool>,
}

fn config(fuel: bool, slots: u32) -> Config {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(slots)
        .total_memories(slots)
        .total_tables(slots)
        .total_stacks(slots)
        .max_memory_size(MAX_MEMORY_BYTES)
        .table_elements(MAX_TABLE_ELEMENTS)
        .max_unused_warm_slots(slots.min(WARM_SLOTS))
        .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT)
        .async_stack_keep_resident(KEEP_RESIDENT)
        .pagemap_scan(wasmtime::Enabled::Auto);
    let mut c = Config::new();
    c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    c.epoch_interruption(true);
    c.consume_fuel(fuel);
    c
}

impl Engines {
    /// Engines with room for `slots` instances at once, keeping compiled modules in `cache_dir`
    /// (created when first written), if given.
    pub fn new(cache_dir: Option<&Path>, slots: u32) -> wasmtime::Result<Engines> {
        let slots = slots.max(1);
        let plain = Engine::new(&config(false, slots))?;
        let ticked = Arc::new(Mutex::new(vec![plain.weak()]));
        let stop_ticker = Arc::new(AtomicBool::new(false));
        let (engines, stop) = (ticked.clone(), stop_ticker.clone());
        std::thread::Builder::new()
            .name("wasmjob-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    let engines = engines.lock().unwrap_or_else(|e| e.into_inner());
                    for e in engines.iter() {
                        match e.upgrade() {
                            Some(e) => e.increment_epoch(),
                            None => return,
                        }
                    }
                }
            })
            .map_err(|e| wasmtime::format_err!("cannot start the epoch ticker: {e}"))?;
        Ok(Engines {
            plain,
            metered: OnceLock::new(),
            slots,
            compiled: cache_dir.map(|d| Arc::new(CompiledDir::new(d))),
            ticked,
            stop_ticker,
        })
    }

    /// Instances that may exist at once in each engine.
    pub fn slots(&self) -> u32 {
        self.slots
    }

    /// Modules this process found compiled in the on-disk cache.
    pub fn cache_hits(&self) -> usize {
        self.compiled.as_ref().map_or(0, |c| c.hits())
    }

    /// The on-disk store of compiled modules, if there is one.
    pub(crate) fn compiled(&self) -> Option<Arc<CompiledDir>> {
        self.compiled.clone()
    }

    /// The engine for metered (`true`) or unmetered runs; the metered one is made on first use,
    /// so a process that never meters reserves no slots for it.
    pub fn get(&self, metered: bool) -> Result<&Engine, String> {
        if !metered {
            return Ok(&self.plain);
        }
        self.metered
            .get_or_init(|| {
                let engine = Engine::new(&config(true, self.slots))
                    .map_err(|e| format!("cannot create the metered engine: {e:#}"))?;
                self.ticked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(engine.weak());
                Ok(engine)
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl Drop for Engines {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use crate::Sandbox;

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
