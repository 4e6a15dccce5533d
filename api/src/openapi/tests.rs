//! The documents against the spec crate and against what kubectl reads in them: every `$ref`
//! resolves; every field `wasmjob_spec` writes is in its schema, and every field of a schema
//! is one `wasmjob_spec` reads; the index names each document by its hash; the writes list
//! `fieldValidation` (kubectl 1.32's `queryParamVerifierV3` looks for it on the PATCH of the
//! object's kind); each kind an operation names has its schema (`kubectl explain`'s lookup).

use super::*;
use serde_json::Value;
use std::collections::BTreeMap;
use wasmjob_spec::*;

fn parsed(served: &Served) -> Value {
    serde_json::from_slice(&served.json).unwrap()
}

fn documents() -> Vec<(&'static str, Value)> {
    vec![
        ("api/v1", parsed(&DOCUMENTS.core)),
        ("apis/batch/v1", parsed(&DOCUMENTS.batch)),
    ]
}

fn named<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let s = &doc["components"]["schemas"][name];
    assert!(s.is_object(), "no schema {name}");
    s
}

/// Follows `$ref`s and one-element `allOf` wrappers, as kubectl does.
fn resolve<'a>(doc: &'a Value, mut s: &'a Value) -> &'a Value {
    loop {
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            s = named(doc, r.strip_prefix(schema::SCHEMAS).unwrap());
        } else if let Some([one]) = s.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
            s = one;
        } else {
            return s;
        }
    }
}

#[test]
fn every_reference_resolves_inside_its_document() {
    for (key, doc) in documents() {
        let mut wanted = Vec::new();
        references(&doc, &mut wanted);
        assert!(!wanted.is_empty());
        for name in wanted {
            assert!(
                doc["components"]["schemas"][&name].is_object(),
                "{key}: {name} is referred to but not in the document"
            );
        }
        // And each document holds only what it uses: no Pod in batch/v1's, no Job in v1's.
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let has = |n: &str| schemas.contains_key(n);
        match key {
            "api/v1" => {
                assert!(!has(super::batch::JOB) && has(super::core::POD) && has(super::core::EVENT))
            }
            _ => assert!(
                has(super::batch::JOB) && !has(super::core::POD) && !has(super::core::EVENT)
            ),
        }
    }
}

/// Walks `value` against `schema`, noting each field the schema does not have and each value
/// of another type than the schema says.
fn walk(doc: &Value, schema: &Value, value: &Value, path: &str, wrong: &mut Vec<String>) {
    let s = resolve(doc, schema);
    if s["x-kubernetes-preserve-unknown-fields"] == true {
        return;
    }
    if s["x-kubernetes-int-or-string"] == true {
        if !(value.is_string() || value.is_number()) {
            wrong.push(format!("{path}: {value} is not a quantity"));
        }
        return;
    }
    let type_ = s["type"].as_str().unwrap_or("");
    match value {
        Value::Object(fields) => {
            if type_ != "object" {
                wrong.push(format!("{path}: an object where the schema says {type_:?}"));
            } else if let Some(properties) = s["properties"].as_object() {
                for (k, v) in fields {
                    match properties.get(k) {
                        Some(p) => walk(doc, p, v, &format!("{path}.{k}"), wrong),
                        None => wrong.push(format!("{path}.{k}: not in the schema")),
                    }
                }
            } else if let Some(values) = s.get("additionalProperties") {
                for (k, v) in fields {
                    walk(doc, values, v, &format!("{path}[{k}]"), wrong);
                }
            } else {
                wrong.push(format!("{path}: an object without properties"));
            }
        }
        Value::Array(items) => match (type_, s.get("items")) {
            ("array", Some(item)) => {
                for (i, v) in items.iter().enumerate() {
                    walk(doc, item, v, &format!("{path}[{i}]"), wrong);
                }
            }
            _ => wrong.push(format!("{path}: a list where the schema says {type_:?}")),
        },
        Value::String(_) if type_ == "string" => {}
        Value::Number(n) if type_ == "integer" && n.is_i64() => {}
        Value::Bool(_) if type_ == "boolean" => {}
        other => wrong.push(format!("{path}: {other} where the schema says {type_:?}")),
    }
}

fn t(s: i64) -> Option<Time> {
    Some(Time::from_millis(1_790_000_000_000 + s * 1000))
}

fn some_json(v: Value) -> Option<Value> {
    Some(v)
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// Every struct below is written out whole, without `..Default::default()`: a field added to the
// spec crate does not compile here until it is set, and then must be in the schema.

fn full_meta() -> ObjectMeta {
    ObjectMeta {
        name: Some("pi".into()),
        generate_name: Some("pi-".into()),
        namespace: Some("default".into()),
        uid: Some("u-1".into()),
        resource_version: Some("7".into()),
        generation: Some(2),
        creation_timestamp: t(0),
        deletion_timestamp: t(9),
        deletion_grace_period_seconds: Some(0),
        labels: map(&[("app", "pi")]),
        annotations: map(&[("wasmjob.dev/fuel", "1000")]),
        owner_references: vec![OwnerReference {
            api_version: "batch/v1".into(),
            kind: "Job".into(),
            name: "pi".into(),
            uid: "u-0".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }],
        finalizers: vec!["batch.kubernetes.io/job-tracking".into()],
        managed_fields: some_json(json!([{"manager": "kubectl"}])),
        self_link: Some("/x".into()),
    }
}

fn full_container(name: &str) -> Container {
    let q = |s: &str| Quantity(s.into());
    Container {
        name: name.into(),
        image: Some("pi.wasm".into()),
        command: vec!["pi".into()],
        args: vec!["100".into()],
        env: vec![EnvVar {
            name: "A".into(),
            value: Some("1".into()),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: Some("v1".into()),
                    field_path: "metadata.name".into(),
                }),
                resource_field_ref: Some(ResourceFieldSelector {
                    container_name: Some(name.into()),
                    resource: "limits.memory".into(),
                    divisor: Some(q("1Mi")),
                }),
                config_map_key_ref: some_json(json!({"name": "c", "key": "k"})),
                secret_key_ref: some_json(json!({"name": "s", "key": "k"})),
                file_key_ref: some_json(json!({"path": "p", "key": "k"})),
            }),
        }],
        working_dir: Some("/work".into()),
        resources: Some(ResourceRequirements {
            limits: [("memory".to_string(), q("64Mi"))].into(),
            requests: [("cpu".to_string(), q("500m"))].into(),
            claims: some_json(json!([{"name": "gpu"}])),
        }),
        volume_mounts: vec![VolumeMount {
            name: "work".into(),
            mount_path: "/work".into(),
            read_only: Some(false),
            sub_path: Some("a".into()),
            sub_path_expr: Some("$(A)".into()),
            mount_propagation: some_json(json!("None")),
            recursive_read_only: some_json(json!("Disabled")),
        }],
        env_from: some_json(json!([{"configMapRef": {"name": "c"}}])),
        volume_devices: some_json(json!([{"name": "d", "devicePath": "/dev/x"}])),
        termination_message_path: some_json(json!("/dev/termination-log")),
        termination_message_policy: some_json(json!("File")),
        image_pull_policy: some_json(json!("IfNotPresent")),
        security_context: some_json(json!({"runAsUser": 1000})),
        ports: some_json(json!([{"containerPort": 80, "protocol": "TCP", "name": "http"}])),
        liveness_probe: some_json(json!({"exec": {"command": ["true"]}})),
        readiness_probe: some_json(json!({"periodSeconds": 5})),
        startup_probe: some_json(json!({"periodSeconds": 5})),
        lifecycle: some_json(json!({"preStop": {}})),
        stdin: some_json(json!(false)),
        stdin_once: some_json(json!(false)),
        tty: some_json(json!(false)),
        resize_policy: some_json(json!([{"resourceName": "cpu"}])),
        restart_policy: some_json(json!("Always")),
    }
}

fn full_pod_spec() -> PodSpec {
    PodSpec {
        containers: vec![full_container("c")],
        init_containers: vec![full_container("init")],
        restart_policy: Some("Never".into()),
        active_deadline_seconds: Some(60),
        volumes: vec![Volume {
            name: "work".into(),
            empty_dir: Some(EmptyDirVolumeSource {
                medium: Some("Memory".into()),
                size_limit: Some(Quantity("8Mi".into())),
            }),
            host_path: Some(HostPathVolumeSource {
                path: "data".into(),
                type_: Some("DirectoryOrCreate".into()),
            }),
            config_map: some_json(json!({"name": "c"})),
            secret: some_json(json!({"secretName": "s"})),
            persistent_volume_claim: some_json(json!({"claimName": "p"})),
            csi: Some(CsiVolumeSource {
                driver: OUTPUTS_DRIVER.into(),
                read_only: Some(false),
                fs_type: Some("ext4".into()),
                volume_attributes: map(&[("path", "out")]),
                node_publish_secret_ref: some_json(json!({"name": "s"})),
            }),
            projected: some_json(json!({"sources": []})),
            downward_api: some_json(json!({"items": []})),
            ephemeral: some_json(json!({"volumeClaimTemplate": {}})),
            image: some_json(json!({"reference": "x"})),
            nfs: some_json(json!({"server": "s", "path": "/"})),
        }],
        termination_grace_period_seconds: Some(30),
        hostname: Some("pi-0".into()),
        subdomain: Some("pi".into()),
        runtime_class_name: Some("wasmtime".into()),
        node_name: Some("wasmjob".into()),
        node_selector: Some(map(&[("zone", "a")])),
        tolerations: Some(vec![wasmjob_spec::Toleration {
            key: Some("k".into()),
            operator: Some("Equal".into()),
            value: Some("v".into()),
            effect: Some("NoExecute".into()),
            toleration_seconds: Some(300),
        }]),
        affinity: some_json(json!({"nodeAffinity": {}})),
        service_account_name: some_json(json!("default")),
        service_account: some_json(json!("default")),
        automount_service_account_token: some_json(json!(false)),
        security_context: some_json(json!({"runAsNonRoot": true})),
        image_pull_secrets: some_json(json!([{"name": "r"}])),
        priority_class_name: some_json(json!("high")),
        priority: some_json(json!(1000)),
        preemption_policy: some_json(json!("Never")),
        scheduler_name: some_json(json!("default-scheduler")),
        dns_policy: some_json(json!("ClusterFirst")),
        dns_config: some_json(json!({"nameservers": ["1.1.1.1"]})),
        host_network: some_json(json!(false)),
        host_pid: some_json(json!(false)),
        host_ipc: some_json(json!(false)),
        host_users: some_json(json!(true)),
        host_aliases: some_json(json!([{"ip": "127.0.0.1", "hostnames": ["a"]}])),
        enable_service_links: some_json(json!(false)),
        topology_spread_constraints: some_json(json!([{"maxSkew": 1}])),
        overhead: some_json(json!({"cpu": "10m"})),
        readiness_gates: some_json(json!([{"conditionType": "x"}])),
        scheduling_gates: some_json(json!([{"name": "g"}])),
        share_process_namespace: some_json(json!(false)),
        os: some_json(json!({"name": "linux"})),
        set_hostname_as_fqdn: some_json(json!(false)),
        resource_claims: some_json(json!([{"name": "gpu"}])),
    }
}

fn full_job() -> Job {
    Job {
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        metadata: full_meta(),
        spec: JobSpec {
            parallelism: Some(2),
            completions: Some(4),
            completion_mode: Some(INDEXED.into()),
            active_deadline_seconds: Some(600),
            backoff_limit: Some(6),
            backoff_limit_per_index: Some(1),
            max_failed_indexes: Some(2),
            ttl_seconds_after_finished: Some(0),
            suspend: Some(false),
            pod_failure_policy: Some(PodFailurePolicy {
                rules: vec![PodFailurePolicyRule {
                    action: "FailJob".into(),
                    on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                        container_name: Some("c".into()),
                        operator: "In".into(),
                        values: vec![42],
                    }),
                    on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                        type_: "DisruptionTarget".into(),
                        status: Some("True".into()),
                    }]),
                }],
            }),
            success_policy: Some(SuccessPolicy {
                rules: vec![SuccessPolicyRule {
                    succeeded_indexes: Some("0-1".into()),
                    succeeded_count: Some(1),
                }],
            }),
            pod_replacement_policy: Some("Failed".into()),
            selector: Some(LabelSelector {
                match_labels: map(&[("app", "pi")]),
                match_expressions: vec![wasmjob_spec::meta::LabelSelectorRequirement {
                    key: "tier".into(),
                    operator: "In".into(),
                    values: vec!["a".into()],
                }],
            }),
            manual_selector: Some(true),
            managed_by: Some("kubernetes.io/job-controller".into()),
            template: PodTemplateSpec {
                metadata: full_meta(),
                spec: full_pod_spec(),
            },
        },
        status: Some(JobStatus {
            conditions: vec![JobCondition {
                type_: COND_COMPLETE.into(),
                status: "True".into(),
                last_probe_time: t(5),
                last_transition_time: t(5),
                reason: Some(REASON_COMPLETIONS_REACHED.into()),
                message: Some("Reached expected number of succeeded pods".into()),
            }],
            start_time: t(1),
            completion_time: t(5),
            active: 1,
            succeeded: 4,
            failed: 1,
            terminating: Some(0),
            ready: Some(1),
            completed_indexes: Some("0-3".into()),
            failed_indexes: Some("".into()),
            uncounted_terminated_pods: Some(UncountedTerminatedPods {
                succeeded: vec!["u-2".into()],
                failed: vec!["u-3".into()],
            }),
        }),
    }
}

fn full_container_status(name: &str) -> ContainerStatus {
    let terminated = ContainerStateTerminated {
        exit_code: 137,
        signal: Some(9),
        reason: Some("OOMKilled".into()),
        message: Some("memory".into()),
        started_at: t(1),
        finished_at: t(2),
        container_id: Some("wasm://1".into()),
    };
    ContainerStatus {
        name: name.into(),
        state: ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some("CrashLoopBackOff".into()),
                message: Some("back-off".into()),
            }),
            running: Some(ContainerStateRunning { started_at: t(3) }),
            terminated: Some(terminated.clone()),
        },
        last_state: ContainerState {
            waiting: None,
            running: None,
            terminated: Some(terminated),
        },
        ready: true,
        restart_count: 1,
        image: "pi.wasm".into(),
        image_id: "sha".into(),
        container_id: Some("wasm://2".into()),
        started: Some(true),
    }
}

fn full_pod() -> Pod {
    Pod {
        api_version: "v1".into(),
        kind: "Pod".into(),
        metadata: full_meta(),
        spec: full_pod_spec(),
        status: PodStatus {
            phase: Some(PHASE_FAILED.into()),
            conditions: vec![PodCondition {
                type_: PROGRESS_CONDITION.into(),
                status: "True".into(),
                last_probe_time: t(1),
                last_transition_time: t(1),
                reason: Some("Progress".into()),
                message: Some("42%".into()),
            }],
            message: Some("evicted".into()),
            reason: Some("Evicted".into()),
            start_time: t(0),
            init_container_statuses: vec![full_container_status("init")],
            container_statuses: vec![full_container_status("c")],
        },
    }
}

/// Every field that `value` (an object the spec crate wrote) has is in `kind`'s schema.
fn assert_covered(doc: &Value, kind: &str, value: &Value) {
    let mut wrong = Vec::new();
    walk(doc, named(doc, kind), value, "", &mut wrong);
    assert!(wrong.is_empty(), "{kind}:\n{}", wrong.join("\n"));
}

#[test]
fn every_field_the_spec_crate_writes_is_in_the_schema() {
    let [(_, core_doc), (_, batch_doc)] = documents().try_into().unwrap();
    assert_covered(&batch_doc, super::batch::JOB, &json!(full_job()));
    assert_covered(&core_doc, super::core::POD, &json!(full_pod()));
    // The walk itself notices a stray field and a wrong type.
    let mut stray = json!(full_job());
    stray["spec"]["template"]["spec"]["containers"][0]["imag"] = json!("x");
    stray["spec"]["parallelism"] = json!("two");
    let mut wrong = Vec::new();
    walk(
        &batch_doc,
        named(&batch_doc, super::batch::JOB),
        &stray,
        "",
        &mut wrong,
    );
    assert_eq!(wrong.len(), 2, "{wrong:?}");
}

/// An instance of `schema` with every field set, each to some value of its type.
fn instance(doc: &Value, schema: &Value, depth: usize) -> Value {
    assert!(depth < 30, "the schemas nest too deep");
    let s = resolve(doc, schema);
    if s["x-kubernetes-int-or-string"] == true {
        return json!("1");
    }
    if let Some(first) = s["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    match s["type"].as_str().unwrap_or("") {
        "object" => {
            if let Some(properties) = s["properties"].as_object() {
                let fields: Map<String, Value> = properties
                    .iter()
                    .map(|(k, p)| (k.clone(), instance(doc, p, depth + 1)))
                    .collect();
                Value::Object(fields)
            } else if let Some(values) = s.get("additionalProperties") {
                json!({"key": instance(doc, values, depth + 1)})
            } else {
                json!({})
            }
        }
        "array" => json!([instance(doc, &s["items"], depth + 1)]),
        "string" if s["format"] == "date-time" => json!("2026-11-23T10:36:17Z"),
        "string" => json!("x"),
        "integer" => json!(1),
        "boolean" => json!(true),
        other => panic!("a schema of type {other:?}: {s}"),
    }
}

#[test]
fn every_field_of_the_schemas_is_one_the_spec_crate_reads() {
    // `deny_unknown_fields` throughout the spec crate: a field the schema has and the crate
    // does not would fail to read.
    let [(_, core_doc), (_, batch_doc)] = documents().try_into().unwrap();
    let job = instance(&batch_doc, named(&batch_doc, super::batch::JOB), 0);
    if let Err(e) = serde_json::from_value::<Job>(job.clone()) {
        panic!("{e}\n{job:#}");
    }
    let pod = instance(&core_doc, named(&core_doc, super::core::POD), 0);
    if let Err(e) = serde_json::from_value::<Pod>(pod.clone()) {
        panic!("{e}\n{pod:#}");
    }
}

#[test]
fn every_field_has_a_description() {
    fn check(s: &Value, path: &str, missing: &mut Vec<String>) {
        if let Some(properties) = s["properties"].as_object() {
            for (k, p) in properties {
                if p["description"].as_str().is_none_or(str::is_empty) {
                    missing.push(format!("{path}.{k}"));
                }
                check(p, &format!("{path}.{k}"), missing);
            }
        }
    }
    for (key, doc) in documents() {
        let mut missing = Vec::new();
        for (name, s) in doc["components"]["schemas"].as_object().unwrap() {
            if s["description"].as_str().is_none_or(str::is_empty) {
                missing.push(name.clone());
            }
            check(s, name, &mut missing);
        }
        assert!(missing.is_empty(), "{key}: {missing:#?}");
    }
}

#[test]
fn the_index_names_each_document_by_its_hash() {
    let index = parsed(&DOCUMENTS.index);
    let paths = index["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 2);
    for served in [&DOCUMENTS.core, &DOCUMENTS.batch] {
        let url = paths[served.key]["serverRelativeURL"].as_str().unwrap();
        let hash = url
            .strip_prefix(&format!("/openapi/v3/{}?hash=", served.key))
            .unwrap();
        assert_eq!(hash, content_hash(&served.json));
        assert_eq!(hash.len(), 96, "SHA-384 in hex");
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    assert_ne!(DOCUMENTS.core.hash, DOCUMENTS.batch.hash);
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method != "parameters" {
                all.push((path.clone(), method.clone(), op));
            }
        }
    }
    all
}

#[test]
fn every_write_lists_field_validation_dry_run_and_field_manager() {
    // kubectl 1.32 (`queryParamVerifierV3`) takes the first PATCH operation of the object's
    // kind it meets, in no fixed order, and looks there for `fieldValidation`: all of them
    // must have it, or `kubectl create -f` would validate client-side against OpenAPI v2.
    let mut patches = 0;
    for (key, doc) in documents() {
        for (path, method, op) in operations(&doc) {
            assert!(op["operationId"].is_string(), "{path} {method}");
            assert!(op["x-kubernetes-action"].is_string(), "{path} {method}");
            assert!(op["description"].is_string(), "{path} {method}");
            // The writes of Jobs, and every PATCH (the one kubectl checks); a namespace's
            // create reads no parameter.
            let job = op["x-kubernetes-group-version-kind"]["kind"] == "Job";
            if !(method == "patch" || job && matches!(method.as_str(), "post" | "put")) {
                continue;
            }
            let names: Vec<&str> = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["in"] == "query")
                .filter_map(|p| p["name"].as_str())
                .collect();
            for wanted in ["fieldValidation", "dryRun", "fieldManager"] {
                assert!(names.contains(&wanted), "{key} {path} {method}: {names:?}");
            }
            if method == "patch" {
                patches += 1;
                // Client-side apply computes a strategic merge patch from these schemas only
                // when the PATCH accepts one.
                assert!(
                    op["requestBody"]["content"]["application/strategic-merge-patch+json"]
                        .is_object()
                );
            }
        }
    }
    assert_eq!(patches, 4, "Job, Pod, Namespace and Node");
}

#[test]
fn each_kind_an_operation_names_has_its_schema() {
    // `kubectl explain` takes the kind from the operations of the resource's path, then the
    // schema whose `x-kubernetes-group-version-kind` holds it.
    for (key, doc) in documents() {
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for (path, method, op) in operations(&doc) {
            let gvk = &op["x-kubernetes-group-version-kind"];
            assert!(gvk["kind"].is_string(), "{path} {method}");
            let found = schemas.values().any(|s| {
                s["x-kubernetes-group-version-kind"]
                    .as_array()
                    .is_some_and(|all| all.contains(gvk))
            });
            assert!(found, "{key}: no schema for {gvk}");
        }
    }
}

#[test]
fn documents_are_answered_as_the_api_server_answers_them() {
    let batch = &DOCUMENTS.batch;
    let none = HeaderMap::new();
    // By its current hash: cached for good.
    let r = answer(batch, Some(&batch.hash), &none);
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CACHE_CONTROL], IMMUTABLE);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
    // By an old hash: sent to the current one.
    let r = answer(batch, Some("0123"), &none);
    assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(r.headers()[header::LOCATION], batch.url().as_str());
    // Without: revalidated by its ETag.
    let r = answer(batch, None, &none);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache, private");
    let etag = r.headers()[header::ETAG].clone();
    let mut again = HeaderMap::new();
    again.insert(header::IF_NONE_MATCH, etag);
    assert_eq!(
        answer(batch, None, &again).status(),
        StatusCode::NOT_MODIFIED
    );
    assert_eq!(
        asked_hash(&"/openapi/v3/api/v1?timeout=32s&hash=AB".parse().unwrap()),
        Some("AB")
    );
    assert_eq!(asked_hash(&"/openapi/v3/api/v1".parse().unwrap()), None);
}
