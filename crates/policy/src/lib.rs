//! The Q-network without libtorch: its architecture ([`NetSpec`]), the layer table over one flat
//! parameter vector ([`Layout`]), a plain-Rust forward pass for acting and evaluation
//! ([`HostPolicy`]), the sparsity of its weights ([`Layout::weight_sparsity`]), and the
//! `[network]` config section it is built from ([`NetworkConfig`]).
//!
//! ```
//! use sparq_policy::{Activation, HostPolicy, NetSpec, Scratch};
//! use sparq_envs::ObsSpace;
//!
//! let spec = NetSpec {
//!     obs: ObsSpace::Vector { dim: 4 },
//!     num_actions: 2,
//!     conv_channels: vec![],
//!     hidden: vec![8],
//!     activation: Activation::Relu,
//!     dueling: false,
//! };
//! let n = spec.layout().numel;
//! let policy = HostPolicy::new(spec, vec![0.01; n])?;
//! let (mut scratch, mut q) = (Scratch::default(), Vec::new());
//! let action = policy.greedy(&[0.1, 0.0, -0.2, 0.3], &mut scratch, &mut q);
//! assert!(action < 2);
//! # Ok::<(), sparq_policy::PolicyError>(())
//! ```

mod census;
mod host;
mod net;
mod params;

pub use host::{HostPolicy, Scratch, argmax};
pub use net::{Layer, LayerKind, Layout, NetSpec};
pub use params::{Activation, MAX_WIDTH, MAX_WIDTH_MULTIPLIER, NetworkConfig};

/// A network spec or parameter vector that does not fit; displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{0}")]
    Spec(String),
    #[error("{0}")]
    Params(String),
}
