//! Validation: [`Config::check`] turns a raw config into a [`CheckedConfig`], the only form the
//! trainer accepts. It checks `[run]` and `[agent]` here, runs the `check()` of every section a
//! component owns, then what spans sections; every range holds wherever a `CheckedConfig` exists.

use crate::{Config, ConfigError, MemoryEstimate};
use sparq_params::{ParamError, at_least_one, fmt_f, invalid, positive, range, unit};

/// Largest `agent.buffer_size`: the replay buffer's own capacity limit.
pub const MAX_BUFFER_SIZE: usize = sparq_replay::MAX_CAPACITY;

/// Most libtorch threads: 4 per core, and never fewer than 256 allowed (so a config that runs on
/// a big machine also checks on a small one). At 100000 libtorch spent minutes making threads.
pub fn max_torch_threads() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    u32::try_from(cores.saturating_mul(4))
        .unwrap_or(u32::MAX)
        .max(256)
}
/// Longest n-step return.
pub const MAX_N_STEP: usize = 100;

/// A validated config with its pruning schedule resolved to gradient steps.
///
/// Built only by [`Config::check`]; it holds the raw config unchanged and nothing derived from
/// it except the resolved pruning schedule, so the two cannot diverge.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedConfig {
    config: Config,
    prune: sparq_prune::PruneConfig,
}

impl CheckedConfig {
    /// The validated raw values.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The pruning schedule, in absolute gradient steps.
    pub fn prune(&self) -> &sparq_prune::PruneConfig {
        &self.prune
    }
}

impl Config {
    /// Checks every value against its allowed range (one-line error naming key, value and
    /// range), then resolves `[prune]` against the run's exact number of gradient steps.
    ///
    /// Errors name where the value came from: the config file, or the `--set` that gave it.
    /// Unless `run.allow_large_memory`, a config whose [`Config::memory_estimate`] exceeds the
    /// memory available now ([`crate::available_memory`]) is refused with the estimate.
    pub fn check(&self) -> Result<CheckedConfig, ConfigError> {
        self.check_here().map_err(|e| self.origin.locate(e))
    }

    fn check_here(&self) -> Result<CheckedConfig, ConfigError> {
        self.check_run()?;
        self.env.check()?;
        self.check_agent()?;
        self.network.check()?;
        self.log.check()?;
        let total_gradient_steps = crate::clock::total_gradient_steps(self).ok_or_else(|| {
            ConfigError::from(invalid(
                "agent.gradient_steps",
                self.agent.gradient_steps,
                format!(
                    "makes more gradient steps than u64 counts with run.total_steps = {}",
                    self.run.total_steps
                ),
            ))
        })?;
        if total_gradient_steps == 0 {
            let a = &self.agent;
            return Err(invalid(
                "agent.train_freq",
                a.train_freq,
                format!(
                    "has no multiple in (learning_starts, last env step] = ({}, {}], so training never happens",
                    a.learning_starts,
                    crate::clock::final_env_step(self)
                ),
            )
            .into());
        }
        let prune = self.prune.check(total_gradient_steps)?;
        // A Gymnasium id would start a Python worker just to learn the observation shape: the
        // trainer checks those with `check_memory` once it has the environment.
        let in_process = !self.env.id.starts_with(sparq_envs::gymnasium::PREFIX);
        if let (true, Ok(env)) = (in_process, sparq_envs::spec(&self.env.id)) {
            self.check_memory_here(&env)?;
        }
        Ok(CheckedConfig {
            config: self.clone(),
            prune,
        })
    }

    /// The memory check of [`Config::check`] for environment `env`: refuses a run whose
    /// [`Config::memory_estimate`] exceeds the memory available now, unless
    /// `run.allow_large_memory`. `check` runs it for in-process environments; a caller that
    /// builds the environment some other way (a Gymnasium id) runs it with that env's spec.
    pub fn check_memory(&self, env: &sparq_envs::EnvSpec) -> Result<MemoryEstimate, ConfigError> {
        self.check_memory_here(env)
            .map(|()| self.memory_estimate(env))
            .map_err(|e| self.origin.locate(e))
    }

    fn check_memory_here(&self, env: &sparq_envs::EnvSpec) -> Result<(), ConfigError> {
        let Some((available, limit)) = crate::available_memory() else {
            return Ok(());
        };
        let estimate = self.memory_estimate(env);
        if self.run.allow_large_memory || estimate.total() <= available {
            return Ok(());
        }
        let advice = if estimate.network < estimate.replay {
            "lower agent.buffer_size (or set log.save_replay = false)"
        } else {
            "narrow network.hidden, network.conv_channels or network.width_multiplier"
        };
        Err(ConfigError::Memory {
            estimate: estimate.to_string(),
            available: crate::memory::bytes(available),
            limit: limit.to_owned(),
            advice: advice.to_owned(),
        })
    }

    fn check_run(&self) -> Result<(), ParamError> {
        let run = &self.run;
        let max_threads = max_torch_threads();
        range(
            run.torch_threads <= max_threads,
            "run.torch_threads",
            run.torch_threads,
            format!("0..={max_threads} (0 = libtorch's default)"),
        )?;
        // Bounded so every env-step count is exact as f64 (epsilon, fractions of training).
        range(
            (1..=MAX_TOTAL_STEPS).contains(&run.total_steps),
            "run.total_steps",
            run.total_steps,
            "1..=2^53",
        )
    }

    fn check_agent(&self) -> Result<(), ParamError> {
        let a = &self.agent;
        unit("agent.gamma", a.gamma)?;
        positive("agent.lr", a.lr)?;
        range(
            (0.0..=a.lr).contains(&a.lr_final),
            "agent.lr_final",
            fmt_f(a.lr_final),
            format!("[0, agent.lr ({})]", fmt_f(a.lr)),
        )?;
        positive("agent.adam_eps", a.adam_eps)?;
        range(
            a.rmsprop_alpha > 0.0 && a.rmsprop_alpha < 1.0,
            "agent.rmsprop_alpha",
            fmt_f(a.rmsprop_alpha),
            "(0, 1)",
        )?;
        positive("agent.rmsprop_eps", a.rmsprop_eps)?;
        range(
            (1..=MAX_BUFFER_SIZE).contains(&a.buffer_size),
            "agent.buffer_size",
            a.buffer_size,
            format!("1..={MAX_BUFFER_SIZE}"),
        )?;
        range(
            (1..=a.buffer_size).contains(&a.batch_size),
            "agent.batch_size",
            a.batch_size,
            format!("1..=buffer_size ({})", a.buffer_size),
        )?;
        if a.learning_starts >= self.run.total_steps {
            return Err(invalid(
                "agent.learning_starts",
                a.learning_starts,
                format!(
                    "must be < run.total_steps ({}), else training never starts",
                    self.run.total_steps
                ),
            ));
        }
        at_least_one("agent.train_freq", a.train_freq)?;
        at_least_one("agent.gradient_steps", u64::from(a.gradient_steps))?;
        at_least_one("agent.target_update_interval", a.target_update_interval)?;
        range(
            a.tau > 0.0 && a.tau <= 1.0,
            "agent.tau",
            fmt_f(a.tau),
            "(0, 1] (1 = hard copy)",
        )?;
        if !(a.max_grad_norm >= 0.0 && a.max_grad_norm.is_finite()) {
            return Err(invalid(
                "agent.max_grad_norm",
                fmt_f(a.max_grad_norm),
                "must be >= 0 and finite (0 = no clipping)",
            ));
        }
        unit("agent.exploration_initial_eps", a.exploration_initial_eps)?;
        unit("agent.exploration_final_eps", a.exploration_final_eps)?;
        unit("agent.exploration_fraction", a.exploration_fraction)?;
        range(
            (1..=MAX_N_STEP).contains(&a.n_step),
            "agent.n_step",
            a.n_step,
            format!("1..={MAX_N_STEP}"),
        )?;
        // The first update needs one complete n-step window. Envs step together, so by the
        // first env step past learning_starts each has stepped ceil((learning_starts + 1) /
        // num_envs) times: at least n_step exactly when learning_starts >= num_envs (n_step - 1).
        let min_starts = self.env.num_envs as u64 * (a.n_step as u64 - 1);
        if a.learning_starts < min_starts {
            return Err(invalid(
                "agent.learning_starts",
                a.learning_starts,
                format!(
                    "must be >= env.num_envs * (agent.n_step - 1) = {min_starts}, so the first update has a complete {}-step transition",
                    a.n_step
                ),
            ));
        }
        unit("agent.per_alpha", a.per_alpha)?;
        unit("agent.per_beta0", a.per_beta0)?;
        positive("agent.per_eps", a.per_eps)
    }
}

/// Largest `run.total_steps`: 2^53, the largest count every step of which an f64 holds exactly.
pub const MAX_TOTAL_STEPS: u64 = 1 << 53;

/// The allowed range of an unsigned key, for a value too large for TOML (above i64::MAX).
pub(crate) fn allowed_range(key: &str) -> String {
    match key {
        "run.total_steps" => "1..=2^53".to_owned(),
        _ => format!("0..={} (TOML integers are signed 64-bit)", i64::MAX),
    }
}
