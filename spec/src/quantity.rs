//! Kubernetes resource quantities (`64Mi`, `1G`, `500m`, `1e3`, `0.5Gi`), parsed exactly as
//! `resource.Quantity` accepts them, with exact integer arithmetic (no floats).
//! Must not: know which resource a quantity belongs to.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A quantity as written in the manifest; [`Quantity::validate`] and
/// [`Quantity::to_bytes_ceil`] interpret it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Quantity(pub String);

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a quantity such as 64Mi, 1G, 500m or 2")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a quantity string is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    Syntax,
    #[error("quantity is too large")]
    TooLarge,
    #[error("must be greater than or equal to 0")]
    Negative,
}

/// An exact value `mantissa × 10^exp10 × 2^exp2` with a non-negative `mantissa`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parsed {
    negative: bool,
    mantissa: u128,
    exp10: i32,
    exp2: u32,
}

impl Quantity {
    /// The value in whole units, rounded up (as Kubernetes rounds memory to bytes).
    pub fn to_bytes_ceil(&self) -> Result<u64, QuantityError> {
        let p = parse(&self.0)?;
        if p.negative && p.mantissa != 0 {
            return Err(QuantityError::Negative);
        }
        let mut num: u128 = p.mantissa;
        let mut den: u128 = 1;
        if p.exp10 >= 0 {
            num = num
                .checked_mul(
                    10u128
                        .checked_pow(p.exp10 as u32)
                        .ok_or(QuantityError::TooLarge)?,
                )
                .ok_or(QuantityError::TooLarge)?;
        } else {
            den = 10u128
                .checked_pow(p.exp10.unsigned_abs())
                .ok_or(QuantityError::TooLarge)?;
        }
        num = num
            .checked_mul(1u128.checked_shl(p.exp2).ok_or(QuantityError::TooLarge)?)
            .ok_or(QuantityError::TooLarge)?;
        let v = num.div_ceil(den);
        u64::try_from(v).map_err(|_| QuantityError::TooLarge)
    }

    /// Checks the syntax only.
    pub fn validate(&self) -> Result<(), QuantityError> {
        parse(&self.0).map(|_| ())
    }

    /// Whether the value is negative (and not zero).
    pub fn is_negative(&self) -> bool {
        parse(&self.0).is_ok_and(|p| p.negative && p.mantissa != 0)
    }
}

fn parse(s: &str) -> Result<Parsed, QuantityError> {
    let s = s.trim();
    if s.is_empty() || s.len() > 64 {
        return Err(QuantityError::Syntax);
    }
    let (negative, rest) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let num_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(num_end);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return Err(QuantityError::Syntax);
    }
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 30 {
        return Err(QuantityError::TooLarge);
    }
    let mantissa: u128 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| QuantityError::Syntax)?
    };
    let mut exp10 = -(frac_part.len() as i32);
    let mut exp2 = 0u32;
    match suffix {
        "" => {}
        "Ki" => exp2 = 10,
        "Mi" => exp2 = 20,
        "Gi" => exp2 = 30,
        "Ti" => exp2 = 40,
        "Pi" => exp2 = 50,
        "Ei" => exp2 = 60,
        "n" => exp10 -= 9,
        "u" => exp10 -= 6,
        "m" => exp10 -= 3,
        "k" => exp10 += 3,
        "M" => exp10 += 6,
        "G" => exp10 += 9,
        "T" => exp10 += 12,
        "P" => exp10 += 15,
        "E" => exp10 += 18,
        other => {
            let exp = other
                .strip_prefix(['e', 'E'])
                .ok_or(QuantityError::Syntax)?;
            let unsigned = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if unsigned.is_empty()
                || !unsigned.bytes().all(|b| b.is_ascii_digit())
                || unsigned.len() > 4
            {
                return Err(QuantityError::Syntax);
            }
            let e: i32 = exp.parse().map_err(|_| QuantityError::Syntax)?;
            if e.abs() > 40 {
                return Err(QuantityError::TooLarge);
            }
            exp10 += e;
        }
    }
    Ok(Parsed {
        negative,
        mantissa,
        exp10,
        exp2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(s: &str) -> Result<u64, QuantityError> {
        Quantity(s.into()).to_bytes_ceil()
    }

    #[test]
    fn binary_and_decimal_suffixes() {
        assert_eq!(bytes("64Mi"), Ok(64 << 20));
        assert_eq!(bytes("1G"), Ok(1_000_000_000));
        assert_eq!(bytes("1e3"), Ok(1000));
        assert_eq!(bytes("1E3"), Ok(1000));
        assert_eq!(bytes("0.5Gi"), Ok(1 << 29));
        assert_eq!(bytes("128974848"), Ok(128_974_848));
        assert_eq!(bytes("129e6"), Ok(129_000_000));
        assert_eq!(bytes("123Mi"), Ok(123 << 20));
        assert_eq!(bytes("1k"), Ok(1000));
        assert_eq!(bytes("+2Ki"), Ok(2048));
    }

    #[test]
    fn milli_rounds_up() {
        assert_eq!(bytes("500m"), Ok(1));
        assert_eq!(bytes("1500m"), Ok(2));
        assert_eq!(bytes("0"), Ok(0));
    }

    #[test]
    fn rejects_garbage_and_overflow() {
        for bad in [
            "", "abc", "1.2.3", "Mi", "10MB", "1e", "1e+", "--1", "1 Gi", ".",
        ] {
            assert_eq!(bytes(bad), Err(QuantityError::Syntax), "{bad}");
        }
        assert_eq!(
            bytes("99999999999999999999Ei"),
            Err(QuantityError::TooLarge)
        );
        assert_eq!(bytes("1e40"), Err(QuantityError::TooLarge));
        assert_eq!(bytes("1e999"), Err(QuantityError::TooLarge));
        assert_eq!(bytes("-1Mi"), Err(QuantityError::Negative));
    }
}
