//! `run.seed` over the whole u64 range. TOML integers are i64, so a seed above 2^63 - 1 is
//! written (and may be given) as a string of digits; smaller seeds stay plain integers.

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

pub fn serialize<S: Serializer>(seed: &u64, s: S) -> Result<S::Ok, S::Error> {
    if i64::try_from(*seed).is_ok() {
        s.serialize_u64(*seed)
    } else {
        s.serialize_str(&seed.to_string())
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(SeedVisitor)
}

struct SeedVisitor;

impl Visitor<'_> for SeedVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(
            "an integer 0..=9223372036854775807, or a quoted string of digits up to 18446744073709551615",
        )
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        let digits = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
        digits
            .then(|| v.parse().ok())
            .flatten()
            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}
