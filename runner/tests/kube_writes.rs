//! Writing through the Kubernetes API of `serve --listen` with the real `kubectl` (issue 8's
//! acceptance): the pi example applied, watched, read and deleted as on a cluster; invalid
//! manifests refused with their field errors; every patch type, immutability, Conflict and
//! AlreadyExists; namespaces created; `logs -f`; watch bookmarks; and the same final status
//! through `wasmjob run` and `kubectl apply`. Skipped outside CI when kubectl is missing.

use crate::common;
use crate::kube;
use common::*;
use kube::*;
use serde_json::Value;
use std::time::Duration;

/// The pi example's manifest with its image pointing at the built guest.
fn pi_manifest(env: &Env) -> std::path::PathBuf {
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/pi/job.yaml"
    ))
    .unwrap();
    let yaml = yaml.replace("../../target/wasm32-wasip1/release/pi.wasm", PI_WASM);
    env.manifest("pi.yaml", &yaml)
}

fn ok(r: &Run) -> &str {
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    r.stdout.trim_end()
}

#[test]
fn kubectl_runs_the_pi_example_as_on_a_cluster() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kc) = serve_with_api(&env);
    let file = pi_manifest(&env);
    let file = file.to_str().unwrap();

    assert_eq!(
        ok(&kube(&env, &kc, &["apply", "-f", file])),
        "job.batch/pi created"
    );
    let jobs = kube(&env, &kc, &["get", "jobs"]);
    let got = rows(ok(&jobs));
    assert_eq!(got[0], ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]);
    assert_eq!(got[1][0], "pi");
    assert_eq!(
        ok(&kube(
            &env,
            &kc,
            &[
                "wait",
                "--for=condition=complete",
                "job/pi",
                "--timeout=60s"
            ]
        )),
        "job.batch/pi condition met"
    );
    let got = rows(ok(&kube(&env, &kc, &["get", "jobs"])));
    assert_eq!(got.len(), 2);
    assert_eq!(got[1][..3], ["pi", "Complete", "1/1"]);
    let pods = kube(
        &env,
        &kc,
        &["get", "pods", "-l", "batch.kubernetes.io/job-name=pi"],
    );
    let got = rows(ok(&pods));
    assert_eq!(got[0], ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    assert_eq!(got.len(), 2, "{}", pods.stdout);
    assert!(got[1][0].starts_with("pi-") && got[1][0].len() == 8);
    assert_eq!(got[1][1..4], ["0/1", "Completed", "0"]);

    let describe = kube(&env, &kc, &["describe", "job", "pi"]);
    let text = ok(&describe);
    for line in [
        "Name:             pi",
        "Namespace:        default",
        "Completion Mode:  NonIndexed",
        "Backoff Limit:    4",
        "Pods Statuses:    0 Active (0 Ready) / 1 Succeeded / 0 Failed",
        "Annotations:      <none>",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    let pod = &got[1][0];
    assert!(
        text.contains(&format!(
            "Normal  SuccessfulCreate  0s    job-controller  Created pod: {pod}"
        )) || text.contains(&format!("job-controller  Created pod: {pod}")),
        "{text}"
    );
    assert!(text.contains("job-controller  Job completed"), "{text}");

    let logs = kube(&env, &kc, &["logs", "job/pi"]);
    let digits = ok(&logs);
    assert!(digits.starts_with("3.14159265358979323846"), "{digits}");
    assert_eq!(digits.len(), 2001, "π to 2000 digits");
    assert_eq!(
        logs.stdout,
        env.logs("job/pi"),
        "the same bytes as wasmjob logs"
    );

    // Applied again unchanged; patched; the patch shows in the stored Job.
    assert_eq!(
        ok(&kube(&env, &kc, &["apply", "-f", file])),
        "job.batch/pi unchanged"
    );
    let patch = kube(
        &env,
        &kc,
        &["patch", "job", "pi", "-p", r#"{"spec":{"suspend":true}}"#],
    );
    assert_eq!(ok(&patch), "job.batch/pi patched");
    let job = env.job("pi").unwrap();
    assert_eq!(job["spec"]["suspend"], true);
    assert_eq!(job["metadata"]["generation"], 2);
    assert!(has_condition(&job, "Complete", "CompletionsReached"));

    assert_eq!(
        ok(&kube(&env, &kc, &["delete", "job", "pi"])),
        r#"job.batch "pi" deleted"#
    );
    assert!(env.job("pi").is_none());
    let none = kube(&env, &kc, &["get", "jobs"]);
    assert_eq!(ok(&none), "");
    assert_eq!(
        none.stderr.trim(),
        "No resources found in default namespace."
    );
}

const BAD: &str = "apiVersion: batch/v1
kind: Job
metadata:
  name: bad
spec:
  parallelism: -1
  template:
    spec:
      restartPolicy: Always
      containers:
      - name: c
        image: PROBE
";

#[test]
fn kubectl_apply_of_an_invalid_manifest_shows_the_field_errors() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kc) = serve_with_api(&env);
    let bad = env.manifest("bad.yaml", BAD);
    let r = kube(&env, &kc, &["apply", "-f", bad.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(
        r.stderr.trim(),
        "The Job \"bad\" is invalid: \n\
         * spec.parallelism: Invalid value: -1: must be greater than or equal to 0\n\
         * spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""
    );
    // An unknown field, as the API server's strict decoding words it.
    let unknown = env.manifest(
        "unknown.yaml",
        &BAD.replace("parallelism: -1", "parallelism: 1\n  bogus: 3")
            .replace("Always", "Never"),
    );
    let r = kube(&env, &kc, &["create", "-f", unknown.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.trim().ends_with(
            r#"Job in version "v1" cannot be handled as a Job: strict decoding error: unknown field "spec.bogus""#
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("Error from server (BadRequest)"),
        "{}",
        r.stderr
    );
    // A module that is not there: the image field, and where relative images resolve.
    let missing = env.manifest(
        "missing.yaml",
        &BAD.replace("parallelism: -1", "parallelism: 1")
            .replace("Always", "Never")
            .replace("PROBE", "nowhere/task.wasm"),
    );
    let r = kube(&env, &kc, &["apply", "-f", missing.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let err = r.stderr.trim();
    assert!(
        err.starts_with(
            r#"The Job "bad" is invalid: spec.template.spec.containers[0].image: Invalid value: "nowhere/task.wasm": "#
        ),
        "{err}"
    );
    assert!(err.contains("--image-dir"), "{err}");
    // kubectl's generators send protobuf, which is refused with what to do instead.
    let r = kube(
        &env,
        &kc,
        &["create", "job", "gen", &format!("--image={PROBE_WASM}")],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("UnsupportedMediaType") || r.stderr.contains("unknown format"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("use `kubectl create -f`"), "{}", r.stderr);
    assert!(env.job("gen").is_none());
    // Nothing was stored.
    assert!(env.job("bad").is_none());
    assert_eq!(
        ok(&env.wasmjob(&["get", "jobs", "-o", "name"])),
        "",
        "no Job"
    );
}

const HELD: &str = "apiVersion: batch/v1
kind: Job
metadata:
  name: held
spec:
  suspend: true
  completions: 4
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: PROBE
        args: [print, hi]
";

/// The Job as the store has it.
fn stored(env: &Env, name: &str) -> Value {
    env.job(name)
        .unwrap_or_else(|| panic!("job {name} is stored"))
}

#[test]
fn patches_replace_and_their_refusals_work_as_on_a_cluster() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kc) = serve_with_api(&env);
    let file = env.manifest("held.yaml", HELD);
    let file = file.to_str().unwrap();
    // A server dry run checks and stores nothing.
    assert_eq!(
        ok(&kube(
            &env,
            &kc,
            &["create", "--dry-run=server", "-f", file]
        )),
        "job.batch/held created (server dry run)"
    );
    assert!(env.job("held").is_none());
    assert_eq!(
        ok(&kube(&env, &kc, &["create", "-f", file])),
        "job.batch/held created"
    );
    assert_eq!(
        ok(&kube(
            &env,
            &kc,
            &["delete", "job", "held", "--dry-run=server"]
        )),
        r#"job.batch "held" deleted (server dry run)"#
    );
    // A real deletion would be done by now: the controller removes a suspended Job at once.
    std::thread::sleep(Duration::from_millis(500));
    assert!(env.job("held").is_some(), "a dry run deletes nothing");
    let again = kube(&env, &kc, &["create", "-f", file]);
    assert_eq!(again.code, 1);
    assert_eq!(
        again.stderr.trim(),
        format!(
            r#"Error from server (AlreadyExists): error when creating "{file}": jobs.batch "held" already exists"#
        )
    );

    // Each patch type kubectl sends.
    let patch = |kind: &str, body: &str| {
        kube(
            &env,
            &kc,
            &["patch", "job", "held", "--type", kind, "-p", body],
        )
    };
    assert_eq!(
        ok(&patch(
            "strategic",
            r#"{"metadata":{"labels":{"team":"blue"}}}"#
        )),
        "job.batch/held patched"
    );
    assert_eq!(
        ok(&patch("merge", r#"{"spec":{"parallelism":3}}"#)),
        "job.batch/held patched"
    );
    assert_eq!(
        ok(&patch(
            "json",
            r#"[{"op":"replace","path":"/spec/backoffLimit","value":2}]"#
        )),
        "job.batch/held patched"
    );
    assert_eq!(
        ok(&patch("merge", r#"{"spec":{"parallelism":3}}"#)),
        "job.batch/held patched (no change)"
    );
    let job = stored(&env, "held");
    assert_eq!(job["metadata"]["labels"]["team"], "blue");
    assert_eq!(job["spec"]["parallelism"], 3);
    assert_eq!(job["spec"]["backoffLimit"], 2);
    assert_eq!(job["spec"]["suspend"], true, "still suspended: no pod");
    assert!(env.pods("batch.kubernetes.io/job-name=held").is_empty());

    // Immutable fields, with the API server's words; nothing changes.
    let r = patch("merge", r#"{"spec":{"completions":5}}"#);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        r#"The Job "held" is invalid: spec.completions: Invalid value: 5: field is immutable"#
    );
    let r = patch(
        "strategic",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"c","args":["print","bye"]}]}}}}"#,
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        r#"The Job "held" is invalid: spec.template: Invalid value: "<changed>": field is immutable"#
    );
    let r = patch("merge", r#"{"spec":{"bogus":1}}"#);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.trim().ends_with(
            r#"Job in version "v1" cannot be handled as a Job: strict decoding error: unknown field "spec.bogus""#
        ),
        "{}",
        r.stderr
    );
    let r = patch(
        "json",
        r#"[{"op":"test","path":"/spec/parallelism","value":9}]"#,
    );
    assert_eq!(r.code, 1, "a failed JSON patch test");
    assert_eq!(stored(&env, "held")["spec"], job["spec"]);

    // A replace carrying an old resourceVersion is a Conflict; with the current one it works.
    let mut old = job.clone();
    old["metadata"]["resourceVersion"] = Value::String("1".into());
    old["spec"]["parallelism"] = 1.into();
    let old_file = env.manifest("old.json", &old.to_string());
    let r = kube(&env, &kc, &["replace", "-f", old_file.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.trim().ends_with(
            r#"Operation cannot be fulfilled on jobs.batch "held": the object has been modified; please apply your changes to the latest version and try again"#
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("Error from server (Conflict)"),
        "{}",
        r.stderr
    );
    let mut current = stored(&env, "held");
    current["spec"]["parallelism"] = 1.into();
    let current_file = env.manifest("current.json", &current.to_string());
    assert_eq!(
        ok(&kube(
            &env,
            &kc,
            &["replace", "-f", current_file.to_str().unwrap()]
        )),
        "job.batch/held replaced"
    );
    assert_eq!(stored(&env, "held")["spec"]["parallelism"], 1);

    // Server-side apply is refused with what to do instead.
    let r = kube(&env, &kc, &["apply", "--server-side", "-f", file]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--server-side=false"), "{}", r.stderr);

    // kubectl apply of a changed manifest resumes the Job, which then runs to its end.
    let resumed = env.manifest(
        "held.yaml",
        &HELD.replace("suspend: true", "suspend: false"),
    );
    let r = kube(&env, &kc, &["apply", "-f", resumed.to_str().unwrap()]);
    assert!(
        r.stderr
            .contains("kubectl.kubernetes.io/last-applied-configuration"),
        "created with `create`: kubectl warns of the missing annotation\n{}",
        r.stderr
    );
    assert_eq!(ok(&r), "job.batch/held configured");
    ok(&kube(
        &env,
        &kc,
        &[
            "wait",
            "--for=condition=complete",
            "job/held",
            "--timeout=60s",
        ],
    ));
    let job = stored(&env, "held");
    assert_eq!(job["status"]["succeeded"], 4);
    assert_eq!(
        job["metadata"]["labels"]["team"], "blue",
        "apply keeps what it did not set"
    );
}

#[test]
fn namespaces_are_created_and_jobs_live_in_them() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kc) = serve_with_api(&env);
    assert_eq!(
        ok(&kube(&env, &kc, &["create", "namespace", "team-a"])),
        "namespace/team-a created"
    );
    let r = kube(&env, &kc, &["create", "namespace", "team-a"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        r#"Error from server (AlreadyExists): namespaces "team-a" already exists"#
    );
    let r = kube(&env, &kc, &["create", "namespace", "Team_A"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.starts_with(
            r#"The Namespace "Team_A" is invalid: metadata.name: Invalid value: "Team_A": a lowercase RFC 1123 label"#
        ),
        "{}",
        r.stderr
    );
    assert_eq!(
        ok(&kube(
            &env,
            &kc,
            &["create", "namespace", "team-b", "--dry-run=server"]
        )),
        "namespace/team-b created (server dry run)"
    );
    let got = rows(ok(&kube(&env, &kc, &["get", "namespaces"])));
    let names: Vec<&str> = got[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["default", "team-a"]);

    let file = env.manifest(
        "held.yaml",
        &HELD.replace("suspend: true", "suspend: false"),
    );
    assert_eq!(
        ok(&kube(
            &env,
            &kc,
            &["-n", "team-a", "apply", "-f", file.to_str().unwrap()]
        )),
        "job.batch/held created"
    );
    ok(&kube(
        &env,
        &kc,
        &[
            "-n",
            "team-a",
            "wait",
            "--for=condition=complete",
            "job/held",
            "--timeout=60s",
        ],
    ));
    let got = rows(ok(&kube(&env, &kc, &["get", "jobs", "-A"])));
    assert_eq!(got[1][..4], ["team-a", "held", "Complete", "4/4"]);
    let none = kube(&env, &kc, &["get", "jobs"]);
    assert_eq!(
        none.stderr.trim(),
        "No resources found in default namespace."
    );
}

#[test]
fn logs_follow_a_running_pod_to_its_end_and_watches_get_bookmarks() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kc) = serve_with_api(&env);
    let file = env.manifest(
        "slow.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: slow}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [print, one, sleep, '4000', print, two]}\n",
    );
    ok(&kube(&env, &kc, &["apply", "-f", file.to_str().unwrap()]));
    wait_for("the slow pod to run", Duration::from_secs(30), || {
        env.pods("batch.kubernetes.io/job-name=slow")
            .iter()
            .any(|p| p["status"]["phase"] == "Running")
    });
    let follow = kube(&env, &kc, &["logs", "-f", "job/slow"]);
    assert_eq!(
        ok(&follow),
        "one\ntwo",
        "both lines, then the end of the run"
    );
    assert!(
        follow.elapsed >= Duration::from_millis(500),
        "it waited for the second line ({:?})",
        follow.elapsed
    );

    let watch = kube(
        &env,
        &kc,
        &[
            "get",
            "--raw",
            "/apis/batch/v1/namespaces/default/jobs?watch=true&allowWatchBookmarks=true&timeoutSeconds=1",
        ],
    );
    let events: Vec<Value> = ok(&watch)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "slow");
    let bookmark = &events[1];
    assert_eq!(bookmark["type"], "BOOKMARK");
    assert_eq!(bookmark["object"]["kind"], "Job");
    let version: i64 = bookmark["object"]["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let listed: Value = serde_json::from_str(ok(&kube(
        &env,
        &kc,
        &["get", "--raw", "/apis/batch/v1/jobs"],
    )))
    .unwrap();
    let list_version: i64 = listed["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        version > 0 && version <= list_version,
        "{version} {list_version}"
    );
    // A watch resumed from that list's resourceVersion reports a deletion made in between,
    // so kubectl delete (which lists, then watches) never waits on a Job already gone.
    let r = env.wasmjob(&["delete", "job", "slow"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(env.job("slow").is_none());
    let resumed = kube(
        &env,
        &kc,
        &[
            "get",
            "--raw",
            &format!(
                "/apis/batch/v1/namespaces/default/jobs?watch=true&resourceVersion={list_version}&timeoutSeconds=1"
            ),
        ],
    );
    let events: Vec<Value> = ok(&resumed)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "DELETED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "slow");
    let deleted_at: i64 = events[0]["object"]["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(deleted_at > list_version);
}

/// A Job's final status with times and pod names taken out, for comparison.
fn final_status(job: &Value) -> Value {
    let name = job["metadata"]["name"].as_str().unwrap();
    let mut status = job["status"].clone();
    let obj = status.as_object_mut().unwrap();
    obj.remove("startTime");
    obj.remove("completionTime");
    if let Some(Value::Array(conditions)) = obj.get_mut("conditions") {
        for c in conditions {
            let c = c.as_object_mut().unwrap();
            c.remove("lastProbeTime");
            c.remove("lastTransitionTime");
            if let Some(Value::String(m)) = c.get_mut("message") {
                *m = without_pod_names(m, name);
            }
        }
    }
    status
}

/// `text` with each `NAME-xxxxx` pod name replaced by `NAME-*`.
fn without_pod_names(text: &str, name: &str) -> String {
    let prefix = format!("{name}-");
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(&prefix) {
        out.push_str(&rest[..at + prefix.len()]);
        rest = &rest[at + prefix.len()..];
        let suffix: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if suffix.len() == 5 {
            out.push('*');
            rest = &rest[5..];
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn run_and_kubectl_apply_give_the_same_final_status() {
    let Some(_) = kubectl() else { return };
    let manifests = [
        ("pi", None),
        (
            "fails",
            Some(
                "apiVersion: batch/v1\nkind: Job\nmetadata: {name: fails}\nspec:\n  backoffLimit: 1\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [exit, '3']}\n",
            ),
        ),
        (
            "indexed",
            Some(
                "apiVersion: batch/v1\nkind: Job\nmetadata: {name: indexed}\nspec:\n  completions: 3\n  parallelism: 2\n  completionMode: Indexed\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [print, hi]}\n",
            ),
        ),
        (
            "policy",
            Some(
                "apiVersion: batch/v1\nkind: Job\nmetadata: {name: policy}\nspec:\n  backoffLimit: 6\n  podFailurePolicy:\n    rules:\n    - action: FailJob\n      onExitCodes: {containerName: c, operator: In, values: [5]}\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [exit, '5']}\n",
            ),
        ),
    ];
    let run_env = Env::new();
    let api_env = Env::new();
    let (_serve, kc) = serve_with_api(&api_env);
    for (name, yaml) in manifests {
        let (run_file, api_file) = match yaml {
            None => (pi_manifest(&run_env), pi_manifest(&api_env)),
            Some(y) => (
                run_env.manifest(&format!("{name}.yaml"), y),
                api_env.manifest(&format!("{name}.yaml"), y),
            ),
        };
        let run = run_env.run_file(&run_file, &[], Duration::from_secs(60));
        assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
        let by_run = run_env.job(name).unwrap();
        ok(&kube(
            &api_env,
            &kc,
            &["apply", "-f", api_file.to_str().unwrap()],
        ));
        wait_for(
            &format!("job {name} to end"),
            Duration::from_secs(60),
            || {
                api_env.job(name).is_some_and(|j| {
                    conditions(&j)
                        .iter()
                        .any(|(t, _)| t == "Complete" || t == "Failed")
                })
            },
        );
        let by_api = api_env.job(name).unwrap();
        assert_eq!(
            final_status(&by_run),
            final_status(&by_api),
            "job {name}: run\n{by_run:#}\napi\n{by_api:#}"
        );
        assert!(
            by_run["status"]["conditions"]
                .as_array()
                .is_some_and(|c| !c.is_empty()),
            "{name} finished"
        );
    }
}

#[test]
fn pod_names_are_taken_out_of_messages() {
    assert_eq!(
        without_pod_names("Container c for pod default/policy-ab12c failed", "policy"),
        "Container c for pod default/policy-* failed"
    );
    assert_eq!(without_pod_names("policy-abc", "policy"), "policy-abc");
}

/// Issue 16: `kubectl diff` (a server-side dry run of apply's patch) and `kubectl patch
/// --dry-run=server` show what the write would store — the new generation included — as
/// against a cluster, and store nothing.
#[test]
fn kubectl_diff_shows_the_generation_change_a_spec_change_makes() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kc) = serve_with_api(&env);
    let file = env.manifest("held.yaml", HELD);
    ok(&kube(&env, &kc, &["apply", "-f", file.to_str().unwrap()]));
    let changed = env.manifest(
        "held-changed.yaml",
        &HELD.replace("parallelism: 2", "parallelism: 3"),
    );
    let r = kube(&env, &kc, &["diff", "-f", changed.to_str().unwrap()]);
    assert_eq!(
        r.code, 1,
        "kubectl diff exits 1 when there are differences: {}",
        r.stderr
    );
    let lines: Vec<&str> = r.stdout.lines().map(str::trim).collect();
    for wanted in [
        "-  generation: 1",
        "+  generation: 2",
        "-  parallelism: 2",
        "+  parallelism: 3",
    ] {
        assert!(
            lines.contains(&wanted.trim()) || r.stdout.contains(wanted),
            "{wanted}:\n{}",
            r.stdout
        );
    }
    // The same file: no differences, exit 0.
    let r = kube(&env, &kc, &["diff", "-f", file.to_str().unwrap()]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stderr);
    let patch = |dry_run: &str| {
        let mut args = vec![
            "patch",
            "job",
            "held",
            "-p",
            r#"{"spec":{"parallelism":4}}"#,
            "-o",
            "jsonpath={.metadata.generation} {.spec.parallelism}",
        ];
        args.extend((!dry_run.is_empty()).then_some(dry_run));
        ok(&kube(&env, &kc, &args)).to_string()
    };
    assert_eq!(patch("--dry-run=server"), "2 4");
    let job = stored(&env, "held");
    assert_eq!(job["metadata"]["generation"], 1, "nothing was stored");
    assert_eq!(job["spec"]["parallelism"], 2);
    assert_eq!(
        patch(""),
        "2 4",
        "the real patch stores what the dry run showed"
    );
}
