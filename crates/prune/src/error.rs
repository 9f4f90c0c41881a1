//! The one error type of this crate. Every message is a single line naming the config key or
//! layer at fault and what would be accepted.

use thiserror::Error;

/// Everything that can go wrong while checking parameters, building a [`crate::Pruner`] or
/// computing masks.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PruneError {
    /// A number lies outside its allowed range.
    #[error("{key} = {value} is out of range: allowed {allowed}")]
    OutOfRange {
        key: String,
        value: String,
        allowed: String,
    },

    /// The schedule's end step is not after its start step.
    #[error("{end} must be after {start}")]
    EndNotAfterStart { start: String, end: String },

    /// An absolute step lies past the end of the run.
    #[error("{what} is beyond the run's {total} gradient steps")]
    BeyondRun { what: String, total: u64 },

    /// Iterative pruning needs one distinct gradient step per round.
    #[error(
        "prune.rounds = {rounds} needs at least {needed} gradient steps between prune.start (step {start}) and prune.end (step {end})"
    )]
    TooFewStepsForRounds {
        rounds: u32,
        needed: u64,
        start: u64,
        end: u64,
    },

    /// `initial_sparsity` was set for a schedule that does not use it.
    #[error(
        "prune.initial_sparsity = {value} only applies to schedule = \"polynomial\" or \"ste\" (schedule is \"{schedule}\"); set it to 0"
    )]
    InitialSparsityUnused { value: f64, schedule: String },

    /// A setting that the chosen schedule does not support.
    #[error("{setting} does not apply to schedule = \"{schedule}\": use {allowed}")]
    NotForSchedule {
        setting: String,
        schedule: String,
        allowed: String,
    },

    /// The same layer is both included and excluded.
    #[error("prune.include and prune.exclude both name layer '{layer}'")]
    IncludedAndExcluded { layer: String },

    /// `include` or `exclude` names a layer the network does not have.
    #[error("{key}: unknown layer '{name}'; layers are: {known}")]
    UnknownLayer {
        key: String,
        name: String,
        known: String,
    },

    /// A layer that must not lose whole units was named for neuron pruning.
    #[error(
        "prune.include: layer '{layer}' is not neuron-prunable (an output layer); remove it or use granularity = \"weight\""
    )]
    NotNeuronPrunable { layer: String },

    /// Pruning is on but include/exclude (and granularity) leave nothing to prune.
    #[error(
        "prune: no prunable layers remain after prune.include/prune.exclude; layers are: {known}"
    )]
    NoPrunableLayers { known: String },

    /// The layer list itself is malformed (duplicate name, empty shape, ...).
    #[error("layer '{layer}': {reason}")]
    BadLayer { layer: String, reason: String },

    /// The caller passed scores for the wrong number of layers.
    #[error("pruning scores given for {got} layers, but the pruner has {expected}")]
    ScoreCount { expected: usize, got: usize },

    /// A layer's score slice does not have one entry per weight.
    #[error(
        "pruning scores for layer '{layer}' have {got} entries, but the layer has {expected} weights"
    )]
    ScoreLength {
        layer: String,
        expected: usize,
        got: usize,
    },

    /// A mask does not have one entry per weight of its layer.
    #[error("mask for layer '{layer}' has {got} entries, but the layer has {expected} weights")]
    MaskLength {
        layer: String,
        expected: usize,
        got: usize,
    },

    /// A score was NaN, which has no place in an ordering.
    #[error("pruning score for layer '{layer}' is NaN at weight index {index}")]
    NanScore { layer: String, index: usize },

    /// An argument has the wrong length for the layer list or mask.
    #[error("{what} has length {got}, expected {expected}")]
    LengthMismatch {
        what: &'static str,
        expected: usize,
        got: usize,
    },

    /// More prunable weights than the selection keys can index.
    #[error("{count} prunable weights exceed the supported maximum of {max}")]
    TooManyWeights { count: usize, max: usize },

    /// Saved pruner state does not fit the network or is internally inconsistent.
    #[error("pruner state does not match: {reason}")]
    StateMismatch { reason: String },
}

impl PruneError {
    pub(crate) fn out_of_range(key: &str, value: impl ToString, allowed: impl ToString) -> Self {
        PruneError::OutOfRange {
            key: key.to_string(),
            value: value.to_string(),
            allowed: allowed.to_string(),
        }
    }

    pub(crate) fn state(reason: impl ToString) -> Self {
        PruneError::StateMismatch {
            reason: reason.to_string(),
        }
    }
}
