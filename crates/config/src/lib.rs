//! sparq's experiment configuration: the TOML schema with its defaults, `--set` overrides,
//! validation into a [`CheckedConfig`], and the training clock (env steps vs gradient steps).
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

pub use check::{
    CheckedConfig, MAX_BUFFER_SIZE, MAX_N_STEP, MAX_NUM_ENVS, MAX_TOTAL_STEPS, MAX_WIDTH,
    MAX_WIDTH_MULTIPLIER, max_torch_threads,
};
pub use error::ConfigError;
pub use load::MAX_CONFIG_BYTES;
pub use memory::{MemoryEstimate, available_memory};
pub use sections::{
    Activation, AgentConfig, Config, Device, EnvConfig, LogConfig, Loss, LrSchedule, NetworkConfig,
    Optimizer, RunConfig,
};
