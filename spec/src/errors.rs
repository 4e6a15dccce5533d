//! Field errors in the API server's words (`field.Error` in Kubernetes): a field path, a kind
//! (`Invalid value`, `Required value`, `Unsupported value`, …), the bad value and a detail;
//! and the document-level error that `kubectl` prints for an invalid object.
//! Must not: decide what is valid.

use std::fmt;

/// What is wrong with a field, as Kubernetes' `field.ErrorType`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// `Required value`
    Required,
    /// `Invalid value: <value>` (just `Invalid value` when the value is empty: not shown)
    Invalid(String),
    /// `Unsupported value: "<v>": supported values: "a", "b"`
    Unsupported {
        value: String,
        supported: Vec<String>,
    },
    /// `Forbidden`
    Forbidden,
    /// `Duplicate value: "<v>"`
    Duplicate(String),
    /// `Not found: "<v>"`
    NotFound(String),
    /// `Too long: may not be more than <n> bytes`
    TooLong(usize),
    /// A field that is not part of the schema (`kubectl --validate=strict`).
    Unknown,
    /// The document could not be read as the type (wrong type, malformed YAML/JSON).
    Malformed,
}

/// One problem with one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path with indexes, e.g. `spec.template.spec.containers[0].image`.
    pub path: String,
    pub kind: FieldErrorKind,
    /// Extra words after the kind, e.g. the rule that was broken.
    pub detail: String,
    /// 1-based line and column in the source, where known.
    pub location: Option<(usize, usize)>,
}

impl FieldError {
    pub fn new(path: impl Into<String>, kind: FieldErrorKind, detail: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            kind,
            detail: detail.into(),
            location: None,
        }
    }
    pub fn required(path: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(path, FieldErrorKind::Required, detail)
    }
    /// `Invalid value: <value>: <detail>`; `value` is shown as Go's `%#v` would (strings quoted).
    pub fn invalid(
        path: impl Into<String>,
        value: impl fmt::Debug,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(path, FieldErrorKind::Invalid(format!("{value:?}")), detail)
    }
    /// `Invalid value: <detail>`, without the value (Go's `field.OmitValueType`).
    pub fn invalid_omit_value(path: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(path, FieldErrorKind::Invalid(String::new()), detail)
    }
    pub fn unsupported(path: impl Into<String>, value: &str, supported: &[&str]) -> Self {
        Self::new(
            path,
            FieldErrorKind::Unsupported {
                value: value.to_string(),
                supported: supported.iter().map(|s| s.to_string()).collect(),
            },
            "",
        )
    }
    pub fn forbidden(path: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(path, FieldErrorKind::Forbidden, detail)
    }
    pub fn duplicate(path: impl Into<String>, value: &str) -> Self {
        Self::new(path, FieldErrorKind::Duplicate(value.to_string()), "")
    }
    pub fn not_found(path: impl Into<String>, value: &str) -> Self {
        Self::new(path, FieldErrorKind::NotFound(value.to_string()), "")
    }
    pub fn too_long(path: impl Into<String>, max: usize) -> Self {
        Self::new(path, FieldErrorKind::TooLong(max), "")
    }
    pub fn at(mut self, location: Option<(usize, usize)>) -> Self {
        self.location = location;
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = match &self.kind {
            FieldErrorKind::Required => "Required value".to_string(),
            FieldErrorKind::Invalid(v) if v.is_empty() => "Invalid value".to_string(),
            FieldErrorKind::Invalid(v) => format!("Invalid value: {v}"),
            FieldErrorKind::Unsupported { value, supported } => {
                let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
                format!(
                    "Unsupported value: {value:?}: supported values: {}",
                    list.join(", ")
                )
            }
            FieldErrorKind::Forbidden => "Forbidden".to_string(),
            FieldErrorKind::Duplicate(v) => format!("Duplicate value: {v:?}"),
            FieldErrorKind::NotFound(v) => format!("Not found: {v:?}"),
            FieldErrorKind::TooLong(n) => format!("Too long: may not be more than {n} bytes"),
            FieldErrorKind::Unknown => "unknown field".to_string(),
            FieldErrorKind::Malformed => String::new(),
        };
        let path = if self.path.is_empty() {
            "<root>"
        } else {
            &self.path
        };
        write!(f, "{path}: {body}")?;
        if !self.detail.is_empty() {
            if body.is_empty() {
                write!(f, "{}", self.detail)?;
            } else {
                write!(f, ": {}", self.detail)?;
            }
        }
        if let Some((line, col)) = self.location {
            write!(f, " (line {line}, column {col})")?;
        }
        Ok(())
    }
}

/// Everything wrong with one document of a manifest file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidObject {
    /// The file (or `-`) the document came from.
    pub source: String,
    /// 0-based index of the document within the file.
    pub document: usize,
    /// `Job` (or whatever the document claimed to be).
    pub kind: String,
    /// The object's name, when it could be read.
    pub name: String,
    pub errors: Vec<FieldError>,
}

impl fmt::Display for InvalidObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.kind.is_empty() {
            "object"
        } else {
            &self.kind
        };
        write!(
            f,
            "error: {} (document {}): ",
            self.source,
            self.document + 1
        )?;
        if self.name.is_empty() {
            write!(f, "the {kind} is invalid:")?;
        } else {
            write!(f, "The {kind} {:?} is invalid:", self.name)?;
        }
        if let [one] = self.errors.as_slice() {
            write!(f, " {one}")
        } else {
            for e in &self.errors {
                write!(f, "\n* {e}")?;
            }
            Ok(())
        }
    }
}

impl std::error::Error for InvalidObject {}
