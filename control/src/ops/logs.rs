//! Reading a container's log from the state directory, whole or as it grows, bytes as the
//! guest wrote them: `wasmjob logs` and the API's `pods/{name}/log` read through the same
//! [`Reader`]. A run's log is in one of two places: stored with its pod (a run that ended
//! small and soon), or in the node's file for it (a run that lasts, which is how a running
//! pod's log can be followed). Knows the kubelet's rules for which run is read (`--previous`) and how
//! `--tail` counts lines; writes to whatever it is given.

use super::OpError;
use crate::sandbox::log::{LogLine, parse_record};
use crate::store::{StateDir, Store};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use wasmjob_spec::{PHASE_FAILED, PHASE_SUCCEEDED, Pod};

/// One run of one container, and where its log is.
pub struct Source {
    pub pod: Pod,
    pub container: String,
    pub restart: i32,
    /// The node's file of the run's log (missing while the log is in memory, and for good
    /// when it was stored with the pod).
    pub path: PathBuf,
    /// The log as stored with the pod.
    pub inline: Option<Vec<u8>>,
}

impl Source {
    /// The log of `container`'s current run in `pod`, or with `previous` of the run before
    /// its last restart (an error, worded as the kubelet words it, when there is none).
    pub fn of(
        store: &Store,
        pod: Pod,
        container: String,
        previous: bool,
    ) -> Result<Source, OpError> {
        let restart = run_of(&pod, &container, previous).map_err(OpError::Invalid)?;
        let source = Source::run(store, pod, container, restart)?;
        if source.inline.is_none() && !source.path.exists() {
            source.elsewhere(store)?;
        }
        Ok(source)
    }

    /// An error when the log is kept by a node of another process (`wasmjob node`), which the
    /// control plane cannot read from: only its small logs come back with their pods.
    fn elsewhere(&self, store: &Store) -> Result<(), OpError> {
        let Some(name) = self.pod.spec.node_name.as_deref() else {
            return Ok(());
        };
        let Some(node) = store.node(name)? else {
            return Ok(());
        };
        if !node
            .metadata
            .annotations
            .contains_key(wasmjob_spec::node::NODE_PROCESS_ANNOTATION)
        {
            return Ok(());
        }
        let reach = if node.is_ready() {
            ""
        } else {
            ", which is unreachable now"
        };
        Err(OpError::Failed(format!(
            "the log of container {:?} of pod {:?} is kept by node {name:?} (a `wasmjob node`{reach}): a run's log of up to 64 KiB comes back with its pod when the pod ends; larger logs, and the logs of pods still running there, cannot be read through the control plane yet",
            self.container,
            self.pod.metadata.name()
        )))
    }

    /// The log of run `restart` of `container` in `pod`.
    pub fn run(
        store: &Store,
        pod: Pod,
        container: String,
        restart: i32,
    ) -> Result<Source, OpError> {
        let logs = StateDir::new(store.dir()).logs();
        let path = crate::node::log_path(&logs, &pod, &container, restart);
        let inline = store.inline_log(pod.metadata.uid(), &container, restart)?;
        Ok(Source {
            pod,
            container,
            restart,
            path,
            inline,
        })
    }
}

/// The run of `container` whose log is read: its current one, or with `previous` the one
/// before its last restart (an error, worded as the kubelet words it, when there is none).
pub fn run_of(pod: &Pod, container: &str, previous: bool) -> Result<i32, String> {
    let count = pod
        .status
        .container_statuses
        .iter()
        .chain(&pod.status.init_container_statuses)
        .find(|s| s.name == container)
        .map_or(0, |s| s.restart_count);
    match (previous, count) {
        (false, n) => Ok(n),
        (true, 0) => Err(format!(
            "previous terminated container {container:?} in pod {:?} not found",
            pod.metadata.name()
        )),
        (true, n) => Ok(n - 1),
    }
}

/// Keeps the last `n` lines of `records`, counting logical lines: a run of partial records
/// ends with a full one (or with the last record).
pub fn keep_last_lines(records: &mut Vec<LogLine>, n: usize) {
    let mut seen = 0;
    let mut start = records.len();
    for (i, l) in records.iter().enumerate().rev() {
        if l.full || i == records.len() - 1 {
            if seen == n {
                break;
            }
            seen += 1;
        }
        start = i;
    }
    records.drain(..start);
}

/// Reads one log file, whole or as it grows, and prints its records.
pub struct Reader {
    source: Source,
    offset: u64,
    pending: Vec<u8>,
    at_line_start: bool,
    prefix: Option<String>,
    timestamps: bool,
}

impl Reader {
    /// A reader whose lines start with `[pod/NAME/CONTAINER] ` (`logs --prefix`).
    pub fn prefixed(source: Source, timestamps: bool) -> Reader {
        let prefix = format!("[pod/{}/{}] ", source.pod.metadata.name(), source.container);
        Reader {
            prefix: Some(prefix),
            ..Reader::plain(source, timestamps)
        }
    }

    /// A reader without prefixes, each line led by its time when `timestamps`.
    pub fn plain(source: Source, timestamps: bool) -> Reader {
        Reader {
            source,
            offset: 0,
            pending: Vec::new(),
            at_line_start: true,
            prefix: None,
            timestamps,
        }
    }

    fn read_new(&mut self) -> Result<Vec<LogLine>, OpError> {
        let path = &self.source.path;
        let mut bytes = Vec::new();
        match std::fs::File::open(path) {
            Ok(mut f) => {
                f.seek(std::io::SeekFrom::Start(self.offset))?;
                f.read_to_end(&mut bytes)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(inline) = &self.source.inline {
                    let from = usize::try_from(self.offset).unwrap_or(usize::MAX);
                    bytes.extend_from_slice(inline.get(from..).unwrap_or_default());
                }
            }
            Err(e) => {
                return Err(OpError::Failed(format!("reading {}: {e}", path.display())));
            }
        }
        self.offset += bytes.len() as u64;
        self.pending.extend(bytes);
        let Some(end) = self.pending.iter().rposition(|b| *b == b'\n') else {
            return Ok(Vec::new());
        };
        let complete: Vec<u8> = self.pending.drain(..=end).collect();
        Ok(complete
            .split(|b| *b == b'\n')
            .filter(|r| !r.is_empty())
            .map(parse_record)
            .collect())
    }

    /// Every record of the log as it is now, its unfinished last line too.
    pub fn read_all(&mut self) -> Result<Vec<LogLine>, OpError> {
        let mut lines = self.read_new()?;
        if !self.pending.is_empty() {
            lines.push(parse_record(&std::mem::take(&mut self.pending)));
        }
        Ok(lines)
    }

    pub fn print_existing(
        &mut self,
        out: &mut dyn Write,
        tail: Option<usize>,
    ) -> Result<(), OpError> {
        let mut lines = self.read_new()?;
        if let Some(n) = tail {
            keep_last_lines(&mut lines, n);
        }
        self.print(out, &lines)
    }

    pub fn print_new(&mut self, out: &mut dyn Write) -> Result<(), OpError> {
        let lines = self.read_new()?;
        self.print(out, &lines)
    }

    fn print(&mut self, out: &mut dyn Write, lines: &[LogLine]) -> Result<(), OpError> {
        for l in lines {
            if self.at_line_start {
                if let Some(p) = &self.prefix {
                    out.write_all(p.as_bytes())?;
                }
                if self.timestamps && !l.time.is_empty() {
                    write!(out, "{} ", l.time)?;
                }
            }
            out.write_all(&l.raw())?;
            self.at_line_start = l.full;
        }
        Ok(())
    }

    /// Ends an unfinished last line, so that the next source starts on its own line.
    pub fn finish(&mut self, out: &mut dyn Write) -> Result<(), OpError> {
        if !self.at_line_start && self.prefix.is_some() {
            writeln!(out)?;
        }
        Ok(())
    }

    /// Whether the followed run of the container has ended (or the pod is gone). Once it
    /// has, a log stored with the pod is read too.
    pub fn ended(&mut self, store: &Store) -> Result<bool, OpError> {
        let ended = self.run_ended(store)?;
        if ended && self.source.inline.is_none() {
            let s = &self.source;
            self.source.inline = store.inline_log(s.pod.metadata.uid(), &s.container, s.restart)?;
        }
        Ok(ended)
    }

    fn run_ended(&self, store: &Store) -> Result<bool, OpError> {
        let pod = &self.source.pod;
        let Some(now) = store.get_pod(pod.metadata.namespace(), pod.metadata.name())? else {
            return Ok(true);
        };
        if matches!(now.phase(), PHASE_SUCCEEDED | PHASE_FAILED) {
            return Ok(true);
        }
        let status = now
            .status
            .container_statuses
            .iter()
            .chain(&now.status.init_container_statuses)
            .find(|s| s.name == self.source.container);
        Ok(status.is_some_and(|s| {
            s.restart_count > self.source.restart
                || (s.restart_count == self.source.restart && s.state.terminated.is_some())
        }))
    }
}
