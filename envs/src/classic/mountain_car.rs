//! `MountainCar-v0`: gymnasium/envs/classic_control/mountain_car.py (goal_velocity 0) under a
//! 200-step `TimeLimit`.

use rand::SeedableRng;
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

use super::{DEFAULT_SEED, assert_action, check_state, uniform, write_obs};
use crate::{Env, EnvError, ObsSpace, Step};

/// Left wall: the car stops dead here.
const MIN_POSITION: f64 = -1.2;
const MAX_POSITION: f64 = 0.6;
const MAX_SPEED: f64 = 0.07;
/// Terminates once the position reaches this with non-negative velocity.
const GOAL_POSITION: f64 = 0.5;
const GOAL_VELOCITY: f64 = 0.0;
const FORCE: f64 = 0.001;
const GRAVITY: f64 = 0.0025;
const MAX_EPISODE_STEPS: u32 = 200;
const RESET_LOW: f64 = -0.6;
const RESET_HIGH: f64 = -0.4;

/// Drive an under-powered car up the right hill: accelerate left (0), coast (1), right (2);
/// -1 per step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MountainCar {
    /// position, velocity.
    #[serde(with = "crate::serde_exact::f64_array")]
    state: [f64; 2],
    rng: Pcg64,
    elapsed_steps: u32,
}

impl MountainCar {
    pub const ID: &'static str = "MountainCar-v0";
    const NUM_ACTIONS: usize = 3;

    /// A car in a valid start state, its generator seeded with `DEFAULT_SEED`.
    pub fn new() -> Self {
        let mut env = MountainCar {
            state: [0.0; 2],
            rng: Pcg64::seed_from_u64(DEFAULT_SEED),
            elapsed_steps: 0,
        };
        env.draw_start_state();
        env
    }

    /// The internal float64 state: position, velocity.
    pub fn state(&self) -> [f64; 2] {
        self.state
    }

    fn draw_start_state(&mut self) {
        self.state = [uniform(&mut self.rng, RESET_LOW, RESET_HIGH), 0.0];
        self.elapsed_steps = 0;
    }

    fn write(&self, obs: &mut [f32]) {
        write_obs(Self::ID, obs, self.state.map(|v| v as f32));
    }
}

impl Default for MountainCar {
    fn default() -> Self {
        Self::new()
    }
}

impl Env for MountainCar {
    fn id(&self) -> &str {
        Self::ID
    }

    fn obs_space(&self) -> ObsSpace {
        ObsSpace::Vector { dim: 2 }
    }

    fn num_actions(&self) -> usize {
        Self::NUM_ACTIONS
    }

    fn max_episode_steps(&self) -> Option<u32> {
        Some(MAX_EPISODE_STEPS)
    }

    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        if let Some(seed) = seed {
            self.rng = Pcg64::seed_from_u64(seed);
        }
        self.draw_start_state();
        self.write(obs);
    }

    fn step(&mut self, action: usize, obs: &mut [f32]) -> Step {
        assert_action(Self::ID, action, Self::NUM_ACTIONS);
        let [mut position, mut velocity] = self.state;
        // `action as f64 - 1.0` is exact, as Python's int `action - 1` converted to float.
        velocity += (action as f64 - 1.0) * FORCE + (3.0 * position).cos() * (-GRAVITY);
        velocity = velocity.clamp(-MAX_SPEED, MAX_SPEED);
        position += velocity;
        position = position.clamp(MIN_POSITION, MAX_POSITION);
        if position == MIN_POSITION && velocity < 0.0 {
            velocity = 0.0;
        }
        self.state = [position, velocity];

        let terminated = position >= GOAL_POSITION && velocity >= GOAL_VELOCITY;
        self.elapsed_steps = self.elapsed_steps.saturating_add(1);
        self.write(obs);
        Step {
            reward: -1.0,
            terminated,
            truncated: self.elapsed_steps >= MAX_EPISODE_STEPS,
        }
    }

    fn set_state(&mut self, state: &[f64], obs: &mut [f32]) -> Result<(), EnvError> {
        self.state = check_state::<2>(Self::ID, state)?;
        self.write(obs);
        Ok(())
    }

    fn can_snapshot(&self) -> bool {
        true
    }

    fn snapshot(&self) -> Result<Vec<u8>, EnvError> {
        super::snapshot(Self::ID, self)
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), EnvError> {
        *self = super::restore(Self::ID, snapshot)?;
        Ok(())
    }
}
