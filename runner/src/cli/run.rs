//! `wasmjob run FILE`: read, default and validate every Job in FILE, store them, and run them
//! to their end in the foreground, with live progress on a terminal. On failure it says why
//! and shows the tail of the last failed pod's log. `-o json|yaml` prints the final Jobs.

use super::printers;
use super::{Failure, parse_duration};
use crate::controller::ControllerConfig;
use crate::manager::{Manager, ManagerError, SystemClock};
use crate::node::{Node, NodeConfig};
use crate::sandbox::{Sandbox, read_log};
use crate::store::{JobRecord, Store, remove_logs};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
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
    /// Manifest: a YAML file (several documents allowed) or JSON; `-` reads stdin.
    pub file: String,

    /// Print the final Job(s) as Kubernetes shapes them (a List when there are several).
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<RunOutput>,

    /// First delay before re-creating pods after a failure (doubles per failure). Also paces
    /// OnFailure container restarts. Kubernetes: 10s.
    #[arg(long, value_parser = parse_duration, default_value = "10s", value_name = "DURATION")]
    pub backoff_base: Duration,

    /// Cap of the re-creation delay (OnFailure restarts are capped at half of it). Kubernetes'
    /// controller: 10m.
    #[arg(long, value_parser = parse_duration, default_value = "10m", value_name = "DURATION")]
    pub backoff_max: Duration,

    /// Delete an existing Job of the same name (with its pods and logs) before running.
    #[arg(long)]
    pub replace: bool,

    /// Most pods running at once; further pods wait as Pending.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_pods: usize,

    /// Bytes of output kept per container run; past it the log is truncated with a marker.
    #[arg(long, default_value_t = 10 << 20, value_name = "BYTES")]
    pub log_limit: u64,
}

pub fn run(args: RunArgs, state_dir: &Path, namespace: Option<&str>) -> Result<u8, Failure> {
    let (text, source, base_dir) = read_input(&args.file)?;
    let loaded = load_jobs(&text, &source)?;
    for l in &loaded {
        for w in &l.warnings {
            eprintln!("Warning: {source}: job {:?}: {w}", l.job.name());
        }
    }
    let now = Time(jiff::Timestamp::now());
    let mut jobs = Vec::new();
    for l in loaded {
        let mut job = l.job;
        job.metadata.namespace = Some(resolve_namespace(&job, namespace)?);
        if job.metadata.name.is_none() {
            let prefix = job.metadata.generate_name.clone().unwrap_or_default();
            job.metadata.name = Some(format!(
                "{prefix}{}",
                &uuid::Uuid::new_v4().simple().to_string()[..5]
            ));
        }
        defaults::assign_identity(&mut job, &uuid::Uuid::new_v4().to_string(), now);
        jobs.push(job);
    }
    let mut names: Vec<(String, String)> = jobs
        .iter()
        .map(|j| (j.namespace().into(), j.name().into()))
        .collect();
    names.sort();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(Failure::input(format!(
            "error: {source}: two documents define the same Job"
        )));
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("error: cannot start the runtime: {e}")))?;
    runtime.block_on(run_jobs(args, state_dir, base_dir, jobs))
}

async fn run_jobs(
    args: RunArgs,
    state_dir: &Path,
    base_dir: PathBuf,
    jobs: Vec<Job>,
) -> Result<u8, Failure> {
    let sandbox = Arc::new(Sandbox::new().map_err(|e| Failure::runtime(format!("error: {e:#}")))?);
    // Every module is compiled before anything is stored: a bad module is bad input.
    for job in &jobs {
        let pod = &job.spec.template;
        for c in pod.spec.init_containers.iter().chain(&pod.spec.containers) {
            let path = crate::node::module_path(&pod.metadata.annotations, c, &base_dir)
                .map_err(|m| Failure::input(format!("error: job {:?}: {m}", job.name())))?;
            let metered = pod
                .metadata
                .annotations
                .keys()
                .any(|k| k.starts_with(FUEL_ANNOTATION));
            sandbox.prepare(&path, metered).await.map_err(|m| {
                Failure::input(format!(
                    "error: job {:?}, container {:?}: {m}",
                    job.name(),
                    c.name
                ))
            })?;
        }
    }

    let mut store = Store::open(state_dir)?;
    for job in &jobs {
        if let Some(old) = store.get_job(job.namespace(), job.name())? {
            if !args.replace {
                return Err(Failure::input(format!(
                    "Error from server (AlreadyExists): jobs.batch {:?} already exists (use --replace to delete it first)",
                    job.name()
                )));
            }
            let pods = store.pods_of_job(old.job.metadata.uid())?;
            let mut batch = store.batch()?;
            batch.delete_job(old.job.metadata.uid())?;
            batch.commit()?;
            remove_logs(state_dir, &pods);
        }
    }

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut node_config = NodeConfig::new(state_dir.to_path_buf());
    node_config.max_pods = args.max_pods;
    node_config.log_limit = args.log_limit;
    node_config.restart_backoff_base = args.backoff_base;
    node_config.restart_backoff_max = args.backoff_max / 2;
    let node = Node::new(sandbox, node_config, tx);
    let controller = ControllerConfig {
        backoff_base: args.backoff_base,
        backoff_max: args.backoff_max,
        ..Default::default()
    };
    let mut manager = Manager::new(store, node, rx, controller, Box::new(SystemClock));
    let mut uids = Vec::new();
    for job in jobs {
        let record = JobRecord {
            job,
            backoff: Default::default(),
            base_dir: base_dir.clone(),
        };
        uids.push(manager.create(record).map_err(manager_failure)?);
    }

    let progress = Progress::new(&manager, &uids);
    let result = manager
        .run_until_finished(&uids, &mut |m| progress.update(m), shutdown_signal())
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

    let finished: Vec<Job> = uids
        .iter()
        .filter_map(|u| manager.job(u).cloned())
        .collect();
    let any_failed = finished
        .iter()
        .any(|j| j.true_condition(COND_FAILED).is_some());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut err = std::io::stderr().lock();
    let summary: &mut dyn Write = if args.output.is_some() {
        &mut err
    } else {
        &mut out
    };
    for (job, uid) in finished.iter().zip(&uids) {
        summarize(
            summary,
            job,
            &manager.pods(uid).collect::<Vec<_>>(),
            manager.store().dir(),
        )?;
    }
    if let Some(format) = args.output {
        let value = if finished.len() == 1 {
            serde_json::to_value(&finished[0]).map_err(|e| Failure::runtime(e.to_string()))?
        } else {
            printers::list(&finished)
        };
        if format == RunOutput::Json {
            printers::print_json(&mut out, &value)?;
        } else {
            printers::print_yaml(&mut out, &value)?;
        }
    }
    Ok(if any_failed { 1 } else { 0 })
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn manager_failure(e: ManagerError) -> Failure {
    match e {
        ManagerError::Store(s) => s.into(),
        e => Failure::runtime(format!("error: {e}")),
    }
}

fn read_input(file: &str) -> Result<(String, String, PathBuf), Failure> {
    let cwd = std::env::current_dir()?;
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::input(format!("error: reading stdin: {e}")))?;
        return Ok((text, "-".into(), cwd));
    }
    let path = cwd.join(file);
    let meta =
        std::fs::metadata(&path).map_err(|e| Failure::input(format!("error: {file}: {e}")))?;
    if meta.is_dir() {
        return Err(Failure::input(format!(
            "error: {file} is a directory; run takes one manifest file"
        )));
    }
    if meta.len() > parse::MAX_MANIFEST_BYTES as u64 {
        return Err(Failure::input(format!(
            "error: {file}: larger than {} bytes",
            parse::MAX_MANIFEST_BYTES
        )));
    }
    let bytes = std::fs::read(&path).map_err(|e| Failure::input(format!("error: {file}: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::input(format!("error: {file}: not UTF-8 text")))?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or(cwd);
    Ok((text, file.to_string(), base))
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

/// The closing lines for one Job: how it ended, and for a failure why, with the tail of the
/// last failed pod's log.
fn summarize(
    out: &mut dyn Write,
    job: &Job,
    pods: &[&Pod],
    state_dir: &Path,
) -> std::io::Result<()> {
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
        .max_by_key(|p| p.finish_time());
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
        let lines = read_log(&crate::node::log_path(
            state_dir,
            pod,
            &cs.name,
            cs.restart_count,
        ))
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

/// Live progress on a terminal: one line per Job.
struct Progress {
    bars: Vec<(String, indicatif::ProgressBar)>,
    _multi: Option<indicatif::MultiProgress>,
}

impl Progress {
    fn new(manager: &Manager, uids: &[String]) -> Progress {
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
                if let Some(j) = manager.job(u) {
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

    fn update(&self, manager: &Manager) {
        for (uid, bar) in &self.bars {
            if let Some(job) = manager.job(uid) {
                let s = job.status();
                bar.set_message(format!(
                    "job.batch/{}  {}  active {}  succeeded {}  failed {}",
                    job.name(),
                    printers::job_status_word(job),
                    s.active,
                    printers::job_completions(job),
                    s.failed
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
