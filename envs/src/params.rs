//! `[env]`: which environment a run trains on, and how many copies step together. The raw
//! section with its defaults; [`EnvConfig::check`] is the only way a run accepts it.

use serde::{Deserialize, Serialize};
use sparq_params::{ParamError, invalid, range};

/// Most envs one run may step at once.
pub const MAX_NUM_ENVS: usize = 4096;

/// `[env]`: which environment, how many copies stepped together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnvConfig {
    pub id: String,
    pub num_envs: usize,
    /// Python interpreter for `gymnasium:<id>` environments (one worker process per env).
    pub python: String,
    /// Python module the workers import before `gymnasium.make` (your own registered envs);
    /// empty for none.
    pub python_module: String,
}

impl Default for EnvConfig {
    fn default() -> Self {
        Self {
            id: "CartPole-v1".to_owned(),
            num_envs: 1,
            python: "python3".to_owned(),
            python_module: String::new(),
        }
    }
}

impl EnvConfig {
    /// Every value in its range (one-line error naming key, value and range). Whether `id`
    /// names a known environment is learnt when it is made.
    pub fn check(&self) -> Result<(), ParamError> {
        if self.python.trim().is_empty() {
            return Err(invalid(
                "env.python",
                "\"\"",
                "must name a Python interpreter",
            ));
        }
        if self.id.trim().is_empty() {
            return Err(invalid("env.id", "\"\"", "must name an environment"));
        }
        range(
            (1..=MAX_NUM_ENVS).contains(&self.num_envs),
            "env.num_envs",
            self.num_envs,
            format!("1..={MAX_NUM_ENVS}"),
        )
    }
}
