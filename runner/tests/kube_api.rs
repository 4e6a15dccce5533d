//! The Kubernetes API of `serve --listen` driven by the real `kubectl` (issue 8, first part:
//! TLS with a self-signed certificate, bearer-token authentication, discovery, reading Jobs
//! and Pods with kubectl's Table columns, `Status` errors). Skipped with a message when kubectl
//! is not on PATH, except under CI, where that fails.

use crate::common;
use crate::kube;
use common::*;
use kube::*;
use std::path::PathBuf;
use std::time::Duration;

const JOB: &str = "apiVersion: batch/v1
kind: Job
metadata:
  name: trio
  labels: {team: blue}
spec:
  completions: 3
  parallelism: 3
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: PROBE
        args: [print, hello]
";

/// A serve with the API on a free loopback port, a completed Job, and the kubeconfig file.
fn setup(env: &Env) -> (Serve, PathBuf) {
    let (serve, kubeconfig) = serve_with_api(env);
    let file = env.manifest("trio.yaml", JOB);
    let r = env.wasmjob(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = env.wasmjob(&[
        "wait",
        "--for=condition=complete",
        "job/trio",
        "--timeout",
        "60s",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    (serve, kubeconfig)
}

#[test]
fn kubectl_gets_jobs_and_pods_as_from_a_cluster() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kubeconfig) = setup(&env);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&kubeconfig).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the kubeconfig holds the token");

    let jobs = kube(&env, &kubeconfig, &["get", "jobs"]);
    assert_eq!(jobs.code, 0, "{}", jobs.stderr);
    let got = rows(&jobs.stdout);
    assert_eq!(got[0], ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]);
    assert_eq!(got.len(), 2, "{}", jobs.stdout);
    assert_eq!(got[1][..3], ["trio", "Complete", "3/3"]);
    // The same cells as wasmjob's own table.
    let own = env.wasmjob(&["get", "jobs"]);
    assert_eq!(rows(&own.stdout)[1][..4], got[1][..4]);

    let pods = kube(
        &env,
        &kubeconfig,
        &["get", "pods", "-l", "batch.kubernetes.io/job-name=trio"],
    );
    assert_eq!(pods.code, 0, "{}", pods.stderr);
    let got = rows(&pods.stdout);
    assert_eq!(got[0], ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    assert_eq!(got.len(), 4, "{}", pods.stdout);
    for row in &got[1..] {
        assert!(row[0].starts_with("trio-"), "{row:?}");
        assert_eq!(row[1..4], ["0/1", "Completed", "0"]);
    }
    let none = kube(&env, &kubeconfig, &["get", "pods", "-l", "team=red"]);
    assert_eq!(none.code, 0, "{}", none.stderr);
    assert!(none.stdout.is_empty(), "{}", none.stdout);
    assert!(
        none.stderr
            .contains("No resources found in default namespace.")
    );

    let json = kube(&env, &kubeconfig, &["get", "job", "trio", "-o", "json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let job: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(job["status"]["succeeded"], 3);
    assert!(
        has_condition(&job, "Complete", "CompletionsReached"),
        "{job:#}"
    );
    assert_eq!(job["metadata"]["labels"]["team"], "blue");

    let wide = kube(&env, &kubeconfig, &["get", "jobs", "-A", "-o", "wide"]);
    assert_eq!(wide.code, 0, "{}", wide.stderr);
    let got = rows(&wide.stdout);
    assert_eq!(
        got[0],
        [
            "NAMESPACE",
            "NAME",
            "STATUS",
            "COMPLETIONS",
            "DURATION",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    assert_eq!(got[1][..2], ["default", "trio"]);

    let ns = kube(&env, &kubeconfig, &["get", "namespaces"]);
    assert_eq!(ns.code, 0, "{}", ns.stderr);
    let got = rows(&ns.stdout);
    assert_eq!(got[0], ["NAME", "STATUS", "AGE"]);
    assert_eq!(got[1][..2], ["default", "Active"]);
    let other = kube(&env, &kubeconfig, &["get", "namespace", "elsewhere"]);
    assert_eq!(other.code, 1);
    assert_eq!(
        other.stderr.trim(),
        r#"Error from server (NotFound): namespaces "elsewhere" not found"#
    );

    let missing = kube(&env, &kubeconfig, &["get", "job", "nope"]);
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr.trim(),
        r#"Error from server (NotFound): jobs.batch "nope" not found"#
    );
}

/// One HTTPS request to the API (trusting its certificate), written by hand so that it can
/// leave out the token or carry another; the status line and the body of the answer.
fn raw_get(env: &Env, path: &str, token: Option<&str>) -> (String, serde_json::Value) {
    raw_request(env, "GET", path, token, "")
}

/// One HTTPS request with `method` and a JSON `body` (see [`raw_get`]).
fn raw_request(
    env: &Env,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (String, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let state = env.state();
    let address = std::fs::read_to_string(state.join("api/address")).unwrap();
    let cert = std::fs::read(state.join("api/tls.crt")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(&cert) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let tcp = tokio::net::TcpStream::connect(address.trim())
                .await
                .unwrap();
            let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
            let mut tls = connector.connect(name, tcp).await.unwrap();
            // A server may answer (401, 413) and close before it has read the whole body: the
            // answer is read whether the write got through or not.
            let _ = tls.write_all(request.as_bytes()).await;
            let mut answer = Vec::new();
            let _ = tls.read_to_end(&mut answer).await;
            String::from_utf8(answer).unwrap()
        });
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.lines().next().unwrap().to_string();
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

#[test]
fn without_the_token_every_call_is_refused() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kubeconfig) = setup(&env);
    let r = kube(&env, &kubeconfig, &["--token=not-the-token", "get", "jobs"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let last = r.stderr.trim().lines().last().unwrap_or("");
    assert!(
        last.starts_with("error: You must be logged in to the server"),
        "{}",
        r.stderr
    );
    // Without a token, or with another, every path answers 401 with a Kubernetes Status.
    let token = std::fs::read_to_string(env.state().join("api/token")).unwrap();
    for path in [
        "/api",
        "/apis/batch/v1/namespaces/default/jobs",
        "/api/v1/pods",
        "/nowhere",
    ] {
        for given in [None, Some("not-the-token"), Some(&token[..10])] {
            let (status, body) = raw_get(&env, path, given);
            assert_eq!(status, "HTTP/1.1 401 Unauthorized", "{path} {given:?}");
            assert_eq!(body["kind"], "Status");
            assert_eq!(body["reason"], "Unauthorized");
            assert_eq!(body["code"], 401);
        }
    }
    // Writes too, and nothing changes.
    let job = r#"{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"x"},"spec":{}}"#;
    for (method, path, body) in [
        ("POST", "/apis/batch/v1/namespaces/default/jobs", job),
        (
            "PATCH",
            "/apis/batch/v1/namespaces/default/jobs/trio",
            r#"{"spec":{"parallelism":0}}"#,
        ),
        ("PUT", "/apis/batch/v1/namespaces/default/jobs/trio", job),
        ("DELETE", "/apis/batch/v1/namespaces/default/jobs/trio", ""),
        ("POST", "/api/v1/namespaces", r#"{"kind":"Namespace"}"#),
        ("GET", "/openapi/v3", ""),
    ] {
        let (status, body) = raw_request(&env, method, path, Some("not-the-token"), body);
        assert_eq!(status, "HTTP/1.1 401 Unauthorized", "{method} {path}");
        assert_eq!(body["reason"], "Unauthorized");
    }
    let trio = env.job("trio").unwrap();
    assert_eq!(trio["spec"]["parallelism"], 3, "unchanged");
    let r = kube(
        &env,
        &kubeconfig,
        &["--token=not-the-token", "delete", "job", "trio"],
    );
    assert_eq!(r.code, 1);
    assert!(env.job("trio").is_some());
    // A body past the API's limit (2 MiB) is refused before it is read.
    let huge = format!(
        r#"{{"apiVersion":"batch/v1","kind":"Job","metadata":{{"name":"big","annotations":{{"a":"{}"}}}}}}"#,
        "x".repeat(3 << 20)
    );
    let (status, _) = raw_request(
        &env,
        "POST",
        "/apis/batch/v1/namespaces/default/jobs",
        Some(&token),
        &huge,
    );
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    assert!(env.job("big").is_none());
    // A replace must name the object of its URL.
    let (status, body) = raw_request(
        &env,
        "PUT",
        "/apis/batch/v1/namespaces/default/jobs/trio",
        Some(&token),
        job,
    );
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    assert_eq!(
        body["message"],
        "the name of the object (x) does not match the name on the URL (trio)"
    );
    // With it, the same request is answered.
    let (status, body) = raw_get(&env, "/apis/batch/v1/namespaces/default/jobs", Some(&token));
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body["kind"], "JobList");
    assert_eq!(body["items"][0]["metadata"]["name"], "trio");
}

#[test]
fn kubectl_deletes_jobs_and_pods() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kubeconfig) = setup(&env);
    let pod = env.pods("batch.kubernetes.io/job-name=trio")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    // Pods are the controller's: they are not patched.
    let r = kube(
        &env,
        &kubeconfig,
        &[
            "patch",
            "pod",
            &pod,
            "-p",
            r#"{"metadata":{"labels":{"x":"y"}}}"#,
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains(
            "Error from server (MethodNotAllowed): the server does not allow this method on the requested resource"
        ),
        "{}",
        r.stderr
    );
    // A finished pod goes at once; its Job stays complete.
    let r = kube(&env, &kubeconfig, &["delete", "pod", &pod]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), format!("pod \"{pod}\" deleted"));
    assert_eq!(env.pods("batch.kubernetes.io/job-name=trio").len(), 2);
    // A running Job is stopped and removed with its pods and logs; kubectl waits for it.
    let slow = env.manifest(
        "spin.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: spin}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: c, image: PROBE, args: [spin]}\n",
    );
    assert_eq!(
        env.wasmjob(&["apply", "-f", slow.to_str().unwrap()]).code,
        0
    );
    wait_for("the spinning pod", Duration::from_secs(30), || {
        env.pods("batch.kubernetes.io/job-name=spin")
            .iter()
            .any(|p| p["status"]["phase"] == "Running")
    });
    for job in ["spin", "trio"] {
        let r = kube(&env, &kubeconfig, &["delete", "job", job]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.stdout.trim(), format!("job.batch \"{job}\" deleted"));
        assert!(env.job(job).is_none(), "{job} is gone when kubectl returns");
        assert!(
            env.pods(&format!("batch.kubernetes.io/job-name={job}"))
                .is_empty()
        );
    }
    let r = kube(&env, &kubeconfig, &["delete", "job", "trio"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        r#"Error from server (NotFound): jobs.batch "trio" not found"#
    );
}

#[test]
fn kubectl_logs_reads_a_pods_log() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kubeconfig) = setup(&env);
    let r = kube(&env, &kubeconfig, &["logs", "job/trio"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "hello\n");
    let pod = env.pods("batch.kubernetes.io/job-name=trio")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let r = kube(&env, &kubeconfig, &["logs", &pod, "--timestamps"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (time, text) = r.stdout.split_once(' ').unwrap();
    assert!(time.parse::<jiff::Timestamp>().is_ok(), "{:?}", r.stdout);
    assert_eq!(text, "hello\n");
    assert_eq!(
        r.stdout,
        env.wasmjob(&["logs", &pod, "--timestamps"]).stdout
    );
    let r = kube(&env, &kubeconfig, &["logs", &pod, "-c", "nope"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains(&format!("container nope is not valid for pod {pod}")),
        "{}",
        r.stderr
    );
    let r = kube(&env, &kubeconfig, &["logs", &pod, "--previous"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("previous terminated container"),
        "{}",
        r.stderr
    );
}

#[test]
fn kubectl_describes_a_job_with_its_pods_and_events() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kubeconfig) = setup(&env);
    let r = kube(&env, &kubeconfig, &["describe", "job", "trio"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = &r.stdout;
    for line in [
        "Name:             trio",
        "Namespace:        default",
        "Labels:           team=blue",
        "Completions:      3",
        "Completion Mode:  NonIndexed",
        "Pods Statuses:    0 Active (0 Ready) / 3 Succeeded / 0 Failed",
        "Events:",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in\n{text}"
        );
    }
    let creates = text
        .lines()
        .filter(|l| {
            l.contains("SuccessfulCreate") && l.contains("job-controller  Created pod: trio-")
        })
        .count();
    assert_eq!(creates, 3, "{text}");
    assert!(
        text.lines().any(
            |l| l.trim_start().starts_with("Normal  Completed") && l.ends_with("Job completed")
        ),
        "{text}"
    );

    let events = kube(&env, &kubeconfig, &["get", "events"]);
    assert_eq!(events.code, 0, "{}", events.stderr);
    assert_eq!(
        rows(&events.stdout)[0],
        ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    );
    assert!(events.stdout.contains("job/trio"), "{}", events.stdout);
    // Events of another object are not described with this one.
    let pod = kube(
        &env,
        &kubeconfig,
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.kind=Pod",
        ],
    );
    assert_eq!(pod.code, 0, "{}", pod.stderr);
    assert!(!pod.stdout.contains("job/trio"), "{}", pod.stdout);
}

#[test]
fn kubectl_wait_follows_a_running_job_to_its_end() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kubeconfig) = setup(&env);
    let slow = env.manifest(
        "slow.yaml",
        "apiVersion: batch/v1
kind: Job
metadata: {name: slow}
spec:
  completions: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: PROBE
        args: [sleep, '1500', print, done]
",
    );
    let r = env.wasmjob(&["apply", "-f", slow.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let before = env.job("slow").unwrap();
    assert!(!has_condition(&before, "Complete", "CompletionsReached"));
    let r = kube(
        &env,
        &kubeconfig,
        &[
            "wait",
            "--for=condition=complete",
            "job/slow",
            "--timeout=60s",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "job.batch/slow condition met");
    let after = env.job("slow").unwrap();
    assert!(
        has_condition(&after, "Complete", "CompletionsReached"),
        "{after:#}"
    );
    // A condition that never comes times out, as against a cluster.
    let r = kube(
        &env,
        &kubeconfig,
        &["wait", "--for=condition=failed", "job/slow", "--timeout=2s"],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("timed out waiting for the condition"),
        "{}",
        r.stderr
    );
}

/// A watch never ends on its own; SIGTERM still stops the serve at once.
#[test]
fn sigterm_stops_serve_promptly_with_a_watch_open() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (serve, kubeconfig) = setup(&env);
    let cache = env.path().join("kube-cache");
    let mut watcher = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--cache-dir")
        .arg(&cache)
        .args(["get", "jobs", "-w"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The watch is open once kubectl has printed the list.
    let mut out = watcher.stdout.take().unwrap();
    let mut first = [0u8; 4];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    assert_eq!(&first, b"NAME");
    let started = std::time::Instant::now();
    assert_eq!(serve.terminate(), 0);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let _ = watcher.kill();
    let _ = watcher.wait();
}

/// Issue 16: writes made through the API itself (`kubectl label`, `annotate`, `patch` of a
/// finished Job) reach an open `kubectl get -w` at once, and `kubectl wait` on a label
/// returns as soon as it is set.
#[test]
fn writes_through_the_api_reach_open_watches_at_once() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kc) = setup(&env);
    let columns = "custom-columns=RV:.metadata.resourceVersion,READY:.metadata.labels.ready,NOTE:.metadata.annotations.note,DEADLINE:.spec.activeDeadlineSeconds";
    let mut watch = Streaming::start(&env, &kc, &["get", "job", "trio", "-w", "-o", columns]);
    watch.expect("the header", Duration::from_secs(30), |l| {
        l.starts_with("RV")
    });
    watch.expect("the Job as listed", Duration::from_secs(10), |l| {
        l.split_whitespace().nth(1) == Some("<none>")
    });
    // Within one poll (100 ms) on a quiet machine; a loaded CI machine gets 5 s.
    let soon = Duration::from_secs(5);
    let r = kube(&env, &kc, &["label", "job", "trio", "ready=yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    watch.expect("the label", soon, |l| {
        l.split_whitespace().nth(1) == Some("yes")
    });
    let r = kube(&env, &kc, &["annotate", "job", "trio", "note=checked"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    watch.expect("the annotation", soon, |l| {
        l.split_whitespace().nth(2) == Some("checked")
    });
    let r = kube(
        &env,
        &kc,
        &[
            "patch",
            "job",
            "trio",
            "-p",
            r#"{"spec":{"activeDeadlineSeconds":600}}"#,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    watch.expect("the patched spec", soon, |l| {
        l.split_whitespace().nth(3) == Some("600")
    });
    let r = kube(
        &env,
        &kc,
        &[
            "wait",
            "--for=jsonpath={.metadata.labels.ready}=yes",
            "job/trio",
            "--timeout=30s",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "job.batch/trio condition met");
    assert!(r.elapsed < soon, "kubectl wait took {:?}", r.elapsed);
    // A label set while kubectl wait watches ends it too.
    let mut waiter = Streaming::start(
        &env,
        &kc,
        &[
            "wait",
            "--for=jsonpath={.metadata.labels.stage}=two",
            "job/trio",
            "--timeout=30s",
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));
    let labelled = std::time::Instant::now();
    let r = kube(&env, &kc, &["label", "job", "trio", "stage=two"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(waiter.wait(Duration::from_secs(30)), 0, "{:?}", waiter.seen);
    assert!(
        labelled.elapsed() < soon,
        "kubectl wait returned {:?} after the label",
        labelled.elapsed()
    );
}

/// Issue 16: `kubectl events --for job/x -w` and `kubectl get events -w` stream the events of
/// a Job created after they started.
#[test]
fn kubectl_streams_new_events() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kc) = serve_with_api(&env);
    let mut events_for = Streaming::start(&env, &kc, &["events", "--for", "job/later", "-w"]);
    let mut get_events = Streaming::start(&env, &kc, &["get", "events", "-w"]);
    // Neither prints anything before the first event: give their watches time to open.
    std::thread::sleep(Duration::from_secs(3));
    let file = env.manifest("later.yaml", &JOB.replace("name: trio", "name: later"));
    let r = kube(&env, &kc, &["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let limit = Duration::from_secs(30);
    for stream in [&mut events_for, &mut get_events] {
        stream.expect("the Job's first pod", limit, |l| {
            l.contains("SuccessfulCreate") && l.contains("Created pod: later-")
        });
        stream.expect("the Job's completion", limit, |l| {
            l.contains("Completed") && l.contains("Job completed")
        });
    }
    assert!(
        events_for.seen.iter().all(|l| !l.contains("trio")),
        "{:?}",
        events_for.seen
    );
    assert!(
        get_events
            .seen
            .iter()
            .all(|l| !l.contains("unable to decode")),
        "{:?}",
        get_events.seen
    );
}

/// Issue 17: `wasmjob get --field-selector` and kubectl through the API select the same pods
/// and Jobs, for every field the API server supports on them (one implementation, the API
/// server's rules), and refuse the same unsupported field with the same words.
#[test]
fn the_cli_and_kubectl_select_the_same_objects_by_field() {
    use wasmjob::field_selector::Resource;
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kc) = setup(&env);
    // A second Job whose pod fails, and a third whose pod waits for a node that is not there
    // (its template names it), so that values differ.
    let failing = env.manifest(
        "failing.yaml",
        &JOB.replace("name: trio", "name: failing")
            .replace("completions: 3", "completions: 1")
            .replace("parallelism: 3", "parallelism: 1\n  backoffLimit: 0")
            .replace("restartPolicy: Never", "restartPolicy: OnFailure")
            .replace("args: [print, hello]", "args: [exit, '3']"),
    );
    let waiting = env.manifest(
        "waiting.yaml",
        &JOB.replace("name: trio", "name: waiting")
            .replace("completions: 3", "completions: 1")
            .replace("parallelism: 3", "parallelism: 1")
            .replace(
                "restartPolicy: Never",
                "restartPolicy: Never\n      nodeName: elsewhere",
            ),
    );
    for file in [&failing, &waiting] {
        let r = env.wasmjob(&["apply", "-f", file.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let r = env.wasmjob(&[
        "wait",
        "--for=condition=failed",
        "job/failing",
        "--timeout",
        "60s",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let names = |text: &str| -> Vec<String> {
        let mut all: Vec<String> = text.lines().map(str::to_string).collect();
        all.sort();
        all
    };
    for (resource, plural) in [(Resource::Pods, "pods"), (Resource::Jobs, "jobs")] {
        let listed = env.wasmjob(&["get", plural, "-o", "json"]).json();
        let first = &listed["items"][0];
        for field in resource.fields() {
            let value = resource.value(first, field);
            for selector in [format!("{field}={value}"), format!("{field}!={value}")] {
                let ours =
                    env.wasmjob(&["get", plural, "--field-selector", &selector, "-o", "name"]);
                let theirs = kube(
                    &env,
                    &kc,
                    &["get", plural, "--field-selector", &selector, "-o", "name"],
                );
                assert_eq!(ours.code, 0, "{selector}: {}", ours.stderr);
                assert_eq!(theirs.code, 0, "{selector}: {}", theirs.stderr);
                assert_eq!(
                    names(&ours.stdout),
                    names(&theirs.stdout),
                    "{plural} {selector}"
                );
            }
        }
    }
    // Some selectors select something and some nothing: the comparison above means something.
    let failed = env.wasmjob(&[
        "get",
        "pods",
        "--field-selector",
        "status.phase=Failed",
        "-o",
        "name",
    ]);
    assert_eq!(failed.stdout.lines().count(), 1, "{}", failed.stdout);
    for (plural, selector, words) in [
        (
            "pods",
            "status.hostIP=x",
            "field label not supported: status.hostIP",
        ),
        (
            "jobs",
            "status.phase=x",
            "field label \"status.phase\" not supported for Job",
        ),
    ] {
        let ours = env.wasmjob(&["get", plural, "--field-selector", selector]);
        let theirs = kube(&env, &kc, &["get", plural, "--field-selector", selector]);
        assert_eq!((ours.code, theirs.code), (2, 1));
        assert_eq!(
            ours.stderr.trim(),
            format!("Error from server (BadRequest): {words}")
        );
        // kubectl names the list it could not make first, as against a cluster.
        assert!(
            theirs
                .stderr
                .starts_with("Error from server (BadRequest): Unable to find")
                && theirs.stderr.trim().ends_with(&format!(": {words}")),
            "{}",
            theirs.stderr
        );
    }
}
