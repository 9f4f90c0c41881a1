//! The DQN agent on libtorch: Q-networks over one flat parameter tensor, the learner with masked
//! updates, and a plain-Rust forward pass for acting and evaluation.

mod device;
mod host;
mod learner;
mod mlp;
mod net;
mod optim;
mod pruning;

pub use device::{select_device, set_threads};
pub use host::{HostPolicy, Scratch, argmax};
pub use learner::{BatchRef, Learner, TrainStats};
pub use net::{Layer, LayerKind, Layout, NetSpec, forward, init_params};
pub use pruning::{WeightCensus, flat_mask, layer_infos, layer_scores};

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
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}
