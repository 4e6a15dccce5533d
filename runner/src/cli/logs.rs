//! `wasmjob logs POD|job/NAME [-c CONTAINER] [--previous] [--tail N] [--timestamps] [-f]`
//! and `logs -l SELECTOR [--prefix]`: print container logs from the state directory, bytes as
//! the guest wrote them, with kubectl's flags. `-f` follows until the container has ended.

use super::Failure;
use crate::ops::logs::{Reader, Source};
use crate::selector::Selector;
use crate::store::Store;
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use wasmjob_spec::Pod;

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

pub fn logs(args: LogsArgs, state_dir: &Path, namespace: Option<&str>) -> Result<(), Failure> {
    let ns = namespace.unwrap_or("default");
    let store = Store::open_reader(state_dir)?;
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
            // kubectl exits 1 on any answer of the server's, a missing previous run too.
            let source = Source::of(&store, pod.clone(), container, args.previous)
                .map_err(|e| Failure::runtime(format!("error: {e}")))?;
            sources.push(source);
        }
    }
    let mut out = std::io::stdout().lock();
    let reader = |s| match args.prefix {
        true => Reader::prefixed(s, args.timestamps),
        false => Reader::plain(s, args.timestamps),
    };
    let mut readers: Vec<Reader> = sources.into_iter().map(reader).collect();
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
