//! Native Rust reinforcement-learning environments with Gymnasium's step semantics.
//!
//! Every environment writes its observation into a caller-owned `f32` slice, so stepping never
//! allocates. Classic-control environments follow Gymnasium 1.4.0 to the last float; MinAtar games
//! follow the `minatar` 1.0.15 package. The `[env]` config section is [`EnvConfig`].

mod error;
pub mod gymnasium;
mod params;
mod registry;
mod serde_exact;
mod vector;

pub mod classic;
pub mod minatar;

pub use error::EnvError;
pub use params::{EnvConfig, MAX_NUM_ENVS};
pub use registry::{EnvFactory, EnvSpec, make, make_env, register_env, registered_ids, spec};
pub use vector::{EpisodeStats, Parallelism, VecEnv, VecStep};

/// What an observation looks like; the Q-network is chosen from this.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ObsSpace {
    /// A flat vector of `dim` floats (classic control).
    Vector { dim: usize },
    /// `channels` binary planes of `height × width`, values 0.0 or 1.0, channel-major (MinAtar);
    /// stored in replay as bits.
    Binary {
        channels: usize,
        height: usize,
        width: usize,
    },
    /// `channels × height × width` floats, channel-major (an image or any C×H×W tensor).
    Image {
        channels: usize,
        height: usize,
        width: usize,
    },
}

impl ObsSpace {
    /// Number of `f32` values in one observation.
    pub fn len(&self) -> usize {
        match self.planes() {
            Some((c, h, w)) => c * h * w,
            None => match *self {
                ObsSpace::Vector { dim } => dim,
                _ => 0,
            },
        }
    }

    /// `(channels, height, width)` of image-like observations (the Q-network convolves them).
    pub fn planes(&self) -> Option<(usize, usize, usize)> {
        match *self {
            ObsSpace::Vector { .. } => None,
            ObsSpace::Binary {
                channels,
                height,
                width,
            }
            | ObsSpace::Image {
                channels,
                height,
                width,
            } => Some((channels, height, width)),
        }
    }

    /// Tensor shape of one observation (without a batch dimension).
    pub fn shape(&self) -> Vec<usize> {
        match self.planes() {
            Some((c, h, w)) => vec![c, h, w],
            None => vec![self.len()],
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

/// A single environment with a discrete action space: implement this for your own simulator.
///
/// Training needs only the spaces, `reset` and `step`. The rest is optional: `max_episode_steps`
/// (a time limit applied by the environment itself), `set_state` (parity checks, `sparq env
/// replay`), and `snapshot`/`restore`, which make resumed runs exact; without them a run still
/// checkpoints and resumes, from fresh episodes.
///
/// After a step that is `done()`, the caller must `reset` before stepping again.
///
/// ```
/// use sparq_envs::{Env, ObsSpace, Step};
///
/// /// Walk right along a line of 8 cells; the episode ends at the last one.
/// struct Corridor { pos: usize }
///
/// impl Env for Corridor {
///     fn obs_space(&self) -> ObsSpace { ObsSpace::Vector { dim: 1 } }
///     fn num_actions(&self) -> usize { 2 }
///     fn reset(&mut self, _seed: Option<u64>, obs: &mut [f32]) {
///         self.pos = 0;
///         obs[0] = 0.0;
///     }
///     fn step(&mut self, action: usize, obs: &mut [f32]) -> Step {
///         self.pos = if action == 1 { self.pos + 1 } else { self.pos.saturating_sub(1) };
///         obs[0] = self.pos as f32 / 7.0;
///         Step { reward: -1.0, terminated: self.pos == 7, truncated: false }
///     }
/// }
/// sparq_envs::register_env("Corridor-v0", || Ok(Box::new(Corridor { pos: 0 })))?;
/// assert_eq!(sparq_envs::make_env("Corridor-v0")?.num_actions(), 2);
/// # Ok::<(), sparq_envs::EnvError>(())
/// ```
pub trait Env: Send {
    fn obs_space(&self) -> ObsSpace;
    fn num_actions(&self) -> usize;

    /// Starts a new episode. `Some(seed)` reseeds the environment's generator first (as Gymnasium's
    /// `reset(seed=...)`); `None` continues its stream.
    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]);

    /// Applies `action` (in `0..num_actions()`), writes the next observation into `obs`.
    fn step(&mut self, action: usize, obs: &mut [f32]) -> Step;

    /// The id it was registered as, e.g. `CartPole-v1`; used in messages.
    fn id(&self) -> &str {
        "custom environment"
    }

    /// Time limit in steps (Gymnasium's `max_episode_steps`), if the environment applies one.
    fn max_episode_steps(&self) -> Option<u32> {
        None
    }

    /// Overwrites the physical state right after `reset` (classic control: the state variables in
    /// Gymnasium's order) and writes the matching observation. Used for parity checks and
    /// `sparq env replay`.
    fn set_state(&mut self, _state: &[f64], _obs: &mut [f32]) -> Result<(), EnvError> {
        Err(EnvError::Unsupported {
            env: self.id().to_owned(),
            operation: "set_state",
        })
    }

    /// Whether `snapshot` and `restore` are implemented; checkpoints then carry the environment
    /// and resumed runs are exact.
    fn can_snapshot(&self) -> bool {
        false
    }

    /// Serialises everything needed to continue exactly where the environment is (including its
    /// random generator), for resumable checkpoints.
    fn snapshot(&self) -> Result<Vec<u8>, EnvError> {
        Err(EnvError::Unsupported {
            env: self.id().to_owned(),
            operation: "snapshot",
        })
    }

    fn restore(&mut self, _snapshot: &[u8]) -> Result<(), EnvError> {
        Err(EnvError::Unsupported {
            env: self.id().to_owned(),
            operation: "restore",
        })
    }

    /// Starts a step whose result [`Env::step_wait`] collects. Environments in other processes
    /// (the Gymnasium bridge) send the action here, so a vector of them steps in parallel; the
    /// default does nothing and `step_wait` steps.
    fn step_async(&mut self, _action: usize) -> Result<(), EnvError> {
        Ok(())
    }

    /// Finishes the step [`Env::step_async`] started with the same `action`.
    fn step_wait(&mut self, action: usize, obs: &mut [f32]) -> Result<Step, EnvError> {
        Ok(self.step(action, obs))
    }
}
