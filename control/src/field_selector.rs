//! Field selectors, with the API server's rules, for `wasmjob get --field-selector` and the
//! API's `fieldSelector` alike (one implementation, so the CLI and kubectl return the same
//! objects). The syntax is `k8s.io/apimachinery/pkg/fields/selector.go` (`ParseSelector`):
//! terms joined by `,`, each `field=value`, `field==value` or `field!=value`, the first
//! operator from the left splitting it, `\,` `\=` `\\` escaping a value's characters. The
//! fields each kind supports, and their values, are the API server's: its field label
//! conversion (`pkg/apis/core/v1/conversion.go`, `pkg/apis/batch/v1/conversion.go`) refuses
//! other fields with a 400, and its `ToSelectableFields` (`pkg/registry/core/pod/strategy.go`,
//! `…/event/strategy.go`, `…/namespace/strategy.go`, `…/node/strategy.go`,
//! `pkg/registry/batch/job/strategy.go`)
//! gives the values: `status.successful` of a Job is its `status.succeeded` (0 when unset), a
//! pod's `spec.hostNetwork` is `false` unless set, a node's `spec.unschedulable` likewise,
//! an event's `source` is its source component.
//!
//! Must not: know where objects come from (it reads their JSON).

use serde_json::Value;

/// The kinds whose objects can be selected by field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Jobs,
    Pods,
    Events,
    Namespaces,
    Nodes,
}

impl Resource {
    /// The fields the API server lets a selector name for this kind.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Resource::Jobs => &["metadata.name", "metadata.namespace", "status.successful"],
            Resource::Pods => &[
                "metadata.name",
                "metadata.namespace",
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "spec.hostNetwork",
                "status.phase",
                "status.podIP",
                "status.podIPs",
                "status.nominatedNodeName",
            ],
            Resource::Events => &[
                "metadata.name",
                "metadata.namespace",
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
            ],
            Resource::Namespaces => &["metadata.name", "status.phase", "name"],
            Resource::Nodes => &["metadata.name", "spec.unschedulable"],
        }
    }

    /// The API server's words for a field it does not support.
    fn unsupported(self, field: &str) -> String {
        match self {
            Resource::Jobs => format!("field label {field:?} not supported for Job"),
            _ => format!("field label not supported: {field}"),
        }
    }

    /// The value of `field` of `object` (its JSON), as `ToSelectableFields` gives it.
    pub fn value(self, object: &Value, field: &str) -> String {
        let text = |path: &str| -> String {
            match path.split('.').try_fold(object, |v, key| v.get(key)) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            }
        };
        match (self, field) {
            (Resource::Jobs, "status.successful") => object["status"]["succeeded"]
                .as_i64()
                .unwrap_or(0)
                .to_string(),
            (Resource::Pods, "spec.hostNetwork") => {
                (object["spec"]["hostNetwork"] == Value::Bool(true)).to_string()
            }
            (Resource::Pods, "status.podIP") => {
                match object["status"]["podIPs"][0]["ip"].as_str() {
                    Some(ip) => ip.to_string(),
                    None => text("status.podIP"),
                }
            }
            // Accepted by the field label conversion, but not among the selectable fields:
            // the API server matches it as empty.
            (Resource::Pods, "status.podIPs") => String::new(),
            (Resource::Events, "source") => {
                let component = text("source.component");
                if component.is_empty() {
                    text("reportingComponent")
                } else {
                    component
                }
            }
            (Resource::Namespaces, "name") => text("metadata.name"),
            (Resource::Nodes, "spec.unschedulable") => {
                (object["spec"]["unschedulable"] == Value::Bool(true)).to_string()
            }
            _ => text(field),
        }
    }
}

/// One term: a field, a value, and whether the value must be equal (`=`, `==`) or not (`!=`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
    field: String,
    value: String,
    equal: bool,
}

/// A parsed field selector for one kind; empty selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    resource: Option<Resource>,
    terms: Vec<Term>,
}

/// Why a field selector was refused (the API server answers 400 with these words).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldSelectorError(pub String);

impl FieldSelector {
    /// Parses `text` for `resource`: its syntax, then whether each field is supported.
    pub fn parse(text: &str, resource: Resource) -> Result<FieldSelector, FieldSelectorError> {
        let mut terms = Vec::new();
        for part in split_terms(text) {
            if part.is_empty() {
                continue;
            }
            let Some((field, op, raw)) = split_term(&part) else {
                return Err(FieldSelectorError(format!(
                    "invalid selector: '{text}'; can't understand '{part}'"
                )));
            };
            let value = unescape(raw)
                .map_err(|e| FieldSelectorError(format!("invalid selector: '{text}'; {e}")))?;
            if !resource.fields().contains(&field) {
                return Err(FieldSelectorError(resource.unsupported(field)));
            }
            terms.push(Term {
                field: field.to_string(),
                value,
                equal: op != "!=",
            });
        }
        Ok(FieldSelector {
            resource: Some(resource),
            terms,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `object` (its JSON) has every term's field as the term asks.
    pub fn matches(&self, object: &Value) -> bool {
        let Some(resource) = self.resource else {
            return true;
        };
        self.terms
            .iter()
            .all(|t| (resource.value(object, &t.field) == t.value) == t.equal)
    }
}

/// The terms of a selector: split on commas that are not escaped.
fn split_terms(text: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            current.push(c);
            escaped = true;
        } else if c == ',' {
            terms.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    terms.push(current);
    terms
}

/// A term split at its first operator from the left (`!=`, `==`, `=`, in that order of
/// preference at each place).
fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for op in ["!=", "==", "="] {
            if rest.starts_with(op) {
                return Some((&term[..i], op, &term[i + op.len()..]));
            }
        }
    }
    None
}

/// A value with its escapes (`\\`, `\,`, `\=`) undone; an unescaped `,` or `=`, or another
/// escape, is an error, as `fields.UnescapeValue` has it.
fn unescape(raw: &str) -> Result<String, String> {
    if !raw.contains(['\\', '=', ',']) {
        return Ok(raw.to_string());
    }
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                Some(other) => {
                    return Err(format!("invalid escape sequence \\{other} in {raw:?}"));
                }
                None => return Err(format!("invalid trailing escape sequence in {raw:?}")),
            },
            ',' | '=' => return Err(format!("invalid value {raw:?}: unescaped {c:?}")),
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pick(resource: Resource, text: &str, objects: &[Value]) -> Result<Vec<usize>, String> {
        let s = FieldSelector::parse(text, resource).map_err(|e| e.0)?;
        Ok((0..objects.len())
            .filter(|i| s.matches(&objects[*i]))
            .collect())
    }

    #[test]
    fn terms_select_by_the_api_servers_values() {
        let jobs = [
            json!({"metadata": {"name": "a", "namespace": "default"}, "status": {"succeeded": 1}}),
            json!({"metadata": {"name": "b", "namespace": "team"}, "status": {}}),
        ];
        assert_eq!(
            pick(Resource::Jobs, "status.successful=1", &jobs),
            Ok(vec![0])
        );
        assert_eq!(
            pick(Resource::Jobs, "status.successful=0", &jobs),
            Ok(vec![1])
        );
        assert_eq!(
            pick(Resource::Jobs, "metadata.namespace!=default", &jobs),
            Ok(vec![1])
        );
        assert_eq!(
            pick(
                Resource::Jobs,
                "metadata.name==a,status.successful=1",
                &jobs
            ),
            Ok(vec![0])
        );
        assert_eq!(pick(Resource::Jobs, "", &jobs), Ok(vec![0, 1]));
        let pods = [
            json!({"metadata": {"name": "p"}, "spec": {"restartPolicy": "Never", "nodeName": "n1"}, "status": {"phase": "Failed"}}),
            json!({"metadata": {"name": "q"}, "spec": {"restartPolicy": "OnFailure", "hostNetwork": true}, "status": {"phase": "Running"}}),
        ];
        assert_eq!(
            pick(Resource::Pods, "status.phase=Failed", &pods),
            Ok(vec![0])
        );
        assert_eq!(
            pick(Resource::Pods, "spec.hostNetwork=false", &pods),
            Ok(vec![0])
        );
        assert_eq!(pick(Resource::Pods, "spec.nodeName=", &pods), Ok(vec![1]));
        assert_eq!(
            pick(Resource::Pods, "spec.restartPolicy!=Never", &pods),
            Ok(vec![1])
        );
        let events = [
            json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "Job", "name": "x"}, "source": {"component": "job-controller"}, "type": "Normal"}),
            json!({"metadata": {"name": "f"}, "involvedObject": {"kind": "Pod", "name": "x-1"}, "reportingComponent": "kubelet", "type": "Warning"}),
        ];
        assert_eq!(
            pick(
                Resource::Events,
                "involvedObject.kind=Job,type=Normal",
                &events
            ),
            Ok(vec![0])
        );
        assert_eq!(
            pick(Resource::Events, "source=kubelet", &events),
            Ok(vec![1])
        );
        let namespaces = [json!({"metadata": {"name": "team"}, "status": {"phase": "Active"}})];
        assert_eq!(
            pick(Resource::Namespaces, "name=team", &namespaces),
            Ok(vec![0])
        );
        let nodes = [
            json!({"metadata": {"name": "a"}, "spec": {"unschedulable": true}}),
            json!({"metadata": {"name": "b"}, "spec": {}}),
        ];
        assert_eq!(
            pick(Resource::Nodes, "spec.unschedulable=false", &nodes),
            Ok(vec![1])
        );
        assert_eq!(
            pick(
                Resource::Nodes,
                "spec.unschedulable!=false,metadata.name=a",
                &nodes
            ),
            Ok(vec![0])
        );
        assert!(pick(Resource::Nodes, "status.phase=Ready", &nodes).is_err());
    }

    #[test]
    fn values_may_escape_commas_and_equals() {
        let jobs = [json!({"metadata": {"name": "a,b=c"}})];
        assert_eq!(
            pick(Resource::Jobs, r"metadata.name=a\,b\=c", &jobs),
            Ok(vec![0])
        );
        // The first operator from the left splits the term.
        assert_eq!(
            pick(Resource::Jobs, "metadata.name=a=b", &jobs).unwrap_err(),
            "invalid selector: 'metadata.name=a=b'; invalid value \"a=b\": unescaped '='"
        );
    }

    /// The API server's refusals, word for word.
    #[test]
    fn unsupported_fields_and_bad_syntax_are_refused() {
        let refused = |resource, text| FieldSelector::parse(text, resource).unwrap_err().0;
        assert_eq!(
            refused(Resource::Pods, "status.hostIP=1.2.3.4"),
            "field label not supported: status.hostIP"
        );
        assert_eq!(
            refused(Resource::Jobs, "status.phase=Failed"),
            "field label \"status.phase\" not supported for Job"
        );
        assert_eq!(
            refused(Resource::Jobs, "metadata.name"),
            "invalid selector: 'metadata.name'; can't understand 'metadata.name'"
        );
        assert_eq!(
            refused(Resource::Pods, " status.phase=Failed"),
            "field label not supported:  status.phase",
            "no trimming, as upstream"
        );
        assert!(refused(Resource::Jobs, r"metadata.name=a\x").contains("invalid escape"));
    }
}
