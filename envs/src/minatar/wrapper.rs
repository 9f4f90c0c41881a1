//! minatar's `Environment` wrapper with its Gymnasium `-v1` face: sticky actions, the minimal
//! action set, one generator for everything, and the `Env` trait.

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

use super::common::{Action, Game, Planes};
use crate::{Env, EnvError, ObsSpace, Step};

/// Generator seed used until the first `reset(Some(seed))`, so unseeded runs are reproducible.
const DEFAULT_SEED: u64 = 0;

/// How a MinAtar game is wrapped; the default is minatar's (and its `-v1` ids').
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Probability that a step repeats the previous action instead of the one chosen. As in
    /// minatar (`rand() < p`), values ≤ 0 never and values ≥ 1 always repeat.
    pub sticky_action_prob: f64,
    /// Whether games with a difficulty ramp (Asterix, Seaquest, Space Invaders) speed up.
    pub difficulty_ramping: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sticky_action_prob: 0.1,
            difficulty_ramping: true,
        }
    }
}

/// A game behind minatar's wrapper.
pub(crate) struct MinAtar<G> {
    game: G,
    rng: Pcg64,
    sticky_action_prob: f64,
    /// The action actually played last. minatar keeps it across resets, and so does this.
    last_action: Action,
}

/// The sticky probability goes as its bit pattern: serde_json's float parser may be an ulp off.
#[derive(Serialize)]
struct SnapshotRef<'a, G> {
    id: &'a str,
    sticky_action_prob_bits: u64,
    last_action: Action,
    rng: &'a Pcg64,
    game: &'a G,
}

/// Read first, so a snapshot of another game gets a clear error.
#[derive(Deserialize)]
struct SnapshotId {
    id: String,
}

#[derive(Deserialize)]
struct SnapshotOwned<G> {
    sticky_action_prob_bits: u64,
    last_action: Action,
    rng: Pcg64,
    game: G,
}

impl<G: Game> MinAtar<G> {
    pub(crate) fn new(options: Options) -> Self {
        let mut rng = Pcg64::seed_from_u64(DEFAULT_SEED);
        let mut game = G::new(options.difficulty_ramping);
        // minatar's Env constructor resets once, so stepping before `reset` plays a real game.
        game.reset(&mut rng);
        MinAtar {
            game,
            rng,
            sticky_action_prob: options.sticky_action_prob,
            last_action: Action::Noop,
        }
    }

    fn render(&self, obs: &mut [f32]) {
        let mut planes = Planes::new(obs, G::CHANNELS, G::ID);
        self.game.render(&mut planes);
    }
}

impl<G: Game> Env for MinAtar<G> {
    fn id(&self) -> &str {
        G::ID
    }

    fn obs_space(&self) -> ObsSpace {
        ObsSpace::Binary {
            channels: G::CHANNELS,
            height: 10,
            width: 10,
        }
    }

    fn num_actions(&self) -> usize {
        G::ACTIONS.len()
    }

    /// minatar registers its ids without a time limit (Freeway ends itself after 2500 frames).
    fn max_episode_steps(&self) -> Option<u32> {
        None
    }

    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        if let Some(seed) = seed {
            self.rng = Pcg64::seed_from_u64(seed);
        }
        self.game.reset(&mut self.rng);
        self.render(obs);
    }

    fn step(&mut self, action: usize, obs: &mut [f32]) -> Step {
        assert!(
            action < G::ACTIONS.len(),
            "{}: action {action} out of range, allowed 0..{}",
            G::ID,
            G::ACTIONS.len()
        );
        let mut played = G::ACTIONS[action];
        // The draw happens every step, as in minatar's Environment.act.
        if self.rng.random::<f64>() < self.sticky_action_prob {
            played = self.last_action;
        }
        self.last_action = played;
        let (reward, terminated) = self.game.act(played, &mut self.rng);
        self.render(obs);
        Step {
            reward: reward as f32,
            terminated,
            truncated: false,
        }
    }

    fn set_state(&mut self, _state: &[f64], _obs: &mut [f32]) -> Result<(), EnvError> {
        Err(EnvError::Unsupported {
            env: G::ID.to_string(),
            operation: "set_state",
        })
    }

    fn can_snapshot(&self) -> bool {
        true
    }

    fn snapshot(&self) -> Result<Vec<u8>, EnvError> {
        let snap = SnapshotRef {
            id: G::ID,
            sticky_action_prob_bits: self.sticky_action_prob.to_bits(),
            last_action: self.last_action,
            rng: &self.rng,
            game: &self.game,
        };
        serde_json::to_vec(&snap).map_err(|e| EnvError::snapshot(G::ID, e))
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), EnvError> {
        let unreadable =
            |e: serde_json::Error| EnvError::snapshot(G::ID, format!("unreadable snapshot: {e}"));
        let id: SnapshotId = serde_json::from_slice(snapshot).map_err(unreadable)?;
        if id.id != G::ID {
            return Err(EnvError::snapshot(
                G::ID,
                format!("snapshot is of '{}'", id.id),
            ));
        }
        let snap: SnapshotOwned<G> = serde_json::from_slice(snapshot).map_err(unreadable)?;
        snap.game
            .check()
            .map_err(|e| EnvError::snapshot(G::ID, e))?;
        self.game = snap.game;
        self.rng = snap.rng;
        self.sticky_action_prob = f64::from_bits(snap.sticky_action_prob_bits);
        self.last_action = snap.last_action;
        Ok(())
    }
}
