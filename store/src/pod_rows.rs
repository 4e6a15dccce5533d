//! Compact pod rows. A pod made from its Job's template is stored as what differs from it: its
//! identity (uid and name as columns; the completion index; creation time and index failure
//! counts in a small binary record), the marks the controller sets (the tracking finalizer, the
//! deletion time and grace period), the node it is bound to, and its status in the same binary
//! record. The template is
//! stored once per Job (table `templates`), and a pod is rebuilt from it when read — with the
//! very function that made it (`wasmjob_controller::new_pod`), so the rebuilt pod is the pod.
//! A pod that is not what its template makes (an orphan, one written by an older wasmjob, one a
//! test made by hand) is stored whole, as JSON.
//!
//! Must not: decide anything about pods; it says whether a pod is template-shaped and moves its
//! fields in and out of bytes.

use wasmjob_controller::{Identities, PodToCreate, new_pod};
use wasmjob_spec::*;

/// The first byte of every record: the layout it was written in. Layout 2 adds the node the
/// pod is bound to (`spec.nodeName`) after the status; records of layout 1 (none) are read.
const LAYOUT: u8 = 2;

/// What a Job's template record holds: the Job as far as making its pods needs it (name,
/// namespace, uid, completion mode, template).
pub(crate) fn template_of(job: &Job) -> Job {
    Job {
        api_version: job.api_version.clone(),
        kind: job.kind.clone(),
        metadata: ObjectMeta {
            name: job.metadata.name.clone(),
            namespace: job.metadata.namespace.clone(),
            uid: job.metadata.uid.clone(),
            ..Default::default()
        },
        spec: JobSpec {
            completion_mode: job.spec.completion_mode.clone(),
            template: job.spec.template.clone(),
            ..Default::default()
        },
        status: None,
    }
}

/// A pod's compact form: the columns beside its record, and the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Compact {
    pub index: Option<i32>,
    /// The pod still has the Job's tracking finalizer (its outcome is not counted yet).
    pub finalizer: bool,
    pub record: Vec<u8>,
}

/// The identity [`new_pod`] is given back: the stored uid and name suffix.
struct Given<'a> {
    uid: &'a str,
    suffix: &'a str,
}

impl Identities for Given<'_> {
    fn uid(&mut self) -> String {
        self.uid.to_string()
    }
    fn name_suffix(&mut self) -> String {
        self.suffix.to_string()
    }
}

/// What the controller asked for when it made the pod, read back from the pod.
fn wanted(pod: &Pod, template: &Job) -> Option<PodToCreate> {
    let annotation = |key: &str| -> Result<Option<i32>, ()> {
        match pod.metadata.annotations.get(key) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| ()),
        }
    };
    let index = if template.is_indexed() {
        annotation(COMPLETION_INDEX_ANNOTATION).ok()?
    } else {
        None
    };
    Some(PodToCreate {
        index,
        failure_count: annotation(INDEX_FAILURE_COUNT_ANNOTATION).ok()?,
        ignored_failure_count: annotation(INDEX_IGNORED_FAILURE_COUNT_ANNOTATION).ok()?,
    })
}

/// The pod `template` makes with this identity, before the controller's marks and any status.
fn made(template: &Job, want: &PodToCreate, uid: &str, suffix: &str, created: Time) -> Pod {
    new_pod(template, want, &mut Given { uid, suffix }, created, &|_| {
        false
    })
}

/// What identifies a pod of its template: its name's suffix, creation time, what the
/// controller asked for, and whether it keeps the tracking finalizer. `None` when the pod
/// cannot be one of its template's.
struct Identity<'a> {
    suffix: &'a str,
    created: Time,
    want: PodToCreate,
    finalizer: bool,
}

fn identity<'a>(pod: &'a Pod, template: &Job) -> Option<Identity<'a>> {
    let meta = &pod.metadata;
    let finalizer = match meta.finalizers.as_slice() {
        [] => false,
        [f] if f == TRACKING_FINALIZER => true,
        _ => return None,
    };
    Some(Identity {
        suffix: meta
            .name
            .as_deref()?
            .strip_prefix(meta.generate_name.as_deref()?)?,
        created: meta.creation_timestamp?,
        want: wanted(pod, template)?,
        finalizer,
    })
}

/// The pod's compact form, when it is exactly what `template` makes plus the controller's
/// marks and a status; `None` when anything else differs (then it is stored whole).
pub(crate) fn encode(pod: &Pod, template: &Job) -> Option<Compact> {
    let id = identity(pod, template)?;
    let meta = &pod.metadata;
    let mut expected = made(
        template,
        &id.want,
        meta.uid.as_deref()?,
        id.suffix,
        id.created,
    );
    expected.metadata.resource_version = meta.resource_version.clone();
    expected.metadata.deletion_timestamp = meta.deletion_timestamp;
    expected.metadata.deletion_grace_period_seconds = meta.deletion_grace_period_seconds;
    expected.spec.node_name = pod.spec.node_name.clone();
    if !id.finalizer {
        expected.metadata.finalizers.clear();
    }
    if expected.metadata != *meta
        || expected.spec != pod.spec
        || expected.api_version != pod.api_version
        || expected.kind != pod.kind
    {
        return None;
    }
    Some(compact(pod, id))
}

/// The compact form of a pod its caller knows to be what `template` makes (see
/// `Batch::put_pod`), without comparing it with what the template makes.
pub(crate) fn encode_made(pod: &Pod, template: &Job) -> Option<Compact> {
    identity(pod, template).map(|id| compact(pod, id))
}

fn compact(pod: &Pod, id: Identity<'_>) -> Compact {
    let meta = &pod.metadata;
    let mut e = Enc(Vec::with_capacity(256));
    e.u8(LAYOUT);
    e.str(id.suffix);
    e.time(Some(id.created));
    e.time(meta.deletion_timestamp);
    e.int(meta.deletion_grace_period_seconds);
    e.int(id.want.failure_count.map(i64::from));
    e.int(id.want.ignored_failure_count.map(i64::from));
    e.status(&pod.status);
    e.opt_str(pod.spec.node_name.as_deref());
    Compact {
        index: id.want.index,
        finalizer: id.finalizer,
        record: e.0,
    }
}

/// Rebuilds a pod from its template and compact row; the error says what is damaged.
pub(crate) fn decode(
    template: &Job,
    uid: &str,
    name: &str,
    version: i64,
    compact: &Compact,
) -> Result<Pod, String> {
    let mut d = Dec {
        bytes: &compact.record,
        at: 0,
    };
    let layout = d.u8()?;
    if !(1..=LAYOUT).contains(&layout) {
        return Err(format!("unknown record layout {layout}"));
    }
    let suffix = d.str()?;
    let created = d.time()?.ok_or("no creation time")?;
    let deletion = d.time()?;
    let grace = d.int()?;
    let want = PodToCreate {
        index: compact.index,
        failure_count: d.int32()?,
        ignored_failure_count: d.int32()?,
    };
    let status = d.status()?;
    let node = if layout >= 2 { d.opt_str()? } else { None };
    if d.at != d.bytes.len() {
        return Err(format!("{} bytes after the record", d.bytes.len() - d.at));
    }
    let mut pod = made(template, &want, uid, &suffix, created);
    if pod.metadata.name() != name {
        return Err(format!(
            "it rebuilds as pod {:?}, not {name:?}",
            pod.metadata.name()
        ));
    }
    pod.metadata.resource_version = Some(version.to_string());
    pod.metadata.deletion_timestamp = deletion;
    pod.metadata.deletion_grace_period_seconds = grace;
    if !compact.finalizer {
        pod.metadata.finalizers.clear();
    }
    pod.status = status;
    pod.spec.node_name = node;
    Ok(pod)
}

/// The log of one container run kept with its pod (small runs': the node keeps no file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlineLog {
    pub container: String,
    pub restart: i32,
    /// The log as the node's files hold one (CRI format).
    pub bytes: Vec<u8>,
}

/// The `logs` column of a pod: its inline run logs.
pub(crate) fn encode_logs(logs: &[InlineLog]) -> Vec<u8> {
    let mut e = Enc(Vec::with_capacity(
        logs.iter().map(|l| l.bytes.len() + 16).sum(),
    ));
    e.u8(LAYOUT);
    e.varint(logs.len() as u64);
    for l in logs {
        e.str(&l.container);
        e.signed(l.restart.into());
        e.varint(l.bytes.len() as u64);
        e.0.extend_from_slice(&l.bytes);
    }
    e.0
}

/// The inline log of run `restart` of `container`, from a pod's `logs` column.
pub(crate) fn find_log(
    column: &[u8],
    container: &str,
    restart: i32,
) -> Result<Option<Vec<u8>>, String> {
    let mut found = None;
    walk_logs(column, |name, run, bytes| {
        if found.is_none() && name == container && run == restart {
            found = Some(bytes.to_vec());
        }
    })?;
    Ok(found)
}

/// The runs (container, restart) whose logs a pod's `logs` column holds.
pub(crate) fn runs_of(column: &[u8]) -> Result<Vec<(String, i32)>, String> {
    let mut runs = Vec::new();
    walk_logs(column, |name, run, _| runs.push((name.to_string(), run)))?;
    Ok(runs)
}

/// Calls `each` with every run log of a pod's `logs` column.
fn walk_logs(column: &[u8], mut each: impl FnMut(&str, i32, &[u8])) -> Result<(), String> {
    let mut d = Dec {
        bytes: column,
        at: 0,
    };
    let layout = d.u8()?;
    if layout != LAYOUT {
        return Err(format!("unknown logs layout {layout}"));
    }
    for _ in 0..d.count()? {
        let name = d.str()?;
        let run = d.i32()?;
        let len = usize::try_from(d.varint()?).map_err(|_| "a log too long")?;
        let end =
            d.at.checked_add(len)
                .filter(|e| *e <= d.bytes.len())
                .ok_or_else(|| format!("a log of {len} bytes past the column's end"))?;
        each(&name, run, &d.bytes[d.at..end]);
        d.at = end;
    }
    Ok(())
}

/// Writes a record: integers as zig-zag varints, strings with their length, options with a
/// presence byte.
struct Enc(Vec<u8>);

impl Enc {
    fn u8(&mut self, b: u8) {
        self.0.push(b);
    }
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn signed(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }
    fn int(&mut self, v: Option<i64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.signed(v);
            }
        }
    }
    fn str(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }
    fn time(&mut self, t: Option<Time>) {
        match t {
            None => self.u8(0),
            Some(t) => {
                self.u8(1);
                self.signed(t.0.as_second());
                self.varint(t.0.subsec_nanosecond() as u64);
            }
        }
    }
    fn status(&mut self, s: &PodStatus) {
        self.opt_str(s.phase.as_deref());
        self.varint(s.conditions.len() as u64);
        for c in &s.conditions {
            self.str(&c.type_);
            self.str(&c.status);
            self.time(c.last_probe_time);
            self.time(c.last_transition_time);
            self.opt_str(c.reason.as_deref());
            self.opt_str(c.message.as_deref());
        }
        self.opt_str(s.message.as_deref());
        self.opt_str(s.reason.as_deref());
        self.time(s.start_time);
        for list in [&s.init_container_statuses, &s.container_statuses] {
            self.varint(list.len() as u64);
            for c in list {
                self.container(c);
            }
        }
    }
    fn container(&mut self, c: &ContainerStatus) {
        self.str(&c.name);
        self.state(&c.state);
        self.state(&c.last_state);
        self.u8(u8::from(c.ready));
        self.signed(c.restart_count.into());
        self.str(&c.image);
        self.str(&c.image_id);
        self.opt_str(c.container_id.as_deref());
        self.u8(match c.started {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        });
    }
    fn state(&mut self, s: &ContainerState) {
        let mask = u8::from(s.waiting.is_some())
            | (u8::from(s.running.is_some()) << 1)
            | (u8::from(s.terminated.is_some()) << 2);
        self.u8(mask);
        if let Some(w) = &s.waiting {
            self.opt_str(w.reason.as_deref());
            self.opt_str(w.message.as_deref());
        }
        if let Some(r) = &s.running {
            self.time(r.started_at);
        }
        if let Some(t) = &s.terminated {
            self.signed(t.exit_code.into());
            self.int(t.signal.map(i64::from));
            self.opt_str(t.reason.as_deref());
            self.opt_str(t.message.as_deref());
            self.time(t.started_at);
            self.time(t.finished_at);
            self.opt_str(t.container_id.as_deref());
        }
    }
}

/// Reads what [`Enc`] wrote; every error says what was being read.
struct Dec<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Dec<'_> {
    fn u8(&mut self) -> Result<u8, String> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| format!("the record ends early (at byte {})", self.at))?;
        self.at += 1;
        Ok(b)
    }
    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(format!("a number too long at byte {}", self.at))
    }
    fn signed(&mut self) -> Result<i64, String> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }
    fn present(&mut self) -> Result<bool, String> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(format!("a presence byte of {b} at byte {}", self.at - 1)),
        }
    }
    fn int(&mut self) -> Result<Option<i64>, String> {
        if self.present()? {
            self.signed().map(Some)
        } else {
            Ok(None)
        }
    }
    fn int32(&mut self) -> Result<Option<i32>, String> {
        self.int()?
            .map(|v| i32::try_from(v).map_err(|_| format!("{v} is out of range")))
            .transpose()
    }
    fn i32(&mut self) -> Result<i32, String> {
        let v = self.signed()?;
        i32::try_from(v).map_err(|_| format!("{v} is out of range"))
    }
    fn str(&mut self) -> Result<String, String> {
        let len = usize::try_from(self.varint()?).map_err(|_| "a string too long")?;
        let end = self
            .at
            .checked_add(len)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| format!("a string of {len} bytes past the record's end"))?;
        let s = std::str::from_utf8(&self.bytes[self.at..end])
            .map_err(|e| format!("a string that is not UTF-8: {e}"))?
            .to_string();
        self.at = end;
        Ok(s)
    }
    fn opt_str(&mut self) -> Result<Option<String>, String> {
        if self.present()? {
            self.str().map(Some)
        } else {
            Ok(None)
        }
    }
    fn time(&mut self) -> Result<Option<Time>, String> {
        if !self.present()? {
            return Ok(None);
        }
        let secs = self.signed()?;
        let nanos = i32::try_from(self.varint()?).map_err(|_| "nanoseconds out of range")?;
        jiff::Timestamp::new(secs, nanos)
            .map(|t| Some(Time(t)))
            .map_err(|e| format!("a time out of range: {e}"))
    }
    fn status(&mut self) -> Result<PodStatus, String> {
        let phase = self.opt_str()?;
        let n = self.count()?;
        let mut conditions = Vec::with_capacity(n);
        for _ in 0..n {
            conditions.push(PodCondition {
                type_: self.str()?,
                status: self.str()?,
                last_probe_time: self.time()?,
                last_transition_time: self.time()?,
                reason: self.opt_str()?,
                message: self.opt_str()?,
            });
        }
        let message = self.opt_str()?;
        let reason = self.opt_str()?;
        let start_time = self.time()?;
        let mut lists = [Vec::new(), Vec::new()];
        for list in &mut lists {
            let n = self.count()?;
            list.reserve(n);
            for _ in 0..n {
                list.push(self.container()?);
            }
        }
        let [init_container_statuses, container_statuses] = lists;
        Ok(PodStatus {
            phase,
            conditions,
            message,
            reason,
            start_time,
            init_container_statuses,
            container_statuses,
        })
    }
    /// A count of entries that follow, each at least one byte long.
    fn count(&mut self) -> Result<usize, String> {
        let n = self.varint()?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.bytes.len() - self.at)
            .ok_or_else(|| format!("a count of {n} entries past the record's end"))
    }
    fn container(&mut self) -> Result<ContainerStatus, String> {
        Ok(ContainerStatus {
            name: self.str()?,
            state: self.state()?,
            last_state: self.state()?,
            ready: self.present()?,
            restart_count: self.i32()?,
            image: self.str()?,
            image_id: self.str()?,
            container_id: self.opt_str()?,
            started: match self.u8()? {
                0 => None,
                1 => Some(false),
                2 => Some(true),
                b => return Err(format!("a started byte of {b}")),
            },
        })
    }
    fn state(&mut self) -> Result<ContainerState, String> {
        let mask = self.u8()?;
        if mask > 7 {
            return Err(format!("a container state of {mask}"));
        }
        let mut s = ContainerState::default();
        if mask & 1 != 0 {
            s.waiting = Some(ContainerStateWaiting {
                reason: self.opt_str()?,
                message: self.opt_str()?,
            });
        }
        if mask & 2 != 0 {
            s.running = Some(ContainerStateRunning {
                started_at: self.time()?,
            });
        }
        if mask & 4 != 0 {
            s.terminated = Some(ContainerStateTerminated {
                exit_code: self.i32()?,
                signal: self.int32()?,
                reason: self.opt_str()?,
                message: self.opt_str()?,
                started_at: self.time()?,
                finished_at: self.time()?,
                container_id: self.opt_str()?,
            });
        }
        Ok(s)
    }
}
