//! The resource types `delete` and `wait` take, by every name kubectl accepts for them.

use super::Failure;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Job,
    Pod,
}

impl Kind {
    /// `job`, `jobs`, `job.batch`, `jobs.batch`; `pod`, `pods`, `po`.
    pub fn parse(word: &str) -> Result<Kind, Failure> {
        match word {
            "job" | "jobs" | "job.batch" | "jobs.batch" => Ok(Kind::Job),
            "pod" | "pods" | "po" => Ok(Kind::Pod),
            other => Err(Failure::input(format!(
                "error: the server doesn't have a resource type {other:?} (wasmjob knows jobs and pods)"
            ))),
        }
    }

    /// The name in `NotFound` errors: `jobs.batch`, `pods`.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Job => "jobs.batch",
            Kind::Pod => "pods",
        }
    }
}
