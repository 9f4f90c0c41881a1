//! `sparq-runtime`: runs policies exported by `sparq export --format policy` without libtorch.
//!
//! ```no_run
//! let mut policy = sparq_runtime::Policy::load("cartpole.sparq")?;
//! let action = policy.act(&[0.01, -0.02, 0.03, 0.04])?;
//! # Ok::<(), sparq_runtime::Error>(())
//! ```
//!
//! Each linear layer runs the kernel of the format it was stored in: dense or sparse, f32 or int8
//! (symmetric per-unit scales, f32 accumulation); convolutions run dense. Loading allocates all
//! scratch memory; [`Policy::q_values`], [`Policy::act`] and [`Policy::act_batch`] allocate
//! nothing. A C ABI over the same calls is in [`ffi`] and `include/sparq_runtime.h`.

pub mod calibrate;
mod error;
pub mod ffi;
pub mod format;
pub mod kernels;
mod policy;
pub mod quant;

pub use error::{Error, ErrorKind};
pub use format::{Activation, Csr, Format, LayerData, LayerKind, PolicyFile, Role, Weights};
pub use kernels::Isa;
pub use policy::{Kernels, LayerInfo, Options, Policy, SparseKernel, argmax};
