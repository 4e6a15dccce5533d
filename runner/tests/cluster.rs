//! Cluster mode (issue 19), on one machine with a real NATS server: `serve --nats` schedules
//! pods onto `wasmjob node` processes that join through it, as well as onto its own node; the
//! nodes register as Node objects, run the pods bound to them with modules fetched by digest,
//! and report back: the Job completes with exact counts and the logs of remote pods are read
//! through the controller. Skipped where no `nats-server` is installed (`.ci/run` installs it).

use crate::common;
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wasmjob_tests::nats;

/// A NATS server with JetStream in the test's folder, if one can run here.
fn nats_server(env: &Env) -> Option<nats::Server> {
    nats::server_binary()?;
    Some(nats::Server::single(env.path()))
}

/// Starts `wasmjob node --nats URL --node-name NAME EXTRA…` (its own folder below the test's)
/// and waits until it has joined.
fn node(env: &Env, url: &str, name: &str, extra: &[&str]) -> Serve {
    let mut args = vec!["--nats", url];
    args.extend_from_slice(extra);
    node_with(env, name, &args, &[])
}

/// Starts `wasmjob node --node-name NAME ARGS…` with the environment variables `vars` and
/// waits until it has joined.
fn node_with(env: &Env, name: &str, args: &[&str], vars: &[(&str, &str)]) -> Serve {
    let stderr = env.path().join(format!("node-{name}.err"));
    let child = Command::new(env!("CARGO_BIN_EXE_wasmjob"))
        .arg("--state-dir")
        .arg(env.path().join("node-dirs"))
        .args(["node", "--node-name", name])
        .args(args)
        .envs(vars.iter().copied())
        .current_dir(env.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("starting wasmjob node");
    let node = Serve { child, stderr };
    let started = Instant::now();
    while !node.log().contains("joined") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "node {name} did not join:\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    node
}

fn indexed_job(name: &str, n: u32, parallelism: u32, extra: &str) -> String {
    format!(
        "apiVersion: batch/v1
kind: Job
metadata: {{name: {name}}}
spec:
  completions: {n}
  parallelism: {parallelism}
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never{extra}
      containers:
      - name: c
        image: PROBE
        args: [sleep, '50', env]
        env: [{{name: NODE, valueFrom: {{fieldRef: {{fieldPath: spec.nodeName}}}}}}]
"
    )
}

/// Succeeded pods per node, and every index's pods.
fn succeeded_by_node(env: &Env, job: &str) -> std::collections::BTreeMap<String, usize> {
    let list = env
        .wasmjob(&[
            "get",
            "pods",
            "-l",
            &format!("job-name={job}"),
            "-o",
            "json",
        ])
        .json();
    let mut by_node = std::collections::BTreeMap::new();
    for p in list["items"].as_array().unwrap() {
        if p["status"]["phase"] == "Succeeded" {
            let node = p["spec"]["nodeName"].as_str().unwrap_or("").to_string();
            *by_node.entry(node).or_default() += 1;
        }
    }
    by_node
}

#[test]
fn pods_spread_over_nodes_that_join_through_nats() {
    let env = Env::new();
    let Some(server) = nats_server(&env) else {
        return;
    };
    let url = server.url();
    let serve = env.serve(&["--nats", &url, "--node-name", "control"]);
    let _one = node(&env, &url, "worker-1", &[]);
    let _two = node(&env, &url, "worker-2", &["--labels", "zone=b"]);
    wait_for("three nodes", Duration::from_secs(30), || {
        env.wasmjob(&["get", "nodes", "-o", "name"])
            .stdout
            .lines()
            .count()
            == 3
    });
    let node = env
        .wasmjob(&["get", "node", "worker-2", "-o", "json"])
        .json();
    assert_eq!(node["metadata"]["labels"]["zone"], "b");
    assert_eq!(node["status"]["conditions"][0]["status"], "True");

    env.apply_manifest("spread.yaml", &indexed_job("spread", 60, 9, ""));
    env.wait_job("spread", "complete", "60s");
    let job = env.job("spread").unwrap();
    assert_eq!(job["status"]["succeeded"], 60);
    assert_eq!(job["status"]["completedIndexes"], "0-59");
    assert!(job["status"]["failed"].is_null(), "{job}");
    let by_node = succeeded_by_node(&env, "spread");
    assert_eq!(by_node.values().sum::<usize>(), 60, "{by_node:?}");
    for n in ["control", "worker-1", "worker-2"] {
        assert!(
            by_node.get(n).copied().unwrap_or(0) > 0,
            "{n} ran none: {by_node:?}"
        );
    }
    // A remote pod's log is read through the controller (small logs travel with reports), and
    // its fieldRef saw the node it ran on.
    let pods = env
        .wasmjob(&[
            "get",
            "pods",
            "--field-selector",
            "spec.nodeName=worker-2",
            "-o",
            "name",
        ])
        .stdout;
    let remote = pods.lines().next().unwrap().to_string();
    assert!(
        env.logs(&remote).contains("NODE=worker-2\n"),
        "{}",
        env.logs(&remote)
    );

    // A nodeSelector only worker-2 matches: every pod goes there.
    env.apply_manifest(
        "zoned.yaml",
        &indexed_job("zoned", 6, 3, "\n      nodeSelector: {zone: b}"),
    );
    env.wait_job("zoned", "complete", "60s");
    let by_node = succeeded_by_node(&env, "zoned");
    assert_eq!(by_node.get("worker-2").copied(), Some(6), "{by_node:?}");
    drop(serve);
}

#[test]
fn a_control_plane_without_a_local_node_runs_pods_on_remote_nodes_only() {
    let env = Env::new();
    let Some(server) = nats_server(&env) else {
        return;
    };
    let url = server.url();
    let serve = env.serve(&["--nats", &url, "--no-local-node"]);
    env.apply_manifest("remote.yaml", &indexed_job("remote", 4, 2, ""));
    // No node yet: the pods wait, as on a cluster with no nodes.
    wait_for("pods waiting for a node", Duration::from_secs(30), || {
        let pods = env.wasmjob(&["get", "pods", "-o", "json"]).json();
        pods["items"].as_array().is_some_and(|items| {
            items.len() == 2
                && items.iter().all(|p| {
                    p["status"]["conditions"][0]["message"] == "no nodes available to schedule pods"
                })
        })
    });
    assert_eq!(env.wasmjob(&["get", "nodes", "-o", "name"]).stdout, "");
    let _worker = node(&env, &url, "worker-9", &[]);
    env.wait_job("remote", "complete", "60s");
    assert_eq!(
        succeeded_by_node(&env, "remote"),
        [("worker-9".to_string(), 4)].into()
    );
    drop(serve);
}

#[test]
fn bad_nats_settings_are_refused_with_what_is_wrong() {
    let env = Env::new();
    let port = nats::free_port();
    let r = env.wasmjob(&[
        "node",
        "--nats",
        &format!("nats://alice:secret@127.0.0.1:{port}"),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "cannot connect to NATS at nats://127.0.0.1:{port}"
        )),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("secret"), "{}", r.stderr);
    let r = env.wasmjob(&[
        "serve",
        "--nats",
        "nats://127.0.0.1:1",
        "--nats-user",
        "alice",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("a NATS user needs a password"),
        "{}",
        r.stderr
    );
    let r = env.wasmjob(&["serve", "--no-local-node"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--nats"), "{}", r.stderr);
    let r = env.wasmjob(&[
        "node",
        "--nats",
        "nats://127.0.0.1:1",
        "--labels",
        "bad key=x",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--labels"), "{}", r.stderr);
}

/// A Job of `n` indexes whose pods sleep `ms` then print, whose disrupted pods are not counted
/// as failures (`backoffLimit: 0` would fail the Job on the first counted one).
fn disruptable_job(name: &str, n: u32, ms: u32) -> String {
    format!(
        "apiVersion: batch/v1
kind: Job
metadata: {{name: {name}}}
spec:
  completions: {n}
  parallelism: {n}
  completionMode: Indexed
  backoffLimit: 0
  podFailurePolicy:
    rules:
    - action: Ignore
      onPodConditions: [{{type: DisruptionTarget}}]
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: PROBE
        args: [sleep, '{ms}', print, done]
"
    )
}

/// Exactly one Succeeded pod per index `0..n`.
fn one_success_per_index(env: &Env, job: &str, n: usize) {
    let mut per_index = vec![0; n];
    for p in env.pods_of(job) {
        if p["status"]["phase"] == "Succeeded" {
            let i: usize = p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            per_index[i] += 1;
        }
    }
    assert_eq!(per_index, vec![1; n], "Succeeded pods per index");
}

/// Waits until node `name` runs at least one of the Job's pods.
fn wait_running_on(env: &Env, job: &str, name: &str) {
    wait_for(
        &format!("a pod running on {name}"),
        Duration::from_secs(30),
        || {
            env.pods_of(job)
                .iter()
                .any(|p| p["spec"]["nodeName"] == name && p["status"]["phase"] == "Running")
        },
    );
}

/// The disrupted pods of a lost node: Failed, `DisruptionTarget` from PodGC.
fn disrupted_on(env: &Env, job: &str, name: &str) -> usize {
    env.pods_of(job)
        .iter()
        .filter(|p| {
            p["spec"]["nodeName"] == name
                && p["status"]["phase"] == "Failed"
                && p["status"]["conditions"].as_array().is_some_and(|cs| {
                    cs.iter().any(|c| {
                        c["type"] == "DisruptionTarget" && c["reason"] == "DeletionByPodGC"
                    })
                })
        })
        .count()
}

#[test]
fn a_lost_nodes_pods_fail_as_disrupted_and_are_replaced() {
    let env = Env::new();
    let Some(server) = nats_server(&env) else {
        return;
    };
    let url = server.url();
    let serve = env.serve(&[
        "--nats",
        &url,
        "--node-name",
        "control",
        "--node-grace",
        "2s",
    ]);
    let worker = node(&env, &url, "worker-k", &["--heartbeat", "300ms"]);
    env.apply_manifest("lost.yaml", &disruptable_job("lost", 4, 2500));
    wait_running_on(&env, "lost", "worker-k");
    worker.kill9();
    env.wait_job("lost", "complete", "60s");
    let job = env.job("lost").unwrap();
    assert_eq!(job["status"]["succeeded"], 4);
    assert!(job["status"]["failed"].is_null(), "{job}");
    one_success_per_index(&env, "lost", 4);
    assert!(disrupted_on(&env, "lost", "worker-k") > 0);
    let node = env
        .wasmjob(&["get", "node", "worker-k", "-o", "json"])
        .json();
    assert_eq!(
        node["status"]["conditions"][0]["status"], "Unknown",
        "{node}"
    );
    assert_eq!(
        node["status"]["conditions"][0]["message"],
        "Kubelet stopped posting node status."
    );
    assert_eq!(
        node["spec"]["taints"][0]["key"],
        "node.kubernetes.io/unreachable"
    );
    let rows = env.wasmjob(&["get", "nodes"]).stdout;
    assert!(rows.contains("worker-k   NotReady"), "{rows}");
    drop(serve);
}

#[test]
fn a_node_back_from_a_pause_counts_nothing_it_ran_before() {
    let env = Env::new();
    let Some(server) = nats_server(&env) else {
        return;
    };
    let url = server.url();
    let serve = env.serve(&[
        "--nats",
        &url,
        "--node-name",
        "control",
        "--node-grace",
        "2s",
    ]);
    let worker = node(&env, &url, "worker-p", &["--heartbeat", "300ms"]);
    env.apply_manifest("paused.yaml", &disruptable_job("paused", 4, 2500));
    wait_running_on(&env, "paused", "worker-p");
    let signal = |s: &str| {
        let ok = Command::new("kill")
            .args([s, &worker.pid().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    signal("-STOP");
    wait_for(
        "the paused node's pods to fail",
        Duration::from_secs(30),
        || disrupted_on(&env, "paused", "worker-p") > 0,
    );
    let lost = disrupted_on(&env, "paused", "worker-p");
    signal("-CONT");
    // It comes back: Ready again, and what it ran before stays failed.
    wait_for(
        "the node to be Ready again",
        Duration::from_secs(30),
        || {
            let node = env
                .wasmjob(&["get", "node", "worker-p", "-o", "json"])
                .json();
            node["status"]["conditions"][0]["status"] == "True"
        },
    );
    env.wait_job("paused", "complete", "60s");
    std::thread::sleep(Duration::from_secs(3));
    let job = env.job("paused").unwrap();
    assert_eq!(job["status"]["succeeded"], 4);
    one_success_per_index(&env, "paused", 4);
    assert_eq!(disrupted_on(&env, "paused", "worker-p"), lost);
    drop(worker);
    drop(serve);
}

/// A Job of `n` indexes, `parallelism` at a time, whose pods sleep `ms` then print.
fn sleepy_job(name: &str, n: u32, parallelism: u32, ms: u32) -> String {
    format!(
        "apiVersion: batch/v1
kind: Job
metadata: {{name: {name}}}
spec:
  completions: {n}
  parallelism: {parallelism}
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: PROBE
        args: [sleep, '{ms}', print, done]
"
    )
}

fn succeeded(env: &Env, job: &str) -> i64 {
    env.job(job)
        .and_then(|j| j["status"]["succeeded"].as_i64())
        .unwrap_or(0)
}

/// Waits for the Job's completion, then checks its exact counts: `n` succeeded, none failed,
/// one Succeeded pod per index.
fn completes_exactly(env: &Env, job: &str, n: usize) {
    env.wait_job(job, "complete", "90s");
    let j = env.job(job).unwrap();
    assert_eq!(j["status"]["succeeded"].as_u64(), Some(n as u64), "{j}");
    assert!(j["status"]["failed"].is_null(), "{j}");
    one_success_per_index(env, job, n);
}

#[test]
fn a_job_completes_when_one_nats_server_of_three_is_killed() {
    let env = Env::new();
    if nats::server_binary().is_none() {
        return;
    }
    let mut cluster = nats::Cluster::start(env.path());
    let urls = cluster.urls();
    let all = urls.join(",");
    // The control plane on the first server, the nodes on the others first.
    let serve = env.serve(&["--nats", &all, "--node-name", "control"]);
    let other: Vec<String> = urls
        .iter()
        .skip(1)
        .chain(urls.iter().take(1))
        .cloned()
        .collect();
    let _one = node(&env, &other.join(","), "worker-1", &["--heartbeat", "1s"]);
    let _two = node(&env, &other.join(","), "worker-2", &["--heartbeat", "1s"]);
    env.apply_manifest("ha.yaml", &sleepy_job("ha", 40, 8, 300));
    wait_for("8 pods to succeed", Duration::from_secs(60), || {
        succeeded(&env, "ha") >= 8
    });
    cluster.servers[0].kill9();
    completes_exactly(&env, "ha", 40);
    let by_node = succeeded_by_node(&env, "ha");
    assert!(by_node.len() > 1, "{by_node:?}");
    drop(serve);
}

#[test]
fn a_job_completes_across_a_restart_of_its_only_nats_server() {
    let env = Env::new();
    let Some(mut server) = nats_server(&env) else {
        return;
    };
    let url = server.url();
    // Every pod on the remote node: every report crosses the broker.
    let serve = env.serve(&["--nats", &url, "--no-local-node"]);
    let _worker = node(&env, &url, "worker-r", &["--heartbeat", "1s"]);
    env.apply_manifest("restart.yaml", &sleepy_job("restart", 24, 4, 300));
    wait_for("4 pods to succeed", Duration::from_secs(60), || {
        succeeded(&env, "restart") >= 4
    });
    server.kill9();
    std::thread::sleep(Duration::from_millis(700));
    server.start();
    server.wait_healthy();
    completes_exactly(&env, "restart", 24);
    drop(serve);
}

/// The control plane is killed mid-Job and started again: the pods on the remote node went on
/// meanwhile, and are followed, not failed (the node lives on without the control plane, as a
/// kubelet does); every pod is counted once and none is lost.
#[test]
fn a_control_plane_killed_mid_job_and_restarted_counts_every_pod_once() {
    let env = Env::new();
    let Some(server) = nats_server(&env) else {
        return;
    };
    let url = server.url();
    let args = ["--nats", url.as_str(), "--no-local-node"];
    let serve = env.serve(&args);
    let _worker = node(&env, &url, "worker-c", &["--heartbeat", "1s"]);
    env.apply_manifest("crash.yaml", &sleepy_job("crash", 30, 6, 300));
    wait_for("6 pods to succeed", Duration::from_secs(60), || {
        succeeded(&env, "crash") >= 6
    });
    serve.kill9();
    let serve = env.serve(&args);
    completes_exactly(&env, "crash", 30);
    drop(serve);
}

/// A node killed and started again at once (a new incarnation, within the grace period): the
/// pods it ran are gone, failed as disrupted when it registers again, and replaced — without
/// waiting for the grace period.
#[test]
fn a_node_that_restarts_loses_its_pods_at_once() {
    let env = Env::new();
    let Some(server) = nats_server(&env) else {
        return;
    };
    let url = server.url();
    let serve = env.serve(&["--nats", &url, "--no-local-node", "--node-grace", "5m"]);
    let worker = node(&env, &url, "worker-i", &["--heartbeat", "300ms"]);
    env.apply_manifest("again.yaml", &disruptable_job("again", 3, 2000));
    wait_running_on(&env, "again", "worker-i");
    worker.kill9();
    let _worker = node(&env, &url, "worker-i", &["--heartbeat", "300ms"]);
    env.wait_job("again", "complete", "60s");
    one_success_per_index(&env, "again", 3);
    assert!(disrupted_on(&env, "again", "worker-i") > 0);
    drop(serve);
}

/// Issue 19's acceptance run: a three-server NATS cluster, a control plane that runs no pods
/// itself, and three node processes — each in a network namespace of its own with its own
/// address where root allows (on loopback otherwise) —: a 10,000-pod Indexed Job spreads over
/// the nodes (each runs more than 20%) and completes with exact counts, one Succeeded pod per
/// index, every node's pods' logs readable through the control plane.
#[test]
fn ten_thousand_pods_spread_over_three_nodes_in_their_own_namespaces() {
    let env = Env::new();
    if nats::server_binary().is_none() {
        return;
    }
    let namespaces = wasmjob_tests::netns::Namespaces::make(3);
    let host = namespaces
        .as_ref()
        .map_or("127.0.0.1".to_string(), |n| n.host_address.clone());
    let cluster = nats::Cluster::start_on(env.path(), &host);
    let urls = cluster.urls().join(",");
    let serve = env.serve(&["--nats", &urls, "--no-local-node"]);
    let mut nodes = Vec::new();
    for i in 0..3 {
        let name = format!("node-{i}");
        let stderr = env.path().join(format!("{name}.err"));
        let bin = env!("CARGO_BIN_EXE_wasmjob");
        let mut command = match &namespaces {
            Some(n) => n.command(i, bin),
            None => Command::new(bin),
        };
        let child = command
            .arg("--state-dir")
            .arg(env.path().join("node-dirs"))
            .args([
                "node",
                "--nats",
                &urls,
                "--node-name",
                &name,
                "--max-pods",
                "200",
            ])
            .current_dir(env.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("starting wasmjob node");
        nodes.push(Serve { child, stderr });
    }
    wait_for("three nodes", Duration::from_secs(30), || {
        env.wasmjob(&["get", "nodes", "-o", "name"])
            .stdout
            .lines()
            .count()
            == 3
    });
    if let Some(n) = &namespaces {
        // Each node has its own address, the one its namespace gives it.
        for (i, address) in n.addresses.iter().enumerate() {
            let node = env
                .wasmjob(&["get", "node", &format!("node-{i}"), "-o", "json"])
                .json();
            assert_eq!(node["status"]["addresses"][0]["type"], "InternalIP");
            assert_eq!(node["status"]["addresses"][0]["address"], address.as_str());
        }
    }
    let yaml = sleepy_job("ten-k", 10_000, 300, 0).replace("sleep, '0', ", "");
    env.apply_manifest("ten-k.yaml", &yaml);
    env.wait_job("ten-k", "complete", "300s");
    let job = env.job("ten-k").unwrap();
    assert_eq!(job["status"]["succeeded"], 10_000);
    assert!(job["status"]["failed"].is_null(), "{job}");
    assert_eq!(job["status"]["completedIndexes"], "0-9999");
    one_success_per_index(&env, "ten-k", 10_000);
    let by_node = succeeded_by_node(&env, "ten-k");
    assert_eq!(by_node.values().sum::<usize>(), 10_000);
    for i in 0..3 {
        let ran = by_node.get(&format!("node-{i}")).copied().unwrap_or(0);
        assert!(ran > 2_000, "node-{i} ran {ran}: {by_node:?}");
        let pod = env
            .wasmjob(&[
                "get",
                "pods",
                "--field-selector",
                &format!("spec.nodeName=node-{i}"),
                "-o",
                "name",
            ])
            .stdout
            .lines()
            .next()
            .unwrap()
            .to_string();
        assert_eq!(env.logs(&pod), "done\n");
    }
    drop(nodes);
    drop(serve);
}

/// The log of a pod running on a node of another process is on that node: `logs` says so,
/// naming the node; once the pod has ended its small log came back with it and reads.
#[test]
fn logs_of_a_pod_on_another_node_say_where_they_are_until_they_come_back() {
    let env = Env::new();
    let Some(server) = nats_server(&env) else {
        return;
    };
    let url = server.url();
    let serve = env.serve(&["--nats", &url, "--no-local-node"]);
    let _worker = node(&env, &url, "worker-l", &[]);
    env.apply_manifest("far.yaml", &sleepy_job("far", 1, 1, 1500));
    wait_running_on(&env, "far", "worker-l");
    let r = env.wasmjob(&["logs", "job/far"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr
            .contains("is kept by node \"worker-l\" (a `wasmjob node`)"),
        "{}",
        r.stderr
    );
    env.wait_job("far", "complete", "60s");
    assert_eq!(env.logs("job/far"), "done\n");
    drop(serve);
}

/// NATS credentials as NATS users pass them: a user and password (in the URL, as flags, or as
/// `NATS_USER` and `NATS_PASSWORD`), a token; a wrong password is refused at once with the
/// server's words.
#[test]
fn nats_credentials_are_passed_as_nats_users_expect() {
    let env = Env::new();
    if nats::server_binary().is_none() {
        return;
    }
    let server = nats::Server::single_with(
        env.path(),
        "authorization {\n  user: alice\n  password: s3cret\n}\n",
    );
    let url = server.url();
    let wrong = env.wasmjob(&[
        "node",
        "--nats",
        &url,
        "--nats-user",
        "alice",
        "--nats-password",
        "nope",
    ]);
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("cannot connect to NATS"),
        "{}",
        wrong.stderr
    );
    // The control plane has them in its URL, as NATS URLs may carry them.
    let with_user = url.replace("nats://", "nats://alice:s3cret@");
    let serve = env.serve(&["--nats", &with_user, "--no-local-node"]);
    // The node takes its credentials from the environment, as the `nats` tool does.
    let vars = [
        ("NATS_URL", url.as_str()),
        ("NATS_USER", "alice"),
        ("NATS_PASSWORD", "s3cret"),
    ];
    let _node = node_with(&env, "worker-a", &[], &vars);
    env.apply_manifest("auth.yaml", &sleepy_job("auth", 3, 3, 10));
    completes_exactly(&env, "auth", 3);
    assert_eq!(
        succeeded_by_node(&env, "auth"),
        [("worker-a".to_string(), 3)].into()
    );
    drop(serve);

    let env = Env::new();
    let server = nats::Server::single_with(env.path(), "authorization {\n  token: t0ken\n}\n");
    let url = server.url();
    let serve = env.serve(&["--nats", &url, "--no-local-node", "--nats-token", "t0ken"]);
    let _node = node(&env, &url, "worker-t", &["--nats-token", "t0ken"]);
    env.apply_manifest("token.yaml", &sleepy_job("token", 2, 2, 10));
    completes_exactly(&env, "token", 2);
    drop(serve);
}

/// TLS to NATS: a server with a certificate the test makes, `tls://` URLs, and `--nats-ca` to
/// trust it; without the CA the connection is refused.
#[test]
fn nats_over_tls_with_a_ca_file() {
    let env = Env::new();
    if nats::server_binary().is_none() {
        return;
    }
    let tls_dir = env.path().join("nats-tls");
    std::fs::create_dir_all(&tls_dir).unwrap();
    let (cert, key) = wasmjob::api::tls::certificate(&tls_dir).unwrap();
    let (cert_file, key_file) = (tls_dir.join("server.pem"), tls_dir.join("server.key"));
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let server = nats::Server::single_with(
        env.path(),
        &format!("tls {{\n  cert_file: {cert_file:?}\n  key_file: {key_file:?}\n}}\n"),
    );
    let url = format!("tls://127.0.0.1:{}", server.client_port);
    let ca = cert_file.to_str().unwrap();
    let untrusted = env.wasmjob(&["node", "--nats", &url]);
    assert_eq!(untrusted.code, 1, "{}", untrusted.stderr);
    assert!(
        untrusted.stderr.contains("cannot connect to NATS"),
        "{}",
        untrusted.stderr
    );
    let serve = env.serve(&["--nats", &url, "--no-local-node", "--nats-ca", ca]);
    let _node = node(&env, &url, "worker-s", &["--nats-ca", ca]);
    env.apply_manifest("tls.yaml", &sleepy_job("tls", 2, 2, 10));
    completes_exactly(&env, "tls", 2);
    drop(serve);
}

/// A Job's deadline stops its pods on a node of another process as it stops local ones, plus
/// one broker round trip: the Job fails at its deadline and every pod ends Failed soon after.
#[test]
fn a_deadline_stops_pods_on_another_node() {
    let env = Env::new();
    let Some(server) = nats_server(&env) else {
        return;
    };
    let url = server.url();
    let serve = env.serve(&["--nats", &url, "--no-local-node"]);
    let _worker = node(&env, &url, "worker-d", &[]);
    let yaml = sleepy_job("late", 3, 3, 60_000).replace(
        "  completions: 3",
        "  activeDeadlineSeconds: 2\n  completions: 3",
    );
    env.apply_manifest("late.yaml", &yaml);
    let started = Instant::now();
    env.wait_job("late", "failed", "60s");
    wait_for("every pod to end", Duration::from_secs(10), || {
        let pods = env.pods_of("late");
        pods.len() == 3 && pods.iter().all(|p| p["status"]["phase"] == "Failed")
    });
    // Stopped, not run to their end (60 s).
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    for p in env.pods_of("late") {
        assert_eq!(p["spec"]["nodeName"], "worker-d");
        let t = &p["status"]["containerStatuses"][0]["state"]["terminated"];
        assert_eq!(t["reason"], "Stopped", "{p}");
    }
    let job = env.job("late").unwrap();
    assert!(has_condition(&job, "Failed", "DeadlineExceeded"), "{job}");
    drop(serve);
}
