//! The training clock: rounds per vector step, the run's gradient-step count, epsilon.

use sparq_config::{CheckedConfig, Config};

fn checked(
    total: u64,
    num_envs: usize,
    learning_starts: u64,
    train_freq: u64,
    gradient_steps: u32,
) -> CheckedConfig {
    let mut c = Config::default();
    c.run.total_steps = total;
    c.env.num_envs = num_envs;
    c.agent.learning_starts = learning_starts;
    c.agent.train_freq = train_freq;
    c.agent.gradient_steps = gradient_steps;
    c.agent.batch_size = 1;
    c.check().unwrap()
}

/// The trainer's loop, written out: vector steps while t < total, rounds after each.
/// Returns the env-step counts at which each round happened, and the gradient steps made.
fn simulate(c: &CheckedConfig) -> (Vec<u64>, u64) {
    let cfg = c.config();
    let n = cfg.env.num_envs as u64;
    let (mut t, mut at, mut grads) = (0, Vec::new(), 0);
    while t < cfg.run.total_steps {
        let (t0, t1) = (t, t + n);
        t = t1;
        let rounds = c.train_rounds(t0, t1);
        at.extend(std::iter::repeat_n(t1, rounds as usize));
        grads += rounds * u64::from(cfg.agent.gradient_steps);
    }
    assert_eq!(t, c.final_env_step());
    (at, grads)
}

#[test]
fn one_env_trains_at_multiples_of_train_freq_after_learning_starts() {
    // Hand count: t = 1..=20, train when t % 4 == 0 and t > 5: t = 8, 12, 16, 20.
    let c = checked(20, 1, 5, 4, 2);
    assert_eq!(simulate(&c), (vec![8, 12, 16, 20], 8));
    assert_eq!(c.total_gradient_steps(), 8);
    assert_eq!(c.final_env_step(), 20);
}

#[test]
fn learning_starts_on_a_multiple_is_exclusive() {
    // SB3 trains once num_timesteps > learning_starts: t = 8 is not trained at, 12 and 16 are.
    let c = checked(16, 1, 8, 4, 1);
    assert_eq!(simulate(&c), (vec![12, 16], 2));
    assert_eq!(c.total_gradient_steps(), 2);
    // learning_starts = 0: every multiple from the first.
    let c = checked(10, 1, 0, 3, 1);
    assert_eq!(simulate(&c), (vec![3, 6, 9], 3));
}

#[test]
fn three_envs_can_owe_several_rounds_per_vector_step() {
    // t = 3, 6, ..., 21 (the last step overshoots 20). Multiples of 2 after learning_starts 5:
    // (3,6] -> 6; (6,9] -> 8; (9,12] -> 10, 12; (12,15] -> 14; (15,18] -> 16, 18; (18,21] -> 20.
    let c = checked(20, 3, 5, 2, 1);
    assert_eq!(simulate(&c), (vec![6, 9, 12, 12, 15, 18, 18, 21], 8));
    assert_eq!(c.total_gradient_steps(), 8);
    assert_eq!(c.final_env_step(), 21);
    // The step that crosses learning_starts counts only multiples past it: (5, 6] -> 6.
    assert_eq!(c.train_rounds(3, 6), 1);
    assert_eq!(c.train_rounds(0, 3), 0);
}

#[test]
fn more_envs_than_train_freq_with_gradient_steps() {
    // num_envs 4, train_freq 3, learning_starts 2, total 12, 3 updates a round:
    // (2,4] -> 3; (4,8] -> 6; (8,12] -> 9, 12: 4 rounds = 12 gradient steps.
    let c = checked(12, 4, 2, 3, 3);
    assert_eq!(simulate(&c), (vec![4, 8, 12, 12], 12));
    assert_eq!(c.total_gradient_steps(), 12);
}

#[test]
fn closed_form_matches_the_loop_on_a_grid() {
    for total in [1u64, 2, 7, 20, 33, 100] {
        for n in [1usize, 2, 3, 5, 8] {
            for ls in [0u64, 1, 4, 9] {
                for f in [1u64, 2, 3, 7] {
                    let mut c = Config::default();
                    c.run.total_steps = total;
                    c.env.num_envs = n;
                    c.agent.learning_starts = ls;
                    c.agent.train_freq = f;
                    c.agent.gradient_steps = 3;
                    c.agent.batch_size = 1;
                    let Ok(c) = c.check() else {
                        // Refused only when the loop would never train.
                        assert!(ls >= total || total.div_ceil(n as u64) * n as u64 / f <= ls / f);
                        continue;
                    };
                    assert_eq!(
                        simulate(&c).1,
                        c.total_gradient_steps(),
                        "total {total} n {n} ls {ls} f {f}"
                    );
                }
            }
        }
    }
}

#[test]
fn epsilon_decays_linearly_then_stays() {
    // total 1000, fraction 0.1: decay over t in [0, 100], from 1.0 to 0.05.
    let mut c = Config::default();
    c.run.total_steps = 1000;
    c.agent.learning_starts = 100;
    c.agent.learning_starts = 0;
    let c = c.check().unwrap();
    assert_eq!(c.epsilon_at(0), 1.0);
    assert!((c.epsilon_at(50) - 0.525).abs() < 1e-12);
    assert!((c.epsilon_at(25) - 0.7625).abs() < 1e-12);
    assert_eq!(c.epsilon_at(100), 0.05);
    assert_eq!(c.epsilon_at(101), 0.05);
    assert_eq!(c.epsilon_at(5000), 0.05);
}

#[test]
fn epsilon_with_zero_fraction_is_final_from_the_start() {
    let mut c = Config::default();
    c.run.total_steps = 1000;
    c.agent.learning_starts = 100;
    c.agent.learning_starts = 0;
    c.agent.exploration_fraction = 0.0;
    c.agent.exploration_final_eps = 0.1;
    let c = c.check().unwrap();
    assert_eq!(c.epsilon_at(0), 0.1);
}

#[test]
fn epsilon_can_increase_if_asked() {
    let mut c = Config::default();
    c.run.total_steps = 100;
    c.agent.learning_starts = 0;
    c.agent.exploration_initial_eps = 0.0;
    c.agent.exploration_final_eps = 1.0;
    c.agent.exploration_fraction = 1.0;
    let c = c.check().unwrap();
    assert!((c.epsilon_at(30) - 0.3).abs() < 1e-12);
}

#[test]
fn width_multiplier_rounds_with_a_floor_of_one() {
    let mut c = Config::default();
    c.network.hidden = vec![64, 3, 1];
    c.network.conv_channels = vec![16];
    c.network.width_multiplier = 0.25;
    assert_eq!(c.network.scaled_hidden(), vec![16, 1, 1]);
    assert_eq!(c.network.scaled_conv_channels(), vec![4]);
    c.network.width_multiplier = 1.5;
    assert_eq!(c.network.scaled_hidden(), vec![96, 5, 2]); // 4.5 rounds away from zero
}

#[test]
fn lr_schedules() {
    let mut c = sparq_config::Config::default();
    c.run.total_steps = 1000;
    c.agent.learning_starts = 100;
    c.agent.lr = 2e-3;
    let constant = c.check().unwrap();
    assert_eq!(constant.lr_at(0), 2e-3);
    assert_eq!(constant.lr_at(900), 2e-3);
    c.agent.lr_schedule = sparq_config::LrSchedule::Linear;
    let linear = c.check().unwrap();
    assert_eq!(linear.lr_at(0), 2e-3);
    assert!((linear.lr_at(250) - 1.5e-3).abs() < 1e-15);
    assert_eq!(linear.lr_at(1000), 0.0);
    c.agent.lr_final = 5e-4;
    let floored = c.check().unwrap();
    assert!((floored.lr_at(500) - 1.25e-3).abs() < 1e-15);
    assert_eq!(floored.lr_at(1000), 5e-4);
    assert_eq!(floored.lr_at(5000), 5e-4);
}
