//! `wasmjob get jobs|pods [NAME…] [-l SELECTOR] [-o json|yaml|wide|name] [-A]`: read from the
//! state directory and print like kubectl.

use super::Failure;
use super::printers::{self, Output};
use crate::selector::Selector;
use crate::store::Store;
use std::path::Path;
use wasmjob_spec::{Job, Pod, Time};

#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// `jobs` (job, job.batch, jobs.batch) or `pods` (pod, po).
    pub resource: String,
    /// Only these names.
    pub names: Vec<String>,
    /// Label selector, e.g. `batch.kubernetes.io/job-name=pi`.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Output>,
    /// List across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
}

enum Kind {
    Jobs,
    Pods,
}

pub fn get(args: GetArgs, state_dir: &Path, namespace: Option<&str>) -> Result<(), Failure> {
    let kind = match args.resource.as_str() {
        "jobs" | "job" | "job.batch" | "jobs.batch" => Kind::Jobs,
        "pods" | "pod" | "po" => Kind::Pods,
        other => {
            return Err(Failure::input(format!(
                "error: the server doesn't have a resource type {other:?} (wasmjob knows jobs and pods)"
            )));
        }
    };
    let selector = Selector::parse(args.selector.as_deref().unwrap_or(""))
        .map_err(|e| Failure::input(format!("error: {e}")))?;
    let ns = if args.all_namespaces {
        None
    } else {
        Some(namespace.unwrap_or("default"))
    };
    let store = Store::open(state_dir)?;
    let now = Time(jiff::Timestamp::now());
    let wide = args.output == Some(Output::Wide);
    let mut out = std::io::stdout().lock();
    let keep = |name: &str, labels| {
        (args.names.is_empty() || args.names.iter().any(|n| n == name)) && selector.matches(labels)
    };
    let (values, rows, names, resource) = match kind {
        Kind::Jobs => {
            let records = store.list_jobs(ns)?;
            let jobs: Vec<&Job> = records
                .iter()
                .map(|r| &r.job)
                .filter(|j| keep(j.name(), &j.metadata.labels))
                .collect();
            check_found(&args.names, jobs.iter().map(|j| j.name()), "jobs.batch")?;
            let values: Vec<serde_json::Value> = jobs
                .iter()
                .map(|j| serde_json::to_value(j).unwrap_or_default())
                .collect();
            let names = jobs
                .iter()
                .map(|j| format!("job.batch/{}", j.name()))
                .collect::<Vec<_>>();
            (
                values,
                printers::job_rows(&jobs, wide, ns.is_none(), now),
                names,
                "jobs",
            )
        }
        Kind::Pods => {
            let all = store.list_pods(ns)?;
            let pods: Vec<&Pod> = all
                .iter()
                .filter(|p| keep(p.metadata.name(), &p.metadata.labels))
                .collect();
            check_found(&args.names, pods.iter().map(|p| p.metadata.name()), "pods")?;
            let values: Vec<serde_json::Value> = pods
                .iter()
                .map(|p| serde_json::to_value(p).unwrap_or_default())
                .collect();
            let names = pods
                .iter()
                .map(|p| format!("pod/{}", p.metadata.name()))
                .collect::<Vec<_>>();
            (
                values,
                printers::pod_rows(&pods, wide, ns.is_none(), now),
                names,
                "pods",
            )
        }
    };
    let single = args.names.len() == 1 && values.len() == 1;
    match args.output {
        Some(Output::Json) | Some(Output::Yaml) => {
            let v = if single {
                values[0].clone()
            } else {
                printers::list(&values)
            };
            if args.output == Some(Output::Json) {
                printers::print_json(&mut out, &v)?
            } else {
                printers::print_yaml(&mut out, &v)?
            }
        }
        Some(Output::Name) => {
            for n in names {
                use std::io::Write;
                writeln!(out, "{n}")?;
            }
        }
        _ if values.is_empty() => match ns {
            Some(ns) => eprintln!("No resources found in {ns} namespace."),
            None => eprintln!("No resources found"),
        },
        _ => printers::table(&mut out, &rows)?,
    }
    let _ = resource;
    Ok(())
}

fn check_found<'a>(
    wanted: &[String],
    found: impl Iterator<Item = &'a str>,
    kind: &str,
) -> Result<(), Failure> {
    let found: Vec<&str> = found.collect();
    for w in wanted {
        if !found.contains(&w.as_str()) {
            return Err(Failure::runtime(format!(
                "Error from server (NotFound): {kind} {w:?} not found"
            )));
        }
    }
    Ok(())
}
