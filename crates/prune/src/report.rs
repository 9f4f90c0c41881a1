//! The one sparsity report of the workspace: built from the pruner's masks or from the weights
//! themselves, logged to TensorBoard and written as `sparsity` into every run's `summary.json`.
//!
//! It lives here, in the lowest libtorch-free crate that knows what pruning is, so the logger
//! (`summary.json`), the host policy (weights) and the pruner (masks) share it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::layer::LayerInfo;
use crate::mask::Mask;

/// Pruned fractions, overall and per layer.
///
/// JSON: `{"global": 0.9, "pruned": 403, "total": 448, "layers": {"fc0": 0.9, ...}}`;
/// `pruned` and `total` read as 0 from `summary.json` files written before they were recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SparsityReport {
    /// `pruned / total` (0 when nothing is counted).
    pub global: f64,
    /// Pruned weights over the counted layers.
    #[serde(default)]
    pub pruned: usize,
    /// Weights in the counted layers.
    #[serde(default)]
    pub total: usize,
    /// Pruned fraction of each listed layer, by layer name.
    pub layers: BTreeMap<String, f64>,
}

impl SparsityReport {
    /// From per-layer masks: the prunable layers (those with a mask) are listed and counted;
    /// `None` (not prunable) is left out.
    pub fn from_masks(layers: &[LayerInfo], masks: &[Option<Mask>]) -> Self {
        let masked = layers.iter().zip(masks).filter_map(|(layer, mask)| {
            mask.as_ref()
                .map(|m| (layer.name.as_str(), m.pruned(), m.len(), true))
        });
        Self::tally(masked)
    }

    /// From the weights themselves: a weight is pruned when it is exactly zero. Every layer
    /// `(name, weights, counted)` is listed; `global`, `pruned` and `total` cover the counted
    /// ones (the layers a run's `[prune]` section makes prunable, say).
    pub fn from_weights<'a>(layers: impl IntoIterator<Item = (&'a str, &'a [f32], bool)>) -> Self {
        Self::tally(layers.into_iter().map(|(name, w, counted)| {
            let zeros = w.iter().filter(|v| **v == 0.0).count();
            (name, zeros, w.len(), counted)
        }))
    }

    /// Sums `(name, pruned, weights, counted)` per layer; an empty layer is 0 % pruned.
    fn tally<'a>(layers: impl Iterator<Item = (&'a str, usize, usize, bool)>) -> Self {
        let mut report = SparsityReport::default();
        for (name, pruned, len, counted) in layers {
            let fraction = if len == 0 {
                0.0
            } else {
                pruned as f64 / len as f64
            };
            report.layers.insert(name.to_owned(), fraction);
            if counted {
                report.pruned += pruned;
                report.total += len;
            }
        }
        if report.total > 0 {
            report.global = report.pruned as f64 / report.total as f64;
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_weights_lists_every_layer_and_counts_the_counted() {
        let (a, b) = ([0.0, 1.0, 0.0, 2.0], [0.0, 0.0]);
        let r = SparsityReport::from_weights([("fc0", &a[..], true), ("out", &b[..], false)]);
        assert_eq!((r.pruned, r.total, r.global), (2, 4, 0.5));
        assert_eq!(r.layers["fc0"], 0.5);
        assert_eq!(r.layers["out"], 1.0);
    }

    #[test]
    fn from_masks_agrees_with_from_weights_on_the_masked_weights() {
        let layers = [
            LayerInfo::new("fc0", [2, 2]),
            LayerInfo::output("out", [1, 2]),
        ];
        let keep = vec![true, false, false, true];
        let masks = [Some(Mask::from_keep(keep.clone())), None];
        let weights: Vec<f32> = keep.iter().map(|&k| f32::from(u8::from(k))).collect();
        let from_masks = SparsityReport::from_masks(&layers, &masks);
        let from_weights = SparsityReport::from_weights([("fc0", &weights[..], true)]);
        assert_eq!(from_masks, from_weights);
        assert_eq!((from_masks.pruned, from_masks.total), (2, 4));
    }

    #[test]
    fn reads_summaries_without_counts() {
        let old = r#"{"global": 0.25, "layers": {"fc0": 0.5, "out": 0.0}}"#;
        let r: SparsityReport = serde_json::from_str(old).unwrap();
        assert_eq!((r.global, r.pruned, r.total), (0.25, 0, 0));
        assert_eq!(r.layers.len(), 2);
    }
}
