//! Completion indexes of Indexed Jobs (upstream `indexed_job_utils.go`; upstream batch/v1 types.go (JobStatus) for the
//! `completedIndexes`/`failedIndexes` text format, upstream indexed_job_utils.go for the indexed rules): the set of
//! indexes as ordered intervals, its compressed text form and a parser for it, the index a pod
//! carries, and the lowest indexes still to run.
//!
//! Must not: decide which pods to create or stop (that is `manage`'s), read a clock, do I/O, or
//! panic or take more than linear time on any text it is given (status strings and pod
//! annotations are data from outside).

use std::fmt;
use wasmjob_spec::{COMPLETION_INDEX_ANNOTATION, Pod};

/// Longest piece of input quoted back in a parse error.
const MAX_QUOTED_CHARS: usize = 32;

/// A set of non-negative indexes, stored as ordered non-overlapping intervals, so a 100,000-index
/// Job with everything completed is one interval (upstream `orderedIntervals`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct IndexSet {
    /// Inclusive `(first, last)` intervals: `0 ≤ first ≤ last`, increasing, and separated by at
    /// least one missing index (touching intervals are merged).
    intervals: Vec<(i32, i32)>,
}

impl IndexSet {
    pub fn new() -> IndexSet {
        IndexSet::default()
    }

    /// Adds `index`; returns whether it was new. Negative indexes are not indexes: ignored.
    pub fn insert(&mut self, index: i32) -> bool {
        if index < 0 {
            return false;
        }
        // The first interval that ends at or after `index`.
        let at = self.intervals.partition_point(|&(_, last)| last < index);
        if at < self.intervals.len() && self.intervals[at].0 <= index {
            return false;
        }
        let joins_left = at > 0 && self.intervals[at - 1].1 + 1 == index;
        let joins_right = at < self.intervals.len() && self.intervals[at].0 - 1 == index;
        match (joins_left, joins_right) {
            (true, true) => {
                self.intervals[at - 1].1 = self.intervals[at].1;
                self.intervals.remove(at);
            }
            (true, false) => self.intervals[at - 1].1 = index,
            (false, true) => self.intervals[at].0 = index,
            (false, false) => self.intervals.insert(at, (index, index)),
        }
        true
    }

    pub fn contains(&self, index: i32) -> bool {
        let at = self.intervals.partition_point(|&(_, last)| last < index);
        at < self.intervals.len() && self.intervals[at].0 <= index
    }

    /// Number of indexes (not intervals).
    pub fn len(&self) -> usize {
        self.intervals
            .iter()
            .map(|&(first, last)| span(first, last))
            .fold(0usize, usize::saturating_add)
    }

    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }

    /// The indexes in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = i32> + '_ {
        self.intervals
            .iter()
            .flat_map(|&(first, last)| first..=last)
    }

    /// Every index of either set. Linear in the number of intervals.
    pub fn union(&self, other: &IndexSet) -> IndexSet {
        let mut out = IndexSet::default();
        let (mut a, mut b) = (
            self.intervals.iter().peekable(),
            other.intervals.iter().peekable(),
        );
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.0 <= y.0 => a.next(),
                (Some(_), Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => break,
            };
            if let Some(&(first, last)) = next {
                out.push_interval(first, last);
            }
        }
        out
    }

    /// How many indexes the two sets have in common (upstream `matchSucceededIndexesRule`'s
    /// overlap count). Linear in the number of intervals.
    pub fn intersection_len(&self, other: &IndexSet) -> usize {
        let (mut i, mut j, mut common) = (0, 0, 0usize);
        while i < self.intervals.len() && j < other.intervals.len() {
            let (a, b) = (self.intervals[i], other.intervals[j]);
            let (first, last) = (a.0.max(b.0), a.1.min(b.1));
            if first <= last {
                common = common.saturating_add(span(first, last));
            }
            if a.1 < b.1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        common
    }

    /// Drops every index ≥ `completions` (elastic scale-down, upstream indexed_job_utils.go: completed indexes beyond the
    /// new range drop out of `completedIndexes`).
    pub fn retain_below(&mut self, completions: i32) {
        let keep = self
            .intervals
            .partition_point(|&(first, _)| first < completions);
        self.intervals.truncate(keep);
        if let Some(last) = self.intervals.last_mut() {
            last.1 = last.1.min(completions - 1);
        }
    }

    /// Reads the compressed format of [`fmt::Display`] (what the controller writes in
    /// `completedIndexes`/`failedIndexes`, and what a success policy's `succeededIndexes` holds):
    /// comma-separated indexes and `first-last` ranges, increasing. Pairs written as ranges
    /// (`"1-2"`) are accepted too. Indexes ≥ `completions` are dropped, as upstream
    /// (`succeededIndexesFromString`) does after an elastic scale-down; anything else malformed
    /// is an error naming the bad part (upstream logs and skips it). Linear in `text`.
    pub fn parse(text: &str, completions: i32) -> Result<IndexSet, String> {
        let mut set = IndexSet::default();
        if text.is_empty() {
            return Ok(set);
        }
        let mut previous: Option<i32> = None;
        let mut offset = 0usize;
        for fragment in text.split(',') {
            let at = offset;
            offset += fragment.len() + 1;
            let bad = |why: String| format!("bad interval {} at byte {at}: {why}", quote(fragment));
            if fragment.is_empty() {
                return Err(bad("empty interval".into()));
            }
            let (first, last) = match fragment.split_once('-') {
                None => {
                    let x = parse_index(fragment).map_err(&bad)?;
                    (x, x)
                }
                Some((a, b)) => {
                    if b.contains('-') {
                        return Err(bad(
                            "an interval has at most two parts separated by '-'".into()
                        ));
                    }
                    let (x, y) = (parse_index(a).map_err(&bad)?, parse_index(b).map_err(&bad)?);
                    if x > y {
                        return Err(bad(format!("decreasing interval, {x} > {y}")));
                    }
                    (x, y)
                }
            };
            if let Some(p) = previous
                && first <= p
            {
                return Err(bad(format!(
                    "non-increasing order, previous: {p}, current: {first}"
                )));
            }
            previous = Some(last);
            if first < completions {
                set.push_interval(first, last.min(completions - 1));
            }
        }
        Ok(set)
    }

    /// Appends an interval that starts no earlier than the last one, merging when they overlap
    /// or touch.
    fn push_interval(&mut self, first: i32, last: i32) {
        if let Some(tail) = self.intervals.last_mut()
            && i64::from(first) <= i64::from(tail.1) + 1
        {
            tail.1 = tail.1.max(last);
            return;
        }
        self.intervals.push((first, last));
    }
}

impl FromIterator<i32> for IndexSet {
    fn from_iter<T: IntoIterator<Item = i32>>(iter: T) -> IndexSet {
        let mut set = IndexSet::default();
        for i in iter {
            set.insert(i);
        }
        set
    }
}

/// Kubernetes' compressed format (upstream batch/v1 types.go (JobStatus)): single numbers and pairs comma-separated, runs of three
/// or more as `first-last`: {1,3,4,5,7} → `1,3-5,7`; {0,1} → `0,1`; empty → ``.
impl fmt::Display for IndexSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, &(first, last)) in self.intervals.iter().enumerate() {
            if n > 0 {
                f.write_str(",")?;
            }
            write!(f, "{first}")?;
            if last > first {
                let separator = if last - first == 1 { ',' } else { '-' };
                write!(f, "{separator}{last}")?;
            }
        }
        Ok(())
    }
}

/// The completion index a pod carries: the `batch.kubernetes.io/job-completion-index`
/// annotation, or the label of the same name when the annotation is absent (upstream
/// `getCompletionIndex`). `None` when missing, not an integer (`strconv.Atoi` rules) or
/// negative. Whether it is below `completions` is the caller's question.
pub fn pod_index(pod: &Pod) -> Option<i32> {
    let meta = &pod.metadata;
    let text = meta
        .annotations
        .get(COMPLETION_INDEX_ANNOTATION)
        .or_else(|| meta.labels.get(COMPLETION_INDEX_ANNOTATION))?;
    text.parse::<i32>().ok().filter(|i| *i >= 0)
}

/// The `n` lowest indexes below `completions` that are in neither set (upstream
/// `firstPendingIndexes`: creation picks the lowest pending indexes first, upstream indexed_job_utils.go). Work is bounded
/// by the number of intervals and `n`.
pub fn lowest_pending(
    completions: i32,
    completed: &IndexSet,
    active_or_failed: &IndexSet,
    n: usize,
) -> Vec<i32> {
    let taken = completed.union(active_or_failed);
    let mut out = Vec::new();
    let mut candidate = 0i32;
    let take_until = |end: i32, candidate: &mut i32, out: &mut Vec<i32>| {
        while *candidate < end.min(completions) && out.len() < n {
            out.push(*candidate);
            *candidate += 1;
        }
    };
    for &(first, last) in &taken.intervals {
        take_until(first, &mut candidate, &mut out);
        if out.len() >= n || candidate >= completions {
            return out;
        }
        candidate = candidate.max(last.saturating_add(1));
    }
    take_until(i32::MAX, &mut candidate, &mut out);
    out
}

/// Number of indexes in `first..=last`.
fn span(first: i32, last: i32) -> usize {
    usize::try_from(i64::from(last) - i64::from(first) + 1).unwrap_or(0)
}

/// A non-negative decimal index: ASCII digits only (no sign, no spaces), fitting an `i32`.
fn parse_index(s: &str) -> Result<i32, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{} is not a non-negative integer", quote(s)));
    }
    s.parse::<i32>()
        .map_err(|_| format!("{} is too large for an index", quote(s)))
}

/// `s` quoted, cut to [`MAX_QUOTED_CHARS`] so that a huge input gives a short error.
fn quote(s: &str) -> String {
    if s.chars().count() <= MAX_QUOTED_CHARS {
        return format!("{s:?}");
    }
    let head: String = s.chars().take(MAX_QUOTED_CHARS).collect();
    format!("{head:?}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(indexes: &[i32]) -> IndexSet {
        indexes.iter().copied().collect()
    }

    #[test]
    fn display_compresses_runs_of_three_or_more() {
        // upstream batch/v1 types.go (JobStatus) examples, and upstream indexed_job_utils_test `TestCalculateSucceededIndexes`
        // expectations of `orderedIntervals.String()`.
        let cases: &[(&[i32], &str)] = &[
            (&[], ""),
            (&[0], "0"),
            (&[0, 1], "0,1"),
            (&[0, 1, 2], "0-2"),
            (&[1, 3, 4, 5, 7], "1,3-5,7"),
            (&[7, 5, 4, 3, 1], "1,3-5,7"),
            (&[0, 2, 4], "0,2,4"),
            (&[0, 1, 3, 4, 5, 6, 9, 10], "0,1,3-6,9,10"),
            (&[i32::MAX], "2147483647"),
            (&[i32::MAX - 1, i32::MAX], "2147483646,2147483647"),
        ];
        for (indexes, want) in cases {
            assert_eq!(set(indexes).to_string(), *want, "{indexes:?}");
        }
    }

    #[test]
    fn insert_merges_neighbours_and_ignores_negatives() {
        let mut s = IndexSet::new();
        // (index inserted, whether new, text afterwards)
        let steps: &[(i32, bool, &str)] = &[
            (5, true, "5"),
            (3, true, "3,5"),
            (4, true, "3-5"),
            (4, false, "3-5"),
            (0, true, "0,3-5"),
            (6, true, "0,3-6"),
            (2, true, "0,2-6"),
            (1, true, "0-6"),
            (-1, false, "0-6"),
            (i32::MAX, true, "0-6,2147483647"),
            (i32::MIN, false, "0-6,2147483647"),
        ];
        for &(i, new, text) in steps {
            assert_eq!(s.insert(i), new, "insert {i}");
            assert_eq!(s.to_string(), text, "after {i}");
        }
        assert_eq!(s.len(), 8);
        assert!(s.contains(0) && s.contains(6) && s.contains(i32::MAX));
        assert!(!s.contains(7) && !s.contains(-1) && !s.contains(i32::MAX - 1));
        assert_eq!(s.iter().take(3).collect::<Vec<_>>(), vec![0, 1, 2]);
    }

    #[test]
    fn large_sets_stay_small() {
        // upstream indexed_job_utils.go: up to 100,000 indexes; a full run is one interval.
        let all: IndexSet = (0..100_000).collect();
        assert_eq!(all.len(), 100_000);
        assert_eq!(all.intervals.len(), 1);
        assert_eq!(all.to_string(), "0-99999");
        let full = IndexSet::parse("0-2147483646", i32::MAX).unwrap();
        assert_eq!(full.len(), i32::MAX as usize);
    }

    #[test]
    fn union_and_intersection() {
        // (a, b, a ∪ b, |a ∩ b|)
        let cases: &[(&str, &str, &str, usize)] = &[
            ("", "", "", 0),
            ("0-2", "", "0-2", 0),
            ("0,1", "2", "0-2", 0),
            ("0-2,6", "3,5", "0-3,5,6", 0),
            ("1-3,7-9", "2-8", "1-9", 4),
            ("0-9", "3", "0-9", 1),
            ("4", "0-9", "0-9", 1),
            ("0,2,4", "1,3,5", "0-5", 0),
        ];
        for &(a, b, want, common) in cases {
            let (a, b) = (
                IndexSet::parse(a, 100).unwrap(),
                IndexSet::parse(b, 100).unwrap(),
            );
            assert_eq!(a.union(&b).to_string(), want, "{a} ∪ {b}");
            assert_eq!(b.union(&a).to_string(), want, "{b} ∪ {a}");
            assert_eq!(a.intersection_len(&b), common, "{a} ∩ {b}");
            assert_eq!(b.intersection_len(&a), common, "{b} ∩ {a}");
        }
    }

    #[test]
    fn retain_below_drops_scaled_down_indexes() {
        // upstream indexed_job_utils.go, elastic scaling: completed indexes ≥ the new completions drop out.
        let cases: &[(&str, i32, &str)] = &[
            ("0-9", 5, "0-4"),
            ("0-9", 10, "0-9"),
            ("0,1,3-6,9", 4, "0,1,3"),
            ("0,1,3-6,9", 3, "0,1"),
            ("0,1,3-6,9", 2, "0,1"),
            ("0-9", 0, ""),
            ("0-9", -3, ""),
        ];
        for &(text, completions, want) in cases {
            let mut s = IndexSet::parse(text, 100).unwrap();
            s.retain_below(completions);
            assert_eq!(s.to_string(), want, "{text} below {completions}");
        }
    }

    #[test]
    fn parse_reads_what_display_writes() {
        // What the controller writes (upstream batch/v1 types.go (JobStatus)) and what succeededIndexes may hold (upstream success_policy.go matchSuccessPolicy).
        let cases: &[(&str, i32, &str)] = &[
            ("", 10, ""),
            ("0", 10, "0"),
            ("0,1", 10, "0,1"),
            ("1-2", 10, "1,2"),
            ("1,3-5,7", 10, "1,3-5,7"),
            ("0,1,2", 10, "0-2"),
            ("0-2,3-4", 10, "0-4"),
            ("3-3", 10, "3"),
            ("007", 10, "7"),
            // Upstream `succeededIndexesFromString`: indexes beyond completions are dropped and
            // a range crossing it is cut (elastic scale-down).
            ("1,3-5,7", 5, "1,3,4"),
            ("8,9", 5, ""),
            ("0-2147483647", 3, "0-2"),
            ("0-4", 0, ""),
        ];
        for &(text, completions, want) in cases {
            let got = IndexSet::parse(text, completions);
            assert_eq!(got.map(|s| s.to_string()), Ok(want.to_string()), "{text:?}");
        }
        for s in ["1,3-5,7", "0-99999", "0,1", "5", "0,2,4-6,8,9"] {
            assert_eq!(IndexSet::parse(s, 100_000).unwrap().to_string(), s);
        }
    }

    #[test]
    fn parse_rejects_garbage_naming_the_bad_part() {
        // Go's `validateIndexesFormat` cases (spec validate.rs `indexes_format`) plus garbage a
        // corrupted status could hold; upstream skips such intervals, here they are errors.
        let cases: &[(&str, &str)] = &[
            ("a", r#""a" is not a non-negative integer"#),
            ("1,x", r#"bad interval "x" at byte 2"#),
            (",", "empty interval"),
            ("1,", r#"bad interval "" at byte 2: empty interval"#),
            ("1,,2", "empty interval"),
            ("-1", r#""" is not a non-negative integer"#),
            ("+1", r#""+1" is not a non-negative integer"#),
            (" 1", r#"" 1" is not a non-negative integer"#),
            ("1-", r#""" is not a non-negative integer"#),
            ("1-2-3", "at most two parts"),
            ("5-3", "decreasing interval, 5 > 3"),
            ("2,1", "non-increasing order, previous: 2, current: 1"),
            ("1-3,3", "non-increasing order, previous: 3, current: 3"),
            ("3,3", "non-increasing order"),
            ("2147483648", "too large for an index"),
            ("99999999999999999999", "too large for an index"),
            ("1\u{0}", "not a non-negative integer"),
            ("é", r#""é" is not a non-negative integer"#),
        ];
        for &(text, want) in cases {
            let err = IndexSet::parse(text, 10).expect_err(text);
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn parse_is_linear_and_quotes_briefly_on_huge_input() {
        // 300,000 single indexes, increasing, then garbage at the very end.
        let mut text: String = (0..300_000).map(|i| format!("{},", i * 2)).collect();
        let parsed = IndexSet::parse(text.trim_end_matches(','), i32::MAX).unwrap();
        assert_eq!(parsed.len(), 300_000);
        text.push_str(&"z".repeat(1_000_000));
        let err = IndexSet::parse(&text, i32::MAX).unwrap_err();
        assert!(err.len() < 200, "{err}");
        assert!(err.contains("…"), "{err}");
        // Out of order early: stops at the first bad part.
        let err = IndexSet::parse(&format!("5,4,{}", "1,".repeat(1_000_000)), 10).unwrap_err();
        assert!(err.contains("previous: 5, current: 4"), "{err}");
    }

    fn pod_with(annotation: Option<&str>, label: Option<&str>) -> Pod {
        let mut pod = Pod::default();
        if let Some(a) = annotation {
            pod.metadata
                .annotations
                .insert(COMPLETION_INDEX_ANNOTATION.into(), a.into());
        }
        if let Some(l) = label {
            pod.metadata
                .labels
                .insert(COMPLETION_INDEX_ANNOTATION.into(), l.into());
        }
        pod
    }

    #[test]
    fn pod_index_reads_annotation_then_label() {
        // Upstream `getCompletionIndex` (strconv.Atoi, negative → unknown); upstream indexed_job_utils.go:
        // missing, garbled or negative indexes are not indexes. The label (PodIndexLabel, upstream the Kubernetes changelog
        // 1.28+) is read only when the annotation is absent.
        let cases: &[(Option<&str>, Option<&str>, Option<i32>)] = &[
            (None, None, None),
            (Some("3"), None, Some(3)),
            (Some("0"), None, Some(0)),
            (None, Some("4"), Some(4)),
            (Some("3"), Some("4"), Some(3)),
            (Some("x"), Some("4"), None),
            (Some("-1"), None, None),
            (None, Some("-2"), None),
            (Some(""), None, None),
            (Some(" 1"), None, None),
            (Some("1.0"), None, None),
            (Some("2147483648"), None, None),
            (Some("2147483647"), None, Some(i32::MAX)),
            (Some("+7"), None, Some(7)),
        ];
        for &(a, l, want) in cases {
            assert_eq!(
                pod_index(&pod_with(a, l)),
                want,
                "annotation {a:?} label {l:?}"
            );
        }
    }

    #[test]
    fn lowest_pending_skips_taken_indexes() {
        // Upstream indexed_job_utils_test `TestFirstPendingIndexes`; upstream indexed_job_utils.go "creation
        // picks the lowest pending indexes first".
        // (completions, completed, active or failed, n, want)
        let cases: &[(i32, &str, &str, usize, &[i32])] = &[
            (3, "", "", 0, &[]),
            (3, "", "", 2, &[0, 1]),
            (3, "", "", 10, &[0, 1, 2]),
            (10, "0-2", "3,5", 3, &[4, 6, 7]),
            (10, "0-4", "5-9", 3, &[]),
            (10, "1,3,5", "0,8", 5, &[2, 4, 6, 7, 9]),
            (10, "2-7", "", 10, &[0, 1, 8, 9]),
            (5, "0-9", "", 3, &[]),
            (5, "", "4", usize::MAX, &[0, 1, 2, 3]),
            (0, "", "", 3, &[]),
            (-1, "", "", 3, &[]),
            (i32::MAX, "0-2147483646", "", 3, &[]),
            (i32::MAX, "0-2147483645", "", 3, &[2147483646]),
        ];
        for &(completions, completed, taken, n, want) in cases {
            let c = IndexSet::parse(completed, i32::MAX).unwrap();
            let t = IndexSet::parse(taken, i32::MAX).unwrap();
            assert_eq!(
                lowest_pending(completions, &c, &t, n),
                want,
                "{completions} {completed:?} {taken:?} {n}"
            );
        }
    }
}
