//! `VecEnv`: seeding convention, same-step auto-reset with final observations, terminated vs
//! truncated, episode statistics, action validation, parallel = sequential, snapshot/restore.

use sparq_envs::{Env, EnvError, EpisodeStats, Parallelism, VecEnv, make};

fn row(obs: &[f32], i: usize, len: usize) -> &[f32] {
    &obs[i * len..(i + 1) * len]
}

#[test]
fn reset_seeds_env_i_with_seed_plus_i() {
    let mut venv = VecEnv::new("Acrobot-v1", 4).unwrap();
    assert_eq!(venv.num_envs(), 4);
    assert_eq!(venv.obs_len(), 6);
    assert_eq!(venv.num_actions(), 3);
    assert_eq!(venv.obs().len(), 24);
    venv.reset(100);
    for i in 0..4 {
        let mut env = make("Acrobot-v1").unwrap();
        let mut obs = vec![0.0; 6];
        env.reset(Some(100 + i as u64), &mut obs);
        assert_eq!(row(venv.obs(), i, 6), obs.as_slice(), "env {i}");
    }
}

/// Steps `venv` and single-env replicas (seeded `seed + i`, reset unseeded when done) with the
/// same actions and checks every field of every `VecStep`. Returns the number of finished episodes
/// per kind (terminated, truncated).
fn check_against_replicas(
    id: &str,
    n: usize,
    steps: usize,
    action: impl Fn(usize, usize) -> usize,
) -> (usize, usize) {
    let mut venv = VecEnv::new(id, n).unwrap();
    let len = venv.obs_len();
    venv.reset(5);
    let mut replicas: Vec<Box<dyn Env>> = (0..n).map(|_| make(id).unwrap()).collect();
    let mut obs: Vec<Vec<f32>> = vec![vec![0.0; len]; n];
    let mut returns = vec![0.0f64; n];
    let mut lengths = vec![0u32; n];
    for (i, env) in replicas.iter_mut().enumerate() {
        env.reset(Some(5 + i as u64), &mut obs[i]);
    }
    let (mut terminated, mut truncated) = (0, 0);
    for t in 0..steps {
        let actions: Vec<usize> = (0..n).map(|i| action(t, i)).collect();
        let vstep = venv.step(&actions).unwrap().clone();
        for i in 0..n {
            let s = replicas[i].step(actions[i], &mut obs[i]);
            returns[i] += f64::from(s.reward);
            lengths[i] += 1;
            assert_eq!(vstep.rewards[i], s.reward);
            assert_eq!(vstep.terminated[i], s.terminated);
            assert_eq!(vstep.truncated[i], s.truncated);
            assert_eq!(vstep.done(i), s.done());
            if s.done() {
                // final_obs keeps the true last observation; obs() already holds the next start.
                assert_eq!(vstep.final_obs(i), Some(obs[i].as_slice()), "t {t} env {i}");
                assert_eq!(
                    vstep.episodes[i],
                    Some(EpisodeStats {
                        episode_return: returns[i],
                        length: lengths[i]
                    })
                );
                replicas[i].reset(None, &mut obs[i]);
                returns[i] = 0.0;
                lengths[i] = 0;
                terminated += usize::from(s.terminated);
                truncated += usize::from(s.truncated);
            } else {
                assert_eq!(vstep.final_obs(i), None);
                assert_eq!(vstep.episodes[i], None);
            }
            assert_eq!(row(venv.obs(), i, len), obs[i].as_slice(), "t {t} env {i}");
        }
        assert_eq!(
            vstep.finished().count(),
            (0..n).filter(|&i| vstep.done(i)).count()
        );
    }
    (terminated, truncated)
}

#[test]
fn cartpole_auto_reset_matches_single_envs() {
    // Always pushing one way topples the pole within a few dozen steps: many terminations.
    let (terminated, truncated) =
        check_against_replicas("CartPole-v1", 3, 300, |t, i| (t / 9 + i) % 2);
    assert!(terminated >= 10, "{terminated}");
    assert_eq!(truncated, 0);
}

#[test]
fn mountain_car_truncation_keeps_final_obs_apart_from_reset_obs() {
    // Coasting never reaches the goal: every episode is truncated at 200.
    let (terminated, truncated) = check_against_replicas("MountainCar-v0", 2, 401, |_, _| 1);
    assert_eq!((terminated, truncated), (0, 4));

    let mut venv = VecEnv::new("MountainCar-v0", 2).unwrap();
    venv.reset(0);
    for _ in 0..199 {
        assert!(venv.step(&[1, 1]).unwrap().finished().next().is_none());
    }
    let step = venv.step(&[1, 1]).unwrap().clone();
    for i in 0..2 {
        assert!(step.truncated[i] && !step.terminated[i]);
        assert_eq!(
            step.episodes[i],
            Some(EpisodeStats {
                episode_return: -200.0,
                length: 200
            })
        );
        let fin = step.final_obs(i).unwrap();
        let next = row(venv.obs(), i, 2);
        assert_ne!(fin, next);
        // The reset observation is a fresh start: velocity 0, position in [-0.6, -0.4).
        assert_eq!(next[1], 0.0);
        assert!((-0.6..-0.4).contains(&next[0]));
    }
}

#[test]
fn acrobot_auto_reset_matches_single_envs() {
    check_against_replicas("Acrobot-v1", 3, 1100, |t, i| (t * 31 + i * 7) % 3);
}

#[test]
fn actions_are_validated() {
    let mut venv = VecEnv::new("CartPole-v1", 2).unwrap();
    let err = venv.step(&[0, 0]).unwrap_err();
    assert!(matches!(err, EnvError::NotReset { .. }), "{err}");
    venv.reset(0);
    let before = venv.obs().to_vec();
    let err = venv.step(&[0, 2]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "CartPole-v1: action 2 out of range, allowed 0..2"
    );
    let err = venv.step(&[0]).unwrap_err();
    assert!(
        matches!(
            err,
            EnvError::ActionCount {
                expected: 2,
                got: 1,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        venv.obs(),
        before.as_slice(),
        "rejected steps change nothing"
    );
    assert!(venv.step(&[1, 0]).is_ok());
}

#[test]
fn construction_errors() {
    let err = VecEnv::new("CartPole-v9", 2).unwrap_err();
    assert!(matches!(err, EnvError::UnknownId { .. }));
    assert!(
        err.to_string()
            .contains("CartPole-v1, Acrobot-v1, MountainCar-v0"),
        "{err}"
    );
    let err = VecEnv::new("CartPole-v1", 0).unwrap_err();
    assert!(matches!(err, EnvError::NumEnvs { got: 0, .. }));
}

fn run(venv: &mut VecEnv, steps: usize, salt: usize) -> Vec<(Vec<f32>, sparq_envs::VecStep)> {
    let (n, k) = (venv.num_envs(), venv.num_actions());
    (0..steps)
        .map(|t| {
            let actions: Vec<usize> = (0..n).map(|i| (t * 13 + i * 5 + salt) % k).collect();
            let step = venv.step(&actions).unwrap().clone();
            (venv.obs().to_vec(), step)
        })
        .collect()
}

#[test]
fn parallel_and_sequential_stepping_agree() {
    let mut seq = VecEnv::new("Acrobot-v1", 48).unwrap();
    let mut par = VecEnv::new("Acrobot-v1", 48).unwrap();
    seq.set_parallelism(Parallelism::Sequential);
    par.set_parallelism(Parallelism::Parallel);
    assert!(!seq.is_parallel());
    seq.reset(11);
    par.reset(11);
    assert_eq!(run(&mut seq, 600, 0), run(&mut par, 600, 0));
}

#[test]
fn snapshot_restore_continues_identically_with_episode_counters() {
    let mut venv = VecEnv::new("CartPole-v1", 4).unwrap();
    venv.reset(21);
    run(&mut venv, 10, 1);
    let snap = venv.snapshot().unwrap();
    let obs_at_snapshot = venv.obs().to_vec();
    let expected = run(&mut venv, 300, 2);
    // Episodes running at snapshot time finish with their full return and length.
    assert!(
        expected
            .iter()
            .any(|(_, s)| s.finished().any(|(_, e)| e.length > 10))
    );

    let mut restored = VecEnv::new("CartPole-v1", 4).unwrap();
    restored.restore(&snap).unwrap();
    assert_eq!(restored.obs(), obs_at_snapshot.as_slice());
    assert_eq!(run(&mut restored, 300, 2), expected);
}

#[test]
fn restore_rejects_mismatched_snapshots() {
    let mut a = VecEnv::new("CartPole-v1", 2).unwrap();
    a.reset(0);
    let snap = a.snapshot().unwrap();
    let err = VecEnv::new("CartPole-v1", 3)
        .unwrap()
        .restore(&snap)
        .unwrap_err();
    assert!(err.to_string().contains("holds 2 environments"), "{err}");
    let err = VecEnv::new("MountainCar-v0", 2)
        .unwrap()
        .restore(&snap)
        .unwrap_err();
    assert!(err.to_string().contains("'CartPole-v1'"), "{err}");
    let mut b = VecEnv::new("CartPole-v1", 2).unwrap();
    assert!(b.restore(b"[]").is_err());
    // A failed restore leaves the VecEnv usable and unstarted.
    assert!(matches!(b.step(&[0, 0]), Err(EnvError::NotReset { .. })));
}
