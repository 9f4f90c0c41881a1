//! `[log]`: what a run logs, evaluates and saves, and how often. The raw section with its
//! defaults; [`LogConfig::check`] is the only way a run accepts it.

use serde::{Deserialize, Serialize};
use sparq_params::{ParamError, at_least_one, range};

/// `[log]`: what is logged, evaluated and saved, and how often (all intervals in env steps).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub log_interval: u64,
    /// 0 = no periodic evaluation.
    pub eval_interval: u64,
    pub eval_episodes: u32,
    pub final_eval_episodes: u32,
    /// 0 = only the final checkpoint.
    pub checkpoint_interval: u64,
    /// 0 = no weight histograms.
    pub histogram_interval: u64,
    /// Store the replay buffer in checkpoints so a resume is exact.
    pub save_replay: bool,
    /// Keep the policy of the best periodic evaluation as `checkpoints/best` (SB3's
    /// EvalCallback `best_model`); the final evaluation still reports the last policy.
    pub save_best: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            log_interval: 1000,
            eval_interval: 10_000,
            eval_episodes: 10,
            final_eval_episodes: 100,
            checkpoint_interval: 0,
            histogram_interval: 10_000,
            save_replay: true,
            save_best: true,
        }
    }
}

impl LogConfig {
    /// Every value in its range (one-line error naming key, value and range).
    pub fn check(&self) -> Result<(), ParamError> {
        at_least_one("log.log_interval", self.log_interval)?;
        range(
            self.eval_interval == 0 || self.eval_episodes >= 1,
            "log.eval_episodes",
            self.eval_episodes,
            ">= 1 when log.eval_interval > 0",
        )?;
        at_least_one(
            "log.final_eval_episodes",
            u64::from(self.final_eval_episodes),
        )
    }
}
