//! Malformed manifests, as data: each must be refused by `load_jobs` (never a panic) with an
//! error that names the field and says what is wrong, in the API server's words. Also: valid
//! manifests that must load, warnings for ignored fields, multi-document files, positions.

mod common;

use wasmjob_spec::{FieldErrorKind, load_jobs};

/// One refused manifest: what it shows, the text, words the error must contain, and the field
/// path it must name (`<root>` for the document itself).
struct Case {
    what: &'static str,
    yaml: &'static str,
    expect: &'static str,
    path: &'static str,
}

const CASES: &[Case] = &[
    // --- reading: syntax, unknown fields, types -------------------------------------------
    Case {
        what: "YAML syntax error",
        yaml: "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: pi\n spec: [\n",
        expect: "did not find expected key (line 5, column 2)",
        path: "<root>",
    },
    Case {
        what: "unclosed flow sequence",
        yaml: "apiVersion: batch/v1\nkind: Job\nspec:\n  template: {spec: {containers: [{name: a}\n",
        expect: "unclosed bracket '[' (line 4, column 33)",
        path: "spec.template.spec.containers",
    },
    Case {
        what: "unknown top-level field",
        yaml: "apiVersion: batch/v1\nkind: Job\nmetadata: {name: pi}\nspecs: {}\n",
        expect: "unknown field: \"specs\" (known fields: apiVersion, kind, metadata, spec, status) (line 4, column 1)",
        path: "specs",
    },
    Case {
        what: "unknown field in the job spec",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  parallelizm: 2
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "unknown field: \"parallelizm\"",
        path: "spec.parallelizm",
    },
    Case {
        what: "unknown field in a container",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        imagePulPolicy: Always
      restartPolicy: Never
"#,
        expect: "unknown field: \"imagePulPolicy\"",
        path: "spec.template.spec.containers[0].imagePulPolicy",
    },
    Case {
        what: "unknown field in a volume source",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      volumes:
      - name: v
        emptyDir: {sizeLimt: 1Gi}
      restartPolicy: Never
"#,
        expect: "unknown field: \"sizeLimt\"",
        path: "spec.template.spec.volumes[0].emptyDir.sizeLimt",
    },
    Case {
        what: "a string where a number belongs",
        yaml: "apiVersion: batch/v1\nkind: Job\nmetadata: {name: pi}\nspec:\n  parallelism: two\n",
        expect: "must be an integer",
        path: "spec.parallelism",
    },
    Case {
        what: "a list where a mapping belongs",
        yaml: "apiVersion: batch/v1\nkind: Job\nmetadata: [pi]\n",
        expect: "expected mapping start (line 3, column 11)",
        path: "metadata",
    },
    Case {
        what: "i32 overflow",
        yaml: "apiVersion: batch/v1\nkind: Job\nmetadata: {name: pi}\nspec:\n  completions: 3000000000\n",
        expect: "must be an integer between -2147483648 and 2147483647 (line 5, column 16)",
        path: "spec.completions",
    },
    Case {
        what: "unquoted yes as an env value",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        env:
        - name: VERBOSE
          value: yes
      restartPolicy: Never
"#,
        expect: "must be quoted",
        path: "spec.template.spec.containers[0].env[0].value",
    },
    Case {
        what: "JSON with an unknown field",
        yaml: r#"{"apiVersion": "batch/v1", "kind": "Job",
 "metadata": {"name": "pi"},
 "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a.wasm", "cmd": ["x"]}],
   "restartPolicy": "Never"}}}}"#,
        expect: "unknown field: \"cmd\"",
        path: "spec.template.spec.containers[0].cmd",
    },
    Case {
        what: "empty file",
        yaml: "",
        expect: "no objects passed to apply",
        path: "<root>",
    },
    Case {
        what: "only comments and separators",
        yaml: "# nothing\n---\n# here\n",
        expect: "no objects passed to apply",
        path: "<root>",
    },
    // --- type and object metadata ---------------------------------------------------------
    Case {
        what: "apiVersion v1",
        yaml: r#"apiVersion: v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "apiVersion: Unsupported value: \"v1\": supported values: \"batch/v1\" (line 1, column 1)",
        path: "apiVersion",
    },
    Case {
        what: "kind Pod",
        yaml: r#"apiVersion: batch/v1
kind: Pod
metadata: {name: pi}
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "kind: Unsupported value: \"Pod\": supported values: \"Job\"",
        path: "kind",
    },
    Case {
        what: "missing name",
        yaml: r#"apiVersion: batch/v1
kind: Job
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Required value: name or generateName is required",
        path: "metadata.name",
    },
    Case {
        what: "upper-case name",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: Pi}
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: r#"metadata.name: Invalid value: "Pi": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*') (line 3, column 12)"#,
        path: "metadata.name",
    },
    Case {
        what: "name longer than a label value",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata:
  name: a-very-long-job-name-that-does-not-fit-into-a-label-value-at-all-x
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "must be no more than 63 characters",
        path: "metadata.name",
    },
    Case {
        what: "namespace with a dot",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi, namespace: team.a}
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Invalid value: \"team.a\": must not contain dots",
        path: "metadata.namespace",
    },
    Case {
        what: "invalid label value",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata:
  name: pi
  labels:
    app: "-bad-"
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "a valid label must be an empty string or consist of alphanumeric characters",
        path: "metadata.labels[app]",
    },
    Case {
        what: "invalid annotation key",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    metadata:
      annotations:
        "example.com/a/b": x
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "a qualified name must consist of alphanumeric characters",
        path: "spec.template.metadata.annotations[example.com/a/b]",
    },
    // --- job spec ------------------------------------------------------------------------
    Case {
        what: "negative parallelism",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  parallelism: -1
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "spec.parallelism: Invalid value: -1: must be greater than or equal to 0 (line 5, column 3)",
        path: "spec.parallelism",
    },
    Case {
        what: "negative backoffLimit",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  backoffLimit: -3
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Invalid value: -3: must be greater than or equal to 0",
        path: "spec.backoffLimit",
    },
    Case {
        what: "negative activeDeadlineSeconds",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  activeDeadlineSeconds: -10
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "must be greater than or equal to 0",
        path: "spec.activeDeadlineSeconds",
    },
    Case {
        what: "negative ttlSecondsAfterFinished",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  ttlSecondsAfterFinished: -1
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "must be greater than or equal to 0",
        path: "spec.ttlSecondsAfterFinished",
    },
    Case {
        what: "bad completionMode",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completionMode: Parallel
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Unsupported value: \"Parallel\": supported values: \"Indexed\", \"NonIndexed\"",
        path: "spec.completionMode",
    },
    Case {
        what: "Indexed without completions",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completionMode: Indexed
  parallelism: 2
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "spec.completions: Required value: when completion mode is Indexed",
        path: "spec.completions",
    },
    Case {
        what: "Indexed job whose last hostname is not a DNS label",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: a-name-of-exactly-sixty-one-characters-which-is-fine-alone-x1}
spec:
  completionMode: Indexed
  completions: 100
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "will not able to create pod with invalid DNS label: a-name-of-exactly-sixty-one-characters-which-is-fine-alone-x1-99",
        path: "metadata.name",
    },
    Case {
        what: "backoffLimitPerIndex without Indexed",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  backoffLimitPerIndex: 1
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Invalid value: 1: requires indexed completion mode",
        path: "spec.backoffLimitPerIndex",
    },
    Case {
        what: "maxFailedIndexes without backoffLimitPerIndex",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completionMode: Indexed
  completions: 4
  maxFailedIndexes: 1
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified",
        path: "spec.backoffLimitPerIndex",
    },
    Case {
        what: "maxFailedIndexes above completions",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completionMode: Indexed
  completions: 4
  backoffLimitPerIndex: 0
  maxFailedIndexes: 5
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "must be less than or equal to completions",
        path: "spec.maxFailedIndexes",
    },
    Case {
        what: "unknown podReplacementPolicy",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  podReplacementPolicy: Always
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Unsupported value: \"Always\": supported values: \"Failed\", \"TerminatingOrFailed\"",
        path: "spec.podReplacementPolicy",
    },
    Case {
        what: "managedBy without a domain",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  managedBy: my-controller
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "must be a domain-prefixed path (such as \"acme.io/foo\")",
        path: "spec.managedBy",
    },
    Case {
        what: "selector without manualSelector",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  selector:
    matchLabels: {app: pi}
  template:
    metadata:
      labels: {app: pi}
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "`selector` not auto-generated",
        path: "spec.selector",
    },
    Case {
        what: "manual selector that does not match the template",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  manualSelector: true
  selector:
    matchLabels: {app: pi}
  template:
    metadata:
      labels: {app: other}
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "`selector` does not match template `labels`",
        path: "spec.template.metadata.labels",
    },
    Case {
        what: "job-name label naming another job",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    metadata:
      labels:
        batch.kubernetes.io/job-name: tau
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Invalid value: \"tau\": must be 'pi'",
        path: "spec.template.metadata.labels[batch.kubernetes.io/job-name]",
    },
    // --- podFailurePolicy -----------------------------------------------------------------
    Case {
        what: "podFailurePolicy with restartPolicy OnFailure",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes: {operator: In, values: [1]}
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: OnFailure
"#,
        expect: r#"spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified"#,
        path: "spec.template.spec.restartPolicy",
    },
    Case {
        what: "onExitCodes values not sorted",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  podFailurePolicy:
    rules:
    - action: Ignore
      onExitCodes: {operator: In, values: [3, 2]}
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Invalid value: [3,2]: must be ordered",
        path: "spec.podFailurePolicy.rules[0].onExitCodes.values",
    },
    Case {
        what: "onExitCodes with 0 and In",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  podFailurePolicy:
    rules:
    - action: Count
      onExitCodes: {operator: In, values: [0, 1]}
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Invalid value: 0: must not be 0 for the In operator",
        path: "spec.podFailurePolicy.rules[0].onExitCodes.values[0]",
    },
    Case {
        what: "onExitCodes with a repeated value",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  podFailurePolicy:
    rules:
    - action: Count
      onExitCodes: {operator: NotIn, values: [1, 1]}
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Duplicate value",
        path: "spec.podFailurePolicy.rules[0].onExitCodes.values[1]",
    },
    Case {
        what: "rule with both requirements",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes: {operator: In, values: [1]}
      onPodConditions: [{type: DisruptionTarget}]
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "spec.podFailurePolicy.rules[0]: Invalid value: specifying both OnExitCodes and OnPodConditions is not supported",
        path: "spec.podFailurePolicy.rules[0]",
    },
    Case {
        what: "rule with no requirement",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  podFailurePolicy:
    rules:
    - action: FailJob
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "specifying one of OnExitCodes and OnPodConditions is required",
        path: "spec.podFailurePolicy.rules[0]",
    },
    Case {
        what: "unknown action",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  podFailurePolicy:
    rules:
    - action: Retry
      onPodConditions: [{type: DisruptionTarget}]
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Unsupported value: \"Retry\": supported values: \"Count\", \"FailIndex\", \"FailJob\", \"Ignore\"",
        path: "spec.podFailurePolicy.rules[0].action",
    },
    Case {
        what: "FailIndex without backoffLimitPerIndex",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  podFailurePolicy:
    rules:
    - action: FailIndex
      onExitCodes: {operator: In, values: [1]}
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "requires the backoffLimitPerIndex to be set",
        path: "spec.podFailurePolicy.rules[0].action",
    },
    Case {
        what: "onExitCodes naming an unknown container",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes: {containerName: b, operator: In, values: [1]}
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Not found: \"b\"",
        path: "spec.podFailurePolicy.rules[0].onExitCodes.containerName",
    },
    Case {
        what: "pod condition with a bad status",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  podFailurePolicy:
    rules:
    - action: Ignore
      onPodConditions: [{type: DisruptionTarget, status: Maybe}]
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "supported values: \"False\", \"True\", \"Unknown\"",
        path: "spec.podFailurePolicy.rules[0].onPodConditions[0].status",
    },
    Case {
        what: "podReplacementPolicy other than Failed with a podFailurePolicy",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  podReplacementPolicy: TerminatingOrFailed
  podFailurePolicy:
    rules:
    - action: Ignore
      onPodConditions: [{type: DisruptionTarget}]
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Unsupported value: \"TerminatingOrFailed\": supported values: \"Failed\"",
        path: "spec.podReplacementPolicy",
    },
    // --- successPolicy --------------------------------------------------------------------
    Case {
        what: "successPolicy on a NonIndexed job",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completions: 3
  successPolicy:
    rules: [{succeededCount: 1}]
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "requires indexed completion mode",
        path: "spec.successPolicy",
    },
    Case {
        what: "succeededIndexes out of order",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completionMode: Indexed
  completions: 10
  successPolicy:
    rules: [{succeededIndexes: "1,5-3"}]
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "error parsing succeededIndexes: non-increasing order, previous: 5, current: 3",
        path: "spec.successPolicy.rules[0].succeededIndexes",
    },
    Case {
        what: "succeededIndexes beyond completions",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completionMode: Indexed
  completions: 3
  successPolicy:
    rules: [{succeededIndexes: "0-3"}]
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "too large index: \"3\"",
        path: "spec.successPolicy.rules[0].succeededIndexes",
    },
    Case {
        what: "succeededCount above the listed indexes",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completionMode: Indexed
  completions: 10
  successPolicy:
    rules: [{succeededIndexes: "0,2", succeededCount: 3}]
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field)",
        path: "spec.successPolicy.rules[0].succeededCount",
    },
    Case {
        what: "success rule with neither field",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completionMode: Indexed
  completions: 10
  successPolicy:
    rules: [{}]
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "at least one of succeededCount or succeededIndexes must be specified",
        path: "spec.successPolicy.rules[0]",
    },
    // --- pod template spec ----------------------------------------------------------------
    Case {
        what: "restartPolicy Always",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Always
"#,
        expect: r#"spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never" (line 8, column 7)"#,
        path: "spec.template.spec.restartPolicy",
    },
    Case {
        what: "missing restartPolicy",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
"#,
        expect: "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\" (line 6, column 5)",
        path: "spec.template.spec.restartPolicy",
    },
    Case {
        what: "missing containers",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      restartPolicy: Never
"#,
        expect: "spec.template.spec.containers: Required value",
        path: "spec.template.spec.containers",
    },
    Case {
        what: "missing image",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        command: [run]
      restartPolicy: Never
"#,
        expect: "spec.template.spec.containers[0].image: Required value: set `image` or the pod template annotation \"wasmjob.dev/module.a\" (line 8, column 9)",
        path: "spec.template.spec.containers[0].image",
    },
    Case {
        what: "duplicate container names",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - {name: main, image: a.wasm}
      - {name: main, image: b.wasm}
      restartPolicy: Never
"#,
        expect: "Duplicate value: \"main\"",
        path: "spec.template.spec.containers[1].name",
    },
    Case {
        what: "init container named like a container",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      initContainers: [{name: main, image: a.wasm}]
      containers: [{name: main, image: b.wasm}]
      restartPolicy: Never
"#,
        expect: "Duplicate value: \"main\"",
        path: "spec.template.spec.initContainers[0].name",
    },
    Case {
        what: "container name with an underscore",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers: [{name: my_task, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'",
        path: "spec.template.spec.containers[0].name",
    },
    Case {
        what: "pod activeDeadlineSeconds of 0",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      activeDeadlineSeconds: 0
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Invalid value: 0: must be between 1 and 2147483647, inclusive",
        path: "spec.template.spec.activeDeadlineSeconds",
    },
    Case {
        what: "relative workingDir",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm, workingDir: data}]
      restartPolicy: Never
"#,
        expect: "must be an absolute path",
        path: "spec.template.spec.containers[0].workingDir",
    },
    // --- resources ------------------------------------------------------------------------
    Case {
        what: "quantity with a unit Kubernetes does not know",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        resources:
          limits: {memory: 64MB}
      restartPolicy: Never
"#,
        expect: "Invalid value: \"64MB\": quantities must match the regular expression",
        path: "spec.template.spec.containers[0].resources.limits[memory]",
    },
    Case {
        what: "negative quantity",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        resources:
          requests: {memory: -1Mi}
      restartPolicy: Never
"#,
        expect: "Invalid value: \"-1Mi\": must be greater than or equal to 0",
        path: "spec.template.spec.containers[0].resources.requests[memory]",
    },
    Case {
        what: "quantity too large",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        resources:
          limits: {memory: "1e999"}
      restartPolicy: Never
"#,
        expect: "Invalid value: \"1e999\": quantity is too large",
        path: "spec.template.spec.containers[0].resources.limits[memory]",
    },
    Case {
        what: "unquoted 1e999 is an infinite float",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        resources:
          limits: {memory: 1e999}
      restartPolicy: Never
"#,
        expect: "1e999",
        path: "spec.template.spec.containers[0].resources.limits.memory",
    },
    Case {
        what: "memory request above the limit",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        resources:
          requests: {memory: 128Mi}
          limits: {memory: 64Mi}
      restartPolicy: Never
"#,
        expect: "Invalid value: \"128Mi\": must be less than or equal to memory limit of 64Mi",
        path: "spec.template.spec.containers[0].resources.requests[memory]",
    },
    Case {
        what: "cpu request above the limit",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        resources:
          requests: {cpu: 500m}
          limits: {cpu: "0.25"}
      restartPolicy: Never
"#,
        expect: "must be less than or equal to cpu limit of 0.25",
        path: "spec.template.spec.containers[0].resources.requests[cpu]",
    },
    Case {
        what: "unknown resource name",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        resources:
          limits: {fuel: "10"}
      restartPolicy: Never
"#,
        expect: "must be a standard resource for containers",
        path: "spec.template.spec.containers[0].resources.limits[fuel]",
    },
    // --- env ------------------------------------------------------------------------------
    Case {
        what: "envFrom",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        envFrom: [{configMapRef: {name: settings}}]
      restartPolicy: Never
"#,
        expect: "Forbidden: not supported by wasmjob: there are no ConfigMaps or Secrets; use `value` or a hostPath volume",
        path: "spec.template.spec.containers[0].envFrom",
    },
    Case {
        what: "configMapKeyRef",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        env:
        - name: LEVEL
          valueFrom:
            configMapKeyRef: {name: settings, key: level}
      restartPolicy: Never
"#,
        expect: "Forbidden: not supported by wasmjob: there are no ConfigMaps or Secrets",
        path: "spec.template.spec.containers[0].env[0].valueFrom.configMapKeyRef",
    },
    Case {
        what: "value and valueFrom",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        env:
        - name: NAME
          value: x
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
      restartPolicy: Never
"#,
        expect: "may not be specified when `value` is not empty",
        path: "spec.template.spec.containers[0].env[0].valueFrom",
    },
    Case {
        what: "env name with '='",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        env: [{name: "A=B", value: x}]
      restartPolicy: Never
"#,
        expect: "a valid environment variable name must consist only of printable ASCII characters other than '='",
        path: "spec.template.spec.containers[0].env[0].name",
    },
    Case {
        what: "fieldRef to a field the downward API does not offer",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        env:
        - name: PHASE
          valueFrom: {fieldRef: {fieldPath: status.phase}}
      restartPolicy: Never
"#,
        expect: "Unsupported value: \"status.phase\"",
        path: "spec.template.spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
    },
    Case {
        what: "resourceFieldRef to an unknown container",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        env:
        - name: MEM
          valueFrom: {resourceFieldRef: {containerName: b, resource: limits.memory}}
      restartPolicy: Never
"#,
        expect: "Not found: \"b\"",
        path: "spec.template.spec.containers[0].env[0].valueFrom.resourceFieldRef.containerName",
    },
    // --- volumes and mounts ---------------------------------------------------------------
    Case {
        what: "mount naming an unknown volume",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        volumeMounts: [{name: data, mountPath: /data}]
      restartPolicy: Never
"#,
        expect: "Not found: \"data\"",
        path: "spec.template.spec.containers[0].volumeMounts[0].name",
    },
    Case {
        what: "relative mountPath",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        volumeMounts: [{name: data, mountPath: data}]
      volumes: [{name: data, emptyDir: {}}]
      restartPolicy: Never
"#,
        expect: "Invalid value: \"data\": must be an absolute path",
        path: "spec.template.spec.containers[0].volumeMounts[0].mountPath",
    },
    Case {
        what: "subPath climbing out",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
        volumeMounts: [{name: data, mountPath: /data, subPath: a/../../etc}]
      volumes: [{name: data, emptyDir: {}}]
      restartPolicy: Never
"#,
        expect: "must not contain '..'",
        path: "spec.template.spec.containers[0].volumeMounts[0].subPath",
    },
    Case {
        what: "volume with two sources",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      volumes:
      - name: data
        emptyDir: {}
        hostPath: {path: /srv}
      restartPolicy: Never
"#,
        expect: "Forbidden: may not specify more than 1 volume type",
        path: "spec.template.spec.volumes[0].hostPath",
    },
    Case {
        what: "volume with no source",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      volumes: [{name: data}]
      restartPolicy: Never
"#,
        expect: "Required value: must specify a volume type",
        path: "spec.template.spec.volumes[0]",
    },
    Case {
        what: "unsupported volume kind",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      volumes:
      - name: data
        persistentVolumeClaim: {claimName: data}
      restartPolicy: Never
"#,
        expect: "Forbidden: not supported by wasmjob (supported: emptyDir, hostPath)",
        path: "spec.template.spec.volumes[0].persistentVolumeClaim",
    },
    Case {
        what: "hostPath with ..",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      volumes:
      - name: data
        hostPath: {path: /srv/../etc}
      restartPolicy: Never
"#,
        expect: "Invalid value: \"/srv/../etc\": must not contain '..'",
        path: "spec.template.spec.volumes[0].hostPath.path",
    },
    Case {
        what: "hostPath of a file",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      volumes:
      - name: data
        hostPath: {path: /etc/hosts, type: File}
      restartPolicy: Never
"#,
        expect: "Unsupported value: \"File\": supported values: \"\", \"DirectoryOrCreate\", \"Directory\"",
        path: "spec.template.spec.volumes[0].hostPath.type",
    },
    Case {
        what: "duplicate volume names",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      volumes: [{name: v, emptyDir: {}}, {name: v, emptyDir: {}}]
      restartPolicy: Never
"#,
        expect: "Duplicate value: \"v\"",
        path: "spec.template.spec.volumes[1].name",
    },
    // --- wasmjob.dev/ annotations ---------------------------------------------------------
    Case {
        what: "fuel that is not a number",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    metadata:
      annotations:
        wasmjob.dev/fuel: lots
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Invalid value: \"lots\": must be a positive integer",
        path: "spec.template.metadata.annotations[wasmjob.dev/fuel]",
    },
    Case {
        what: "zero fuel for a container",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    metadata:
      annotations:
        wasmjob.dev/fuel.a: "0"
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Invalid value: \"0\": must be a positive integer",
        path: "spec.template.metadata.annotations[wasmjob.dev/fuel.a]",
    },
    Case {
        what: "module annotation naming an unknown container",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    metadata:
      annotations:
        wasmjob.dev/module.other: other.wasm
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Not found: \"other\": must name a container or init container of the pod template",
        path: "spec.template.metadata.annotations[wasmjob.dev/module.other]",
    },
    Case {
        what: "unknown wasmjob annotation",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    metadata:
      annotations:
        wasmjob.dev/memory: 1Gi
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
"#,
        expect: "Unsupported value: \"wasmjob.dev/memory\": supported values: \"wasmjob.dev/fuel\"",
        path: "spec.template.metadata.annotations[wasmjob.dev/memory]",
    },
    // --- several documents ----------------------------------------------------------------
    Case {
        what: "second document invalid",
        yaml: r#"apiVersion: batch/v1
kind: Job
metadata: {name: good}
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Never
---
apiVersion: batch/v1
kind: Job
metadata: {name: bad}
spec:
  template:
    spec:
      containers: [{name: a, image: a.wasm}]
      restartPolicy: Always
"#,
        expect: "error: case.yaml (document 2): The Job \"bad\" is invalid: spec.template.spec.restartPolicy: Unsupported value: \"Always\"",
        path: "spec.template.spec.restartPolicy",
    },
];

fn check(case: &Case) -> Result<(), String> {
    let outcome = std::panic::catch_unwind(|| load_jobs(case.yaml, "case.yaml"));
    let result = outcome.map_err(|_| "panicked".to_string())?;
    let err = match result {
        Ok(jobs) => return Err(format!("accepted ({} jobs)", jobs.len())),
        Err(e) => e,
    };
    let message = err.to_string();
    let path = case.path;
    let named =
        message.contains(&format!(": {path}: ")) || message.contains(&format!("\n* {path}: "));
    if path.is_empty() || !named {
        return Err(format!("no path {path:?} in:\n{message}"));
    }
    if !message.contains(case.expect) {
        return Err(format!("no {:?} in:\n{message}", case.expect));
    }
    Ok(())
}

#[test]
fn every_malformed_manifest_is_refused_naming_its_field() {
    assert!(CASES.len() >= 40, "only {} cases", CASES.len());
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|c| check(c).err().map(|e| format!("{}: {e}", c.what)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_case_description_is_unique() {
    let mut seen = std::collections::BTreeSet::new();
    for c in CASES {
        assert!(seen.insert(c.what), "duplicate case {:?}", c.what);
    }
}

#[test]
fn restart_policy_always_is_reported_in_the_api_servers_words() {
    let case = CASES
        .iter()
        .find(|c| c.what == "restartPolicy Always")
        .unwrap();
    let err = load_jobs(case.yaml, "case.yaml").unwrap_err();
    let errors = &err.objects[0].errors;
    assert_eq!(errors.len(), 1, "{err}");
    let mut e = errors[0].clone();
    e.location = None;
    assert_eq!(
        e.to_string(),
        r#"spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never""#
    );
}

#[test]
fn all_errors_of_a_document_are_reported() {
    let yaml = r#"apiVersion: batch/v1
kind: Job
metadata: {name: Bad_Name}
spec:
  parallelism: -1
  template:
    spec:
      containers:
      - name: a
      - name: a
        image: a.wasm
      restartPolicy: Always
"#;
    let err = load_jobs(yaml, "many.yaml").unwrap_err();
    assert_eq!(err.objects.len(), 1);
    let paths: Vec<&str> = err.objects[0]
        .errors
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    for want in [
        "metadata.name",
        "spec.parallelism",
        "spec.template.spec.restartPolicy",
        "spec.template.spec.containers[0].image",
        "spec.template.spec.containers[1].name",
    ] {
        assert!(paths.contains(&want), "{want} missing from {paths:?}");
    }
    let shown = err.to_string();
    assert!(
        shown.starts_with("error: many.yaml (document 1): The Job \"Bad_Name\" is invalid:\n* "),
        "{shown}"
    );
}

#[test]
fn a_bad_second_document_refuses_the_file_and_is_located_in_the_file() {
    let case = CASES
        .iter()
        .find(|c| c.what == "second document invalid")
        .unwrap();
    let err = load_jobs(case.yaml, "case.yaml").unwrap_err();
    assert_eq!(
        err.objects.len(),
        1,
        "only the bad document is reported: {err}"
    );
    let bad = &err.objects[0];
    assert_eq!(bad.document, 1);
    assert_eq!(bad.name, "bad");
    assert_eq!(bad.errors.len(), 1);
    // `restartPolicy: Always` is on line 17 of the file, indented by 6.
    assert_eq!(bad.errors[0].location, Some((17, 7)), "{err}");
    assert!(err.to_string().ends_with("(line 17, column 7)"), "{err}");
}

#[test]
fn positions_follow_the_field_or_its_nearest_ancestor() {
    let yaml = r#"# leading comment
---
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    metadata:
      annotations:
        wasmjob.dev/fuel: "-5"
    spec:
      containers:
      - name: a
        resources:
          limits:
            memory: 64MB
      restartPolicy: Never
"#;
    let err = load_jobs(yaml, "pos.yaml").unwrap_err();
    let at = |path: &str| {
        err.objects[0]
            .errors
            .iter()
            .find(|e| e.path == path)
            .unwrap_or_else(|| panic!("no error at {path}: {err}"))
            .location
    };
    assert_eq!(
        at("spec.template.metadata.annotations[wasmjob.dev/fuel]"),
        Some((11, 9))
    );
    assert_eq!(
        at("spec.template.spec.containers[0].resources.limits[memory]"),
        Some((17, 13))
    );
    // No `image` key: the container item itself.
    assert_eq!(at("spec.template.spec.containers[0].image"), Some((14, 9)));
}

#[test]
fn json_errors_are_located_too() {
    let json = "{\n  \"apiVersion\": \"batch/v1\",\n  \"kind\": \"Job\",\n  \"metadata\": {\"name\": \"pi\"},\n  \"spec\": {\"template\": {\"spec\": {\n    \"containers\": [{\"name\": \"a\", \"image\": \"a.wasm\"}],\n    \"restartPolicy\": \"Always\"}}}\n}\n";
    let err = load_jobs(json, "job.json").unwrap_err();
    let e = &err.objects[0].errors[0];
    assert_eq!(e.path, "spec.template.spec.restartPolicy");
    assert_eq!(e.location, Some((7, 5)), "{err}");
}

#[test]
fn malformed_documents_carry_no_validation_kind_mixups() {
    // A document that cannot be read is reported as such, not validated with defaults.
    let err = load_jobs("apiVersion: batch/v1\nkind: Job\nspec: 3\n", "x.yaml").unwrap_err();
    let e = &err.objects[0].errors[0];
    assert_eq!(e.kind, FieldErrorKind::Malformed, "{err}");
    assert_eq!(e.path, "spec");
}

#[test]
fn valid_manifests_load() {
    for (what, yaml) in common::VALID {
        let jobs = load_jobs(yaml, "valid.yaml").unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(!jobs.is_empty(), "{what}");
    }
}

#[test]
fn the_pi_example_loads_with_defaults_and_no_warnings() {
    let jobs = load_jobs(common::PI, "pi.yaml").unwrap();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0].job;
    assert_eq!(job.name(), "pi");
    assert_eq!(job.spec.backoff_limit, Some(4));
    assert_eq!(
        (job.spec.parallelism, job.spec.completions),
        (Some(1), Some(1))
    );
    assert_eq!(
        job.spec.template.spec.containers[0].image.as_deref(),
        Some("pi.wasm")
    );
    assert!(jobs[0].warnings.is_empty(), "{:?}", jobs[0].warnings);
}

#[test]
fn ignored_cluster_fields_load_with_one_warning_each() {
    let jobs = load_jobs(common::WITH_IGNORED_FIELDS, "w.yaml").unwrap();
    let warnings = &jobs[0].warnings;
    for field in [
        "spec.template.spec.nodeSelector",
        "spec.template.spec.tolerations",
        "spec.template.spec.containers[0].imagePullPolicy",
    ] {
        let n = warnings.iter().filter(|w| w.starts_with(field)).count();
        assert_eq!(n, 1, "{field} in {warnings:?}");
    }
    assert_eq!(warnings.len(), 3, "{warnings:?}");
}

#[test]
fn two_jobs_in_one_file_load_in_order() {
    let jobs = load_jobs(common::TWO_JOBS, "two.yaml").unwrap();
    let names: Vec<(&str, usize)> = jobs.iter().map(|j| (j.job.name(), j.document)).collect();
    assert_eq!(names, [("first", 0), ("second", 1)]);
    assert_eq!(jobs[1].job.spec.completions, Some(3));
}

#[test]
fn a_manual_selector_and_generate_name_are_accepted() {
    let jobs = load_jobs(common::MANUAL_SELECTOR, "m.yaml").unwrap();
    let job = &jobs[0].job;
    assert_eq!(job.name(), "");
    assert_eq!(job.metadata.generate_name.as_deref(), Some("sweep-"));
    let bad = common::MANUAL_SELECTOR.replace("generateName: sweep-", "generateName: Sweep-");
    let err = load_jobs(&bad, "m.yaml").unwrap_err().to_string();
    assert!(
        err.contains("metadata.generateName: Invalid value: \"Sweep-\""),
        "{err}"
    );
}

#[test]
fn the_full_featured_manifest_loads() {
    let jobs = load_jobs(common::EVERYTHING, "all.yaml").unwrap();
    let job = &jobs[0].job;
    assert!(job.is_indexed());
    assert_eq!(job.spec.backoff_limit, Some(i32::MAX));
    assert!(jobs[0].warnings.is_empty(), "{:?}", jobs[0].warnings);
}

#[test]
fn no_prefix_or_line_deletion_of_a_manifest_panics() {
    let text = common::EVERYTHING;
    let run = |t: &str| {
        let outcome = std::panic::catch_unwind(|| load_jobs(t, "cut.yaml"));
        let result = outcome.unwrap_or_else(|_| panic!("panicked on:\n{t}"));
        if let Err(e) = &result {
            assert!(e.objects.iter().all(|o| !o.errors.is_empty()), "{e}");
        }
        result.is_ok()
    };
    let mut refused = 0;
    for (i, _) in text.char_indices() {
        refused += usize::from(!run(&text[..i]));
    }
    assert!(
        refused > text.len() / 2,
        "most prefixes are incomplete Jobs"
    );
    let lines: Vec<&str> = text.lines().collect();
    for skip in 0..lines.len() {
        let mut kept = lines.clone();
        kept.remove(skip);
        run(&kept.join("\n"));
    }
}
