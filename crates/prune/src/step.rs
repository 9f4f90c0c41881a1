//! `prune.start` / `prune.end`: a float is a fraction of training, an integer an absolute
//! gradient step. Hand-written serde keeps that distinction both ways and gives a readable error.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in training, resolved against the run length by [`crate::PruneParams::check`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StepSpec {
    /// Fraction of the run's gradient steps, in [0, 1] (TOML float).
    Fraction(f64),
    /// Absolute gradient step (TOML integer).
    Step(u64),
}

impl StepSpec {
    /// The absolute gradient step: fractions are rounded to the nearest step. Assumes the value
    /// was range-checked (fractions in [0, 1]).
    pub fn resolve(self, total_gradient_steps: u64) -> u64 {
        match self {
            StepSpec::Step(s) => s,
            // Exact for any fraction in [0, 1] and totals below 2^53.
            StepSpec::Fraction(f) => (f * total_gradient_steps as f64).round() as u64,
        }
    }
}

impl fmt::Display for StepSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepSpec::Fraction(x) => write!(f, "{x:?}"),
            StepSpec::Step(s) => write!(f, "{s}"),
        }
    }
}

impl Serialize for StepSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            StepSpec::Fraction(x) => serializer.serialize_f64(x),
            StepSpec::Step(s) => serializer.serialize_u64(s),
        }
    }
}

struct StepSpecVisitor;

impl Visitor<'_> for StepSpecVisitor {
    type Value = StepSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a fraction of training in [0, 1] (float) or an absolute gradient step (integer)",
        )
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StepSpec, E> {
        Ok(StepSpec::Step(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StepSpec, E> {
        u64::try_from(v)
            .map(StepSpec::Step)
            .map_err(|_| E::custom(format!("gradient step {v} is negative; allowed ≥ 0")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<StepSpec, E> {
        Ok(StepSpec::Fraction(v))
    }
}

impl<'de> Deserialize<'de> for StepSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StepSpecVisitor)
    }
}
