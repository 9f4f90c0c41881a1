//! Buffer configuration and its validation.

use serde::{Deserialize, Serialize};

use crate::ReplayError;

/// How observations are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObsEncoding {
    /// Raw `f32` values.
    F32,
    /// Binary 0/1 values packed 8 per byte (MinAtar planes); any other value is rejected.
    Bits,
}

/// Prioritized experience replay (Schaul et al. 2016, proportional variant).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PerParams {
    /// Priority exponent: P(i) = p_i^alpha / sum_k p_k^alpha.
    pub alpha: f64,
    /// Initial importance-sampling exponent; the trainer anneals beta to 1 and passes it to `sample`.
    pub beta0: f64,
    /// Added to |td error| so no transition gets priority 0.
    pub eps: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayConfig {
    /// Storage size in frames summed over all envs (split evenly, rounded up per env). Each
    /// transition takes one frame; each episode end takes one extra frame for its final observation.
    pub capacity: usize,
    pub num_envs: usize,
    /// Number of f32 values per observation.
    pub obs_len: usize,
    pub encoding: ObsEncoding,
    /// Steps summed into the return (1 = plain one-step TD target).
    pub n_step: usize,
    pub gamma: f32,
    /// `None`: uniform sampling.
    pub prioritized: Option<PerParams>,
}

/// Largest accepted `capacity` (keeps slot indices and snapshot sizes sane).
pub const MAX_CAPACITY: usize = 1 << 32;
/// Largest accepted `n_step` (each sample walks up to n_step frames).
pub const MAX_N_STEP: usize = 1000;

impl ReplayConfig {
    /// Frames in each env's ring.
    pub fn frames_per_env(&self) -> usize {
        self.capacity.div_ceil(self.num_envs.max(1))
    }

    pub fn validate(&self) -> Result<(), ReplayError> {
        let bad = |m: String| Err(ReplayError::Config(m));
        if self.num_envs == 0 {
            return bad("num_envs must be at least 1".into());
        }
        if self.obs_len == 0 {
            return bad("obs_len must be at least 1".into());
        }
        if !(1..=MAX_N_STEP).contains(&self.n_step) {
            return bad(format!(
                "n_step {} must be in [1, {MAX_N_STEP}]",
                self.n_step
            ));
        }
        if self.capacity > MAX_CAPACITY {
            return bad(format!("capacity {} exceeds {MAX_CAPACITY}", self.capacity));
        }
        let min = self.num_envs.saturating_mul(self.n_step + 1);
        if self.capacity < min {
            return bad(format!(
                "capacity {} must be at least num_envs * (n_step + 1) = {min}",
                self.capacity
            ));
        }
        if !(self.gamma.is_finite() && (0.0..=1.0).contains(&self.gamma)) {
            return bad(format!("gamma {} must be in [0, 1]", self.gamma));
        }
        if let Some(p) = &self.prioritized {
            if !(p.alpha.is_finite() && p.alpha >= 0.0) {
                return bad(format!(
                    "prioritized.alpha {} must be finite and >= 0",
                    p.alpha
                ));
            }
            if !(p.beta0.is_finite() && (0.0..=1.0).contains(&p.beta0)) {
                return bad(format!("prioritized.beta0 {} must be in [0, 1]", p.beta0));
            }
            if !(p.eps.is_finite() && p.eps > 0.0) {
                return bad(format!("prioritized.eps {} must be finite and > 0", p.eps));
            }
        }
        let bytes = self
            .frames_per_env()
            .checked_mul(self.num_envs)
            .and_then(|f| f.checked_mul(self.obs_len));
        if bytes.is_none() {
            return bad(format!(
                "capacity {} * obs_len {} overflows",
                self.capacity, self.obs_len
            ));
        }
        Ok(())
    }
}
