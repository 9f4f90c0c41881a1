//! Environment ids → constructors, in the spirit of `gymnasium.make`.

use crate::{Env, EnvError, ObsSpace, classic, minatar};

/// What a registered environment looks like, without keeping an instance around.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvSpec {
    pub id: &'static str,
    /// Gymnasium's `max_episode_steps` (the `TimeLimit` the environment applies itself).
    pub max_episode_steps: Option<u32>,
    pub obs_space: ObsSpace,
    pub num_actions: usize,
}

/// Builds the environment registered as `id` (classic control first, then MinAtar).
pub fn make(id: &str) -> Result<Box<dyn Env>, EnvError> {
    classic::make(id)
        .or_else(|| minatar::make(id))
        .ok_or_else(|| EnvError::UnknownId {
            id: id.to_string(),
            known: registered_ids().join(", "),
        })
}

/// Every id `make` accepts: classic control, then MinAtar.
pub fn registered_ids() -> Vec<&'static str> {
    classic::IDS
        .iter()
        .chain(minatar::IDS.iter())
        .copied()
        .collect()
}

/// The spec of the environment registered as `id`.
pub fn spec(id: &str) -> Result<EnvSpec, EnvError> {
    let env = make(id)?;
    let id = registered_ids()
        .into_iter()
        .find(|known| *known == env.id())
        .ok_or_else(|| EnvError::UnknownId {
            id: env.id().to_string(),
            known: registered_ids().join(", "),
        })?;
    Ok(EnvSpec {
        id,
        max_episode_steps: env.max_episode_steps(),
        obs_space: env.obs_space(),
        num_actions: env.num_actions(),
    })
}
