//! Writing Jobs through the API: `POST` (create), `PUT` (replace) and `PATCH` (the patch types
//! of [`super::patches`]), as `kubectl create`, `kubectl apply`, `kubectl replace`,
//! `kubectl patch` and the client libraries send them.
//!
//! A new Job is read, defaulted and validated as a manifest is (`wasmjob apply`'s rules); its
//! modules must load; relative images, hostPaths and the items-file annotation resolve against
//! serve's `--image-dir`, as the request carries no folder. A change keeps what the server
//! owns (identity, generated selector, status), must be one Kubernetes allows (`field is
//! immutable` otherwise), and with a `metadata.resourceVersion` other than the stored one it is
//! a Conflict. `dryRun=All` checks everything and stores nothing.
//!
//! Must not: run the Job (the controller does, when the store shows it).

use super::ApiState;
use super::list_options::ApiQuery;
use super::objects::write;
use super::patches::{self, PatchType};
use super::status::ApiError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use wasmjob_control::ops::manifest::Manifest;
use wasmjob_control::store::{JobRecord, StoreError};
use wasmjob_spec::{FieldError, Job, Time, defaults};

/// The query parameters of a write. `fieldValidation` is accepted with any value: unknown
/// fields are always refused (kubectl's default, `Strict`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteQuery {
    dry_run: Option<String>,
    #[allow(dead_code)]
    field_validation: Option<String>,
    #[allow(dead_code)]
    field_manager: Option<String>,
}

impl WriteQuery {
    pub(super) fn dry_run(&self) -> Result<bool, ApiError> {
        match self.dry_run.as_deref() {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "dryRun: Unsupported value: {other:?}: supported values: \"All\""
            ))),
        }
    }
}

fn invalid(name: &str, errors: &[FieldError]) -> ApiError {
    ApiError::invalid("Job", "batch", name, errors)
}

/// Reads a request body as one Job, defaulted and validated as a manifest is.
fn read_job(body: &[u8], ns: &str) -> Result<Job, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the request body is not UTF-8 text".into()))?;
    let mut loaded = wasmjob_spec::load_jobs(text, "request").map_err(|e| {
        let first = e.objects.into_iter().next();
        match first {
            Some(o) if o.errors.iter().all(|e| e.path.is_empty()) && o.kind.is_empty() => {
                let words: Vec<String> = o.errors.iter().map(|e| e.detail.clone()).collect();
                ApiError::bad_request(format!(
                    "the request body is not a Job: {}",
                    words.join("; ")
                ))
            }
            Some(o) => invalid(&o.name, &o.errors),
            None => ApiError::bad_request("the request body is not a Job".into()),
        }
    })?;
    if loaded.len() != 1 {
        return Err(ApiError::bad_request(format!(
            "the request body must hold one Job, not {}",
            loaded.len()
        )));
    }
    let mut job = loaded.remove(0).job;
    check_namespace(&mut job, ns)?;
    Ok(job)
}

/// Reads a request body as one Job, without defaults or validation (a replaced object is
/// checked as an update).
fn decode_job(body: &[u8]) -> Result<Job, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the request body is not UTF-8 text".into()))?;
    if text.len() > wasmjob_spec::parse::MAX_MANIFEST_BYTES {
        return Err(ApiError::bad_request(format!(
            "the request body is larger than {} bytes",
            wasmjob_spec::parse::MAX_MANIFEST_BYTES
        )));
    }
    let docs = wasmjob_spec::parse::split_documents(text);
    let [doc] = docs.as_slice() else {
        return Err(ApiError::bad_request(format!(
            "the request body must hold one Job, not {}",
            docs.len()
        )));
    };
    wasmjob_spec::parse::read_document(doc).map_err(|e| invalid("", &[e]))
}

/// The namespace of the object must be the request's (or unset: then it is).
fn check_namespace(job: &mut Job, ns: &str) -> Result<(), ApiError> {
    match job.metadata.namespace.as_deref() {
        Some(n) if n != ns => Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        )),
        _ => {
            job.metadata.namespace = Some(ns.to_string());
            Ok(())
        }
    }
}

/// The modules of a new Job must load; a module that does not is an invalid `image`.
async fn check_modules(state: &ApiState, job: &Job) -> Result<(), ApiError> {
    let Err(problem) =
        wasmjob_control::node::prepare_modules(&state.sandbox, job, &state.image_dir).await
    else {
        return Ok(());
    };
    let spec = &job.spec.template.spec;
    let groups = [
        ("initContainers", &spec.init_containers),
        ("containers", &spec.containers),
    ];
    let field = |name: &str| {
        groups.iter().find_map(|(group, list)| {
            let i = list.iter().position(|c| c.name == name)?;
            Some((format!("spec.template.spec.{group}[{i}]"), &list[i]))
        })
    };
    let hint = format!(
        " (a relative image of a Job sent to the API resolves against serve's --image-dir, {})",
        state.image_dir.display()
    );
    let error = match problem.container.as_deref().and_then(field) {
        Some((path, c)) => FieldError::invalid(
            format!("{path}.image"),
            c.image.clone().unwrap_or_default(),
            format!("{}{hint}", problem.message),
        ),
        None => FieldError::invalid_omit_value(
            "spec.template.spec.containers",
            format!("{}{hint}", problem.message),
        ),
    };
    Err(invalid(job.name(), &[error]))
}

pub async fn create_job(
    State(state): State<Arc<ApiState>>,
    Path(ns): Path<String>,
    ApiQuery(q): ApiQuery<WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    super::status::check_body_type(&headers)?;
    let dry_run = q.dry_run()?;
    let mut job = read_job(&body, &ns)?;
    check_modules(&state, &job).await?;
    wasmjob_control::ops::manifest::give_identity(&mut job, Time(jiff::Timestamp::now()));
    let mut manifest = Manifest {
        job,
        base_dir: state.image_dir.clone(),
        items: None,
    };
    wasmjob_control::ops::items::attach_items(std::slice::from_mut(&mut manifest), None)?;
    let Manifest {
        job,
        base_dir,
        items,
    } = manifest;
    let job = write(&state, move |store| {
        let mut batch = store.batch()?;
        let mut record = JobRecord {
            job,
            backoff: Default::default(),
            base_dir,
        };
        match batch.create_job(&mut record, None) {
            Err(StoreError::AlreadyExists { name }) => {
                return Err(ApiError::already_exists("batch", "jobs.batch", &name));
            }
            r => r?,
        }
        if let Some(items) = &items {
            batch.add_queue_items(record.job.metadata.uid(), items)?;
        }
        if dry_run {
            // Rolled back: what would have been stored, without a resourceVersion.
            record.job.metadata.resource_version = None;
        } else {
            batch.commit()?;
        }
        Ok(record.job)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!(job))))
}

/// What a replace or patch makes of the stored Job.
enum Change {
    /// The whole new object (PUT).
    Replace(Box<Job>),
    /// A patch of the stored object's JSON.
    Patch(PatchType, Bytes),
}

/// The stored Job changed by `change`: refused as a Conflict when the new object carries a
/// `resourceVersion` or `uid` other than the stored one, as Invalid when Kubernetes would not
/// allow it; not written when nothing changes. A dry run makes the same change in a
/// transaction that is rolled back, and answers what would have been stored (a new
/// `generation` included) with the stored resourceVersion.
async fn change_job(
    state: Arc<ApiState>,
    ns: String,
    name: String,
    change: Change,
    dry_run: bool,
) -> Result<Json<Value>, ApiError> {
    let job = write(&state, move |store| {
        let mut batch = store.batch()?;
        let mut unchanged = None;
        let mut stored_version = None;
        let outcome = batch.change_job(&ns, &name, |old| {
            stored_version = old.metadata.resource_version.clone();
            let new = changed(old, &change, &ns, &name)?;
            let mut bare = old.clone();
            bare.status = None;
            if new == bare {
                let mut same = new;
                same.status = old.status.clone();
                unchanged = Some(same);
                // Not an error: nothing is to be written.
                return Err(None);
            }
            Ok(new)
        })?;
        match outcome {
            None => Err(ApiError::not_found("batch", "jobs.batch", &name)),
            Some(Ok(mut job)) if dry_run => {
                drop(batch);
                job.metadata.resource_version = stored_version;
                Ok(job)
            }
            Some(Ok(job)) => {
                batch.commit()?;
                Ok(job)
            }
            Some(Err(Some(e))) => Err(e),
            Some(Err(None)) => unchanged.ok_or_else(|| ApiError::internal("lost update".into())),
        }
    })
    .await?;
    Ok(Json(json!(job)))
}

fn changed(old: &Job, change: &Change, ns: &str, name: &str) -> Result<Job, Option<ApiError>> {
    let mut new = match change {
        Change::Replace(job) => (**job).clone(),
        Change::Patch(kind, patch) => {
            let doc = serde_json::to_value(old).map_err(|e| ApiError::internal(e.to_string()))?;
            let patched = patches::apply(*kind, &doc, patch)?;
            let job: Job = serde_path_to_error::deserialize(patched).map_err(|e| {
                let path = e.path().to_string();
                let error = wasmjob_spec::parse::classify(path, &e.inner().to_string(), None);
                invalid(name, &[error])
            })?;
            job
        }
    };
    if let Change::Replace(_) = change
        && new.metadata.name.as_deref() != Some(name)
    {
        return Err(Some(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            new.metadata.name.as_deref().unwrap_or("")
        ))));
    }
    if new.metadata.name.as_deref() != Some(name) {
        let error = FieldError::invalid(
            "metadata.name",
            new.metadata.name.clone().unwrap_or_default(),
            "field is immutable",
        );
        return Err(Some(invalid(name, &[error])));
    }
    check_namespace(&mut new, ns)?;
    let stale = |theirs: &Option<String>, ours: &Option<String>| {
        theirs.as_deref().is_some_and(|t| !t.is_empty()) && theirs != ours
    };
    if stale(
        &new.metadata.resource_version,
        &old.metadata.resource_version,
    ) || stale(&new.metadata.uid, &old.metadata.uid)
    {
        return Err(Some(ApiError::conflict("batch", "jobs.batch", name)));
    }
    defaults::apply(&mut new);
    let now = Time(jiff::Timestamp::now());
    wasmjob_control::ops::update::updated(old, new, now)
        .map_err(|errors| Some(invalid(name, &errors)))
}

pub async fn replace_job(
    State(state): State<Arc<ApiState>>,
    Path((ns, name)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    super::status::check_body_type(&headers)?;
    let dry_run = q.dry_run()?;
    let job = decode_job(&body)?;
    change_job(state, ns, name, Change::Replace(Box::new(job)), dry_run).await
}

pub async fn patch_job(
    State(state): State<Arc<ApiState>>,
    Path((ns, name)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let dry_run = q.dry_run()?;
    let kind = PatchType::of_request(&headers)?;
    change_job(state, ns, name, Change::Patch(kind, body), dry_run).await
}
