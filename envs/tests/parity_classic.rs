//! Replays Gymnasium 1.4.0 episodes (scripts/dev/gen_classic_fixtures.py) through the Rust ports:
//! same start state, same actions → observations within 1e-5, identical rewards, flags and
//! episode lengths, and the final float64 state identical to the bit.

use std::path::PathBuf;

use serde::Deserialize;
use sparq_envs::Env;
use sparq_envs::classic::{Acrobot, CartPole, MountainCar};

const OBS_TOL: f32 = 1e-5;

#[derive(Deserialize)]
struct Fixture {
    gymnasium: String,
    env_id: String,
    episodes: Vec<Episode>,
}

#[derive(Deserialize)]
struct Episode {
    name: String,
    state_bits: Vec<u64>,
    obs0: Vec<f32>,
    actions: Vec<usize>,
    obs: Vec<Vec<f32>>,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    final_state_bits: Vec<u64>,
}

/// A classic environment whose float64 state the test can read.
trait Physical: Env {
    fn new_env() -> Self;
    fn physical_state(&self) -> Vec<f64>;
}

impl Physical for CartPole {
    fn new_env() -> Self {
        CartPole::new()
    }
    fn physical_state(&self) -> Vec<f64> {
        self.state().to_vec()
    }
}

impl Physical for Acrobot {
    fn new_env() -> Self {
        Acrobot::new()
    }
    fn physical_state(&self) -> Vec<f64> {
        self.state().to_vec()
    }
}

impl Physical for MountainCar {
    fn new_env() -> Self {
        MountainCar::new()
    }
    fn physical_state(&self) -> Vec<f64> {
        self.state().to_vec()
    }
}

fn load(stem: &str) -> Fixture {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/classic")
        .join(format!("{stem}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run scripts/dev/gen-classic-fixtures)",
            path.display()
        )
    });
    let fixture: Fixture =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(fixture.gymnasium, "1.4.0", "{}", path.display());
    fixture
}

fn assert_obs_close(ctx: &str, got: &[f32], want: &[f32]) -> usize {
    assert_eq!(got.len(), want.len(), "{ctx}: observation length");
    let mut exact = 0;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= OBS_TOL,
            "{ctx}: obs[{i}] = {g}, Gymnasium {w} (obs {got:?} vs {want:?})"
        );
        exact += usize::from(g.to_bits() == w.to_bits());
    }
    exact
}

/// Replays every episode of `stem.json`; returns (steps, bit-exact observation values, values).
fn replay<E: Physical>(stem: &str) -> (usize, usize, usize) {
    let fixture = load(stem);
    let (mut steps, mut exact, mut values) = (0, 0, 0);
    for ep in &fixture.episodes {
        let ctx = format!("{} {}", fixture.env_id, ep.name);
        let n = ep.actions.len();
        assert!(n > 0, "{ctx}: empty episode");
        assert_eq!(ep.obs.len(), n, "{ctx}: fixture obs count");
        assert_eq!(ep.rewards.len(), n, "{ctx}: fixture reward count");

        let mut env = E::new_env();
        assert_eq!(env.id(), fixture.env_id);
        let mut obs = vec![0.0f32; env.obs_space().len()];
        env.reset(Some(0), &mut obs);
        let state: Vec<f64> = ep.state_bits.iter().map(|&b| f64::from_bits(b)).collect();
        env.set_state(&state, &mut obs)
            .expect("fixture state is valid");
        exact += assert_obs_close(&format!("{ctx} start"), &obs, &ep.obs0);
        values += obs.len();

        for t in 0..n {
            let step = env.step(ep.actions[t], &mut obs);
            let at = format!("{ctx} step {}", t + 1);
            exact += assert_obs_close(&at, &obs, &ep.obs[t]);
            values += obs.len();
            assert_eq!(step.reward, ep.rewards[t], "{at}: reward");
            assert_eq!(step.terminated, ep.terminated[t], "{at}: terminated");
            assert_eq!(step.truncated, ep.truncated[t], "{at}: truncated");
            // Gymnasium's episode ends exactly here, and not before.
            assert_eq!(step.done(), t + 1 == n, "{at}: episode length {n}");
        }
        // The float64 state must agree to the bit: same operations in the same order.
        let want: Vec<u64> = ep.final_state_bits.clone();
        let got: Vec<u64> = env.physical_state().iter().map(|v| v.to_bits()).collect();
        assert_eq!(
            got,
            want,
            "{ctx}: final float64 state {:?} vs Gymnasium {:?}",
            env.physical_state(),
            want.iter().map(|&b| f64::from_bits(b)).collect::<Vec<_>>()
        );
        steps += n;
    }
    eprintln!("{stem}: {steps} steps, {exact}/{values} observation values bit-exact");
    (steps, exact, values)
}

#[test]
fn cartpole_matches_gymnasium() {
    let (steps, exact, values) = replay::<CartPole>("cartpole");
    assert!(steps > 1000);
    // Same float64 operations in the same order: every value should agree to the bit.
    assert_eq!(exact, values);
}

#[test]
fn mountain_car_matches_gymnasium() {
    let (steps, exact, values) = replay::<MountainCar>("mountain_car");
    assert!(steps > 500);
    assert_eq!(exact, values);
}

#[test]
fn acrobot_matches_gymnasium() {
    let (steps, exact, values) = replay::<Acrobot>("acrobot");
    assert!(steps > 500);
    assert_eq!(exact, values);
}

#[test]
fn fixtures_cover_the_edge_cases() {
    // The generator's searches must have produced these; a regenerated fixture missing one
    // would silently weaken the parity tests above.
    let expect = [
        (
            "cartpole",
            "terminated_and_truncated_at_500",
            500,
            true,
            true,
        ),
        ("cartpole", "truncated_at_500", 500, false, true),
        ("cartpole", "x_just_outside", 1, true, false),
        ("cartpole", "theta_just_outside", 1, true, false),
        (
            "mountain_car",
            "terminated_and_truncated_at_200",
            200,
            true,
            true,
        ),
        ("mountain_car", "random_0", 200, false, true),
        ("mountain_car", "left_wall", 43, true, false),
        ("acrobot", "random_truncated_at_500", 500, false, true),
        ("acrobot", "near_goal_rising", 1, true, false),
        ("acrobot", "clip_velocities", 1, true, false),
    ];
    for (stem, name, len, terminated, truncated) in expect {
        let fixture = load(stem);
        let ep = fixture
            .episodes
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{stem}: episode {name} missing"));
        assert_eq!(ep.actions.len(), len, "{stem} {name}");
        assert_eq!(ep.terminated.last(), Some(&terminated), "{stem} {name}");
        assert_eq!(ep.truncated.last(), Some(&truncated), "{stem} {name}");
    }
}
