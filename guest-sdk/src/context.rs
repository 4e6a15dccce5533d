//! What a task knows about itself: its Job, pod, completion index, attempt, and the Job's
//! completions and parallelism.

use crate::HostError;
use std::path::PathBuf;

/// The task's context.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// The Job's name.
    pub job: String,
    pub namespace: String,
    /// The pod's name (`HOSTNAME` is `<job>-<index>` for Indexed Jobs, as in Kubernetes).
    pub pod: String,
    /// The container's name.
    pub container: String,
    /// The completion index of an Indexed Job's pod.
    pub completion_index: Option<u32>,
    /// `spec.completions` (`None` for a work queue).
    pub completions: Option<u32>,
    /// `spec.parallelism`.
    pub parallelism: u32,
    /// In-place restarts of this container (`restartPolicy: OnFailure`).
    pub restart_count: u32,
    /// 1 on the first try; each failed pod before this one (of this index under
    /// `backoffLimitPerIndex`, else of the Job) and each restart adds one.
    pub attempt: u32,
    /// Where the container's atomic outputs volume is mounted, if it has one.
    pub outputs: Option<PathBuf>,
    /// argv without argv\[0\].
    pub args: Vec<String>,
}

impl Context {
    /// Asks wasmjob (`wasmjob_v1.context`). Under another runtime, a module that calls this
    /// does not start; use [`Context::from_env`] for tasks that must run anywhere.
    pub fn get() -> Result<Context, HostError> {
        let text = crate::abi::context()?;
        Ok(Context::parse(&text, std::env::args().skip(1).collect()))
    }

    /// The portable part, from the environment Kubernetes gives every pod: the pod's name
    /// (`HOSTNAME`) and `JOB_COMPLETION_INDEX`. Needs no host function.
    pub fn from_env() -> Context {
        Context::from_vars(
            |k| std::env::var(k).ok(),
            std::env::args().skip(1).collect(),
        )
    }

    /// [`Context::from_env`] over any variable lookup (for tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>, args: Vec<String>) -> Context {
        Context {
            pod: var("HOSTNAME").unwrap_or_default(),
            completion_index: var("JOB_COMPLETION_INDEX").and_then(|v| v.trim().parse().ok()),
            parallelism: 1,
            attempt: 1,
            args,
            ..Context::default()
        }
    }

    /// Reads the `key=value` lines of `wasmjob_v1.context`; unknown keys are skipped, so
    /// that newer hosts can add keys.
    pub fn parse(text: &str, args: Vec<String>) -> Context {
        let mut c = Context {
            parallelism: 1,
            attempt: 1,
            args,
            ..Context::default()
        };
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            match k {
                "job" => c.job = v.to_string(),
                "namespace" => c.namespace = v.to_string(),
                "pod" => c.pod = v.to_string(),
                "container" => c.container = v.to_string(),
                "completion_index" => c.completion_index = v.parse().ok(),
                "completions" => c.completions = v.parse().ok(),
                "parallelism" => c.parallelism = v.parse().unwrap_or(1),
                "restart_count" => c.restart_count = v.parse().unwrap_or(0),
                "attempt" => c.attempt = v.parse().unwrap_or(1),
                "outputs" => c.outputs = Some(PathBuf::from(v)),
                _ => {}
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_host_text() {
        let c = Context::parse(
            "job=render\nnamespace=default\npod=render-3-bcdfg\npod_uid=u\ncontainer=tile\ncompletion_index=3\ncompletions=16\nparallelism=4\nrestart_count=1\nattempt=3\noutputs=/out\nfuture=key\n",
            vec!["x".into()],
        );
        assert_eq!(c.job, "render");
        assert_eq!(c.pod, "render-3-bcdfg");
        assert_eq!(c.container, "tile");
        assert_eq!(c.completion_index, Some(3));
        assert_eq!(c.completions, Some(16));
        assert_eq!(c.parallelism, 4);
        assert_eq!((c.restart_count, c.attempt), (1, 3));
        assert_eq!(c.outputs, Some(PathBuf::from("/out")));
        assert_eq!(c.args, vec!["x".to_string()]);
    }

    #[test]
    fn work_queue_context_has_no_completions_or_index() {
        let c = Context::parse("job=q\nparallelism=4\n", vec![]);
        assert_eq!(
            (c.completions, c.completion_index, c.outputs),
            (None, None, None)
        );
        assert_eq!(c.attempt, 1);
    }

    #[test]
    fn env_context_reads_hostname_and_index() {
        let c = Context::from_vars(
            |k| match k {
                "HOSTNAME" => Some("render-3".into()),
                "JOB_COMPLETION_INDEX" => Some("3".into()),
                _ => None,
            },
            vec!["frame".into()],
        );
        assert_eq!(c.pod, "render-3");
        assert_eq!(c.completion_index, Some(3));
        let garbled = Context::from_vars(
            |k| (k == "JOB_COMPLETION_INDEX").then(|| "x".into()),
            vec![],
        );
        assert_eq!(garbled.completion_index, None);
    }
}
