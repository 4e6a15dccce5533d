//! Scheduling (issue 19): pods are bound to a node that takes them — not cordoned, every label
//! of their `nodeSelector`, no taint they do not tolerate — or stay Pending with
//! `PodScheduled=False` (reason `Unschedulable`, kube-scheduler's message) and a
//! `FailedScheduling` event, until the nodes change (`uncordon`, a label added through the API)
//! or their Job stops them (a deadline fails an unbound pod). `cordon`, `uncordon` and `delete
//! node` from the CLI and through kubectl.

use crate::common;
use crate::kube;
use common::*;
use kube::*;
use std::time::Duration;

/// A Job of `n` quick pods, with `extra` lines added to its pod spec.
fn quick_job(name: &str, n: u32, extra: &str) -> String {
    format!(
        "apiVersion: batch/v1
kind: Job
metadata: {{name: {name}}}
spec:
  completions: {n}
  parallelism: {n}
  template:
    spec:
      restartPolicy: Never{extra}
      containers:
      - name: c
        image: PROBE
        args: [print, hi]
"
    )
}

const CORDONED: &str = "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 \
                        nodes are available: 1 Preemption is not helpful for scheduling.";

#[test]
fn a_cordoned_node_takes_no_new_pods_until_it_is_uncordoned() {
    let env = Env::new();
    let serve = env.serve(&["--node-name", "edge-3"]);
    let r = env.wasmjob(&["cordon", "edge-3"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "node/edge-3 cordoned\n"),
        "{}",
        r.stderr
    );
    let again = env.wasmjob(&["cordon", "edge-3"]);
    assert_eq!(again.stdout, "node/edge-3 already cordoned\n");
    let got = rows(&env.wasmjob(&["get", "nodes"]).stdout);
    assert_eq!(got[1][..2], ["edge-3", "Ready,SchedulingDisabled"]);
    let node = env.wasmjob(&["get", "node", "edge-3", "-o", "json"]).json();
    assert_eq!(node["spec"]["unschedulable"], true);
    assert_eq!(
        node["spec"]["taints"][0]["key"],
        "node.kubernetes.io/unschedulable"
    );

    env.apply_manifest("two.yaml", &quick_job("two", 2, ""));
    wait_for("two unbound pods", Duration::from_secs(30), || {
        let pods = env.pods_of("two");
        pods.len() == 2
            && pods
                .iter()
                .all(|p| pod_condition(p, "PodScheduled")["reason"] == "Unschedulable")
    });
    for pod in env.pods_of("two") {
        assert_eq!(pod["status"]["phase"], "Pending");
        assert!(pod["spec"]["nodeName"].is_null(), "{pod}");
        let c = pod_condition(&pod, "PodScheduled");
        assert_eq!(
            (c["status"].as_str(), c["message"].as_str()),
            (Some("False"), Some(CORDONED))
        );
    }
    assert_eq!(env.job("two").unwrap()["status"]["active"], 2);
    let pod = env.pods_of("two")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(
        "the FailedScheduling event",
        Duration::from_secs(10),
        || {
            let d = env.wasmjob(&["describe", "pod", &pod]).stdout;
            d.contains("FailedScheduling")
                && d.contains("default-scheduler")
                && d.contains(CORDONED)
        },
    );

    let r = env.wasmjob(&["uncordon", "edge-3"]);
    assert_eq!(r.stdout, "node/edge-3 uncordoned\n", "{}", r.stderr);
    env.wait_job("two", "complete", "30s");
    let job = env.job("two").unwrap();
    assert_eq!(
        (
            job["status"]["succeeded"].as_i64(),
            job["status"]["failed"].as_i64()
        ),
        (Some(2), None)
    );
    for pod in env.pods_of("two") {
        assert_eq!(pod["spec"]["nodeName"], "edge-3");
        assert_eq!(pod_condition(&pod, "PodScheduled")["status"], "True");
    }
    assert_eq!(
        env.wasmjob(&["uncordon", "edge-3"]).stdout,
        "node/edge-3 already uncordoned\n"
    );
    let missing = env.wasmjob(&["cordon", "nowhere"]);
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr.trim(),
        r#"Error from server (NotFound): nodes "nowhere" not found"#
    );
    let usage = env.wasmjob(&["cordon"]);
    assert_eq!(usage.code, 2, "{}", usage.stderr);
    drop(serve);
}

/// A Job's deadline ends an unbound pod as PodGC ends an unscheduled pod being deleted: the pod
/// fails (it never reached a node) and the Job fails as it would with a running pod.
#[test]
fn a_deadline_fails_a_pod_that_fits_no_node() {
    let env = Env::new();
    let yaml = quick_job("picky", 1, "\n      nodeSelector: {disk: ssd}").replace(
        "  completions: 1",
        "  activeDeadlineSeconds: 1\n  completions: 1",
    );
    let r = env.run(&yaml);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let job = env.job("picky").unwrap();
    assert!(has_condition(&job, "Failed", "DeadlineExceeded"), "{job}");
    let pods = env.pods_of("picky");
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0]["status"]["phase"], "Failed");
    assert!(pods[0]["spec"]["nodeName"].is_null());
    let c = pod_condition(&pods[0], "PodScheduled");
    assert_eq!(c["reason"], "Unschedulable");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("1 node(s) didn't match Pod's node affinity/selector"),
        "{c}"
    );
}

/// A malformed `nodeSelector` or toleration is refused with the API server's words.
#[test]
fn node_selectors_and_tolerations_are_validated() {
    let env = Env::new();
    let r = env.run(&quick_job(
        "bad",
        1,
        "\n      nodeSelector: {disk: 'not ok'}",
    ));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("spec.template.spec.nodeSelector"),
        "{}",
        r.stderr
    );
    let r = env.run(&quick_job(
        "bad",
        1,
        "\n      tolerations: [{operator: Equal, value: x}]",
    ));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("spec.template.spec.tolerations[0].operator")
            && r.stderr
                .contains("operator must be Exists when `key` is empty"),
        "{}",
        r.stderr
    );
    let r = env.run(&quick_job("bad", 1, "\n      nodeSelector: [disk]"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("nodeSelector"), "{}", r.stderr);
}

/// Through the API: `kubectl label node` lets a waiting pod's `nodeSelector` match, `kubectl
/// cordon`/`uncordon` set `spec.unschedulable`, and `kubectl delete node` removes the node; a
/// deleted node takes no pods until its `serve` starts again and registers it.
#[test]
fn kubectl_labels_cordons_and_deletes_the_node() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (serve, kubeconfig) = serve_with_api(&env);
    let name = env.wasmjob(&["get", "nodes", "-o", "name"]).stdout;
    let name = name.trim().strip_prefix("node/").unwrap().to_string();

    env.apply_manifest(
        "ssd.yaml",
        &quick_job("ssd", 1, "\n      nodeSelector: {disk: ssd}"),
    );
    wait_for("an unbound pod", Duration::from_secs(30), || {
        env.pods_of("ssd")
            .first()
            .is_some_and(|p| pod_condition(p, "PodScheduled")["reason"] == "Unschedulable")
    });
    let r = kube(&env, &kubeconfig, &["label", "node", &name, "disk=ssd"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), format!("node/{name} labeled"));
    env.wait_job("ssd", "complete", "30s");

    let r = kube(&env, &kubeconfig, &["cordon", &name]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), format!("node/{name} cordoned"));
    let node = env.wasmjob(&["get", "node", &name, "-o", "json"]).json();
    assert_eq!(node["spec"]["unschedulable"], true);
    assert_eq!(node["metadata"]["labels"]["disk"], "ssd");
    assert_eq!(node["status"]["conditions"][0]["status"], "True");
    let r = kube(&env, &kubeconfig, &["uncordon", &name]);
    assert_eq!(
        r.stdout.trim(),
        format!("node/{name} uncordoned"),
        "{}",
        r.stderr
    );
    let node = env.wasmjob(&["get", "node", &name, "-o", "json"]).json();
    assert!(node["spec"]["taints"].is_null(), "{node}");
    let bad = kube(&env, &kubeconfig, &["label", "node", &name, "bad key=x"]);
    assert_ne!(bad.code, 0);

    let r = kube(&env, &kubeconfig, &["delete", "node", &name]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), format!("node \"{name}\" deleted"));
    assert_eq!(env.wasmjob(&["get", "nodes", "-o", "name"]).stdout, "");
    env.apply_manifest("later.yaml", &quick_job("later", 1, ""));
    wait_for(
        "a pod with no node to go to",
        Duration::from_secs(30),
        || {
            env.pods_of("later").first().is_some_and(|p| {
                pod_condition(p, "PodScheduled")["message"] == "no nodes available to schedule pods"
            })
        },
    );
    assert_eq!(serve.terminate(), 0);
    // The next serve registers its node; the waiting pod goes to it.
    let serve = env.serve(&[]);
    env.wait_job("later", "complete", "30s");
    assert_eq!(env.pods_of("later")[0]["spec"]["nodeName"], name.as_str());
    drop(serve);
}

#[test]
fn delete_node_from_the_cli() {
    let env = Env::new();
    let serve = env.serve(&["--node-name", "edge-6"]);
    assert_eq!(serve.terminate(), 0);
    let r = env.wasmjob(&["delete", "node", "edge-6"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "node \"edge-6\" deleted\n"),
        "{}",
        r.stderr
    );
    assert_eq!(env.wasmjob(&["get", "nodes", "-o", "name"]).stdout, "");
    let r = env.wasmjob(&["delete", "node", "edge-6"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(r#"nodes "edge-6" not found"#),
        "{}",
        r.stderr
    );
}

/// `drain` cordons the node and evicts the pods it runs: each ends `Failed` with a
/// `DisruptionTarget` condition (reason `EvictionByEvictionAPI`), which a `podFailurePolicy`
/// `Ignore` rule matches and keeps out of `backoffLimit` (0 here: a failure counted would fail
/// the Job); the Job replaces them, and the replacements wait
/// unbound while the node is cordoned. kubectl's drain, which deletes the pods when the API
/// serves no Eviction, works too.
#[test]
fn drain_evicts_the_pods_of_a_node_and_their_jobs_replace_them() {
    let env = Env::new();
    let (serve, kubeconfig) = if kubectl().is_some() {
        let (s, k) = serve_with_api(&env);
        (s, Some(k))
    } else {
        (env.serve(&[]), None)
    };
    let node = env.wasmjob(&["get", "nodes", "-o", "name"]).stdout;
    let node = node.trim().strip_prefix("node/").unwrap().to_string();
    let yaml = quick_job("evictable", 2, "")
        .replace("args: [print, hi]", "args: [sleep, '60000']")
        .replace(
            "  completions: 2",
            "  backoffLimit: 0
  podFailurePolicy:
    rules:
    - action: Ignore
      onPodConditions: [{type: DisruptionTarget}]
  completions: 2",
        );
    env.apply_manifest("evictable.yaml", &yaml);
    wait_for("two running pods", Duration::from_secs(30), || {
        let pods = env.pods_of("evictable");
        pods.len() == 2 && pods.iter().all(|p| p["status"]["phase"] == "Running")
    });
    let first: Vec<String> = env
        .pods_of("evictable")
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();

    let r = env.wasmjob(&["drain", &node, "--ignore-daemonsets", "--timeout", "30s"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&format!("node/{node} cordoned").as_str())
    );
    assert_eq!(lines.last(), Some(&format!("node/{node} drained").as_str()));
    for name in &first {
        assert!(
            r.stdout.contains(&format!("evicting pod default/{name}\n")),
            "{}",
            r.stdout
        );
        assert!(
            r.stdout.contains(&format!("pod/{name} evicted\n")),
            "{}",
            r.stdout
        );
    }
    // Not counted as failures (the Ignore rule matched), replaced, and the replacements wait.
    wait_for(
        "two replacements waiting for a node",
        Duration::from_secs(30),
        || {
            let pods = env.pods_of("evictable");
            pods.len() == 2
                && pods.iter().all(|p| {
                    !first.contains(&p["metadata"]["name"].as_str().unwrap().to_string())
                        && pod_condition(p, "PodScheduled")["reason"] == "Unschedulable"
                })
        },
    );
    let job = env.job("evictable").unwrap();
    assert!(job["status"]["failed"].is_null(), "{job}");
    assert!(job["status"]["conditions"].is_null(), "{job}");
    let events = env.wasmjob(&["get", "events", "-o", "json"]).json();
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| { e["reason"] == "FailedScheduling" && e["involvedObject"]["kind"] == "Pod" }),
        "{events}"
    );

    // kubectl drain: the replacements are placed once uncordoned, then drained again.
    if let Some(kc) = kubeconfig {
        let r = env.wasmjob(&["uncordon", &node]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        wait_for("the replacements to run", Duration::from_secs(30), || {
            let pods = env.pods_of("evictable");
            pods.len() == 2 && pods.iter().all(|p| p["status"]["phase"] == "Running")
        });
        let r = kube(
            &env,
            &kc,
            &["drain", &node, "--ignore-daemonsets", "--timeout=30s"],
        );
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        assert!(
            r.stdout.contains(&format!("node/{node} drained")),
            "{}",
            r.stdout
        );
        let n = env.wasmjob(&["get", "node", &node, "-o", "json"]).json();
        assert_eq!(n["spec"]["unschedulable"], true);
    }
    let r = env.wasmjob(&["delete", "job", "evictable"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    drop(serve);
}

/// As kubectl's, `drain` refuses to evict a pod with an `emptyDir` (its data would be lost)
/// unless `--delete-emptydir-data` says so; the pod runs on meanwhile.
#[test]
fn drain_refuses_pods_with_local_storage_unless_told() {
    let env = Env::new();
    let serve = env.serve(&["--node-name", "edge-8"]);
    let yaml = quick_job("scratch", 1, "\n      volumes: [{name: tmp, emptyDir: {}}]")
        .replace("args: [print, hi]", "args: [sleep, '60000']");
    env.apply_manifest("scratch.yaml", &yaml);
    wait_for("a running pod", Duration::from_secs(30), || {
        env.pods_of("scratch")
            .first()
            .is_some_and(|p| p["status"]["phase"] == "Running")
    });
    let pod = env.pods_of("scratch")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let r = env.wasmjob(&["drain", "edge-8"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains(
            "cannot delete Pods with local storage (use --delete-emptydir-data to override)"
        ) && r.stderr.contains(&format!("default/{pod}")),
        "{}",
        r.stderr
    );
    assert_eq!(env.pods_of("scratch")[0]["status"]["phase"], "Running");
    let r = env.wasmjob(&["drain", "edge-8", "--delete-emptydir-data"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("pod/{pod} evicted")),
        "{}",
        r.stdout
    );
    let missing = env.wasmjob(&["drain", "nowhere"]);
    assert_eq!(missing.code, 1);
    drop(serve);
}
