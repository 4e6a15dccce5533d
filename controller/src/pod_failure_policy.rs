//! `podFailurePolicy` (upstream `pod_failure_policy.go` `matchPodFailurePolicy`; upstream pod_failure_policy.go matchPodFailurePolicy):
//! which rule, if any, a failed pod matches, and what it asks for — fail the Job, ignore the
//! failure, count it, or fail the pod's index.
//!
//! Must not: act on the verdict (counting, conditions, stopping pods are `reconcile`'s), check
//! that the Job may use an action (validation does: `FailIndex` needs `backoffLimitPerIndex`),
//! read a clock or do I/O.

use wasmjob_spec::{
    PHASE_FAILED, Pod, PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyOnPodConditionsPattern,
};

/// What a matching rule asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Fail the whole Job at once (`FailureTarget`, reason `PodFailurePolicy`).
    FailJob,
    /// Do not count the failure toward `backoffLimit`/`backoffLimitPerIndex`; replace the pod.
    Ignore,
    /// Count the failure, as when no rule matches.
    Count,
    /// Fail the pod's index at once (Indexed Jobs with `backoffLimitPerIndex`).
    FailIndex,
}

impl Action {
    /// The action named in a rule; `None` for an unknown name (such a rule is skipped).
    pub fn parse(name: &str) -> Option<Action> {
        match name {
            "FailJob" => Some(Action::FailJob),
            "Ignore" => Some(Action::Ignore),
            "Count" => Some(Action::Count),
            "FailIndex" => Some(Action::FailIndex),
            _ => None,
        }
    }
}

/// The first rule a failed pod matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub action: Action,
    /// Position of the rule in `podFailurePolicy.rules`.
    pub rule_index: usize,
    /// For `FailJob` only: the message of the `FailureTarget` condition.
    pub message: Option<String>,
}

/// The verdict of `policy` on `pod`, a pod of a Job in `namespace`: rules in order, first match
/// wins; `None` when the pod is not in phase `Failed` or no rule matches (default handling: the
/// failure counts). A rule with an unknown action is skipped, as is one with neither
/// requirement; one with both is read by its `onExitCodes` (as upstream).
pub fn evaluate(policy: &PodFailurePolicy, pod: &Pod, namespace: &str) -> Option<Verdict> {
    if pod.phase() != PHASE_FAILED {
        return None;
    }
    evaluate_rules(policy, pod, namespace)
}

/// The rules alone, whatever the pod's phase (upstream `matchPodFailurePolicy`): for pods a
/// failing Job counts as failed while they are still running or being deleted (upstream job_controller.go syncJob step 10), an
/// `Ignore` match (say on `DisruptionTarget`) keeps them uncounted.
pub fn evaluate_rules(policy: &PodFailurePolicy, pod: &Pod, namespace: &str) -> Option<Verdict> {
    let pod_name = pod.metadata.name();
    for (rule_index, rule) in policy.rules.iter().enumerate() {
        let Some(action) = Action::parse(&rule.action) else {
            continue;
        };
        let matched = if let Some(req) = &rule.on_exit_codes {
            match_exit_codes(pod, req).map(|(container, code)| {
                format!(
                    "Container {container} for pod {namespace}/{pod_name} failed with exit code \
                     {code} matching FailJob rule at index {rule_index}"
                )
            })
        } else if let Some(patterns) = &rule.on_pod_conditions {
            match_conditions(pod, patterns).map(|type_| {
                format!(
                    "Pod {namespace}/{pod_name} has condition {type_} matching FailJob rule at \
                     index {rule_index}"
                )
            })
        } else {
            None
        };
        if let Some(message) = matched {
            return Some(Verdict {
                action,
                rule_index,
                message: (action == Action::FailJob).then_some(message),
            });
        }
    }
    None
}

/// The first container, then init container, that terminated with a non-zero exit code
/// satisfying the requirement: `(name, exit code)`. Running containers and exit code 0 are never
/// examined; an unknown operator matches nothing.
fn match_exit_codes<'p>(
    pod: &'p Pod,
    req: &PodFailurePolicyOnExitCodesRequirement,
) -> Option<(&'p str, i32)> {
    let statuses = pod
        .status
        .container_statuses
        .iter()
        .chain(&pod.status.init_container_statuses);
    for status in statuses {
        let Some(terminated) = &status.state.terminated else {
            continue;
        };
        if req
            .container_name
            .as_deref()
            .is_some_and(|name| name != status.name)
        {
            continue;
        }
        let code = terminated.exit_code;
        if code == 0 {
            continue;
        }
        let listed = req.values.contains(&code);
        let matches = match req.operator.as_str() {
            "In" => listed,
            "NotIn" => !listed,
            _ => false,
        };
        if matches {
            return Some((&status.name, code));
        }
    }
    None
}

/// The type of the first pod condition equal to one of the patterns (type and status; a
/// pattern's status defaults to `True`).
fn match_conditions<'p>(
    pod: &'p Pod,
    patterns: &[PodFailurePolicyOnPodConditionsPattern],
) -> Option<&'p str> {
    pod.status.conditions.iter().find_map(|c| {
        patterns
            .iter()
            .any(|p| p.type_ == c.type_ && p.status.as_deref().unwrap_or("True") == c.status)
            .then_some(c.type_.as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmjob_spec::{
        ContainerState, ContainerStateTerminated, ContainerStatus, PHASE_RUNNING, PHASE_SUCCEEDED,
        PodCondition, PodFailurePolicyRule,
    };

    /// A rule's requirement in short: `Codes(container, operator, values)`, `Conds([(type,
    /// status)])`, `Both` (invalid: `In [1]` and `DisruptionTarget`) or `Neither` (invalid).
    enum Req {
        Codes(Option<&'static str>, &'static str, &'static [i32]),
        Conds(&'static [(&'static str, Option<&'static str>)]),
        Both,
        Neither,
    }

    fn policy(rules: &[(&str, Req)]) -> PodFailurePolicy {
        let codes = |c: Option<&str>, op: &str, v: &[i32]| PodFailurePolicyOnExitCodesRequirement {
            container_name: c.map(String::from),
            operator: op.into(),
            values: v.to_vec(),
        };
        let conds = |list: &[(&str, Option<&str>)]| {
            list.iter()
                .map(|(t, s)| PodFailurePolicyOnPodConditionsPattern {
                    type_: t.to_string(),
                    status: s.map(String::from),
                })
                .collect::<Vec<_>>()
        };
        PodFailurePolicy {
            rules: rules
                .iter()
                .map(|(action, req)| {
                    let mut r = PodFailurePolicyRule {
                        action: action.to_string(),
                        ..Default::default()
                    };
                    match req {
                        Req::Codes(c, op, v) => r.on_exit_codes = Some(codes(*c, op, v)),
                        Req::Conds(list) => r.on_pod_conditions = Some(conds(list)),
                        Req::Both => {
                            r.on_exit_codes = Some(codes(None, "In", &[1]));
                            r.on_pod_conditions = Some(conds(&[("DisruptionTarget", None)]));
                        }
                        Req::Neither => {}
                    }
                    r
                })
                .collect(),
        }
    }

    /// A container status: `(name, exit code)`; `None` code = still running.
    type C = (&'static str, Option<i32>);

    fn pod(
        phase: &str,
        containers: &[C],
        init: &[C],
        conditions: &[(&'static str, &'static str)],
    ) -> Pod {
        let status = |&(name, code): &C| ContainerStatus {
            name: name.into(),
            state: ContainerState {
                terminated: code.map(|exit_code| ContainerStateTerminated {
                    exit_code,
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let mut p = Pod::default();
        p.metadata.name = Some("mypod".into());
        p.status.phase = Some(phase.into());
        p.status.container_statuses = containers.iter().map(status).collect();
        p.status.init_container_statuses = init.iter().map(status).collect();
        p.status.conditions = conditions
            .iter()
            .map(|(t, s)| PodCondition {
                type_: t.to_string(),
                status: s.to_string(),
                ..Default::default()
            })
            .collect();
        p
    }

    struct Case {
        /// Where the expectation comes from.
        name: &'static str,
        rules: Vec<(&'static str, Req)>,
        pod: Pod,
        /// `(action, rule index, message)`.
        want: Option<(Action, usize, Option<&'static str>)>,
    }

    const DT: &str = "DisruptionTarget";

    fn failed(containers: &[C]) -> Pod {
        pod(PHASE_FAILED, containers, &[], &[])
    }

    fn with_condition(t: &'static str, s: &'static str) -> Pod {
        pod(PHASE_FAILED, &[("main", Some(1))], &[], &[(t, s)])
    }

    #[test]
    fn rules_table() {
        use Action::*;
        use Req::*;
        let cases = vec![
            Case {
                name: "upstream TestMatchPodFailurePolicy: FailJob rule matched for exit codes",
                rules: vec![("FailJob", Codes(None, "In", &[1, 2, 3]))],
                pod: failed(&[("main-container", Some(2))]),
                want: Some((
                    FailJob,
                    0,
                    Some(
                        "Container main-container for pod default/mypod failed with exit code 2 matching FailJob rule at index 0",
                    ),
                )),
            },
            Case {
                name: "upstream: ignore rule matched for exit codes",
                rules: vec![("Ignore", Codes(None, "In", &[1, 2, 3]))],
                pod: failed(&[("main", Some(2))]),
                want: Some((Ignore, 0, None)),
            },
            Case {
                name: "upstream: count rule matched for exit codes (a running container is skipped)",
                rules: vec![("Count", Codes(None, "In", &[1, 2, 3]))],
                pod: failed(&[("foo", None), ("bar", Some(2))]),
                want: Some((Count, 0, None)),
            },
            Case {
                name: "upstream: FailIndex rule matched for exit codes",
                rules: vec![("FailIndex", Codes(None, "In", &[1, 2, 3]))],
                pod: failed(&[("main", Some(2))]),
                want: Some((FailIndex, 0, None)),
            },
            Case {
                name: "upstream: second jobfail rule matched for exit codes (first match wins, upstream pod_failure_policy.go matchPodFailurePolicy)",
                rules: vec![
                    ("Count", Codes(None, "In", &[1, 2, 3])),
                    ("FailJob", Codes(None, "In", &[4, 5, 6])),
                ],
                pod: failed(&[("main-container", Some(6))]),
                want: Some((
                    FailJob,
                    1,
                    Some(
                        "Container main-container for pod default/mypod failed with exit code 6 matching FailJob rule at index 1",
                    ),
                )),
            },
            Case {
                name: "upstream pod_failure_policy.go matchPodFailurePolicy first match wins: an earlier Ignore shadows a later FailJob",
                rules: vec![
                    ("Ignore", Codes(None, "In", &[6])),
                    ("FailJob", Codes(None, "In", &[6])),
                ],
                pod: failed(&[("main", Some(6))]),
                want: Some((Ignore, 0, None)),
            },
            Case {
                name: "upstream: unknown action for rule matching by exit codes - skip rule",
                rules: vec![
                    ("UnknownAction", Codes(None, "In", &[1, 2])),
                    ("FailJob", Codes(None, "In", &[2, 3])),
                ],
                pod: failed(&[("main-container", Some(2))]),
                want: Some((
                    FailJob,
                    1,
                    Some(
                        "Container main-container for pod default/mypod failed with exit code 2 matching FailJob rule at index 1",
                    ),
                )),
            },
            Case {
                name: "upstream pod_failure_policy.go matchPodFailurePolicy unknown action, nothing else: no match",
                rules: vec![("failjob", Codes(None, "In", &[2]))],
                pod: failed(&[("main", Some(2))]),
                want: None,
            },
            Case {
                name: "upstream: unknown operator - rule is skipped for onExitCodes",
                rules: vec![
                    ("Ignore", Codes(None, "UnknownOperator", &[1, 2])),
                    ("FailJob", Codes(None, "In", &[2, 3])),
                ],
                pod: failed(&[("main-container", Some(2))]),
                want: Some((
                    FailJob,
                    1,
                    Some(
                        "Container main-container for pod default/mypod failed with exit code 2 matching FailJob rule at index 1",
                    ),
                )),
            },
            Case {
                name: "upstream pod_failure_policy.go matchPodFailurePolicy operators are case-sensitive: `in` is unknown",
                rules: vec![("FailJob", Codes(None, "in", &[2]))],
                pod: failed(&[("main", Some(2))]),
                want: None,
            },
            Case {
                name: "upstream: successful containers are skipped by the rules (NotIn 111)",
                rules: vec![("FailJob", Codes(None, "NotIn", &[111]))],
                pod: pod(
                    PHASE_FAILED,
                    &[("main", Some(111)), ("support", Some(0))],
                    &[("init", Some(0))],
                    &[],
                ),
                want: None,
            },
            Case {
                name: "upstream: pod failure policy with NotIn operator and value 0",
                rules: vec![("FailJob", Codes(None, "NotIn", &[0]))],
                pod: failed(&[("main-container", Some(1)), ("support", Some(0))]),
                want: Some((
                    FailJob,
                    0,
                    Some(
                        "Container main-container for pod default/mypod failed with exit code 1 matching FailJob rule at index 0",
                    ),
                )),
            },
            Case {
                name: "upstream pod_failure_policy.go matchPodFailurePolicy exit code 0 is never matched, even by In [0] (invalid, but data)",
                rules: vec![("FailJob", Codes(None, "In", &[0]))],
                pod: failed(&[("main", Some(0)), ("other", Some(0))]),
                want: None,
            },
            Case {
                name: "upstream pod_failure_policy.go matchPodFailurePolicy NotIn: some examined non-zero code outside the set",
                rules: vec![("Ignore", Codes(None, "NotIn", &[1, 2]))],
                pod: failed(&[("a", Some(1)), ("b", Some(42))]),
                want: Some((Ignore, 0, None)),
            },
            Case {
                name: "upstream pod_failure_policy.go matchPodFailurePolicy NotIn: every examined code in the set → no match",
                rules: vec![("Ignore", Codes(None, "NotIn", &[1, 2]))],
                pod: failed(&[("a", Some(1)), ("b", Some(2)), ("c", None)]),
                want: None,
            },
            Case {
                name: "upstream pod_failure_policy.go matchPodFailurePolicy containers are examined before init containers",
                rules: vec![("FailJob", Codes(None, "In", &[3, 4]))],
                pod: pod(
                    PHASE_FAILED,
                    &[("main", Some(4))],
                    &[("init", Some(3))],
                    &[],
                ),
                want: Some((
                    FailJob,
                    0,
                    Some(
                        "Container main for pod default/mypod failed with exit code 4 matching FailJob rule at index 0",
                    ),
                )),
            },
            Case {
                name: "upstream pod_failure_policy.go matchPodFailurePolicy init containers' exit codes are matched too",
                rules: vec![("FailJob", Codes(None, "In", &[3]))],
                pod: pod(PHASE_FAILED, &[("main", None)], &[("setup", Some(3))], &[]),
                want: Some((
                    FailJob,
                    0,
                    Some(
                        "Container setup for pod default/mypod failed with exit code 3 matching FailJob rule at index 0",
                    ),
                )),
            },
            Case {
                name: "upstream pod_failure_policy.go matchPodFailurePolicy containerName restricts the check",
                rules: vec![("FailJob", Codes(Some("b"), "In", &[1, 2]))],
                pod: failed(&[("a", Some(1)), ("b", Some(2))]),
                want: Some((
                    FailJob,
                    0,
                    Some(
                        "Container b for pod default/mypod failed with exit code 2 matching FailJob rule at index 0",
                    ),
                )),
            },
            Case {
                name: "upstream pod_failure_policy.go matchPodFailurePolicy containerName naming a container that exited otherwise: no match",
                rules: vec![("FailJob", Codes(Some("b"), "In", &[1]))],
                pod: failed(&[("a", Some(1)), ("b", Some(2))]),
                want: None,
            },
            Case {
                name: "upstream pod_failure_policy.go matchPodFailurePolicy containerName naming no container: no match",
                rules: vec![("Ignore", Codes(Some("ghost"), "NotIn", &[5]))],
                pod: failed(&[("a", Some(1))]),
                want: None,
            },
            Case {
                name: "upstream: ignore rule matched for pod conditions",
                rules: vec![("Ignore", Conds(&[(DT, Some("True"))]))],
                pod: with_condition(DT, "True"),
                want: Some((Ignore, 0, None)),
            },
            Case {
                name: "upstream: unknown action for rule matching by pod conditions - skip rule",
                rules: vec![
                    ("UnkonwnAction", Conds(&[(DT, Some("True"))])),
                    ("Ignore", Conds(&[(DT, Some("True"))])),
                ],
                pod: with_condition(DT, "True"),
                want: Some((Ignore, 1, None)),
            },
            Case {
                name: "upstream: FailJob rule matched for pod conditions",
                rules: vec![("FailJob", Conds(&[(DT, Some("True"))]))],
                pod: with_condition(DT, "True"),
                want: Some((
                    FailJob,
                    0,
                    Some(
                        "Pod default/mypod has condition DisruptionTarget matching FailJob rule at index 0",
                    ),
                )),
            },
            Case {
                name: "upstream: FailIndex rule matched for pod conditions",
                rules: vec![("FailIndex", Conds(&[(DT, None)]))],
                pod: with_condition(DT, "True"),
                want: Some((FailIndex, 0, None)),
            },
            Case {
                name: "upstream: ignore rule matches by the status=False",
                rules: vec![("Ignore", Conds(&[(DT, Some("False"))]))],
                pod: with_condition(DT, "False"),
                want: Some((Ignore, 0, None)),
            },
            Case {
                name: "upstream pod_failure_policy.go matchPodFailurePolicy pattern status defaults to True: a False condition does not match",
                rules: vec![("Ignore", Conds(&[(DT, None)]))],
                pod: with_condition(DT, "False"),
                want: None,
            },
            Case {
                name: "upstream pod_failure_policy.go matchPodFailurePolicy pattern status defaults to True",
                rules: vec![("Count", Conds(&[("Other", None), (DT, None)]))],
                pod: with_condition(DT, "True"),
                want: Some((Count, 0, None)),
            },
            Case {
                name: "upstream: no match on pod conditions (type differs)",
                rules: vec![("Ignore", Conds(&[(DT, Some("True"))]))],
                pod: with_condition("ResourceExhausted", "True"),
                want: None,
            },
            Case {
                name: "upstream pod_failure_policy.go matchPodFailurePolicy the reported condition is the pod's first matching one",
                rules: vec![("FailJob", Conds(&[("B", None), ("A", None)]))],
                pod: pod(PHASE_FAILED, &[], &[], &[("A", "True"), ("B", "True")]),
                want: Some((
                    FailJob,
                    0,
                    Some("Pod default/mypod has condition A matching FailJob rule at index 0"),
                )),
            },
            Case {
                name: "upstream pod_failure_policy.go matchPodFailurePolicy only pods in phase Failed are matched: Running",
                rules: vec![("FailJob", Codes(None, "In", &[1]))],
                pod: pod(PHASE_RUNNING, &[("main", Some(1))], &[], &[]),
                want: None,
            },
            Case {
                name: "upstream pod_failure_policy.go matchPodFailurePolicy only pods in phase Failed are matched: Succeeded with a condition",
                rules: vec![("FailJob", Conds(&[(DT, None)]))],
                pod: pod(PHASE_SUCCEEDED, &[("main", Some(0))], &[], &[(DT, "True")]),
                want: None,
            },
            Case {
                name: "upstream: no policy rules",
                rules: vec![],
                pod: failed(&[("main", Some(2))]),
                want: None,
            },
            Case {
                name: "a rule with no requirement (invalid, but data) matches nothing",
                rules: vec![("FailJob", Neither), ("Count", Codes(None, "In", &[2]))],
                pod: failed(&[("main", Some(2))]),
                want: Some((Count, 1, None)),
            },
            Case {
                name: "upstream if/else: a rule with both requirements is read by onExitCodes",
                rules: vec![("Ignore", Both)],
                pod: pod(PHASE_FAILED, &[("main", Some(2))], &[], &[(DT, "True")]),
                want: None,
            },
        ];
        for c in cases {
            let got = evaluate(&policy(&c.rules), &c.pod, "default");
            let want = c.want.map(|(action, rule_index, message)| Verdict {
                action,
                rule_index,
                message: message.map(String::from),
            });
            assert_eq!(got, want, "{}", c.name);
        }
    }

    #[test]
    fn message_names_the_given_namespace() {
        // upstream batch/v1 types.go (condition types and reasons): `Container <c> for pod <ns>/<pod> …`.
        let p = policy(&[("FailJob", Req::Codes(None, "In", &[137]))]);
        let v = evaluate(&p, &failed(&[("worker", Some(137))]), "team-a").unwrap();
        assert_eq!(
            v.message.as_deref(),
            Some(
                "Container worker for pod team-a/mypod failed with exit code 137 matching FailJob rule at index 0"
            )
        );
    }

    #[test]
    fn action_names() {
        // upstream pod_failure_policy.go matchPodFailurePolicy action list; anything else is unknown.
        let cases = [
            ("FailJob", Some(Action::FailJob)),
            ("Ignore", Some(Action::Ignore)),
            ("Count", Some(Action::Count)),
            ("FailIndex", Some(Action::FailIndex)),
            ("", None),
            ("Fail", None),
            ("ignore", None),
        ];
        for (name, want) in cases {
            assert_eq!(Action::parse(name), want, "{name:?}");
        }
    }
}
