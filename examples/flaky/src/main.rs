//! `flaky` — a task that fails on purpose, to show what a Job does about failures
//! (`backoffLimit`, `restartPolicy: OnFailure`, `podFailurePolicy`; see `job.yaml`).
//!
//! ```text
//! flaky fail CODE               fail with exit code CODE, every time
//! flaky fail-first N CODE FILE  fail with exit code CODE on the first N runs, then succeed
//! ```
//!
//! `fail-first` counts its runs in `FILE`, so `FILE` must outlive a run: a file in an
//! `emptyDir` volume survives the in-place restarts of `restartPolicy: OnFailure`, one in a
//! `hostPath` volume also survives the pod (the replacement pod sees it). The run that succeeds
//! removes `FILE`, so the next Job starts counting from zero again.
//!
//! Failing goes through the guest SDK's [`fail`] (the only dependency): the message goes to
//! stderr and, under wasmjob, becomes the container's termination message. A usage error exits
//! with status 2. It also runs natively (`cargo run -p flaky -- fail 3`).

use std::fs;
use std::io;
use wasmjob_guest::fail;

const USAGE: &str = "usage: flaky fail CODE\n       flaky fail-first N CODE FILE";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    /// Fail with this exit code.
    Fail(i32),
    /// Fail with `code` while the run counted in `file` is at most `runs`, then succeed.
    FailFirst { runs: u32, code: i32, file: String },
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args).unwrap_or_else(|e| fail(2, format!("flaky: {e}\n{USAGE}"))) {
        Command::Fail(code) => fail(code, format!("failing with exit code {code}")),
        Command::FailFirst { runs, code, file } => {
            let run = count_run(&file)
                .unwrap_or_else(|e| fail(2, format!("flaky: cannot count runs in {file}: {e}")));
            if run <= runs {
                fail(
                    code,
                    format!("run {run} of {file}: failing with exit code {code}"),
                );
            }
            if let Err(e) = fs::remove_file(&file) {
                fail(2, format!("flaky: cannot remove {file}: {e}"));
            }
            println!("run {run} of {file}: succeeding (and removing {file})");
        }
    }
}

/// Parses the arguments (without argv[0]).
fn parse(args: &[String]) -> Result<Command, String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args[..] {
        ["fail", code] => Ok(Command::Fail(exit_code(code)?)),
        ["fail-first", runs, code, file] => Ok(Command::FailFirst {
            runs: runs
                .parse()
                .map_err(|_| format!("N must be a number of runs, got {runs:?}"))?,
            code: exit_code(code)?,
            file: file.to_string(),
        }),
        _ => Err(format!("unexpected arguments {args:?}")),
    }
}

/// A failing exit code: 1 to 255.
fn exit_code(code: &str) -> Result<i32, String> {
    match code.parse() {
        Ok(n @ 1..=255) => Ok(n),
        _ => Err(format!(
            "CODE must be an exit code from 1 to 255, got {code:?}"
        )),
    }
}

/// Adds one to the run count kept in `file` (none yet when it does not exist) and returns
/// the new count: 1 on the first run.
fn count_run(file: &str) -> io::Result<u32> {
    let previous = match fs::read_to_string(file) {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not a run count"))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e),
    };
    let run = previous + 1;
    fs::write(file, format!("{run}\n"))?;
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_both_commands() {
        assert_eq!(parse(&args("fail 42")), Ok(Command::Fail(42)));
        assert_eq!(
            parse(&args("fail-first 2 1 /scratch/runs")),
            Ok(Command::FailFirst {
                runs: 2,
                code: 1,
                file: "/scratch/runs".into()
            })
        );
    }

    #[test]
    fn refuses_bad_arguments() {
        for bad in [
            "",
            "fail",
            "fail 0",
            "fail 256",
            "fail x",
            "fail-first 2 1",
            "succeed",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn counts_runs_in_the_file() {
        let file = std::env::temp_dir().join(format!("flaky-test-{}", std::process::id()));
        let file = file.to_str().unwrap();
        let _ = fs::remove_file(file);
        assert_eq!(count_run(file).unwrap(), 1);
        assert_eq!(count_run(file).unwrap(), 2);
        assert_eq!(fs::read_to_string(file).unwrap(), "2\n");
        fs::write(file, "garbage").unwrap();
        assert!(count_run(file).is_err());
        fs::remove_file(file).unwrap();
    }
}
