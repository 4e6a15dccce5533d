//! Fuzz target: the resource quantity parser (`wasmjob_spec::Quantity`, as
//! `resources.limits.memory` is read), on arbitrary strings. Beyond "never panics", it asserts
//! that the three entry points agree (a syntax error is the same error everywhere; a value in
//! bytes is never negative) and that a value in bytes means what it says: the plain integer
//! it rounds to reads back as the same number of bytes, and so does its `Ki` form when exact.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wasmjob_spec::Quantity;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let q = Quantity(text.to_string());
    let syntax = q.validate();
    let bytes = q.to_bytes_ceil();
    let negative = q.is_negative();
    match (&syntax, &bytes) {
        (Err(s), b) => {
            assert_eq!(
                b,
                &Err(s.clone()),
                "{text:?}: syntax error, yet bytes {b:?}"
            );
            assert!(!negative, "{text:?}: a syntax error is not negative");
        }
        (Ok(()), Ok(n)) => {
            assert!(!negative, "{text:?}: negative, yet {n} bytes");
            let plain = Quantity(n.to_string());
            assert_eq!(plain.to_bytes_ceil(), Ok(*n), "{text:?} -> {n}");
            if n % 1024 == 0 {
                let ki = Quantity(format!("{}Ki", n / 1024));
                assert_eq!(ki.to_bytes_ceil(), Ok(*n), "{text:?} -> {n}");
            }
        }
        (Ok(()), Err(e)) => {
            assert!(!e.to_string().is_empty(), "{text:?}: empty error");
        }
    }
});
