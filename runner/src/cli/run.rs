//! `wasmjob run FILE`: read, default and validate every Job in FILE, store them, and run them
//! to their end in the foreground, with live progress on a terminal. On failure it says why
//! and shows the tail of the last failed pod's log. `-o json|yaml` prints the final Jobs.

use super::Failure;
use super::controller::{build_manager, manager_failure, shutdown_signal, take_lease};
use super::input::{Manifest, check_modules, give_identity, read_manifests};
use super::printers;
use crate::lease::Role;
use crate::manager::{ManagerError, Scope};
use crate::store::{JobRecord, Store};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use wasmjob_spec::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RunOutput {
    Json,
    Yaml,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Manifest: a YAML file (several documents allowed), JSON, a folder of them, or `-`.
    pub file: String,

    /// Print the final Job(s) as Kubernetes shapes them (a List when there are several).
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<RunOutput>,

    /// Delete an existing Job of the same name (with its pods and logs) before running.
    #[arg(long)]
    pub replace: bool,

    /// Work-queue items for the Job, one per line (`-`: stdin); its pods take them through
    /// the guest SDK. Overrides the annotation wasmjob.dev/items-file.
    #[arg(long, value_name = "FILE")]
    pub items: Option<String>,

    #[command(flatten)]
    pub controller: crate::settings::Settings,
}

pub fn run(args: RunArgs, state_dir: &Path, namespace: Option<&str>) -> Result<u8, Failure> {
    let mut manifests = read_manifests(&args.file, namespace)?;
    crate::ops::items::attach_items(&mut manifests, args.items.as_deref())?;
    let now = Time(jiff::Timestamp::now());
    for m in &mut manifests {
        give_identity(&mut m.job, now);
    }
    let runtime = super::runtime()?;
    let r = runtime.block_on(run_jobs(args, state_dir, manifests));
    // What the run did is committed and closed when `run_jobs` returns (`Manager::close`); an
    // interrupted run's last status too. Left are idle threads: not waited for.
    runtime.shutdown_background();
    r
}

/// Fewest instance slots `run` reserves, so that a Job patched to more parallelism while it
/// runs still has room.
const MIN_SLOTS: usize = 64;

/// Instances the Jobs can run at once: per Job, its pods at once (parallelism, capped by
/// completions) times its containers. Reserving slots costs start-up time, so `run` reserves
/// what its Jobs need rather than `--max-pods`.
fn instances_at_once(manifests: &[Manifest]) -> usize {
    manifests
        .iter()
        .map(|m| {
            let spec = &m.job.spec;
            let parallelism = spec.parallelism.unwrap_or(1).max(0) as usize;
            let pods = match spec.completions {
                Some(c) => parallelism.min(c.max(0) as usize),
                None => parallelism,
            };
            pods * spec.template.spec.containers.len().max(1)
        })
        .sum()
}

async fn run_jobs(
    args: RunArgs,
    state_dir: &Path,
    manifests: Vec<Manifest>,
) -> Result<u8, Failure> {
    let slots = instances_at_once(&manifests).clamp(MIN_SLOTS, args.controller.max_pods.max(1));
    // An existing store opens (and is checked) on a thread of its own while the modules load:
    // each takes about a millisecond, the better part of a short run. Opening writes nothing
    // to a store that exists; a new one is made only once the modules have loaded.
    let opening = crate::store::StateDir::new(state_dir)
        .db()
        .is_file()
        .then(|| {
            let dir = state_dir.to_path_buf();
            std::thread::spawn(move || Store::open(&dir))
        });
    let sandbox = Arc::new(super::sandbox(state_dir, slots)?);
    // Every module is compiled before anything is stored: a bad module is bad input.
    check_modules(&sandbox, &manifests).await?;
    let mut store = match opening {
        Some(thread) => thread
            .join()
            .map_err(|_| Failure::runtime("error: opening the store failed"))??,
        None => Store::open(state_dir)?,
    };
    for m in &manifests {
        let job = &m.job;
        if store.get_job(job.namespace(), job.name())?.is_some() {
            if !args.replace {
                return Err(Failure::input(format!(
                    "Error from server (AlreadyExists): jobs.batch {:?} already exists (use --replace to delete it first)",
                    job.name()
                )));
            }
            crate::ops::delete::delete_job(
                &mut store,
                job.namespace(),
                job.name(),
                "Background",
                true,
                None,
            )?;
        }
    }
    let lease = match take_lease(state_dir, Role::Run)? {
        Ok(l) => l,
        // A `serve` controls the directory: hand it the Jobs and follow them.
        Err(_) => return follow_under_serve(args, store, manifests).await,
    };
    let mut manager = build_manager(&args.controller, store, sandbox, lease.id(), Scope::Own)?;
    let mut uids = Vec::new();
    for m in manifests {
        let record = JobRecord {
            job: m.job,
            backoff: Default::default(),
            base_dir: m.base_dir,
        };
        uids.push(
            manager
                .create(record, m.items.as_deref())
                .map_err(manager_failure)?,
        );
    }

    let progress = Progress::new(&uids, |u| manager.job(u).cloned());
    let result = manager
        .run(
            Some(&uids),
            &mut |m| {
                progress.update(|u| {
                    m.job(u)
                        .map(|j| (j.clone(), pods_progress(m.pods_in_flight(u))))
                })
            },
            shutdown_signal(),
        )
        .await;
    progress.finish();
    match result {
        Ok(()) => {}
        Err(ManagerError::Interrupted) => {
            eprintln!("{}", ManagerError::Interrupted);
            return Ok(130);
        }
        Err(e) => return Err(manager_failure(e)),
    }
    // What is reported is what was committed: each Job as stored, with its failed pods.
    let mut finished: Vec<(Job, Vec<Pod>, bool)> = Vec::new();
    for u in &uids {
        let store = manager.store();
        match store.get_job_by_uid(u)? {
            Some(r) => finished.push((r.job, store.failed_pods_of_job(u)?, false)),
            None => {
                if let Some(job) = manager.job(u) {
                    finished.push((job.clone(), Vec::new(), manager.was_deleted(u)));
                }
            }
        }
    }
    let code = report(&args, &finished, manager.store())?;
    // ttlSecondsAfterFinished: what has expired goes now (TTL 0 leaves only what was printed).
    manager.delete_expired().await.map_err(manager_failure)?;
    // The process ends once this returns (see `main`).
    manager.close_before_exit().await.map_err(manager_failure)?;
    drop(lease);
    Ok(code)
}

/// `run` beside a `serve`: the Jobs are stored for the serve to run, and followed to their end.
async fn follow_under_serve(
    args: RunArgs,
    mut store: Store,
    manifests: Vec<Manifest>,
) -> Result<u8, Failure> {
    let mut uids = Vec::new();
    let mut batch = store.batch()?;
    for m in manifests {
        let mut record = JobRecord {
            job: m.job,
            backoff: Default::default(),
            base_dir: m.base_dir,
        };
        batch.create_job(&mut record, None)?;
        if let Some(items) = &m.items {
            batch.add_queue_items(record.job.metadata.uid(), items)?;
        }
        uids.push(record.job.metadata.uid().to_string());
    }
    batch.commit()?;
    eprintln!(
        "wasmjob serve controls {}: the Jobs were handed to it",
        store.dir().display()
    );
    // The Job and its pods in flight (a large Job's finished pods are not read at every look).
    let mut last: std::collections::HashMap<String, (Job, Vec<Pod>)> = Default::default();
    let read = |store: &Store, uid: &str| -> Result<Option<(Job, Vec<Pod>)>, Failure> {
        let Some(r) = store.get_job_by_uid(uid)? else {
            return Ok(None);
        };
        let pods = store.pods_in_flight_of_job(uid)?;
        Ok(Some((r.job, pods.into_iter().map(|(p, _)| p).collect())))
    };
    for u in &uids {
        if let Some(x) = read(&store, u)? {
            last.insert(u.clone(), x);
        }
    }
    let progress = Progress::new(&uids, |u| last.get(u).map(|x| x.0.clone()));
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut deleted = std::collections::HashSet::new();
    let mut seen_version = None;
    loop {
        // Only the serve writes meanwhile: read again when it has committed something.
        let version = Some(store.changes()?);
        let changed = version != seen_version;
        seen_version = version;
        let mut done = changed;
        for u in uids.iter().filter(|_| changed) {
            match read(&store, u)? {
                Some(x) => {
                    let ended = x.0.is_finished()
                        && x.1
                            .iter()
                            .all(|p| matches!(p.phase(), PHASE_SUCCEEDED | PHASE_FAILED));
                    done &= ended;
                    last.insert(u.clone(), x);
                }
                None => {
                    deleted.insert(u.clone());
                }
            }
        }
        if changed {
            progress.update(|u| {
                last.get(u)
                    .map(|x| (x.0.clone(), pods_progress(x.1.iter())))
            });
        }
        if done {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = &mut shutdown => {
                progress.finish();
                eprintln!("interrupted: the Jobs keep running under wasmjob serve");
                return Ok(130);
            }
        }
    }
    progress.finish();
    let mut finished: Vec<(Job, Vec<Pod>, bool)> = Vec::new();
    for u in &uids {
        if let Some((job, _)) = last.get(u) {
            let failed = match deleted.contains(u) {
                true => Vec::new(),
                false => store.failed_pods_of_job(u)?,
            };
            finished.push((job.clone(), failed, deleted.contains(u)));
        }
    }
    report(&args, &finished, &store)
}

/// Prints the closing lines (stdout, or stderr with `-o`) and the Jobs with `-o`; the exit
/// code: 0 when every Job completed, 1 otherwise.
fn report(
    args: &RunArgs,
    finished: &[(Job, Vec<Pod>, bool)],
    store: &Store,
) -> Result<u8, Failure> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut err = std::io::stderr().lock();
    let summary: &mut dyn Write = if args.output.is_some() {
        &mut err
    } else {
        &mut out
    };
    let mut all_complete = true;
    for (job, pods, deleted) in finished {
        if *deleted && !job.is_finished() {
            writeln!(
                summary,
                "job.batch/{} was deleted before it finished",
                job.name()
            )?;
            all_complete = false;
            continue;
        }
        all_complete &= job.true_condition(COND_COMPLETE).is_some();
        summarize(summary, job, &pods.iter().collect::<Vec<_>>(), store)?;
    }
    if let Some(format) = args.output {
        let jobs: Vec<Job> = finished.iter().map(|f| f.0.clone()).collect();
        let value = if jobs.len() == 1 {
            serde_json::to_value(&jobs[0]).map_err(|e| Failure::runtime(e.to_string()))?
        } else {
            printers::list(&jobs)
        };
        if format == RunOutput::Json {
            printers::print_json(&mut out, &value)?;
        } else {
            printers::print_yaml(&mut out, &value)?;
        }
    }
    Ok(if all_complete { 0 } else { 1 })
}

/// The closing lines for one Job: how it ended, and for a failure why, with the tail of the
/// last failed pod's log.
fn summarize(out: &mut dyn Write, job: &Job, pods: &[&Pod], store: &Store) -> std::io::Result<()> {
    let s = job.status();
    let took = match (
        s.start_time,
        job.true_condition(COND_COMPLETE)
            .or(job.true_condition(COND_FAILED)),
    ) {
        (Some(a), Some(c)) => c
            .last_transition_time
            .map(|b| format!(" in {:.1}s", a.millis_until(b) as f64 / 1000.0)),
        _ => None,
    }
    .unwrap_or_default();
    if job.true_condition(COND_COMPLETE).is_some() {
        return writeln!(
            out,
            "job.batch/{} complete: {} succeeded, {} failed{took}",
            job.name(),
            printers::job_completions(job),
            s.failed
        );
    }
    let Some(failed) = job.true_condition(COND_FAILED) else {
        return writeln!(out, "job.batch/{} did not finish", job.name());
    };
    writeln!(
        out,
        "job.batch/{} failed: {}: {} ({} succeeded, {} failed{took})",
        job.name(),
        failed.reason.as_deref().unwrap_or(""),
        failed.message.as_deref().unwrap_or(""),
        s.succeeded,
        s.failed
    )?;
    let last_failed = pods
        .iter()
        .filter(|p| p.phase() == PHASE_FAILED)
        // A pod that failed on its own tells more than one the controller stopped after.
        .max_by_key(|p| (!stopped_by_controller(p), p.finish_time()));
    let Some(pod) = last_failed else {
        return Ok(());
    };
    for cs in &pod.status.container_statuses {
        let Some(t) = &cs.state.terminated else {
            continue;
        };
        if t.exit_code == 0 {
            continue;
        }
        writeln!(
            out,
            "last failed pod {}: container {:?} exited with code {} ({}){}",
            pod.metadata.name(),
            cs.name,
            t.exit_code,
            t.reason.as_deref().unwrap_or(""),
            t.message
                .as_deref()
                .map(|m| format!(": {}", m.lines().next().unwrap_or("")))
                .unwrap_or_default()
        )?;
        let lines =
            crate::ops::logs::Source::run(store, (*pod).clone(), cs.name.clone(), cs.restart_count)
                .and_then(|s| crate::ops::logs::Reader::plain(s, false).read_all())
                .unwrap_or_default();
        let tail = &lines[lines.len().saturating_sub(10)..];
        if !tail.is_empty() {
            writeln!(
                out,
                "--- last {} log lines of {}/{} ---",
                tail.len(),
                pod.metadata.name(),
                cs.name
            )?;
            for l in tail {
                out.write_all(&l.raw())?;
            }
            if tail.last().is_some_and(|l| !l.full) {
                writeln!(out)?;
            }
        }
    }
    Ok(())
}

/// The progress running pods report: the first one's, and how many more report.
fn pods_progress<'a>(pods: impl Iterator<Item = &'a Pod>) -> Option<String> {
    let mut reports = pods
        .filter(|p| p.phase() == PHASE_RUNNING)
        .filter_map(|p| printers::pod_progress(p).map(|m| (p.metadata.name(), m)));
    let (name, first) = reports.next()?;
    let more = reports.count();
    Some(match more {
        0 => format!("{name}: {first}"),
        n => format!("{name}: {first} (+{n} more)"),
    })
}

/// Whether the pod's containers were stopped by the controller (reason `Stopped`) rather
/// than failing themselves.
fn stopped_by_controller(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
        && pod.status.container_statuses.iter().all(|c| {
            c.state
                .terminated
                .as_ref()
                .is_none_or(|t| t.reason.as_deref() == Some("Stopped"))
        })
}

/// Live progress on a terminal: one line per Job.
struct Progress {
    bars: Vec<(String, indicatif::ProgressBar)>,
    _multi: Option<indicatif::MultiProgress>,
}

impl Progress {
    fn new(uids: &[String], job: impl Fn(&str) -> Option<Job>) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress {
                bars: Vec::new(),
                _multi: None,
            };
        }
        let multi = indicatif::MultiProgress::new();
        let style = indicatif::ProgressStyle::with_template("{spinner} {msg}  {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
        let bars = uids
            .iter()
            .map(|u| {
                let bar = multi.add(indicatif::ProgressBar::new_spinner());
                bar.set_style(style.clone());
                bar.enable_steady_tick(Duration::from_millis(100));
                if let Some(j) = job(u) {
                    bar.set_message(format!("job.batch/{} starting", j.name()));
                }
                (u.clone(), bar)
            })
            .collect();
        Progress {
            bars,
            _multi: Some(multi),
        }
    }

    /// `job` gives a Job and the progress its running pods report.
    fn update(&self, job: impl Fn(&str) -> Option<(Job, Option<String>)>) {
        for (uid, bar) in &self.bars {
            if let Some((job, pods)) = job(uid) {
                let s = job.status();
                bar.set_message(format!(
                    "job.batch/{}  {}  active {}  succeeded {}  failed {}{}",
                    job.name(),
                    printers::job_status_word(&job),
                    s.active,
                    printers::job_completions(&job),
                    s.failed,
                    pods.map(|p| format!("  {p}")).unwrap_or_default()
                ));
            }
        }
    }

    fn finish(&self) {
        for (_, bar) in &self.bars {
            bar.finish_and_clear();
        }
    }
}
