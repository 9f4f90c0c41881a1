//! Checking raw parameters, the way every sparq component does it.
//!
//! Each component crate owns its TOML section as a raw parameter struct with its defaults, and a
//! `check()` that turns it into something the training loop may use (linfa's `ParamGuard`
//! rule): `sparq_envs::EnvConfig`, `sparq_log::LogConfig`, `sparq_policy::NetworkConfig`,
//! `sparq_prune::PruneParams`. `sparq-config` only aggregates the sections and checks what spans
//! several of them. This crate holds what those checks share: [`ParamError`], one line naming
//! the key, its value and what is allowed, and the range tests that build it.
//!
//! ```
//! use sparq_params::{ParamError, range};
//!
//! let e = range((1..=4096).contains(&0), "env.num_envs", 0, "1..=4096").unwrap_err();
//! assert_eq!(e.to_string(), "env.num_envs = 0 is out of range: allowed 1..=4096");
//! assert_eq!(e.key(), "env.num_envs");
//! ```

use std::fmt::Display;

/// A parameter that fails its check; displays as one line naming the dotted key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// A value lies outside its allowed range.
    #[error("{key} = {value} is out of range: allowed {allowed}")]
    Range {
        key: String,
        value: String,
        allowed: String,
    },

    /// A value breaks a requirement that is not a plain range (`must be > 0 and finite`, ...).
    #[error("{key} = {value} {requirement}")]
    Invalid {
        key: String,
        value: String,
        requirement: String,
    },
}

impl ParamError {
    /// The dotted key at fault (`agent.lr`, `network.hidden[1]`).
    pub fn key(&self) -> &str {
        match self {
            ParamError::Range { key, .. } | ParamError::Invalid { key, .. } => key,
        }
    }

    /// What is wrong with the value, without `key = value` (for a caller that shows both).
    pub fn detail(&self) -> String {
        match self {
            ParamError::Range { allowed, .. } => format!("out of range: allowed {allowed}"),
            ParamError::Invalid { requirement, .. } => requirement.clone(),
        }
    }
}

/// `Ok` when `ok`, else a [`ParamError::Range`] for `key = value`.
pub fn range(
    ok: bool,
    key: &str,
    value: impl Display,
    allowed: impl Display,
) -> Result<(), ParamError> {
    if ok {
        Ok(())
    } else {
        Err(ParamError::Range {
            key: key.to_owned(),
            value: value.to_string(),
            allowed: allowed.to_string(),
        })
    }
}

/// A [`ParamError::Invalid`]: `key = value requirement`.
pub fn invalid(key: &str, value: impl Display, requirement: impl Display) -> ParamError {
    ParamError::Invalid {
        key: key.to_owned(),
        value: value.to_string(),
        requirement: requirement.to_string(),
    }
}

/// `[0, 1]`; written so NaN fails.
pub fn unit(key: &str, v: f64) -> Result<(), ParamError> {
    range((0.0..=1.0).contains(&v), key, fmt_f(v), "[0, 1]")
}

/// `> 0` and finite; written so NaN fails.
pub fn positive(key: &str, v: f64) -> Result<(), ParamError> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(invalid(key, fmt_f(v), "must be > 0 and finite"))
    }
}

/// `>= 1`.
pub fn at_least_one(key: &str, v: u64) -> Result<(), ParamError> {
    range(v >= 1, key, v, ">= 1")
}

/// Floats as Rust's `{:?}` writes them: shortest round-trip, exponent for tiny/huge values.
pub fn fmt_f(v: f64) -> String {
    format!("{v:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_fails_every_float_test() {
        assert!(unit("k", f64::NAN).is_err());
        assert!(positive("k", f64::NAN).is_err());
        assert_eq!(
            positive("agent.lr", -0.0023).unwrap_err().to_string(),
            "agent.lr = -0.0023 must be > 0 and finite"
        );
    }

    #[test]
    fn detail_leaves_out_key_and_value() {
        let e = at_least_one("log.log_interval", 0).unwrap_err();
        assert_eq!(e.detail(), "out of range: allowed >= 1");
        assert_eq!(
            invalid("env.id", "\"\"", "must name an environment").detail(),
            "must name an environment"
        );
    }
}
