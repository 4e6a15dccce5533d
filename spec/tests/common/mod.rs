//! Valid manifests shared by the integration tests: each must load with `wasmjob_spec::load_jobs`
//! and be a valid Kubernetes `batch/v1` Job for the upstream schema (no field ignored).

/// The Kubernetes documentation's `pi` Job, with a WebAssembly module as its image.
pub const PI: &str = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    spec:
      containers:
      - name: pi
        image: pi.wasm
        command: ["pi", "-Mbignum=bpi", "-wle", "print bpi(2000)"]
      restartPolicy: Never
  backoffLimit: 4
"#;

/// Cluster fields that mean nothing for a WebAssembly task: accepted with one warning each.
pub const WITH_IGNORED_FIELDS: &str = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: scheduled
spec:
  template:
    spec:
      nodeSelector:
        kubernetes.io/os: linux
      tolerations:
      - key: dedicated
        operator: Equal
        value: batch
        effect: NoSchedule
      containers:
      - name: main
        image: main.wasm
        imagePullPolicy: IfNotPresent
      restartPolicy: OnFailure
"#;

/// Two Jobs in one file.
pub const TWO_JOBS: &str = r#"# first
apiVersion: batch/v1
kind: Job
metadata:
  name: first
spec:
  template:
    spec:
      containers:
      - name: a
        image: a.wasm
      restartPolicy: Never
---
apiVersion: batch/v1
kind: Job
metadata:
  name: second
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      containers:
      - name: b
        image: b.wasm
      restartPolicy: OnFailure
"#;

/// Most of what wasmjob supports at once: indexed mode with per-index limits, both policies,
/// volumes, downward-API env, resources, fuel and module annotations, labels.
pub const EVERYTHING: &str = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: render
  namespace: batch-jobs
  labels:
    app.kubernetes.io/name: render
  annotations:
    example.com/owner: team-a
spec:
  completionMode: Indexed
  completions: 8
  parallelism: 3
  backoffLimitPerIndex: 1
  maxFailedIndexes: 2
  activeDeadlineSeconds: 600
  ttlSecondsAfterFinished: 3600
  podReplacementPolicy: Failed
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes:
        containerName: render
        operator: In
        values: [42, 43]
    - action: Ignore
      onPodConditions:
      - type: DisruptionTarget
    - action: FailIndex
      onExitCodes:
        operator: NotIn
        values: [0, 1]
  successPolicy:
    rules:
    - succeededIndexes: "0,2-5"
      succeededCount: 3
    - succeededCount: 7
  template:
    metadata:
      labels:
        app.kubernetes.io/name: render
      annotations:
        wasmjob.dev/fuel: "1000000000"
        wasmjob.dev/fuel.setup: "5000"
        wasmjob.dev/module.render: ./render.wasm
    spec:
      restartPolicy: Never
      activeDeadlineSeconds: 120
      terminationGracePeriodSeconds: 5
      initContainers:
      - name: setup
        image: setup.wasm
        volumeMounts:
        - name: scratch
          mountPath: /scratch
      containers:
      - name: render
        args: ["--quality", "high"]
        workingDir: /scratch
        env:
        - name: MODE
          value: fast
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: TEAM
          valueFrom:
            fieldRef:
              fieldPath: metadata.labels['app.kubernetes.io/name']
        - name: MEM_MIB
          valueFrom:
            resourceFieldRef:
              containerName: render
              resource: limits.memory
              divisor: 1Mi
        resources:
          requests:
            cpu: 250m
            memory: 32Mi
          limits:
            cpu: "1"
            memory: 64Mi
        volumeMounts:
        - name: scratch
          mountPath: /scratch
        - name: input
          mountPath: /input
          readOnly: true
          subPath: frames
      volumes:
      - name: scratch
        emptyDir:
          sizeLimit: 128Mi
      - name: input
        hostPath:
          path: /srv/frames
          type: Directory
"#;

/// A user-owned selector: `manualSelector: true` with a selector that matches the template.
pub const MANUAL_SELECTOR: &str = r#"apiVersion: batch/v1
kind: Job
metadata:
  generateName: sweep-
spec:
  manualSelector: true
  selector:
    matchLabels:
      app: sweep
    matchExpressions:
    - {key: tier, operator: In, values: [batch]}
  template:
    metadata:
      labels:
        app: sweep
        tier: batch
    spec:
      containers:
      - name: sweep
        image: sweep.wasm
      restartPolicy: Never
"#;

/// Every valid manifest above, with a name for messages.
pub const VALID: &[(&str, &str)] = &[
    ("pi", PI),
    ("with ignored fields", WITH_IGNORED_FIELDS),
    ("two jobs", TWO_JOBS),
    ("everything", EVERYTHING),
    ("manual selector", MANUAL_SELECTOR),
];
