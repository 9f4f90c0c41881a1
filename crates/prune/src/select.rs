//! Mask computation at a given sparsity: the single implementation behind both
//! [`crate::Pruner::update`] and post-hoc pruning (`sparq prune`).

use rand::{Rng, RngExt};

use crate::erk::erk_densities;
use crate::error::PruneError;
use crate::layer::{LayerInfo, validate_layers};
use crate::mask::Mask;
use crate::params::{Criterion, Granularity, Scope};

/// What to prune to, and how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaskSpec {
    /// Fraction of prunable items (weights, or units for neuron granularity) removed, in [0, 1).
    pub sparsity: f64,
    pub scope: Scope,
    pub criterion: Criterion,
    pub granularity: Granularity,
}

/// Computes masks at `spec.sparsity` for the layers flagged in `prunable` (`None` for the others).
///
/// * `scores[l]` has one entry per weight of layer `l` (lower = pruned first); ignored for
///   `Criterion::Random` (pass `&[]`), and non-prunable layers' entries may be empty.
/// * Counts are exact: `round(s·n)` items per layer (layerwise, erk) or `round(s·N)` over all
///   prunable items with one threshold (global). Ties go to the lower layer, then lower index.
/// * Items pruned in `previous` stay pruned (their score counts as −∞), and the count never
///   drops below what `previous` already pruned.
/// * Neuron granularity ranks output units by the L2 norm of their row of scores, prunes whole
///   rows and always keeps at least one unit per layer.
pub fn compute_masks<R: Rng + ?Sized>(
    layers: &[LayerInfo],
    prunable: &[bool],
    scores: &[&[f32]],
    spec: &MaskSpec,
    previous: Option<&[Option<Mask>]>,
    rng: &mut R,
) -> Result<Vec<Option<Mask>>, PruneError> {
    check_inputs(layers, prunable, scores, spec, previous)?;
    let chosen: Vec<usize> = (0..layers.len()).filter(|&l| prunable[l]).collect();
    let neuron = spec.granularity == Granularity::Neuron;

    // Items are weights, or output units for neuron granularity.
    let mut items = Vec::with_capacity(chosen.len());
    for &l in &chosen {
        let prev = previous.and_then(|p| p[l].as_ref());
        items.push(LayerItems::build(
            &layers[l],
            scores.get(l).copied(),
            prev,
            spec,
            rng,
        ));
    }
    let total_items: usize = items.iter().map(|it| it.scores.len()).sum();
    if total_items > u32::MAX as usize {
        return Err(PruneError::TooManyWeights {
            count: total_items,
            max: u32::MAX as usize,
        });
    }
    // Neuron pruning never removes a whole layer: that would cut the network in two.
    let cap = |it: &LayerItems| {
        if neuron {
            it.scores.len() - 1
        } else {
            it.scores.len()
        }
    };

    let pruned_sets: Vec<Vec<bool>> = match spec.scope {
        Scope::Global => {
            let already: usize = items.iter().map(|it| it.already).sum();
            let k = round_count(spec.sparsity, total_items).max(already);
            select_global(&items, k, cap)
        }
        Scope::Layerwise | Scope::Erk => {
            let sparsities: Vec<f64> = if spec.scope == Scope::Erk {
                let shapes: Vec<&[usize]> =
                    chosen.iter().map(|&l| layers[l].shape.as_slice()).collect();
                erk_densities(&shapes, spec.sparsity)
                    .into_iter()
                    .map(|d| 1.0 - d)
                    .collect()
            } else {
                vec![spec.sparsity; items.len()]
            };
            items
                .iter()
                .zip(sparsities)
                .map(|(it, s)| {
                    let k = round_count(s, it.scores.len()).min(cap(it)).max(it.already);
                    select_smallest(it.keys(0), k, it.scores.len())
                })
                .collect()
        }
    };

    let mut masks: Vec<Option<Mask>> = vec![None; layers.len()];
    for ((&l, it), pruned) in chosen.iter().zip(&items).zip(pruned_sets) {
        let row = if neuron { layers[l].fan_in() } else { 1 };
        let prev = previous.and_then(|p| p[l].as_ref()).map(Mask::as_slice);
        let keep = (0..layers[l].numel())
            .map(|i| !pruned[i / row] && prev.is_none_or(|p| p[i]))
            .collect();
        debug_assert_eq!(it.scores.len() * row, layers[l].numel());
        masks[l] = Some(Mask::from_keep(keep));
    }
    Ok(masks)
}

/// round(s·n) pruned out of n, never more than n.
fn round_count(sparsity: f64, n: usize) -> usize {
    ((sparsity * n as f64).round() as usize).min(n)
}

/// One prunable layer's candidates.
struct LayerItems {
    scores: Vec<f32>,
    /// Pruned before this call: always pruned first.
    pruned_before: Vec<bool>,
    already: usize,
}

impl LayerItems {
    fn build<R: Rng + ?Sized>(
        layer: &LayerInfo,
        scores: Option<&[f32]>,
        previous: Option<&Mask>,
        spec: &MaskSpec,
        rng: &mut R,
    ) -> Self {
        let (n, row) = match spec.granularity {
            Granularity::Weight => (layer.numel(), 1),
            Granularity::Neuron => (layer.units(), layer.fan_in()),
        };
        let scores: Vec<f32> = match (spec.criterion, scores) {
            (Criterion::Random, _) | (_, None) => (0..n).map(|_| rng.random::<f32>()).collect(),
            (_, Some(s)) if row == 1 => s.to_vec(),
            (_, Some(s)) => s
                .chunks_exact(row)
                .map(|r| {
                    r.iter()
                        .map(|&x| f64::from(x) * f64::from(x))
                        .sum::<f64>()
                        .sqrt() as f32
                })
                .collect(),
        };
        // A unit counts as pruned before only if its whole row was.
        let pruned_before: Vec<bool> = match previous {
            None => vec![false; n],
            Some(m) => m
                .as_slice()
                .chunks_exact(row)
                .map(|r| r.iter().all(|&k| !k))
                .collect(),
        };
        let already = pruned_before.iter().filter(|&&p| p).count();
        LayerItems {
            scores,
            pruned_before,
            already,
        }
    }

    /// Sort keys: (score in total order, or 0 if pruned before) << 32 | (offset + index), so
    /// ties resolve to the lower flat index.
    fn keys(&self, offset: usize) -> Vec<u64> {
        self.scores
            .iter()
            .zip(&self.pruned_before)
            .enumerate()
            .map(|(i, (&s, &gone))| {
                let order = if gone { 0 } else { order_bits(s) };
                u64::from(order) << 32 | (offset + i) as u64
            })
            .collect()
    }
}

/// Maps an f32 to a u32 with the same order (NaN excluded). No non-NaN maps to 0, which is
/// reserved for items pruned before.
pub(crate) fn order_bits(x: f32) -> u32 {
    let x = if x == 0.0 { 0.0 } else { x }; // −0 ties with +0
    let b = x.to_bits();
    if b >> 31 == 1 { !b } else { b | 1 << 31 }
}

/// Flags the `k` smallest keys (whose low 32 bits index 0..n) as pruned.
fn select_smallest(mut keys: Vec<u64>, k: usize, n: usize) -> Vec<bool> {
    let mut pruned = vec![false; n];
    let k = k.min(keys.len());
    if k > 0 {
        if k < keys.len() {
            keys.select_nth_unstable(k);
        }
        for &key in &keys[..k] {
            pruned[(key & 0xFFFF_FFFF) as usize] = true;
        }
    }
    pruned
}

/// One threshold over all layers, respecting a per-layer cap on pruned items.
fn select_global(
    items: &[LayerItems],
    k: usize,
    cap: impl Fn(&LayerItems) -> usize,
) -> Vec<Vec<bool>> {
    let mut offsets = Vec::with_capacity(items.len());
    let mut keys = Vec::new();
    for it in items {
        offsets.push(keys.len());
        keys.extend(it.keys(keys.len()));
    }
    let n = keys.len();
    let capped = items.iter().any(|it| cap(it) < it.scores.len());
    let flat = if !capped {
        select_smallest(keys, k, n)
    } else {
        // Caps bind only for neuron pruning, where items are units (few): sort and walk.
        keys.sort_unstable();
        let layer_of = |i: usize| offsets.partition_point(|&o| o <= i) - 1;
        let mut per_layer = vec![0usize; items.len()];
        let mut flat = vec![false; n];
        let mut taken = 0;
        for key in keys {
            if taken == k {
                break;
            }
            let i = (key & 0xFFFF_FFFF) as usize;
            let l = layer_of(i);
            if per_layer[l] < cap(&items[l]) {
                per_layer[l] += 1;
                flat[i] = true;
                taken += 1;
            }
        }
        flat
    };
    items
        .iter()
        .zip(&offsets)
        .map(|(it, &o)| flat[o..o + it.scores.len()].to_vec())
        .collect()
}

fn check_inputs(
    layers: &[LayerInfo],
    prunable: &[bool],
    scores: &[&[f32]],
    spec: &MaskSpec,
    previous: Option<&[Option<Mask>]>,
) -> Result<(), PruneError> {
    if !(0.0..1.0).contains(&spec.sparsity) {
        return Err(PruneError::out_of_range(
            "sparsity",
            spec.sparsity,
            "[0, 1)",
        ));
    }
    validate_layers(layers)?;
    if prunable.len() != layers.len() {
        return Err(PruneError::LengthMismatch {
            what: "prunable flags",
            expected: layers.len(),
            got: prunable.len(),
        });
    }
    let chosen = || {
        layers
            .iter()
            .zip(prunable)
            .filter(|(_, p)| **p)
            .map(|(l, _)| l)
    };
    if spec.granularity == Granularity::Neuron {
        if let Some(l) = chosen().find(|l| !l.neuron_prunable) {
            return Err(PruneError::NotNeuronPrunable {
                layer: l.name.clone(),
            });
        }
    }
    if spec.criterion.needs_scores() {
        if scores.len() != layers.len() {
            return Err(PruneError::ScoreCount {
                expected: layers.len(),
                got: scores.len(),
            });
        }
        for ((layer, s), _) in layers.iter().zip(scores).zip(prunable).filter(|(_, p)| **p) {
            if s.len() != layer.numel() {
                return Err(PruneError::ScoreLength {
                    layer: layer.name.clone(),
                    expected: layer.numel(),
                    got: s.len(),
                });
            }
            if let Some(index) = s.iter().position(|x| x.is_nan()) {
                return Err(PruneError::NanScore {
                    layer: layer.name.clone(),
                    index,
                });
            }
        }
    }
    if let Some(prev) = previous {
        if prev.len() != layers.len() {
            return Err(PruneError::LengthMismatch {
                what: "previous masks",
                expected: layers.len(),
                got: prev.len(),
            });
        }
        for (layer, m) in layers.iter().zip(prev) {
            if let Some(m) = m.as_ref().filter(|m| m.len() != layer.numel()) {
                return Err(PruneError::MaskLength {
                    layer: layer.name.clone(),
                    expected: layer.numel(),
                    got: m.len(),
                });
            }
        }
    }
    Ok(())
}
