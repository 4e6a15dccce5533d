//! `wordfreq` — word frequencies of a folder of texts, counted by the workers of a work-queue
//! Job (`job.yaml`) and merged by a second Job (`merge.yaml`).
//!
//! ```text
//! wordfreq count DIR [--fail-first-attempt ID]...   a worker: count the queue's files in DIR
//! wordfreq merge DIR [TOP]                          print the TOP (20) words of the published counts
//! ```
//!
//! `count` takes the Job's work-queue items until the queue is drained. Each item is a file
//! name relative to `DIR`; the worker counts the file's words (see [`words`]), writes
//! `counts.tsv` and `source` (the item) to its atomic outputs volume, and acknowledges the
//! item, which publishes the two files as the folder `<item id>/` of the Job's output
//! directory. `--fail-first-attempt ID` makes the first attempt at item `ID` crash (exit 3)
//! after staging its files, to show a lease going back to the queue: nothing of that attempt
//! is published, and another worker does the item again.
//!
//! `merge` adds up the `counts.tsv` of every published folder in `DIR` and prints which file
//! each folder counted, the totals and the top words; it needs no host function and also runs natively
//! (`cargo run -p wordfreq -- merge examples/wordfreq/out`).
//!
//! Exit codes: 2 for a usage or host error, 3 for the crash on purpose, 4 for an item that
//! cannot be read (retrying cannot help: `job.yaml`'s pod failure policy fails the Job).

mod words;

use std::fs;
use std::path::{Component, Path, PathBuf};
use wasmjob_guest::{fail, outputs, queue, status, termination_message};

const USAGE: &str =
    "usage: wordfreq count DIR [--fail-first-attempt ID]...\n       wordfreq merge DIR [TOP]";

/// Exit code of a bad item (a file that cannot be read).
const BAD_ITEM: i32 = 4;

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    Count { dir: PathBuf, fail_first: Vec<u64> },
    Merge { dir: PathBuf, top: usize },
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args).unwrap_or_else(|e| fail(2, format!("wordfreq: {e}\n{USAGE}"))) {
        Command::Count { dir, fail_first } => count(&dir, &fail_first),
        Command::Merge { dir, top } => merge(&dir, top),
    }
}

fn parse(args: &[String]) -> Result<Command, String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let number = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("{s:?} is not a number"))
    };
    match args.as_slice() {
        ["count", dir, rest @ ..] => {
            let mut fail_first = Vec::new();
            let mut rest = rest.iter();
            while let Some(flag) = rest.next() {
                match (*flag, rest.next()) {
                    ("--fail-first-attempt", Some(id)) => fail_first.push(number(id)?),
                    _ => return Err(format!("unexpected argument {flag:?}")),
                }
            }
            Ok(Command::Count {
                dir: dir.into(),
                fail_first,
            })
        }
        ["merge", dir] => Ok(Command::Merge {
            dir: dir.into(),
            top: 20,
        }),
        ["merge", dir, top] => Ok(Command::Merge {
            dir: dir.into(),
            top: number(top)? as usize,
        }),
        _ => Err("expected `count DIR …` or `merge DIR [TOP]`".into()),
    }
}

/// The worker: counts the file of each item until the queue is drained.
fn count(dir: &Path, fail_first: &[u64]) {
    let (mut items, mut total) = (0u64, 0u64);
    for item in queue::items() {
        let item = item.unwrap_or_else(|e| fail(2, format!("wordfreq: queue: {e}")));
        let (id, attempt, name) = (item.id, item.attempt, item.text.clone());
        let _ = status(&format!("item {id}: counting {name}"));
        let path = inside(dir, &name).unwrap_or_else(|e| fail(BAD_ITEM, e));
        let bytes = fs::read(&path).unwrap_or_else(|e| {
            fail(
                BAD_ITEM,
                format!("wordfreq: item {id}: cannot read {}: {e}", path.display()),
            )
        });
        let counts = words::count(&String::from_utf8_lossy(&bytes));
        let n: u64 = counts.values().sum();
        for (file, text) in [
            ("counts.tsv", words::to_tsv(&counts)),
            ("source", format!("{name}\n")),
        ] {
            if let Err(e) = outputs::write(file, text) {
                fail(2, format!("wordfreq: item {id}: cannot write {file}: {e}"));
            }
        }
        if attempt == 1 && fail_first.contains(&id) {
            fail(
                3,
                format!("wordfreq: crashing on purpose on the first attempt at item {id} ({name})"),
            );
        }
        println!(
            "item {id} ({name}, attempt {attempt}): {n} words, {} distinct",
            counts.len()
        );
        let _ = status(&format!("item {id}: {name}: {n} words"));
        item.ack()
            .unwrap_or_else(|e| fail(2, format!("wordfreq: ack of item {id}: {e}")));
        items += 1;
        total += n;
    }
    println!("queue drained: {items} items, {total} words counted by this worker");
    let _ = termination_message(&format!("{items} items, {total} words"));
}

/// `dir/name`, if `name` is a relative path that stays inside `dir`.
fn inside(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let rel = Path::new(name);
    let plain = rel
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if name.is_empty() || !plain {
        return Err(format!(
            "wordfreq: item {name:?} is not a file name inside {}",
            dir.display()
        ));
    }
    Ok(dir.join(rel))
}

/// Adds up the `counts.tsv` of each published folder of `dir` and prints the `top` words.
fn merge(dir: &Path, top: usize) {
    let entries = fs::read_dir(dir)
        .unwrap_or_else(|e| fail(BAD_ITEM, format!("wordfreq: {}: {e}", dir.display())));
    let mut folders: Vec<(String, PathBuf)> = entries
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        // `.staging` holds the unpublished files of running workers.
        .filter(|(name, path)| !name.starts_with('.') && path.join("counts.tsv").is_file())
        .collect();
    folders.sort_by_key(|(name, _)| (name.parse::<u64>().unwrap_or(u64::MAX), name.clone()));
    let mut all = words::Counts::new();
    for (name, path) in &folders {
        let file = path.join("counts.tsv");
        let counts = fs::read_to_string(&file)
            .map_err(|e| e.to_string())
            .and_then(|t| words::from_tsv(&t))
            .unwrap_or_else(|e| fail(BAD_ITEM, format!("wordfreq: {}: {e}", file.display())));
        let source = fs::read_to_string(path.join("source")).unwrap_or_default();
        println!("{}: {}", dir.join(name).display(), source.trim_end());
        words::add(&mut all, counts);
    }
    let total: u64 = all.values().sum();
    println!(
        "{} files, {total} words, {} distinct; the top {top}:",
        folders.len(),
        all.len()
    );
    for (rank, (word, n)) in words::ranked(&all).into_iter().take(top).enumerate() {
        println!("{:>3}  {n:>5}  {word}", rank + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_the_two_modes() {
        assert_eq!(
            parse(&args(
                "count /texts --fail-first-attempt 4 --fail-first-attempt 7"
            )),
            Ok(Command::Count {
                dir: "/texts".into(),
                fail_first: vec![4, 7]
            })
        );
        assert_eq!(
            parse(&args("merge /out")),
            Ok(Command::Merge {
                dir: "/out".into(),
                top: 20
            })
        );
        assert_eq!(
            parse(&args("merge /out 5")),
            Ok(Command::Merge {
                dir: "/out".into(),
                top: 5
            })
        );
        for bad in [
            "",
            "count",
            "merge",
            "merge /out x",
            "count /t --fail-first-attempt",
            "x y",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn items_must_stay_inside_the_folder() {
        assert_eq!(
            inside(Path::new("/texts"), "a/b.txt"),
            Ok(PathBuf::from("/texts/a/b.txt"))
        );
        for bad in ["", "/etc/passwd", "../x", "a/../../x"] {
            assert!(inside(Path::new("/texts"), bad).is_err(), "{bad:?}");
        }
    }
}
