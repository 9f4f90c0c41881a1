//! Environment ids → constructors, in the spirit of `gymnasium.make`: the built-ins, the ids a
//! program registers with [`register_env`], and `gymnasium:<id>` for any Gymnasium environment.

use std::sync::{Arc, RwLock};

use crate::{Env, EnvError, ObsSpace, classic, gymnasium, minatar};

/// Builds one environment; registered under an id with [`register_env`].
pub type EnvFactory = Arc<dyn Fn() -> Result<Box<dyn Env>, EnvError> + Send + Sync>;

/// Ids registered by the program, in registration order.
static REGISTERED: RwLock<Vec<(String, EnvFactory)>> = RwLock::new(Vec::new());

/// What a registered environment looks like, without keeping an instance around.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvSpec {
    pub id: String,
    /// Gymnasium's `max_episode_steps` (the `TimeLimit` the environment applies itself).
    pub max_episode_steps: Option<u32>,
    pub obs_space: ObsSpace,
    pub num_actions: usize,
}

/// Registers `id` so that configs (`env.id`), [`make`] and the `sparq` commands built into this
/// program can use it. Refuses the built-in ids, the `gymnasium:` prefix and an id registered
/// already.
pub fn register_env<F>(id: &str, factory: F) -> Result<(), EnvError>
where
    F: Fn() -> Result<Box<dyn Env>, EnvError> + Send + Sync + 'static,
{
    let taken = |why: &str| EnvError::Register {
        id: id.to_owned(),
        why: why.to_owned(),
    };
    if id.trim().is_empty() || id.trim() != id {
        return Err(taken("an id must be non-empty without surrounding spaces"));
    }
    if builtin_ids().contains(&id) {
        return Err(taken("it is a built-in environment"));
    }
    if id.starts_with(gymnasium::PREFIX) {
        return Err(taken(
            "the 'gymnasium:' prefix is reserved for the Gymnasium bridge",
        ));
    }
    let mut all = REGISTERED.write().unwrap_or_else(|e| e.into_inner());
    if all.iter().any(|(known, _)| known == id) {
        return Err(taken("it is registered already"));
    }
    all.push((id.to_owned(), Arc::new(factory)));
    Ok(())
}

/// Builds the environment registered as `id`: a built-in (classic control, MinAtar), one the
/// program registered, or `gymnasium:<id>` (a Python worker process; see [`crate::gymnasium`]).
pub fn make(id: &str) -> Result<Box<dyn Env>, EnvError> {
    if let Some(env) = classic::make(id).or_else(|| minatar::make(id)) {
        return Ok(env);
    }
    if let Some(gym_id) = id.strip_prefix(gymnasium::PREFIX) {
        return Ok(Box::new(gymnasium::GymEnv::spawn(gym_id)?));
    }
    let factory = REGISTERED
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(known, _)| known == id)
        .map(|(_, f)| f.clone());
    match factory {
        Some(f) => f(),
        None => Err(EnvError::UnknownId {
            id: id.to_string(),
            known: registered_ids().join(", "),
        }),
    }
}

/// [`make`] under the name the `sparq` library exports.
pub fn make_env(id: &str) -> Result<Box<dyn Env>, EnvError> {
    make(id)
}

fn builtin_ids() -> Vec<&'static str> {
    classic::IDS
        .iter()
        .chain(minatar::IDS.iter())
        .copied()
        .collect()
}

/// Every id `make` accepts by name: classic control, MinAtar, then the program's own (plus any
/// `gymnasium:<id>`).
pub fn registered_ids() -> Vec<String> {
    let mut ids: Vec<String> = builtin_ids().into_iter().map(str::to_owned).collect();
    ids.extend(
        REGISTERED
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(id, _)| id.clone()),
    );
    ids
}

/// The spec of the environment registered as `id` (builds one instance to ask it).
pub fn spec(id: &str) -> Result<EnvSpec, EnvError> {
    let env = make(id)?;
    Ok(EnvSpec {
        id: id.to_owned(),
        max_episode_steps: env.max_episode_steps(),
        obs_space: env.obs_space(),
        num_actions: env.num_actions(),
    })
}
