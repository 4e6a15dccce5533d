//! The baselines the benchmark compares wasmjob with, measured in the same run: the raw
//! instantiate-and-run loop (wasmtime alone, with the sandbox's own engine settings and no
//! bookkeeping), the cost of epoch checks on a tight loop, one native process per task, and the
//! `wasmtime` CLI (when one is on PATH).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wasmjob_control::sandbox::Engines;
use wasmtime::{Config, Engine, Linker, Module, Store};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

/// Tasks per second of the raw loop on `threads` threads for about `time`: instantiate the
/// pre-linked module in a fresh store (stdout captured in memory), call `_start`, drop.
pub fn raw_loop(wasm: &[u8], threads: usize, time: Duration) -> Result<f64, String> {
    let threads = threads.max(1);
    let engines = Engines::new(None, (threads * 2) as u32).map_err(|e| format!("{e:#}"))?;
    let engine = engines.plain.clone();
    let module = Module::new(&engine, wasm).map_err(|e| format!("{e:#}"))?;
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s).map_err(|e| format!("{e:#}"))?;
    let pre = linker
        .instantiate_pre(&module)
        .map_err(|e| format!("{e:#}"))?;
    let started = Instant::now();
    let counts: Vec<Result<u64, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (engine, pre) = (engine.clone(), pre.clone());
                scope.spawn(move || {
                    let mut n = 0u64;
                    while started.elapsed() < time {
                        let wasi = WasiCtxBuilder::new()
                            .stdout(MemoryOutputPipe::new(4096))
                            .build_p1();
                        let mut store = Store::new(&engine, wasi);
                        store.set_epoch_deadline(u64::MAX / 2);
                        let instance = pre.instantiate(&mut store).map_err(|e| format!("{e:#}"))?;
                        let start = instance
                            .get_typed_func::<(), ()>(&mut store, "_start")
                            .map_err(|e| format!("{e:#}"))?;
                        if let Err(e) = start.call(&mut store, ())
                            && e.downcast_ref::<wasmtime_wasi::I32Exit>().map(|x| x.0) != Some(0)
                        {
                            return Err(format!("{e:#}"));
                        }
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("a raw-loop thread panicked".into()))
            })
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut total = 0;
    for c in counts {
        total += c?;
    }
    Ok(total as f64 / elapsed)
}

/// Seconds the tight loop takes for `iterations` without and with epoch checks.
pub fn epoch_cost(wat: &[u8], iterations: i32) -> Result<(f64, f64), String> {
    let time = |epochs: bool| -> Result<f64, String> {
        let mut config = Config::new();
        config.epoch_interruption(epochs);
        let engine = Engine::new(&config).map_err(|e| format!("{e:#}"))?;
        let module = Module::new(&engine, wat).map_err(|e| format!("{e:#}"))?;
        let mut store = Store::new(&engine, ());
        if epochs {
            store.set_epoch_deadline(u64::MAX / 2);
        }
        let instance =
            wasmtime::Instance::new(&mut store, &module, &[]).map_err(|e| format!("{e:#}"))?;
        let run = instance
            .get_typed_func::<i32, ()>(&mut store, "run")
            .map_err(|e| format!("{e:#}"))?;
        run.call(&mut store, 1000).map_err(|e| format!("{e:#}"))?; // warm up
        let started = Instant::now();
        run.call(&mut store, iterations)
            .map_err(|e| format!("{e:#}"))?;
        Ok(started.elapsed().as_secs_f64())
    };
    // Interleaved, best of three, so that noise hits both alike.
    let (mut off, mut on) = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        off = off.min(time(false)?);
        on = on.min(time(true)?);
    }
    Ok((off, on))
}

/// Wall time of one run of `cmd` (output discarded); fails on a non-zero exit.
pub fn time_process(cmd: &mut Command) -> Result<Duration, String> {
    let started = Instant::now();
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let elapsed = started.elapsed();
    if !status.success() {
        return Err(format!("{cmd:?} failed: {status}"));
    }
    Ok(elapsed)
}

/// The median of `runs` timings of `make()`.
pub fn median_time(runs: usize, make: impl Fn() -> Command) -> Result<Duration, String> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        times.push(time_process(&mut make())?);
    }
    Ok(median(times))
}

/// The medians of `runs` timings of each of `makes`, run in turn (one of each, then again),
/// so that a burst of the machine's noise falls on all of them alike rather than on whichever
/// ran while it lasted.
pub fn interleaved_medians(
    runs: usize,
    makes: &[&dyn Fn() -> Command],
) -> Result<Vec<Duration>, String> {
    let mut times = vec![Vec::with_capacity(runs); makes.len()];
    for _ in 0..runs.max(1) {
        for (make, times) in makes.iter().zip(&mut times) {
            times.push(time_process(&mut make())?);
        }
    }
    Ok(times.into_iter().map(median).collect())
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Tasks per second of `command` (a shell word list) run as one process per task, `parallel`
/// at a time through `xargs -P`.
pub fn xargs_rate(command: &str, tasks: usize, parallel: usize) -> Result<f64, String> {
    let script = format!("seq {tasks} | xargs -P{parallel} -I{{}} {command} > /dev/null");
    let elapsed = time_process(Command::new("sh").arg("-c").arg(script))?;
    Ok(tasks as f64 / elapsed.as_secs_f64())
}

/// The `wasmtime` binary on PATH, if any.
pub fn wasmtime_cli() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("wasmtime"))
        .find(|p| p.is_file())
}

/// Tasks per second of `wasmtime run` as one process per task, `parallel` at a time through
/// `xargs -P`, on a module compiled ahead of time.
pub fn wasmtime_xargs(
    wasmtime: &Path,
    module: &Path,
    tasks: usize,
    parallel: usize,
) -> Result<f64, String> {
    let cwasm = module.with_extension("cwasm");
    time_process(
        Command::new(wasmtime)
            .arg("compile")
            .arg(module)
            .arg("-o")
            .arg(&cwasm),
    )?;
    let command = format!(
        "{} run --allow-precompiled {}",
        sh_quote(wasmtime),
        sh_quote(&cwasm)
    );
    xargs_rate(&command, tasks, parallel)
}

fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}
