#![warn(missing_docs)]
//! sparq: deep reinforcement learning with pruning built in.
//!
//! A [`Trainer`] runs DQN from a TOML config (a file, a string, or the typed [`Config`]) on a
//! built-in environment, on your own Rust [`Env`] registered with [`register_env`], or on any
//! Gymnasium environment (`env.id = "gymnasium:CartPole-v1"`). Its Q-network can be pruned while
//! it trains (`[prune]`). Every run writes a run directory (resolved config, TensorBoard events,
//! checksummed checkpoints, `summary.json`) that [`Trainer::resume`] continues exactly and
//! [`Policy::load`] reads back.
//!
//! ```no_run
//! use sparq::{Config, RunOptions, Trainer};
//!
//! let config = Config::from_toml_str(
//!     "[env]\nid = \"CartPole-v1\"\n[run]\ntotal_steps = 20_000\n[prune]\nschedule = \"polynomial\"\ntarget_sparsity = 0.9\n",
//!     "inline",
//!     &[],
//! )?
//! .check()?;
//! let summary = Trainer::new(config, RunOptions::default())?.run()?;
//! println!("greedy return {:.1}", summary.eval.return_mean);
//! # Ok::<(), anyhow::Error>(())
//! ```

mod ensemble;
mod evaluate;
pub mod experience;
mod trainer;

pub use ensemble::{
    ENSEMBLE_FILE, ENSEMBLE_FORMAT, ENSEMBLE_VERSION, Ensemble, EnsembleManifest, EnsembleScratch,
    Vote,
};
pub use evaluate::{Greedy, Policy, evaluate, evaluate_greedy, sparsity_of};
pub use trainer::{
    BEST_CHECKPOINT, EVAL_SEED_OFFSET, Event, Interrupted, KEEP_CHECKPOINTS, RunOptions, Trainer,
    default_run_dir,
};

pub use sparq_config::{CheckedConfig, Config, ConfigError};
pub use sparq_envs::{Env, EnvError, ObsSpace, Step, make_env, register_env};
pub use sparq_log::{EvalPoint, EvalStats, SparsityReport, Summary};
pub use sparq_policy::{HostPolicy, NetSpec, Scratch};
pub use sparq_runstate::CheckpointMeta;
