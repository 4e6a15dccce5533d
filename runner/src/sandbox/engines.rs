//! The wasmtime engines: one without fuel metering (Jobs that ask for no fuel pay nothing for
//! it) and one with it, both with epoch interruption, and the ticker thread that advances their
//! epochs so that running guests yield to the executor every tick.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::{Config, Engine};

/// How often epochs advance; a running guest yields (and can be stopped) at this granularity.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

pub struct Engines {
    pub plain: Engine,
    pub metered: Engine,
    stop_ticker: Arc<AtomicBool>,
}

fn config(fuel: bool) -> Config {
    let mut c = Config::new();
    c.epoch_interruption(true);
    c.consume_fuel(fuel);
    c
}

impl Engines {
    pub fn new() -> wasmtime::Result<Engines> {
        let plain = Engine::new(&config(false))?;
        let metered = Engine::new(&config(true))?;
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
            stop_ticker,
        })
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
