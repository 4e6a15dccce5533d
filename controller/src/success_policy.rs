//! `successPolicy` of Indexed Jobs (upstream `success_policy.go` `matchSuccessPolicy`;
//! upstream success_policy.go matchSuccessPolicy): which rule, if any, the completed indexes satisfy, and the message of the
//! `SuccessCriteriaMet` condition it earns.
//!
//! Must not: decide when the policy is evaluated (`reconcile` skips it when a failure decision
//! exists: failure wins), add conditions or stop pods, read a clock or do I/O.

use super::indexed::IndexSet;
use wasmjob_spec::SuccessPolicy;

/// The index of the first rule the `completed` indexes satisfy, rules in order:
/// * `succeededIndexes` only: every listed index (below `completions`) completed;
/// * `succeededCount` only: at least that many indexes completed;
/// * both: at least `succeededCount` of the listed indexes completed (or all of them).
///
/// `None` while no index completed. A rule whose `succeededIndexes` does not parse or lists no
/// index below `completions` is skipped, as is a rule with neither field (both are invalid and
/// refused by validation; upstream skips them the same way).
pub fn evaluate(policy: &SuccessPolicy, completions: i32, completed: &IndexSet) -> Option<usize> {
    if completed.is_empty() {
        return None;
    }
    policy.rules.iter().position(|rule| {
        let count = rule.succeeded_count.map(i64::from);
        match &rule.succeeded_indexes {
            Some(text) => {
                let Ok(required) = IndexSet::parse(text, completions) else {
                    return false;
                };
                if required.is_empty() {
                    return false;
                }
                let done = required.intersection_len(completed);
                done == required.len() || count.is_some_and(|c| done as i64 >= c)
            }
            None => count.is_some_and(|c| completed.len() as i64 >= c),
        }
    })
}

/// Message of the `SuccessCriteriaMet`/`Complete` conditions with reason `SuccessPolicy`
/// (upstream batch/v1 types.go (condition types and reasons)).
pub fn message(rule: usize) -> String {
    format!("Matched rules at index {rule}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmjob_spec::SuccessPolicyRule;

    fn rule(indexes: Option<&str>, count: Option<i32>) -> SuccessPolicyRule {
        SuccessPolicyRule {
            succeeded_indexes: indexes.map(String::from),
            succeeded_count: count,
        }
    }

    #[test]
    fn rules_table() {
        // Names in quotes are upstream success_policy_test.go `TestMatchSuccessPolicy` cases
        // (completions 10); the others come from upstream success_policy.go matchSuccessPolicy.
        // (name, rules, completed indexes, completions, want)
        type Case = (
            &'static str,
            Vec<SuccessPolicyRule>,
            &'static str,
            i32,
            Option<usize>,
        );
        let cases: Vec<Case> = vec![
            ("'any rules are nothing'", vec![], "0", 10, None),
            (
                "'rules.succeededIndexes is invalid format'",
                vec![rule(Some("invalid-form"), None)],
                "0",
                10,
                None,
            ),
            (
                "'rules.succeededIndexes is specified; succeededIndexes matched rules'",
                vec![rule(Some("0-2"), None)],
                "0-2,4-7",
                10,
                Some(0),
            ),
            (
                "'rules.succeededIndexes is specified; succeededIndexes didn't match rules'",
                vec![rule(Some("3"), None)],
                "0-2",
                10,
                None,
            ),
            (
                "'rules.succeededCount is specified; succeededIndexes matched rules'",
                vec![rule(None, Some(2))],
                "0-2",
                10,
                Some(0),
            ),
            (
                "'rules.succeededCount is specified; succeededIndexes didn't match rules'",
                vec![rule(None, Some(4))],
                "0-2",
                10,
                None,
            ),
            (
                "'multiple rules; … succeededIndexes met one of rules'",
                vec![rule(Some("9"), None), rule(Some("4,6"), None)],
                "0-2,4-7",
                10,
                Some(1),
            ),
            (
                "'multiple rules; … succeededIndexes met all rules' (first wins)",
                vec![rule(Some("0,1"), None), rule(Some("5"), None)],
                "0-2,4-7",
                10,
                Some(0),
            ),
            (
                "'rules.succeededIndexes and rules.succeededCount are specified; … met all rules'",
                vec![rule(Some("3-6"), Some(2))],
                "0-2,4-7",
                10,
                Some(0),
            ),
            (
                "'… succeededIndexes and succeededCount … didn't match rules'",
                vec![rule(Some("3-6"), Some(2))],
                "0-2,6,7",
                10,
                None,
            ),
            (
                "'rules.succeededIndexes is specified; succeededIndexes are nothing'",
                vec![rule(None, Some(4))],
                "",
                10,
                None,
            ),
            (
                "upstream success_policy.go matchSuccessPolicy only evaluated when an index succeeded: even count 0 waits",
                vec![rule(None, Some(0))],
                "",
                10,
                None,
            ),
            (
                "'… rules is proper subset of succeededIndexes'",
                vec![rule(Some("2-4,6-8"), None)],
                "1-9",
                10,
                Some(0),
            ),
            (
                "'… rules equals succeededIndexes'",
                vec![rule(Some("2-4,6-9"), None)],
                "2-4,6-9",
                10,
                Some(0),
            ),
            (
                "'… rules is an empty set'",
                vec![rule(Some(""), None)],
                "1-3",
                10,
                None,
            ),
            (
                "'… rules overlaps succeededIndexes at first'",
                vec![rule(Some("1-3,5-7"), None)],
                "2-4,6-8",
                10,
                None,
            ),
            (
                "'… and rules.succeededCount … rules overlaps succeededIndexes at first'",
                vec![rule(Some("1-3,5-7"), Some(4))],
                "2-4,6-8",
                10,
                Some(0),
            ),
            (
                "'… rules completely overlaps succeededIndexes'",
                vec![rule(Some("0-4,6-9"), None)],
                "1-3,7,8",
                10,
                None,
            ),
            (
                "'… and rules.succeededCount … rules completely overlaps succeededIndexes'",
                vec![rule(Some("0-4,6-9"), Some(5))],
                "1-3,7,8",
                10,
                Some(0),
            ),
            (
                "'… and rules.succeededCount … rules overlaps multiple succeededIndexes at last'",
                vec![rule(Some("0-6,8,9"), Some(7))],
                "1-3,5-9",
                10,
                Some(0),
            ),
            (
                "upstream success_policy.go matchSuccessPolicy both: count not reached within the listed indexes",
                vec![rule(Some("0-4"), Some(3))],
                "0,1,5-9",
                10,
                None,
            ),
            (
                "upstream success_policy.go matchSuccessPolicy garbage in one rule skips only that rule",
                vec![rule(Some("1,,2"), None), rule(None, Some(1))],
                "7",
                10,
                Some(1),
            ),
            (
                "upstream success_policy.go matchSuccessPolicy neither field (invalid) matches nothing",
                vec![rule(None, None)],
                "0-9",
                10,
                None,
            ),
            (
                "upstream parseIndexesFromString cuts listed indexes at completions",
                vec![rule(Some("0-2,8-20"), None)],
                "0-2,8,9",
                10,
                Some(0),
            ),
            (
                "listed indexes all beyond completions: rule skipped (upstream: empty intervals)",
                vec![rule(Some("12,13"), Some(0))],
                "0-9",
                10,
                None,
            ),
        ];
        for (name, rules, completed, completions, want) in cases {
            let completed = IndexSet::parse(completed, completions).unwrap();
            let policy = SuccessPolicy { rules };
            assert_eq!(evaluate(&policy, completions, &completed), want, "{name}");
        }
    }

    #[test]
    fn message_text() {
        // upstream batch/v1 types.go (condition types and reasons) and upstream `TestMatchSuccessPolicy` wantMessage.
        assert_eq!(message(0), "Matched rules at index 0");
        assert_eq!(message(19), "Matched rules at index 19");
    }
}
