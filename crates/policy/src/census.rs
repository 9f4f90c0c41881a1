//! Sparsity measured from the weights themselves (exact zeros).

use crate::Layout;

/// Sparsity measured from the weights themselves (exact zeros), per layer and in total.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightCensus {
    /// (layer, fraction of its weights that are zero)
    pub layers: Vec<(String, f64)>,
    pub params_total: usize,
    pub params_nonzero: usize,
}

impl WeightCensus {
    pub fn of(layout: &Layout, flat: &[f32]) -> Self {
        let layers = layout
            .layers
            .iter()
            .map(|l| {
                let w = &flat[l.weight_offset..l.weight_offset + l.weight_numel()];
                (
                    l.name.clone(),
                    w.iter().filter(|v| **v == 0.0).count() as f64 / w.len() as f64,
                )
            })
            .collect();
        WeightCensus {
            layers,
            params_total: flat.len(),
            params_nonzero: flat.iter().filter(|v| **v != 0.0).count(),
        }
    }

    /// Fraction of zero weights over the named layers (all layers when `only` is `None`).
    pub fn global(&self, layout: &Layout, only: Option<&[bool]>) -> f64 {
        let (mut zero, mut total) = (0.0, 0.0);
        for (i, (l, (_, s))) in layout.layers.iter().zip(&self.layers).enumerate() {
            if only.is_none_or(|p| p.get(i).copied().unwrap_or(false)) {
                let n = l.weight_numel() as f64;
                zero += s * n;
                total += n;
            }
        }
        if total == 0.0 { 0.0 } else { zero / total }
    }
}
