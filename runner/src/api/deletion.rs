//! `DELETE` of a Job or a Pod, as `kubectl delete` sends it: the Job is marked for deletion
//! with the body's `propagationPolicy` (`Background`, `Foreground`, `Orphan`; for a Job the
//! API's default is `Orphan`, as on a cluster) and its controller stops its pods and removes
//! it; a pod is stopped, counted and removed by its Job's controller. The answer is the object
//! as it is then, with its `deletionTimestamp`; kubectl then watches it go. With
//! `dryRun=All` nothing is deleted and the object is answered as it is.

use super::ApiState;
use super::job_writes::WriteQuery;
use super::objects::write;
use super::status::ApiError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};
use std::sync::Arc;

/// What a `DeleteOptions` body asks for: the propagation policy (or `default`), and whether
/// it is a dry run (`"dryRun": ["All"]`; kubectl sends it there rather than in the query).
fn delete_options(body: &[u8], default: &'static str) -> Result<(&'static str, bool), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((default, false));
    }
    let options: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?;
    let policy = match options.get("propagationPolicy").and_then(Value::as_str) {
        None => default,
        Some("Background") => "Background",
        Some("Foreground") => "Foreground",
        Some("Orphan") => "Orphan",
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "propagationPolicy: Unsupported value: {other:?}: supported values: \"Background\", \"Foreground\", \"Orphan\""
            )));
        }
    };
    let dry_run = match options.get("dryRun") {
        None | Some(Value::Null) => false,
        Some(Value::Array(v)) if v.is_empty() => false,
        Some(Value::Array(v)) if v.iter().all(|x| x == "All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "dryRun: Unsupported value: {other}: supported values: \"All\""
            )));
        }
    };
    Ok((policy, dry_run))
}

pub async fn delete_job(
    State(state): State<Arc<ApiState>>,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Query<WriteQuery>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let (policy, dry_run_asked) = delete_options(&body, "Orphan")?;
    let dry_run = q.dry_run()? || dry_run_asked;
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
    let dry_run = q.dry_run()? || delete_options(&body, "Background")?.1;
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
    use super::delete_options;

    fn propagation(body: &[u8], default: &'static str) -> Result<&'static str, ()> {
        delete_options(body, default).map(|o| o.0).map_err(|_| ())
    }

    fn dry_run_in(body: &[u8]) -> Result<bool, ()> {
        delete_options(body, "Orphan").map(|o| o.1).map_err(|_| ())
    }

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
        assert!(dry_run_in(br#"{"dryRun":["All"]}"#).unwrap());
        assert!(!dry_run_in(br#"{"kind":"DeleteOptions"}"#).unwrap());
        assert!(dry_run_in(br#"{"dryRun":["Some"]}"#).is_err());
    }
}
