//! Automatic per-layer sparsity (`sparq prune --search dqn`): AMC (He et al. 2018) on sparq's
//! own pieces. [`alloc`] holds the budget rule and layerwise pruning, [`env`] the compression
//! environment on the `Env` trait, [`search`] the DQN that learns it.

pub mod alloc;
pub mod env;
pub mod search;
