//! Errors of the replay crate: one line each, naming the offending input.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReplayError {
    #[error("replay config: {0}")]
    Config(String),
    #[error("replay add: `{name}` has length {got}, expected {expected}")]
    Length {
        name: &'static str,
        got: usize,
        expected: usize,
    },
    #[error(
        "replay add: env {env}: `{name}` value {value} at position {pos} is not 0 or 1 (Bits encoding)"
    )]
    NotBinary {
        env: usize,
        name: &'static str,
        pos: usize,
        value: f32,
    },
    #[error("replay add: env {env}: `{name}` value {value} at position {pos} is not finite")]
    NotFinite {
        env: usize,
        name: &'static str,
        pos: usize,
        value: f32,
    },
    #[error("replay add: env {env}: action {action} does not fit in u32")]
    ActionRange { env: usize, action: usize },
    #[error(
        "replay add: env {env}: `obs` differs from the previous call's `next_obs` although that step was not done"
    )]
    Discontinuity { env: usize },
    #[error(
        "replay sample: no valid transition to draw a batch of {requested} from ({available} stored)"
    )]
    NotEnough { requested: usize, available: usize },
    #[error("replay {0}")]
    Argument(String),
    #[error("replay snapshot: I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("replay snapshot: {0}")]
    Corrupt(String),
}
