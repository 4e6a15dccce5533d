//! Finding each error's field in the source document, for its line and column.

use super::*;

// locate

/// Upper bounds of the position index, so that a hostile document cannot make it expensive.
pub(super) const MAX_LOCATE_EVENTS: usize = 1 << 20;
pub(super) const MAX_LOCATE_DEPTH: usize = 256;
/// Most bytes of field paths the index may hold: each path repeats its parents', so a deep
/// document with long keys would otherwise cost its depth times its size.
pub(super) const MAX_LOCATE_PATH_BYTES: usize = 16 << 20;

/// Adds the line and column of each error's field, where the document shows it: the field
/// itself, or else its nearest ancestor that the document holds.
pub fn locate(errors: &mut [FieldError], doc: &Document<'_>) {
    if errors.iter().all(|e| e.location.is_some()) {
        return;
    }
    let index = position_index(doc.text);
    for e in errors.iter_mut().filter(|e| e.location.is_none()) {
        if let Some((line, col)) = find_position(&index, &e.path) {
            e.location = Some((line + doc.first_line, col));
        }
    }
}

/// An open collection while walking the parser's events. `path` is `None` inside a mapping
/// key that is itself a collection (nothing there is a field).
pub(super) enum Frame {
    Map {
        path: Option<String>,
        /// The path of the value that comes next; `None` while a key is expected.
        value_path: Option<Option<String>>,
    },
    Seq {
        path: Option<String>,
        next: usize,
    },
}

/// Field path → (1-based line within the document, 1-based column) of its key (or, for a
/// sequence item, of the item). Keys appear both as `a.key` and `a[key]`.
pub(super) fn position_index(text: &str) -> HashMap<String, (usize, usize)> {
    use serde_saphyr::granit_parser::{Event, Options, Parser};
    let mut options = Options::default();
    options.set_emit_comments(false);
    let mut index = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut started = false;
    let mut path_bytes = 0usize;
    for (n, item) in Parser::new_from_str_with_options(text, options).enumerate() {
        let Ok((event, span)) = item else { break };
        if n >= MAX_LOCATE_EVENTS
            || stack.len() > MAX_LOCATE_DEPTH
            || path_bytes > MAX_LOCATE_PATH_BYTES
        {
            break;
        }
        let pos = (span.start.line(), span.start.col() + 1);
        match event {
            Event::DocumentStart(..) if started => break,
            Event::DocumentStart(..) => started = true,
            Event::DocumentEnd | Event::StreamEnd => break,
            Event::Scalar(value, ..) => {
                node(&mut stack, &mut index, &mut path_bytes, pos, Some(&value));
            }
            Event::Alias(..) => {
                node(&mut stack, &mut index, &mut path_bytes, pos, None);
            }
            Event::MappingStart(..) => {
                let path = node(&mut stack, &mut index, &mut path_bytes, pos, None);
                stack.push(Frame::Map {
                    path,
                    value_path: None,
                });
            }
            Event::SequenceStart(..) => {
                let path = node(&mut stack, &mut index, &mut path_bytes, pos, None);
                stack.push(Frame::Seq { path, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            _ => {}
        }
    }
    index
}

/// A node begins at `pos`; returns its field path (`None` for keys and ignored nodes).
/// `path_bytes` counts the bytes of the paths it indexes.
pub(super) fn node(
    stack: &mut [Frame],
    index: &mut HashMap<String, (usize, usize)>,
    path_bytes: &mut usize,
    pos: (usize, usize),
    scalar: Option<&str>,
) -> Option<String> {
    match stack.last_mut() {
        None => Some(String::new()),
        Some(Frame::Seq { path, next }) => {
            let i = *next;
            *next += 1;
            let item = format!("{}[{i}]", path.as_ref()?);
            *path_bytes += item.len();
            index.entry(item.clone()).or_insert(pos);
            Some(item)
        }
        Some(Frame::Map { path, value_path }) => {
            if let Some(value) = value_path.take() {
                return value;
            }
            // A key: the value that follows gets its path.
            let child = match (path.as_deref(), scalar) {
                (Some(parent), Some(key)) => {
                    let dotted = if parent.is_empty() {
                        key.to_string()
                    } else {
                        index.entry(format!("{parent}[{key}]")).or_insert(pos);
                        format!("{parent}.{key}")
                    };
                    *path_bytes += 2 * dotted.len();
                    index.entry(dotted.clone()).or_insert(pos);
                    Some(dotted)
                }
                _ => None,
            };
            *value_path = Some(child);
            None
        }
    }
}

/// The position of `path`, or of its nearest ancestor in the index.
pub(super) fn find_position(
    index: &HashMap<String, (usize, usize)>,
    path: &str,
) -> Option<(usize, usize)> {
    let mut p = path;
    while !p.is_empty() {
        if let Some(pos) = index.get(p) {
            return Some(*pos);
        }
        let cut = if p.ends_with(']') {
            p.rfind('[')
        } else {
            p.rfind(['.', '['])
        };
        p = &p[..cut?];
    }
    None
}
