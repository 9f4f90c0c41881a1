//! The training clock, defined once: the trainer and the pruning schedule both use it.
//!
//! `t` counts env steps (transitions summed over all envs). The trainer steps all `num_envs`
//! envs at once, so one vector step moves `t` from `t0` to `t1 = t0 + num_envs`, and it runs
//! vector steps while `t < total_steps`. After each vector step it performs
//! [`CheckedConfig::train_rounds`]`(t0, t1)` rounds of `gradient_steps` updates each: one round per
//! multiple of `train_freq` in `(max(t0, learning_starts), t1]`. With one env this is SB3's
//! schedule: train at every multiple of `train_freq` once `t > learning_starts`.

use crate::{CheckedConfig, Config};

/// Multiples of `train_freq` in `(max(t0, learning_starts), t1]`; 0 if that interval is empty.
fn rounds(learning_starts: u64, train_freq: u64, t0: u64, t1: u64) -> u64 {
    let from = t0.max(learning_starts);
    if t1 <= from {
        0
    } else {
        t1 / train_freq - from / train_freq
    }
}

/// The env-step count when the loop stops: `total_steps` rounded up to a multiple of `num_envs`.
pub(crate) fn final_env_step(config: &Config) -> u64 {
    let n = config.env.num_envs as u64;
    config.run.total_steps.div_ceil(n) * n
}

/// Exact gradient steps of the whole run; `None` on u64 overflow. Needs `train_freq >= 1` and
/// `num_envs >= 1` (checked before this is called).
pub(crate) fn total_gradient_steps(config: &Config) -> Option<u64> {
    let a = &config.agent;
    // The rounds of consecutive vector steps add up to those of (learning_starts, final step].
    let r = rounds(a.learning_starts, a.train_freq, 0, final_env_step(config));
    r.checked_mul(u64::from(a.gradient_steps))
}

impl CheckedConfig {
    /// Training rounds due after the vector step that moved the env-step count from `t0` to `t1`
    /// (`t0 <= t1`); each round makes `agent.gradient_steps` updates.
    pub fn train_rounds(&self, t0: u64, t1: u64) -> u64 {
        let a = &self.config().agent;
        rounds(a.learning_starts, a.train_freq, t0, t1)
    }

    /// Exactly the number of gradient steps the training loop makes: the sum of
    /// `train_rounds(t0, t1) * gradient_steps` over all its vector steps.
    pub fn total_gradient_steps(&self) -> u64 {
        total_gradient_steps(self.config())
            .expect("Config::check rejects configs whose gradient-step count overflows u64")
    }

    /// The env-step count when the loop ends: `run.total_steps` rounded up to a multiple of
    /// `env.num_envs` (the last vector step may overshoot `total_steps`).
    pub fn final_env_step(&self) -> u64 {
        final_env_step(self.config())
    }

    /// Exploration epsilon at env step `t`: linear from `exploration_initial_eps` to
    /// `exploration_final_eps` over the first `exploration_fraction * total_steps` env steps,
    /// then constant (SB3's schedule).
    pub fn epsilon_at(&self, t: u64) -> f64 {
        let c = self.config();
        let a = &c.agent;
        let decay = a.exploration_fraction * c.run.total_steps as f64;
        let t = t as f64;
        if t >= decay {
            a.exploration_final_eps
        } else {
            a.exploration_initial_eps
                + (a.exploration_final_eps - a.exploration_initial_eps) * (t / decay)
        }
    }

    /// The learning rate at env step `t` under `agent.lr_schedule`.
    pub fn lr_at(&self, t: u64) -> f64 {
        let c = self.config();
        match c.agent.lr_schedule {
            crate::LrSchedule::Constant => c.agent.lr,
            crate::LrSchedule::Linear => {
                let done = (t as f64 / c.run.total_steps as f64).min(1.0);
                c.agent.lr + (c.agent.lr_final - c.agent.lr) * done
            }
        }
    }

    /// Prioritized replay's importance exponent β at env step `t`: linear from `agent.per_beta0`
    /// to 1 over the whole run.
    pub fn beta_at(&self, t: u64) -> f64 {
        let a = &self.config().agent;
        let progress = t as f64 / self.final_env_step() as f64;
        a.per_beta0 + (1.0 - a.per_beta0) * progress.min(1.0)
    }
}
