//! MinAtar through the public `Env` interface: ids and spaces, observation layout, seeding,
//! sticky actions, snapshots.

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use sparq_envs::minatar::{self, Options};
use sparq_envs::{Env, EnvError, ObsSpace, Step};

/// (id, channels, actions) as registered by minatar 1.0.15's `-v1` ids.
const GAMES: [(&str, usize, usize); 5] = [
    ("MinAtar/Asterix-v1", 4, 5),
    ("MinAtar/Breakout-v1", 4, 3),
    ("MinAtar/Freeway-v1", 7, 3),
    ("MinAtar/Seaquest-v1", 10, 6),
    ("MinAtar/SpaceInvaders-v1", 6, 4),
];

fn make(id: &str) -> Box<dyn Env> {
    minatar::make(id).unwrap_or_else(|| panic!("{id} is registered"))
}

fn obs_buf(env: &dyn Env) -> Vec<f32> {
    vec![0.0; env.obs_space().len()]
}

/// Cells set in channel `c`, as (y, x).
fn cells(obs: &[f32], c: usize) -> Vec<(usize, usize)> {
    (0..100)
        .filter(|i| obs[c * 100 + i] == 1.0)
        .map(|i| (i / 10, i % 10))
        .collect()
}

/// Plays `steps` uniformly random actions (resetting after episodes), returning every frame.
fn play(env: &mut dyn Env, seed: u64, steps: usize) -> Vec<(Vec<f32>, Step)> {
    let mut policy = Pcg64::seed_from_u64(seed ^ 0x5eed);
    let mut obs = obs_buf(env);
    env.reset(Some(seed), &mut obs);
    let mut frames = vec![];
    for _ in 0..steps {
        let step = env.step(policy.random_range(0..env.num_actions()), &mut obs);
        frames.push((obs.clone(), step));
        if step.done() {
            env.reset(None, &mut obs);
        }
    }
    frames
}

#[test]
fn ids_spaces_and_limits_match_the_registration() {
    let mut ids: Vec<_> = minatar::IDS.to_vec();
    ids.sort();
    assert_eq!(ids, GAMES.map(|g| g.0).to_vec());
    for (id, channels, actions) in GAMES {
        let env = make(id);
        assert_eq!(env.id(), id);
        assert_eq!(
            env.obs_space(),
            ObsSpace::Binary {
                channels,
                height: 10,
                width: 10
            }
        );
        assert_eq!(env.num_actions(), actions);
        assert_eq!(env.max_episode_steps(), None);
    }
    assert!(minatar::make("MinAtar/Breakout-v0").is_none());
    assert!(minatar::make("Breakout-v1").is_none());
}

#[test]
fn observations_are_binary_with_one_player() {
    for (id, _, _) in GAMES {
        let mut env = make(id);
        for (obs, _) in play(env.as_mut(), 3, 3000) {
            assert!(
                obs.iter().all(|&v| v == 0.0 || v == 1.0),
                "{id}: non-binary value"
            );
            let player = cells(&obs, 0);
            assert_eq!(player.len(), 1, "{id}: player cells {player:?}");
            match id {
                "MinAtar/Breakout-v1" | "MinAtar/SpaceInvaders-v1" => assert_eq!(player[0].0, 9),
                "MinAtar/Freeway-v1" => assert_eq!(player[0].1, 4),
                _ => {}
            }
        }
    }
}

#[test]
fn reset_observations_have_the_start_layouts() {
    let mut obs = vec![0.0; 400];
    let mut env = make("MinAtar/Breakout-v1");
    env.reset(Some(0), &mut obs);
    assert_eq!(cells(&obs, 0), vec![(9, 4)]);
    let ball = cells(&obs, 1);
    assert!(
        ball == vec![(3, 0)] || ball == vec![(3, 9)],
        "ball at {ball:?}"
    );
    assert_eq!(cells(&obs, 2), ball, "trail starts under the ball");
    assert_eq!(
        cells(&obs, 3),
        (1..4)
            .flat_map(|y| (0..10).map(move |x| (y, x)))
            .collect::<Vec<_>>()
    );

    let mut env = make("MinAtar/SpaceInvaders-v1");
    let mut obs = obs_buf(env.as_ref());
    env.reset(Some(0), &mut obs);
    let wave: Vec<_> = (0..4).flat_map(|y| (2..8).map(move |x| (y, x))).collect();
    assert_eq!(
        (cells(&obs, 0), cells(&obs, 1), cells(&obs, 2)),
        (vec![(9, 5)], wave.clone(), wave)
    );
    assert!(cells(&obs, 3).is_empty());

    let mut env = make("MinAtar/Seaquest-v1");
    let mut obs = obs_buf(env.as_ref());
    env.reset(Some(0), &mut obs);
    assert_eq!(
        (cells(&obs, 0), cells(&obs, 1)),
        (vec![(0, 5)], vec![(0, 6)])
    );
    assert_eq!(
        cells(&obs, 7),
        (0..10).map(|x| (9, x)).collect::<Vec<_>>(),
        "full oxygen"
    );
    assert!(cells(&obs, 8).is_empty(), "no divers");

    let mut env = make("MinAtar/Freeway-v1");
    let mut obs = obs_buf(env.as_ref());
    env.reset(Some(0), &mut obs);
    assert_eq!(cells(&obs, 1), (1..9).map(|y| (y, 0)).collect::<Vec<_>>());
    let trails: usize = (2..7).map(|c| cells(&obs, c).len()).sum();
    assert_eq!(trails, 8);

    let mut env = make("MinAtar/Asterix-v1");
    let mut obs = obs_buf(env.as_ref());
    env.reset(Some(0), &mut obs);
    assert_eq!(obs.iter().sum::<f32>(), 1.0);
    assert_eq!(cells(&obs, 0), vec![(5, 5)]);
}

#[test]
fn seeds_reproduce_and_distinguish_runs() {
    for (id, _, _) in GAMES {
        let a = play(make(id).as_mut(), 42, 2000);
        let b = play(make(id).as_mut(), 42, 2000);
        let c = play(make(id).as_mut(), 43, 2000);
        assert!(a == b, "{id}: same seed, different run");
        assert!(a != c, "{id}: different seeds, same run");
    }
}

#[test]
fn snapshot_and_restore_continue_identically() {
    for (id, _, _) in GAMES {
        let mut env = make(id);
        play(env.as_mut(), 9, 777);
        let snap = env.snapshot().expect("snapshot");
        let after = play_on(env.as_mut(), 1000);
        let mut other = make(id);
        other.restore(&snap).expect("restore");
        assert!(
            play_on(other.as_mut(), 1000) == after,
            "{id}: restored run diverged"
        );
    }
}

/// Continues from the current state (no seeding reset) with a fixed policy.
fn play_on(env: &mut dyn Env, steps: usize) -> Vec<(Vec<f32>, Step)> {
    let mut policy = Pcg64::seed_from_u64(77);
    let mut obs = obs_buf(env);
    let mut frames = vec![];
    for _ in 0..steps {
        let step = env.step(policy.random_range(0..env.num_actions()), &mut obs);
        frames.push((obs.clone(), step));
        if step.done() {
            env.reset(None, &mut obs);
        }
    }
    frames
}

#[test]
fn restore_refuses_foreign_or_damaged_snapshots() {
    let breakout = make("MinAtar/Breakout-v1").snapshot().expect("snapshot");
    let mut seaquest = make("MinAtar/Seaquest-v1");
    let err = seaquest.restore(&breakout).expect_err("foreign snapshot");
    assert!(matches!(err, EnvError::Snapshot { .. }));
    assert!(err.to_string().contains("MinAtar/Breakout-v1"), "{err}");

    let mut env = make("MinAtar/Breakout-v1");
    assert!(matches!(
        env.restore(b"not json"),
        Err(EnvError::Snapshot { .. })
    ));
    let text = String::from_utf8(breakout).expect("json");
    let damaged = text.replace("\"pos\":4", "\"pos\":12");
    assert_ne!(damaged, text);
    let err = env
        .restore(damaged.as_bytes())
        .expect_err("paddle off the board");
    assert!(err.to_string().contains("paddle off the board"), "{err}");
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn set_state_is_unsupported() {
    let mut env = make("MinAtar/Asterix-v1");
    let mut obs = obs_buf(env.as_ref());
    let err = env.set_state(&[0.0], &mut obs).expect_err("unsupported");
    assert!(matches!(
        err,
        EnvError::Unsupported {
            operation: "set_state",
            ..
        }
    ));
}

#[test]
fn stepping_a_finished_game_changes_nothing() {
    let mut env = make("MinAtar/Breakout-v1");
    let mut obs = obs_buf(env.as_ref());
    env.reset(Some(5), &mut obs);
    let mut step = env.step(0, &mut obs);
    while !step.done() {
        step = env.step(0, &mut obs);
    }
    assert!(step.terminated && !step.truncated);
    let before = obs.clone();
    let again = env.step(1, &mut obs);
    assert_eq!((again.reward, again.terminated), (0.0, true));
    // minatar returns before resolving the action: even the paddle stays.
    assert_eq!(obs, before);
}

/// Paddle column in a Breakout observation.
fn paddle(obs: &[f32]) -> i32 {
    (0..10)
        .find(|&x| obs[90 + x] == 1.0)
        .expect("one paddle cell") as i32
}

const NOOP: usize = 0;
const LEFT: usize = 1;
const RIGHT: usize = 2;

/// Fraction of steps whose played action (read off the paddle) differs from the chosen one,
/// always choosing an action other than the last one played so that a repeat is visible.
fn sticky_rate(options: Options, steps: usize) -> f64 {
    let mut env = minatar::make_with("MinAtar/Breakout-v1", options).expect("registered");
    let mut obs = vec![0.0; 400];
    env.reset(Some(21), &mut obs);
    // minatar starts with last_action = no-op.
    let mut last = Some(NOOP);
    let (mut trials, mut repeats) = (0u32, 0u32);
    for _ in 0..steps {
        let before = paddle(&obs);
        let chosen = match last {
            Some(LEFT) => RIGHT,
            Some(RIGHT) => LEFT,
            _ if before < 5 => RIGHT,
            _ => LEFT,
        };
        let step = env.step(chosen, &mut obs);
        // Off the walls, the paddle's move tells which action was played.
        let played = (1..=8)
            .contains(&before)
            .then(|| match paddle(&obs) - before {
                -1 => LEFT,
                1 => RIGHT,
                _ => NOOP,
            });
        if let (Some(prev), Some(p)) = (last, played) {
            trials += 1;
            if p != chosen {
                assert_eq!(
                    p, prev,
                    "a step played neither the chosen nor the last action"
                );
                repeats += 1;
            }
        }
        last = played;
        if step.done() {
            // The last action played carries over the reset, as in minatar.
            env.reset(None, &mut obs);
        }
    }
    assert!(
        trials as usize > steps * 9 / 10,
        "too few identifiable steps: {trials}"
    );
    repeats as f64 / trials as f64
}

#[test]
fn sticky_actions_repeat_one_step_in_ten() {
    let rate = sticky_rate(Options::default(), 200_000);
    // Standard error sqrt(0.09 / 2e5) ≈ 0.00067.
    assert!((rate - 0.1).abs() < 0.004, "sticky rate {rate}");
    let off = Options {
        sticky_action_prob: 0.0,
        ..Options::default()
    };
    assert_eq!(sticky_rate(off, 20_000), 0.0);
}

#[test]
fn always_sticky_keeps_playing_the_first_action() {
    let always = Options {
        sticky_action_prob: 1.0,
        ..Options::default()
    };
    let mut env = minatar::make_with("MinAtar/SpaceInvaders-v1", always).expect("registered");
    let mut obs = vec![0.0; 600];
    env.reset(Some(1), &mut obs);
    for _ in 0..50 {
        let step = env.step(LEFT, &mut obs);
        assert_eq!(cells(&obs, 0), vec![(9, 5)], "the cannon never moves");
        assert!(cells(&obs, 4).is_empty(), "and never fires");
        if step.done() {
            break;
        }
    }
}

#[test]
fn ramping_can_be_switched_off() {
    // Asterix speeds up only from frame 102 of an episode: with and without ramping, runs agree
    // until then and part later.
    let run = |ramping: bool| {
        let options = Options {
            difficulty_ramping: ramping,
            ..Options::default()
        };
        play(
            minatar::make_with("MinAtar/Asterix-v1", options)
                .expect("registered")
                .as_mut(),
            4,
            5000,
        )
    };
    let (on, off) = (run(true), run(false));
    assert!(on[..101] == off[..101]);
    assert!(on != off);
}
