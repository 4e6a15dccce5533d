//! `wasmjob logs POD|job/NAME [-c CONTAINER] [--previous] [--tail N] [--timestamps] [-f]`
//! and `logs -l SELECTOR [--prefix]`: print container logs from the state directory, bytes as
//! the guest wrote them, with kubectl's flags. `-f` follows until the container has ended.

use super::Failure;
use crate::sandbox::log::{LogLine, parse_record};
use crate::selector::Selector;
use crate::store::Store;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use wasmjob_spec::{PHASE_FAILED, PHASE_SUCCEEDED, Pod};

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// A pod name, or `job/NAME` for the Job's first pod. Leave out with `-l`.
    pub target: Option<String>,
    /// The container (default: the pod's first).
    #[arg(short = 'c', long, value_name = "CONTAINER")]
    pub container: Option<String>,
    /// Every pod matching this label selector (e.g. `batch.kubernetes.io/job-name=pi`).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// The log of the container's run before its last restart (restartPolicy OnFailure).
    #[arg(short = 'p', long)]
    pub previous: bool,
    /// Only the last N lines (default: all; 10 with `-l`, as kubectl).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub tail: Option<i64>,
    /// Start each line with its RFC 3339 time.
    #[arg(long)]
    pub timestamps: bool,
    /// Keep printing as the container writes, until it has ended.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Start each line with `[pod/NAME/CONTAINER]`.
    #[arg(long)]
    pub prefix: bool,
    /// Every container of the pod.
    #[arg(long)]
    pub all_containers: bool,
}

/// One log file to print.
/// One run of one container, and where its log is.
pub(crate) struct Source {
    pub pod: Pod,
    pub container: String,
    pub restart: i32,
    pub path: PathBuf,
}

pub fn logs(args: LogsArgs, state_dir: &Path, namespace: Option<&str>) -> Result<(), Failure> {
    let ns = namespace.unwrap_or("default");
    let store = Store::open(state_dir)?;
    let pods = match (&args.target, &args.selector) {
        (Some(_), Some(_)) => {
            return Err(Failure::input(
                "error: only one of a pod name or -l SELECTOR may be given",
            ));
        }
        (None, None) => {
            return Err(Failure::input(
                "error: expected a pod name (POD or job/NAME) or -l SELECTOR",
            ));
        }
        (Some(t), None) => vec![find_pod(&store, ns, t)?],
        (None, Some(sel)) => {
            let selector =
                Selector::parse(sel).map_err(|e| Failure::input(format!("error: {e}")))?;
            let pods: Vec<Pod> = store
                .list_pods(Some(ns))?
                .into_iter()
                .filter(|p| selector.matches(&p.metadata.labels))
                .collect();
            if pods.is_empty() {
                eprintln!("No resources found in {ns} namespace.");
                return Ok(());
            }
            pods
        }
    };
    let tail = args
        .tail
        .or(args.selector.as_ref().map(|_| 10))
        .filter(|n| *n >= 0)
        .map(|n| n as usize);
    let mut sources = Vec::new();
    for pod in pods {
        for container in containers(&pod, &args)? {
            let restart = restart_of(&pod, &container, args.previous)?;
            let logs = crate::store::StateDir::new(state_dir).logs();
            let path = crate::node::log_path(&logs, &pod, &container, restart);
            sources.push(Source {
                pod: pod.clone(),
                container,
                restart,
                path,
            });
        }
    }
    let mut out = std::io::stdout().lock();
    let mut readers: Vec<Reader> = sources.into_iter().map(|s| Reader::new(s, &args)).collect();
    for r in &mut readers {
        r.print_existing(&mut out, tail)?;
    }
    out.flush()?;
    if !args.follow || args.previous {
        return Ok(());
    }
    while !readers.is_empty() {
        std::thread::sleep(Duration::from_millis(100));
        let mut still = Vec::new();
        for mut r in readers {
            // Read what is new, then decide whether the run has ended; read once more after
            // it has, so that nothing written just before the end is missed.
            r.print_new(&mut out)?;
            if r.ended(&store)? {
                r.print_new(&mut out)?;
                r.finish(&mut out)?;
            } else {
                still.push(r);
            }
        }
        out.flush()?;
        readers = still;
    }
    Ok(())
}

/// The containers to print: `-c`, every one with `--all-containers`, else the first.
fn containers(pod: &Pod, args: &LogsArgs) -> Result<Vec<String>, Failure> {
    let all = || pod.spec.init_containers.iter().chain(&pod.spec.containers);
    if let Some(c) = &args.container {
        return all()
            .find(|x| &x.name == c)
            .map(|x| vec![x.name.clone()])
            .ok_or_else(|| {
                Failure::runtime(format!(
                    "error: container {c} is not valid for pod {}",
                    pod.metadata.name()
                ))
            });
    }
    if args.all_containers {
        return Ok(all().map(|c| c.name.clone()).collect());
    }
    let first = pod
        .spec
        .containers
        .first()
        .ok_or_else(|| Failure::runtime("error: the pod has no containers"))?;
    if pod.spec.containers.len() > 1 && args.selector.is_none() {
        eprintln!(
            "Defaulted container {:?} out of: {}",
            first.name,
            pod.spec
                .containers
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(vec![first.name.clone()])
}

fn restart_of(pod: &Pod, container: &str, previous: bool) -> Result<i32, Failure> {
    run_of(pod, container, previous).map_err(|e| Failure::runtime(format!("error: {e}")))
}

/// The run of `container` whose log is read: its current one, or with `previous` the one
/// before its last restart (an error, worded as the kubelet words it, when there is none).
pub(crate) fn run_of(pod: &Pod, container: &str, previous: bool) -> Result<i32, String> {
    let count = pod
        .status
        .container_statuses
        .iter()
        .chain(&pod.status.init_container_statuses)
        .find(|s| s.name == container)
        .map_or(0, |s| s.restart_count);
    match (previous, count) {
        (false, n) => Ok(n),
        (true, 0) => Err(format!(
            "previous terminated container {container:?} in pod {:?} not found",
            pod.metadata.name()
        )),
        (true, n) => Ok(n - 1),
    }
}

/// Keeps the last `n` lines of `records`, counting logical lines: a run of partial records
/// ends with a full one (or with the last record).
pub(crate) fn keep_last_lines(records: &mut Vec<LogLine>, n: usize) {
    let mut seen = 0;
    let mut start = records.len();
    for (i, l) in records.iter().enumerate().rev() {
        if l.full || i == records.len() - 1 {
            if seen == n {
                break;
            }
            seen += 1;
        }
        start = i;
    }
    records.drain(..start);
}

/// Reads one log file, whole or as it grows, and prints its records.
pub(crate) struct Reader {
    source: Source,
    offset: u64,
    pending: Vec<u8>,
    at_line_start: bool,
    prefix: Option<String>,
    timestamps: bool,
}

impl Reader {
    fn new(source: Source, args: &LogsArgs) -> Reader {
        let prefix = args
            .prefix
            .then(|| format!("[pod/{}/{}] ", source.pod.metadata.name(), source.container));
        Reader {
            prefix,
            ..Reader::plain(source, args.timestamps)
        }
    }

    /// A reader without prefixes, each line led by its time when `timestamps`.
    pub(crate) fn plain(source: Source, timestamps: bool) -> Reader {
        Reader {
            source,
            offset: 0,
            pending: Vec::new(),
            at_line_start: true,
            prefix: None,
            timestamps,
        }
    }

    fn read_new(&mut self) -> Result<Vec<LogLine>, Failure> {
        let path = &self.source.path;
        let mut f = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Failure::runtime(format!(
                    "error: reading {}: {e}",
                    path.display()
                )));
            }
        };
        f.seek(std::io::SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)?;
        self.offset += bytes.len() as u64;
        self.pending.extend(bytes);
        let Some(end) = self.pending.iter().rposition(|b| *b == b'\n') else {
            return Ok(Vec::new());
        };
        let complete: Vec<u8> = self.pending.drain(..=end).collect();
        Ok(complete
            .split(|b| *b == b'\n')
            .filter(|r| !r.is_empty())
            .map(parse_record)
            .collect())
    }

    pub(crate) fn print_existing(
        &mut self,
        out: &mut dyn Write,
        tail: Option<usize>,
    ) -> Result<(), Failure> {
        let mut lines = self.read_new()?;
        if let Some(n) = tail {
            keep_last_lines(&mut lines, n);
        }
        self.print(out, &lines)
    }

    pub(crate) fn print_new(&mut self, out: &mut dyn Write) -> Result<(), Failure> {
        let lines = self.read_new()?;
        self.print(out, &lines)
    }

    fn print(&mut self, out: &mut dyn Write, lines: &[LogLine]) -> Result<(), Failure> {
        for l in lines {
            if self.at_line_start {
                if let Some(p) = &self.prefix {
                    out.write_all(p.as_bytes())?;
                }
                if self.timestamps && !l.time.is_empty() {
                    write!(out, "{} ", l.time)?;
                }
            }
            out.write_all(&l.raw())?;
            self.at_line_start = l.full;
        }
        Ok(())
    }

    /// Ends an unfinished last line, so that the next source starts on its own line.
    fn finish(&mut self, out: &mut dyn Write) -> Result<(), Failure> {
        if !self.at_line_start && self.prefix.is_some() {
            writeln!(out)?;
        }
        Ok(())
    }

    /// Whether the followed run of the container has ended (or the pod is gone).
    pub(crate) fn ended(&self, store: &Store) -> Result<bool, Failure> {
        let pod = &self.source.pod;
        let Some(now) = store.get_pod(pod.metadata.namespace(), pod.metadata.name())? else {
            return Ok(true);
        };
        if matches!(now.phase(), PHASE_SUCCEEDED | PHASE_FAILED) {
            return Ok(true);
        }
        let status = now
            .status
            .container_statuses
            .iter()
            .chain(&now.status.init_container_statuses)
            .find(|s| s.name == self.source.container);
        Ok(status.is_some_and(|s| {
            s.restart_count > self.source.restart
                || (s.restart_count == self.source.restart && s.state.terminated.is_some())
        }))
    }
}

fn find_pod(store: &Store, ns: &str, target: &str) -> Result<Pod, Failure> {
    if let Some(job_name) = target
        .strip_prefix("job/")
        .or_else(|| target.strip_prefix("jobs/"))
        .or_else(|| target.strip_prefix("job.batch/"))
    {
        let job = store.get_job(ns, job_name)?.ok_or_else(|| {
            Failure::runtime(format!(
                "Error from server (NotFound): jobs.batch {job_name:?} not found"
            ))
        })?;
        let pods = store.pods_of_job(job.job.metadata.uid())?;
        if pods.len() > 1 {
            eprintln!(
                "Found {} pods, using pod/{}",
                pods.len(),
                pods[0].metadata.name()
            );
        }
        return pods
            .into_iter()
            .next()
            .ok_or_else(|| Failure::runtime(format!("error: job {job_name:?} has no pods")));
    }
    let name = target
        .strip_prefix("pod/")
        .or_else(|| target.strip_prefix("pods/"))
        .unwrap_or(target);
    store.get_pod(ns, name)?.ok_or_else(|| {
        Failure::runtime(format!(
            "Error from server (NotFound): pods {name:?} not found"
        ))
    })
}
