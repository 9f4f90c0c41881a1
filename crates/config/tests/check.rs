//! Validation: every range check, each with its exact one-line message.

use sparq_config::{Config, ConfigError};

/// The message `check` gives after `edit` is applied to the defaults.
fn check_err(edit: impl FnOnce(&mut Config)) -> String {
    let mut c = Config::default();
    edit(&mut c);
    match c.check() {
        Ok(_) => panic!("expected a check error for {c:?}"),
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "multi-line error: {msg}");
            msg
        }
    }
}

#[test]
fn defaults_and_the_reference_config_pass() {
    let checked = Config::default().check().unwrap();
    assert_eq!(checked.config(), &Config::default());
    assert!(!checked.prune().is_enabled());
}

#[test]
fn run_and_env_ranges() {
    assert_eq!(
        check_err(|c| c.run.total_steps = 0),
        "run.total_steps = 0 is out of range: allowed 1..=2^53"
    );
    assert_eq!(
        check_err(|c| c.run.total_steps = (1 << 53) + 1),
        "run.total_steps = 9007199254740993 is out of range: allowed 1..=2^53"
    );
    assert_eq!(
        check_err(|c| c.env.id = " ".into()),
        "env.id = \"\" must name an environment"
    );
    assert_eq!(
        check_err(|c| c.env.num_envs = 0),
        "env.num_envs = 0 is out of range: allowed 1..=4096"
    );
    assert_eq!(
        check_err(|c| c.env.num_envs = 4097),
        "env.num_envs = 4097 is out of range: allowed 1..=4096"
    );
}

#[test]
fn agent_float_ranges() {
    type Edit = Box<dyn FnOnce(&mut Config)>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|c| c.agent.gamma = 1.5),
            "agent.gamma = 1.5 is out of range: allowed [0, 1]",
        ),
        (
            Box::new(|c| c.agent.gamma = -0.1),
            "agent.gamma = -0.1 is out of range: allowed [0, 1]",
        ),
        (
            Box::new(|c| c.agent.gamma = f64::NAN),
            "agent.gamma = NaN is out of range: allowed [0, 1]",
        ),
        (
            Box::new(|c| c.agent.lr = -0.001),
            "agent.lr = -0.001 must be > 0 and finite",
        ),
        (
            Box::new(|c| c.agent.lr = 0.0),
            "agent.lr = 0.0 must be > 0 and finite",
        ),
        (
            Box::new(|c| c.agent.lr = f64::INFINITY),
            "agent.lr = inf must be > 0 and finite",
        ),
        (
            Box::new(|c| c.agent.lr_final = 0.5),
            "agent.lr_final = 0.5 is out of range: allowed [0, agent.lr (0.0001)]",
        ),
        (
            Box::new(|c| c.agent.lr_final = -1e-4),
            "agent.lr_final = -0.0001 is out of range: allowed [0, agent.lr (0.0001)]",
        ),
        (
            Box::new(|c| c.agent.adam_eps = 0.0),
            "agent.adam_eps = 0.0 must be > 0 and finite",
        ),
        (
            Box::new(|c| c.agent.rmsprop_alpha = 1.0),
            "agent.rmsprop_alpha = 1.0 is out of range: allowed (0, 1)",
        ),
        (
            Box::new(|c| c.agent.rmsprop_alpha = 0.0),
            "agent.rmsprop_alpha = 0.0 is out of range: allowed (0, 1)",
        ),
        (
            Box::new(|c| c.agent.rmsprop_eps = -1e-9),
            "agent.rmsprop_eps = -1e-9 must be > 0 and finite",
        ),
        (
            Box::new(|c| c.agent.tau = 0.0),
            "agent.tau = 0.0 is out of range: allowed (0, 1] (1 = hard copy)",
        ),
        (
            Box::new(|c| c.agent.tau = 1.01),
            "agent.tau = 1.01 is out of range: allowed (0, 1] (1 = hard copy)",
        ),
        (
            Box::new(|c| c.agent.max_grad_norm = -1.0),
            "agent.max_grad_norm = -1.0 must be >= 0 and finite (0 = no clipping)",
        ),
        (
            Box::new(|c| c.agent.max_grad_norm = f64::NAN),
            "agent.max_grad_norm = NaN must be >= 0 and finite (0 = no clipping)",
        ),
        (
            Box::new(|c| c.agent.exploration_initial_eps = 1.1),
            "agent.exploration_initial_eps = 1.1 is out of range: allowed [0, 1]",
        ),
        (
            Box::new(|c| c.agent.exploration_final_eps = -0.5),
            "agent.exploration_final_eps = -0.5 is out of range: allowed [0, 1]",
        ),
        (
            Box::new(|c| c.agent.exploration_fraction = 2.0),
            "agent.exploration_fraction = 2.0 is out of range: allowed [0, 1]",
        ),
        (
            Box::new(|c| c.agent.per_alpha = 1.5),
            "agent.per_alpha = 1.5 is out of range: allowed [0, 1]",
        ),
        (
            Box::new(|c| c.agent.per_beta0 = -0.1),
            "agent.per_beta0 = -0.1 is out of range: allowed [0, 1]",
        ),
        (
            Box::new(|c| c.agent.per_eps = 0.0),
            "agent.per_eps = 0.0 must be > 0 and finite",
        ),
    ];
    for (edit, expected) in cases {
        assert_eq!(check_err(edit), expected);
    }
}

#[test]
fn agent_integer_ranges() {
    assert_eq!(
        check_err(|c| c.agent.batch_size = 0),
        "agent.batch_size = 0 is out of range: allowed 1..=buffer_size (100000)"
    );
    assert_eq!(
        check_err(|c| c.agent.batch_size = 100_001),
        "agent.batch_size = 100001 is out of range: allowed 1..=buffer_size (100000)"
    );
    assert_eq!(
        check_err(|c| c.agent.buffer_size = 0),
        "agent.buffer_size = 0 is out of range: allowed 1..=4294967296"
    );
    assert_eq!(
        check_err(|c| c.agent.train_freq = 0),
        "agent.train_freq = 0 is out of range: allowed >= 1"
    );
    assert_eq!(
        check_err(|c| c.agent.gradient_steps = 0),
        "agent.gradient_steps = 0 is out of range: allowed >= 1"
    );
    assert_eq!(
        check_err(|c| c.agent.target_update_interval = 0),
        "agent.target_update_interval = 0 is out of range: allowed >= 1"
    );
    assert_eq!(
        check_err(|c| c.agent.n_step = 0),
        "agent.n_step = 0 is out of range: allowed 1..=100"
    );
    assert_eq!(
        check_err(|c| c.agent.n_step = 101),
        "agent.n_step = 101 is out of range: allowed 1..=100"
    );
}

#[test]
fn a_run_that_never_trains_is_refused() {
    assert_eq!(
        check_err(|c| c.agent.learning_starts = 100_000),
        "agent.learning_starts = 100000 must be < run.total_steps (100000), else training never starts"
    );
    // learning_starts < total_steps, but no multiple of train_freq lies in (4, 5].
    assert_eq!(
        check_err(|c| {
            c.run.total_steps = 5;
            c.agent.learning_starts = 4;
            c.agent.train_freq = 10;
        }),
        "agent.train_freq = 10 has no multiple in (learning_starts, last env step] = (4, 5], so training never happens"
    );
    // With 3 envs the loop runs to t = 6, so the round at t = 6 exists and the run is valid.
    let mut c = Config::default();
    c.run.total_steps = 5;
    c.env.num_envs = 3;
    c.agent.learning_starts = 4;
    c.agent.train_freq = 6;
    c.agent.batch_size = 1;
    assert_eq!(c.check().unwrap().total_gradient_steps(), 1);
}

#[test]
fn gradient_step_overflow_is_refused() {
    assert_eq!(
        check_err(|c| {
            c.run.total_steps = 1 << 53;
            c.agent.train_freq = 1;
            c.agent.gradient_steps = u32::MAX;
        }),
        "agent.gradient_steps = 4294967295 makes more gradient steps than u64 counts with run.total_steps = 9007199254740992"
    );
}

#[test]
fn network_ranges() {
    assert_eq!(
        check_err(|c| c.network.hidden = vec![64, 0]),
        "network.hidden[1] = 0 is out of range: allowed 1..=65536"
    );
    assert_eq!(
        check_err(|c| c.network.conv_channels = vec![0]),
        "network.conv_channels[0] = 0 is out of range: allowed 1..=65536"
    );
    assert_eq!(
        check_err(|c| c.network.width_multiplier = 0.0),
        "network.width_multiplier = 0.0 is out of range: allowed (0, 64]"
    );
    // Empty lists are allowed: a linear Q-function, no conv layers.
    let mut c = Config::default();
    c.network.hidden.clear();
    c.network.conv_channels.clear();
    assert!(c.check().is_ok());
}

#[test]
fn log_ranges() {
    assert_eq!(
        check_err(|c| c.log.log_interval = 0),
        "log.log_interval = 0 is out of range: allowed >= 1"
    );
    assert_eq!(
        check_err(|c| c.log.eval_episodes = 0),
        "log.eval_episodes = 0 is out of range: allowed >= 1 when log.eval_interval > 0"
    );
    assert_eq!(
        check_err(|c| c.log.final_eval_episodes = 0),
        "log.final_eval_episodes = 0 is out of range: allowed >= 1"
    );
    // No periodic evaluation: eval_episodes is unused and may be 0.
    let mut c = Config::default();
    c.log.eval_interval = 0;
    c.log.eval_episodes = 0;
    assert!(c.check().is_ok());
}

#[test]
fn prune_errors_pass_through_resolved_against_the_gradient_step_count() {
    let mut c = Config::default();
    c.prune.target_sparsity = 1.0;
    let e = c.check().unwrap_err();
    assert!(matches!(e, ConfigError::Prune(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "prune.target_sparsity = 1 is out of range: allowed [0, 1)"
    );
}

#[test]
fn prune_fractions_resolve_against_total_gradient_steps() {
    // 20 env steps, learning_starts 5, train_freq 4, 2 updates a round: 8 gradient steps.
    let mut c = Config::default();
    c.run.total_steps = 20;
    c.agent.learning_starts = 5;
    c.agent.train_freq = 4;
    c.agent.gradient_steps = 2;
    c.agent.batch_size = 1;
    c.prune.schedule = sparq_prune::ScheduleKind::Polynomial;
    c.prune.start = sparq_prune::StepSpec::Fraction(0.25);
    c.prune.end = sparq_prune::StepSpec::Fraction(0.75);
    c.prune.frequency = 1;
    let checked = c.check().unwrap();
    assert_eq!(checked.prune().total_gradient_steps(), 8);
    assert_eq!(
        (checked.prune().start_step(), checked.prune().end_step()),
        (2, 6)
    );
}

#[test]
fn override_then_check_reports_the_range() {
    let c = Config::from_toml_str("", "x.toml", &["agent.gamma=1.5".to_owned()]).unwrap();
    assert_eq!(
        c.check().unwrap_err().to_string(),
        "--set agent.gamma=1.5: out of range: allowed [0, 1]"
    );
}

#[test]
fn learning_starts_leaves_the_first_update_a_complete_n_step_window() {
    assert_eq!(
        check_err(|c| {
            c.env.num_envs = 4;
            c.agent.n_step = 3;
            c.agent.learning_starts = 7;
        }),
        "agent.learning_starts = 7 must be >= env.num_envs * (agent.n_step - 1) = 8, so the first update has a complete 3-step transition"
    );
    let mut c = Config::default();
    (c.env.num_envs, c.agent.n_step, c.agent.learning_starts) = (4, 3, 8);
    c.check().unwrap();
    // One env, 1-step returns: training may start at once, as in SB3 (learning_starts = 0).
    (c.env.num_envs, c.agent.n_step, c.agent.learning_starts) = (1, 1, 0);
    c.check().unwrap();
}
