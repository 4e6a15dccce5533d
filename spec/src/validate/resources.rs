//! Container resources (pkg/apis/core/validation `ValidateResourceRequirements`) and quantities.

use super::*;

// resources

/// Whether `name` is a standard container resource (`cpu`, `memory`, `ephemeral-storage`,
/// `hugepages-<size>`).
pub(super) fn is_standard_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage")
        || name
            .strip_prefix("hugepages-")
            .is_some_and(|size| Quantity(size.to_string()).validate().is_ok())
}

/// Extended resources (`example.com/gpu`): whole numbers only, no overcommit.
pub(super) fn is_extended_resource(name: &str) -> bool {
    match name.split_once('/') {
        Some((prefix, _)) => prefix != "kubernetes.io" && !prefix.ends_with(".kubernetes.io"),
        None => false,
    }
}

/// Checks a quantity's syntax and sign; false when it is not usable.
pub(super) fn quantity_ok(q: &Quantity, path: &str, errs: &mut Vec<FieldError>) -> bool {
    if let Err(e) = q.validate() {
        errs.push(FieldError::invalid(path, &q.0, e.to_string()));
        return false;
    }
    if q.is_negative() {
        errs.push(FieldError::invalid(path, &q.0, NOT_NEGATIVE));
        return false;
    }
    // Kubernetes keeps arbitrarily large quantities; wasmjob counts them in 64 bits, and a
    // limit that does not fit must be refused, never read as "no limit".
    if q.to_bytes_ceil().is_err() {
        errs.push(FieldError::invalid(
            path,
            &q.0,
            format!("quantity is too large: must be at most {}", u64::MAX),
        ));
        return false;
    }
    true
}

/// The quantity in thousandths of a unit, rounded up (`500m` → 500, `2` → 2000, `0.1` → 100):
/// the decimal point of the number is moved three places, the suffix kept.
pub(super) fn milli_ceil(q: &Quantity) -> Option<u64> {
    let s = q.0.trim();
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+' | b'-') => s.split_at(1),
        _ => ("", s),
    };
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(end);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let frac = format!("{frac:0<3}");
    let (moved, tail) = frac.split_at(3);
    let shifted = if tail.is_empty() {
        format!("{sign}{int}{moved}{suffix}")
    } else {
        format!("{sign}{int}{moved}.{tail}{suffix}")
    };
    Quantity(shifted).to_bytes_ceil().ok()
}

/// The value used to compare a request with its limit: milli-units for cpu, whole units else.
pub(super) fn comparable(resource: &str, q: &Quantity) -> Option<u64> {
    if resource == "cpu" {
        milli_ceil(q)
    } else {
        q.to_bytes_ceil().ok()
    }
}

pub(super) fn resources(res: &ResourceRequirements, path: &str, errs: &mut Vec<FieldError>) {
    let mut usable_limits = BTreeMap::new();
    for (name, q) in &res.limits {
        let p = format!("{path}.limits[{name}]");
        resource_name(name, &p, errs);
        if resource_quantity(name, q, &p, errs) {
            usable_limits.insert(name.as_str(), q);
        }
    }
    for (name, q) in &res.requests {
        let p = format!("{path}.requests[{name}]");
        resource_name(name, &p, errs);
        if !resource_quantity(name, q, &p, errs) {
            continue;
        }
        let overcommit = !name.starts_with("hugepages-") && !is_extended_resource(name);
        let Some(limit) = usable_limits.get(name.as_str()) else {
            if !overcommit && !res.limits.contains_key(name) {
                errs.push(FieldError::required(
                    format!("{path}.limits[{name}]"),
                    "Limit must be set for non overcommitable resources",
                ));
            }
            continue;
        };
        let (Some(r), Some(l)) = (comparable(name, q), comparable(name, limit)) else {
            continue;
        };
        if !overcommit && r != l {
            errs.push(FieldError::invalid(
                &p,
                &q.0,
                format!("must be equal to {name} limit of {}", limit.0),
            ));
        } else if r > l {
            errs.push(FieldError::invalid(
                &p,
                &q.0,
                format!("must be less than or equal to {name} limit of {}", limit.0),
            ));
        }
    }
}

pub(super) fn resource_name(name: &str, path: &str, errs: &mut Vec<FieldError>) {
    if name.contains('/') {
        invalid_each(errs, path, name, qualified_name_errors(name));
    } else if !is_standard_resource(name) {
        errs.push(FieldError::invalid(
            path,
            name,
            "must be a standard resource for containers",
        ));
    }
}

pub(super) fn resource_quantity(
    name: &str,
    q: &Quantity,
    path: &str,
    errs: &mut Vec<FieldError>,
) -> bool {
    if !quantity_ok(q, path, errs) {
        return false;
    }
    // cpu is compared in thousandths of a core.
    if name == "cpu" && milli_ceil(q).is_none() {
        errs.push(FieldError::invalid(
            path,
            &q.0,
            format!("quantity is too large: must be at most {}m", u64::MAX),
        ));
        return false;
    }
    if is_extended_resource(name) && milli_ceil(q).is_some_and(|m| m % 1000 != 0) {
        errs.push(FieldError::invalid(path, &q.0, "must be an integer"));
        return false;
    }
    true
}
