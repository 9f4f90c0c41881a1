//! Replay buffers for DQN: compact per-env frame rings (each observation stored once), n-step
//! returns cut at episode ends, uniform or prioritized (sum tree) sampling into reusable batches,
//! and binary snapshots. See `docs/replay.md` for the layout.

mod batch;
mod buffer;
mod config;
mod error;
mod frames;
mod sample;
mod snapshot;
mod sum_tree;

pub use batch::Batch;
pub use buffer::ReplayBuffer;
pub use config::{MAX_CAPACITY, MAX_N_STEP, ObsEncoding, PerParams, ReplayConfig};
pub use error::ReplayError;
pub use sum_tree::SumTree;
