//! sparq's experiment configuration: the TOML schema with its defaults, `--set` overrides,
//! validation into a [`CheckedConfig`], and the training clock (env steps vs gradient steps).
//!
//! Config aggregates: each libtorch-free component owns its section's raw parameters and their
//! `check()` (`[env]` [`EnvConfig`], `[network]` [`NetworkConfig`], `[prune]`
//! [`sparq_prune::PruneParams`], `[log]` [`LogConfig`]); this crate owns `[run]` and `[agent]`
//! (see `sections.rs` for why), runs every check, then the checks that span sections (memory,
//! the training clock, `learning_starts` against `n_step` and `num_envs`).
//!
//! ```no_run
//! # fn main() -> Result<(), sparq_config::ConfigError> {
//! let config = sparq_config::Config::load(
//!     std::path::Path::new("configs/reference.toml"),
//!     &["agent.lr=1e-3".to_owned()],
//! )?;
//! let checked = config.check()?;
//! println!("{} gradient steps", checked.total_gradient_steps());
//! # Ok(())
//! # }
//! ```

mod check;
mod clock;
mod error;
mod load;
mod memory;
mod origin;
mod overrides;
mod sections;
mod seed;

pub use check::{CheckedConfig, MAX_BUFFER_SIZE, MAX_N_STEP, MAX_TOTAL_STEPS, max_torch_threads};
pub use error::ConfigError;
pub use load::MAX_CONFIG_BYTES;
pub use memory::{MemoryEstimate, available_memory};
pub use sections::{AgentConfig, Config, Device, Loss, LrSchedule, Optimizer, RunConfig};
// The component-owned sections, under the names users of a `Config` already know.
pub use sparq_envs::{EnvConfig, MAX_NUM_ENVS};
pub use sparq_log::LogConfig;
pub use sparq_params::ParamError;
pub use sparq_policy::{Activation, MAX_WIDTH, MAX_WIDTH_MULTIPLIER, NetworkConfig};
