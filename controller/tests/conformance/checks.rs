//! What a scenario is held to: its expectations at each step (`Sim::check`), the invariants
//! after every sync (counters never go down, finished stays finished, …), and the helpers they
//! read pods and statuses with.

use super::*;

impl Sim<'_> {
    pub(super) fn check(&self, e: &Expect) -> Vec<String> {
        let s = self.job.status();
        let mut diffs = Vec::new();
        let counters = [
            ("active", e.active, s.active),
            ("succeeded", e.succeeded, s.succeeded),
            ("failed", e.failed, s.failed),
            ("ready", e.ready, s.ready.unwrap_or(0)),
            ("terminating", e.terminating, s.terminating.unwrap_or(0)),
        ];
        for (field, want, got) in counters {
            if let Some(w) = want {
                cmp(&mut diffs, field, w.to_string(), got.to_string());
            }
        }
        if let Some(w) = &e.completed_indexes {
            cmp(
                &mut diffs,
                "completedIndexes",
                format!("{w:?}"),
                format!("{:?}", s.completed_indexes.clone().unwrap_or_default()),
            );
        }
        if let Some(w) = &e.failed_indexes {
            cmp(
                &mut diffs,
                "failedIndexes",
                format!("{w:?}"),
                format!("{:?}", s.failed_indexes),
            );
        }
        let t = |x: Option<Time>| format!("{:?}", x.map(|t| rel(t).to_string()));
        if let Some(w) = &e.start_time {
            cmp(
                &mut diffs,
                "startTime",
                t(w.map(|d| time(d.0))),
                t(s.start_time),
            );
        }
        if let Some(w) = &e.completion_time {
            cmp(
                &mut diffs,
                "completionTime",
                t(w.map(|d| time(d.0))),
                t(s.completion_time),
            );
        }
        if let Some(want) = &e.conditions {
            let fmt_want: Vec<String> = want
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let got = s.conditions.get(i);
                    let message = c
                        .message
                        .as_ref()
                        .map(|m| self.expand(m))
                        .or_else(|| got.and_then(|g| g.message.clone()))
                        .unwrap_or_default();
                    let at =
                        c.at.map(|a| a.to_string())
                            .or_else(|| {
                                got.and_then(|g| g.last_transition_time)
                                    .map(|t| rel(t).to_string())
                            })
                            .unwrap_or_default();
                    format!("{}={} {} {message:?} at {at}", c.type_, c.status, c.reason)
                })
                .collect();
            let fmt_got: Vec<String> = s
                .conditions
                .iter()
                .map(|c| {
                    format!(
                        "{}={} {} {:?} at {}",
                        c.type_,
                        c.status,
                        c.reason.as_deref().unwrap_or(""),
                        c.message.as_deref().unwrap_or(""),
                        c.last_transition_time
                            .map(|t| rel(t).to_string())
                            .unwrap_or_default()
                    )
                })
                .collect();
            if fmt_want != fmt_got {
                diffs.push(format!(
                    "conditions:\n      want: {}\n      got:  {}",
                    fmt_want.join("\n            "),
                    fmt_got.join("\n            ")
                ));
            }
        }
        let made: Vec<&SimPod> = self.pods.iter().filter(|p| p.nth.is_some()).collect();
        if let Some(w) = e.pods_created {
            cmp(
                &mut diffs,
                "podsCreated",
                w.to_string(),
                made.len().to_string(),
            );
        }
        if let Some(w) = &e.created {
            let want: Vec<String> = w.iter().map(|d| d.to_string()).collect();
            let got: Vec<String> = made.iter().map(|p| Dur(p.created).to_string()).collect();
            cmp(&mut diffs, "created", want.join(", "), got.join(", "));
        }
        if let Some(w) = &e.indexes {
            let want: Vec<String> = w.iter().map(|i| i.to_string()).collect();
            let got: Vec<String> = made
                .iter()
                .map(|p| index_of(&p.pod).map_or("-".into(), |i| i.to_string()))
                .collect();
            cmp(&mut diffs, "indexes", want.join(", "), got.join(", "));
        }
        for pe in e.pods.iter().flatten() {
            let Some(i) = self.pod_by(pe.pod, pe.name.as_deref()) else {
                diffs.push(format!("pods: no pod {:?}/{:?}", pe.pod, pe.name));
                continue;
            };
            let p = &self.pods[i];
            let who = format!("pod {}", p.pod.metadata.name());
            let m = &p.pod.metadata;
            let mut pcmp = |field: &str, want: String, got: String| {
                cmp(&mut diffs, &format!("{who} {field}"), want, got)
            };
            if let Some(w) = pe.created {
                pcmp("created", w.to_string(), Dur(p.created).to_string());
            }
            if let Some(w) = &pe.phase {
                pcmp("phase", w.clone(), p.pod.phase().to_string());
            }
            if let Some(w) = pe.stopped {
                pcmp(
                    "stopped",
                    w.to_string(),
                    m.deletion_timestamp.is_some().to_string(),
                );
            }
            if let Some(w) = pe.counted {
                let has = m.finalizers.iter().any(|f| f == TRACKING_FINALIZER);
                pcmp("counted", w.to_string(), (!has).to_string());
            }
            for (k, w) in &pe.annotations {
                pcmp(
                    &format!("annotation {k}"),
                    format!("{w:?}"),
                    format!("{:?}", m.annotations.get(k)),
                );
            }
            for (k, w) in &pe.labels {
                pcmp(
                    &format!("label {k}"),
                    format!("{w:?}"),
                    format!("{:?}", m.labels.get(k)),
                );
            }
            if let Some(w) = &pe.hostname {
                pcmp(
                    "hostname",
                    format!("{w:?}"),
                    format!("{:?}", p.pod.spec.hostname),
                );
            }
            if let Some(w) = pe.index_env {
                let all = p
                    .pod
                    .spec
                    .containers
                    .iter()
                    .chain(&p.pod.spec.init_containers)
                    .all(|c| c.env.iter().any(|e| e.name == COMPLETION_INDEX_ENV));
                pcmp("indexEnv", w.to_string(), all.to_string());
            }
        }
        diffs
    }
}

fn cmp(diffs: &mut Vec<String>, field: &str, want: String, got: String) {
    if want != got {
        diffs.push(format!("{field}: want {want}, got {got}"));
    }
}

pub(super) fn index_of(pod: &Pod) -> Option<i32> {
    pod.metadata
        .annotations
        .get(COMPLETION_INDEX_ANNOTATION)
        .and_then(|v| v.parse().ok())
}

pub(super) fn container_statuses(pod: &Pod) -> Vec<ContainerStatus> {
    pod.spec
        .containers
        .iter()
        .map(|c| ContainerStatus {
            name: c.name.clone(),
            state: ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some("ContainerCreating".into()),
                    message: None,
                }),
                ..Default::default()
            },
            started: Some(false),
            ..Default::default()
        })
        .collect()
}

pub(super) fn status_line(s: &JobStatus) -> String {
    let conds: Vec<String> = s
        .conditions
        .iter()
        .map(|c| {
            format!(
                "{}={}/{}",
                c.type_,
                c.status,
                c.reason.as_deref().unwrap_or("")
            )
        })
        .collect();
    let mut out = format!(
        "active={} ready={} terminating={} succeeded={} failed={}",
        s.active,
        s.ready.unwrap_or(0),
        s.terminating.unwrap_or(0),
        s.succeeded,
        s.failed
    );
    if let Some(c) = &s.completed_indexes {
        out.push_str(&format!(" completed={c:?}"));
    }
    if let Some(f) = &s.failed_indexes {
        out.push_str(&format!(" failedIndexes={f:?}"));
    }
    if let Some(t) = s.start_time {
        out.push_str(&format!(" start={}", rel(t)));
    }
    format!("{out} [{}]", conds.join(", "))
}

/// upstream batch/v1 types.go (JobStatus) and upstream batch validation.go ValidateJobStatusUpdate: what must hold after every sync.
pub(super) fn invariants(job: &Job, before: &JobStatus, after: &JobStatus) -> Result<(), String> {
    let has = |t: &str| {
        after
            .conditions
            .iter()
            .any(|c| c.type_ == t && c.status == "True")
    };
    if after.failed < before.failed {
        return Err("status.failed went down".into());
    }
    let shrunk = job.is_indexed()
        && index_set(before.completed_indexes.as_deref()).len()
            > index_set(after.completed_indexes.as_deref()).len();
    if after.succeeded < before.succeeded && !shrunk {
        return Err("status.succeeded went down".into());
    }
    if after.ready.unwrap_or(0) > after.active {
        return Err("ready > active".into());
    }
    if after.active < 0 || after.succeeded < 0 || after.failed < 0 {
        return Err("a counter is negative".into());
    }
    for (a, b) in [
        ("Complete", "Failed"),
        ("Complete", "FailureTarget"),
        ("SuccessCriteriaMet", "Failed"),
        ("SuccessCriteriaMet", "FailureTarget"),
    ] {
        if has(a) && has(b) {
            return Err(format!("{a} and {b} together"));
        }
    }
    if has("Failed") && !has("FailureTarget") {
        return Err("Failed without FailureTarget".into());
    }
    if has("Complete") && !has("SuccessCriteriaMet") {
        return Err("Complete without SuccessCriteriaMet".into());
    }
    for c in &before.conditions {
        let kept = after.conditions.iter().any(|x| {
            x.type_ == c.type_
                && (c.type_ == "Suspended"
                    || (x.status == c.status && x.reason == c.reason && x.message == c.message))
        });
        if !kept {
            return Err(format!("condition {} changed or disappeared", c.type_));
        }
    }
    if has("Complete") || has("Failed") {
        if after.active != 0 || after.terminating.unwrap_or(0) != 0 {
            return Err("a finished Job has active or terminating pods".into());
        }
        if after.start_time.is_none() {
            return Err("a finished Job has no startTime".into());
        }
    }
    if after.completion_time.is_some() != has("Complete") {
        return Err("completionTime without Complete (or Complete without it)".into());
    }
    let completed = index_set(after.completed_indexes.as_deref());
    if completed.intersection_len(&index_set(after.failed_indexes.as_deref())) > 0 {
        return Err("completedIndexes and failedIndexes overlap".into());
    }
    Ok(())
}

/// A compressed index list as a set (the simulator's own reading, for the invariants).
fn index_set(text: Option<&str>) -> IndexSet {
    IndexSet::parse(text.unwrap_or(""), i32::MAX).unwrap_or_default()
}
