//! Reading manifests: YAML (several documents per file, like `kubectl apply -f`) or JSON, into
//! typed objects. Errors name the field path (`spec.template.spec.containers[0].image`) and,
//! where the parser knows it, the line and column in the file.
//! Must not: default or validate (the caller runs `defaults` and `validate` next).

use crate::errors::{FieldError, FieldErrorKind};
use serde::de::DeserializeOwned;

/// Upper bound on a manifest file; larger inputs are refused before parsing.
pub const MAX_MANIFEST_BYTES: usize = 8 << 20;

/// One document of a manifest, with the 0-based line where it starts in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document<'a> {
    pub text: &'a str,
    pub first_line: usize,
    pub json: bool,
}

/// Splits a file into its documents. JSON input (first non-blank character `{`) is one
/// document; YAML is split at `---` lines. Documents holding only comments or blanks are
/// dropped, as `kubectl` drops them.
pub fn split_documents(text: &str) -> Vec<Document<'_>> {
    let trimmed = text.trim_start_matches('\u{feff}');
    if trimmed.trim_start().starts_with('{') {
        return vec![Document {
            text: trimmed,
            first_line: 0,
            json: true,
        }];
    }
    let mut docs = Vec::new();
    let mut start = 0usize; // byte offset of the current document
    let mut start_line = 0usize;
    let mut offset = 0usize;
    for (line_no, line) in trimmed.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_marker = bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t");
        let is_end = bare == "...";
        if is_marker || is_end {
            docs.push(Document {
                text: &trimmed[start..offset],
                first_line: start_line,
                json: false,
            });
            // Content after `--- ` on the marker line belongs to the next document.
            if is_marker && bare.len() > 3 {
                start = offset + 3;
                start_line = line_no;
            } else {
                start = offset + line.len();
                start_line = line_no + 1;
            }
        }
        offset += line.len();
    }
    docs.push(Document {
        text: &trimmed[start..],
        first_line: start_line,
        json: false,
    });
    docs.retain(|d| !is_blank_yaml(d.text));
    docs
}

fn is_blank_yaml(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t.starts_with('%')
    })
}

/// Reads one document as `T`, reporting the field path and position of the first problem.
pub fn read_document<T: DeserializeOwned>(doc: &Document<'_>) -> Result<T, FieldError> {
    if doc.json {
        let mut de = serde_json::Deserializer::from_str(doc.text);
        let result: Result<T, _> = serde_path_to_error::deserialize(&mut de);
        return result.map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let loc = (inner.line() > 0).then(|| (inner.line(), inner.column()));
            classify(path, &strip_json_position(&inner.to_string()), loc)
        });
    }
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    // Like Kubernetes' YAML reader, an unquoted `yes` or `0755` is not a string.
    options.no_schema = true;
    let mut path = String::new();
    let result = serde_saphyr::with_deserializer_from_str_with_options(doc.text, options, |de| {
        let mut track = serde_path_to_error::Track::new();
        let out =
            serde::Deserialize::deserialize(serde_path_to_error::Deserializer::new(de, &mut track));
        if out.is_err() {
            path = track.path().to_string();
        }
        out
    });
    result.map_err(|e| {
        let loc = e
            .location()
            .filter(|l| l.line() > 0)
            .map(|l| (l.line() as usize + doc.first_line, l.column() as usize));
        let message = e.without_snippet().to_string();
        let message = strip_yaml_position(&message);
        classify(
            if path == "." {
                String::new()
            } else {
                path.clone()
            },
            &message,
            loc,
        )
    })
}

/// Turns a serde message into a field error. The tracked path already ends with the name of
/// an unknown field; `?` (no field reached, e.g. a syntax error) is the document itself.
fn classify(path: String, message: &str, loc: Option<(usize, usize)>) -> FieldError {
    let path = if path == "." || path == "?" {
        String::new()
    } else {
        path
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let expected = rest
            .split_once(", expected ")
            .map(|(_, e)| {
                format!(
                    " (known fields: {})",
                    e.trim_start_matches("one of ").replace('`', "")
                )
            })
            .unwrap_or_default();
        let detail = format!("{field:?}{expected}");
        return FieldError {
            path,
            kind: FieldErrorKind::Unknown,
            detail,
            location: loc,
        };
    }
    let detail = match message {
        "invalid i32" => "must be an integer between -2147483648 and 2147483647".to_string(),
        "invalid i64" => "must be a 64-bit integer".to_string(),
        m => m.to_string(),
    };
    FieldError {
        path,
        kind: FieldErrorKind::Malformed,
        detail,
        location: loc,
    }
}

fn strip_json_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn strip_yaml_position(msg: &str) -> String {
    let msg = msg.trim();
    // serde-saphyr renders "<message> at line L, column C" without a snippet.
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_yaml_documents_and_drops_empty_ones() {
        let text = "# head\n---\na: 1\n---\n# only a comment\n---\nb: 2\n...\n";
        let docs = split_documents(text);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].text, "a: 1\n");
        assert_eq!(docs[0].first_line, 2);
        assert_eq!(docs[1].text, "b: 2\n");
        assert_eq!(docs[1].first_line, 6);
    }

    #[test]
    fn json_is_one_document() {
        let docs = split_documents("  {\"a\": 1}\n");
        assert_eq!(docs.len(), 1);
        assert!(docs[0].json);
    }
}
