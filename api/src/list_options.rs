//! `ListOptions` as the API server reads them from the query of a list or watch:
//! `labelSelector`, `fieldSelector`, `watch`, `allowWatchBookmarks`, `resourceVersion`,
//! `resourceVersionMatch`, `timeoutSeconds`, `limit`, `continue` and `sendInitialEvents`,
//! each decoded as the API server decodes it (a value that does not decode is a 400) and the
//! whole checked by the API server's rules (`ValidateListOptions` in
//! `k8s.io/apimachinery/pkg/apis/meta/internalversion/validation`: a 422 `Invalid` naming
//! `ListOptions.meta.k8s.io`). Also: the objects a list keeps (its selectors), and pages
//! (`limit` and `continue`).
//!
//! Must not: read the store.

use super::kinds::Kind;
use super::status::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use serde_json::{Value, json};
use wasmjob_control::field_selector::{FieldSelector, Resource};
use wasmjob_control::selector::Selector;
use wasmjob_spec::FieldError;

/// The query of a list or a watch. Parameters the API server does not read for lists
/// (`pretty`, …) are ignored, as there.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListOptions {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    /// Stream changes instead of listing.
    #[serde(default, deserialize_with = "query_bool")]
    pub watch: bool,
    #[serde(default, deserialize_with = "query_bool")]
    pub allow_watch_bookmarks: bool,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    #[serde(default, deserialize_with = "query_int")]
    pub timeout_seconds: Option<i64>,
    #[serde(default, deserialize_with = "query_int")]
    pub limit: Option<i64>,
    #[serde(rename = "continue")]
    pub continue_: Option<String>,
    #[serde(default, deserialize_with = "query_opt_bool")]
    pub send_initial_events: Option<bool>,
}

/// A boolean query parameter read as the API server reads one: `0` or `false` (in any case)
/// is false, any other value true (`True`, which the Python client before 37 sends, `1`, even
/// an empty one); an absent one is false (`#[serde(default)]`).
pub(super) fn query_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let value = <String as serde::Deserialize>::deserialize(d)?;
    Ok(value != "0" && !value.eq_ignore_ascii_case("false"))
}

/// A boolean that may be absent (`sendInitialEvents`: absent and false differ).
fn query_opt_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    query_bool(d).map(Some)
}

/// An integer query parameter; one that is not a number is a decoding error (400).
pub(super) fn query_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let value = <String as serde::Deserialize>::deserialize(d)?;
    if value.is_empty() {
        return Ok(None);
    }
    value.trim().parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "strconv.ParseInt: parsing {value:?}: invalid syntax"
        ))
    })
}

/// Reads the query of a request as `T`; a value that does not decode is a 400 `Status`.
pub(super) fn decode_query<T: serde::de::DeserializeOwned>(
    uri: &axum::http::Uri,
) -> Result<T, ApiError> {
    let query = uri.query().unwrap_or("");
    serde_urlencoded_from(query).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// The query string decoded as axum's `Query` decodes it.
fn serde_urlencoded_from<T: serde::de::DeserializeOwned>(
    query: &str,
) -> Result<T, axum::extract::rejection::QueryRejection> {
    let uri: axum::http::Uri = format!("/?{query}")
        .parse()
        .unwrap_or_else(|_| axum::http::Uri::from_static("/"));
    axum::extract::Query::<T>::try_from_uri(&uri).map(|q| q.0)
}

/// A query decoded as the API server decodes one: a value that does not decode is a 400
/// `Status` (axum's own `Query` answers plain text).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        decode_query(&parts.uri).map(ApiQuery)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ListOptions {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let options: ListOptions = decode_query(&parts.uri)?;
        options.validate()?;
        Ok(options)
    }
}

const NOT_OLDER_THAN: &str = "NotOlderThan";
const EXACT: &str = "Exact";

pub use wasmjob_control::watch::Start;

impl ListOptions {
    /// The API server's rules for the options of a list and of a watch.
    fn validate(&self) -> Result<(), ApiError> {
        let mut errors = Vec::new();
        let rv = self.resource_version.as_deref().unwrap_or("");
        let continued = self.continue_.as_deref().is_some_and(|c| !c.is_empty());
        let matching = self
            .resource_version_match
            .as_deref()
            .filter(|m| !m.is_empty());
        if self.watch {
            if self.send_initial_events.is_some() && matching != Some(NOT_OLDER_THAN) {
                errors.push(FieldError::forbidden(
                    "resourceVersionMatch",
                    format!("sendInitialEvents requires setting resourceVersionMatch to {NOT_OLDER_THAN}"),
                ));
            }
            if let Some(m) = matching {
                if self.send_initial_events.is_none() {
                    errors.push(FieldError::forbidden(
                        "resourceVersionMatch",
                        "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                    ));
                }
                if m != NOT_OLDER_THAN {
                    errors.push(FieldError::unsupported(
                        "resourceVersionMatch",
                        m,
                        &[NOT_OLDER_THAN],
                    ));
                }
                if continued {
                    errors.push(FieldError::forbidden(
                        "resourceVersionMatch",
                        "resourceVersionMatch is forbidden when continue is provided",
                    ));
                }
            }
        } else {
            if let Some(m) = matching {
                if rv.is_empty() {
                    errors.push(FieldError::forbidden(
                        "resourceVersionMatch",
                        "resourceVersionMatch is forbidden unless resourceVersion is provided",
                    ));
                }
                if continued {
                    errors.push(FieldError::forbidden(
                        "resourceVersionMatch",
                        "resourceVersionMatch is forbidden when continue is provided",
                    ));
                }
                if m != EXACT && m != NOT_OLDER_THAN {
                    errors.push(FieldError::unsupported(
                        "resourceVersionMatch",
                        m,
                        &[EXACT, NOT_OLDER_THAN, ""],
                    ));
                }
                if m == EXACT && rv == "0" {
                    errors.push(FieldError::forbidden(
                        "resourceVersionMatch",
                        "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                    ));
                }
            }
            if self.send_initial_events.is_some() {
                errors.push(FieldError::forbidden(
                    "sendInitialEvents",
                    "sendInitialEvents is forbidden for list",
                ));
            }
        }
        if !rv.is_empty() && rv.parse::<u64>().is_err() {
            return Err(ApiError::bad_request(format!(
                "invalid resource version {rv:?}: not a number"
            )));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid("ListOptions", "meta.k8s.io", "", &errors))
        }
    }

    /// The resourceVersion asked for, if any other than 0.
    pub fn version(&self) -> Option<i64> {
        self.resource_version
            .as_deref()
            .and_then(|v| v.parse().ok())
            .filter(|v| *v > 0)
    }

    /// Where a watch starts.
    pub fn start(&self) -> Start {
        match (self.send_initial_events, self.version()) {
            (Some(true), _) | (None, None) => Start::Everything,
            (_, Some(v)) => Start::After(v),
            (Some(false), None) => Start::Now,
        }
    }

    /// How long a watch lasts (`timeoutSeconds`; none: until the client goes).
    pub fn timeout(&self) -> Option<std::time::Duration> {
        self.timeout_seconds
            .map(|s| std::time::Duration::from_secs(s.max(0) as u64))
    }

    /// Whether a list at resourceVersion `current` can answer: a resourceVersion newer than
    /// the store's is a timeout (the API server waits for it a while first), and `Exact` of
    /// an older one is gone (wasmjob keeps no old states).
    pub fn check_version(&self, current: i64) -> Result<(), ApiError> {
        let Some(asked) = self.version() else {
            return Ok(());
        };
        if asked > current {
            return Err(ApiError::timeout(format!(
                "Too large resource version: {asked}, current: {current}"
            )));
        }
        if self.resource_version_match.as_deref() == Some(EXACT) && asked != current {
            return Err(ApiError::gone(format!(
                "The resourceVersion for the provided list is too old. ({asked} < {current})"
            )));
        }
        Ok(())
    }

    /// The objects of a page: at most `limit` (0 or none: all) after the `continue` token's
    /// key.
    pub fn page<'a, T: Kind>(
        &self,
        kept: Vec<&'a T>,
        version: i64,
    ) -> Result<Page<'a, T>, ApiError> {
        let after = match self.continue_.as_deref().filter(|c| !c.is_empty()) {
            Some(token) => Some(read_token(token)?),
            None => None,
        };
        let mut rest: Vec<&T> = match &after {
            Some(key) => kept.into_iter().filter(|o| o.key() > *key).collect(),
            None => kept,
        };
        let limit = self.limit.filter(|l| *l > 0).map(|l| l as usize);
        match limit {
            Some(n) if rest.len() > n => {
                let remaining = rest.len() - n;
                rest.truncate(n);
                let last = rest.last().map(|o| o.key()).unwrap_or_default();
                Ok(Page {
                    objects: rest,
                    next: Some((make_token(version, &last), remaining)),
                })
            }
            _ => Ok(Page {
                objects: rest,
                next: None,
            }),
        }
    }
}

/// One page of a list.
pub struct Page<'a, T> {
    pub objects: Vec<&'a T>,
    /// When more remain: the `continue` token for them, and how many there are.
    pub next: Option<(String, usize)>,
}

/// A `continue` token: base64 of `{"v": "meta.k8s.io/v1", "rv": …, "start": key}`, the shape
/// the API server gives its own.
fn make_token(version: i64, after: &str) -> String {
    let body = json!({"v": "meta.k8s.io/v1", "rv": version, "start": after});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body.to_string())
}

fn read_token(token: &str) -> Result<String, ApiError> {
    let bad = |why: &str| ApiError::bad_request(format!("continue key is not valid: {why}"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| bad("not base64"))?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|_| bad("not a continue token"))?;
    if body["v"] != "meta.k8s.io/v1" {
        return Err(bad("the token is of another version"));
    }
    body["start"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| bad("the token has no start"))
}

/// The objects a list keeps: its label selector, and its field selector with the API
/// server's rules for the kind ([`wasmjob_control::field_selector`]).
pub struct Filter {
    labels: Selector,
    fields: FieldSelector,
}

impl Filter {
    pub fn parse(q: &ListOptions, resource: Resource) -> Result<Filter, ApiError> {
        let labels = Selector::parse(q.label_selector.as_deref().unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
        let fields = FieldSelector::parse(q.field_selector.as_deref().unwrap_or(""), resource)
            .map_err(|e| ApiError::bad_request(e.0))?;
        Ok(Filter { labels, fields })
    }

    /// Whether an object with `labels` passes; `object` (its JSON) is made only when a field
    /// term needs it, so a plain list or watch serializes nothing extra.
    pub fn keeps(
        &self,
        labels: &std::collections::BTreeMap<String, String>,
        object: impl FnOnce() -> Value,
    ) -> bool {
        self.labels.matches(labels) && (self.fields.is_empty() || self.fields.matches(&object()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<ListOptions, ApiError> {
        let options: ListOptions = decode_query(&format!("/x?{query}").parse().unwrap())?;
        options.validate()?;
        Ok(options)
    }

    #[test]
    fn lists_keep_what_both_selectors_keep() {
        let q = ListOptions {
            label_selector: Some("app=x".into()),
            field_selector: Some("metadata.name=pi,involvedObject.kind==Job,type!=Warning".into()),
            ..Default::default()
        };
        let f = Filter::parse(&q, Resource::Events).unwrap();
        let mut labels = std::collections::BTreeMap::new();
        labels.insert("app".to_string(), "x".to_string());
        let object = json!({"metadata": {"name": "pi"}, "involvedObject": {"kind": "Job"}, "type": "Normal"});
        assert!(f.keeps(&labels, || object.clone()));
        let warning = json!({"metadata": {"name": "pi"}, "involvedObject": {"kind": "Job"}, "type": "Warning"});
        assert!(!f.keeps(&labels, || warning.clone()));
        assert!(
            !f.keeps(&Default::default(), || object.clone()),
            "the label selector counts too"
        );
        for bad in ["no-operator", "involvedObject.color=red"] {
            let q = ListOptions {
                field_selector: Some(bad.into()),
                ..Default::default()
            };
            assert!(Filter::parse(&q, Resource::Events).is_err(), "{bad}");
        }
    }

    #[test]
    fn boolean_parameters_are_read_as_the_api_server_reads_them() {
        for on in [
            "watch=true",
            "watch=True",
            "watch=TRUE",
            "watch=1",
            "watch=yes",
            "watch=",
        ] {
            assert!(parse(on).unwrap().watch, "{on}");
        }
        for off in [
            "",
            "watch=false",
            "watch=False",
            "watch=0",
            "labelSelector=a",
        ] {
            assert!(!parse(off).unwrap().watch, "{off}");
        }
        assert!(
            parse("allowWatchBookmarks=True")
                .unwrap()
                .allow_watch_bookmarks
        );
        assert!(
            !parse("allowWatchBookmarks=False")
                .unwrap()
                .allow_watch_bookmarks
        );
    }

    /// Every ListOptions field the API server reads from the query, read from the query
    /// (`metav1.ListOptions`' `json` tags), with what it becomes here.
    #[test]
    fn every_list_option_is_read_from_the_query() {
        let o = parse("labelSelector=a%3Db").unwrap();
        assert_eq!(o.label_selector.as_deref(), Some("a=b"));
        let o = parse("fieldSelector=metadata.name%3Dx").unwrap();
        assert_eq!(o.field_selector.as_deref(), Some("metadata.name=x"));
        assert!(parse("watch=true").unwrap().watch);
        assert!(
            parse("allowWatchBookmarks=true")
                .unwrap()
                .allow_watch_bookmarks
        );
        let o = parse("resourceVersion=12").unwrap();
        assert_eq!((o.version(), o.start()), (Some(12), Start::After(12)));
        let o = parse("resourceVersion=0").unwrap();
        assert_eq!((o.version(), o.start()), (None, Start::Everything));
        let o = parse("resourceVersion=12&resourceVersionMatch=Exact").unwrap();
        assert_eq!(o.resource_version_match.as_deref(), Some("Exact"));
        assert_eq!(
            parse("timeoutSeconds=7").unwrap().timeout(),
            Some(std::time::Duration::from_secs(7))
        );
        assert_eq!(parse("limit=3").unwrap().limit, Some(3));
        assert_eq!(
            parse("continue=abc").unwrap().continue_.as_deref(),
            Some("abc")
        );
        let o = parse(
            "watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=1",
        )
        .unwrap();
        assert_eq!(
            (o.send_initial_events, o.start()),
            (Some(true), Start::Everything)
        );
        let o = parse("watch=1&sendInitialEvents=false&resourceVersionMatch=NotOlderThan").unwrap();
        assert_eq!(o.start(), Start::Now);
    }

    /// `ValidateListOptions` and the parameter decoding of the API server.
    #[test]
    fn list_options_are_checked_by_the_api_servers_rules() {
        let refused = |query: &str| -> (u16, String) {
            let e = parse(query).expect_err(query);
            (e.code().as_u16(), e.message().to_string())
        };
        for (query, code, words) in [
            ("limit=ten", 400, "invalid syntax"),
            ("timeoutSeconds=x", 400, "invalid syntax"),
            ("resourceVersion=abc", 400, "invalid resource version"),
            (
                "resourceVersionMatch=Exact",
                422,
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            ),
            (
                "resourceVersion=0&resourceVersionMatch=Exact",
                422,
                "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ),
            (
                "resourceVersion=1&resourceVersionMatch=Newest",
                422,
                "Unsupported value: \"Newest\"",
            ),
            (
                "resourceVersion=1&resourceVersionMatch=Exact&continue=x",
                422,
                "resourceVersionMatch is forbidden when continue is provided",
            ),
            (
                "sendInitialEvents=true",
                422,
                "sendInitialEvents is forbidden for list",
            ),
            (
                "watch=1&sendInitialEvents=true",
                422,
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ),
            (
                "watch=1&resourceVersionMatch=NotOlderThan",
                422,
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            ),
        ] {
            let (got_code, message) = refused(query);
            assert_eq!(got_code, code, "{query}: {message}");
            assert!(message.contains(words), "{query}: {message}");
            if code == 422 {
                assert!(
                    message.starts_with("ListOptions.meta.k8s.io \"\" is invalid: "),
                    "{message}"
                );
            }
        }
    }

    #[test]
    fn continue_tokens_round_trip_and_bad_ones_are_refused() {
        let token = make_token(42, "default/b");
        assert_eq!(read_token(&token).unwrap(), "default/b");
        let other = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"v":"meta.k8s.io/v0","start":"x"}"#);
        for bad in ["%%%", "bm90IGpzb24", &other] {
            assert!(read_token(bad).is_err(), "{bad}");
        }
    }
}
