//! Pod-failure back-off (upstream `backoff_utils.go`): the record of failures since the last
//! success, updated from newly finished pods, and the delay before the next pod may be created:
//! `min(base × 2^(n−1), max)` measured from the last failure.

use super::{ControllerConfig, duration_between, millis};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use wasmjob_spec::Time;

/// Failures since the last success. Kubernetes keeps it in memory; here it is stored with the
/// Job, so a restart of the host does not forget a pending delay.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackoffRecord {
    pub failures_after_last_success: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure_time: Option<Time>,
}

impl BackoffRecord {
    /// The record after observing pods that finished since the last reconcile, given their
    /// finish times. Failures ignored by a pod failure policy are included by the caller: they
    /// delay re-creation even though they are not counted.
    pub fn observe(&self, mut succeeded: Vec<Time>, mut failed: Vec<Time>) -> BackoffRecord {
        succeeded.sort();
        failed.sort();
        let Some(&last_success) = succeeded.last() else {
            let Some(&last_failure) = failed.last() else {
                return self.clone();
            };
            return BackoffRecord {
                failures_after_last_success: self.failures_after_last_success + failed.len() as u32,
                last_failure_time: Some(last_failure),
            };
        };
        // A success resets the count; only failures strictly after it count again.
        let after: Vec<Time> = failed.into_iter().filter(|t| *t > last_success).collect();
        BackoffRecord {
            failures_after_last_success: after.len() as u32,
            last_failure_time: after.last().copied(),
        }
    }

    /// Time left before a pod may be created; zero when none.
    pub fn remaining(&self, config: &ControllerConfig, now: Time) -> Duration {
        let Some(last) = self.last_failure_time else {
            return Duration::ZERO;
        };
        if self.failures_after_last_success == 0 {
            return Duration::ZERO;
        }
        let delay = delay_for(self.failures_after_last_success, config);
        let elapsed = duration_between(last, now);
        delay.saturating_sub(elapsed)
    }
}

/// `min(base × 2^(failures−1), max)`.
pub fn delay_for(failures: u32, config: &ControllerConfig) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let base = millis(config.backoff_base);
    let max = millis(config.backoff_max);
    let shift = (failures - 1).min(40);
    let delay = base.saturating_mul(1i64 << shift).min(max);
    Duration::from_millis(delay.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Time {
        Time::from_millis(s * 1000)
    }

    #[test]
    fn delays_double_and_cap() {
        // Upstream backoff_utils_test: 10s, 20s, 40s, … capped (here at the 600 s default).
        let c = ControllerConfig::default();
        let secs: Vec<u64> = (1..=9).map(|n| delay_for(n, &c).as_secs()).collect();
        assert_eq!(secs, vec![10, 20, 40, 80, 160, 320, 600, 600, 600]);
        assert_eq!(delay_for(0, &c), Duration::ZERO);
        assert_eq!(delay_for(u32::MAX, &c).as_secs(), 600);
    }

    #[test]
    fn failures_accumulate_and_success_resets() {
        let r = BackoffRecord::default().observe(vec![], vec![t(1), t(3)]);
        assert_eq!(r.failures_after_last_success, 2);
        assert_eq!(r.last_failure_time, Some(t(3)));
        let r = r.observe(vec![], vec![t(5)]);
        assert_eq!(r.failures_after_last_success, 3);
        // A success resets; a failure at the same instant does not count.
        let r2 = r.observe(vec![t(6)], vec![t(6)]);
        assert_eq!(r2, BackoffRecord::default());
        // Only failures after the success count.
        let r3 = r.observe(vec![t(6)], vec![t(4), t(7), t(8)]);
        assert_eq!(r3.failures_after_last_success, 2);
        assert_eq!(r3.last_failure_time, Some(t(8)));
    }

    #[test]
    fn remaining_counts_from_last_failure() {
        let c = ControllerConfig::default();
        let r = BackoffRecord {
            failures_after_last_success: 2,
            last_failure_time: Some(t(100)),
        };
        assert_eq!(r.remaining(&c, t(105)), Duration::from_secs(15));
        assert_eq!(r.remaining(&c, t(120)), Duration::ZERO);
        assert_eq!(BackoffRecord::default().remaining(&c, t(1)), Duration::ZERO);
    }
}
