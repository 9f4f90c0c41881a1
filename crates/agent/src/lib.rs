//! The DQN agent on libtorch: the Q-network's tensor forward pass over one flat parameter tensor,
//! the learner with masked updates and its optimizers.

mod device;
mod learner;
mod mlp;
mod net;
mod optim;
mod pruning;

pub use device::{select_device, set_threads};
pub use learner::{BatchRef, Learner, TrainStats};
pub use net::{forward, init_params};
pub use pruning::{flat_mask, layer_infos, layer_scores, weight_slices};
// The plain-Rust network types, re-exported because the learner's API speaks them.
pub use sparq_policy::{
    HostPolicy, Layer, LayerKind, Layout, NetSpec, PolicyError, Scratch, argmax,
};

/// Errors of the agent; each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("libtorch: {}", first_line(&.0.to_string()))]
    Torch(#[from] tch::TchError),
    #[error("{0}")]
    Device(String),
    #[error("{0}")]
    Config(String),
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error(transparent)]
    Policy(#[from] sparq_policy::PolicyError),
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}
