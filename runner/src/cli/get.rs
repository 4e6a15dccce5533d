//! `wasmjob get jobs|pods|events|nodes [NAME…] [-l SELECTOR] [--field-selector F] [-o
//! json|yaml|wide|name] [-A] [-w]`: read from the state directory and print like kubectl.
//! `-w` prints the table, then a row for every object that is added, changes or is deleted
//! (the watch diff the API's watches take), until interrupted.

use super::Failure;
use super::printers::{self, Output};
use super::resource::Kind;
use crate::field_selector::{FieldSelector, Resource};
use crate::ops::events::event_object;
use crate::selector::Selector;
use crate::store::Store;
use crate::watch::{Watched, diff};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use wasmjob_spec::node::Node;
use wasmjob_spec::{Job, Pod, Time};

#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// `jobs` (job, job.batch), `pods` (pod, po), `events` (event, ev) or `nodes` (node, no).
    pub resource: String,
    /// Only these names.
    pub names: Vec<String>,
    /// Label selector, e.g. `batch.kubernetes.io/job-name=pi`.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Field selector: `metadata.name`, `metadata.namespace`, for pods `status.phase`, for
    /// Jobs `status.successful`; `=`, `==` or `!=`, comma-separated.
    #[arg(long, value_name = "SELECTOR")]
    pub field_selector: Option<String>,
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Output>,
    /// List across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// After the listing, print every change until interrupted.
    #[arg(short = 'w', long)]
    pub watch: bool,
}

/// One object, ready to print in any output.
#[derive(Clone)]
struct Item {
    key: String,
    version: String,
    name: String,
    value: Value,
    row: Vec<String>,
}

impl Watched for Item {
    fn uid(&self) -> &str {
        &self.key
    }
    fn version(&self) -> i64 {
        self.version.parse().unwrap_or(0)
    }
}

pub fn get(args: GetArgs, state_dir: &Path, namespace: Option<&str>) -> Result<(), Failure> {
    let kind = Kind::parse(
        &args.resource,
        "get",
        &[Kind::Job, Kind::Pod, Kind::Event, Kind::Node],
    )?;
    let selector = Selector::parse(args.selector.as_deref().unwrap_or(""))
        .map_err(|e| Failure::input(format!("error: {e}")))?;
    let resource = match kind {
        Kind::Job => Resource::Jobs,
        Kind::Pod => Resource::Pods,
        Kind::Event => Resource::Events,
        Kind::Node => Resource::Nodes,
    };
    let fields = FieldSelector::parse(args.field_selector.as_deref().unwrap_or(""), resource)
        .map_err(|e| Failure::input(format!("Error from server (BadRequest): {e}")))?;
    let ns = if args.all_namespaces || kind == Kind::Node {
        None
    } else {
        Some(namespace.unwrap_or("default"))
    };
    let store = Store::open_reader(state_dir)?;
    let list = |store: &Store| -> Result<(Vec<String>, Vec<Item>), Failure> {
        let now = Time(jiff::Timestamp::now());
        let (header, mut items) = listing(store, kind, ns, args.output == Some(Output::Wide), now)?;
        items.retain(|i| {
            (args.names.is_empty() || args.names.contains(&i.name))
                && selector.matches(&labels_of(&i.value))
                && fields.matches(&i.value)
        });
        Ok((header, items))
    };
    let (header, items) = list(&store)?;
    let plural = kind.plural();
    for w in &args.names {
        if !items.iter().any(|i| &i.name == w) {
            return Err(Failure::runtime(format!(
                "Error from server (NotFound): {plural} {w:?} not found"
            )));
        }
    }
    let mut out = std::io::stdout().lock();
    let single = args.names.len() == 1 && items.len() == 1 && !args.watch;
    match args.output {
        Some(Output::Json) | Some(Output::Yaml) => {
            let v = if single {
                items[0].value.clone()
            } else if args.watch {
                Value::Null
            } else {
                printers::list(&items.iter().map(|i| &i.value).collect::<Vec<_>>())
            };
            if args.watch {
                for i in &items {
                    print_value(&mut out, args.output, &i.value)?;
                }
            } else {
                print_value(&mut out, args.output, &v)?;
            }
        }
        Some(Output::Name) => {
            use std::io::Write;
            for i in &items {
                writeln!(out, "{}", kind.object_name(&i.name))?;
            }
        }
        _ if items.is_empty() => match ns {
            Some(ns) => eprintln!("No resources found in {ns} namespace."),
            None => eprintln!("No resources found"),
        },
        _ => {
            let mut rows = vec![header.clone()];
            rows.extend(items.iter().map(|i| i.row.clone()));
            printers::table(&mut out, &rows)?;
        }
    }
    if !args.watch {
        return Ok(());
    }
    drop(out);
    let mut seen: HashMap<String, Item> = items.into_iter().map(|i| (i.key.clone(), i)).collect();
    let mut version = store.changes()?;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let v = store.changes()?;
        if v == version {
            continue;
        }
        version = v;
        let (header, items) = list(&store)?;
        // Added, changed and deleted objects (kubectl's watch prints a deleted one's last row).
        let changes = diff(&mut seen, items, Vec::new(), None);
        let mut out = std::io::stdout().lock();
        for (_, i) in &changes {
            match args.output {
                Some(Output::Json) | Some(Output::Yaml) => {
                    print_value(&mut out, args.output, &i.value)?
                }
                Some(Output::Name) => {
                    use std::io::Write;
                    writeln!(out, "{}", kind.object_name(&i.name))?;
                }
                _ => {
                    // Laid out with the header, so that the columns line up as in kubectl's
                    // watch; only the row is printed.
                    let mut buf = Vec::new();
                    printers::table(&mut buf, &[header.clone(), i.row.clone()])?;
                    use std::io::Write;
                    if let Some(line) = String::from_utf8_lossy(&buf).lines().nth(1) {
                        writeln!(out, "{line}")?;
                    }
                }
            }
        }
        use std::io::Write;
        out.flush()?;
    }
}

fn print_value(out: &mut dyn std::io::Write, o: Option<Output>, v: &Value) -> Result<(), Failure> {
    if o == Some(Output::Json) {
        printers::print_json(out, v)?
    } else {
        printers::print_yaml(out, v)?
    }
    Ok(())
}

fn labels_of(v: &Value) -> std::collections::BTreeMap<String, String> {
    v["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The listed objects with their rows, each known by its uid (what the watch diff follows).
fn items<T: serde::Serialize>(
    objects: &[&T],
    rows: Vec<Vec<String>>,
    meta: impl Fn(&T) -> &wasmjob_spec::ObjectMeta,
) -> Vec<Item> {
    objects
        .iter()
        .zip(rows)
        .map(|(o, row)| {
            let m = meta(o);
            Item {
                key: m.uid().to_string(),
                version: m.resource_version.clone().unwrap_or_default(),
                name: m.name().to_string(),
                value: serde_json::to_value(o).unwrap_or_default(),
                row,
            }
        })
        .collect()
}

/// Every object of `kind` in `ns`, with the table header.
fn listing(
    store: &Store,
    kind: Kind,
    ns: Option<&str>,
    wide: bool,
    now: Time,
) -> Result<(Vec<String>, Vec<Item>), Failure> {
    let with_ns = ns.is_none();
    let split = |mut rows: Vec<Vec<String>>| {
        let header = if rows.is_empty() {
            Vec::new()
        } else {
            rows.remove(0)
        };
        (header, rows)
    };
    Ok(match kind {
        Kind::Job => {
            let records = store.list_jobs(ns)?;
            let jobs: Vec<&Job> = records.iter().map(|r| &r.job).collect();
            let (header, rows) = split(printers::job_rows(&jobs, wide, with_ns, now));
            (header, items(&jobs, rows, |j| &j.metadata))
        }
        Kind::Pod => {
            let all = store.list_pods(ns)?;
            let pods: Vec<&Pod> = all.iter().collect();
            let (header, rows) = split(printers::pod_rows(&pods, wide, with_ns, now));
            (header, items(&pods, rows, |p| &p.metadata))
        }
        Kind::Node => {
            let all = store.nodes()?;
            let nodes: Vec<&Node> = all.iter().collect();
            let (header, rows) = split(printers::node_rows(&nodes, wide, now));
            (header, items(&nodes, rows, |n| &n.metadata))
        }
        Kind::Event => {
            let mut header: Vec<String> = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            if with_ns {
                header.insert(0, "NAMESPACE".into());
            }
            let items = store
                .list_events(ns)?
                .into_iter()
                .map(|stored| {
                    let e = &stored.event;
                    let mut row = printers::event_row(e, now);
                    if with_ns {
                        row.insert(0, e.namespace.clone());
                    }
                    let value = event_object(&stored);
                    let name = value["metadata"]["name"].as_str().unwrap_or("").to_string();
                    Item {
                        key: name.clone(),
                        version: stored.version.to_string(),
                        value,
                        name,
                        row,
                    }
                })
                .collect();
            (header, items)
        }
    })
}
