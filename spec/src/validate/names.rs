//! Name rules (k8s.io/apimachinery/pkg/util/validation), with their messages: DNS labels and subdomains, label keys and values, qualified names.

use super::*;

// Name rules (k8s.io/apimachinery/pkg/util/validation), with their messages

pub(super) const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
pub(super) const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
pub(super) const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
pub(super) const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
pub(super) const QUALIFIED_NAME_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// Go's `validation.RegexError`: the rule, examples, and the regex.
pub(super) fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let ex: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{msg} (e.g. {}regex used for validation is '{fmt}')",
        ex.join(" or ")
    )
}

pub(super) fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

pub(super) fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.iter().all(|c| alnum(c) || *c == b'-')
        && alnum(&b[0])
        && alnum(&b[b.len() - 1])
}

pub(super) fn is_dns_subdomain(s: &str) -> bool {
    s.split('.').all(is_dns_label)
}

/// The name part of a qualified name, and a non-empty label value.
pub(super) fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    let ext = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.');
    !b.is_empty()
        && b.iter().all(ext)
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// Why `s` is not a DNS-1123 label (a namespace name, a container name); empty when it is.
pub fn dns_label_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !is_dns_label(s) {
        if is_dns_subdomain(s) {
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

/// Why `s` is not a DNS-1123 subdomain (an object's name, a node's); empty when it is.
pub fn dns_subdomain_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !is_dns_subdomain(s) {
        errs.push(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// Go's `IsQualifiedName`: `[prefix/]name`, prefix a DNS subdomain, name ≤ 63 characters.
pub(super) fn qualified_name_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let examples = ["MyName", "my.name", "123-abc"];
    let parts: Vec<&str> = s.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                errs.extend(
                    dns_subdomain_errors(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, &examples)
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > QUALIFIED_NAME_MAX_LENGTH {
        errs.push(format!(
            "name part {}",
            max_len_error(QUALIFIED_NAME_MAX_LENGTH)
        ));
    }
    if !is_qualified_name_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, &examples)
        ));
    }
    errs
}

pub(super) fn label_value_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !s.is_empty() && !is_qualified_name_part(s) {
        errs.push(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// One `Invalid value` error per message of a name rule.
pub(super) fn invalid_each(
    errs: &mut Vec<FieldError>,
    path: &str,
    value: &str,
    messages: Vec<String>,
) {
    for m in messages {
        errs.push(FieldError::invalid(path, value, m));
    }
}

pub(super) fn non_negative(
    errs: &mut Vec<FieldError>,
    path: &str,
    value: Option<impl Into<i64> + Copy>,
) {
    if let Some(v) = value {
        let v: i64 = v.into();
        if v < 0 {
            errs.push(FieldError::invalid(path, v, NOT_NEGATIVE));
        }
    }
}

/// `Too many: <n>: must have at most <max> items`, as an `Invalid value`.
pub(super) fn too_many(path: &str, n: usize, max: usize) -> FieldError {
    FieldError::invalid(path, n, format!("must have at most {max} items"))
}

/// `Invalid value: <json>: <detail>`, for maps and structs (Go prints them with `%#v`).
pub(super) fn invalid_json(path: &str, value: &impl serde::Serialize, detail: &str) -> FieldError {
    let shown = serde_json::to_string(value).unwrap_or_default();
    FieldError::new(path, FieldErrorKind::Invalid(shown), detail)
}

pub(super) fn has_dotdot(path: &str) -> bool {
    path.split(['/', '\\']).any(|part| part == "..")
}
