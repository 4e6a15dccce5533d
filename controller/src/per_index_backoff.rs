//! Per-index failure counts and re-creation delay for Jobs with `backoffLimitPerIndex`
//! (upstream `backoff_utils.go` `getRemainingTimePerIndex` and `indexed_job_utils.go`
//! `getIndexFailureCount`/`getNewIndexFailureCounts`; upstream backoff_utils.go "Per-index variant" and
//! upstream indexed_job_utils.go (backoffLimitPerIndex)): the counts travel on the pods as annotations, and an index's next pod waits
//! `min(base × 2^(n−1), max)` from its last failed pod's finish time, where
//! `n = job-index-failure-count + job-index-ignored-failure-count + 1`.
//!
//! Must not: decide whether an index failed (`failure count ≥ backoffLimitPerIndex` is the
//! caller's), read a clock or do I/O.

use super::backoff::delay_for;
use super::classify::finish_time;
use super::indexed::IndexSet;
use super::{ControllerConfig, duration_between};
use std::collections::BTreeMap;
use std::time::Duration;
use wasmjob_spec::{
    INDEX_FAILURE_COUNT_ANNOTATION, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION, Pod, Time,
};

/// The pod's `batch.kubernetes.io/job-index-failure-count`: failures of its index counted before
/// it was created. Absent, not an integer, negative or beyond `i32` → 0 (upstream
/// `getIndexFailureCount` logs and uses 0).
pub fn failure_count(pod: &Pod) -> i32 {
    count_annotation(pod, INDEX_FAILURE_COUNT_ANNOTATION)
}

/// The pod's `batch.kubernetes.io/job-index-ignored-failure-count`: failures of its index that
/// a pod failure policy `Ignore` rule matched. Same parsing as [`failure_count`].
pub fn ignored_failure_count(pod: &Pod) -> i32 {
    count_annotation(pod, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION)
}

/// Time left before a replacement for the index of `last_failed` (its last failed pod) may be
/// created; zero once the delay has passed.
pub fn remaining(last_failed: &Pod, config: &ControllerConfig, now: Time) -> Duration {
    let failures =
        i64::from(failure_count(last_failed)) + i64::from(ignored_failure_count(last_failed)) + 1;
    let delay = delay_for(u32::try_from(failures).unwrap_or(u32::MAX), config);
    delay.saturating_sub(duration_between(finish_time(last_failed), now))
}

/// `(job-index-failure-count, job-index-ignored-failure-count)` for the pod replacing
/// `last_failed`: one more counted failure, or one more ignored one when a pod failure policy
/// `Ignore` rule matched it (upstream indexed_job_utils.go (backoffLimitPerIndex); upstream `getNewIndexFailureCounts`).
pub fn next_counts(last_failed: &Pod, ignored: bool) -> (i32, i32) {
    let (failed, ignored_count) = (
        failure_count(last_failed),
        ignored_failure_count(last_failed),
    );
    if ignored {
        (failed, ignored_count.saturating_add(1))
    } else {
        (failed.saturating_add(1), ignored_count)
    }
}

/// Of the failed pods not yet counted, `(pod, index)`, those whose counting waits for their
/// index's replacement (upstream `getPodsWithDelayedDeletionPerIndex`, upstream indexed_job_utils.go (backoffLimitPerIndex)
/// "status.failed rises only after the replacement is created"): for each index not in `busy`
/// (completed, failed or with an active pod), the pod with the highest failure + ignored failure
/// count, the latest finish time among equals.
pub fn delayed_until_replaced<'a>(
    failed: impl Iterator<Item = (&'a Pod, i32)>,
    busy: &IndexSet,
) -> Vec<&'a Pod> {
    let rank = |p: &Pod| {
        (
            i64::from(failure_count(p)) + i64::from(ignored_failure_count(p)),
            finish_time(p),
        )
    };
    let mut last: BTreeMap<i32, &'a Pod> = BTreeMap::new();
    for (pod, index) in failed.filter(|(_, i)| !busy.contains(*i)) {
        if last.get(&index).is_none_or(|q| rank(q) <= rank(pod)) {
            last.insert(index, pod);
        }
    }
    last.into_values().collect()
}

fn count_annotation(pod: &Pod, key: &str) -> i32 {
    pod.metadata
        .annotations
        .get(key)
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|n| *n >= 0)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmjob_spec::{ContainerState, ContainerStateTerminated, ContainerStatus, PHASE_FAILED};

    const T0: i64 = 1_000_000_000; // ms

    fn at(secs: i64) -> Time {
        Time::from_millis(T0 + secs * 1000)
    }

    /// A failed pod with these annotations, finished at `at(0)`.
    fn failed_pod(failures: Option<&str>, ignored: Option<&str>) -> Pod {
        let mut pod = Pod::default();
        pod.status.phase = Some(PHASE_FAILED.into());
        pod.metadata.creation_timestamp = Some(at(-100));
        pod.status.container_statuses = vec![ContainerStatus {
            name: "c".into(),
            state: ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: 1,
                    finished_at: Some(at(0)),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        }];
        let a = &mut pod.metadata.annotations;
        if let Some(v) = failures {
            a.insert(INDEX_FAILURE_COUNT_ANNOTATION.into(), v.into());
        }
        if let Some(v) = ignored {
            a.insert(INDEX_IGNORED_FAILURE_COUNT_ANNOTATION.into(), v.into());
        }
        pod
    }

    #[test]
    fn counts_from_annotations() {
        // Upstream indexed_job_utils_test `TestGetIndexFailureCount` cases.
        let cases: &[(&str, Option<&str>, i32)] = &[
            ("no annotation", None, 0),
            ("valid value", Some("2"), 2),
            ("valid maxint32 value", Some("2147483647"), i32::MAX),
            ("too large value", Some("2147483648"), 0),
            ("negative value", Some("-1"), 0),
            ("invalid int value", Some("xyz"), 0),
            ("empty value", Some(""), 0),
            ("spaces", Some(" 1"), 0),
        ];
        for &(name, v, want) in cases {
            assert_eq!(failure_count(&failed_pod(v, None)), want, "{name}");
            assert_eq!(ignored_failure_count(&failed_pod(None, v)), want, "{name}");
        }
    }

    #[test]
    fn remaining_table() {
        // (source, failure count, ignored count, base s, max s, now s after the failure, want s)
        type Case = (
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
            u64,
            u64,
            i64,
            u64,
        );
        let cases: &[Case] = &[
            (
                "upstream TestGetRemainingBackoffTimePerIndex: two prev failures; same time",
                Some("2"),
                None,
                5,
                700,
                0,
                20,
            ),
            (
                "upstream: one prev failure counted and one ignored; same time",
                Some("1"),
                Some("1"),
                5,
                700,
                0,
                20,
            ),
            (
                "upstream backoff_utils.go: first failure of an index (no annotations) waits the base",
                None,
                None,
                10,
                600,
                0,
                10,
            ),
            (
                "upstream indexed_job_utils.go (backoffLimitPerIndex): the first pod of an index has count 0",
                Some("0"),
                Some("0"),
                10,
                600,
                3,
                7,
            ),
            (
                "upstream backoff_utils.go doubling: n = 3 → 40 s, 15 s elapsed",
                Some("2"),
                None,
                10,
                600,
                15,
                25,
            ),
            (
                "upstream backoff_utils.go delay over",
                Some("2"),
                None,
                10,
                600,
                40,
                0,
            ),
            (
                "upstream backoff_utils.go long over",
                Some("2"),
                None,
                10,
                600,
                4000,
                0,
            ),
            (
                "upstream backoff_utils.go cap: n = 8 → 1280 s > 600 s",
                Some("5"),
                Some("2"),
                10,
                600,
                0,
                600,
            ),
            (
                "huge counts saturate at the cap",
                Some("2147483647"),
                Some("2147483647"),
                10,
                600,
                1,
                599,
            ),
            (
                "garbled annotations count as 0",
                Some("lots"),
                Some("-4"),
                10,
                600,
                0,
                10,
            ),
            (
                "a clock before the finish time waits the full delay",
                Some("1"),
                None,
                10,
                600,
                -30,
                20,
            ),
        ];
        for &(name, failures, ignored, base, max, now, want) in cases {
            let config = ControllerConfig {
                backoff_base: Duration::from_secs(base),
                backoff_max: Duration::from_secs(max),
                ..Default::default()
            };
            let got = remaining(&failed_pod(failures, ignored), &config, at(now));
            assert_eq!(got, Duration::from_secs(want), "{name}");
        }
    }

    #[test]
    fn remaining_measures_from_the_finish_time() {
        // upstream backoff_utils.go finish time: latest finishedAt when every container terminated, else (here, without
        // a Ready=False condition) the deletion request, else creation (classify::finish_time).
        let config = ControllerConfig::default();
        let mut pod = failed_pod(Some("1"), None);
        pod.status.container_statuses[0].state.terminated = None;
        assert_eq!(remaining(&pod, &config, at(0)), Duration::from_secs(0));
        assert_eq!(remaining(&pod, &config, at(-90)), Duration::from_secs(10));
        pod.metadata.deletion_timestamp = Some(at(5));
        assert_eq!(remaining(&pod, &config, at(10)), Duration::from_secs(15));
    }

    #[test]
    fn next_counts_table() {
        // upstream indexed_job_utils.go (backoffLimitPerIndex): the replacement's failure count = previous + 1 when counted, the ignored count
        // + 1 when an Ignore rule matched; upstream `getNewIndexFailureCounts`.
        type Case = (
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
            bool,
            (i32, i32),
        );
        let cases: &[Case] = &[
            ("first failure, counted", None, None, false, (1, 0)),
            ("first failure, ignored", None, None, true, (0, 1)),
            ("counted after 2 + 1", Some("2"), Some("1"), false, (3, 1)),
            ("ignored after 2 + 1", Some("2"), Some("1"), true, (2, 2)),
            (
                "garbled counts restart from 0",
                Some("x"),
                Some("1e3"),
                false,
                (1, 0),
            ),
            (
                "saturates instead of overflowing",
                Some("2147483647"),
                Some("2147483647"),
                false,
                (i32::MAX, i32::MAX),
            ),
            (
                "saturates ignored too",
                Some("0"),
                Some("2147483647"),
                true,
                (0, i32::MAX),
            ),
        ];
        for &(name, failures, ignored, is_ignored, want) in cases {
            assert_eq!(
                next_counts(&failed_pod(failures, ignored), is_ignored),
                want,
                "{name}"
            );
        }
    }
}
