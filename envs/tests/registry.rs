//! The registry: ids, `make`, specs and the unknown-id error.

use sparq_envs::{EnvError, EnvSpec, ObsSpace, make, registered_ids, spec};

#[test]
fn registered_ids_list_classic_then_minatar() {
    let ids = registered_ids();
    assert_eq!(&ids[..3], ["CartPole-v1", "Acrobot-v1", "MountainCar-v0"]);
    assert_eq!(&ids[3..], sparq_envs::minatar::IDS);
    for id in ids {
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
        assert!(msg.contains(id), "{msg}");
    }
    assert!(!msg.contains('\n'));
}

#[test]
fn specs_of_classic_envs() {
    assert_eq!(
        spec("CartPole-v1").unwrap(),
        EnvSpec {
            id: "CartPole-v1",
            max_episode_steps: Some(500),
            obs_space: ObsSpace::Vector { dim: 4 },
            num_actions: 2,
        }
    );
    assert_eq!(spec("Acrobot-v1").unwrap().max_episode_steps, Some(500));
    assert_eq!(spec("MountainCar-v0").unwrap().max_episode_steps, Some(200));
    assert!(spec("nope").is_err());
}
