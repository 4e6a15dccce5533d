//! `DELETE` of a Job, a Pod or a Node, as `kubectl delete` and the client libraries send it. The
//! `DeleteOptions` come from the body, or when there is none from the query (as the API
//! server's `DeleteResource` reads them: `propagationPolicy`, `orphanDependents`,
//! `gracePeriodSeconds`, `dryRun`; `preconditions` only in a body), checked by the API
//! server's `ValidateDeleteOptions`.
//!
//! The Job is marked for deletion with the propagation policy (`Background`, `Foreground`,
//! `Orphan`; for a Job the API's default is `Orphan`, as on a cluster; `orphanDependents`
//! true means `Orphan`, false `Background`) and its controller stops its pods and removes it;
//! a pod is stopped, counted and removed by its Job's controller. Pods stop at once:
//! `gracePeriodSeconds` is read and has no further effect. The answer is the object as it is
//! then, with its `deletionTimestamp`; kubectl then watches it go. A failed precondition
//! (`uid`, `resourceVersion`) is a Conflict. With `dryRun: [All]` the deletion is made in a
//! transaction that is rolled back: the answer is what it would have been.

use super::ApiState;
use super::list_options::{decode_query, query_bool, query_int};
use super::objects::write;
use super::status::ApiError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Uri;
use serde_json::{Value, json};
use std::sync::Arc;
use wasmjob_spec::{FieldError, Time};

const POLICIES: [&str; 3] = ["Foreground", "Background", "Orphan"];

/// `metav1.DeleteOptions`, from a body.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteBody {
    #[allow(dead_code)]
    kind: Option<String>,
    #[allow(dead_code)]
    api_version: Option<String>,
    grace_period_seconds: Option<i64>,
    preconditions: Option<Preconditions>,
    orphan_dependents: Option<bool>,
    propagation_policy: Option<String>,
    #[serde(default)]
    dry_run: Vec<String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Preconditions {
    uid: Option<String>,
    resource_version: Option<String>,
}

/// `metav1.DeleteOptions`, from a query (every field but `preconditions`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteQuery {
    #[serde(default, deserialize_with = "query_int")]
    grace_period_seconds: Option<i64>,
    #[serde(default, deserialize_with = "query_opt_bool")]
    orphan_dependents: Option<bool>,
    propagation_policy: Option<String>,
    dry_run: Option<String>,
}

fn query_opt_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    query_bool(d).map(Some)
}

/// What a deletion asks for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DeleteOptions {
    /// The propagation policy, `None`: the kind's default.
    policy: Option<&'static str>,
    dry_run: bool,
    grace_period_seconds: Option<i64>,
    preconditions: Preconditions,
}

impl DeleteOptions {
    /// The options of a `DELETE`: its body when it has one, else its query.
    fn read(body: &[u8], uri: &Uri) -> Result<DeleteOptions, ApiError> {
        let sent = if body.iter().all(u8::is_ascii_whitespace) {
            let q: DeleteQuery = decode_query(uri)?;
            DeleteBody {
                grace_period_seconds: q.grace_period_seconds,
                orphan_dependents: q.orphan_dependents,
                propagation_policy: q.propagation_policy,
                dry_run: q.dry_run.into_iter().filter(|d| !d.is_empty()).collect(),
                ..Default::default()
            }
        } else if super::protobuf::is_protobuf(body) {
            let json = super::protobuf::delete_options_json(body)
                .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?;
            serde_json::from_value(json)
                .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
        } else {
            serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
        };
        let mut errors = Vec::new();
        if sent.orphan_dependents.is_some() && sent.propagation_policy.is_some() {
            errors.push(FieldError::invalid(
                "propagationPolicy",
                sent.propagation_policy.clone().unwrap_or_default(),
                "orphanDependents and deletionPropagation cannot be both set",
            ));
        }
        let policy = match (sent.propagation_policy.as_deref(), sent.orphan_dependents) {
            (Some(p), _) => match POLICIES.iter().find(|known| **known == p) {
                Some(known) => Some(*known),
                None => {
                    let mut supported = POLICIES.to_vec();
                    supported.push("nil");
                    errors.push(FieldError::unsupported("propagationPolicy", p, &supported));
                    None
                }
            },
            (None, Some(true)) => Some("Orphan"),
            (None, Some(false)) => Some("Background"),
            (None, None) => None,
        };
        if let Some(other) = sent.dry_run.iter().find(|d| *d != "All") {
            errors.push(FieldError::unsupported("dryRun", other, &["All"]));
        }
        if !errors.is_empty() {
            return Err(ApiError::invalid(
                "DeleteOptions",
                "meta.k8s.io",
                "",
                &errors,
            ));
        }
        Ok(DeleteOptions {
            policy,
            dry_run: !sent.dry_run.is_empty(),
            grace_period_seconds: sent.grace_period_seconds,
            preconditions: sent.preconditions.unwrap_or_default(),
        })
    }

    /// The storage's precondition check: the object must be the one the client means.
    fn check(
        &self,
        resource: &str,
        name: &str,
        meta: &wasmjob_spec::ObjectMeta,
    ) -> Result<(), ApiError> {
        let failed = |what: &str, theirs: &str, ours: &str| {
            ApiError::precondition_failed(format!(
                "Operation cannot be fulfilled on {resource} {name:?}: Precondition failed: {what} in precondition: {theirs}, {what} in object meta: {ours}"
            ))
        };
        if let Some(uid) = &self.preconditions.uid
            && uid != meta.uid()
        {
            return Err(failed("UID", uid, meta.uid()));
        }
        let ours = meta.resource_version.as_deref().unwrap_or("");
        if let Some(rv) = &self.preconditions.resource_version
            && rv != ours
        {
            return Err(failed("ResourceVersion", rv, ours));
        }
        Ok(())
    }
}

pub async fn delete_job(
    State(state): State<Arc<ApiState>>,
    Path((ns, name)): Path<(String, String)>,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let options = DeleteOptions::read(&body, &uri)?;
    let policy = options.policy.unwrap_or("Orphan");
    let wanted = name.clone();
    let job = write(&state, move |s| {
        let Some(before) = s.get_job(&ns, &wanted)? else {
            return Ok(None);
        };
        options.check("jobs.batch", &wanted, &before.job.metadata)?;
        if options.dry_run {
            // The mark the deletion would make, rolled back.
            let now = Time(jiff::Timestamp::now());
            let mut batch = s.batch()?;
            let marked = batch.mark_job_deleting(&ns, &wanted, policy, now)?;
            drop(batch);
            return Ok(marked.map(|(_, mut job)| {
                job.metadata.resource_version = before.job.metadata.resource_version.clone();
                job
            }));
        }
        wasmjob_control::ops::delete::delete_job(s, &ns, &wanted, policy, false, None)?;
        // The object as it is now: marked, or already gone (then as it was).
        Ok(s.get_job(&ns, &wanted)?.or(Some(before)).map(|r| r.job))
    })
    .await?
    .ok_or_else(|| ApiError::not_found("batch", "jobs.batch", &name))?;
    Ok(Json(json!(job)))
}

pub async fn delete_pod(
    State(state): State<Arc<ApiState>>,
    Path((ns, name)): Path<(String, String)>,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let options = DeleteOptions::read(&body, &uri)?;
    let wanted = name.clone();
    let pod = write(&state, move |s| {
        let Some(before) = s.get_pod(&ns, &wanted)? else {
            return Ok(None);
        };
        options.check("pods", &wanted, &before.metadata)?;
        // A pod's deletion is a mark beside it: the object is the same until it goes.
        if options.dry_run {
            return Ok(Some(before));
        }
        wasmjob_control::ops::delete::delete_pod(s, &ns, &wanted, false, None)?;
        Ok(Some(s.get_pod(&ns, &wanted)?.unwrap_or(before)))
    })
    .await?
    .ok_or_else(|| ApiError::not_found("", "pods", &name))?;
    Ok(Json(json!(pod)))
}

/// `DELETE` of a node: it goes at once (nodes have no finalizers here), and the answer is a
/// `Success` Status naming it, as the API server answers for an object deleted at once.
pub async fn delete_node(
    State(state): State<Arc<ApiState>>,
    Path(name): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let options = DeleteOptions::read(&body, &uri)?;
    let wanted = name.clone();
    let before = write(&state, move |s| {
        let Some(before) = s.node(&wanted)? else {
            return Ok(None);
        };
        options.check("nodes", &wanted, &before.metadata)?;
        if !options.dry_run {
            wasmjob_control::ops::nodes::delete(s, &wanted)?;
        }
        Ok(Some(before))
    })
    .await?
    .ok_or_else(|| ApiError::not_found("", "nodes", &name))?;
    Ok(Json(json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": before.name(), "kind": "nodes", "uid": before.metadata.uid()},
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str, query: &str) -> Result<DeleteOptions, (u16, String)> {
        let uri: Uri = format!("/apis/batch/v1/namespaces/default/jobs/x?{query}")
            .parse()
            .unwrap();
        DeleteOptions::read(body.as_bytes(), &uri)
            .map_err(|e| (e.code().as_u16(), e.message().to_string()))
    }

    /// Every DeleteOptions field the API server reads from a query (`metav1.DeleteOptions`'
    /// `json` tags, but `preconditions`), read from the query; and from a body, which wins
    /// whole when there is one (the API server reads the query only without a body).
    #[test]
    fn delete_options_come_from_the_body_or_else_the_query() {
        let policy = |body: &str, query: &str| read(body, query).map(|o| o.policy);
        let dry = |body: &str, query: &str| read(body, query).map(|o| o.dry_run);
        for (query, want) in [
            ("propagationPolicy=Background", Some("Background")),
            ("propagationPolicy=Foreground", Some("Foreground")),
            ("propagationPolicy=Orphan", Some("Orphan")),
            ("orphanDependents=true", Some("Orphan")),
            ("orphanDependents=false", Some("Background")),
            ("", None),
        ] {
            assert_eq!(policy("", query), Ok(want), "{query}");
        }
        assert_eq!(dry("", "dryRun=All"), Ok(true));
        assert_eq!(dry("", ""), Ok(false));
        assert_eq!(
            read("", "gracePeriodSeconds=0").map(|o| o.grace_period_seconds),
            Ok(Some(0))
        );
        // A body: the query is not read.
        assert_eq!(
            policy(
                r#"{"kind":"DeleteOptions","propagationPolicy":"Foreground"}"#,
                "propagationPolicy=Orphan"
            ),
            Ok(Some("Foreground"))
        );
        assert_eq!(
            policy(r#"{"kind":"DeleteOptions"}"#, "propagationPolicy=Orphan"),
            Ok(None)
        );
        assert_eq!(dry(r#"{"dryRun":["All"]}"#, ""), Ok(true));
        assert_eq!(
            read(
                r#"{"preconditions":{"uid":"u1","resourceVersion":"7"}}"#,
                ""
            )
            .map(|o| o.preconditions),
            Ok(Preconditions {
                uid: Some("u1".into()),
                resource_version: Some("7".into()),
            })
        );
        assert_eq!(
            read(r#"{"gracePeriodSeconds":30}"#, "").map(|o| o.grace_period_seconds),
            Ok(Some(30))
        );
    }

    /// `ValidateDeleteOptions`, and the decoding of a body or query that does not decode.
    #[test]
    fn delete_options_are_checked_by_the_api_servers_rules() {
        for (body, query, code, words) in [
            (
                "",
                "propagationPolicy=Sideways",
                422,
                "Unsupported value: \"Sideways\"",
            ),
            (
                r#"{"propagationPolicy":"Sideways"}"#,
                "",
                422,
                "supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"",
            ),
            (
                "",
                "orphanDependents=true&propagationPolicy=Orphan",
                422,
                "orphanDependents and deletionPropagation cannot be both set",
            ),
            (
                "",
                "dryRun=Some",
                422,
                "dryRun: Unsupported value: \"Some\"",
            ),
            (
                r#"{"dryRun":["Some"]}"#,
                "",
                422,
                "supported values: \"All\"",
            ),
            ("", "gracePeriodSeconds=soon", 400, "invalid syntax"),
            ("{not json", "", 400, "invalid DeleteOptions"),
        ] {
            let (got, message) = read(body, query).expect_err(query);
            assert_eq!(got, code, "{body} {query}: {message}");
            assert!(message.contains(words), "{body} {query}: {message}");
            if code == 422 {
                assert!(
                    message.starts_with("DeleteOptions.meta.k8s.io \"\" is invalid"),
                    "{message}"
                );
            }
        }
    }

    #[test]
    fn preconditions_must_match_the_object() {
        let options = read(
            r#"{"preconditions":{"uid":"u1","resourceVersion":"7"}}"#,
            "",
        )
        .unwrap();
        let meta = |uid: &str, rv: &str| wasmjob_spec::ObjectMeta {
            uid: Some(uid.into()),
            resource_version: Some(rv.into()),
            ..Default::default()
        };
        assert!(options.check("jobs.batch", "x", &meta("u1", "7")).is_ok());
        let e = options
            .check("jobs.batch", "x", &meta("u2", "7"))
            .unwrap_err();
        assert_eq!(e.code().as_u16(), 409);
        assert_eq!(
            e.message(),
            "Operation cannot be fulfilled on jobs.batch \"x\": Precondition failed: UID in precondition: u1, UID in object meta: u2"
        );
        let e = options
            .check("jobs.batch", "x", &meta("u1", "8"))
            .unwrap_err();
        assert!(
            e.message()
                .ends_with("ResourceVersion in precondition: 7, ResourceVersion in object meta: 8"),
            "{}",
            e.message()
        );
    }
}
