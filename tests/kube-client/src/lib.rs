//! kube-rs driving `wasmjob serve --listen` as it drives a cluster, for the acceptance test in
//! `runner/tests/kube_clients.rs`: an Indexed Job created, followed to `Complete` by
//! `kube::runtime::wait::await_condition`, a label set by another client (a second
//! `kube::Client`, patching through the API) seen by a `kube::runtime::watcher` that was open
//! all along, each pod's log read, and the Job deleted
//! with `propagationPolicy: Background` (kube-rs sends it in the `DeleteOptions` body) until
//! its pods are gone.
//!
//! Must not: know anything of wasmjob but its API.

use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const INDEX: &str = "batch.kubernetes.io/job-completion-index";

/// A client of the API the kubeconfig names.
async fn connect(kubeconfig: &Path) -> Result<kube::Client, String> {
    let config = Kubeconfig::read_from(kubeconfig).map_err(|e| format!("kubeconfig: {e}"))?;
    let config = kube::Config::from_custom_kubeconfig(config, &KubeConfigOptions::default())
        .await
        .map_err(|e| format!("kubeconfig: {e}"))?;
    kube::Client::try_from(config).map_err(|e| format!("client: {e}"))
}

/// Runs the flow against the API the kubeconfig names, with pods running `image`; each step
/// reports a JSON line to `report`.
pub async fn indexed_job(
    kubeconfig: &Path,
    image: &str,
    name: &str,
    mut report: impl FnMut(Value),
) -> Result<(), String> {
    let client = connect(kubeconfig).await?;
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client, "default");

    let job: Job = serde_json::from_value(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "completionMode": "Indexed",
            "completions": 3,
            "parallelism": 3,
            "backoffLimit": 0,
            "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "shard", "image": image,
                    "args": ["print", "shard $(JOB_COMPLETION_INDEX) of 3"]}],
            }},
        },
    }))
    .map_err(|e| e.to_string())?;
    jobs.create(&PostParams::default(), &job)
        .await
        .map_err(|e| format!("create: {e}"))?;

    // A watcher of the Job, open from now on.
    let selector = format!("metadata.name={name}");
    let mut watched = watcher(jobs.clone(), watcher::Config::default().fields(&selector))
        .applied_objects()
        .boxed();

    let done = tokio::time::timeout(
        Duration::from_secs(60),
        await_condition(jobs.clone(), name, conditions::is_job_completed()),
    )
    .await
    .map_err(|_| "the Job did not complete within 60 s".to_string())?
    .map_err(|e| format!("await_condition: {e}"))?
    .ok_or("the Job is gone")?;
    let status = done.status.clone().unwrap_or_default();
    let conditions: Vec<Value> = status
        .conditions
        .unwrap_or_default()
        .iter()
        .map(|c| json!({"type": c.type_, "status": c.status, "reason": c.reason}))
        .collect();
    report(json!({
        "job": name,
        "conditions": conditions,
        "succeeded": status.succeeded,
        "completedIndexes": status.completed_indexes,
    }));

    // Another client labels the Job.
    let other: Api<Job> = Api::namespaced(connect(kubeconfig).await?, "default");
    other
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"reviewed": "yes"}}})),
        )
        .await
        .map_err(|e| format!("label: {e}"))?;
    let labelled = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(job) = watched
            .try_next()
            .await
            .map_err(|e| format!("watcher: {e}"))?
        {
            if job.metadata.labels.as_ref().and_then(|l| l.get("reviewed")) == Some(&"yes".into()) {
                return Ok(job);
            }
        }
        Err("the watcher ended".to_string())
    })
    .await
    .map_err(|_| "the watcher did not see the label within 30 s".to_string())??;
    report(json!({"label": "yes", "resourceVersion": labelled.metadata.resource_version}));

    let mut all = pods
        .list(&ListParams::default().labels(&format!("batch.kubernetes.io/job-name={name}")))
        .await
        .map_err(|e| format!("list pods: {e}"))?
        .items;
    let index = |p: &Pod| -> u32 {
        p.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(INDEX))
            .and_then(|i| i.parse().ok())
            .unwrap_or(u32::MAX)
    };
    all.sort_by_key(index);
    for pod in &all {
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let log = pods
            .logs(&pod_name, &LogParams::default())
            .await
            .map_err(|e| format!("logs of {pod_name}: {e}"))?;
        report(json!({
            "pod": pod_name,
            "index": index(pod).to_string(),
            "phase": pod.status.as_ref().and_then(|s| s.phase.clone()),
            "log": log,
        }));
    }

    let uid = done.metadata.uid.clone().unwrap_or_default();
    jobs.delete(name, &DeleteParams::background())
        .await
        .map_err(|e| format!("delete: {e}"))?;
    tokio::time::timeout(Duration::from_secs(30), async {
        await_condition(jobs.clone(), name, conditions::is_deleted(&uid)).await?;
        for pod in &all {
            let pod_uid = pod.metadata.uid.clone().unwrap_or_default();
            let pod_name = pod.metadata.name.clone().unwrap_or_default();
            await_condition(pods.clone(), &pod_name, conditions::is_deleted(&pod_uid)).await?;
        }
        Ok::<_, kube::runtime::wait::Error>(())
    })
    .await
    .map_err(|_| "the Job and its pods were not gone within 30 s".to_string())?
    .map_err(|e| format!("await_condition: {e}"))?;
    let left = pods
        .list(&ListParams::default().labels(&format!("batch.kubernetes.io/job-name={name}")))
        .await
        .map_err(|e| format!("list pods: {e}"))?
        .items
        .len();
    report(json!({"deleted": name, "podsLeft": left}));
    Ok(())
}
