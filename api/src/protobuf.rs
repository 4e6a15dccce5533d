//! The Kubernetes protobuf encoding, as far as wasmjob reads it: kubectl's typed commands
//! (`kubectl create namespace`) send `application/vnd.kubernetes.protobuf` bodies, a `k8s\0`
//! magic followed by a `runtime.Unknown` envelope (type meta and the object's bytes). Of the
//! object this reads the metadata fields a Namespace is created with (name, generateName,
//! labels, annotations), and the `DeleteOptions` a typed delete sends (`kubectl drain`), as the
//! JSON the rest of the API reads. Answers stay JSON (clients
//! read answers by their content type).
//!
//! Must not: panic or allocate beyond the body on malformed input (every length is checked
//! against what is left).

use serde_json::{Map, Value, json};

/// The media type of Kubernetes protobuf bodies.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\0";

/// One field of a message: its number and, for length-delimited fields, its bytes (for
/// varints, their value).
struct Field<'a> {
    number: u64,
    bytes: Option<&'a [u8]>,
    value: u64,
}

/// The fields of a message, in order.
fn fields(mut data: &[u8]) -> Result<Vec<Field<'_>>, String> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let key = varint(&mut data)?;
        let (number, wire) = (key >> 3, key & 7);
        let mut value = 0;
        let bytes = match wire {
            0 => {
                value = varint(&mut data)?;
                None
            }
            1 => Some(take(&mut data, 8)?),
            2 => {
                let len = varint(&mut data)?;
                let len = usize::try_from(len).map_err(|_| "length out of range".to_string())?;
                Some(take(&mut data, len)?)
            }
            5 => Some(take(&mut data, 4)?),
            w => return Err(format!("unsupported wire type {w}")),
        };
        out.push(Field {
            number,
            bytes,
            value,
        });
    }
    Ok(out)
}

fn take<'a>(data: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if data.len() < n {
        return Err("truncated message".into());
    }
    let (head, rest) = data.split_at(n);
    *data = rest;
    Ok(head)
}

fn varint(data: &mut &[u8]) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let Some((&b, rest)) = data.split_first() else {
            return Err("truncated varint".into());
        };
        *data = rest;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint too long".into())
}

fn text(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "a string is not UTF-8".into())
}

/// The bytes of field `n`, the last one when repeated.
fn bytes_of<'a>(fields: &[Field<'a>], n: u64) -> Option<&'a [u8]> {
    fields
        .iter()
        .rev()
        .find(|f| f.number == n)
        .and_then(|f| f.bytes)
}

/// A `map<string, string>` field (entries with key 1 and value 2).
fn string_map(fields: &[Field<'_>], n: u64) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for f in fields.iter().filter(|f| f.number == n) {
        let entry = fields_of(f.bytes)?;
        let key = text(bytes_of(&entry, 1).unwrap_or_default())?;
        let value = text(bytes_of(&entry, 2).unwrap_or_default())?;
        out.insert(key, Value::String(value));
    }
    Ok(out)
}

fn fields_of<'a>(bytes: Option<&'a [u8]>) -> Result<Vec<Field<'a>>, String> {
    fields(bytes.ok_or("a message field is not length-delimited")?)
}

/// The varint of field `n`, the last one when repeated.
fn varint_of(fields: &[Field<'_>], n: u64) -> Option<u64> {
    fields
        .iter()
        .rev()
        .find(|f| f.number == n && f.bytes.is_none())
        .map(|f| f.value)
}

/// The fields of the object in a protobuf body (after the magic, inside its envelope).
fn object_fields(body: &[u8]) -> Result<Vec<Field<'_>>, String> {
    let envelope = body
        .strip_prefix(MAGIC)
        .ok_or("the body does not start with the Kubernetes protobuf magic")?;
    let unknown = fields(envelope)?;
    fields(bytes_of(&unknown, 2).unwrap_or_default())
}

/// Whether `body` is in the Kubernetes protobuf encoding.
pub fn is_protobuf(body: &[u8]) -> bool {
    body.starts_with(MAGIC)
}

/// The `DeleteOptions` of a protobuf body as JSON (`gracePeriodSeconds`, `preconditions`,
/// `orphanDependents`, `propagationPolicy`, `dryRun`).
pub fn delete_options_json(body: &[u8]) -> Result<Value, String> {
    let options = object_fields(body)?;
    let mut out = Map::new();
    if let Some(v) = varint_of(&options, 1) {
        // An int64 as a varint: its two's complement.
        out.insert("gracePeriodSeconds".into(), json!(v as i64));
    }
    if let Some(b) = bytes_of(&options, 2) {
        let p = fields(b)?;
        let mut pre = Map::new();
        for (n, key) in [(1, "uid"), (2, "resourceVersion")] {
            if let Some(b) = bytes_of(&p, n) {
                pre.insert(key.into(), Value::String(text(b)?));
            }
        }
        out.insert("preconditions".into(), Value::Object(pre));
    }
    if let Some(v) = varint_of(&options, 3) {
        out.insert("orphanDependents".into(), json!(v != 0));
    }
    if let Some(b) = bytes_of(&options, 4) {
        out.insert("propagationPolicy".into(), Value::String(text(b)?));
    }
    let dry_run: Vec<Value> = options
        .iter()
        .filter(|f| f.number == 5)
        .map(|f| text(f.bytes.unwrap_or_default()).map(Value::String))
        .collect::<Result<_, _>>()?;
    if !dry_run.is_empty() {
        out.insert("dryRun".into(), Value::Array(dry_run));
    }
    Ok(Value::Object(out))
}

/// The object of a protobuf body as JSON: `apiVersion`, `kind`, and the metadata's name,
/// generateName, labels and annotations.
pub fn object_meta_json(body: &[u8]) -> Result<Value, String> {
    let envelope = body
        .strip_prefix(MAGIC)
        .ok_or("the body does not start with the Kubernetes protobuf magic")?;
    let unknown = fields(envelope)?;
    let type_meta = fields(bytes_of(&unknown, 1).unwrap_or_default())?;
    let api_version = text(bytes_of(&type_meta, 1).unwrap_or_default())?;
    let kind = text(bytes_of(&type_meta, 2).unwrap_or_default())?;
    let object = fields(bytes_of(&unknown, 2).unwrap_or_default())?;
    let meta = fields(bytes_of(&object, 1).unwrap_or_default())?;
    let mut metadata = Map::new();
    for (n, key) in [(1, "name"), (2, "generateName")] {
        if let Some(b) = bytes_of(&meta, n) {
            metadata.insert(key.into(), Value::String(text(b)?));
        }
    }
    for (n, key) in [(11, "labels"), (12, "annotations")] {
        let map = string_map(&meta, n)?;
        if !map.is_empty() {
            metadata.insert(key.into(), Value::Object(map));
        }
    }
    Ok(json!({"apiVersion": api_version, "kind": kind, "metadata": metadata}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![((n << 3) | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn reads_a_namespace_as_kubectl_sends_it() {
        let type_meta = [field(1, b"v1"), field(2, b"Namespace")].concat();
        let label = [field(1, b"team"), field(2, b"blue")].concat();
        let meta = [field(1, b"team-a"), field(11, &label)].concat();
        let object = [field(1, &meta), field(2, b""), field(3, b"")].concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &object)].concat();
        assert_eq!(
            object_meta_json(&body).unwrap(),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a", "labels": {"team": "blue"}}})
        );
    }

    #[test]
    fn reads_delete_options_as_a_typed_client_sends_them() {
        let pre = [field(1, b"u-1")].concat();
        let options = [
            vec![0x08, 0x00],
            field(2, &pre),
            field(4, b"Background"),
            field(5, b"All"),
        ]
        .concat();
        let type_meta = [field(1, b"v1"), field(2, b"DeleteOptions")].concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &options)].concat();
        assert!(is_protobuf(&body));
        assert_eq!(
            delete_options_json(&body).unwrap(),
            json!({"gracePeriodSeconds": 0, "preconditions": {"uid": "u-1"},
                   "propagationPolicy": "Background", "dryRun": ["All"]})
        );
        assert!(delete_options_json(b"k8s\0\x12\x05").is_err());
    }

    #[test]
    fn malformed_bodies_are_errors() {
        for body in [
            &b"{}"[..],
            b"k8s\0\x0a\x7f",
            b"k8s\0\x0a\x02\x0a\x05",
            b"k8s\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
            b"k8s\0\x0f",
        ] {
            assert!(object_meta_json(body).is_err(), "{body:?}");
        }
    }
}
