//! The registry: ids, `make`, specs and the unknown-id error.

use sparq_envs::{
    Env, EnvError, EnvSpec, ObsSpace, Step, make, register_env, registered_ids, spec,
};

#[test]
fn registered_ids_list_classic_then_minatar() {
    let ids = registered_ids();
    assert_eq!(&ids[..3], ["CartPole-v1", "Acrobot-v1", "MountainCar-v0"]);
    assert_eq!(
        &ids[3..3 + sparq_envs::minatar::IDS.len()],
        sparq_envs::minatar::IDS
    );
    for id in &ids[..3 + sparq_envs::minatar::IDS.len()] {
        assert_eq!(make(id).unwrap().id(), id);
    }
}

#[test]
fn unknown_id_names_every_known_id() {
    let Err(err) = make("cartpole") else {
        panic!("a lowercase id must not resolve")
    };
    assert!(matches!(err, EnvError::UnknownId { .. }));
    let msg = err.to_string();
    assert!(
        msg.starts_with("unknown environment id 'cartpole'; known ids: "),
        "{msg}"
    );
    for id in registered_ids() {
        assert!(msg.contains(&id), "{msg}");
    }
    assert!(!msg.contains('\n'));
}

#[test]
fn specs_of_classic_envs() {
    assert_eq!(
        spec("CartPole-v1").unwrap(),
        EnvSpec {
            id: "CartPole-v1".into(),
            max_episode_steps: Some(500),
            obs_space: ObsSpace::Vector { dim: 4 },
            num_actions: 2,
        }
    );
    assert_eq!(spec("Acrobot-v1").unwrap().max_episode_steps, Some(500));
    assert_eq!(spec("MountainCar-v0").unwrap().max_episode_steps, Some(200));
    assert!(spec("nope").is_err());
}

/// The smallest environment an outsider writes: spaces, reset and step, nothing optional.
struct Coin {
    flips: u32,
}

impl Env for Coin {
    fn obs_space(&self) -> ObsSpace {
        ObsSpace::Image {
            channels: 1,
            height: 2,
            width: 3,
        }
    }
    fn num_actions(&self) -> usize {
        2
    }
    fn reset(&mut self, _seed: Option<u64>, obs: &mut [f32]) {
        self.flips = 0;
        obs.fill(0.5);
    }
    fn step(&mut self, action: usize, obs: &mut [f32]) -> Step {
        self.flips += 1;
        obs.fill(action as f32);
        Step {
            reward: action as f32,
            terminated: false,
            truncated: self.flips == 4,
        }
    }
}

#[test]
fn a_registered_env_is_made_by_id_and_listed() {
    register_env("Coin-v0", || Ok(Box::new(Coin { flips: 0 }))).unwrap();
    let mut env = make("Coin-v0").unwrap();
    assert_eq!(env.obs_space().shape(), vec![1, 2, 3]);
    let mut obs = vec![0.0; 6];
    env.reset(Some(1), &mut obs);
    assert_eq!(env.step(1, &mut obs).reward, 1.0);
    assert_eq!(obs, vec![1.0; 6]);
    assert!(registered_ids().iter().any(|id| id == "Coin-v0"));
    assert_eq!(spec("Coin-v0").unwrap().num_actions, 2);
    // What it does not implement is refused in one line, not assumed.
    assert!(!env.can_snapshot());
    let err = env.snapshot().unwrap_err().to_string();
    assert!(err.ends_with("snapshot is not supported"), "{err}");
    // A vector of them steps and resets like the built-ins.
    let mut venv = sparq_envs::VecEnv::new("Coin-v0", 3).unwrap();
    venv.reset(7);
    for _ in 0..4 {
        venv.step(&[0, 1, 1]).unwrap();
    }
    assert!(venv.last_step().truncated.iter().all(|&t| t));
    assert!(!venv.can_snapshot());
}

#[test]
fn registering_refuses_builtin_duplicate_and_reserved_ids() {
    let coin = || -> Result<Box<dyn Env>, EnvError> { Ok(Box::new(Coin { flips: 0 })) };
    for (id, why) in [
        ("CartPole-v1", "built-in"),
        ("gymnasium:Coin-v0", "reserved"),
        (" padded", "non-empty without surrounding spaces"),
    ] {
        let err = register_env(id, coin).unwrap_err().to_string();
        assert!(err.contains(why), "{id}: {err}");
    }
    register_env("Twice-v0", coin).unwrap();
    let err = register_env("Twice-v0", coin).unwrap_err().to_string();
    assert!(err.contains("registered already"), "{err}");
}
