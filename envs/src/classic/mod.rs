//! Classic-control environments, each a line-by-line port of Gymnasium 1.4.0 (float64 state, the
//! same operation order, float32 observations) with its registered `TimeLimit`.

mod acrobot;
mod cartpole;
mod mountain_car;

pub use acrobot::Acrobot;
pub use cartpole::CartPole;
pub use mountain_car::MountainCar;

use rand::RngExt;
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

use crate::{Env, EnvError};

/// Registered classic-control ids.
pub const IDS: &[&str] = &[CartPole::ID, Acrobot::ID, MountainCar::ID];

/// Seed of an environment's generator until the first `reset(Some(seed))`. Gymnasium draws OS
/// entropy here; a fixed seed keeps unseeded runs reproducible.
pub const DEFAULT_SEED: u64 = 0;

/// Builds the classic-control environment registered as `id`, or `None` if there is none.
pub fn make(id: &str) -> Option<Box<dyn Env>> {
    match id {
        CartPole::ID => Some(Box::new(CartPole::new())),
        Acrobot::ID => Some(Box::new(Acrobot::new())),
        MountainCar::ID => Some(Box::new(MountainCar::new())),
        _ => None,
    }
}

/// numpy's `Generator.uniform(low, high)`: `low + (high - low) * U[0, 1)`.
fn uniform(rng: &mut Pcg64, low: f64, high: f64) -> f64 {
    low + (high - low) * rng.random::<f64>()
}

/// Validates a `set_state` argument: exactly `N` finite values.
fn check_state<const N: usize>(env: &str, state: &[f64]) -> Result<[f64; N], EnvError> {
    let values: [f64; N] = state.try_into().map_err(|_| EnvError::StateLength {
        env: env.to_string(),
        expected: N,
        got: state.len(),
    })?;
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(EnvError::NonFiniteState {
            env: env.to_string(),
            index,
            value: values[index],
        });
    }
    Ok(values)
}

/// Copies an observation into the caller's buffer, which must have exactly the observation's length.
fn write_obs<const N: usize>(env: &str, obs: &mut [f32], values: [f32; N]) {
    assert_eq!(
        obs.len(),
        N,
        "{env}: observation buffer has {} values, the observation has {N}",
        obs.len()
    );
    obs.copy_from_slice(&values);
}

/// Panics on an out-of-range action: `Env::step` cannot return errors, so callers holding user
/// input validate first (`EnvError::check_action`, as `VecEnv` does).
fn assert_action(env: &str, action: usize, num_actions: usize) {
    assert!(
        action < num_actions,
        "{env}: action {action} out of range, allowed 0..{num_actions}"
    );
}

/// The snapshot envelope: the id guards against restoring one environment into another.
#[derive(Serialize)]
struct SnapshotOut<'a, T> {
    id: &'a str,
    env: &'a T,
}

#[derive(Deserialize)]
struct SnapshotId {
    id: String,
}

#[derive(Deserialize)]
struct SnapshotIn<T> {
    env: T,
}

fn snapshot<T: Serialize>(id: &str, env: &T) -> Result<Vec<u8>, EnvError> {
    serde_json::to_vec(&SnapshotOut { id, env }).map_err(|e| EnvError::snapshot(id, e))
}

fn restore<T: for<'de> Deserialize<'de>>(id: &str, bytes: &[u8]) -> Result<T, EnvError> {
    // The id first, so a snapshot of another environment gets a clear message.
    let saved: SnapshotId = serde_json::from_slice(bytes).map_err(|e| EnvError::snapshot(id, e))?;
    if saved.id != id {
        return Err(EnvError::snapshot(
            id,
            format!("snapshot was taken from '{}'", saved.id),
        ));
    }
    let parsed: SnapshotIn<T> =
        serde_json::from_slice(bytes).map_err(|e| EnvError::snapshot(id, e))?;
    Ok(parsed.env)
}
