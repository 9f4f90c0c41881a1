//! The Gymnasium bridge against real Gymnasium: the same MDP as the native CartPole to the last
//! float, and one clear line for each bad case. Needs a Python with gymnasium 1.4.0: `scripts/test`
//! exports SPARQ_GYM_PYTHON (the pinned venv of scripts/requirements/gymnasium.txt); without it
//! these tests say so and pass vacuously.

use std::path::{Path, PathBuf};

use sparq::{Config, RunOptions, Trainer};
use sparq_envs::VecEnv;

/// The worker settings are per process: these tests take turns.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn python() -> Option<String> {
    let py = std::env::var("SPARQ_GYM_PYTHON").ok();
    if py.is_none() {
        eprintln!("SPARQ_GYM_PYTHON is unset: Gymnasium bridge not checked (scripts/test sets it)");
    }
    py
}

fn use_python(py: &str, module: Option<&Path>) {
    sparq_envs::gymnasium::set_worker(sparq_envs::gymnasium::WorkerSettings {
        python: py.to_owned(),
        module: module.map(|m| m.display().to_string()),
    });
}

fn config(id: &str, py: &str, extra: &[&str]) -> sparq::CheckedConfig {
    let mut overrides: Vec<String> = [
        "run.total_steps=5000",
        "agent.learning_starts=1000",
        "network.hidden=[64,64]",
        "log.eval_interval=2500",
        "log.eval_episodes=3",
        "log.final_eval_episodes=5",
        "log.checkpoint_interval=2500",
    ]
    .map(String::from)
    .to_vec();
    overrides.push(format!("env.id=\"{id}\""));
    overrides.push(format!("env.python=\"{py}\""));
    overrides.extend(extra.iter().map(|s| s.to_string()));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/cartpole_dqn.toml");
    Config::load(&path, &overrides).unwrap().check().unwrap()
}

fn run(dir: &Path, cfg: sparq::CheckedConfig) -> anyhow::Result<sparq::Summary> {
    Trainer::new(
        cfg,
        RunOptions {
            run_dir: Some(dir.to_owned()),
            ..RunOptions::default()
        },
    )?
    .run()
}

#[test]
fn training_through_the_bridge_gives_the_native_runs_weights_bit_for_bit() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (native, bridge) = (tmp.path().join("native"), tmp.path().join("bridge"));
    let s_native = run(&native, config("CartPole-v1", &py, &["env.num_envs=2"])).unwrap();
    let s_bridge = run(
        &bridge,
        config("gymnasium:CartPole-v1", &py, &["env.num_envs=2"]),
    )
    .unwrap();
    let (a, _) = sparq_runstate::load(&native).unwrap();
    let (b, _) = sparq_runstate::load(&bridge).unwrap();
    assert_eq!(a.meta.env_steps, 5000);
    // Compared without printing: the vectors are long.
    assert!(
        a.tensors == b.tensors,
        "weights, target, masks or optimizer state differ"
    );
    assert_eq!(s_native.eval, s_bridge.eval);
    assert_eq!(a.meta.episodes, b.meta.episodes);
}

#[test]
fn observation_streams_match_the_native_env_over_10k_steps() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let Some(py) = python() else { return };
    use_python(&py, None);
    let mut native = sparq_envs::make("CartPole-v1").unwrap();
    let mut bridge = sparq_envs::make("gymnasium:CartPole-v1").unwrap();
    assert_eq!(bridge.max_episode_steps(), Some(500));
    let (mut o1, mut o2) = (vec![0f32; 4], vec![0f32; 4]);
    let mut seed = 3u64;
    native.reset(Some(seed), &mut o1);
    bridge.reset(Some(seed), &mut o2);
    for t in 0..10_000u64 {
        assert_eq!(o1, o2, "step {t}");
        let action = ((t * 2_654_435_761) >> 7) as usize % 2;
        let (s1, s2) = (native.step(action, &mut o1), bridge.step(action, &mut o2));
        assert_eq!(s1, s2, "step {t}");
        if s1.done() {
            // Alternate reseeded and continued resets, as training and evaluation do.
            seed += 1;
            let reseed = seed % 2 == 0;
            native.reset(reseed.then_some(seed), &mut o1);
            bridge.reset(reseed.then_some(seed), &mut o2);
        }
    }
}

fn bridge_error(py: &str, id: &str, module: Option<&Path>) -> String {
    use_python(py, module);
    let err = match VecEnv::new(id, 1) {
        Ok(_) => panic!("{id} should be refused"),
        Err(e) => e.to_string(),
    };
    assert!(!err.contains('\n'), "one line: {err}");
    err
}

#[test]
fn bad_cases_are_one_line_each_and_never_hang() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let Some(py) = python() else { return };
    let err = bridge_error("/nonexistent/python3", "gymnasium:CartPole-v1", None);
    assert!(
        err.contains("cannot start the Python interpreter '/nonexistent/python3'"),
        "{err}"
    );
    let err = bridge_error(&py, "gymnasium:NoSuchEnv-v0", None);
    assert!(
        err.contains("gymnasium.make('NoSuchEnv-v0') failed"),
        "{err}"
    );
    let err = bridge_error(&py, "gymnasium:Pendulum-v1", None);
    assert!(
        err.contains("action space Box") && err.contains("is not Discrete"),
        "{err}"
    );
    let err = bridge_error(&py, "gymnasium:Blackjack-v1", None);
    assert!(
        err.contains("observation space Tuple") && err.contains("is not a Box"),
        "{err}"
    );
    let err = bridge_error(
        "python3",
        "gymnasium:CartPole-v1",
        Some(Path::new("/nonexistent/envs.py")),
    );
    assert!(err.contains("cannot import"), "{err}");
}

/// A user's own Python environment class, registered by a module the config names, that dies
/// after `steps` steps.
fn dying_module(dir: &Path) -> PathBuf {
    let path = dir.join("user_envs.py");
    std::fs::write(
        &path,
        r#"
import os
import gymnasium as gym
import numpy as np

class Dying(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    action_space = gym.spaces.Discrete(2)
    def __init__(self):
        self.t = 0
    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(3, np.float32), {}
    def step(self, action):
        self.t += 1
        if self.t > 1800:
            os._exit(3)
        return np.full(3, 0.1 * action, np.float32), 1.0, self.t % 20 == 0, False, {}

gym.register("Dying-v0", entry_point=Dying)
"#,
    )
    .unwrap();
    path
}

#[test]
fn a_users_python_env_trains_and_a_dying_worker_stops_the_run_keeping_its_checkpoint() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let module = dying_module(tmp.path());
    let dir = tmp.path().join("run");
    let module_set = format!("env.python_module=\"{}\"", module.display());
    let cfg = config(
        "gymnasium:Dying-v0",
        &py,
        &[
            module_set.as_str(),
            "log.checkpoint_interval=1000",
            "log.eval_interval=0",
        ],
    );
    let err = run(&dir, cfg).unwrap_err().to_string();
    assert!(
        err.contains("gymnasium:Dying-v0: the Python worker exited mid-run"),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
    let (cp, _) = sparq_runstate::load(&dir).unwrap();
    assert_eq!(cp.meta.env_steps, 1000, "the last checkpoint is kept");
    assert!(!dir.join("summary.json").exists());
}
