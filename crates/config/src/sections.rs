//! The config schema: one field per TOML section. The sections a libtorch-free component
//! reads are that component's own (`[env]` in sparq-envs, `[network]` in sparq-policy,
//! `[prune]` in sparq-prune, `[log]` in sparq-log, each with its defaults and `check()`); the
//! two defined here are the run itself and the agent's.
//!
//! `[agent]` stays here because its reader, sparq-agent, links libtorch and this crate must not;
//! its replay keys (`buffer_size`, `batch_size`, `n_step`, `per_*`) stay beside the learner's
//! because TOML keeps them in the one `[agent]` table, and serde cannot split a table across
//! structs (`flatten`) while still refusing unknown keys (`deny_unknown_fields`).
//!
//! `configs/reference.toml` documents every key; a test keeps it equal to the defaults.

use serde::{Deserialize, Serialize};
use sparq_envs::EnvConfig;
use sparq_log::LogConfig;
use sparq_policy::NetworkConfig;

/// The whole experiment config, one field per TOML section.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub run: RunConfig,
    pub env: EnvConfig,
    pub agent: AgentConfig,
    pub network: NetworkConfig,
    pub prune: sparq_prune::PruneParams,
    pub log: LogConfig,
    /// Where the values came from, for error messages only (not part of the experiment).
    #[serde(skip)]
    pub(crate) origin: crate::origin::Origin,
}

/// Where libtorch runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// CUDA when available, else CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
}

/// The optimiser of the Q-network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Optimizer {
    #[default]
    Adam,
    /// Centered RMSprop as in the Nature DQN.
    RmspropCentered,
}

/// How the learning rate changes over training.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    #[default]
    Constant,
    /// lr · (1 − env steps / total_steps), SB3's `linear_schedule`: settles the final policy.
    Linear,
}

/// The TD loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Smooth L1 with delta 1 (SB3's default).
    #[default]
    Huber,
    Mse,
}

/// `[run]`: seed, length and compute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Any u64; TOML integers stop at 2^63 - 1, so larger seeds are written as strings.
    #[serde(with = "crate::seed")]
    pub seed: u64,
    /// Env steps: transitions summed over all envs.
    pub total_steps: u64,
    pub device: Device,
    /// libtorch intra-op threads; 0 keeps libtorch's default.
    pub torch_threads: u32,
    /// Train even when the memory estimate exceeds the memory available now.
    pub allow_large_memory: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            total_steps: 100_000,
            device: Device::Auto,
            torch_threads: 1,
            allow_large_memory: false,
        }
    }
}

/// `[agent]`: the DQN algorithm and its variants.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    pub gamma: f64,
    pub lr: f64,
    pub lr_schedule: LrSchedule,
    /// Where the linear schedule ends (SB3's `linear_schedule` ends at 0).
    pub lr_final: f64,
    pub optimizer: Optimizer,
    pub adam_eps: f64,
    pub rmsprop_alpha: f64,
    pub rmsprop_eps: f64,
    pub batch_size: usize,
    pub buffer_size: usize,
    /// Env steps before the first training round.
    pub learning_starts: u64,
    /// Env steps between training rounds.
    pub train_freq: u64,
    /// Gradient updates per training round.
    pub gradient_steps: u32,
    /// GRADIENT steps between target-network syncs.
    pub target_update_interval: u64,
    /// 1 = hard copy; < 1 = Polyak averaging at each sync.
    pub tau: f64,
    pub double: bool,
    /// Global gradient-norm clip; 0 = no clipping.
    pub max_grad_norm: f64,
    pub loss: Loss,
    pub exploration_initial_eps: f64,
    pub exploration_final_eps: f64,
    /// Fraction of `run.total_steps` over which epsilon decays linearly.
    pub exploration_fraction: f64,
    pub dueling: bool,
    pub n_step: usize,
    pub prioritized: bool,
    pub per_alpha: f64,
    pub per_beta0: f64,
    pub per_eps: f64,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            gamma: 0.99,
            lr: 1e-4,
            lr_schedule: LrSchedule::Constant,
            lr_final: 0.0,
            optimizer: Optimizer::Adam,
            adam_eps: 1e-8,
            rmsprop_alpha: 0.95,
            rmsprop_eps: 0.01,
            batch_size: 32,
            buffer_size: 100_000,
            learning_starts: 1000,
            train_freq: 4,
            gradient_steps: 1,
            target_update_interval: 1000,
            tau: 1.0,
            double: false,
            max_grad_norm: 10.0,
            loss: Loss::Huber,
            exploration_initial_eps: 1.0,
            exploration_final_eps: 0.05,
            exploration_fraction: 0.1,
            dueling: false,
            n_step: 1,
            prioritized: false,
            per_alpha: 0.6,
            per_beta0: 0.4,
            per_eps: 1e-6,
        }
    }
}
