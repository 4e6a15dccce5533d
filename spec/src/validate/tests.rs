//! Validation as the API server words it, case by case.

use super::*;

#[test]
fn name_rules_match_apimachinery() {
    assert!(dns_label_errors("my-name").is_empty());
    assert_eq!(dns_label_errors("a.b"), vec!["must not contain dots"]);
    assert!(dns_label_errors("-a")[0].contains("e.g. 'my-name',  or '123-abc'"));
    assert!(dns_subdomain_errors("example.com").is_empty());
    assert!(!dns_subdomain_errors("a..b").is_empty());
    assert!(qualified_name_errors("example.com/MyName").is_empty());
    assert_eq!(
        qualified_name_errors("/x"),
        vec!["prefix part must be non-empty"]
    );
    assert_eq!(qualified_name_errors("a/b/c").len(), 1);
    assert!(label_value_errors("").is_empty());
    assert!(!label_value_errors("-x").is_empty());
    assert_eq!(
        label_value_errors(&"a".repeat(64)),
        vec!["must be no more than 63 characters"]
    );
}

#[test]
fn milli_units() {
    let m = |s: &str| milli_ceil(&Quantity(s.into()));
    assert_eq!(m("500m"), Some(500));
    assert_eq!(m("2"), Some(2000));
    assert_eq!(m("0.1"), Some(100));
    assert_eq!(m(".5"), Some(500));
    assert_eq!(m("1.2345"), Some(1235));
    assert_eq!(m("1k"), Some(1_000_000));
    assert_eq!(m("1e3"), Some(1_000_000));
    assert_eq!(m("1u"), Some(1));
    assert_eq!(m("-1"), None);
}

#[test]
fn indexes_format() {
    assert_eq!(count_indexes("", Some(3)), Ok(0));
    assert_eq!(count_indexes("0,2-4,7", Some(8)), Ok(5));
    assert!(count_indexes("3-3", Some(8)).is_err());
    assert!(count_indexes("2,1", Some(8)).is_err());
    assert!(count_indexes("1-3,3", Some(8)).is_err());
    assert!(count_indexes("8", Some(8)).is_err());
    assert!(count_indexes("1-2-3", Some(8)).is_err());
    assert!(count_indexes("a", Some(8)).is_err());
    assert!(count_indexes(",", Some(8)).is_err());
}

#[test]
fn index_records_keys_items_and_brackets() {
    let text = "a:\n  b:\n  - x: 1\n    y: [2, {z: 3}]\n  m:\n    k.io/v: w\n? [c]\n: d\n";
    let idx = position_index(text);
    assert_eq!(idx.get("a"), Some(&(1, 1)));
    assert_eq!(idx.get("a.b"), Some(&(2, 3)));
    assert_eq!(idx.get("a.b[0].x"), Some(&(3, 5)));
    assert_eq!(idx.get("a.b[0].y"), Some(&(4, 5)));
    assert_eq!(idx.get("a.b[0].y[1].z").map(|p| p.0), Some(4));
    assert_eq!(idx.get("a.m[k.io/v]"), Some(&(6, 5)));
    assert!(idx.keys().all(|k| !k.contains('c') && !k.contains('d')));
    assert_eq!(find_position(&idx, "a.b[0].missing"), Some((3, 5)));
    assert_eq!(find_position(&idx, "a.m[nope]"), Some((5, 3)));
    assert_eq!(find_position(&idx, "other"), None);
}

#[test]
fn index_reads_json_and_survives_garbage() {
    let idx = position_index("{\n  \"spec\": {\"a\": [1, {\"b\": 2}]}\n}");
    assert_eq!(idx.get("spec.a[1].b").map(|p| p.0), Some(2));
    let deep = "[".repeat(10_000);
    assert!(position_index(&deep).is_empty());
    assert!(position_index("a: [1,\n").contains_key("a"));
}

#[test]
fn tolerations_follow_validate_tolerations() {
    let t = |key: &str, operator: &str, value: &str, effect: &str, seconds: Option<i64>| {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let mut errs = Vec::new();
        toleration(
            &Toleration {
                key: some(key),
                operator: some(operator),
                value: some(value),
                effect: some(effect),
                toleration_seconds: seconds,
            },
            "t",
            &mut errs,
        );
        errs.iter().map(|e| e.to_string()).collect::<Vec<_>>()
    };
    assert!(t("dedicated", "", "batch", "NoSchedule", None).is_empty());
    assert!(t("", "Exists", "", "", None).is_empty());
    assert!(t("k", "Exists", "", "NoExecute", Some(300)).is_empty());
    let one = |errs: Vec<String>, words: &str| {
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].contains(words), "{errs:?}");
    };
    one(
        t("", "Equal", "x", "", None),
        "operator must be Exists when `key` is empty",
    );
    one(
        t("k", "Exists", "x", "", None),
        "value must be empty when `operator` is 'Exists'",
    );
    one(
        t("k", "Exists", "", "NoSchedule", Some(1)),
        "effect must be 'NoExecute'",
    );
    one(
        t("k", "Like", "", "", None),
        "supported values: \"Equal\", \"Exists\"",
    );
    one(t("k", "", "", "Sometimes", None), "t.effect");
    one(t("bad key", "Exists", "", "", None), "t.key");
}
