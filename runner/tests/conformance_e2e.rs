//! Conformance scenarios end to end (issue 3): a selection of the scenarios of
//! `tests/conformance/*.yaml` (parsed with `conformance/format.rs`, like `conformance.rs`) run
//! through the real `wasmjob run` binary with real wasm guests instead of the simulated pods.
//!
//! Each selected scenario's Job becomes a manifest whose containers all run the probe guest's
//! `plan /plan RULES` step: `RULES` is the scenario's pod rules (`pod`/`index`/`attempt`
//! selectors, `succeed`/`fail` times and exit codes; no match = run until stopped), `/plan` a
//! hostPath volume on a fresh directory where the guests number themselves (pod number and
//! attempt per index; see the probe's header). Scenario time is scaled down ([`MS_PER_SECOND`]
//! real milliseconds per scenario second), for the pods' timings and the back-off
//! (`--backoff-base`, `--backoff-max`) alike. Only the final expectations that do not depend on
//! exact timing are checked: the conditions (type, status, reason, message, in order), the
//! counters, `completedIndexes`/`failedIndexes` and the number of pods created. `{pod N}` in an
//! expected message is the pod whose guest numbered itself N (the guests number themselves in
//! the order they start, which is the creation order whenever it matters for these scenarios).

use crate::common;
#[allow(dead_code)]
#[path = "../../controller/tests/conformance/format.rs"]
mod format;

use common::{Env, PROBE_WASM};
use format::{Dur, Expect, ReadyAt, Rule, Scenario};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Real milliseconds per scenario second.
const MS_PER_SECOND: i64 = 25;
/// How many scenarios run at the same time.
const CONCURRENCY: usize = 4;
const TIME_BUDGET: Duration = Duration::from_secs(50);
const MIN_SCENARIOS: usize = 15;

/// The scenarios run end to end: (file, name, why it can be expressed with real guests).
///
/// Left out although expressible: "A succeededCount rule ends the Job once that many indexes
/// completed, leaving the other indexes unrun" (12-success-policy.yaml) expects 2 pods created
/// because both pods succeed at the same virtual instant and one sync sees both successes; real
/// guests end milliseconds apart, so the sync that sees the first success creates index 2's pod
/// (then stopped, uncounted, when the second success meets the policy): 3 pods.
const SELECTED: &[(&str, &str, &str)] = &[
    (
        "01-nonindexed.yaml",
        "A Job with completions 3 and parallelism 2 runs two pods, then a third, and completes",
        "identical pods that all succeed",
    ),
    (
        "01-nonindexed.yaml",
        "A Job with the defaults (one completion, parallelism one) runs one pod and completes when it succeeds",
        "one pod that succeeds",
    ),
    (
        "01-nonindexed.yaml",
        "Parallelism above completions starts only as many pods as completions",
        "identical pods; the pod count shows the clamp",
    ),
    (
        "01-nonindexed.yaml",
        "Completions 0 completes at once without creating a pod",
        "no pod at all",
    ),
    (
        "01-nonindexed.yaml",
        "A failed pod is replaced after the 10 s back-off and the Job completes with the failure counted",
        "pods run one after the other: attempt = creation order",
    ),
    (
        "02-work-queue.yaml",
        "A work queue starts parallelism pods, starts none after the first success, and completes when all have ended",
        "exit codes by pod; the outcome does not depend on which pod is which",
    ),
    (
        "02-work-queue.yaml",
        "A work queue whose remaining pods fail after the first success still trips the back-off limit",
        "exit codes by pod, timings far apart",
    ),
    (
        "02-work-queue.yaml",
        "A work queue tolerates a failure after the first success within the back-off limit and completes",
        "exit codes by pod, timings far apart",
    ),
    (
        "03-backoff-limit.yaml",
        "With backoffLimit 0 the first failed pod fails the Job",
        "one failing pod",
    ),
    (
        "03-backoff-limit.yaml",
        "With backoffLimit 2 the third failure fails the Job, after back-off delays of 10 s and 20 s",
        "every pod fails; pods are sequential",
    ),
    (
        "03-backoff-limit.yaml",
        "Failures seen in one sync all count toward the back-off limit",
        "every pod fails; the final counts do not depend on how the failures are batched",
    ),
    (
        "04-backoff-delay.yaml",
        "The back-off base and cap come from the controller configuration",
        "config back-off maps to --backoff-base/--backoff-max",
    ),
    (
        "04-backoff-delay.yaml",
        "Failures ignored by the pod failure policy are not counted but still delay re-creation",
        "exit code 42 by pod number, Ignore rule",
    ),
    (
        "05-deadline.yaml",
        "activeDeadlineSeconds 0 fails the Job at its first sync",
        "the only deadline that needs no scaling",
    ),
    (
        "06-on-failure.yaml",
        "With restartPolicy Never the same number of failures as backoffLimit does not fail the Job (the > rule)",
        "sequential pods failing by creation order",
    ),
    (
        "09-indexed.yaml",
        "An Indexed Job creates the lowest pending indexes first, and each pod carries its index",
        "behaviour by JOB_COMPLETION_INDEX",
    ),
    (
        "09-indexed.yaml",
        "A failed pod of an index is replaced by a pod with the same index after the back-off",
        "behaviour by index and attempt",
    ),
    (
        "09-indexed.yaml",
        "completedIndexes is written as sorted intervals, runs of three or more as first-last",
        "behaviour by index",
    ),
    (
        "09-indexed.yaml",
        "An Indexed Job without backoffLimitPerIndex fails on the global back-off limit",
        "behaviour by index",
    ),
    (
        "10-backoff-limit-per-index.yaml",
        "An index that exhausts backoffLimitPerIndex fails alone, and the Job ends with FailedIndexes once every index is done",
        "behaviour by index",
    ),
    (
        "10-backoff-limit-per-index.yaml",
        "The per-index back-off of one index does not hold back another index",
        "behaviour by index and attempt",
    ),
    (
        "10-backoff-limit-per-index.yaml",
        "Per-index delays double with the failure count carried on the pods' annotations",
        "one index failing every attempt",
    ),
    (
        "10-backoff-limit-per-index.yaml",
        "failedIndexes is an empty string, not absent, while nothing failed",
        "every pod succeeds",
    ),
    (
        "10-backoff-limit-per-index.yaml",
        "A FailIndex rule fails the pod's index at once, without retries",
        "exit code 42 by index",
    ),
    (
        "10-backoff-limit-per-index.yaml",
        "A failure ignored by the pod failure policy raises the ignored-failure count, not the failure count",
        "exit code by attempt",
    ),
    (
        "11-pod-failure-policy.yaml",
        "A FailJob rule fails the Job with the exact upstream message, and running pods are stopped and counted",
        "exit code 42 by pod number; the message names the pod that exited 42",
    ),
    (
        "11-pod-failure-policy.yaml",
        "A Count rule counts the failure as usual",
        "one pod, exit code 3",
    ),
    (
        "11-pod-failure-policy.yaml",
        "A failure no rule matches is counted as usual",
        "exit codes by attempt",
    ),
    (
        "11-pod-failure-policy.yaml",
        "The first matching rule wins - an Ignore rule before a FailJob rule on the same code ignores the failure",
        "sequential pods, exit codes by creation order",
    ),
    (
        "11-pod-failure-policy.yaml",
        "A FailJob match wins over an exceeded back-off limit in the same sync",
        "one pod, exit code 42",
    ),
    (
        "12-success-policy.yaml",
        "A rule with succeededIndexes and succeededCount counts completed indexes within the list",
        "succeed times by index",
    ),
    (
        "14-combinations.yaml",
        "Exactly maxFailedIndexes failed indexes do not fail the Job at once; it ends with FailedIndexes",
        "behaviour by index",
    ),
];

fn load(file: &str, name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/conformance")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    format::parse(&text)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{file}: no scenario named {name:?}"))
}

/// Scenario time → real milliseconds.
fn scaled(d: Dur) -> i64 {
    d.0 * MS_PER_SECOND / 1000
}

fn values<T: ToString>(xs: &[T]) -> String {
    xs.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join("|")
}

/// The probe's `plan` RULES for the scenario's pod rules.
fn plan_rules(rules: &[Rule]) -> Result<String, String> {
    let mut out = Vec::new();
    for r in rules {
        if r.exit_codes.is_some()
            || !r.restarts.is_empty()
            || !r.conditions.is_empty()
            || r.termination_delay.is_some()
            || r.stop_exit_code.is_some()
            || r.ready == Some(ReadyAt::Never)
        {
            return Err(format!("pod rule {r:?} cannot be played by a guest"));
        }
        let mut sels = Vec::new();
        if let Some(p) = &r.pod {
            sels.push(format!("pod={}", values(&p.0)));
        }
        if let Some(i) = &r.index {
            sels.push(format!("index={}", values(&i.0)));
        }
        if let Some(a) = &r.attempt {
            sels.push(format!("attempt={}", values(&a.0)));
        }
        let start = r.start.map_or(0, |d| d.0);
        let action = match (r.succeed, r.fail) {
            (Some(t), _) => format!("succeed@{}", scaled(Dur(t.0.max(start)))),
            (None, Some(t)) => format!(
                "fail={}@{}",
                r.exit_code.unwrap_or(1),
                scaled(Dur(t.0.max(start)))
            ),
            (None, None) => "run".to_string(),
        };
        let sels = if sels.is_empty() {
            "*".to_string()
        } else {
            sels.join(",")
        };
        out.push(format!("{sels}:{action}"));
    }
    Ok(out.join(";"))
}

/// Maps merge key by key; anything else is replaced (as `conformance/sim.rs` does).
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

/// The scenario's Job with every container playing the pod rules.
fn manifest(s: &Scenario, plan_dir: &Path) -> Result<String, String> {
    if s.steps.iter().any(|st| st.expect.is_none()) {
        return Err("the scenario changes things mid-run".into());
    }
    if s.until.is_some() {
        return Err("the scenario is checked before the end".into());
    }
    let mut job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "job", "namespace": "default"},
        "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "main.wasm"}]
        }}}
    });
    if let Some(j) = &s.job {
        merge(&mut job, j);
    }
    let rules = plan_rules(&s.pods)?;
    let spec = &mut job["spec"]["template"]["spec"];
    for c in spec["containers"].as_array_mut().ok_or("no containers")? {
        c["image"] = json!(PROBE_WASM);
        c["args"] = json!(["plan", "/plan", rules]);
        c["volumeMounts"] = json!([{"name": "plan", "mountPath": "/plan"}]);
    }
    spec["volumes"] = json!([{"name": "plan", "hostPath": {"path": plan_dir}}]);
    serde_json::to_string_pretty(&job).map_err(|e| e.to_string())
}

/// Runs one scenario end to end; the differences from its expectations.
fn run_scenario(file: &str, s: &Scenario) -> Result<Vec<String>, String> {
    let env = Env::new();
    let plan_dir = env.path().join("plan");
    std::fs::create_dir(&plan_dir).map_err(|e| e.to_string())?;
    let yaml = manifest(s, &plan_dir)?;
    let path = env.manifest("job.yaml", &yaml);
    let backoff = |d: Option<Dur>, default: i64| format!("{}ms", scaled(d.unwrap_or(Dur(default))));
    let r = env.wasmjob(&[
        "run",
        path.to_str().unwrap(),
        "-o",
        "json",
        "--backoff-base",
        &backoff(s.config.backoff_base, 10_000),
        "--backoff-max",
        &backoff(s.config.backoff_max, 600_000),
    ]);
    if r.stdout.trim().is_empty() {
        return Err(format!(
            "{file}: wasmjob run printed nothing (exit {}):\n{}",
            r.code, r.stderr
        ));
    }
    let job = r.json();
    let pods = env.pods("batch.kubernetes.io/job-name=job");
    let mut numbered = BTreeMap::new();
    for p in &pods {
        let name = p["metadata"]["name"].as_str().unwrap_or("").to_string();
        let log = env.wasmjob(&["logs", &name]).stdout;
        if let Some(n) = log.lines().find_map(|l| {
            l.strip_prefix("plan: pod ")?
                .split(' ')
                .next()?
                .parse::<usize>()
                .ok()
        }) {
            numbered.insert(n, name);
        }
    }
    let e = s.expect.clone().unwrap_or_default();
    Ok(compare(&e, &job, pods.len(), &numbered))
}

fn compare(
    e: &Expect,
    job: &Value,
    pods_created: usize,
    numbered: &BTreeMap<usize, String>,
) -> Vec<String> {
    let st = &job["status"];
    let mut diffs = Vec::new();
    let mut cmp = |field: &str, want: String, got: String| {
        if want != got {
            diffs.push(format!("{field}: want {want}, got {got}"));
        }
    };
    let int = |v: &Value| v.as_i64().unwrap_or(0).to_string();
    for (field, want) in [
        ("active", e.active),
        ("succeeded", e.succeeded),
        ("failed", e.failed),
        ("ready", e.ready),
        ("terminating", e.terminating),
    ] {
        if let Some(w) = want {
            cmp(field, w.to_string(), int(&st[field]));
        }
    }
    if let Some(w) = &e.completed_indexes {
        cmp(
            "completedIndexes",
            format!("{w:?}"),
            format!("{:?}", st["completedIndexes"].as_str().unwrap_or("")),
        );
    }
    if let Some(w) = &e.failed_indexes {
        cmp(
            "failedIndexes",
            format!("{w:?}"),
            format!("{:?}", st["failedIndexes"].as_str()),
        );
    }
    if let Some(w) = e.pods_created {
        cmp("podsCreated", w.to_string(), pods_created.to_string());
    }
    if let Some(conds) = &e.conditions {
        let want: Vec<String> = conds
            .iter()
            .map(|c| {
                let message = c.message.as_deref().map(|m| expand(m, numbered));
                format!("{}={} {} {:?}", c.type_, c.status, c.reason, message)
            })
            .collect();
        let got: Vec<String> = st["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .zip(
                conds
                    .iter()
                    .map(|c| c.message.is_some())
                    .chain(std::iter::repeat(true)),
            )
            .map(|(c, with_message)| {
                let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
                let message = with_message.then(|| s("message"));
                format!(
                    "{}={} {} {:?}",
                    s("type"),
                    s("status"),
                    s("reason"),
                    message
                )
            })
            .collect();
        cmp("conditions", format!("{want:#?}"), format!("{got:#?}"));
    }
    diffs
}

/// `{pod N}` → the name of the pod whose guest numbered itself N.
fn expand(text: &str, numbered: &BTreeMap<usize, String>) -> String {
    let mut out = text.to_string();
    for (n, name) in numbered {
        out = out.replace(&format!("{{pod {n}}}"), name);
    }
    out
}

#[test]
fn conformance_scenarios_end_to_end() {
    let started = Instant::now();
    let scenarios: Vec<(&str, &str, Scenario)> = SELECTED
        .iter()
        .map(|(file, name, _)| (*file, *name, load(file, name)))
        .collect();
    assert!(
        scenarios.len() >= MIN_SCENARIOS,
        "only {} scenarios, want at least {MIN_SCENARIOS}",
        scenarios.len()
    );
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..CONCURRENCY {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some((file, name, s)) = scenarios.get(i) else {
                        break;
                    };
                    let t = Instant::now();
                    let outcome = run_scenario(file, s);
                    results.lock().unwrap().push((
                        i,
                        format!("{file}: {name}"),
                        outcome,
                        t.elapsed(),
                    ));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.0);
    let mut failures = Vec::new();
    for (_, what, outcome, took) in &results {
        let _ = writeln!(std::io::stderr(), "  {:.2} s  {what}", took.as_secs_f64());
        match outcome {
            Ok(diffs) if diffs.is_empty() => {}
            Ok(diffs) => failures.push(format!("{what}:\n  {}", diffs.join("\n  "))),
            Err(e) => failures.push(format!("{what}: {e}")),
        }
    }
    let elapsed = started.elapsed();
    let _ = writeln!(
        std::io::stderr(),
        "conformance e2e: {} scenarios in {:.3} s",
        results.len(),
        elapsed.as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} scenarios disagree:\n\n{}",
        failures.len(),
        results.len(),
        failures.join("\n\n")
    );
    assert!(
        elapsed < TIME_BUDGET,
        "took {elapsed:?}, over {TIME_BUDGET:?}"
    );
}
