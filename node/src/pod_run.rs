//! The life of one pod on the node, from Pending to a terminal phase.

use super::live::{Live, ensure_condition, now};
use super::outputs;
use super::task_host::{ContainerHost, PodSetup, TaskInfo};
use super::{NodeInner, PodHandle, RunLog, StopCause, env, log_path, storage_limits, volumes};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use wasmjob_abi::exit_codes;
use wasmjob_sandbox::{ContainerPlan, Exit, LogWriter};
use wasmjob_spec::*;

const POD_DEADLINE_MESSAGE: &str = "Pod was active on the node longer than the specified deadline";

fn waiting(reason: &str) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.into()),
            message: None,
        }),
        ..Default::default()
    }
}

fn initial_status(pod: &Pod) -> PodStatus {
    let mk = |c: &Container, reason: &str| ContainerStatus {
        name: c.name.clone(),
        state: waiting(reason),
        image: c.image.clone().unwrap_or_default(),
        started: Some(false),
        ..Default::default()
    };
    let init_wait = if pod.spec.init_containers.is_empty() {
        "ContainerCreating"
    } else {
        "PodInitializing"
    };
    PodStatus {
        phase: Some(PHASE_PENDING.into()),
        init_container_statuses: pod
            .spec
            .init_containers
            .iter()
            .map(|c| mk(c, "PodInitializing"))
            .collect(),
        container_statuses: pod
            .spec
            .containers
            .iter()
            .map(|c| mk(c, init_wait))
            .collect(),
        ..Default::default()
    }
}

pub(super) async fn run_pod(
    inner: Arc<NodeInner>,
    pod: Arc<Pod>,
    base_dir: PathBuf,
    info: TaskInfo,
    queue: Option<super::task_host::QueueClient>,
    mut stop: watch::Receiver<Option<StopCause>>,
    handle: PodHandle,
) {
    let live = Live::new(inner.clone(), &pod, initial_status(&pod));
    live.update(|s| ensure_condition(s, "PodScheduled", true, None, None));

    // Pending until the node has room.
    let need = super::admission::pod_memory(&pod);
    if !inner.admission.fits_ever(need) {
        // As a scheduler would: Pending and unschedulable, until deleted.
        let budget = inner.config.memory_budget.unwrap_or(0);
        live.update(|s| {
            ensure_condition(
                s,
                "PodScheduled",
                false,
                Some("Unschedulable"),
                Some(&format!(
                    "0/1 nodes are available: 1 Insufficient memory (the pod's limits need {need} bytes; the node's --memory-budget is {budget})."
                )),
            )
        });
        let _ = stop.wait_for(Option::is_some).await;
        let cause = stop.borrow().clone();
        finish(&live, cause.as_ref(), None, None);
        return;
    }
    let group = pod
        .metadata
        .owner_references
        .first()
        .map(|o| o.uid.clone())
        .unwrap_or_else(|| pod.metadata.uid().to_string());
    let permit = tokio::select! {
        p = inner.admission.admit(&group, need) => p,
        _ = stop.wait_for(Option::is_some) => None,
    };
    let cause = stop.borrow().clone();
    if permit.is_none() || cause.is_some() {
        finish(&live, cause.as_ref(), None, None);
        return;
    }

    let started = now();
    live.update(|s| {
        s.phase = Some(PHASE_RUNNING.into());
        s.start_time = Some(started);
        ensure_condition(
            s,
            "Initialized",
            pod.spec.init_containers.is_empty(),
            None,
            None,
        );
    });

    // The pod's own deadline stops it like a deletion, with its own reason.
    if let Some(secs) = pod.spec.active_deadline_seconds.filter(|s| *s > 0) {
        let h = handle.clone();
        let deadline = Duration::from_secs(secs as u64);
        let mut watcher = stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(deadline) => h.stop(StopCause::PodDeadline),
                _ = watcher.wait_for(Option::is_some) => {}
            }
        });
    }

    let pod_dir = inner.config.pods_dir.join(pod.metadata.uid());
    let setup = Arc::new(PodSetup {
        info,
        outputs: outputs::of_pod(&pod, &base_dir),
        queue,
    });
    let volume_error = match volumes::prepare(&pod, &base_dir, &pod_dir, &setup.outputs) {
        Err(msg) => Some(msg),
        Ok(vols) => {
            let enforcer = storage_limits::enforce(&pod, &vols, handle.clone(), stop.clone());
            // Boxed: the pod's task stays small (it is moved whole when spawned).
            Box::pin(run_containers(&live, &pod, &setup, &base_dir, &vols, &stop)).await;
            enforcer.finish().await;
            None
        }
    };
    let cause = stop.borrow().clone();
    // The pod's work succeeded: publish its outputs before anyone hears of the success.
    let mut publish_error = None;
    if volume_error.is_none() && cause.is_none() && containers_succeeded(&live) {
        let unit = outputs::pod_unit(&pod);
        publish_error = outputs::publish_all(&setup.outputs, &unit, |w| live.note(w)).err();
    }
    for o in &setup.outputs {
        outputs::discard(o);
    }
    // Only emptyDir volumes make the pod's folder.
    if pod.spec.volumes.iter().any(|v| v.empty_dir.is_some()) {
        let _ = std::fs::remove_dir_all(&pod_dir);
    }
    drop(permit);
    finish(&live, cause.as_ref(), volume_error, publish_error);
}

/// Whether every container ended with exit code 0.
fn containers_succeeded(live: &Live) -> bool {
    let s = live.status.lock().unwrap_or_else(|e| e.into_inner());
    !s.container_statuses.is_empty()
        && s.container_statuses.iter().all(|c| {
            c.state
                .terminated
                .as_ref()
                .is_some_and(|t| t.exit_code == 0)
        })
}

/// Init containers one after another, then all containers side by side.
async fn run_containers(
    live: &Arc<Live>,
    pod: &Pod,
    setup: &Arc<PodSetup>,
    base_dir: &Path,
    vols: &HashMap<String, PathBuf>,
    stop: &watch::Receiver<Option<StopCause>>,
) {
    for c in &pod.spec.init_containers {
        if !run_container(live, pod, setup, c, true, base_dir, vols, stop.clone()).await {
            return;
        }
    }
    if !pod.spec.init_containers.is_empty() {
        live.update(|s| ensure_condition(s, "Initialized", true, None, None));
    }
    // One container (most pods): it runs in the pod's own task.
    if let [c] = pod.spec.containers.as_slice() {
        run_container(live, pod, setup, c, false, base_dir, vols, stop.clone()).await;
        return;
    }
    let mut set = tokio::task::JoinSet::new();
    for c in pod.spec.containers.clone() {
        let (live, pod, setup, base_dir, vols, stop) = (
            live.clone(),
            pod.clone(),
            setup.clone(),
            base_dir.to_path_buf(),
            vols.clone(),
            stop.clone(),
        );
        set.spawn(async move {
            run_container(&live, &pod, &setup, &c, false, &base_dir, &vols, stop).await
        });
    }
    while set.join_next().await.is_some() {}
}

/// Runs one container until it succeeds, fails for good, or the pod is stopped. Returns
/// whether it succeeded.
#[allow(clippy::too_many_arguments)]
async fn run_container(
    live: &Arc<Live>,
    pod: &Pod,
    setup: &Arc<PodSetup>,
    c: &Container,
    init: bool,
    base_dir: &Path,
    vols: &HashMap<String, PathBuf>,
    mut stop: watch::Receiver<Option<StopCause>>,
) -> bool {
    let cfg = &live.inner.config;
    let on_failure = pod.spec.restart_policy.as_deref() == Some("OnFailure");
    let plan = match plan(pod, c, base_dir, vols) {
        Ok(p) => p,
        Err(msg) => {
            let exit = Exit::StartError(msg);
            live.container(init, &c.name, |cs| {
                cs.state = terminated(&exit, None, now(), None, None)
            });
            return false;
        }
    };
    let mut restarts = 0i32;
    loop {
        if restarts > 0 {
            // A fresh start: the earlier attempt's staged outputs go.
            for o in setup.outputs.iter().filter(|o| mounts_volume(c, &o.name)) {
                if let Err(msg) = outputs::clear(o) {
                    live.note(msg);
                }
            }
        }
        let started = now();
        live.container(init, &c.name, |cs| {
            cs.state = ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: Some(started),
                }),
                ..Default::default()
            };
            cs.started = Some(true);
            cs.restart_count = restarts;
            cs.container_id = Some(format!(
                "wasmjob://{}/{}/{restarts}",
                pod.metadata.uid(),
                c.name
            ));
        });
        let log = LogWriter::in_memory(
            &log_path(&cfg.logs_dir, pod, &c.name, restarts),
            cfg.log_limit,
        );
        let exit = if stop.borrow().is_some() {
            Exit::Stopped
        } else {
            let mut s = stop.clone();
            let host = Arc::new(ContainerHost::new(
                live.clone(),
                pod,
                c,
                setup.clone(),
                restarts,
            ));
            // Boxed: the run's future is large, and the pod's task (which holds this one)
            // is moved whole when it is spawned.
            let mut run = Box::pin(live.inner.sandbox.run(&plan, &log, host, async move {
                let _ = s.wait_for(Option::is_some).await;
            }));
            // A run that lasts has its log in a file, where it can be followed.
            tokio::select! {
                exit = &mut run => exit,
                _ = tokio::time::sleep(cfg.inline_log_age) => {
                    log.spill();
                    run.await
                }
            }
        };
        if let Ok(Some(bytes)) = log.close() {
            live.add_log(RunLog {
                container: c.name.clone(),
                restart: restarts,
                bytes,
            });
        }
        let cause = stop.borrow().clone();
        let message = live.take_message(&c.name);
        let state = terminated(&exit, cause.as_ref(), started, Some(now()), message);
        if exit.success() || !on_failure || cause.is_some() {
            live.container(init, &c.name, |cs| {
                cs.state = state;
                cs.started = Some(false);
            });
            return exit.success();
        }
        // OnFailure: restart in place after the crash-loop back-off.
        let delay = crash_loop_delay(restarts, cfg.restart_backoff_base, cfg.restart_backoff_max);
        live.container(init, &c.name, |cs| {
            cs.last_state = state.clone();
            cs.state = waiting("CrashLoopBackOff");
            cs.state.waiting.as_mut().unwrap().message = Some(format!(
                "back-off {} restarting failed container={} pod={}",
                go_duration(delay),
                c.name,
                pod.metadata.name()
            ));
            cs.started = Some(false);
        });
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.wait_for(Option::is_some) => {
                live.container(init, &c.name, |cs| { cs.state = cs.last_state.clone(); });
                return false;
            }
        }
        restarts += 1;
        live.container(init, &c.name, |cs| cs.last_state = state);
    }
}

fn mounts_volume(c: &Container, volume: &str) -> bool {
    c.volume_mounts.iter().any(|m| m.name == volume)
}

fn crash_loop_delay(restarts: i32, base: Duration, max: Duration) -> Duration {
    let factor = 1u32
        .checked_shl(restarts.clamp(0, 30) as u32)
        .unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(max)
}

fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The terminated state of a run; `task_message` is the termination message the task
/// reported, which wins over wasmjob's own (as the content of `terminationMessagePath` does).
fn terminated(
    exit: &Exit,
    cause: Option<&StopCause>,
    started: Time,
    finished: Option<Time>,
    task_message: Option<String>,
) -> ContainerState {
    let (code, reason, message) = match (exit, cause) {
        (Exit::Stopped, Some(StopCause::PodDeadline)) => (
            exit_codes::DEADLINE_EXCEEDED,
            "DeadlineExceeded".to_string(),
            Some(POD_DEADLINE_MESSAGE.to_string()),
        ),
        (Exit::Stopped, Some(StopCause::Deleted(why) | StopCause::Evicted(why))) => (
            exit_codes::STOPPED,
            "Stopped".to_string(),
            Some(why.clone()),
        ),
        (Exit::Stopped, Some(StopCause::EvictedByApi)) => (
            exit_codes::STOPPED,
            "Stopped".to_string(),
            Some(super::EVICTION_API_MESSAGE.to_string()),
        ),
        (Exit::Stopped, Some(StopCause::Shutdown)) => (
            exit_codes::STOPPED,
            "Stopped".to_string(),
            Some("stopped because wasmjob shut down".to_string()),
        ),
        _ => (exit.exit_code(), exit.reason().to_string(), exit.message()),
    };
    let message = task_message.or(message);
    ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: code,
            signal: None,
            reason: Some(reason),
            message,
            started_at: Some(started),
            finished_at: Some(finished.unwrap_or(started)),
            container_id: None,
        }),
        ..Default::default()
    }
}

/// The plan of one container: module, argv, env, mounts, memory limit and fuel.
fn plan(
    pod: &Pod,
    c: &Container,
    base_dir: &Path,
    vols: &HashMap<String, PathBuf>,
) -> Result<ContainerPlan, String> {
    let annotations = &pod.metadata.annotations;
    let module = module_path(annotations, c, base_dir)?;
    let env = env::environment(pod, c)?;
    let args = env::argv(c, &env);
    let mounts = volumes::mounts(c, vols)?;
    let fuel_text = per_container(annotations, FUEL_ANNOTATION_PREFIX, &c.name)
        .or_else(|| annotations.get(FUEL_ANNOTATION));
    let fuel = match fuel_text {
        Some(t) => Some(
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("fuel annotation {t:?} is not a positive integer"))?,
        ),
        None => None,
    };
    Ok(ContainerPlan {
        module,
        args,
        env,
        mounts,
        memory_limit: c.memory_limit_bytes(),
        fuel,
    })
}

/// The annotation `<prefix><container>`, found without making its name (this runs for every
/// container run).
fn per_container<'a>(
    annotations: &'a std::collections::BTreeMap<String, String>,
    prefix: &str,
    container: &str,
) -> Option<&'a String> {
    annotations
        .iter()
        .find(|(k, _)| k.strip_prefix(prefix) == Some(container))
        .map(|(_, v)| v)
}

/// `wasmjob.dev/module.<container>` if set, else `image`: a path relative to the manifest's
/// folder, or a `file://` URL.
pub fn module_path(
    annotations: &std::collections::BTreeMap<String, String>,
    c: &Container,
    base_dir: &Path,
) -> Result<PathBuf, String> {
    let (source, from_annotation) =
        match per_container(annotations, MODULE_ANNOTATION_PREFIX, &c.name) {
            Some(m) => (m.as_str(), true),
            None => (c.image.as_deref().unwrap_or(""), false),
        };
    if source.is_empty() {
        return Err(format!("container {:?} has no image", c.name));
    }
    let path = base_dir.join(source.strip_prefix("file://").unwrap_or(source));
    if !from_annotation && !source.ends_with(".wasm") && !path.exists() {
        return Err(format!(
            "image {source:?} of container {:?} is not a local .wasm file; to run a manifest written for a cluster, set the pod annotation {MODULE_ANNOTATION_PREFIX}{} to the module's path",
            c.name, c.name
        ));
    }
    Ok(path)
}

/// Sets the terminal phase and reports the pod's last status. A pod whose outputs could not
/// be published failed, whatever its containers said.
fn finish(
    live: &Live,
    cause: Option<&StopCause>,
    volume_error: Option<String>,
    publish_error: Option<String>,
) {
    live.flush_progress();
    // Changed in place, under the status lock: a report taken meanwhile sees the status
    // before or after, never half of it.
    live.finish_in_place(move |s| {
        let at = now();
        // Containers that never ran end as stopped (or as not started, when volumes failed).
        for cs in s
            .init_container_statuses
            .iter_mut()
            .chain(s.container_statuses.iter_mut())
        {
            if cs.state.terminated.is_none() {
                let exit = match &volume_error {
                    Some(msg) => Exit::StartError(msg.clone()),
                    None => Exit::Stopped,
                };
                let ran = cs.state.running.is_some();
                let started = cs
                    .state
                    .running
                    .as_ref()
                    .and_then(|r| r.started_at)
                    .unwrap_or(at);
                if ran || cause.is_some() || volume_error.is_some() {
                    cs.state = terminated(&exit, cause, started, Some(at), None);
                }
            }
            cs.ready = false;
        }
        let all_ok = s.container_statuses.iter().all(|c| {
            c.state
                .terminated
                .as_ref()
                .is_some_and(|t| t.exit_code == 0)
        });
        // An evicted pod has failed, even when its containers ended well before the last
        // measurement found its volume over the limit.
        let evicted = matches!(cause, Some(StopCause::Evicted(_)));
        s.phase = Some(
            if all_ok && !s.container_statuses.is_empty() && publish_error.is_none() && !evicted {
                PHASE_SUCCEEDED
            } else {
                PHASE_FAILED
            }
            .into(),
        );
        let reason = if s.phase.as_deref() == Some(PHASE_SUCCEEDED) {
            "PodCompleted"
        } else {
            "PodFailed"
        };
        ensure_condition(s, "ContainersReady", false, Some(reason), None);
        ensure_condition(s, "Ready", false, Some(reason), None);
        match cause {
            Some(StopCause::PodDeadline) if s.phase.as_deref() == Some(PHASE_FAILED) => {
                s.reason = Some("DeadlineExceeded".into());
                s.message = Some(POD_DEADLINE_MESSAGE.into());
            }
            Some(StopCause::Evicted(why)) => {
                s.reason = Some("Evicted".into());
                s.message = Some(why.clone());
                ensure_condition(
                    s,
                    "DisruptionTarget",
                    true,
                    Some("TerminationByKubelet"),
                    Some(why.as_str()),
                );
            }
            Some(StopCause::EvictedByApi) => ensure_condition(
                s,
                "DisruptionTarget",
                true,
                Some("EvictionByEvictionAPI"),
                Some(super::EVICTION_API_MESSAGE),
            ),
            Some(StopCause::Shutdown) => ensure_condition(
                s,
                "DisruptionTarget",
                true,
                Some("TerminationByKubelet"),
                Some("wasmjob is shutting down"),
            ),
            _ => {}
        }
        if let Some(msg) = volume_error {
            s.message = Some(msg);
        }
        if let Some(msg) = publish_error {
            s.reason = Some("OutputsNotPublished".into());
            s.message = Some(msg);
        }
    });
}
