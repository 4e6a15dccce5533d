//! The simulator: one Job, its pods and a virtual clock. It calls the pure controller, applies
//! each decision with the one `wasmjob_controller::apply` the manager uses too (counted pods
//! lose the tracking finalizer, stopped pods get a deletionTimestamp and grace period, new pods
//! come from the template), moves pods along their scripted behaviour (Pending →
//! Running → Succeeded/Failed with terminated container statuses and `finishedAt`), honours
//! `requeue_after`, and checks expectations and invariants.

use super::format::*;

// The expectations and invariants a scenario is held to.
#[path = "checks.rs"]
mod checks;
use checks::{container_statuses, index_of, invariants, status_line};
use serde_json::Value;
use std::time::Duration;
use wasmjob_controller::indexed::IndexSet;
use wasmjob_controller::{
    BackoffRecord, ControllerConfig, Decision, Identities, JobPods, apply, reconcile,
    reconcile_pods,
};
use wasmjob_spec::*;

/// The Job's creation: 2026-01-01T00:00:00Z.
const T0_MS: i64 = 1_767_225_600_000;
const DEFAULT_TERMINATION_DELAY: Dur = Dur(1000);
const STOPPED_EXIT_CODE: i32 = 143;
const MAX_SYNCS_PER_INSTANT: usize = 50;
const MAX_INSTANTS: usize = 100_000;
const DEFAULT_UNTIL: Dur = Dur(4 * 3_600_000);

fn time(rel: i64) -> Time {
    Time::from_millis(T0_MS + rel)
}

fn rel(t: Time) -> Dur {
    Dur(t.as_millis() - T0_MS)
}

struct SimPod {
    pod: Pod,
    rule: Rule,
    /// Creation order among the pods the controller created; `None` for added pods.
    nth: Option<usize>,
    created: i64,
    restarts_done: usize,
    /// When a stop (deletion) was asked for, how long it takes and the exit code it ends with.
    stop: Option<(i64, i64, i32)>,
    /// Conditions to add when the pod ends because of a deletion.
    stop_conditions: Vec<PodCond>,
}

/// The simulated pods as `apply` changes them: a new pod gets the first scenario rule that
/// matches its creation order, index and attempt.
struct ScriptedPods<'s, 'a> {
    pods: &'s mut Vec<SimPod>,
    scenario: &'a Scenario,
    created: &'s mut usize,
    now: i64,
}

impl JobPods for ScriptedPods<'_, '_> {
    fn pod_mut(&mut self, name: &str) -> Option<&mut Pod> {
        self.pods
            .iter_mut()
            .find(|p| p.pod.metadata.name() == name)
            .map(|p| &mut p.pod)
    }
    fn name_taken(&self, name: &str) -> bool {
        self.pods.iter().any(|p| p.pod.metadata.name() == name)
    }
    fn add(&mut self, mut pod: Pod) {
        pod.status.container_statuses = container_statuses(&pod);
        let nth = *self.created;
        let index = index_of(&pod);
        let attempt = self
            .pods
            .iter()
            .filter(|p| p.nth.is_some() && index_of(&p.pod) == index)
            .count();
        let rule = self
            .scenario
            .pods
            .iter()
            .find(|r| r.matches(nth, index, attempt))
            .cloned()
            .unwrap_or_default();
        self.pods.push(SimPod {
            pod,
            rule,
            nth: Some(nth),
            created: self.now,
            restarts_done: 0,
            stop: None,
            stop_conditions: Vec::new(),
        });
        *self.created += 1;
    }
}

/// Pod uids `uid-<n>` in creation order, and name suffixes from a counter (deterministic,
/// never the same twice: the counter's digits in the alphabet's base).
struct Counted {
    uids: usize,
    names: usize,
}

impl Identities for Counted {
    fn uid(&mut self) -> String {
        self.uids += 1;
        format!("uid-{}", self.uids - 1)
    }
    fn name_suffix(&mut self) -> String {
        self.names += 1;
        let mut rest = self.names * 7919;
        wasmjob_controller::pods::name_suffix(|n| {
            let digit = rest % n;
            rest /= n;
            digit
        })
    }
}

impl SimPod {
    fn start_at(&self) -> i64 {
        self.created + self.rule.start.map_or(0, |d| d.0)
    }
    fn ready_at(&self) -> Option<i64> {
        match self.rule.ready {
            Some(ReadyAt::Never) => None,
            Some(ReadyAt::At(d)) => Some((self.created + d.0).max(self.start_at())),
            None => Some(self.start_at()),
        }
    }
    fn own_end(&self) -> Option<i64> {
        self.rule
            .succeed
            .or(self.rule.fail)
            .map(|d| (self.created + d.0).max(self.start_at()))
    }
    fn stop_end(&self) -> Option<i64> {
        self.stop.map(|(at, delay, _)| at + delay)
    }
    fn end(&self) -> Option<(i64, bool)> {
        match (self.own_end(), self.stop_end()) {
            (Some(o), Some(s)) if s < o => Some((s, true)),
            (Some(o), _) => Some((o, false)),
            (None, Some(s)) => Some((s, true)),
            (None, None) => None,
        }
    }

    /// The next instant after `now` at which this pod changes.
    fn next_event(&self, now: i64) -> Option<i64> {
        if self.pod.is_terminal() {
            return None;
        }
        let mut times = vec![self.start_at()];
        times.extend(self.ready_at());
        times.extend(self.rule.restarts.iter().map(|d| self.created + d.0));
        times.extend(self.end().map(|(t, _)| t));
        times.into_iter().filter(|t| *t > now).min()
    }

    /// Applies everything due by `now`; returns whether the pod changed.
    fn advance(&mut self, now: i64) -> bool {
        if self.pod.is_terminal() {
            return false;
        }
        let mut changed = false;
        let end = self.end().filter(|(t, _)| *t <= now);
        let start = self.start_at();
        if self.pod.phase() == PHASE_PENDING && start <= now && end.is_none_or(|(t, _)| start <= t)
        {
            self.pod.status.phase = Some(PHASE_RUNNING.into());
            self.pod.status.start_time = Some(time(start));
            for cs in &mut self.pod.status.container_statuses {
                cs.state = ContainerState {
                    running: Some(ContainerStateRunning {
                        started_at: Some(time(start)),
                    }),
                    ..Default::default()
                };
                cs.started = Some(true);
            }
            changed = true;
        }
        if self.pod.phase() == PHASE_RUNNING {
            if let Some(r) = self.ready_at()
                && r <= now
                && end.is_none_or(|(t, _)| r <= t)
                && !self.pod.condition_true("Ready")
            {
                set_pod_condition(&mut self.pod, "Ready", "True", None, time(r));
                for cs in &mut self.pod.status.container_statuses {
                    cs.ready = true;
                }
                changed = true;
            }
            while self.restarts_done < self.rule.restarts.len() {
                let at = self.created + self.rule.restarts[self.restarts_done].0;
                if at > now || end.is_some_and(|(t, _)| at > t) {
                    break;
                }
                for cs in &mut self.pod.status.container_statuses {
                    cs.restart_count += 1;
                }
                self.restarts_done += 1;
                changed = true;
            }
        }
        if let Some((t, by_stop)) = end {
            let codes: Vec<i32> = if by_stop {
                let code = self.stop.map_or(STOPPED_EXIT_CODE, |s| s.2);
                vec![code; self.pod.status.container_statuses.len()]
            } else {
                self.pod
                    .status
                    .container_statuses
                    .iter()
                    .map(|cs| {
                        let default = if self.rule.succeed.is_some() {
                            0
                        } else {
                            self.rule.exit_code.unwrap_or(1)
                        };
                        self.rule
                            .exit_codes
                            .as_ref()
                            .and_then(|m| m.get(&cs.name).copied())
                            .unwrap_or(default)
                    })
                    .collect()
            };
            let started = self.pod.status.start_time.unwrap_or(time(t));
            for (cs, code) in self.pod.status.container_statuses.iter_mut().zip(&codes) {
                cs.state = ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: *code,
                        reason: Some(if *code == 0 { "Completed" } else { "Error" }.into()),
                        started_at: Some(started),
                        finished_at: Some(time(t)),
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                cs.ready = false;
            }
            let ok = !codes.is_empty() && codes.iter().all(|c| *c == 0);
            self.pod.status.phase = Some(if ok { PHASE_SUCCEEDED } else { PHASE_FAILED }.into());
            let reason = if ok { "PodCompleted" } else { "PodFailed" };
            set_pod_condition(&mut self.pod, "Ready", "False", Some(reason), time(t));
            let extra = if by_stop {
                self.stop_conditions.clone()
            } else {
                self.rule.conditions.clone()
            };
            for c in extra {
                set_pod_condition(
                    &mut self.pod,
                    &c.type_,
                    &c.status,
                    c.reason.as_deref(),
                    time(t),
                );
            }
            changed = true;
        }
        changed
    }
}

fn set_pod_condition(pod: &mut Pod, type_: &str, status: &str, reason: Option<&str>, at: Time) {
    let c = PodCondition {
        type_: type_.into(),
        status: status.into(),
        last_transition_time: Some(at),
        reason: reason.map(String::from),
        ..Default::default()
    };
    match pod.status.conditions.iter_mut().find(|x| x.type_ == type_) {
        Some(x) if x.status == status => {}
        Some(x) => *x = c,
        None => pod.status.conditions.push(c),
    }
}

pub struct Sim<'a> {
    scenario: &'a Scenario,
    config: ControllerConfig,
    job: Job,
    backoff: BackoffRecord,
    pods: Vec<SimPod>,
    created: usize,
    now: i64,
    wake: Option<i64>,
    dirty: bool,
    syncs: usize,
    trace: Vec<String>,
}

/// Runs one scenario; `Err` holds a readable report of every mismatch and the run's trace.
pub fn run(scenario: &Scenario, source: &str) -> Result<usize, String> {
    let mut sim = Sim::new(scenario, source)?;
    let result = sim.run();
    result.map(|_| sim.syncs).map_err(|e| {
        format!(
            "{e}\n  trace:\n    {}",
            sim.trace
                .iter()
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join("\n    ")
        )
    })
}

fn base_job() -> Value {
    serde_json::json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "job", "namespace": "default"},
        "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "main.wasm"}]
        }}}
    })
}

/// Maps merge key by key; anything else is replaced (the scenario's `job` over the base).
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// RFC 7386 JSON merge patch (`null` removes).
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let t = target.as_object_mut().expect("object");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

impl<'a> Sim<'a> {
    fn new(scenario: &'a Scenario, source: &'a str) -> Result<Sim<'a>, String> {
        let mut manifest = base_job();
        if let Some(j) = &scenario.job {
            merge(&mut manifest, j);
        }
        let text = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
        let mut loaded = load_jobs(&text, source).map_err(|e| format!("invalid job: {e}"))?;
        let mut job = loaded.remove(0).job;
        defaults::assign_identity(&mut job, "job-uid", time(0));
        let d = ControllerConfig::default();
        let c = &scenario.config;
        let ms = |x: Dur| Duration::from_millis(x.0 as u64);
        let config = ControllerConfig {
            backoff_base: c.backoff_base.map_or(d.backoff_base, ms),
            backoff_max: c.backoff_max.map_or(d.backoff_max, ms),
            max_pods_per_sync: c.max_pods_per_sync.unwrap_or(d.max_pods_per_sync),
        };
        Ok(Sim {
            scenario,
            config,
            job,
            backoff: BackoffRecord::default(),
            pods: Vec::new(),
            created: 0,
            now: 0,
            wake: None,
            dirty: true,
            syncs: 0,
            trace: Vec::new(),
        })
    }

    fn at(&self) -> Dur {
        Dur(self.now)
    }

    fn log(&mut self, line: String) {
        let at = self.at();
        self.trace.push(format!("[{at}] {line}"));
    }

    fn run(&mut self) -> Result<(), String> {
        let mut steps: Vec<&Step> = self.scenario.steps.iter().collect();
        steps.sort_by_key(|s| s.at);
        let until = self.scenario.until.unwrap_or(DEFAULT_UNTIL).0;
        let mut errors = Vec::new();
        let mut next_step = 0;
        let mut instants = 0;
        loop {
            instants += 1;
            if instants > MAX_INSTANTS {
                return Err(format!(
                    "the run did not end after {MAX_INSTANTS} instants (set `until`)"
                ));
            }
            while next_step < steps.len() && steps[next_step].at.0 <= self.now {
                let step = steps[next_step];
                next_step += 1;
                self.apply_step(step)?;
                self.settle()?;
                if let Some(e) = &step.expect {
                    let mut diffs = self.check(e);
                    if !diffs.is_empty() {
                        diffs.insert(0, format!("step at {}: want vs got:", step.at));
                        errors.push(diffs.join("\n    "));
                    }
                }
            }
            self.settle()?;
            let mut next: Vec<i64> = Vec::new();
            if let Some(s) = steps.get(next_step) {
                next.push(s.at.0);
            }
            next.extend(self.wake.filter(|w| *w > self.now));
            next.extend(self.pods.iter().filter_map(|p| p.next_event(self.now)));
            match next.into_iter().min() {
                Some(t) if t <= until => self.now = t,
                _ => break,
            }
        }
        if let Some(e) = &self.scenario.expect {
            let mut diffs = self.check(e);
            if !diffs.is_empty() {
                diffs.insert(0, format!("at the end ({}): want vs got:", self.at()));
                errors.push(diffs.join("\n    "));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n  "))
        }
    }

    fn pod_by(&self, nth: Option<usize>, name: Option<&str>) -> Option<usize> {
        self.pods.iter().position(|p| match (nth, name) {
            (Some(n), _) => p.nth == Some(n),
            (None, Some(name)) => p.pod.metadata.name() == name,
            (None, None) => false,
        })
    }

    fn apply_step(&mut self, step: &Step) -> Result<(), String> {
        if let Some(patch) = &step.patch {
            let mut v = serde_json::to_value(&self.job).map_err(|e| e.to_string())?;
            merge_patch(&mut v, patch);
            let mut job: Job = serde_json::from_value(v).map_err(|e| format!("patch: {e}"))?;
            job.metadata.generation = Some(job.metadata.generation.unwrap_or(1) + 1);
            // As `wasmjob patch` does (runner/src/cli/patch.rs).
            let errors = update::validate_update(&self.job, &job);
            if !errors.is_empty() {
                let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                return Err(format!(
                    "step at {}: the patched Job is invalid: {}",
                    step.at,
                    list.join("; ")
                ));
            }
            self.job = job;
            self.dirty = true;
            self.log(format!("patch {patch}"));
        }
        if let Some(del) = &step.delete {
            let i = self
                .pod_by(del.pod, del.name.as_deref())
                .ok_or_else(|| format!("step at {}: delete: no such pod", step.at))?;
            let now = self.now;
            let grace = self.job.spec.template.spec.termination_grace_period_seconds;
            let p = &mut self.pods[i];
            if p.pod.metadata.deletion_timestamp.is_none() {
                p.pod.metadata.deletion_timestamp = Some(time(now));
                p.pod.metadata.deletion_grace_period_seconds = Some(grace.unwrap_or(30));
            }
            for c in &del.conditions {
                set_pod_condition(
                    &mut p.pod,
                    &c.type_,
                    &c.status,
                    c.reason.as_deref(),
                    time(now),
                );
            }
            let delay = del
                .termination_delay
                .or(p.rule.termination_delay)
                .unwrap_or(DEFAULT_TERMINATION_DELAY)
                .0;
            p.stop = Some((now, delay, del.exit_code.unwrap_or(STOPPED_EXIT_CODE)));
            p.stop_conditions = del.conditions.clone();
            let name = p.pod.metadata.name().to_string();
            self.dirty = true;
            self.log(format!("pod {name} deleted by someone else"));
        }
        if let Some(add) = &step.add_pod {
            let template = &self.job.spec.template;
            let mut pod = Pod {
                api_version: "v1".into(),
                kind: "Pod".into(),
                metadata: ObjectMeta {
                    name: Some(add.name.clone()),
                    namespace: Some(self.job.namespace().into()),
                    uid: Some(format!("uid-{}", add.name)),
                    creation_timestamp: Some(time(self.now)),
                    labels: template.metadata.labels.clone(),
                    annotations: add.annotations.clone(),
                    finalizers: vec![TRACKING_FINALIZER.into()],
                    ..Default::default()
                },
                spec: template.spec.clone(),
                status: PodStatus {
                    phase: Some(PHASE_PENDING.into()),
                    ..Default::default()
                },
            };
            pod.metadata.labels.extend(add.labels.clone());
            pod.status.container_statuses = container_statuses(&pod);
            self.pods.push(SimPod {
                pod,
                rule: add.behaviour.clone(),
                nth: None,
                created: self.now,
                restarts_done: 0,
                stop: None,
                stop_conditions: Vec::new(),
            });
            self.dirty = true;
            self.log(format!("pod {} added (adopted)", add.name));
        }
        Ok(())
    }

    /// Moves pods and reconciles until nothing changes at this instant.
    fn settle(&mut self) -> Result<(), String> {
        for _ in 0..MAX_SYNCS_PER_INSTANT {
            let now = self.now;
            let mut changed = Vec::new();
            for p in &mut self.pods {
                if p.advance(now) {
                    changed.push(format!(
                        "pod {} is {}{}",
                        p.pod.metadata.name(),
                        p.pod.phase(),
                        if p.pod.condition_true("Ready") {
                            " (ready)"
                        } else {
                            ""
                        }
                    ));
                }
            }
            if !changed.is_empty() {
                self.dirty = true;
                for c in changed {
                    self.log(c);
                }
            }
            if self.wake.is_some_and(|w| w <= now) {
                self.wake = None;
                self.dirty = true;
            }
            if !self.dirty {
                return Ok(());
            }
            self.dirty = false;
            self.sync()?;
        }
        Err(format!(
            "at {}: the Job does not settle after {MAX_SYNCS_PER_INSTANT} syncs",
            self.at()
        ))
    }

    fn sync(&mut self) -> Result<(), String> {
        let pods: Vec<Pod> = self.pods.iter().map(|p| p.pod.clone()).collect();
        let before = self.job.status().clone();
        let d = reconcile(
            &self.job,
            &pods,
            &self.backoff,
            &self.config,
            time(self.now),
        );
        // The manager reconciles only the pods in flight (not finished, or not counted yet):
        // leaving out the counted, finished ones must not change any decision.
        let in_flight: Vec<&Pod> = pods
            .iter()
            .filter(|p| {
                !p.is_terminal()
                    || p.metadata
                        .finalizers
                        .iter()
                        .any(|f| f == TRACKING_FINALIZER)
            })
            .collect();
        let lean = reconcile_pods(
            &self.job,
            &in_flight,
            &self.backoff,
            &self.config,
            time(self.now),
        );
        if lean != d {
            return Err(format!(
                "at {}: the decision over the pods in flight differs from the one over all pods\n    all:       {d:?}\n    in flight: {lean:?}",
                self.at()
            ));
        }
        self.syncs += 1;
        self.describe(&before, &d);
        self.apply(d)?;
        let after = self.job.status().clone();
        invariants(&self.job, &before, &after).map_err(|e| {
            format!(
                "at {}: invariant broken: {e}\n    before: {}\n    after:  {}",
                self.at(),
                status_line(&before),
                status_line(&after)
            )
        })
    }

    fn describe(&mut self, before: &JobStatus, d: &Decision) {
        let mut parts = Vec::new();
        if !d.create.is_empty() {
            let what: Vec<String> = d
                .create
                .iter()
                .map(|c| match c.index {
                    Some(i) => format!("index {i}"),
                    None => "pod".into(),
                })
                .collect();
            parts.push(format!("create [{}]", what.join(", ")));
        }
        if !d.stop.is_empty() {
            let what: Vec<String> = d
                .stop
                .iter()
                .map(|s| format!("{} ({:?})", s.name, s.reason))
                .collect();
            parts.push(format!("stop [{}]", what.join(", ")));
        }
        if !d.counted.is_empty() {
            parts.push(format!("count [{}]", d.counted.join(", ")));
        }
        if let Some(r) = d.requeue_after {
            parts.push(format!("requeue {:?}", r));
        }
        if &d.status != before || !parts.is_empty() {
            parts.push(status_line(&d.status));
            self.log(format!("sync: {}", parts.join("; ")));
        }
    }

    fn apply(&mut self, d: Decision) -> Result<(), String> {
        let now = self.now;
        let mut ids = Counted {
            uids: self.created,
            names: self.created * 1000,
        };
        let mut pods = ScriptedPods {
            pods: &mut self.pods,
            scenario: self.scenario,
            created: &mut self.created,
            now,
        };
        let applied = apply(
            &mut self.job,
            &mut self.backoff,
            &mut pods,
            d,
            &mut ids,
            time(now),
        );
        for (name, _) in &applied.stop {
            if let Some(p) = self.pods.iter_mut().find(|p| p.pod.metadata.name() == name)
                && p.stop.is_none()
            {
                let delay = p
                    .rule
                    .termination_delay
                    .unwrap_or(DEFAULT_TERMINATION_DELAY)
                    .0;
                let code = p.rule.stop_exit_code.unwrap_or(STOPPED_EXIT_CODE);
                p.stop = Some((now, delay, code));
            }
        }
        self.wake = applied.requeue_after.map(|r| now + r.as_millis() as i64);
        if applied.requeue_after == Some(Duration::ZERO) {
            self.dirty = true;
        }
        Ok(())
    }

    fn pod_name(&self, nth: usize) -> String {
        self.pod_by(Some(nth), None)
            .map(|i| self.pods[i].pod.metadata.name().to_string())
            .unwrap_or_else(|| format!("<no pod {nth}>"))
    }

    /// `{pod N}` → the name of the N-th pod created.
    fn expand(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("{pod ") {
            out.push_str(&rest[..at]);
            let tail = &rest[at + 5..];
            match tail
                .find('}')
                .and_then(|e| Some((e, tail[..e].parse::<usize>().ok()?)))
            {
                Some((end, n)) => {
                    out.push_str(&self.pod_name(n));
                    rest = &tail[end + 1..];
                }
                None => {
                    out.push_str("{pod ");
                    rest = tail;
                }
            }
        }
        out.push_str(rest);
        out
    }
}
