//! Pruning math for sparq, free of libtorch: schedules, sparsity allocation across layers
//! (global, layerwise, ERK) and mask computation (magnitude, random, saliency; by weight or by
//! neuron).
//!
//! The training loop owns the network; at every gradient step it asks
//! [`Pruner::is_update_step`], and at update steps copies per-layer [`Scores`] out as `&[f32]`,
//! calls [`Pruner::update`] and multiplies the new masks into the weights (and keeps doing so
//! after every optimizer step, so pruned weights stay zero). One API covers gradual pruning
//! (polynomial, one_shot, iterative), sparse-from-scratch training (static, SET, RigL) and the
//! straight-through estimator (STE), as JaxPruner's does.
//!
//! The schedule clock is GRADIENT STEPS (optimizer updates), never environment steps.
//!
//! Parameters arrive raw as [`PruneParams`] (the `[prune]` TOML section) and become a
//! [`PruneConfig`] only through [`PruneParams::check`].

mod config;
mod erk;
mod error;
mod layer;
mod mask;
mod params;
mod pruner;
mod report;
mod rewire;
mod schedule;
mod select;
mod step;

pub use config::PruneConfig;
pub use erk::erk_densities;
pub use error::PruneError;
pub use layer::{LayerInfo, select_layers, validate_layers};
pub use mask::Mask;
pub use params::{Criterion, DropSchedule, Granularity, PruneParams, ScheduleKind, Scope};
pub use pruner::{Pruner, Scores};
pub use report::SparsityReport;
pub use rewire::MaskChanges;
pub use select::{MaskSpec, compute_masks};
pub use step::StepSpec;
