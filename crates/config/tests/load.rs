//! Loading: file and syntax errors, key errors naming the dotted key, overrides, round trip.

use sparq_config::{Activation, Config, ConfigError, Device};
use sparq_prune::{ScheduleKind, StepSpec};
use std::path::Path;

fn load(text: &str, overrides: &[&str]) -> Result<Config, ConfigError> {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    Config::from_toml_str(text, "configs/x.toml", &overrides)
}

fn err(text: &str, overrides: &[&str]) -> String {
    match load(text, overrides) {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "multi-line error: {msg}");
            msg
        }
    }
}

#[test]
fn empty_text_gives_the_defaults() {
    assert_eq!(load("", &[]).unwrap(), Config::default());
}

#[test]
fn values_from_the_file_are_read() {
    let c = load(
        "[run]\nseed = 7\ndevice = \"cuda\"\n[network]\nhidden = [32]\nactivation = \"leaky_relu\"\n\
         [prune]\nschedule = \"polynomial\"\nstart = 100\nend = 0.5\n",
        &[],
    )
    .unwrap();
    assert_eq!(c.run.seed, 7);
    assert_eq!(c.run.device, Device::Cuda);
    assert_eq!(c.network.hidden, vec![32]);
    assert_eq!(c.network.activation, Activation::LeakyRelu);
    assert_eq!(c.prune.schedule, ScheduleKind::Polynomial);
    assert_eq!(c.prune.start, StepSpec::Step(100));
    assert_eq!(c.prune.end, StepSpec::Fraction(0.5));
    // Untouched keys keep their defaults.
    assert_eq!(c.agent, Config::default().agent);
}

#[test]
fn integer_is_accepted_for_a_float_key() {
    assert_eq!(load("[agent]\ngamma = 1\n", &[]).unwrap().agent.gamma, 1.0);
}

#[test]
fn missing_file_names_the_file() {
    let e = Config::load(Path::new("/nonexistent/sparq.toml"), &[]).unwrap_err();
    assert!(matches!(e, ConfigError::Io { .. }));
    let msg = e.to_string();
    assert!(
        msg.starts_with("/nonexistent/sparq.toml: cannot read config file: "),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
}

#[test]
fn load_reads_a_real_file_and_names_it_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.toml");
    std::fs::write(&path, "[agent]\ngamma = 0.5\n").unwrap();
    let c = Config::load(&path, &["agent.lr=0.01".to_owned()]).unwrap();
    assert_eq!((c.agent.gamma, c.agent.lr), (0.5, 0.01));

    std::fs::write(&path, "[agent]\nbatch_size = \"a\"\n").unwrap();
    let msg = Config::load(&path, &[]).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!(
            "{}: agent.batch_size: invalid type: string \"a\", expected usize",
            path.display()
        )
    );
}

#[test]
fn syntax_error_gives_file_line_col_on_one_line() {
    let msg = err("[run]\nseed = 1\ntotal_steps = = 3\n", &[]);
    assert!(msg.starts_with("configs/x.toml:3:15: "), "{msg}");
    let e = load("[run]\nseed = 1\ntotal_steps = = 3\n", &[]).unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::Syntax {
                line: 3,
                col: 15,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn syntax_error_column_counts_characters_not_bytes() {
    // "é" is two bytes; the bad token `x` is the 10th character (11th byte) of line 2.
    let e = load("[env]\nid = \"é\" x\n", &[]).unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::Syntax {
                line: 2,
                col: 10,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn duplicate_key_is_a_syntax_error() {
    let msg = err("[agent]\nlr = 1.0\nlr = 2.0\n", &[]);
    assert!(msg.starts_with("configs/x.toml:3:"), "{msg}");
}

#[test]
fn wrong_type_names_the_dotted_key() {
    assert_eq!(
        err("[agent]\nbatch_size = \"a\"\n", &[]),
        "configs/x.toml: agent.batch_size: invalid type: string \"a\", expected usize"
    );
    assert_eq!(
        err("[network]\nhidden = [64, \"x\"]\n", &[]),
        "configs/x.toml: network.hidden[1]: invalid type: string \"x\", expected usize"
    );
    assert_eq!(
        err("[log]\neval_episodes = -1\n", &[]),
        "configs/x.toml: log.eval_episodes: invalid value: integer `-1`, expected u32"
    );
    assert_eq!(
        err("agent = 3\n", &[]),
        "configs/x.toml: agent: invalid type: integer `3`, expected struct AgentConfig"
    );
}

#[test]
fn unknown_key_in_each_section_lists_the_known_keys() {
    assert_eq!(
        err("[run]\nsead = 1\n", &[]),
        "configs/x.toml: run: unknown key 'sead' (known: seed, total_steps, device, torch_threads, allow_large_memory)"
    );
    assert_eq!(
        err("[env]\nname = \"x\"\n", &[]),
        "configs/x.toml: env: unknown key 'name' (known: id, num_envs, python, python_module)"
    );
    let msg = err("[agent]\ngama = 0.9\n", &[]);
    assert!(
        msg.starts_with(
            "configs/x.toml: agent: unknown key 'gama' (known: gamma, lr, lr_schedule, lr_final, optimizer, "
        ),
        "{msg}"
    );
    assert!(msg.ends_with("per_beta0, per_eps)"), "{msg}");
    assert_eq!(
        err("[network]\nlayers = [1]\n", &[]),
        "configs/x.toml: network: unknown key 'layers' (known: hidden, activation, conv_channels, width_multiplier)"
    );
    let msg = err("[prune]\nsparsity = 0.5\n", &[]);
    assert!(
        msg.starts_with(
            "configs/x.toml: prune: unknown key 'sparsity' (known: schedule, target_sparsity, "
        ),
        "{msg}"
    );
    let msg = err("[log]\ninterval = 5\n", &[]);
    assert!(
        msg.starts_with("configs/x.toml: log: unknown key 'interval' (known: log_interval, "),
        "{msg}"
    );
}

#[test]
fn unknown_key_named_like_its_section_is_still_reported_under_the_section() {
    assert!(
        err("[agent]\nagent = 1\n", &[])
            .starts_with("configs/x.toml: agent: unknown key 'agent' (known: gamma,")
    );
}

#[test]
fn unknown_section_lists_the_sections() {
    assert_eq!(
        err("[trainer]\nlr = 1\n", &[]),
        "configs/x.toml: unknown section 'trainer' (known: run, env, agent, network, prune, log)"
    );
}

#[test]
fn unknown_enum_value_lists_the_allowed_ones() {
    assert_eq!(
        err("[run]\ndevice = \"gpu\"\n", &[]),
        "configs/x.toml: run.device: unknown value 'gpu' (allowed: auto, cpu, cuda)"
    );
    assert_eq!(
        err("[agent]\noptimizer = \"sgd\"\n", &[]),
        "configs/x.toml: agent.optimizer: unknown value 'sgd' (allowed: adam, rmsprop_centered)"
    );
}

#[test]
fn overrides_parse_toml_values() {
    let c = load(
        "[network]\nhidden = [8]\n",
        &[
            "network.hidden=[64,64,32]",
            "agent.lr=1e-3",
            "agent.double=true",
            "run.total_steps=50_000",
            "agent.gamma = 0.9",
            "env.id=\"quoted\"",
            "network.width_multiplier=2",
        ],
    )
    .unwrap();
    assert_eq!(c.network.hidden, vec![64, 64, 32]);
    assert_eq!(c.agent.lr, 1e-3);
    assert!(c.agent.double);
    assert_eq!(c.run.total_steps, 50_000);
    assert_eq!(c.agent.gamma, 0.9);
    assert_eq!(c.env.id, "quoted");
    assert_eq!(c.network.width_multiplier, 2.0);
}

#[test]
fn override_that_is_not_toml_is_a_plain_string() {
    let c = load(
        "",
        &[
            "env.id=Acrobot-v1",
            "run.device=cpu",
            "network.activation=gelu",
        ],
    )
    .unwrap();
    assert_eq!(c.env.id, "Acrobot-v1");
    assert_eq!(c.run.device, Device::Cpu);
    assert_eq!(c.network.activation, Activation::Gelu);
    let c = load("", &["env.id=MinAtar/Breakout-v1"]).unwrap();
    assert_eq!(c.env.id, "MinAtar/Breakout-v1");
}

#[test]
fn overrides_apply_in_order_and_win_over_the_file() {
    let c = load("[agent]\nlr = 0.5\n", &["agent.lr=0.1", "agent.lr=0.2"]).unwrap();
    assert_eq!(c.agent.lr, 0.2);
}

#[test]
fn override_reaches_the_prune_section() {
    let c = load(
        "",
        &[
            "prune.schedule=one_shot",
            "prune.start=0.5",
            "prune.end=900",
        ],
    )
    .unwrap();
    assert_eq!(c.prune.schedule, ScheduleKind::OneShot);
    assert_eq!(c.prune.start, StepSpec::Fraction(0.5));
    assert_eq!(c.prune.end, StepSpec::Step(900));
}

#[test]
fn malformed_overrides_are_named() {
    assert_eq!(
        err("", &["agent.lr"]),
        "override 'agent.lr': expected section.key=value (no '=')"
    );
    assert_eq!(
        err("", &["lr=1"]),
        "override 'lr=1': key 'lr' needs a section, as in agent.lr=1e-3 (sections: run, env, agent, network, prune, log)"
    );
    assert_eq!(
        err("", &["trainer.lr=1"]),
        "override 'trainer.lr=1': unknown section 'trainer' (known: run, env, agent, network, prune, log)"
    );
    assert_eq!(
        err("", &["agent..lr=1"]),
        "override 'agent..lr=1': '' is not a key name (letters, digits, '_' and '-' only)"
    );
    assert_eq!(
        err("[agent]\ngamma = 0.9\n", &["agent.gamma.x=1"]),
        "override 'agent.gamma.x=1': 'agent.gamma' is a float, not a table"
    );
}

#[test]
fn override_with_unknown_key_or_bad_value_is_named() {
    let msg = err("", &["agent.gama=0.9"]);
    assert!(
        msg.starts_with("override 'agent.gama=0.9': agent: unknown key 'gama' (known: gamma, lr,"),
        "{msg}"
    );
    assert_eq!(
        err("", &["agent.batch_size=abc"]),
        "override 'agent.batch_size=abc': agent.batch_size: invalid type: string \"abc\", expected usize"
    );
    let msg = err("", &["agent.gamma.x=1"]);
    assert!(
        msg.starts_with("override 'agent.gamma.x=1': agent.gamma: invalid type: map"),
        "{msg}"
    );
    // The file's own error is blamed on the file, not on an unrelated override.
    assert_eq!(
        err("[agent]\nbatch_size = \"a\"\n", &["agent.lr=0.1"]),
        "configs/x.toml: agent.batch_size: invalid type: string \"a\", expected usize"
    );
}

#[test]
fn to_toml_string_round_trips_and_lists_every_key() {
    let mut c = Config::default();
    c.run.seed = 123;
    c.run.device = Device::Cpu;
    c.env.id = "MinAtar/Breakout-v1".to_owned();
    c.agent.lr = 6.25e-5;
    c.agent.adam_eps = 1.5e-4 / 32.0;
    c.agent.gamma = 0.1 + 0.2; // not exactly representable as a short decimal
    c.network.hidden = vec![];
    c.network.activation = Activation::LeakyRelu;
    c.prune.schedule = ScheduleKind::Polynomial;
    c.prune.start = StepSpec::Fraction(1.0); // must come back a float, not the integer 1
    c.prune.end = StepSpec::Step(5000);
    c.prune.include = vec!["q.0".to_owned()];
    let text = c.to_toml_string().unwrap();
    assert_eq!(load(&text, &[]).unwrap(), c, "{text}");
    for key in [
        "seed = 123",
        "torch_threads = 1",
        "save_replay = true",
        "start = 1.0",
        "end = 5000",
    ] {
        assert!(text.contains(key), "missing '{key}' in:\n{text}");
    }
    let d = Config::default();
    assert_eq!(load(&d.to_toml_string().unwrap(), &[]).unwrap(), d);
}

#[test]
fn errors_quoting_user_text_stay_on_one_line() {
    let e = Config::from_toml_str("[agent]\n\"ga\\nma\" = 1\n", "x.toml", &[])
        .unwrap_err()
        .to_string();
    assert_eq!(e.lines().count(), 1, "{e}");
    let e = Config::from_toml_str("", "x.toml", &["agent.x\ny=1".to_string()])
        .unwrap_err()
        .to_string();
    assert_eq!(e.lines().count(), 1, "{e}");
}
