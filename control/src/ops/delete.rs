//! Deleting a Job or a pod as the API server and the garbage collector do: a Job is marked,
//! then its live controller (`serve`, or the `run` that holds it) stops its pods and removes
//! it with them (`Orphan` keeps the pods) — or, with no live controller, it is removed here.
//! A pod that has ended and been counted goes at once; a running one is stopped, counted and
//! replaced by its Job's controller first.

use super::OpError;
use crate::lease;
use crate::node::remove_logs;
use crate::store::{JobState, StateDir, Store};
use std::path::Path;
use std::time::{Duration, Instant};
use wasmjob_spec::{PHASE_FAILED, PHASE_SUCCEEDED, TRACKING_FINALIZER, Time};

/// Whether the controller that runs a Job is alive (a `serve` adopts Jobs without owner).
fn controlled(dir: &Path, st: &JobState) -> bool {
    match &st.owner {
        Some(o) => lease::owner_alive(dir, o),
        None => lease::served(dir),
    }
}

fn timed_out(deadline: Option<Instant>, what: &str) -> Result<(), OpError> {
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return Err(OpError::Timeout(format!(
            "timed out waiting for {what} to be deleted"
        )));
    }
    std::thread::sleep(Duration::from_millis(50));
    Ok(())
}

/// Deletes Job `ns/name` with `propagation`: marks it, then waits (if `wait`) until its live
/// controller has stopped its pods and removed it — or removes it at once when no controller
/// runs it. Returns false when there is no such Job.
pub fn delete_job(
    store: &mut Store,
    ns: &str,
    name: &str,
    propagation: &str,
    wait: bool,
    deadline: Option<Instant>,
) -> Result<bool, OpError> {
    let now = Time(jiff::Timestamp::now());
    let mut batch = store.batch()?;
    let Some((marked, _)) = batch.mark_job_deleting(ns, name, propagation, now)? else {
        return Ok(false);
    };
    batch.commit()?;
    let dir = store.dir().to_path_buf();
    let uid = marked.uid.clone();
    loop {
        let Some(st) = store.job_states(Some(std::slice::from_ref(&uid)))?.pop() else {
            return Ok(true);
        };
        if !controlled(&dir, &st) {
            let pods = store.pods_of_job(&uid)?;
            let orphan = propagation == "Orphan";
            let mut batch = store.batch()?;
            if batch.job_owned_by(&uid, st.owner.as_deref())? {
                batch.delete_job(&uid, orphan)?;
                batch.commit()?;
                if !orphan {
                    remove_logs(&StateDir::new(&dir).logs(), &pods);
                }
                store.reclaim_space()?;
                return Ok(true);
            }
            continue;
        }
        if !wait {
            return Ok(true);
        }
        timed_out(deadline, &format!("jobs.batch {name:?}"))?;
    }
}

/// What deleting a pod did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodDeletion {
    NotFound,
    /// Deleted, or (not waited for) being stopped and counted by its Job's live controller.
    Deleted,
    /// Marked for deletion: no live controller runs its Job; it goes once one does and has
    /// counted it.
    Marked,
}

/// Deletes pod `ns/name`: a pod that has ended and been counted goes at once; otherwise its
/// Job's controller stops it, counts it and removes it (waited for if `wait`).
pub fn delete_pod(
    store: &mut Store,
    ns: &str,
    name: &str,
    wait: bool,
    deadline: Option<Instant>,
) -> Result<PodDeletion, OpError> {
    remove_pod(store, ns, name, false, wait, deadline)
}

/// Evicts pod `ns/name` (`drain`): deleted as by [`delete_pod`], and disrupted — its
/// controller gives it a `DisruptionTarget` condition (reason `EvictionByEvictionAPI`), which a
/// `podFailurePolicy` rule may match.
pub fn evict_pod(
    store: &mut Store,
    ns: &str,
    name: &str,
    wait: bool,
    deadline: Option<Instant>,
) -> Result<PodDeletion, OpError> {
    remove_pod(store, ns, name, true, wait, deadline)
}

fn remove_pod(
    store: &mut Store,
    ns: &str,
    name: &str,
    evict: bool,
    wait: bool,
    deadline: Option<Instant>,
) -> Result<PodDeletion, OpError> {
    let Some(pod) = store.get_pod(ns, name)? else {
        return Ok(PodDeletion::NotFound);
    };
    let dir = store.dir().to_path_buf();
    let ended = matches!(pod.phase(), PHASE_SUCCEEDED | PHASE_FAILED)
        && !pod
            .metadata
            .finalizers
            .iter()
            .any(|f| f == TRACKING_FINALIZER);
    let mut batch = store.batch()?;
    let marked = if evict {
        batch.mark_pod_evicting(ns, name)?
    } else {
        batch.mark_pod_deleting(ns, name)?
    };
    let Some(job_uid) = marked else {
        return Ok(PodDeletion::NotFound);
    };
    let job = if job_uid.is_empty() {
        None
    } else {
        batch.job_state(&job_uid)?
    };
    let controller = job.as_ref().is_some_and(|st| controlled(&dir, st));
    if ended || job.is_none() {
        batch.delete_pod(pod.metadata.uid())?;
        batch.commit()?;
        remove_logs(&StateDir::new(&dir).logs(), std::slice::from_ref(&pod));
        return Ok(PodDeletion::Deleted);
    }
    batch.commit()?;
    if !controller {
        return Ok(PodDeletion::Marked);
    }
    while wait && store.get_pod(ns, name)?.is_some() {
        timed_out(deadline, &format!("pods {name:?}"))?;
    }
    Ok(PodDeletion::Deleted)
}
