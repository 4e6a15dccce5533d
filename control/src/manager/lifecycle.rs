//! The life of Jobs around reconciling: taking over Jobs from the store (with crash recovery
//! of their pods), noticing what other processes changed (patches, new Jobs, deletions of
//! Jobs and pods), and removing what is due to go — deleted Jobs once their pods have
//! stopped, user-deleted pods once counted, and Jobs whose ttlSecondsAfterFinished passed.
//! Removals go to the writer like every other change; the log files of what was removed go
//! once the removal is committed.

use super::recovery::{Recovered, recover};
use super::{Entry, Manager, ManagerError, Scope};
use crate::controller::ttl;
use crate::node::StopCause;
use crate::node::remove_logs;
use crate::store::StateDir;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::time::Instant;
use wasmjob_spec::TRACKING_FINALIZER;

/// `deleting` once an orphaning delete has removed the Job's row and only running pods
/// remain to be followed.
const ORPHANED: &str = "Orphaned";

impl Manager {
    /// Looks at what other processes changed since the last look: Jobs to take over (in
    /// [`Scope::All`]), spec changes, deletions of Jobs and pods, Jobs that vanished.
    pub fn look_at_store(&mut self) -> Result<(), ManagerError> {
        let version = self.store.changed_elsewhere()?;
        if self.seen_version == Some(version) {
            return Ok(());
        }
        self.seen_version = Some(version);
        // A user may have cordoned, labelled or deleted the node: unbound pods are tried again.
        if self.refresh_node()? {
            self.reschedule();
        }
        let states = match self.scope {
            Scope::All => self.store.job_states(None)?,
            Scope::Own => {
                let uids: Vec<String> = self.jobs.keys().cloned().collect();
                self.store.job_states(Some(&uids))?
            }
        };
        let present: HashSet<&str> = states.iter().map(|s| s.uid.as_str()).collect();
        let vanished: Vec<String> = self
            .jobs
            .iter()
            .filter(|(uid, e)| {
                !present.contains(uid.as_str()) && e.deleting.as_deref() != Some(ORPHANED)
            })
            .map(|(uid, _)| uid.clone())
            .collect();
        for uid in vanished {
            self.forget(&uid, true);
        }
        for st in &states {
            match self.jobs.get(&st.uid) {
                None if self.scope == Scope::All => self.adopt(&st.uid)?,
                None => continue,
                Some(e) if e.record.job.metadata.generation.unwrap_or(1) != st.generation => {
                    self.reload_spec(&st.uid)?
                }
                Some(_) => {}
            }
            if let Some(p) = &st.deleting {
                self.begin_delete(&st.uid, p);
            }
        }
        for (job_uid, pod, evicted) in self.store.pods_to_delete()? {
            self.begin_pod_delete(&job_uid, &pod, evicted);
        }
        Ok(())
    }

    /// Removes log and volume folders of pods the store no longer has — left behind when a
    /// controller died between deleting a Job's rows and its files. Call before any pod runs.
    pub fn sweep_leftovers(&self) -> Result<usize, ManagerError> {
        let known: HashSet<String> = self.store.pod_uids()?.into_iter().collect();
        let dir = StateDir::new(self.store.dir());
        Ok(crate::node::remove_leftovers(
            &dir.logs(),
            &dir.pods(),
            |uid| known.contains(uid),
        ))
    }

    /// A Job whose stored generation moved on (`wasmjob patch`, `apply`) gets its new spec
    /// and metadata, keeps its status, and is reconciled.
    fn reload_spec(&mut self, uid: &str) -> Result<(), ManagerError> {
        if let Some(stored) = self.store.get_job_by_uid(uid)?
            && let Some(e) = self.jobs.get_mut(uid)
        {
            let status = e.record.job.status.take();
            e.record.job = stored.job;
            e.record.job.status = status;
            self.dirty_jobs.insert(uid.to_string());
        }
        Ok(())
    }

    /// Takes charge of a stored Job: records this manager as its owner and recovers its pods
    /// — those that were running under a controller that died are failed as lost, those that
    /// were waiting for capacity start again. In cluster mode a pod that ran on a node of
    /// another process is followed instead: that node lives on without the control plane, and
    /// its pod is lost only if the node does not come back within the grace period, or does not
    /// list it.
    fn adopt(&mut self, uid: &str) -> Result<(), ManagerError> {
        let Some(record) = self.store.get_job_by_uid(uid)? else {
            return Ok(());
        };
        let pods = self.store.pods_in_flight_of_job(uid)?;
        let now = self.clock.now();
        let mut entry = Entry::new(record);
        for name in self.store.pod_names_of_job(uid)? {
            entry.pods.add_name(&name);
        }
        entry.queue = self.load_queue(uid)?;
        let mut restart = Vec::new();
        let named = entry.record.job.spec.template.spec.node_name.is_some();
        // The pods that ran on nodes of other processes, which live on.
        let followed: Vec<Option<std::sync::Arc<str>>> = pods
            .iter()
            .map(|(p, _)| {
                matches!(recover(p, now), Recovered::Lost(_))
                    .then(|| self.follow_remote(p))
                    .flatten()
            })
            .collect();
        // Nothing of this Job was handed to the writer yet: its claim and its lost pods are
        // written here, before any hand-off.
        let mut batch = self.store.batch()?;
        batch.claim_job(uid, &self.owner)?;
        for ((mut pod, made), follow) in pods.into_iter().zip(followed) {
            let name = pod.metadata.name().to_string();
            match recover(&pod, now) {
                Recovered::Finished => {}
                Recovered::Restart => {
                    // It never ran: the scheduler places it again (the node it was bound to
                    // may be gone, or cordoned), unless its template names its node.
                    if !named {
                        pod.spec.node_name = None;
                    }
                    restart.push((uid.to_string(), name.clone()));
                }
                Recovered::Lost(_) if let Some(node) = follow => {
                    entry.running.insert(
                        name.clone(),
                        super::OnNode {
                            uid: pod.metadata.uid().to_string(),
                            remote: Some(node),
                            sent: None,
                        },
                    );
                }
                Recovered::Lost(status) => {
                    pod.status = status;
                    batch.put_pod(&mut pod, uid, made)?;
                    // Whatever it had staged is an unfinished attempt's.
                    for o in crate::node::outputs::of_pod(&pod, &entry.record.base_dir) {
                        crate::node::outputs::discard(&o);
                    }
                }
            }
            self.pod_jobs
                .insert(pod.metadata.uid().to_string(), uid.to_string());
            entry.pods.insert(pod, made);
        }
        batch.commit()?;
        self.jobs.insert(uid.to_string(), entry);
        self.bind_and_assign(restart);
        self.dirty_jobs.insert(uid.to_string());
        self.to_collect.insert(uid.to_string());
        Ok(())
    }

    /// A deletion was asked for: stop reconciling, stop the pods (unless orphaning).
    fn begin_delete(&mut self, uid: &str, propagation: &str) {
        let Some(e) = self.jobs.get_mut(uid) else {
            return;
        };
        if e.deleting.is_some() {
            return;
        }
        e.deleting = Some(propagation.to_string());
        e.wake_at = None;
        let stops: Vec<super::OnNode> = if propagation != "Orphan" {
            e.running.values().cloned().collect()
        } else {
            Vec::new()
        };
        if propagation != "Orphan" {
            let unbound: Vec<String> = e.unbound.iter().cloned().collect();
            for name in unbound {
                e.fail_unbound(&name);
                self.outbox.pod(uid, &name, true);
            }
        }
        self.stop_pods(stops.into_iter().map(|on| {
            (
                on,
                StopCause::Deleted("stopped: its Job was deleted".into()),
            )
        }));
        self.to_collect.insert(uid.to_string());
    }

    /// A user deleted a pod (`evicted`: through the Eviction API, `drain`): it is stopped, the
    /// Job replaces it (per podReplacementPolicy) and counts it once it has ended; then it goes.
    /// An evicted pod gets a `DisruptionTarget` condition (reason `EvictionByEvictionAPI`) at
    /// once, as the API server gives it, and keeps it when it ends.
    fn begin_pod_delete(&mut self, job_uid: &str, name: &str, evicted: bool) {
        let now = self.clock.now();
        let Some(e) = self.jobs.get_mut(job_uid) else {
            return;
        };
        if !e.deleted_pods.insert(name.to_string()) {
            return;
        }
        // A pod still in memory is marked; a settled one simply goes (below).
        if let Some(p) = e.pods.get_mut(name) {
            p.metadata.deletion_timestamp.get_or_insert(now);
            p.metadata.deletion_grace_period_seconds.get_or_insert(0);
            if evicted && !p.is_terminal() {
                disruption_target(&mut p.status, now);
            }
            self.outbox.pod(job_uid, name, true);
        }
        let stop = e.running.get(name).cloned();
        if e.fail_unbound(name) {
            self.outbox.pod(job_uid, name, true);
        }
        let cause = if evicted {
            StopCause::EvictedByApi
        } else {
            StopCause::Deleted("deleted by a user".into())
        };
        self.stop_pods(stop.map(|on| (on, cause)));
        self.dirty_jobs.insert(job_uid.to_string());
        self.to_collect.insert(job_uid.to_string());
    }

    /// Removes whatever is due: Jobs being deleted whose pods have stopped, user-deleted pods
    /// that are counted, and (under `serve`) Jobs whose TTL has passed.
    pub(super) fn collect(&mut self) -> Result<(), ManagerError> {
        if self.to_collect.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        for uid in std::mem::take(&mut self.to_collect) {
            let Some(e) = self.jobs.get_mut(&uid) else {
                continue;
            };
            match e.deleting.clone().as_deref() {
                Some(ORPHANED) => {
                    if e.running.is_empty() {
                        self.forget(&uid, false);
                    }
                }
                Some("Orphan") => {
                    for p in e.pods.iter_mut() {
                        p.metadata.owner_references.clear();
                        p.metadata.finalizers.retain(|f| f != TRACKING_FINALIZER);
                    }
                    let names: Vec<String> = e.pods.names().cloned().collect();
                    for n in &names {
                        e.pods.unmake(n);
                    }
                    let job_uid = uid.clone();
                    self.outbox
                        .other
                        .push(Box::new(move |b| b.delete_job(&job_uid, true).map(|_| ())));
                    e.deleting = Some(ORPHANED.into());
                    if e.running.is_empty() {
                        self.forget(&uid, false);
                    }
                }
                Some(_) => {
                    if e.running.is_empty() {
                        self.remove_job(&uid)?;
                    }
                }
                None => {
                    self.remove_deleted_pods(&uid)?;
                    if self.scope == Scope::All {
                        self.expire(&uid, now)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Removes the user-deleted pods of `uid` that have ended and been counted.
    fn remove_deleted_pods(&mut self, uid: &str) -> Result<(), ManagerError> {
        let Some(e) = self.jobs.get_mut(uid) else {
            return Ok(());
        };
        let done: Vec<String> = e
            .deleted_pods
            .iter()
            .filter(|n| {
                !e.running.contains_key(*n)
                    && e.pods.get(n).is_none_or(|p| !super::pod_set::in_flight(p))
            })
            .cloned()
            .collect();
        if done.is_empty() {
            return Ok(());
        }
        let namespace = e.record.job.namespace().to_string();
        for n in &done {
            e.deleted_pods.remove(n);
            self.outbox.forget_pods(uid, Some(n));
            if let Some(p) = e.pods.remove(n) {
                self.pod_jobs.remove(p.metadata.uid());
            }
            e.logs.remove(n);
        }
        let removed = Arc::new(Mutex::new(Vec::new()));
        let into = removed.clone();
        self.outbox.other.push(Box::new(move |b| {
            for name in &done {
                if let Some(pod) = b.delete_pod_named(&namespace, name)? {
                    lock(&into).push(pod);
                }
            }
            Ok(())
        }));
        let logs = StateDir::new(self.store.dir()).logs();
        self.outbox
            .after
            .push(Box::new(move || remove_logs(&logs, &lock(&removed))));
        Ok(())
    }

    /// Deletes the Job when its TTL has passed, or sets a wake-up for when it will.
    fn expire(&mut self, uid: &str, now: wasmjob_spec::Time) -> Result<(), ManagerError> {
        let Some(e) = self.jobs.get_mut(uid) else {
            return Ok(());
        };
        if !e.running.is_empty() {
            return Ok(());
        }
        match ttl::due(&e.record.job, now) {
            Some(Ok(())) => self.remove_job(uid)?,
            Some(Err(left)) => {
                let at = Instant::now() + left;
                e.wake_at = Some(e.wake_at.map_or(at, |w| w.min(at)));
            }
            None => {}
        }
        Ok(())
    }

    /// Deletes every finished Job whose TTL has passed, and commits the deletion (`wasmjob
    /// run` calls this as it ends).
    pub async fn delete_expired(&mut self) -> Result<Vec<String>, ManagerError> {
        let now = self.clock.now();
        let due: Vec<String> = self
            .jobs
            .iter()
            .filter(|(_, e)| e.running.is_empty() && ttl::due(&e.record.job, now) == Some(Ok(())))
            .map(|(uid, _)| uid.clone())
            .collect();
        for uid in &due {
            self.remove_job(uid)?;
        }
        self.flush().await?;
        Ok(due)
    }

    /// Removes a Job with its pods, events and logs, from the store and from memory.
    fn remove_job(&mut self, uid: &str) -> Result<(), ManagerError> {
        let removed = Arc::new(Mutex::new(Vec::new()));
        let (job_uid, into) = (uid.to_string(), removed.clone());
        self.outbox.other.push(Box::new(move |b| {
            *lock(&into) = b.delete_job(&job_uid, false)?;
            Ok(())
        }));
        let logs = StateDir::new(self.store.dir()).logs();
        self.outbox
            .after
            .push(Box::new(move || remove_logs(&logs, &lock(&removed))));
        self.outbox.reclaim = true;
        self.forget(uid, false);
        Ok(())
    }

    /// Drops a Job from memory (stopping its pods when `stop`); `run` keeps its last shape.
    fn forget(&mut self, uid: &str, stop: bool) {
        let Some(e) = self.jobs.remove(uid) else {
            return;
        };
        if stop {
            self.stop_pods(e.running.values().map(|on| {
                (
                    on.clone(),
                    StopCause::Deleted("stopped: its Job was deleted".into()),
                )
            }));
        }
        for p in e.pods.iter() {
            self.pod_jobs.remove(p.metadata.uid());
        }
        self.outbox.forget_pods(uid, None);
        self.outbox.forget_status(uid);
        self.dirty_jobs.remove(uid);
        if self.scope == Scope::Own {
            self.gone.insert(uid.to_string(), e.record.job);
        }
    }
}

/// Gives `status` the `DisruptionTarget` condition the Eviction API gives a pod it evicts.
fn disruption_target(status: &mut wasmjob_spec::PodStatus, now: wasmjob_spec::Time) {
    let condition = wasmjob_spec::PodCondition {
        type_: "DisruptionTarget".into(),
        status: "True".into(),
        last_probe_time: None,
        last_transition_time: Some(now),
        reason: Some("EvictionByEvictionAPI".into()),
        message: Some(crate::node::EVICTION_API_MESSAGE.into()),
    };
    match status
        .conditions
        .iter_mut()
        .find(|c| c.type_ == "DisruptionTarget")
    {
        Some(c) => *c = condition,
        None => status.conditions.push(condition),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
