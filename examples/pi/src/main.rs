//! `pi [N]` — print π to `N` significant digits (default 2000).
//!
//! This is the wasmjob counterpart of the Kubernetes pi Job, which runs
//! `perl -Mbignum=bpi -wle 'print bpi(2000)'`. The output is the same: one
//! line holding π correctly rounded to `N` significant digits, i.e. `3`
//! followed (for `N > 1`) by `.` and `N - 1` decimals. As with Perl's
//! `Math::BigFloat`, trailing zeros produced by rounding are kept, so the line
//! always has exactly `N` digits.
//!
//! π is computed with Machin's formula
//!
//! ```text
//! π = 16·arctan(1/5) − 4·arctan(1/239)
//! ```
//!
//! on fixed-point big numbers whose limbs are base-10⁹ digits (`u32`, with
//! `u64` intermediates), carrying guard digits past the last printed one. The
//! truncation error of the computation is bounded explicitly; should the
//! rounding decision ever fall inside that bound, the computation is redone
//! with more guard digits, so the printed rounding is always exact.
//!
//! No dependencies: it builds natively and for `wasm32-wasip1`.

use std::io::Write;
use std::process::ExitCode;

/// Number of digits printed when no argument is given (as in the Kubernetes
/// example).
const DEFAULT_DIGITS: usize = 2000;

/// Largest accepted digit count: a sanity limit (the algorithm is quadratic,
/// a million digits already takes a very long time).
const MAX_DIGITS: usize = 1_000_000;

/// Limb base: every limb holds nine decimal digits.
const BASE: u64 = 1_000_000_000;

/// Decimal digits per limb.
const LIMB_DIGITS: usize = 9;

fn usage(program: &str) -> String {
    format!(
        "usage: {program} [DIGITS]\n\
         Prints pi to DIGITS significant digits (default {DEFAULT_DIGITS}); \
         DIGITS is an integer from 1 to {MAX_DIGITS}."
    )
}

/// Parses the command line (`args[0]` is the program name) into the number
/// of significant digits to print.
fn parse_args(args: &[String]) -> Result<usize, String> {
    let program = args.first().map(String::as_str).unwrap_or("pi");
    match args.get(1..).unwrap_or_default() {
        [] => Ok(DEFAULT_DIGITS),
        [n] => match n.parse::<usize>() {
            Ok(n) if (1..=MAX_DIGITS).contains(&n) => Ok(n),
            Ok(_) => Err(format!(
                "{program}: DIGITS must be between 1 and {MAX_DIGITS}, got {n:?}\n{}",
                usage(program)
            )),
            Err(_) => Err(format!(
                "{program}: DIGITS must be a positive integer, got {n:?}\n{}",
                usage(program)
            )),
        },
        [_, extra, ..] => Err(format!(
            "{program}: unexpected extra argument {extra:?}\n{}",
            usage(program)
        )),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let digits = match parse_args(&args) {
        Ok(n) => n,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let line = pi_string(digits);
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// π rounded to `digits` significant digits, formatted like Perl's
/// `bpi(digits)`: `"3"` for one digit, otherwise `"3."` and `digits - 1`
/// decimals.
///
/// # Panics
///
/// Panics if `digits` is 0.
pub fn pi_string(digits: usize) -> String {
    assert!(digits >= 1, "pi_string needs at least one digit");
    let decimals = digits - 1;
    let mut guard = 12;
    loop {
        if let Some(s) = try_round(decimals, guard) {
            return s;
        }
        // The rounding decision was within the error bound: retry with more
        // guard digits. (Never happens in practice for π.)
        guard += 24;
    }
}

/// Computes π with at least `decimals + guard` fractional digits and rounds
/// it to `decimals` decimals. Returns `None` if the computation's error bound
/// makes the rounding direction uncertain.
fn try_round(decimals: usize, guard: usize) -> Option<String> {
    let frac_limbs = (decimals + guard).div_ceil(LIMB_DIGITS);
    let (pi, error_ulps) = machin_pi(frac_limbs);

    let int_part = pi[0];
    debug_assert_eq!(int_part, 3);
    let mut frac = String::with_capacity(frac_limbs * LIMB_DIGITS);
    for limb in &pi[1..] {
        frac.push_str(&format!("{limb:09}"));
    }

    // `rest` holds the digits after the last kept decimal; the true value of
    // `0.rest` (in units of the last computed digit) is within `error_ulps`
    // of the computed one. Drop as many trailing digits as `error_ulps` has
    // (plus one): if the remaining prefix is neither 4999…9 nor 5000…0 the
    // error cannot move the value across the rounding midpoint.
    let rest = &frac.as_bytes()[decimals..];
    let noise_digits = error_ulps.to_string().len() + 1;
    let round_up = rounding_direction(rest, noise_digits)?;

    // All kept digits, integer part first, then rounded as a decimal string.
    let mut kept: Vec<u8> = int_part.to_string().into_bytes();
    kept.extend_from_slice(&frac.as_bytes()[..decimals]);
    if round_up {
        increment_decimal(&mut kept);
    }
    // An all-nines integer part would grow by one digit (π's cannot).
    let int_len = kept.len() - decimals;
    let mut out = String::with_capacity(kept.len() + 1);
    out.push_str(std::str::from_utf8(&kept[..int_len]).expect("ASCII digits"));
    if decimals > 0 {
        out.push('.');
        out.push_str(std::str::from_utf8(&kept[int_len..]).expect("ASCII digits"));
    }
    Some(out)
}

/// Decides whether digits `rest` (those following the last kept one, as
/// ASCII) round the kept digits up, when the last `noise_digits` of them may
/// be wrong. Returns `None` when that is undecidable: if the digits before
/// the noisy ones are neither 4999…9 nor 5000…0, no error smaller than
/// 10^noise_digits can move the value across the rounding midpoint.
fn rounding_direction(rest: &[u8], noise_digits: usize) -> Option<bool> {
    if rest.len() <= noise_digits {
        return None;
    }
    let prefix = &rest[..rest.len() - noise_digits];
    let all = |b: &[u8], d: u8| b.iter().all(|&c| c == d);
    let ambiguous = (prefix[0] == b'4' && all(&prefix[1..], b'9'))
        || (prefix[0] == b'5' && all(&prefix[1..], b'0'));
    if ambiguous {
        None
    } else {
        Some(prefix[0] >= b'5')
    }
}

/// Adds one to the number written as ASCII decimal digits in `digits`,
/// propagating carries (and growing the number if it was all nines).
fn increment_decimal(digits: &mut Vec<u8>) {
    for d in digits.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return;
        }
    }
    digits.insert(0, b'1');
}

/// π as a fixed-point number: `result[0]` is the integer part and
/// `result[1..=frac_limbs]` are base-10⁹ fractional limbs, most significant
/// first. The value is within the returned number of units of the last limb
/// (ulps) of the true π.
fn machin_pi(frac_limbs: usize) -> (Vec<u32>, u64) {
    let (a, err_a) = arctan_inv(5, 16, frac_limbs);
    let (b, err_b) = arctan_inv(239, 4, frac_limbs);
    let mut pi = a;
    sub_assign(&mut pi, &b);
    (pi, err_a + err_b)
}

/// `multiplier · arctan(1/x)` as a fixed-point number with `frac_limbs`
/// fractional limbs, by the Taylor series
/// `arctan(1/x) = Σ (−1)ᵏ / ((2k+1)·x^(2k+1))`, together with a bound on its
/// error in ulps.
///
/// Every term is computed by truncating divisions: the running power
/// `multiplier / x^(2k+1)` is off by less than 2 ulps (each step divides the
/// previous error by x² ≥ 25 and adds < 1), and dividing it by 2k+1 adds
/// < 1 more, so each term is off by < 3 ulps. The series is stopped when the
/// power truncates to zero, after which the neglected tail is < 1 ulp. So
/// the total error is < 3·(terms + 1) ulps.
fn arctan_inv(x: u32, multiplier: u32, frac_limbs: usize) -> (Vec<u32>, u64) {
    let len = frac_limbs + 1;
    let x2 = x * x;

    // power = multiplier / x
    let mut power = vec![0u32; len];
    power[0] = multiplier;
    let mut start = div_assign_small(&mut power, x, 0);
    let mut sum = power.clone();

    let mut term = vec![0u32; len];
    let mut terms: u64 = 1;
    let mut k: u32 = 1;
    loop {
        // power /= x²
        start = div_assign_small(&mut power, x2, start);
        if start == len {
            break;
        }
        // term = power / (2k + 1)
        term[start..].copy_from_slice(&power[start..]);
        term[..start].fill(0);
        div_assign_small(&mut term, 2 * k + 1, start);
        if k % 2 == 1 {
            sub_assign(&mut sum, &term);
        } else {
            add_assign(&mut sum, &term);
        }
        terms += 1;
        k += 1;
    }
    (sum, 3 * (terms + 1))
}

/// Divides the fixed-point number `a` by `d` in place, truncating. Limbs
/// before `start` must be zero (they are skipped). Returns the index of the
/// first non-zero limb of the quotient (`a.len()` if it is zero).
fn div_assign_small(a: &mut [u32], d: u32, start: usize) -> usize {
    let d = u64::from(d);
    let mut rem: u64 = 0;
    for limb in &mut a[start..] {
        let cur = rem * BASE + u64::from(*limb);
        // cur < d·BASE, so the quotient fits a limb
        *limb = (cur / d) as u32;
        rem = cur % d;
    }
    a.iter()
        .skip(start)
        .position(|&l| l != 0)
        .map_or(a.len(), |p| p + start)
}

/// `a += b` on equally long fixed-point numbers (no overflow of the integer
/// limb happens for the values used here).
fn add_assign(a: &mut [u32], b: &[u32]) {
    let mut carry = 0u32;
    for (x, &y) in a.iter_mut().zip(b).rev() {
        let s = *x + y + carry; // < 3·10⁹ fits in u32
        if u64::from(s) >= BASE {
            *x = s - BASE as u32;
            carry = 1;
        } else {
            *x = s;
            carry = 0;
        }
    }
    debug_assert_eq!(carry, 0);
}

/// `a -= b` on equally long fixed-point numbers; requires `a >= b`.
fn sub_assign(a: &mut [u32], b: &[u32]) {
    let mut borrow = 0u32;
    for (x, &y) in a.iter_mut().zip(b).rev() {
        let sub = y + borrow;
        if *x >= sub {
            *x -= sub;
            borrow = 0;
        } else {
            *x = *x + BASE as u32 - sub;
            borrow = 1;
        }
    }
    debug_assert_eq!(borrow, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// π's first 50 significant digits, from the literature.
    const PI_50: &str = "3.1415926535897932384626433832795028841971693993751";

    /// An independent way to get π's digits: the Rabinowitz–Wagon spigot
    /// algorithm (mixed-radix representation, no big integers, no series of
    /// arctangents). Returns the first `n` digits truncated, as `"31415…"`.
    fn spigot_digits(n: usize) -> String {
        let len = n * 10 / 3 + 1;
        let mut a = vec![2u64; len];
        let mut out = String::with_capacity(n + 1);
        let mut nines = 0usize;
        let mut predigit: Option<u64> = None;
        // Produce two extra digits so the held back pre-digits are settled.
        for _ in 0..n + 2 {
            let mut q = 0u64;
            for i in (1..=len).rev() {
                let x = 10 * a[i - 1] + q * i as u64;
                let m = 2 * i as u64 - 1;
                a[i - 1] = x % m;
                q = x / m;
            }
            a[0] = q % 10;
            q /= 10;
            match q {
                9 => nines += 1,
                10 => {
                    let p = predigit.map_or(1, |p| p + 1);
                    out.push(char::from(b'0' + p as u8));
                    out.extend(std::iter::repeat_n('0', nines));
                    predigit = Some(0);
                    nines = 0;
                }
                _ => {
                    if let Some(p) = predigit {
                        out.push(char::from(b'0' + p as u8));
                    }
                    predigit = Some(q);
                    out.extend(std::iter::repeat_n('9', nines));
                    nines = 0;
                }
            }
        }
        out.truncate(n);
        out
    }

    /// Rounds the spigot's digits to `n` significant digits and formats them
    /// like `pi_string`, independently of the code under test.
    fn reference(n: usize) -> String {
        let raw = spigot_digits(n + 12);
        let mut digits: Vec<u8> = raw.as_bytes()[..n].to_vec();
        if raw.as_bytes()[n] >= b'5' {
            let mut i = n;
            loop {
                i -= 1;
                if digits[i] == b'9' {
                    digits[i] = b'0';
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
        let s = String::from_utf8(digits).unwrap();
        if n == 1 {
            s
        } else {
            format!("{}.{}", &s[..1], &s[1..])
        }
    }

    #[test]
    fn spigot_agrees_with_literature() {
        assert_eq!(spigot_digits(50), PI_50.replace('.', ""));
    }

    #[test]
    fn first_50_digits() {
        assert_eq!(pi_string(50), PI_50);
        assert_eq!(pi_string(50), reference(50));
    }

    #[test]
    fn one_and_two_digits() {
        assert_eq!(pi_string(1), "3");
        assert_eq!(pi_string(2), "3.1");
        assert_eq!(pi_string(3), "3.14");
    }

    #[test]
    fn rounds_up_when_next_digit_is_at_least_5() {
        // 3.14159 26535…: the digit after "3.1415" is 9, after "3.14159" is 2,
        // after "3.141592" is 6, after "3.14159265" is 3.
        assert_eq!(pi_string(5), "3.1416");
        assert_eq!(pi_string(6), "3.14159");
        assert_eq!(pi_string(7), "3.141593");
        assert_eq!(pi_string(8), "3.1415927");
        assert_eq!(pi_string(9), "3.14159265");
        // …3589793: rounding "3.1415926535" (next digit 8) up.
        assert_eq!(pi_string(11), "3.1415926536");
    }

    #[test]
    fn rounding_carries_through_the_feynman_point() {
        // Decimals 762..=767 are 999999, followed by 8: rounding anywhere in
        // there carries into decimal 761 (a 4) and leaves trailing zeros,
        // which are printed (the result keeps exactly N digits).
        for n in 760..=770 {
            let s = pi_string(n);
            assert_eq!(s, reference(n), "n = {n}");
            assert_eq!(s.len(), n + 1, "n = {n}");
        }
        assert!(pi_string(764).ends_with("13500"));
    }

    #[test]
    fn matches_spigot_for_many_lengths() {
        for n in 1..=120 {
            assert_eq!(pi_string(n), reference(n), "n = {n}");
        }
    }

    #[test]
    fn default_2000_digits() {
        let s = pi_string(DEFAULT_DIGITS);
        assert_eq!(s.len(), 2001);
        assert_eq!(s, reference(2000));
    }

    #[test]
    fn rounding_direction_detects_uncertainty() {
        assert_eq!(rounding_direction(b"4999999837", 3), None);
        assert_eq!(rounding_direction(b"5000000123", 3), None);
        assert_eq!(rounding_direction(b"4999998837", 3), Some(false));
        assert_eq!(rounding_direction(b"5000010123", 3), Some(true));
        assert_eq!(rounding_direction(b"9000000000", 3), Some(true));
        assert_eq!(rounding_direction(b"0999999999", 3), Some(false));
        assert_eq!(rounding_direction(b"123", 3), None);
        // Too few guard digits: undecided, so pi_string retries with more.
        assert_eq!(try_round(16, 1), None);
        assert_eq!(pi_string(17), "3.1415926535897932");
    }

    #[test]
    fn increments_with_carry() {
        let mut d = b"3149".to_vec();
        increment_decimal(&mut d);
        assert_eq!(d, b"3150");
        let mut d = b"99".to_vec();
        increment_decimal(&mut d);
        assert_eq!(d, b"100");
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn argument_parsing() {
        assert_eq!(parse_args(&args(&["pi"])), Ok(2000));
        assert_eq!(parse_args(&args(&[])), Ok(2000));
        assert_eq!(parse_args(&args(&["pi", "50"])), Ok(50));
        assert_eq!(parse_args(&args(&["pi", "1"])), Ok(1));
        assert_eq!(parse_args(&args(&["pi", "1000000"])), Ok(1_000_000));
    }

    #[test]
    fn argument_errors() {
        for bad in [
            "0",
            "-5",
            "abc",
            "",
            "1.5",
            " 5",
            "1000001",
            "99999999999999999999999",
        ] {
            let err = parse_args(&args(&["pi", bad])).unwrap_err();
            assert!(err.contains("usage: pi [DIGITS]"), "{bad:?}: {err}");
            assert!(err.contains(&format!("{bad:?}")), "{bad:?}: {err}");
        }
        let err = parse_args(&args(&["pi", "5", "6"])).unwrap_err();
        assert!(err.contains("unexpected extra argument \"6\""), "{err}");
    }
}
