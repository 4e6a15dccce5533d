//! `wasmjob logs POD|job/NAME [-c CONTAINER]`: print a container's log from the state
//! directory, bytes as the guest wrote them.

use super::Failure;
use crate::sandbox::read_log;
use crate::store::Store;
use std::io::Write;
use std::path::Path;
use wasmjob_spec::Pod;

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// A pod name, or `job/NAME` for the Job's first pod.
    pub target: String,
    /// The container (default: the pod's first).
    #[arg(short = 'c', long, value_name = "CONTAINER")]
    pub container: Option<String>,
}

pub fn logs(args: LogsArgs, state_dir: &Path, namespace: Option<&str>) -> Result<(), Failure> {
    let ns = namespace.unwrap_or("default");
    let store = Store::open(state_dir)?;
    let pod = find_pod(&store, ns, &args.target)?;
    let container = match &args.container {
        Some(c) => pod
            .spec
            .containers
            .iter()
            .chain(&pod.spec.init_containers)
            .find(|x| &x.name == c)
            .ok_or_else(|| {
                Failure::runtime(format!(
                    "error: container {c} is not valid for pod {}",
                    pod.metadata.name()
                ))
            })?
            .name
            .clone(),
        None => {
            let first = pod
                .spec
                .containers
                .first()
                .ok_or_else(|| Failure::runtime("error: the pod has no containers"))?;
            if pod.spec.containers.len() > 1 {
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
            first.name.clone()
        }
    };
    let restart = pod
        .status
        .container_statuses
        .iter()
        .chain(&pod.status.init_container_statuses)
        .find(|s| s.name == container)
        .map(|s| s.restart_count)
        .unwrap_or(0);
    let path = crate::node::log_path(state_dir, &pod, &container, restart);
    let lines = read_log(&path)
        .map_err(|e| Failure::runtime(format!("error: reading {}: {e}", path.display())))?;
    let mut out = std::io::stdout().lock();
    for l in lines {
        out.write_all(&l.raw())?;
    }
    out.flush()?;
    Ok(())
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
