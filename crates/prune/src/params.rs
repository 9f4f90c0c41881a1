//! The raw `[prune]` section as written in a TOML config. It becomes usable only through
//! [`PruneParams::check`], which resolves it against the run length into a [`crate::PruneConfig`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::step::StepSpec;

/// How the target sparsity evolves over training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// No pruning: masks never change.
    #[default]
    None,
    /// Gradual pruning of Zhu & Gupta (2017) / TF-MOT `PolynomialDecay`, from `initial_sparsity`
    /// at `start` to `target_sparsity` at `end`, updating every `frequency` gradient steps.
    Polynomial,
    /// Prune straight to `target_sparsity` once, at `start`.
    OneShot,
    /// `rounds` evenly spaced rounds from `start` to `end`, each pruning the same fraction of
    /// the weights still alive.
    Iterative,
    /// A random mask at `target_sparsity` from initialisation (step 0), never changed.
    Static,
    /// Sparse Evolutionary Training (Mocanu et al. 2018): a random sparse mask from
    /// initialisation; every `frequency` gradient steps from `start` to `end`, each layer drops
    /// its `drop_fraction` smallest-magnitude active weights and grows as many at random.
    Set,
    /// RigL (Evci et al. 2020): as `set`, but the connections grown are those with the largest
    /// dense gradient magnitude on the update step's batch.
    Rigl,
    /// Straight-through estimator: the forward pass uses the top-k weights by magnitude, the
    /// gradient updates all of them, and the top-k is recomputed every gradient step. The
    /// sparsity follows the polynomial schedule.
    Ste,
}

impl ScheduleKind {
    /// Dynamic sparse training: sparse from initialisation, the mask rewired during training.
    pub fn is_dynamic(self) -> bool {
        matches!(self, ScheduleKind::Set | ScheduleKind::Rigl)
    }

    /// Sparse from the first gradient step: the mask is drawn at initialisation.
    pub fn is_sparse_from_start(self) -> bool {
        matches!(
            self,
            ScheduleKind::Static | ScheduleKind::Set | ScheduleKind::Rigl
        )
    }
}

/// How the fraction of connections that SET and RigL rewire decays over training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropSchedule {
    /// drop_fraction/2 · (1 + cos(π·(t − start)/(end − start))), as in RigL.
    #[default]
    Cosine,
    /// `drop_fraction` at every update.
    Constant,
}

/// Which weights compete with which for survival.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One threshold over all prunable weights: layers end up with different sparsities.
    #[default]
    Global,
    /// Every prunable layer is pruned to the same sparsity.
    Layerwise,
    /// Erdős–Rényi-Kernel allocation (Evci et al. 2020, RigL): per-layer density proportional
    /// to sum(shape) / product(shape), scaled so the overall sparsity hits the target.
    Erk,
}

/// What decides which weights go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Smallest |w| first (the caller passes |w| as scores).
    #[default]
    Magnitude,
    /// Uniformly random among the surviving weights (scores are ignored).
    Random,
    /// Smallest accumulated |w · ∂L/∂w| first (the caller accumulates and passes it).
    Saliency,
}

/// The unit of pruning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// Individual weights (unstructured).
    #[default]
    Weight,
    /// Whole output units: a row of the weight (`[out, in, ...]`), scored by its L2 norm.
    Neuron,
}

macro_rules! display_as_toml {
    ($ty:ty { $($variant:ident => $name:literal),* $(,)? }) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $(Self::$variant => $name),* })
            }
        }
    };
}
display_as_toml!(ScheduleKind { None => "none", Polynomial => "polynomial", OneShot => "one_shot",
    Iterative => "iterative", Static => "static", Set => "set", Rigl => "rigl", Ste => "ste" });
display_as_toml!(DropSchedule { Cosine => "cosine", Constant => "constant" });
display_as_toml!(Scope { Global => "global", Layerwise => "layerwise", Erk => "erk" });
display_as_toml!(Criterion { Magnitude => "magnitude", Random => "random", Saliency => "saliency" });
display_as_toml!(Granularity { Weight => "weight", Neuron => "neuron" });

impl Criterion {
    /// Whether [`crate::Pruner::update`] reads the caller's scores (false for `random`).
    pub fn needs_scores(self) -> bool {
        self != Criterion::Random
    }
}

/// The `[prune]` section of the config. All steps count GRADIENT steps (optimizer updates), not
/// environment steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PruneParams {
    /// Schedule shape; `none` (the default) disables pruning.
    pub schedule: ScheduleKind,
    /// Final fraction of prunable weights (or units) removed, in [0, 1).
    pub target_sparsity: f64,
    /// Sparsity at `start` for the polynomial schedule, in [0, target_sparsity].
    pub initial_sparsity: f64,
    /// First pruning step: a float is a fraction of training in [0, 1], an integer an absolute
    /// gradient step.
    pub start: StepSpec,
    /// Last pruning step (polynomial, iterative), same forms as `start`.
    pub end: StepSpec,
    /// Gradient steps between mask updates of the polynomial, set and rigl schedules (RigL's
    /// ΔT), ≥ 1.
    pub frequency: u64,
    /// Exponent of the polynomial schedule (3 in Zhu & Gupta), > 0.
    pub power: f64,
    /// Number of pruning rounds of the iterative schedule, ≥ 1.
    pub rounds: u32,
    /// set, rigl: fraction of each layer's active weights dropped and regrown at an update
    /// (before `drop_schedule` decays it), in (0, 1].
    pub drop_fraction: f64,
    /// set, rigl: how `drop_fraction` decays from `start` to `end`.
    pub drop_schedule: DropSchedule,
    /// How sparsity is shared among layers.
    pub scope: Scope,
    /// What ranks the weights.
    pub criterion: Criterion,
    /// Prune single weights or whole output units.
    pub granularity: Granularity,
    /// Layers to prune; empty means every prunable layer.
    pub include: Vec<String>,
    /// Layers never to prune.
    pub exclude: Vec<String>,
}

impl Default for PruneParams {
    /// The one place where the defaults live.
    fn default() -> Self {
        PruneParams {
            schedule: ScheduleKind::None,
            target_sparsity: 0.9,
            initial_sparsity: 0.0,
            start: StepSpec::Fraction(0.2),
            end: StepSpec::Fraction(0.8),
            frequency: 1000,
            power: 3.0,
            rounds: 5,
            drop_fraction: 0.3,
            drop_schedule: DropSchedule::Cosine,
            scope: Scope::Global,
            criterion: Criterion::Magnitude,
            granularity: Granularity::Weight,
            include: Vec::new(),
            exclude: Vec::new(),
        }
    }
}
