//! Reading manifests: YAML (several documents per file, like `kubectl apply -f`) or JSON, into
//! typed objects. Errors name the field path (`spec.template.spec.containers[0].image`) and,
//! where the parser knows it, the line and column in the file.
//! Must not: default or validate (the caller runs `defaults` and `validate` next).

use crate::errors::{FieldError, FieldErrorKind};
use serde::de::DeserializeOwned;

/// Upper bound on a manifest file; larger inputs are refused before parsing.
pub const MAX_MANIFEST_BYTES: usize = 8 << 20;

/// Most documents (Jobs) in one manifest file; a file with more is refused whole, before any
/// document is read.
pub const MAX_DOCUMENTS: usize = 10_000;

/// Deepest nesting of mappings and sequences (the document's own mapping is level 1), in YAML
/// and JSON alike. The deepest field of a Job (an affinity term's `matchExpressions[].values`)
/// sits at level 13; the limit keeps the recursive readers far from the end of a 2 MiB thread
/// stack, even in a debug build.
pub const MAX_DEPTH: usize = 32;
/// Most YAML nodes (mappings, sequences, scalars) one document may produce, aliases expanded.
pub const MAX_NODES: usize = 250_000;
/// Most parser events one YAML document may produce.
pub const MAX_EVENTS: usize = 1_000_000;
/// Most anchors (`&a`) and most aliases (`*a`) in one YAML document.
pub const MAX_ANCHORS: usize = 1_000;
/// See [`MAX_ANCHORS`].
pub const MAX_ALIASES: usize = 1_000;
/// Most events that aliases may replay in one YAML document, all aliases together: an alias
/// bomb ("billion laughs") is refused once its expansion passes this.
pub const MAX_ALIAS_REPLAYED_EVENTS: usize = 10_000;
/// Most YAML merge keys (`<<: *base`) in one document.
pub const MAX_MERGE_KEYS: usize = 1_000;
/// Most scalar bytes one YAML document may produce, aliases expanded: a long string repeated
/// by aliases can never make a document larger than a manifest may be.
pub const MAX_SCALAR_BYTES: usize = MAX_MANIFEST_BYTES;

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
            push_unless_blank(&mut docs, &trimmed[start..offset], start_line);
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
    push_unless_blank(&mut docs, &trimmed[start..], start_line);
    docs
}

/// Keeps a document unless it holds only comments or blanks (dropped as they are found, so a
/// file of separators costs no memory).
fn push_unless_blank<'a>(docs: &mut Vec<Document<'a>>, text: &'a str, first_line: usize) {
    if !is_blank_yaml(text) {
        docs.push(Document {
            text,
            first_line,
            json: false,
        });
    }
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
        if let Some(e) = json_too_deep(doc.text) {
            return Err(e);
        }
        let mut de = serde_json::Deserializer::from_str(doc.text);
        let result: Result<T, _> = serde_path_to_error::deserialize(&mut de);
        return result.map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let loc = (inner.line() > 0).then(|| (inner.line(), inner.column()));
            classify(path, &strip_json_position(&inner.to_string()), loc)
        });
    }
    let mut path = String::new();
    let result =
        serde_saphyr::with_deserializer_from_str_with_options(doc.text, yaml_options(), |de| {
            let mut track = serde_path_to_error::Track::new();
            let out = serde::Deserialize::deserialize(serde_path_to_error::Deserializer::new(
                de, &mut track,
            ));
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
        let message = budget_words(&e)
            .unwrap_or_else(|| strip_yaml_position(&e.without_snippet().to_string()));
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

/// The YAML reader's options: the schema Kubernetes reads, and explicit budgets so that no
/// document, however hostile, costs more than a bounded amount of time, memory and stack.
///
/// Limits (per document; the whole file is at most [`MAX_MANIFEST_BYTES`]): nesting depth
/// [`MAX_DEPTH`] (flow and block collections alike, and alias replays nested in each other),
/// [`MAX_NODES`] nodes and [`MAX_EVENTS`] parser events, [`MAX_ANCHORS`] anchors,
/// [`MAX_ALIASES`] aliases replaying at most [`MAX_ALIAS_REPLAYED_EVENTS`] events in all,
/// [`MAX_MERGE_KEYS`] merge keys and [`MAX_SCALAR_BYTES`] bytes of scalars. serde-saphyr's own
/// defaults are bounded too, but far larger than any Job needs (a million replayed events, 64
/// levels, 64 MiB of scalars); a document past a limit is refused with an error that names the
/// field being read and the limit.
pub fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    // Like Kubernetes' YAML reader, an unquoted `yes` or `0755` is not a string.
    options.no_schema = true;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.flow_nesting_limit = MAX_DEPTH;
    budget.max_nodes = MAX_NODES;
    budget.max_events = MAX_EVENTS;
    budget.max_anchors = MAX_ANCHORS;
    budget.max_aliases = MAX_ALIASES;
    budget.max_merge_keys = MAX_MERGE_KEYS;
    budget.max_total_scalar_bytes = MAX_SCALAR_BYTES;
    budget.max_recorded_anchor_bytes = MAX_SCALAR_BYTES;
    budget.max_recorded_anchor_events = MAX_EVENTS;
    budget.max_inclusion_depth = 0;
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = MAX_ALIAS_REPLAYED_EVENTS;
    options.alias_limits.max_replay_stack_depth = MAX_DEPTH;
    options.alias_limits.max_alias_expansions_per_anchor = MAX_ALIASES;
    options
}

/// The words for a document that broke one of [`yaml_options`]' limits.
fn budget_words(mut e: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::Error as E;
    use serde_saphyr::budget::BudgetBreach as B;
    while let E::AliasError { error, .. } | E::WithSnippet { error, .. } = e {
        e = error;
    }
    let bomb = "(an alias bomb?)";
    Some(match e {
        E::Budget { breach, .. } => match breach {
            B::Depth { .. } => format!("nested more than {MAX_DEPTH} levels deep"),
            B::Nodes { .. } => format!("more than {MAX_NODES} YAML nodes, aliases expanded {bomb}"),
            B::Events { .. } => format!("more than {MAX_EVENTS} YAML events"),
            B::Anchors { .. } => format!("more than {MAX_ANCHORS} YAML anchors"),
            B::Aliases { .. } => format!("more than {MAX_ALIASES} YAML aliases"),
            B::ScalarBytes { .. } => {
                format!("more than {MAX_SCALAR_BYTES} bytes of strings, aliases expanded {bomb}")
            }
            B::MergeKeys { .. } => format!("more than {MAX_MERGE_KEYS} YAML merge keys"),
            other => format!("the YAML exceeds a reader limit: {other:?}"),
        },
        E::AliasReplayLimitExceeded { .. } | E::AliasReplayCounterOverflow { .. } => {
            format!("YAML aliases expand to more than {MAX_ALIAS_REPLAYED_EVENTS} events {bomb}")
        }
        E::AliasExpansionLimitExceeded { .. } => {
            format!("a YAML anchor is used more than {MAX_ALIASES} times {bomb}")
        }
        E::AliasReplayStackDepthExceeded { .. } => {
            format!("YAML aliases nest more than {MAX_DEPTH} levels deep")
        }
        // The parser's own flow-nesting limit (the budget's `flow_nesting_limit`).
        _ if e.to_string().starts_with("recursion limit exceeded") => {
            format!("nested more than {MAX_DEPTH} levels deep")
        }
        _ => return None,
    })
}

/// Refuses JSON nested deeper than [`MAX_DEPTH`] before serde_json reads it: its own limit
/// (128 levels) is more than a 2 MiB stack holds once `serde_path_to_error` and
/// `serde_json::Value` recurse with it. The error is at the document (`<root>`), with the
/// position of the first bracket too many.
fn json_too_deep(text: &str) -> Option<FieldError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let (mut line, mut line_start) = (1usize, 0usize);
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    let column = text[line_start..i].chars().count() + 1;
                    return Some(FieldError {
                        path: String::new(),
                        kind: FieldErrorKind::Malformed,
                        detail: format!("nested more than {MAX_DEPTH} levels deep"),
                        location: Some((line, column)),
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Turns a serde message into a field error: unknown fields as [`FieldErrorKind::Unknown`],
/// the rest as malformed. The tracked path already ends with the name of an unknown field;
/// `?` (no field reached, e.g. a syntax error) and `.` are the document itself.
pub fn classify(path: String, message: &str, loc: Option<(usize, usize)>) -> FieldError {
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
