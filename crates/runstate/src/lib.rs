//! The one typed schema of a training run's checkpoint, written by `sparq train` and read by
//! train (resume), prune, eval, export and the fuzzer: what `meta.json` holds besides tensors,
//! enough to rebuild the network, evaluate it, and continue training exactly.

use std::path::Path;

use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};
use sparq_checkpoint::{CheckpointError, Loaded};
use sparq_config::{Config, ConfigError};
use sparq_log::EvalPoint;
use sparq_policy::{HostPolicy, NetSpec, PolicyError};
use sparq_prune::Pruner;

/// Why a run's checkpoint cannot be used; one line each.
#[derive(Debug, thiserror::Error)]
pub enum RunStateError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{path}: {what}")]
    Invalid { path: String, what: String },
}

pub const FORMAT: &str = "sparq-dqn";
pub const VERSION: u32 = 1;
/// The parameter tensors a checkpoint holds.
pub const PARAMS: &str = "params";
/// Checkpoint blobs.
pub const ENVS_BLOB: &str = "envs.json";
pub const REPLAY_BLOB: &str = "replay.bin";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub format: String,
    pub version: u32,
    pub env_id: String,
    pub net: NetSpec,
    /// The resolved config of the run, as TOML.
    pub config: String,
    pub env_steps: u64,
    pub grad_steps: u64,
    pub optimizer_step: u64,
    pub episodes: u64,
    pub wall_s: f64,
    /// Pruning masks, schedule and generator (absent for dense runs).
    pub pruner: Option<Pruner>,
    /// The trainer's generator (exploration and replay sampling).
    pub rng: Pcg64,
    /// Loss and Q sums accumulated since the last log, so the next logged values are exact.
    pub stats: (f32, f32, u64),
    /// Periodic evaluations so far.
    pub evals: Vec<EvalPoint>,
    /// The best of them, kept as `checkpoints/best`.
    pub best: Option<EvalPoint>,
}

impl CheckpointMeta {
    /// Rejects checkpoints of other programs or versions with one line.
    pub fn check_format(&self, path: &Path) -> Result<(), RunStateError> {
        if self.format == FORMAT && self.version == VERSION {
            return Ok(());
        }
        Err(RunStateError::Invalid {
            path: path.display().to_string(),
            what: format!(
                "checkpoint format '{} v{}' is not supported (expected '{FORMAT} v{VERSION}')",
                self.format, self.version
            ),
        })
    }
}

/// A verified checkpoint of a training run.
pub type RunCheckpoint = Loaded<CheckpointMeta>;

/// Loads and verifies the checkpoint at `path` (a run directory means its latest checkpoint),
/// with the run's config.
pub fn load(path: &Path) -> Result<(RunCheckpoint, Config), RunStateError> {
    let cp = sparq_checkpoint::load::<CheckpointMeta>(path)?;
    cp.meta.check_format(&cp.path)?;
    let origin = format!("{}/meta.json", cp.path.display());
    let config = Config::from_toml_str(&cp.meta.config, &origin, &[])?;
    Ok((cp, config))
}

/// The greedy policy held in a checkpoint's parameters.
pub fn policy_of(cp: &RunCheckpoint) -> Result<HostPolicy, RunStateError> {
    let invalid = |what: String| RunStateError::Invalid {
        path: cp.path.display().to_string(),
        what,
    };
    let params = cp
        .tensor(PARAMS)
        .ok_or_else(|| invalid(format!("tensor '{PARAMS}' is missing")))?
        .to_vec();
    HostPolicy::new(cp.meta.net.clone(), params).map_err(|e: PolicyError| invalid(e.to_string()))
}
