//! `Acrobot-v1`: gymnasium/envs/classic_control/acrobot.py ("book" dynamics, RK4 over one 0.2 s
//! step, no torque noise) under a 500-step `TimeLimit`.

use std::f64::consts::PI;

use rand::SeedableRng;
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

use super::{DEFAULT_SEED, assert_action, check_state, uniform, write_obs};
use crate::{Env, EnvError, ObsSpace, Step};

const DT: f64 = 0.2;
const LINK_LENGTH_1: f64 = 1.0;
const LINK_MASS_1: f64 = 1.0;
const LINK_MASS_2: f64 = 1.0;
const LINK_COM_POS_1: f64 = 0.5;
const LINK_COM_POS_2: f64 = 0.5;
const LINK_MOI: f64 = 1.0;
const G: f64 = 9.8;
/// Angular velocity bounds of the two joints.
const MAX_VEL_1: f64 = 4.0 * PI;
const MAX_VEL_2: f64 = 9.0 * PI;
const AVAIL_TORQUE: [f64; 3] = [-1.0, 0.0, 1.0];
const MAX_EPISODE_STEPS: u32 = 500;
const RESET_BOUND: f64 = 0.1;
/// Beyond this the subtraction loop of `wrap` would take ages (Gymnasium would hang).
const WRAP_LOOP_LIMIT: f64 = 1e6;

/// Swing a two-link pendulum's tip above the bar by torquing the middle joint (-1, 0, +1);
/// -1 per step, 0 on the terminating step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Acrobot {
    /// theta1, theta2, dtheta1, dtheta2.
    #[serde(with = "crate::serde_exact::f64_array")]
    state: [f64; 4],
    rng: Pcg64,
    elapsed_steps: u32,
}

impl Acrobot {
    pub const ID: &'static str = "Acrobot-v1";
    const NUM_ACTIONS: usize = 3;

    /// An acrobot in a valid start state, its generator seeded with `DEFAULT_SEED`.
    pub fn new() -> Self {
        let mut env = Acrobot {
            state: [0.0; 4],
            rng: Pcg64::seed_from_u64(DEFAULT_SEED),
            elapsed_steps: 0,
        };
        env.draw_start_state();
        env
    }

    /// The internal float64 state: theta1, theta2, dtheta1, dtheta2.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }

    fn draw_start_state(&mut self) {
        // Gymnasium draws float64 and stores `.astype(np.float32)`.
        for v in &mut self.state {
            *v = f64::from(uniform(&mut self.rng, -RESET_BOUND, RESET_BOUND) as f32);
        }
        self.elapsed_steps = 0;
    }

    fn write(&self, obs: &mut [f32]) {
        let [t1, t2, dt1, dt2] = self.state;
        let values = [t1.cos(), t1.sin(), t2.cos(), t2.sin(), dt1, dt2];
        write_obs(Self::ID, obs, values.map(|v| v as f32));
    }

    fn terminal(&self) -> bool {
        let [t1, t2, ..] = self.state;
        -t1.cos() - (t2 + t1).cos() > 1.0
    }
}

impl Default for Acrobot {
    fn default() -> Self {
        Self::new()
    }
}

/// numpy's `x**2` on a float64 scalar: libm's `pow`, which is not always `x * x` (glibc's pow is
/// off by one ulp in ~0.1% of cases). `black_box` stops LLVM from folding `pow(x, 2.0)` to `x * x`.
fn np_square_pow(x: f64) -> f64 {
    x.powf(std::hint::black_box(2.0))
}

/// `_dsdt` with "book" dynamics; `a` is the torque. Expressions keep Python's evaluation order.
fn dsdt(s: [f64; 4], a: f64) -> [f64; 4] {
    let (m1, m2, l1) = (LINK_MASS_1, LINK_MASS_2, LINK_LENGTH_1);
    let (lc1, lc2) = (LINK_COM_POS_1, LINK_COM_POS_2);
    let (i1, i2) = (LINK_MOI, LINK_MOI);
    let [theta1, theta2, dtheta1, dtheta2] = s;
    // Python calls cos(theta2) twice and sin(theta2) three times; once each gives the same values.
    let (sin2, cos2) = (theta2.sin(), theta2.cos());

    let d1 = m1 * (lc1 * lc1) + m2 * (l1 * l1 + lc2 * lc2 + 2.0 * l1 * lc2 * cos2) + i1 + i2;
    let d2 = m2 * (lc2 * lc2 + l1 * lc2 * cos2) + i2;
    let phi2 = m2 * lc2 * G * (theta1 + theta2 - PI / 2.0).cos();
    let phi1 = -m2 * l1 * lc2 * np_square_pow(dtheta2) * sin2
        - 2.0 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin2
        + (m1 * lc1 + m2 * l1) * G * (theta1 - PI / 2.0).cos()
        + phi2;
    let ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * np_square_pow(dtheta1) * sin2 - phi2)
        / (m2 * (lc2 * lc2) + i2 - np_square_pow(d2) / d1);
    let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    [dtheta1, dtheta2, ddtheta1, ddtheta2]
}

/// One classical Runge-Kutta step over `[0, DT]`, element-wise as numpy evaluates it.
fn rk4(y0: [f64; 4], a: f64) -> [f64; 4] {
    let dt = DT;
    let dt2 = dt / 2.0;
    let axpy = |k: [f64; 4], h: f64| std::array::from_fn::<f64, 4, _>(|i| y0[i] + h * k[i]);
    let k1 = dsdt(y0, a);
    let k2 = dsdt(axpy(k1, dt2), a);
    let k3 = dsdt(axpy(k2, dt2), a);
    let k4 = dsdt(axpy(k3, dt), a);
    std::array::from_fn(|i| y0[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

/// Gymnasium's `wrap(x, -pi, pi)`: repeated subtraction, so results match to the bit.
fn wrap(mut x: f64) -> f64 {
    let (m, big_m) = (-PI, PI);
    let diff = big_m - m;
    if x.is_nan() || x.abs() > WRAP_LOOP_LIMIT {
        // Only reachable through extreme `set_state` values; NaN and inf stay NaN.
        return (x - m).rem_euclid(diff) + m;
    }
    while x > big_m {
        x -= diff;
    }
    while x < m {
        x += diff;
    }
    x
}

/// Gymnasium's `bound`: Python's `min(max(x, m), M)`.
fn bound(x: f64, m: f64, big_m: f64) -> f64 {
    let lo = if m > x { m } else { x };
    if big_m < lo { big_m } else { lo }
}

impl Env for Acrobot {
    fn id(&self) -> &str {
        Self::ID
    }

    fn obs_space(&self) -> ObsSpace {
        ObsSpace::Vector { dim: 6 }
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
        let ns = rk4(self.state, AVAIL_TORQUE[action]);
        self.state = [
            wrap(ns[0]),
            wrap(ns[1]),
            bound(ns[2], -MAX_VEL_1, MAX_VEL_1),
            bound(ns[3], -MAX_VEL_2, MAX_VEL_2),
        ];
        let terminated = self.terminal();
        self.elapsed_steps = self.elapsed_steps.saturating_add(1);
        self.write(obs);
        Step {
            reward: if terminated { 0.0 } else { -1.0 },
            terminated,
            truncated: self.elapsed_steps >= MAX_EPISODE_STEPS,
        }
    }

    fn set_state(&mut self, state: &[f64], obs: &mut [f32]) -> Result<(), EnvError> {
        self.state = check_state::<4>(Self::ID, state)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_matches_repeated_subtraction() {
        assert_eq!(wrap(0.5), 0.5);
        assert_eq!(wrap(PI), PI);
        assert_eq!(wrap(PI + 0.25), PI + 0.25 - 2.0 * PI);
        assert_eq!(wrap(-PI - 0.25), -PI - 0.25 + 2.0 * PI);
        assert_eq!(wrap(7.0 * PI), 7.0 * PI - 2.0 * PI - 2.0 * PI - 2.0 * PI);
        assert!(wrap(f64::INFINITY).is_nan());
        let far = wrap(1e9);
        assert!((-PI..=PI).contains(&far));
    }

    #[test]
    fn bound_clips_like_python_min_max() {
        assert_eq!(bound(20.0, -MAX_VEL_1, MAX_VEL_1), MAX_VEL_1);
        assert_eq!(bound(-20.0, -MAX_VEL_1, MAX_VEL_1), -MAX_VEL_1);
        assert_eq!(bound(1.5, -MAX_VEL_1, MAX_VEL_1), 1.5);
    }

    #[test]
    fn resting_hanging_pendulum_stays_put() {
        // theta = 0 is straight down: with no torque and no velocity every derivative is 0
        // except for tiny residue of cos(-pi/2) (6e-17), which RK4 keeps below 1e-15.
        let ns = rk4([0.0; 4], 0.0);
        for v in ns {
            assert!(v.abs() < 1e-14, "{ns:?}");
        }
    }
}
