//! `DELETE` of a Job or a Pod, as `kubectl delete` sends it: the Job is marked for deletion
//! with the body's `propagationPolicy` (`Background`, `Foreground`, `Orphan`; for a Job the
//! API's default is `Orphan`, as on a cluster) and its controller stops its pods and removes
//! it; a pod is stopped, counted and removed by its Job's controller. The answer is the object
//! as it is then, with its `deletionTimestamp`; kubectl then watches it go. With
//! `dryRun=All` nothing is deleted and the object is answered as it is.

use super::ApiState;
use super::job_writes::WriteQuery;
use super::status::ApiError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};
use std::sync::Arc;

/// Whether a `DeleteOptions` body asks for a dry run (`"dryRun": ["All"]`; kubectl sends it
/// there rather than in the query).
fn dry_run_in(body: &[u8]) -> Result<bool, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(false);
    }
    let options: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?;
    match options.get("dryRun") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Array(v)) if v.is_empty() => Ok(false),
        Some(Value::Array(v)) if v.iter().all(|x| x == "All") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "dryRun: Unsupported value: {other}: supported values: \"All\""
        ))),
    }
}

/// The policy a `DeleteOptions` body asks for, or `default`.
fn propagation(body: &[u8], default: &'static str) -> Result<&'static str, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(default);
    }
    let options: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?;
    match options.get("propagationPolicy").and_then(Value::as_str) {
        None => Ok(default),
        Some("Background") => Ok("Background"),
        Some("Foreground") => Ok("Foreground"),
        Some("Orphan") => Ok("Orphan"),
        Some(other) => Err(ApiError::bad_request(format!(
            "propagationPolicy: Unsupported value: {other:?}: supported values: \"Background\", \"Foreground\", \"Orphan\""
        ))),
    }
}

/// Runs `change` on the store on a blocking thread; a CLI failure becomes a 500.
async fn write<T: Send + 'static>(
    state: &Arc<ApiState>,
    change: impl FnOnce(&mut crate::store::Store) -> Result<T, crate::cli::Failure> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let mut store = state.store.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut store).map_err(|f| ApiError::internal(f.message))
    })
    .await
    .map_err(|e| ApiError::internal(format!("the store writer failed: {e}")))?
}

pub async fn delete_job(
    State(state): State<Arc<ApiState>>,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Query<WriteQuery>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let policy = propagation(&body, "Orphan")?;
    let dry_run = q.dry_run()? || dry_run_in(&body)?;
    let wanted = name.clone();
    let job = write(&state, move |s| {
        let before = s.get_job(&ns, &wanted)?;
        if before.is_none() || dry_run {
            return Ok(before.map(|r| r.job));
        }
        crate::cli::delete::delete_job(s, &ns, &wanted, policy, false, None)?;
        // The object as it is now: marked, or already gone (then as it was).
        Ok(s.get_job(&ns, &wanted)?.or(before).map(|r| r.job))
    })
    .await?
    .ok_or_else(|| ApiError::not_found("batch", "jobs.batch", &name))?;
    Ok(Json(json!(job)))
}

pub async fn delete_pod(
    State(state): State<Arc<ApiState>>,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Query<WriteQuery>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let dry_run = q.dry_run()? || dry_run_in(&body)?;
    let wanted = name.clone();
    let pod = write(&state, move |s| {
        let Some(before) = s.get_pod(&ns, &wanted)? else {
            return Ok(None);
        };
        if dry_run {
            return Ok(Some(before));
        }
        crate::cli::delete::delete_pod(s, &ns, &wanted, false, None)?;
        Ok(Some(s.get_pod(&ns, &wanted)?.unwrap_or(before)))
    })
    .await?
    .ok_or_else(|| ApiError::not_found("", "pods", &name))?;
    Ok(Json(json!(pod)))
}

#[cfg(test)]
mod tests {
    use super::propagation;

    #[test]
    fn propagation_comes_from_delete_options() {
        assert_eq!(propagation(b"", "Orphan").ok(), Some("Orphan"));
        assert_eq!(
            propagation(
                br#"{"kind":"DeleteOptions","propagationPolicy":"Background"}"#,
                "Orphan"
            )
            .ok(),
            Some("Background")
        );
        assert_eq!(
            propagation(br#"{"kind":"DeleteOptions"}"#, "Orphan").ok(),
            Some("Orphan")
        );
        assert!(propagation(br#"{"propagationPolicy":"Sideways"}"#, "Orphan").is_err());
        assert!(propagation(b"{not json", "Orphan").is_err());
        assert!(super::dry_run_in(br#"{"dryRun":["All"]}"#).unwrap());
        assert!(!super::dry_run_in(br#"{"kind":"DeleteOptions"}"#).unwrap());
        assert!(super::dry_run_in(br#"{"dryRun":["Some"]}"#).is_err());
    }
}
