//! The reportable state of one running pod: its status, the termination messages its
//! containers report, and their progress reports, throttled so that a task reporting in a tight
//! loop costs the store a few writes a second.
//!
//! Changes are not sent one by one: a change queues the pod for the node's reporter once, and
//! the reporter reads the status as it is when it gets to it ([`super::StatusReport`]). A pod
//! that goes through several states before the reporter looks costs one report, not one per
//! state.

use super::{NodeInner, RunLog, StatusReport};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use wasmjob_spec::*;

/// Shortest interval between two progress updates sent for one pod.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Default)]
struct ProgressReports {
    last_sent: Option<Instant>,
    /// A report held back by the throttle, and whether a flush is scheduled for it.
    pending: Option<String>,
    flush_scheduled: bool,
}

/// Shared, reportable state of a running pod.
pub(super) struct Live {
    pub inner: Arc<NodeInner>,
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub status: Mutex<PodStatus>,
    /// Termination messages the containers' current runs reported, by container.
    messages: Mutex<HashMap<String, String>>,
    progress: Mutex<ProgressReports>,
    /// The last report was sent: later changes (a late progress flush) are dropped.
    finished: AtomicBool,
    /// Warnings for the pod's events, sent with the next update.
    notes: Mutex<Vec<String>>,
    /// Logs of ended runs kept in memory, sent with the next update.
    logs: Mutex<Vec<RunLog>>,
    /// The pod waits in the manager's queue: further changes need no new report.
    queued: AtomicBool,
    /// The manager has read the final status.
    delivered_final: AtomicBool,
    me: Weak<Live>,
}

impl Live {
    /// Changes the status (unless the pod finished). `finished` is only read and set under the
    /// status lock, so that a report never pairs an older status with the final flag.
    pub fn update(&self, f: impl FnOnce(&mut PodStatus)) {
        {
            let mut status = lock(&self.status);
            if self.finished.load(Ordering::SeqCst) {
                return;
            }
            f(&mut status);
        }
        self.notify();
    }

    /// Makes the pod's last status from the one it has (in place, under the lock); nothing
    /// changes it afterwards.
    pub fn finish_in_place(&self, f: impl FnOnce(&mut PodStatus)) {
        {
            let mut current = lock(&self.status);
            f(&mut current);
            self.finished.store(true, Ordering::SeqCst);
        }
        self.notify();
    }

    /// Queues the pod for the manager, unless it is queued already.
    fn notify(&self) {
        if !self.queued.swap(true, Ordering::SeqCst)
            && let Some(me) = self.me.upgrade()
        {
            let _ = self.inner.news.send(me);
        }
    }

    /// The pod's status as it is now, for the manager; `None` once the final one was read.
    pub fn take(&self) -> Option<StatusReport> {
        // Unqueued first: a change made after this point queues a new report.
        self.queued.store(false, Ordering::SeqCst);
        let (status, finished) = {
            let mut status = lock(&self.status);
            let finished = self.finished.load(Ordering::SeqCst);
            if finished && self.delivered_final.swap(true, Ordering::SeqCst) {
                return None;
            }
            // The final status goes whole: nothing reads it here afterwards.
            let status = if finished {
                std::mem::take(&mut *status)
            } else {
                status.clone()
            };
            (status, finished)
        };
        Some(StatusReport {
            pod_uid: self.uid.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            status,
            finished,
            warnings: std::mem::take(&mut *lock(&self.notes)),
            logs: std::mem::take(&mut *lock(&self.logs)),
        })
    }

    /// Keeps the log of a run that ended in memory, for the next report (before the status
    /// change that ends the run, so that they travel together).
    pub fn add_log(&self, log: RunLog) {
        lock(&self.logs).push(log);
    }

    /// Records a warning as an event of the pod (sent with the next update).
    pub fn note(&self, message: String) {
        lock(&self.notes).push(message);
        if !self.finished.load(Ordering::SeqCst) {
            self.notify();
        }
    }

    pub fn container(&self, init: bool, name: &str, f: impl FnOnce(&mut ContainerStatus)) {
        self.update(|s| {
            let list = if init {
                &mut s.init_container_statuses
            } else {
                &mut s.container_statuses
            };
            if let Some(cs) = list.iter_mut().find(|c| c.name == name) {
                f(cs);
            }
            refresh_ready(s);
        });
    }
}

pub fn now() -> Time {
    Time(jiff::Timestamp::now())
}

pub fn condition(
    type_: &str,
    status: bool,
    reason: Option<&str>,
    message: Option<&str>,
) -> PodCondition {
    PodCondition {
        type_: type_.into(),
        status: if status { "True" } else { "False" }.into(),
        last_probe_time: None,
        last_transition_time: Some(now()),
        reason: reason.map(Into::into),
        message: message.map(Into::into),
    }
}

/// Sets condition `type_` to `status` unless it already has it (then it is left as it is,
/// reason and time included), building the condition only when it changes: this runs at
/// every change of a pod's status.
pub fn ensure_condition(
    s: &mut PodStatus,
    type_: &str,
    status: bool,
    reason: Option<&str>,
    message: Option<&str>,
) {
    let word = if status { "True" } else { "False" };
    if !s
        .conditions
        .iter()
        .any(|x| x.type_ == type_ && x.status == word)
    {
        let c = condition(type_, status, reason, message);
        match s.conditions.iter_mut().find(|x| x.type_ == c.type_) {
            Some(x) => *x = c,
            None => s.conditions.push(c),
        }
    }
}

/// Ready and ContainersReady follow whether every container is running.
pub fn refresh_ready(s: &mut PodStatus) {
    if s.phase.as_deref() != Some(PHASE_RUNNING) {
        return;
    }
    let all = !s.container_statuses.is_empty()
        && s.container_statuses
            .iter()
            .all(|c| c.state.running.is_some());
    for cs in &mut s.container_statuses {
        cs.ready = cs.state.running.is_some();
    }
    let reason = (!all).then_some("ContainersNotReady");
    ensure_condition(s, "ContainersReady", all, reason, None);
    ensure_condition(s, "Ready", all, reason, None);
}

impl Live {
    pub fn new(inner: Arc<NodeInner>, pod: &Pod, status: PodStatus) -> Arc<Live> {
        Arc::new_cyclic(|me| Live {
            inner,
            uid: pod.metadata.uid().to_string(),
            namespace: pod.metadata.namespace().to_string(),
            name: pod.metadata.name().to_string(),
            status: Mutex::new(status),
            messages: Mutex::new(HashMap::new()),
            progress: Mutex::new(ProgressReports::default()),
            finished: AtomicBool::new(false),
            notes: Mutex::new(Vec::new()),
            logs: Mutex::new(Vec::new()),
            queued: AtomicBool::new(false),
            delivered_final: AtomicBool::new(false),
            me: me.clone(),
        })
    }

    /// Sets the termination message of `container`'s current run.
    pub fn set_message(&self, container: &str, message: String) {
        lock(&self.messages).insert(container.to_string(), message);
    }

    /// Takes the termination message of `container`'s run that just ended.
    pub fn take_message(&self, container: &str) -> Option<String> {
        lock(&self.messages)
            .remove(container)
            .filter(|m| !m.is_empty())
    }

    /// Records a progress report as the pod's progress condition; reports closer together
    /// than [`PROGRESS_INTERVAL`] are folded, the last one always lands.
    pub fn report_progress(self: &Arc<Self>, permille: Option<u16>, text: &str) {
        let message = progress_message(permille, text);
        let mut p = lock(&self.progress);
        let now = Instant::now();
        match p.last_sent {
            Some(t) if now.duration_since(t) < PROGRESS_INTERVAL => {
                p.pending = Some(message);
                if !p.flush_scheduled {
                    p.flush_scheduled = true;
                    let live = self.clone();
                    let at = t + PROGRESS_INTERVAL;
                    tokio::spawn(async move {
                        tokio::time::sleep_until(at.into()).await;
                        let pending = {
                            let mut p = lock(&live.progress);
                            p.flush_scheduled = false;
                            p.last_sent = Some(Instant::now());
                            p.pending.take()
                        };
                        if let Some(m) = pending {
                            live.set_progress(m);
                        }
                    });
                }
            }
            _ => {
                p.last_sent = Some(now);
                p.pending = None;
                drop(p);
                self.set_progress(message);
            }
        }
    }

    fn set_progress(&self, message: String) {
        self.update(|s| {
            if s.phase.as_deref() == Some(PHASE_RUNNING) {
                let mut c = condition(PROGRESS_CONDITION, true, Some("Reported"), None);
                c.message = Some(message);
                match s
                    .conditions
                    .iter_mut()
                    .find(|x| x.type_ == PROGRESS_CONDITION)
                {
                    Some(x) => *x = c,
                    None => s.conditions.push(c),
                }
            }
        });
    }

    /// Folds a report still held back into the status (before the pod's last report).
    pub fn flush_progress(&self) {
        let pending = lock(&self.progress).pending.take();
        if let Some(m) = pending {
            self.set_progress(m);
        }
    }
}

/// `"42%"`, `"42%: text"` or `"text"`.
pub fn progress_message(permille: Option<u16>, text: &str) -> String {
    let pct = permille.map(|p| {
        if p % 10 == 0 {
            format!("{}%", p / 10)
        } else {
            format!("{}.{}%", p / 10, p % 10)
        }
    });
    match (pct, text.trim()) {
        (Some(p), "") => p,
        (Some(p), t) => format!("{p}: {t}"),
        (None, t) => t.to_string(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(tx: tokio::sync::mpsc::UnboundedSender<Arc<Live>>) -> Arc<Live> {
        let config = super::super::NodeConfig::new(std::env::temp_dir(), std::env::temp_dir());
        let (out, _) = tokio::sync::mpsc::unbounded_channel();
        let inner = Arc::new(NodeInner {
            sandbox: Arc::new(wasmjob_sandbox::Sandbox::configured(None, 1).unwrap()),
            admission: super::super::admission::Admission::new(1, None),
            config,
            news: tx,
            queue_calls: Arc::new(super::super::task_host::QueueCalls::new(out)),
            running: Default::default(),
        });
        let mut pod = Pod::default();
        pod.metadata.name = Some("p".into());
        Live::new(inner, &pod, PodStatus::default())
    }

    /// However the reporter's reads interleave with the pod's changes, the report that says
    /// "finished" carries the final status, exactly once.
    #[test]
    fn the_final_report_carries_the_final_status_once() {
        for round in 0..300 {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let live = live(tx);
            let writer = {
                let live = live.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        live.update(|s| s.message = Some(format!("step {i}")));
                    }
                    live.finish_in_place(|s| {
                        *s = PodStatus {
                            phase: Some(PHASE_SUCCEEDED.into()),
                            ..Default::default()
                        }
                    });
                    live.update(|s| s.message = Some("too late".into()));
                })
            };
            let mut finals = Vec::new();
            loop {
                match rx.try_recv() {
                    Ok(report) => {
                        if let Some(u) = report.take()
                            && u.finished
                        {
                            finals.push(u.status);
                        }
                    }
                    Err(_) if writer.is_finished() && rx.is_empty() => break,
                    Err(_) => std::thread::yield_now(),
                }
            }
            writer.join().unwrap();
            assert_eq!(finals.len(), 1, "round {round}: one final report");
            assert_eq!(
                finals[0].phase.as_deref(),
                Some(PHASE_SUCCEEDED),
                "round {round}"
            );
            assert_eq!(
                finals[0].message, None,
                "round {round}: nothing changes it afterwards"
            );
        }
    }

    #[test]
    fn progress_messages() {
        assert_eq!(progress_message(Some(420), ""), "42%");
        assert_eq!(progress_message(Some(425), "tile 3"), "42.5%: tile 3");
        assert_eq!(progress_message(None, " reading input "), "reading input");
        assert_eq!(progress_message(Some(1000), "done"), "100%: done");
    }
}
