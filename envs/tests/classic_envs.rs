//! Behaviour of the classic-control environments beyond the Gymnasium fixtures: reset
//! distributions, seeding, closed-form first steps, time limits, `set_state` validation and
//! snapshot/restore.

use sparq_envs::classic::{Acrobot, CartPole, MountainCar};
use sparq_envs::{Env, EnvError, ObsSpace, make};

fn obs_buf(env: &dyn Env) -> Vec<f32> {
    vec![0.0; env.obs_space().len()]
}

#[test]
fn cartpole_reset_is_uniform_within_005() {
    let mut env = CartPole::new();
    let mut obs = obs_buf(&env);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for seed in 0..2000 {
        env.reset(Some(seed), &mut obs);
        let s = env.state();
        for (o, v) in obs.iter().zip(s) {
            assert!((-0.05..0.05).contains(&v), "seed {seed}: {s:?}");
            assert_eq!(*o, v as f32);
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    // 8000 uniform draws cover the interval nearly to its ends.
    assert!(lo < -0.049 && hi > 0.049, "range [{lo}, {hi}]");
}

#[test]
fn acrobot_reset_is_uniform_within_01_and_float32() {
    let mut env = Acrobot::new();
    let mut obs = obs_buf(&env);
    for seed in 0..2000 {
        env.reset(Some(seed), &mut obs);
        let s = env.state();
        for v in s {
            assert!((-0.1..=0.1).contains(&v), "seed {seed}: {s:?}");
            // Gymnasium stores the start state as float32.
            assert_eq!(f64::from(v as f32), v);
        }
        let want = [s[0].cos(), s[0].sin(), s[1].cos(), s[1].sin(), s[2], s[3]].map(|v| v as f32);
        assert_eq!(obs, want);
    }
}

#[test]
fn mountain_car_reset_position_in_range_velocity_zero() {
    let mut env = MountainCar::new();
    let mut obs = obs_buf(&env);
    for seed in 0..2000 {
        env.reset(Some(seed), &mut obs);
        let [p, v] = env.state();
        assert!((-0.6..-0.4).contains(&p), "seed {seed}: {p}");
        assert_eq!(v, 0.0);
        assert_eq!(obs, [p as f32, 0.0]);
    }
}

#[test]
fn seeded_resets_are_deterministic_and_unseeded_resets_continue_the_stream() {
    for id in ["CartPole-v1", "Acrobot-v1", "MountainCar-v0"] {
        let mut a = make(id).unwrap();
        let mut b = make(id).unwrap();
        let (mut oa, mut ob) = (obs_buf(a.as_ref()), obs_buf(b.as_ref()));
        a.reset(Some(7), &mut oa);
        b.reset(Some(7), &mut ob);
        assert_eq!(oa, ob, "{id}");
        let first = oa.clone();
        a.reset(None, &mut oa);
        b.reset(None, &mut ob);
        assert_eq!(oa, ob, "{id}: the continued streams agree");
        assert_ne!(oa, first, "{id}: an unseeded reset draws a new start");
        b.reset(Some(8), &mut ob);
        assert_ne!(ob, first, "{id}: another seed, another start");
        a.reset(Some(7), &mut oa);
        assert_eq!(oa, first, "{id}: reseeding restarts the stream");
    }
}

#[test]
fn cartpole_first_step_matches_closed_form() {
    // From rest with the pole upright, pushing right (force +10):
    // thetaacc = -(10/1.1) / (0.5 (4/3 - 0.1/1.1)) = -600/41, xacc = 4400/451.
    let mut env = CartPole::new();
    let mut obs = obs_buf(&env);
    env.set_state(&[0.0; 4], &mut obs).unwrap();
    let step = env.step(1, &mut obs);
    let s = env.state();
    assert_eq!((s[0], s[2]), (0.0, 0.0));
    assert!((s[1] - 0.02 * 4400.0 / 451.0).abs() < 1e-12, "{s:?}");
    assert!((s[3] + 0.02 * 600.0 / 41.0).abs() < 1e-12, "{s:?}");
    assert_eq!(
        (step.reward, step.terminated, step.truncated),
        (1.0, false, false)
    );
}

#[test]
fn mountain_car_first_step_matches_closed_form() {
    let mut env = MountainCar::new();
    let mut obs = obs_buf(&env);
    env.set_state(&[-0.5, 0.0], &mut obs).unwrap();
    let step = env.step(2, &mut obs);
    let v = 0.001 - 0.0025 * (-1.5f64).cos();
    let [p, vel] = env.state();
    assert!((vel - v).abs() < 1e-15);
    assert!((p - (-0.5 + v)).abs() < 1e-15);
    assert_eq!(step.reward, -1.0);
}

#[test]
fn mountain_car_left_wall_zeroes_velocity() {
    let mut env = MountainCar::new();
    let mut obs = obs_buf(&env);
    env.set_state(&[-1.19, -0.05], &mut obs).unwrap();
    env.step(0, &mut obs);
    assert_eq!(env.state(), [-1.2, 0.0]);
    assert_eq!(obs, [-1.2f32, 0.0]);
}

#[test]
fn acrobot_clips_velocities_and_wraps_angles() {
    let mut env = Acrobot::new();
    let mut obs = obs_buf(&env);
    let pi = std::f64::consts::PI;
    // Spinning far beyond the bounds: both velocities end the step clipped to ±4π / ±9π.
    env.set_state(&[3.1, -3.1, 100.0, -100.0], &mut obs)
        .unwrap();
    env.step(1, &mut obs);
    let s = env.state();
    assert_eq!(s[2].abs(), 4.0 * pi, "{s:?}");
    assert_eq!(s[3].abs(), 9.0 * pi, "{s:?}");
    assert_eq!(obs[4..], [s[2] as f32, s[3] as f32]);
    // Joint 1 at 3.1 rad moving at +1 rad/s: crosses +π and is wrapped to near -π.
    env.set_state(&[3.1, 0.0, 1.0, 0.0], &mut obs).unwrap();
    env.step(1, &mut obs);
    let s = env.state();
    assert!(s[0] < -2.9, "{s:?}");
    for a in &s[..2] {
        assert!((-pi..=pi).contains(a), "{s:?}");
    }
}

#[test]
fn time_limit_truncates_on_the_limit_step_and_resets_with_the_episode() {
    // Coasting never reaches MountainCar's goal: truncated exactly on step 200.
    let mut env = MountainCar::new();
    let mut obs = obs_buf(&env);
    for episode in 0..2 {
        env.reset(Some(episode), &mut obs);
        for t in 1..=200 {
            let step = env.step(1, &mut obs);
            assert!(!step.terminated);
            assert_eq!(step.truncated, t == 200, "episode {episode} step {t}");
        }
    }
    assert_eq!(env.max_episode_steps(), Some(200));
    assert_eq!(CartPole::new().max_episode_steps(), Some(500));
    assert_eq!(Acrobot::new().max_episode_steps(), Some(500));
}

#[test]
fn cartpole_rewards_zero_after_termination() {
    let mut env = CartPole::new();
    let mut obs = obs_buf(&env);
    env.set_state(&[2.4, 1.0, 0.0, 0.0], &mut obs).unwrap();
    let first = env.step(1, &mut obs);
    assert!(first.terminated);
    assert_eq!(first.reward, 1.0);
    let after = env.step(1, &mut obs);
    assert!(after.terminated);
    assert_eq!(after.reward, 0.0);
    // A reset clears it.
    env.reset(None, &mut obs);
    env.set_state(&[2.4, 1.0, 0.0, 0.0], &mut obs).unwrap();
    assert_eq!(env.step(1, &mut obs).reward, 1.0);
}

#[test]
fn spaces_and_action_counts() {
    let cases = [
        ("CartPole-v1", 4, 2),
        ("Acrobot-v1", 6, 3),
        ("MountainCar-v0", 2, 3),
    ];
    for (id, dim, n) in cases {
        let env = make(id).unwrap();
        assert_eq!(env.id(), id);
        assert_eq!(env.obs_space(), ObsSpace::Vector { dim });
        assert_eq!(env.num_actions(), n);
    }
}

#[test]
fn set_state_rejects_wrong_length_and_non_finite_values() {
    let mut env = Acrobot::new();
    let mut obs = obs_buf(&env);
    let before = env.state();
    let err = env.set_state(&[0.0; 3], &mut obs).unwrap_err();
    assert!(matches!(
        err,
        EnvError::StateLength {
            expected: 4,
            got: 3,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "Acrobot-v1: invalid state, expected 4 values, got 3"
    );
    let err = env
        .set_state(&[0.0, 0.0, f64::NAN, 0.0], &mut obs)
        .unwrap_err();
    assert!(matches!(err, EnvError::NonFiniteState { index: 2, .. }));
    assert!(err.to_string().contains("index 2"), "{err}");
    let err = MountainCar::new()
        .set_state(&[f64::INFINITY, 0.0], &mut [0.0; 2])
        .unwrap_err();
    assert!(matches!(err, EnvError::NonFiniteState { index: 0, .. }));
    assert_eq!(
        env.state(),
        before,
        "a rejected state leaves the env untouched"
    );
}

#[test]
#[should_panic(expected = "action 2 out of range, allowed 0..2")]
fn step_panics_on_out_of_range_action() {
    let mut env = CartPole::new();
    env.step(2, &mut [0.0; 4]);
}

/// Runs `steps` steps with a fixed action pattern, resetting (unseeded) when done.
fn trajectory(env: &mut dyn Env, steps: usize) -> Vec<(Vec<f32>, f32, bool, bool)> {
    let mut obs = obs_buf(env);
    let n = env.num_actions();
    (0..steps)
        .map(|t| {
            let step = env.step((t * 7 + t / 3) % n, &mut obs);
            let row = (obs.clone(), step.reward, step.terminated, step.truncated);
            if step.done() {
                env.reset(None, &mut obs);
            }
            row
        })
        .collect()
}

#[test]
fn snapshot_restore_continues_identically() {
    for id in ["CartPole-v1", "Acrobot-v1", "MountainCar-v0"] {
        let mut env = make(id).unwrap();
        let mut obs = obs_buf(env.as_ref());
        env.reset(Some(3), &mut obs);
        trajectory(env.as_mut(), 137);
        let snap = env.snapshot().unwrap();
        // Long enough to cross several episode ends, so the generator state matters too.
        let expected = trajectory(env.as_mut(), 1200);

        let mut restored = make(id).unwrap();
        restored.restore(&snap).unwrap();
        assert_eq!(trajectory(restored.as_mut(), 1200), expected, "{id}");
        assert!(expected.iter().filter(|r| r.2 || r.3).count() >= 2, "{id}");
    }
}

#[test]
fn snapshot_restores_the_float64_state_to_the_bit() {
    let mut env = Acrobot::new();
    let mut obs = obs_buf(&env);
    let state = [0.1 + 0.2, -1.0 / 3.0, std::f64::consts::E, 1e-300];
    env.set_state(&state, &mut obs).unwrap();
    let mut other = Acrobot::new();
    other.restore(&env.snapshot().unwrap()).unwrap();
    assert_eq!(other.state().map(f64::to_bits), state.map(f64::to_bits));
}

#[test]
fn restore_rejects_other_envs_and_garbage() {
    let snap = CartPole::new().snapshot().unwrap();
    let err = MountainCar::new().restore(&snap).unwrap_err();
    assert!(matches!(err, EnvError::Snapshot { .. }));
    assert!(err.to_string().contains("'CartPole-v1'"), "{err}");
    let err = CartPole::new().restore(b"{not json").unwrap_err();
    assert!(
        err.to_string().starts_with("CartPole-v1: snapshot error:"),
        "{err}"
    );
    assert!(!err.to_string().contains('\n'));
}
