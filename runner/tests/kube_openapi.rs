//! The OpenAPI v3 documents of `serve --listen` as the real kubectl (1.32) reads them:
//! `kubectl explain` resolves kinds and fields from them (with wasmjob's descriptions), and
//! `kubectl create` / `kubectl apply` find `fieldValidation` on the Job's PATCH operation, so
//! they send `?fieldValidation=Strict` and leave validation to the server instead of asking
//! for `/openapi/v2` (not served) and failing client-side; apply's strategic merge patch is
//! computed from the v3 schemas without a warning. Skipped with a message when kubectl is not
//! on PATH, except under CI, where that fails.

use crate::common;
use crate::kube;
use common::*;
use kube::*;

/// The lines of `kubectl explain`'s field list, trimmed (`name\t<type>`).
fn field_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.contains('\t'))
        .map(str::to_string)
        .collect()
}

#[test]
fn kubectl_explains_jobs_and_pods_from_the_documents() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kubeconfig) = serve_with_api(&env);

    let r = kube(&env, &kubeconfig, &["explain", "job.spec", "-v=6"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // kubectl 1.32 prints OpenAPI v3 explanations with GROUP and VERSION apart (the
    // `VERSION:  batch/v1` layout is that of its OpenAPI v2 explain).
    for line in [
        "GROUP:      batch",
        "KIND:       Job",
        "VERSION:    v1",
        "FIELD: spec <JobSpec>",
    ] {
        assert!(
            r.stdout.lines().any(|l| l == line),
            "{line:?}:\n{}",
            r.stdout
        );
    }
    let fields = field_lines(&r.stdout);
    for field in [
        "completions\t<integer>",
        "parallelism\t<integer>",
        "template\t<PodTemplateSpec> -required-",
        "podFailurePolicy\t<PodFailurePolicy>",
    ] {
        assert!(
            fields.iter().any(|l| l == field),
            "{field:?}:\n{}",
            r.stdout
        );
    }
    assert!(
        r.stderr.contains("/openapi/v3/apis/batch/v1?hash="),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("/openapi/v2"), "{}", r.stderr);

    let r = kube(
        &env,
        &kubeconfig,
        &["explain", "job.spec.template.spec.containers.image"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("FIELD: image <string>"), "{}", r.stdout);
    let text = r.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("The WebAssembly module to run")
            && text.contains("relative to serve's `--image-dir`"),
        "{}",
        r.stdout
    );

    let r = kube(
        &env,
        &kubeconfig,
        &["explain", "job.spec.template.spec.restartPolicy"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("ENUM:\n    Never\n    OnFailure"),
        "{}",
        r.stdout
    );

    let r = kube(&env, &kubeconfig, &["explain", "pods"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("KIND:       Pod\nVERSION:    v1\n"),
        "{}",
        r.stdout
    );
    let fields = field_lines(&r.stdout);
    for field in ["spec\t<PodSpec>", "status\t<PodStatus>"] {
        assert!(
            fields.iter().any(|l| l == field),
            "{field:?}:\n{}",
            r.stdout
        );
    }
    let r = kube(&env, &kubeconfig, &["explain", "pod.spec.affinity"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("ignored"), "{}", r.stdout);
    let r = kube(
        &env,
        &kubeconfig,
        &["explain", "pod.spec.tolerations.operator"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Exists"), "{}", r.stdout);

    let r = kube(&env, &kubeconfig, &["explain", "job.spec.nonsense"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(r#"field "nonsense" does not exist"#),
        "{}",
        r.stderr
    );
}

const JOB: &str = "apiVersion: batch/v1
kind: Job
metadata:
  name: checked
spec:
  parallelism: 1
  suspend: true
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: PROBE
        args: [print, hello]
        env: [{name: GREETING, value: hi}]
";

#[test]
fn kubectl_leaves_field_validation_to_the_server() {
    let Some(_) = kubectl() else { return };
    let env = Env::new();
    let (_serve, kubeconfig) = serve_with_api(&env);
    let file = env.manifest("checked.yaml", JOB);
    let file = file.to_str().unwrap();

    // kubectl 1.32 checks the Job's PATCH operation in /openapi/v3/apis/batch/v1 for a
    // `fieldValidation` parameter (queryParamVerifierV3); finding it, it sends the POST with
    // `fieldValidation=Strict` and never asks for /openapi/v2.
    let r = kube(
        &env,
        &kubeconfig,
        &["create", "--save-config", "-f", file, "-v=6"],
    );
    let post = r
        .stderr
        .lines()
        .find(|l| l.contains("POST https://"))
        .unwrap_or_else(|| panic!("no POST:\n{}", r.stderr));
    assert!(
        post.contains("/apis/batch/v1/namespaces/default/jobs?")
            && post.contains("fieldValidation=Strict"),
        "{post}"
    );
    assert!(!r.stderr.contains("/openapi/v2"), "{}", r.stderr);
    assert!(!r.stderr.contains("error validating"), "{}", r.stderr);

    // Client-side apply of a change: the strategic merge patch comes from the v3 schemas
    // (merge keys), without a warning, and goes with `fieldValidation=Strict` too.
    let changed = env.manifest(
        "checked.yaml",
        &JOB.replace("parallelism: 1", "parallelism: 2"),
    );
    let r = kube(
        &env,
        &kubeconfig,
        &["apply", "-f", changed.to_str().unwrap(), "-v=6"],
    );
    let patch = r
        .stderr
        .lines()
        .find(|l| l.contains("PATCH https://"))
        .unwrap_or_else(|| panic!("no PATCH:\n{}", r.stderr));
    assert!(
        patch.contains("/jobs/checked?") && patch.contains("fieldValidation=Strict"),
        "{patch}"
    );
    assert!(!r.stderr.contains("/openapi/v2"), "{}", r.stderr);
    assert!(!r.stderr.to_lowercase().contains("warning"), "{}", r.stderr);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("job.batch/checked configured"),
        "{}",
        r.stdout
    );
    let r = kube(
        &env,
        &kubeconfig,
        &[
            "get",
            "job",
            "checked",
            "-o",
            "jsonpath={.spec.parallelism}",
        ],
    );
    assert_eq!(r.stdout, "2", "{}", r.stderr);

    // A pod cannot be created through the API: the server says so (its PATCH operation is
    // listed, refused, so that kubectl does not fail client-side first).
    let pod = env.manifest(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: PROBE}]\n",
    );
    let r = kube(&env, &kubeconfig, &["create", "-f", pod.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("MethodNotAllowed"), "{}", r.stderr);
    assert!(!r.stderr.contains("openapi"), "{}", r.stderr);
}
