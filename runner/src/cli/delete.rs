//! `wasmjob delete job NAME…|-f FILE|--all`, `delete pod NAME…` and `delete node NAME…`: as on
//! a cluster. A Job's controller (`serve`, or the `run` that holds it) stops its pods and
//! removes it with its pods and logs (`--cascade=orphan` keeps the pods); with no live
//! controller the command removes it itself. A deleted pod is stopped, counted and replaced by
//! its Job, then goes. A deleted node takes no new pods (see `ops::nodes::delete`).

use super::Failure;
use super::input::read_manifests;
use super::resource::Kind;
use crate::ops::delete::{PodDeletion, delete_job, delete_pod};
use crate::ops::nodes;
use crate::store::Store;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Cascade {
    /// Delete the Job, then its pods (kubectl's default; `true` means the same).
    #[value(alias = "true")]
    Background,
    /// Delete the pods, then the Job.
    Foreground,
    /// Keep the pods (`false` means the same).
    #[value(alias = "false")]
    Orphan,
}

impl Cascade {
    fn policy(self) -> &'static str {
        match self {
            Cascade::Background => "Background",
            Cascade::Foreground => "Foreground",
            Cascade::Orphan => "Orphan",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// `job` (jobs, job.batch), `pod` (pods, po) or `node` (nodes, no); `TYPE/NAME` works too.
    pub resource: Option<String>,
    pub names: Vec<String>,
    /// Delete the Jobs a manifest (file, folder or `-`) defines.
    #[arg(short = 'f', long, value_name = "FILE")]
    pub filename: Option<String>,
    /// Every object of the type in the namespace.
    #[arg(long)]
    pub all: bool,
    #[arg(long, value_enum, default_value = "background")]
    pub cascade: Cascade,
    /// Wait until the objects are gone (kubectl's default).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub wait: bool,
    /// Give up waiting after this long (0: wait as long as it takes).
    #[arg(long, value_parser = super::parse_duration, default_value = "0s", value_name = "DURATION")]
    pub timeout: Duration,
    /// A missing object is not an error.
    #[arg(long)]
    pub ignore_not_found: bool,
}

/// The types `delete` takes.
const TAKES: &[Kind] = &[Kind::Job, Kind::Pod, Kind::Node];

pub fn delete(args: DeleteArgs, state_dir: &Path, namespace: Option<&str>) -> Result<(), Failure> {
    let ns = namespace.unwrap_or("default").to_string();
    let mut targets: Vec<(Kind, String, String)> = Vec::new();
    let mut words: Vec<String> = args.resource.iter().cloned().collect();
    words.extend(args.names.iter().cloned());
    if let Some(file) = &args.filename {
        if !words.is_empty() || args.all {
            return Err(Failure::input(
                "error: a resource cannot be given with -f, nor --all",
            ));
        }
        for m in read_manifests(file, namespace)? {
            targets.push((
                Kind::Job,
                m.job.namespace().to_string(),
                m.job.name().to_string(),
            ));
        }
    } else {
        let Some(first) = words.first().cloned() else {
            return Err(Failure::input(
                "error: You must provide one or more resources by argument or filename.",
            ));
        };
        if first.contains('/') {
            for w in &words {
                let (kind, name) = w.split_once('/').unwrap_or(("", w));
                targets.push((
                    Kind::parse(kind, "delete", TAKES)?,
                    ns.clone(),
                    name.to_string(),
                ));
            }
        } else {
            let kind = Kind::parse(&first, "delete", TAKES)?;
            let names = &words[1..];
            if args.all {
                let store = Store::open(state_dir)?;
                let all: Vec<String> = match kind {
                    Kind::Job => store
                        .list_jobs(Some(&ns))?
                        .into_iter()
                        .map(|r| r.job.name().to_string())
                        .collect(),
                    Kind::Pod => store
                        .list_pods(Some(&ns))?
                        .into_iter()
                        .map(|p| p.metadata.name().to_string())
                        .collect(),
                    Kind::Node => store
                        .nodes()?
                        .into_iter()
                        .map(|n| n.name().to_string())
                        .collect(),
                    Kind::Event => unreachable!("delete takes jobs, pods and nodes"),
                };
                if all.is_empty() {
                    println!("No resources found");
                }
                for n in all {
                    targets.push((Kind::parse(&first, "delete", TAKES)?, ns.clone(), n));
                }
            } else if names.is_empty() {
                return Err(Failure::input(format!(
                    "error: resource(s) were provided, but no name was specified (delete {first} NAME, or --all)"
                )));
            } else {
                for n in names {
                    targets.push((Kind::parse(&first, "delete", TAKES)?, ns.clone(), n.clone()));
                }
            }
        }
    }
    let mut store = Store::open(state_dir)?;
    let deadline = (!args.timeout.is_zero()).then(|| Instant::now() + args.timeout);
    let mut missing = Vec::new();
    for (kind, ns, name) in targets {
        let found = match kind {
            Kind::Job => {
                let found = delete_job(
                    &mut store,
                    &ns,
                    &name,
                    args.cascade.policy(),
                    args.wait,
                    deadline,
                )?;
                if found {
                    println!("job.batch {name:?} deleted");
                }
                found
            }
            Kind::Pod => match delete_pod(&mut store, &ns, &name, args.wait, deadline)? {
                PodDeletion::NotFound => false,
                PodDeletion::Deleted => {
                    println!("pod {name:?} deleted");
                    true
                }
                PodDeletion::Marked => {
                    eprintln!(
                        "pod {name:?} is marked for deletion; it goes once `wasmjob serve` runs its Job and has counted it"
                    );
                    println!("pod {name:?} deleted");
                    true
                }
            },
            Kind::Node => {
                let found = nodes::delete(&mut store, &name)?;
                if found {
                    println!("node {name:?} deleted");
                }
                found
            }
            Kind::Event => unreachable!("delete takes jobs, pods and nodes"),
        };
        if !found && !args.ignore_not_found {
            missing.push(format!(
                "Error from server (NotFound): {} {name:?} not found",
                kind.plural()
            ));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Failure::runtime(missing.join("\n")))
    }
}
