//! `wasmjob queue JOB`: the work-queue items of a Job, with their state, attempts and pod
//! (`-o json` for scripts). wasmjob's own command: Kubernetes has no brokered queue.

use super::Failure;
use super::printers::table;
use crate::store::Store;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct QueueArgs {
    /// The Job (`NAME` or `job/NAME`).
    pub job: String,

    /// `json`: one object per item.
    #[arg(short = 'o', long, value_parser = ["json"])]
    pub output: Option<String>,
}

pub fn queue(args: QueueArgs, state_dir: &Path, namespace: Option<&str>) -> Result<(), Failure> {
    let name = args.job.strip_prefix("job/").unwrap_or(&args.job);
    let ns = namespace.unwrap_or("default");
    let store = Store::open_reader(state_dir)?;
    let record = store.get_job(ns, name)?.ok_or_else(|| {
        Failure::runtime(format!(
            "Error from server (NotFound): jobs.batch {name:?} not found"
        ))
    })?;
    let items = store.queue_items(record.job.metadata.uid())?;
    if items.is_empty() {
        return Err(Failure::runtime(format!(
            "error: job {name:?} has no work queue (it was given no items)"
        )));
    }
    let mut out = std::io::stdout().lock();
    if args.output.is_some() {
        let list: Vec<serde_json::Value> = items
            .iter()
            .map(|i| {
                serde_json::json!({
                    "id": i.id, "item": i.text, "state": i.state,
                    "attempts": i.attempts, "pod": i.pod,
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &list).map_err(std::io::Error::other)?;
        use std::io::Write;
        writeln!(out)?;
        return Ok(());
    }
    let mut rows = vec![
        ["ID", "STATE", "ATTEMPTS", "POD", "ITEM"]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    ];
    for i in &items {
        rows.push(vec![
            i.id.to_string(),
            i.state.clone(),
            i.attempts.to_string(),
            i.pod.clone().unwrap_or_else(|| "<none>".into()),
            i.text.clone(),
        ]);
    }
    table(&mut out, &rows)?;
    Ok(())
}
