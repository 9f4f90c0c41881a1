//! `CartPole-v1`: gymnasium/envs/classic_control/cartpole.py (Euler integrator, default reward)
//! under a 500-step `TimeLimit`.

use rand::SeedableRng;
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

use super::{DEFAULT_SEED, assert_action, check_state, uniform, write_obs};
use crate::{Env, EnvError, ObsSpace, Step};

// Constants written as Gymnasium computes them, so they round identically.
const GRAVITY: f64 = 9.8;
const MASSCART: f64 = 1.0;
const MASSPOLE: f64 = 0.1;
const TOTAL_MASS: f64 = MASSPOLE + MASSCART;
const LENGTH: f64 = 0.5;
const POLEMASS_LENGTH: f64 = MASSPOLE * LENGTH;
const FORCE_MAG: f64 = 10.0;
const TAU: f64 = 0.02;
/// Terminates when the pole leaves ±12°.
const THETA_THRESHOLD_RADIANS: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
/// Terminates when the cart's centre leaves ±2.4.
const X_THRESHOLD: f64 = 2.4;
const MAX_EPISODE_STEPS: u32 = 500;
const RESET_BOUND: f64 = 0.05;

/// Balance a pole on a cart by pushing left (0) or right (1); +1 per step including the last.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CartPole {
    /// x, x_dot, theta, theta_dot.
    #[serde(with = "crate::serde_exact::f64_array")]
    state: [f64; 4],
    rng: Pcg64,
    elapsed_steps: u32,
    /// Steps taken after termination (Gymnasium rewards those 0).
    steps_beyond_terminated: Option<u32>,
}

impl CartPole {
    pub const ID: &'static str = "CartPole-v1";
    const NUM_ACTIONS: usize = 2;

    /// A cart-pole in a valid start state, its generator seeded with `DEFAULT_SEED`.
    pub fn new() -> Self {
        let mut env = CartPole {
            state: [0.0; 4],
            rng: Pcg64::seed_from_u64(DEFAULT_SEED),
            elapsed_steps: 0,
            steps_beyond_terminated: None,
        };
        env.draw_start_state();
        env
    }

    /// The internal float64 state: x, x_dot, theta, theta_dot.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }

    fn draw_start_state(&mut self) {
        for v in &mut self.state {
            *v = uniform(&mut self.rng, -RESET_BOUND, RESET_BOUND);
        }
        self.elapsed_steps = 0;
        self.steps_beyond_terminated = None;
    }

    fn write(&self, obs: &mut [f32]) {
        write_obs(Self::ID, obs, self.state.map(|v| v as f32));
    }
}

impl Default for CartPole {
    fn default() -> Self {
        Self::new()
    }
}

impl Env for CartPole {
    fn id(&self) -> &str {
        Self::ID
    }

    fn obs_space(&self) -> ObsSpace {
        ObsSpace::Vector { dim: 4 }
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
        let [mut x, mut x_dot, mut theta, mut theta_dot] = self.state;
        let force = if action == 1 { FORCE_MAG } else { -FORCE_MAG };
        let costheta = theta.cos();
        let sintheta = theta.sin();

        let temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS;
        let thetaacc = (GRAVITY * sintheta - costheta * temp)
            / (LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / TOTAL_MASS));
        let xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS;

        x += TAU * x_dot;
        x_dot += TAU * xacc;
        theta += TAU * theta_dot;
        theta_dot += TAU * thetaacc;
        self.state = [x, x_dot, theta, theta_dot];

        // Gymnasium's four comparisons (a NaN state does not terminate, unlike `!contains`).
        #[allow(clippy::manual_range_contains)]
        let terminated = x < -X_THRESHOLD
            || x > X_THRESHOLD
            || theta < -THETA_THRESHOLD_RADIANS
            || theta > THETA_THRESHOLD_RADIANS;
        let reward = if !terminated {
            1.0
        } else if let Some(n) = self.steps_beyond_terminated.as_mut() {
            *n = n.saturating_add(1);
            0.0
        } else {
            self.steps_beyond_terminated = Some(0);
            1.0
        };

        self.elapsed_steps = self.elapsed_steps.saturating_add(1);
        self.write(obs);
        Step {
            reward,
            terminated,
            truncated: self.elapsed_steps >= MAX_EPISODE_STEPS,
        }
    }

    fn set_state(&mut self, state: &[f64], obs: &mut [f32]) -> Result<(), EnvError> {
        self.state = check_state::<4>(Self::ID, state)?;
        self.steps_beyond_terminated = None;
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
