//! Sparsity measured from the weights themselves (exact zeros), as the workspace's one
//! [`SparsityReport`], and the count of non-zero parameters.

use sparq_prune::SparsityReport;

use crate::{HostPolicy, Layout};

impl Layout {
    /// Sparsity of the weights in `flat` (biases are never pruned, so never counted): every
    /// layer is listed; `global` covers the layers `counted` marks, all of them when `None`.
    pub fn weight_sparsity(&self, flat: &[f32], counted: Option<&[bool]>) -> SparsityReport {
        SparsityReport::from_weights(self.layers.iter().enumerate().map(|(i, l)| {
            let weights = &flat[l.weight_offset..l.weight_offset + l.weight_numel()];
            let counted = counted.is_none_or(|c| c.get(i).copied().unwrap_or(false));
            (l.name.as_str(), weights, counted)
        }))
    }
}

impl HostPolicy {
    /// Parameters (weights and biases) that are not exactly zero.
    pub fn params_nonzero(&self) -> usize {
        self.params().iter().filter(|v| **v != 0.0).count()
    }
}
