//! Node objects (issue 19, first part): `serve` registers the node inside it — named after the
//! host or `--node-name`, with its capacity — as `Ready`, and marks it `Unknown` (tainted
//! unreachable) when it stops; `wasmjob get nodes`, `describe node` and kubectl through the API
//! show it as a cluster shows its nodes, and a restarted `serve` keeps what users set on it.

use crate::common;
use crate::kube;
use common::*;
use kube::*;
use std::time::Duration;

#[test]
fn serve_registers_its_node_and_marks_it_unknown_when_it_stops() {
    let env = Env::new();
    let serve = env.serve(&[
        "--node-name",
        "edge-1",
        "--max-pods",
        "7",
        "--memory-budget",
        "1Gi",
    ]);
    let r = env.wasmjob(&["get", "nodes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = rows(&r.stdout);
    assert_eq!(got[0], ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
    assert_eq!(got.len(), 2, "{}", r.stdout);
    assert_eq!(got[1][..3], ["edge-1", "Ready", "<none>"]);
    assert!(got[1][4].ends_with("-wasmjob"), "{:?}", got[1]);

    let wide = env.wasmjob(&["get", "no", "-o", "wide"]);
    assert_eq!(wide.code, 0, "{}", wide.stderr);
    let got = rows(&wide.stdout);
    assert_eq!(
        got[0][5..],
        [
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "OS-IMAGE",
            "KERNEL-VERSION",
            "CONTAINER-RUNTIME"
        ]
    );
    assert!(
        got[1].last().unwrap().starts_with("wasmtime://"),
        "{:?}",
        got[1]
    );

    let node = env.wasmjob(&["get", "node", "edge-1", "-o", "json"]).json();
    assert_eq!(node["kind"], "Node");
    assert_eq!(node["status"]["capacity"]["pods"], "7");
    assert_eq!(node["status"]["allocatable"]["memory"], "1048576Ki");
    assert_eq!(
        node["metadata"]["labels"]["kubernetes.io/hostname"],
        "edge-1"
    );
    let ready = &node["status"]["conditions"][0];
    assert_eq!(
        (ready["type"].as_str(), ready["status"].as_str()),
        (Some("Ready"), Some("True"))
    );
    let uid = node["metadata"]["uid"].as_str().unwrap().to_string();

    let d = env.wasmjob(&["describe", "node", "edge-1"]);
    assert_eq!(d.code, 0, "{}", d.stderr);
    for line in [
        "Name:             edge-1",
        "Taints:           <none>",
        "Unschedulable:    false",
        "KubeletReady",
        "Container Runtime Version:  wasmtime://",
        "Normal   RegisteredNode",
        "node-controller   Node edge-1 event: Registered Node edge-1 in Controller",
        "kubelet           Node edge-1 status is now: NodeReady",
    ] {
        assert!(d.stdout.contains(line), "{line:?} in\n{}", d.stdout);
    }
    let missing = env.wasmjob(&["describe", "node", "nowhere"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains(r#"nodes "nowhere" not found"#),
        "{}",
        missing.stderr
    );
    let selected = env.wasmjob(&[
        "get",
        "nodes",
        "--field-selector",
        "spec.unschedulable=true",
    ]);
    assert_eq!(selected.code, 0, "{}", selected.stderr);
    assert_eq!(selected.stdout, "");

    assert_eq!(serve.terminate(), 0);
    let down = env.wasmjob(&["get", "node", "edge-1", "-o", "json"]).json();
    let ready = &down["status"]["conditions"][0];
    assert_eq!(ready["status"], "Unknown", "{down:#}");
    assert_eq!(ready["reason"], "NodeStatusUnknown");
    assert_eq!(
        down["spec"]["taints"][0]["key"],
        "node.kubernetes.io/unreachable"
    );
    assert_eq!(
        rows(&env.wasmjob(&["get", "nodes"]).stdout)[1][1],
        "NotReady"
    );
    let events = env.wasmjob(&["get", "events", "-o", "json"]).json();
    let about_node: Vec<(&str, &str)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["involvedObject"]["kind"] == "Node")
        .map(|e| {
            (
                e["reason"].as_str().unwrap(),
                e["source"]["component"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        about_node,
        [
            ("Starting", "kubelet"),
            ("NodeReady", "kubelet"),
            ("RegisteredNode", "node-controller"),
            ("NodeNotReady", "node-controller")
        ]
    );

    // Started again: the same node, ready and untainted.
    let serve = env.serve(&["--node-name", "edge-1"]);
    let again = env.wasmjob(&["get", "node", "edge-1", "-o", "json"]).json();
    assert_eq!(again["metadata"]["uid"], uid.as_str());
    assert_eq!(again["status"]["conditions"][0]["status"], "True");
    assert!(again["spec"].get("taints").is_none(), "{again:#}");
    assert_eq!(
        again["status"]["capacity"]["pods"], "1000",
        "the new settings"
    );
    drop(serve);
}

#[test]
fn a_node_name_must_be_a_dns_subdomain() {
    let env = Env::new();
    let r = env.wasmjob(&["serve", "--node-name", "Edge_1"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--node-name"), "{}", r.stderr);
    assert!(r.stderr.contains("RFC 1123 subdomain"), "{}", r.stderr);
    assert_eq!(env.wasmjob(&["get", "nodes"]).stdout, "");
}

#[test]
fn kubectl_gets_and_describes_the_node() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kubeconfig) = serve_with_api(&env);
    let own = env.wasmjob(&["get", "nodes", "-o", "name"]);
    assert_eq!(own.code, 0, "{}", own.stderr);
    let name = own.stdout.trim().strip_prefix("node/").unwrap().to_string();

    let r = kube(&env, &kubeconfig, &["get", "nodes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = rows(&r.stdout);
    assert_eq!(got[0], ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
    assert_eq!(got[1][..3], [name.as_str(), "Ready", "<none>"]);
    let wide = kube(&env, &kubeconfig, &["get", "nodes", "-o", "wide"]);
    assert_eq!(rows(&wide.stdout)[0].len(), 10, "{}", wide.stdout);

    let json = kube(&env, &kubeconfig, &["get", "node", &name, "-o", "json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let node: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(node["metadata"]["name"], name.as_str());

    let d = kube(&env, &kubeconfig, &["describe", "node", &name]);
    assert_eq!(d.code, 0, "{}", d.stderr);
    assert!(
        d.stdout.contains(&format!("Name:               {name}")),
        "{}",
        d.stdout
    );
    assert!(d.stdout.contains("KubeletReady"), "{}", d.stdout);
    assert!(d.stdout.contains("wasmtime://"), "{}", d.stdout);

    let missing = kube(&env, &kubeconfig, &["get", "node", "nowhere"]);
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr.trim(),
        r#"Error from server (NotFound): nodes "nowhere" not found"#
    );
}

/// The pods `serve` and `run` make are bound to their node: `spec.nodeName`, the NODE column of
/// `get pods -o wide`, a `fieldRef` to `spec.nodeName`, and `describe node`'s running pods; a
/// `run` registers its node for its lifetime too.
#[test]
fn pods_are_bound_to_the_node_that_runs_them() {
    let env = Env::new();
    let sleeper = env.manifest(
        "sleeper.yaml",
        "apiVersion: batch/v1
kind: Job
metadata: {name: sleeper}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: PROBE
        args: [env, sleep, '60000']
        env: [{name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}]
        resources: {limits: {memory: 16Mi}}
",
    );
    let serve = env.serve(&["--node-name", "edge-2"]);
    let r = env.wasmjob(&["apply", "-f", sleeper.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut pod = serde_json::Value::Null;
    wait_for("the pod to run", Duration::from_secs(30), || {
        pod = env.wasmjob(&["get", "pods", "-o", "json"]).json()["items"][0].clone();
        pod["status"]["phase"] == "Running"
    });
    assert_eq!(pod["spec"]["nodeName"], "edge-2");
    let name = pod["metadata"]["name"].as_str().unwrap().to_string();
    let wide = rows(&env.wasmjob(&["get", "pods", "-o", "wide"]).stdout);
    let node_column = wide[0].iter().position(|c| c == "NODE").unwrap();
    assert_eq!(wide[1][node_column], "edge-2");
    let on_node = env.wasmjob(&[
        "get",
        "pods",
        "--field-selector",
        "spec.nodeName=edge-2",
        "-o",
        "name",
    ]);
    assert_eq!(on_node.stdout.trim(), format!("pod/{name}"));
    wait_for("the pod's environment", Duration::from_secs(30), || {
        env.logs(&format!("pod/{name}")).contains("NODE=edge-2\n")
    });
    let d = env.wasmjob(&["describe", "node", "edge-2"]);
    assert!(
        d.stdout
            .contains("Non-terminated Pods:          (1 in total)"),
        "{}",
        d.stdout
    );
    assert!(d.stdout.contains(&name), "{}", d.stdout);
    assert!(d.stdout.contains("16Mi"), "{}", d.stdout);
    let r = env.wasmjob(&["delete", "job", "sleeper"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(serve.terminate(), 0);

    // A run registers the node it runs on for as long as it runs.
    let quick = env.manifest(
        "quick.yaml",
        "apiVersion: batch/v1
kind: Job
metadata: {name: quick}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: PROBE, args: [print, hi]}]
",
    );
    let r = env.wasmjob(&[
        "run",
        quick.to_str().unwrap(),
        "--node-name",
        "edge-3",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pods = env
        .wasmjob(&[
            "get",
            "pods",
            "-l",
            "batch.kubernetes.io/job-name=quick",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(pods["items"][0]["spec"]["nodeName"], "edge-3");
    let nodes = rows(&env.wasmjob(&["get", "nodes"]).stdout);
    let names: Vec<(&str, &str)> = nodes[1..]
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(names, [("edge-2", "NotReady"), ("edge-3", "NotReady")]);
}
