//! Native Rust reinforcement-learning environments with Gymnasium's step semantics.
//!
//! Every environment writes its observation into a caller-owned `f32` slice, so stepping never
//! allocates. Classic-control environments follow Gymnasium 1.4.0 to the last float; MinAtar games
//! follow the `minatar` 1.0.15 package.

mod error;
mod registry;
mod serde_exact;
mod vector;

pub mod classic;
pub mod minatar;

pub use error::EnvError;
pub use registry::{EnvSpec, make, registered_ids, spec};
pub use vector::{EpisodeStats, Parallelism, VecEnv, VecStep};

/// What an observation looks like; the Q-network is chosen from this.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ObsSpace {
    /// A flat vector of `dim` floats (classic control).
    Vector { dim: usize },
    /// `channels` binary planes of `height × width`, values 0.0 or 1.0, channel-major (MinAtar).
    Binary {
        channels: usize,
        height: usize,
        width: usize,
    },
}

impl ObsSpace {
    /// Number of `f32` values in one observation.
    pub fn len(&self) -> usize {
        match *self {
            ObsSpace::Vector { dim } => dim,
            ObsSpace::Binary {
                channels,
                height,
                width,
            } => channels * height * width,
        }
    }

    /// Tensor shape of one observation (without a batch dimension).
    pub fn shape(&self) -> Vec<usize> {
        match *self {
            ObsSpace::Vector { dim } => vec![dim],
            ObsSpace::Binary {
                channels,
                height,
                width,
            } => vec![channels, height, width],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Outcome of one `step`: Gymnasium's (reward, terminated, truncated); the observation goes to the
/// caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub reward: f32,
    /// The episode reached a terminal state of the MDP: do not bootstrap.
    pub terminated: bool,
    /// The episode was cut by a time limit: bootstrap from the returned observation.
    pub truncated: bool,
}

impl Step {
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// A single environment with a discrete action space.
///
/// After a step that is `done()`, the caller must `reset` before stepping again.
pub trait Env: Send {
    /// Registered id, e.g. `CartPole-v1` or `MinAtar/Breakout-v1`.
    fn id(&self) -> &str;
    fn obs_space(&self) -> ObsSpace;
    fn num_actions(&self) -> usize;
    /// Time limit in steps (Gymnasium's `max_episode_steps`), if any.
    fn max_episode_steps(&self) -> Option<u32>;

    /// Starts a new episode. `Some(seed)` reseeds the environment's generator first (as Gymnasium's
    /// `reset(seed=...)`); `None` continues its stream.
    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]);

    /// Applies `action` (in `0..num_actions()`), writes the next observation into `obs`.
    fn step(&mut self, action: usize, obs: &mut [f32]) -> Step;

    /// Overwrites the physical state right after `reset` (classic control: the state variables in
    /// Gymnasium's order) and writes the matching observation. Used for parity checks and
    /// `sparq env replay`.
    fn set_state(&mut self, state: &[f64], obs: &mut [f32]) -> Result<(), EnvError>;

    /// Serialises everything needed to continue exactly where the environment is (including its
    /// random generator), for resumable checkpoints.
    fn snapshot(&self) -> Result<Vec<u8>, EnvError>;
    fn restore(&mut self, snapshot: &[u8]) -> Result<(), EnvError>;
}
