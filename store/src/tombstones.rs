//! The tombstone of the pods that went with their Job: one row for all of them, holding what
//! a resumed watch needs to name each pod's deletion — name, uid, labels — packed: the labels
//! all share once, each pod's own others beside it; names as suffixes of the prefix they
//! share; uids, when they are all canonical UUIDs, as 22 characters of base64 each. A Job of
//! 100,000 pods leaves about 3 MB, not 10.
//!
//! Must not: read or write the store.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

type Labels = BTreeMap<String, String>;

/// One pod that went: its name, uid and labels.
pub(crate) struct Gone<'a> {
    pub name: &'a str,
    pub uid: &'a str,
    pub labels: &'a Labels,
}

/// The packed group of `pods`, the first deleted at resourceVersion `first`, each next one
/// at the next.
pub(crate) fn pack(pods: &[Gone<'_>], first: i64) -> Value {
    let mut common = pods.first().map(|p| p.labels.clone()).unwrap_or_default();
    common.retain(|k, v| pods.iter().all(|p| p.labels.get(k) == Some(v)));
    let mut extra = Map::new();
    for (i, p) in pods.iter().enumerate() {
        let own: Map<String, Value> = p
            .labels
            .iter()
            .filter(|(k, _)| !common.contains_key(*k))
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        if !own.is_empty() {
            extra.insert(i.to_string(), Value::Object(own));
        }
    }
    let prefix = common_prefix(pods.iter().map(|p| p.name));
    let names: Vec<&str> = pods.iter().map(|p| &p.name[prefix.len()..]).collect();
    let packed_uids: Option<String> = pods
        .iter()
        .map(|p| {
            uuid::Uuid::parse_str(p.uid)
                .ok()
                .filter(|u| u.hyphenated().to_string() == p.uid)
                .map(|u| B64.encode(u.as_bytes()))
        })
        .collect();
    let uids = match packed_uids {
        Some(packed) => json!({"b64": packed}),
        None => json!(pods.iter().map(|p| p.uid).collect::<Vec<_>>()),
    };
    json!({
        "first": first,
        "labels": common,
        "extra": extra,
        "prefix": prefix,
        "names": names.join(","),
        "uids": uids,
    })
}

/// The pods of a group, in the order they were deleted, each with all its labels; groups of
/// either form (packed, or one `[name, uid, own labels]` entry per pod as stores of format 1
/// wrote them). `None` when the group is not one of them.
pub(crate) fn unpack(group: &Value) -> Option<Vec<(String, String, Value)>> {
    let common = group["labels"].as_object().cloned().unwrap_or_default();
    let with = |own: Option<&Map<String, Value>>| {
        let mut all = common.clone();
        if let Some(own) = own {
            all.extend(own.clone());
        }
        Value::Object(all)
    };
    if let Some(pods) = group["pods"].as_array() {
        return Some(
            pods.iter()
                .map(|p| {
                    (
                        p[0].as_str().unwrap_or("").to_string(),
                        p[1].as_str().unwrap_or("").to_string(),
                        with(p[2].as_object()),
                    )
                })
                .collect(),
        );
    }
    let prefix = group["prefix"].as_str()?;
    let names: Vec<String> = match group["names"].as_str()? {
        "" if group["uids"]["b64"].as_str() == Some("") => Vec::new(),
        all => all.split(',').map(|s| format!("{prefix}{s}")).collect(),
    };
    let uids: Vec<String> = match (group["uids"]["b64"].as_str(), group["uids"].as_array()) {
        (Some(packed), _) => packed
            .as_bytes()
            .chunks(22)
            .map(|c| {
                let bytes = B64.decode(c).ok()?;
                uuid::Uuid::from_slice(&bytes)
                    .ok()
                    .map(|u| u.hyphenated().to_string())
            })
            .collect::<Option<_>>()?,
        (None, Some(list)) => list
            .iter()
            .map(|u| u.as_str().map(str::to_string))
            .collect::<Option<_>>()?,
        _ => return None,
    };
    if names.len() != uids.len() {
        return None;
    }
    Some(
        names
            .into_iter()
            .zip(uids)
            .enumerate()
            .map(|(i, (name, uid))| (name, uid, with(group["extra"][i.to_string()].as_object())))
            .collect(),
    )
}

fn common_prefix<'a>(mut names: impl Iterator<Item = &'a str>) -> &'a str {
    let Some(first) = names.next() else {
        return "";
    };
    let mut len = first.len();
    for n in names {
        len = first
            .bytes()
            .zip(n.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    &first[..len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_pack_and_unpack_to_the_same_pods() {
        let shared: Labels = [("job", "a")].map(|(k, v)| (k.into(), v.into())).into();
        let own: Labels = [("job", "a"), ("index", "1")]
            .map(|(k, v)| (k.into(), v.into()))
            .into();
        let uids: Vec<String> = (0..3).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let pods = [
            Gone {
                name: "a-bcdfg",
                uid: &uids[0],
                labels: &shared,
            },
            Gone {
                name: "a-1-hjklm",
                uid: &uids[1],
                labels: &own,
            },
            Gone {
                name: "a-npqrs",
                uid: &uids[2],
                labels: &shared,
            },
        ];
        let group = pack(&pods, 7);
        assert!(group["uids"]["b64"].is_string(), "{group}");
        let back = unpack(&group).unwrap();
        assert_eq!(back.len(), 3);
        for (p, (name, uid, labels)) in pods.iter().zip(&back) {
            assert_eq!((name.as_str(), uid.as_str()), (p.name, p.uid));
            assert_eq!(labels, &serde_json::to_value(p.labels).unwrap());
        }
        // Uids that are not canonical UUIDs are kept as they are.
        let odd = [Gone {
            name: "x",
            uid: "not-a-uuid",
            labels: &shared,
        }];
        assert_eq!(unpack(&pack(&odd, 1)).unwrap()[0].1, "not-a-uuid");
        let upper = uids[0].to_uppercase();
        let odd = [Gone {
            name: "x",
            uid: &upper,
            labels: &shared,
        }];
        assert_eq!(unpack(&pack(&odd, 1)).unwrap()[0].1, upper);
        assert!(unpack(&pack(&[], 1)).unwrap().is_empty());
        // 100,000 pods of one Job take about 30 bytes each.
        let many: Vec<(String, String)> = (0..100_000)
            .map(|i| (format!("job-{i:05}"), uuid::Uuid::new_v4().to_string()))
            .collect();
        let gone: Vec<Gone> = many
            .iter()
            .map(|(n, u)| Gone {
                name: n,
                uid: u,
                labels: &shared,
            })
            .collect();
        let size = pack(&gone, 1).to_string().len();
        assert!(size < 100_000 * 32, "{size} bytes");
    }
}
