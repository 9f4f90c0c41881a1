//! Glue between the network's flat parameters and the libtorch-free pruner: layer descriptions
//! out, per-layer scores out, one flat 0/1 mask back in.

use sparq_prune::{Criterion, LayerInfo, Pruner};

use sparq_policy::Layout;

/// The pruner's view of the network: every weight tensor (biases are never pruned on their own);
/// heads are excluded from neuron pruning (their units are actions).
pub fn layer_infos(layout: &Layout) -> Vec<LayerInfo> {
    layout
        .layers
        .iter()
        .map(|l| {
            if l.is_head {
                LayerInfo::output(l.name.clone(), l.weight_shape.clone())
            } else {
                LayerInfo::new(l.name.clone(), l.weight_shape.clone())
            }
        })
        .collect()
}

/// Per-layer scores cut from a flat host vector: |w| for magnitude, the accumulated saliency
/// as is, nothing for random.
pub fn layer_scores(layout: &Layout, criterion: Criterion, flat: &[f32]) -> Vec<Vec<f32>> {
    layout
        .layers
        .iter()
        .map(|l| {
            let w = &flat[l.weight_offset..l.weight_offset + l.weight_numel()];
            match criterion {
                Criterion::Magnitude => w.iter().map(|v| v.abs()).collect(),
                Criterion::Saliency => w.to_vec(),
                Criterion::Random => Vec::new(),
            }
        })
        .collect()
}

/// Each layer's weights cut from a flat host vector, as they are (e.g. |∂L/∂w| for RigL).
pub fn weight_slices<'a>(layout: &Layout, flat: &'a [f32]) -> Vec<&'a [f32]> {
    layout
        .layers
        .iter()
        .map(|l| &flat[l.weight_offset..l.weight_offset + l.weight_numel()])
        .collect()
}

/// The pruner's masks as one flat 0/1 vector over all parameters. A bias is dropped only with its
/// whole unit (neuron granularity), so a removed unit outputs act(0) = 0 and can be cut out.
pub fn flat_mask(layout: &Layout, pruner: &Pruner) -> Vec<f32> {
    let mut mask = vec![1.0f32; layout.numel];
    for (i, l) in layout.layers.iter().enumerate() {
        if let Some(m) = pruner.mask(i) {
            for (dst, &keep) in mask[l.weight_offset..l.weight_offset + l.weight_numel()]
                .iter_mut()
                .zip(m)
            {
                *dst = if keep { 1.0 } else { 0.0 };
            }
        }
        if let Some(units) = pruner.unit_mask(i) {
            for (dst, keep) in mask[l.bias_offset..l.bias_offset + l.units()]
                .iter_mut()
                .zip(units)
            {
                *dst = if keep { 1.0 } else { 0.0 };
            }
        }
    }
    mask
}
