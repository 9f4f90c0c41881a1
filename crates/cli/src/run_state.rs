//! What a checkpoint's `meta.json` holds besides tensors: enough to rebuild the network, evaluate
//! it, and continue training exactly.

use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};
use sparq_agent::NetSpec;
use sparq_log::EvalPoint;
use sparq_prune::Pruner;

pub const FORMAT: &str = "sparq-dqn";
pub const VERSION: u32 = 1;
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
    pub fn check_format(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.format == FORMAT && self.version == VERSION,
            "checkpoint format '{} v{}' is not supported (expected '{FORMAT} v{VERSION}')",
            self.format,
            self.version
        );
        Ok(())
    }
}
