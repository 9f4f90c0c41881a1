//! The network as the pruner sees it: named weight tensors, and which of them may be pruned.

use serde::{Deserialize, Serialize};

use crate::error::PruneError;
use crate::params::Granularity;

/// One weight tensor. Dim 0 is the output units: Linear `[out, in]`, Conv `[out, in, kh, kw]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerInfo {
    pub name: String,
    pub shape: Vec<usize>,
    /// Whether whole output units may be removed (false for the network's output layer, whose
    /// units are the Q-values). Only matters for `granularity = "neuron"`.
    #[serde(default = "yes")]
    pub neuron_prunable: bool,
}

fn yes() -> bool {
    true
}

impl LayerInfo {
    /// A hidden layer: prunable by weight and by neuron.
    pub fn new(name: impl Into<String>, shape: impl Into<Vec<usize>>) -> Self {
        LayerInfo {
            name: name.into(),
            shape: shape.into(),
            neuron_prunable: true,
        }
    }

    /// The network's output layer: weights may be pruned, whole units never.
    pub fn output(name: impl Into<String>, shape: impl Into<Vec<usize>>) -> Self {
        LayerInfo {
            neuron_prunable: false,
            ..LayerInfo::new(name, shape)
        }
    }

    /// Number of weights.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Number of output units (dim 0).
    pub fn units(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }

    /// Weights per output unit (one row of the weight).
    pub fn fan_in(&self) -> usize {
        self.shape.iter().skip(1).product()
    }
}

/// "fc0, fc1, out" for error messages.
pub(crate) fn layer_names(layers: &[LayerInfo]) -> String {
    layers
        .iter()
        .map(|l| l.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rejects empty shapes, zero-sized dims and duplicate names.
pub fn validate_layers(layers: &[LayerInfo]) -> Result<(), PruneError> {
    for (i, layer) in layers.iter().enumerate() {
        let bad = |reason: &str| PruneError::BadLayer {
            layer: layer.name.clone(),
            reason: reason.to_string(),
        };
        if layer.name.is_empty() {
            return Err(PruneError::BadLayer {
                layer: format!("#{i}"),
                reason: "empty name".to_string(),
            });
        }
        if layer.shape.is_empty() || layer.shape.contains(&0) {
            return Err(bad(&format!(
                "shape {:?} must have at least one dim, all > 0",
                layer.shape
            )));
        }
        if layer
            .shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .is_none()
        {
            return Err(bad(&format!(
                "shape {:?} has more weights than fit in memory",
                layer.shape
            )));
        }
        if layers[..i].iter().any(|l| l.name == layer.name) {
            return Err(bad("the name appears twice in the layer list"));
        }
    }
    // Bounded totals keep every count and sum over layers (ERK, reports) free of overflow.
    let total = layers.iter().try_fold(0usize, |acc, l| {
        l.shape.iter().try_fold(0usize, |a, &d| a.checked_add(d))?;
        acc.checked_add(l.numel())
            .filter(|&t| t <= u32::MAX as usize)
    });
    if total.is_none() {
        return Err(PruneError::TooManyWeights {
            count: layers
                .iter()
                .fold(0usize, |a, l| a.saturating_add(l.numel())),
            max: u32::MAX as usize,
        });
    }
    Ok(())
}

/// Which layers are prunable: those named in `include` (all when it is empty) minus those in
/// `exclude`; for neuron granularity, layers marked not neuron-prunable are skipped (and naming
/// one in `include` is an error).
pub fn select_layers(
    layers: &[LayerInfo],
    include: &[String],
    exclude: &[String],
    granularity: Granularity,
) -> Result<Vec<bool>, PruneError> {
    validate_layers(layers)?;
    for (key, names) in [("prune.include", include), ("prune.exclude", exclude)] {
        if let Some(name) = names.iter().find(|n| !layers.iter().any(|l| &l.name == *n)) {
            return Err(PruneError::UnknownLayer {
                key: key.to_string(),
                name: name.clone(),
                known: layer_names(layers),
            });
        }
    }
    let mut selected = Vec::with_capacity(layers.len());
    for layer in layers {
        let included = include.is_empty() || include.contains(&layer.name);
        let excluded = exclude.contains(&layer.name);
        let structurally_ok = granularity == Granularity::Weight || layer.neuron_prunable;
        if included && !include.is_empty() && !excluded && !structurally_ok {
            return Err(PruneError::NotNeuronPrunable {
                layer: layer.name.clone(),
            });
        }
        selected.push(included && !excluded && structurally_ok);
    }
    Ok(selected)
}
