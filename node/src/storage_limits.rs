//! Local storage limits, enforced the way the kubelet's eviction manager enforces them: while a
//! pod runs, each of its `emptyDir` volumes that has a `sizeLimit` is measured every
//! [`CHECK_INTERVAL`]; the first one found past its limit evicts the pod (phase `Failed`,
//! reason `Evicted`, a `DisruptionTarget` condition), with the kubelet's message. When the
//! pod's containers have ended, the volumes are measured once more ([`Enforcer::finish`]), so
//! a guest that writes past its limit and exits before the next measurement is evicted too,
//! whatever the timing. (The kubelet measures every 10 s, its housekeeping interval, and a pod
//! that ends between two measurements is not evicted there: wasmjob measures more often and
//! at the end, so the outcome does not depend on timing.)
//!
//! Usage is what `du` reports (allocated blocks, symlinks not followed), except that every file
//! and directory counts at least one 4 KiB block, so a flood of empty files reaches the limit
//! too. A measurement stops as soon as the limit is passed, so its cost is bounded by the limit,
//! not by what the guest created.

use super::{PodHandle, StopCause};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::watch;
use wasmjob_spec::Pod;

/// How often a limited volume is measured; a guest can pass its limit by what it writes in
/// this time before it is stopped.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(50);

/// What one file or directory costs at least.
const MIN_ENTRY_BYTES: u64 = 4096;

/// An `emptyDir` with a size limit.
struct Limited {
    volume: String,
    dir: PathBuf,
    limit: u64,
    /// The limit as the manifest wrote it, for the message.
    limit_text: String,
}

/// Measures a pod's limited volumes until dropped (or until the pod is stopped).
pub struct Enforcer(Option<Watching>);

struct Watching {
    task: tokio::task::JoinHandle<()>,
    limited: std::sync::Arc<Vec<Limited>>,
    handle: PodHandle,
    stop: watch::Receiver<Option<StopCause>>,
}

impl Drop for Enforcer {
    fn drop(&mut self) {
        if let Some(w) = &self.0 {
            w.task.abort();
        }
    }
}

impl Enforcer {
    /// The last measurement, when the pod's containers have ended: a volume past its limit
    /// evicts the pod, unless it was stopped already.
    pub async fn finish(mut self) {
        let Some(w) = self.0.take() else { return };
        w.task.abort();
        if w.stop.borrow().is_some() {
            return;
        }
        if let Some(message) = over_limit(w.limited.clone()).await {
            w.handle.stop(StopCause::Evicted(message));
        }
    }
}

/// The kubelet's message for the first volume past its limit, if one is.
async fn over_limit(limited: std::sync::Arc<Vec<Limited>>) -> Option<String> {
    tokio::task::spawn_blocking(move || {
        let l = limited
            .iter()
            .find(|l| usage_up_to(&l.dir, l.limit) > l.limit)?;
        Some(format!(
            "Usage of EmptyDir volume {:?} exceeds the limit {:?}. ",
            l.volume, l.limit_text
        ))
    })
    .await
    .ok()
    .flatten()
}

/// Watches the pod's limited `emptyDir` volumes while the returned [`Enforcer`] lives (keep it
/// until the pod's containers have ended), and evicts the pod when one outgrows its limit.
/// Does nothing for a pod without such volumes.
pub fn enforce(
    pod: &Pod,
    volumes: &std::collections::HashMap<String, PathBuf>,
    handle: PodHandle,
    stop: watch::Receiver<Option<StopCause>>,
) -> Enforcer {
    let limited: Vec<Limited> = pod
        .spec
        .volumes
        .iter()
        .filter_map(|v| {
            let q = v.empty_dir.as_ref()?.size_limit.as_ref()?;
            Some(Limited {
                volume: v.name.clone(),
                dir: volumes.get(&v.name)?.clone(),
                limit: q.to_bytes_ceil().ok()?,
                limit_text: q.to_string(),
            })
        })
        .collect();
    if limited.is_empty() {
        return Enforcer(None);
    }
    let limited = std::sync::Arc::new(limited);
    let task = {
        let (limited, handle, mut stop) = (limited.clone(), handle.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(CHECK_INTERVAL) => {}
                    _ = stop.wait_for(Option::is_some) => return,
                }
                if let Some(message) = over_limit(limited.clone()).await {
                    handle.stop(StopCause::Evicted(message));
                    return;
                }
            }
        })
    };
    Enforcer(Some(Watching {
        task,
        limited,
        handle,
        stop,
    }))
}

/// The bytes `dir` uses, counting stopped as soon as they pass `limit` (then the result is
/// only known to exceed it). Entries that vanish while being measured count nothing.
pub fn usage_up_to(dir: &Path, limit: u64) -> u64 {
    let mut total = 0u64;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            total = total.saturating_add((meta.blocks() * 512).max(MIN_ENTRY_BYTES));
            if total > limit {
                return total;
            }
            if meta.is_dir() {
                pending.push(entry.path());
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_blocks_and_a_minimum_per_entry_and_stops_past_the_limit() {
        let dir = std::env::temp_dir().join(format!("wasmjob-usage-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        assert_eq!(
            usage_up_to(&dir, u64::MAX),
            MIN_ENTRY_BYTES,
            "one directory"
        );
        for i in 0..10 {
            std::fs::write(dir.join("sub").join(format!("e{i}")), "").unwrap();
        }
        assert_eq!(usage_up_to(&dir, u64::MAX), 11 * MIN_ENTRY_BYTES);
        std::fs::write(dir.join("big"), vec![7u8; 1 << 20]).unwrap();
        let with_big = usage_up_to(&dir, u64::MAX);
        assert!(with_big >= 11 * MIN_ENTRY_BYTES + (1 << 20), "{with_big}");
        // Past the limit the walk stops early: it has counted more than the limit, not all.
        let early = usage_up_to(&dir, 2 * MIN_ENTRY_BYTES);
        assert!(early > 2 * MIN_ENTRY_BYTES && early <= with_big, "{early}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            usage_up_to(&dir, u64::MAX),
            0,
            "a vanished folder uses nothing"
        );
    }
}
