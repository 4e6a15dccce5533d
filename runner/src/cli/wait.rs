//! `wasmjob wait --for=condition=complete|failed|…[=value] job/NAME… [--timeout D]` and
//! `--for=delete`, as kubectl: prints `job.batch/NAME condition met` (or `deleted`) for each,
//! exits 0 when all are met, 1 on a timeout (`timed out waiting for the condition on
//! jobs/NAME`) or a missing object. Like kubectl, waiting for `complete` on a Job that failed
//! keeps waiting until the timeout.

use super::Failure;
use super::resource::Kind;
use crate::store::Store;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    /// `TYPE/NAME` (job/pi, pod/pi-abcde) or `TYPE NAME…`.
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// `condition=NAME[=VALUE]` (VALUE defaults to True) or `delete`.
    #[arg(long = "for", value_name = "CONDITION")]
    pub for_: String,
    /// How long to wait (kubectl's default 30s; 0 checks once).
    #[arg(long, value_parser = super::parse_duration, default_value = "30s", value_name = "DURATION")]
    pub timeout: Duration,
}

enum Want {
    Condition { type_: String, status: String },
    Delete,
}

fn parse_for(text: &str) -> Result<Want, Failure> {
    if text == "delete" {
        return Ok(Want::Delete);
    }
    let Some(rest) = text.strip_prefix("condition=") else {
        return Err(Failure::input(format!(
            "error: unrecognized condition: {text:?} (use condition=NAME[=VALUE] or delete)"
        )));
    };
    let (type_, status) = rest.split_once('=').unwrap_or((rest, "true"));
    if type_.is_empty() {
        return Err(Failure::input(format!(
            "error: unrecognized condition: {text:?}"
        )));
    }
    Ok(Want::Condition {
        type_: type_.to_string(),
        status: status.to_string(),
    })
}

/// The types `wait` takes.
const TAKES: &[Kind] = &[Kind::Job, Kind::Pod];

pub fn wait(args: WaitArgs, state_dir: &Path, namespace: Option<&str>) -> Result<(), Failure> {
    let want = parse_for(&args.for_)?;
    let ns = namespace.unwrap_or("default");
    let mut targets = Vec::new();
    if args.targets[0].contains('/') {
        for t in &args.targets {
            let (k, n) = t.split_once('/').unwrap_or(("", t));
            targets.push((Kind::parse(k, "wait", TAKES)?, n.to_string()));
        }
    } else {
        let k = Kind::parse(&args.targets[0], "wait", TAKES)?;
        if args.targets.len() < 2 {
            return Err(Failure::input(
                "error: resource(s) were provided, but no name was specified",
            ));
        }
        for n in &args.targets[1..] {
            targets.push((k, n.clone()));
        }
    }
    let store = Store::open_reader(state_dir)?;
    let deadline = Instant::now() + args.timeout;
    for (kind, name) in targets {
        let shown = kind.object_name(&name);
        let plural = kind.name();
        let mut seen = false;
        loop {
            let conditions: Option<Vec<(String, String)>> = match kind {
                Kind::Job => store.get_job(ns, &name)?.map(|r| {
                    r.job
                        .status()
                        .conditions
                        .iter()
                        .map(|c| (c.type_.clone(), c.status.clone()))
                        .collect()
                }),
                Kind::Pod => store.get_pod(ns, &name)?.map(|p| {
                    p.status
                        .conditions
                        .iter()
                        .map(|c| (c.type_.clone(), c.status.clone()))
                        .collect()
                }),
                Kind::Event | Kind::Node => unreachable!("wait takes jobs and pods"),
            };
            seen |= conditions.is_some();
            let met = match (&want, &conditions) {
                (Want::Delete, None) => {
                    println!("{shown} deleted");
                    true
                }
                (Want::Delete, Some(_)) => false,
                (Want::Condition { .. }, None) if !seen => {
                    return Err(Failure::runtime(format!(
                        "Error from server (NotFound): {} {name:?} not found",
                        kind.plural()
                    )));
                }
                (Want::Condition { .. }, None) => {
                    return Err(Failure::runtime(format!(
                        "error: {shown} was deleted while waiting for the condition"
                    )));
                }
                (Want::Condition { type_, status }, Some(cs)) => {
                    let met = cs.iter().any(|(t, s)| {
                        t.eq_ignore_ascii_case(type_) && s.eq_ignore_ascii_case(status)
                    });
                    if met {
                        println!("{shown} condition met");
                    }
                    met
                }
            };
            if met {
                break;
            }
            if Instant::now() >= deadline {
                return Err(Failure::runtime(format!(
                    "error: timed out waiting for the condition on {plural}/{name}"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}
