//! Work-queue items for a Job: `--items FILE` (one item per line, `-` for stdin) for the one Job
//! of a manifest, or the Job annotation `wasmjob.dev/items-file: PATH` (relative to the
//! manifest's folder), which keeps the manifest valid for Kubernetes. Empty lines are skipped;
//! only work-queue Jobs (`completions` unset, NonIndexed) take items.

use super::OpError;
use super::manifest::Manifest;
use crate::sandbox::abi::MAX_ITEM_BYTES;
use std::io::Read;
use std::path::Path;
use wasmjob_spec::{ITEMS_FILE_ANNOTATION, Job, NON_INDEXED};

/// Most items one Job takes.
pub const MAX_ITEMS: usize = 10_000_000;

/// Sets the items of each manifest's Job (`None`: no queue).
pub fn attach_items(manifests: &mut [Manifest], flag: Option<&str>) -> Result<(), OpError> {
    if flag.is_some() && manifests.len() != 1 {
        return Err(OpError::Invalid(format!(
            "--items needs exactly one Job in the manifest (found {}); use the annotation {ITEMS_FILE_ANNOTATION} for several",
            manifests.len()
        )));
    }
    for m in manifests.iter_mut() {
        m.items = {
            let from_annotation = m.job.metadata.annotations.get(ITEMS_FILE_ANNOTATION);
            let items = match (flag, from_annotation) {
                (Some("-"), _) => {
                    let mut text = String::new();
                    std::io::stdin()
                        .read_to_string(&mut text)
                        .map_err(|e| OpError::Invalid(format!("reading items from stdin: {e}")))?;
                    Some(parse(&text, "stdin")?)
                }
                (Some(file), _) => Some(read_file(&std::env::current_dir()?.join(file), file)?),
                (None, Some(path)) => {
                    let shown = format!("{path} (annotation {ITEMS_FILE_ANNOTATION})");
                    Some(read_file(&m.base_dir.join(path), &shown)?)
                }
                (None, None) => None,
            };
            if items.is_some() {
                check_work_queue(&m.job)?;
            }
            items
        };
    }
    Ok(())
}

fn check_work_queue(job: &Job) -> Result<(), OpError> {
    let indexed = job
        .spec
        .completion_mode
        .as_deref()
        .is_some_and(|m| m != NON_INDEXED);
    if job.spec.completions.is_some() || indexed {
        return Err(OpError::Invalid(format!(
            "job {:?}: work-queue items need a work-queue Job: leave spec.completions unset and spec.completionMode NonIndexed",
            job.name()
        )));
    }
    Ok(())
}

fn read_file(path: &Path, shown: &str) -> Result<Vec<String>, OpError> {
    let bytes =
        std::fs::read(path).map_err(|e| OpError::Invalid(format!("items file {shown}: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| OpError::Invalid(format!("items file {shown}: not UTF-8 text")))?;
    parse(&text, shown)
}

/// One item per line; a `\r` before the newline is dropped, empty lines are skipped.
pub fn parse(text: &str, shown: &str) -> Result<Vec<String>, OpError> {
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line.len() > MAX_ITEM_BYTES {
            return Err(OpError::Invalid(format!(
                "items file {shown}, line {}: the item is {} bytes; the limit is {MAX_ITEM_BYTES}",
                n + 1,
                line.len()
            )));
        }
        if items.len() == MAX_ITEMS {
            return Err(OpError::Invalid(format!(
                "items file {shown}: more than {MAX_ITEMS} items"
            )));
        }
        items.push(line.to_string());
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn lines_become_items() {
        let items = parse("a.txt\r\n\nb c\n  \n", "f").unwrap();
        assert_eq!(items, vec!["a.txt", "b c", "  "]);
    }

    #[test]
    fn an_oversized_item_names_its_line() {
        let text = format!("ok\n{}\n", "x".repeat(70_000));
        let e = parse(&text, "items.txt").unwrap_err();
        assert!(
            e.to_string().contains("items file items.txt, line 2"),
            "{e}"
        );
    }
}
