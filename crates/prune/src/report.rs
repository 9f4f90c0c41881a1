//! Sparsity figures for logs and TensorBoard.

use serde::{Deserialize, Serialize};

use crate::layer::LayerInfo;
use crate::mask::Mask;

/// Pruned fractions over the prunable layers (layers with a mask).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SparsityReport {
    /// Pruned / total weights over all prunable layers (0 if there are none).
    pub global: f64,
    /// Pruned weights over all prunable layers.
    pub pruned: usize,
    /// Weights in all prunable layers.
    pub total: usize,
    /// (layer name, pruned fraction) for each prunable layer, in layer order.
    pub layers: Vec<(String, f64)>,
}

impl SparsityReport {
    /// Builds the report from per-layer masks (`None` = not prunable, left out).
    pub fn from_masks(layers: &[LayerInfo], masks: &[Option<Mask>]) -> Self {
        let (mut pruned, mut total, mut per_layer) = (0, 0, Vec::new());
        for (layer, mask) in layers.iter().zip(masks) {
            if let Some(m) = mask {
                pruned += m.pruned();
                total += m.len();
                per_layer.push((layer.name.clone(), m.sparsity()));
            }
        }
        let global = if total == 0 {
            0.0
        } else {
            pruned as f64 / total as f64
        };
        SparsityReport {
            global,
            pruned,
            total,
            layers: per_layer,
        }
    }
}
