//! The arithmetic of merging, free of I/O: the uniform average of parameter vectors, the
//! intersection or union of pruning masks, and the magnitude re-prune that brings a merged
//! policy back to its target sparsity.

use anyhow::{Result, bail};
use sparq_agent::Layout;
use sparq_prune::{Criterion, Granularity, LayerInfo, Mask, MaskSpec, Scope, compute_masks};

/// How the members' masks combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaskMode {
    /// A weight survives only if every member kept it: sparsity can only grow.
    Intersection,
    /// A weight survives if any member kept it; a re-prune then restores the target sparsity.
    Union,
}

/// The element-wise mean of `params` (computed in f64, so averaging copies of one vector gives
/// it back bit for bit: (x + x) / 2 = x exactly).
pub fn average(params: &[&[f32]]) -> Result<Vec<f32>> {
    let Some(first) = params.first() else {
        bail!("nothing to average");
    };
    if params.iter().any(|p| p.len() != first.len()) {
        bail!("parameter vectors differ in length");
    }
    let n = params.len() as f64;
    Ok((0..first.len())
        .map(|i| (params.iter().map(|p| f64::from(p[i])).sum::<f64>() / n) as f32)
        .collect())
}

/// Combines 0/1 masks; a member without a mask (dense) keeps everything.
pub fn combine_masks(masks: &[Option<&[f32]>], len: usize, mode: MaskMode) -> Vec<f32> {
    let keeps = |m: &Option<&[f32]>, i: usize| m.is_none_or(|m| m[i] != 0.0);
    (0..len)
        .map(|i| {
            let keep = match mode {
                MaskMode::Intersection => masks.iter().all(|m| keeps(m, i)),
                MaskMode::Union => masks.iter().any(|m| keeps(m, i)),
            };
            if keep { 1.0 } else { 0.0 }
        })
        .collect()
}

/// How the members were pruned, read from their config: what a re-prune must reproduce.
#[derive(Clone, Debug)]
pub struct Reprune {
    pub target: f64,
    pub scope: Scope,
    pub granularity: Granularity,
    /// One flag per layer of the layout.
    pub prunable: Vec<bool>,
}

/// Zeroes what `mask` removes and, given a target, prunes the smallest surviving magnitudes
/// until the prunable layers reach it (what `mask` already removed stays removed, so an
/// intersection that is already sparse enough is left as it is). Returns the final mask.
pub fn apply_and_reprune(
    layout: &Layout,
    infos: &[LayerInfo],
    params: &mut [f32],
    mask: Vec<f32>,
    reprune: Option<&Reprune>,
) -> Result<Vec<f32>> {
    let mut mask = mask;
    if let Some(r) = reprune {
        let previous: Vec<Option<Mask>> = layout
            .layers
            .iter()
            .zip(&r.prunable)
            .map(|(l, &p)| {
                p.then(|| {
                    let w = &mask[l.weight_offset..l.weight_offset + l.weight_numel()];
                    Mask::from_keep(w.iter().map(|&v| v != 0.0).collect())
                })
            })
            .collect();
        let scores: Vec<Vec<f32>> = sparq_agent::layer_scores(layout, Criterion::Magnitude, params);
        let refs: Vec<&[f32]> = scores.iter().map(Vec::as_slice).collect();
        let spec = MaskSpec {
            sparsity: r.target,
            scope: r.scope,
            criterion: Criterion::Magnitude,
            granularity: r.granularity,
        };
        // Magnitude ranking never draws from the generator; ties go by index.
        let mut rng = rand_pcg::Pcg64::new(0, 0);
        let masks = compute_masks(infos, &r.prunable, &refs, &spec, Some(&previous), &mut rng)?;
        for (l, m) in layout.layers.iter().zip(&masks) {
            let Some(m) = m else { continue };
            let w = &mut mask[l.weight_offset..l.weight_offset + l.weight_numel()];
            w.iter_mut()
                .zip(m.as_slice())
                .for_each(|(v, &keep)| *v = if keep { *v } else { 0.0 });
            if r.granularity == Granularity::Neuron {
                // A unit whose whole row is gone loses its bias too, as the pruner's flat mask does.
                let fan_in = l.fan_in();
                for u in 0..l.units() {
                    if m.as_slice()[u * fan_in..(u + 1) * fan_in]
                        .iter()
                        .all(|k| !k)
                    {
                        mask[l.bias_offset + u] = 0.0;
                    }
                }
            }
        }
    }
    params
        .iter_mut()
        .zip(&mask)
        .for_each(|(p, &m)| *p = if m != 0.0 { *p } else { 0.0 });
    Ok(mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparq_agent::NetSpec;
    use sparq_config::Activation;
    use sparq_envs::ObsSpace;

    fn spec() -> NetSpec {
        NetSpec {
            obs: ObsSpace::Vector { dim: 3 },
            num_actions: 2,
            conv_channels: vec![],
            hidden: vec![4],
            activation: Activation::Relu,
            dueling: false,
        }
    }

    #[test]
    fn averaging_copies_returns_the_vector_bit_for_bit() {
        let v: Vec<f32> = (0..50)
            .map(|i| (i as f32 * 0.37).sin() * 1e-3 + 1e5 * (i % 3) as f32)
            .collect();
        let avg = average(&[&v, &v]).unwrap();
        assert!(avg.iter().zip(&v).all(|(a, b)| a.to_bits() == b.to_bits()));
        let three = average(&[&v, &v, &v]).unwrap();
        assert!(
            three
                .iter()
                .zip(&v)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }

    #[test]
    fn average_is_the_mean() {
        assert_eq!(
            average(&[&[1.0, 2.0], &[3.0, -2.0]]).unwrap(),
            vec![2.0, 0.0]
        );
        assert!(average(&[&[1.0], &[1.0, 2.0]]).is_err());
    }

    #[test]
    fn masks_intersect_and_unite() {
        let a = [1.0, 1.0, 0.0, 0.0];
        let b = [1.0, 0.0, 1.0, 0.0];
        let both = [Some(&a[..]), Some(&b[..])];
        assert_eq!(
            combine_masks(&both, 4, MaskMode::Intersection),
            vec![1.0, 0.0, 0.0, 0.0]
        );
        assert_eq!(
            combine_masks(&both, 4, MaskMode::Union),
            vec![1.0, 1.0, 1.0, 0.0]
        );
        // A dense member keeps everything.
        let dense = [Some(&a[..]), None];
        assert_eq!(combine_masks(&dense, 4, MaskMode::Intersection), a.to_vec());
        assert_eq!(combine_masks(&dense, 4, MaskMode::Union), vec![1.0; 4]);
    }

    #[test]
    fn a_union_is_repruned_to_the_target_and_keeps_the_largest_weights() {
        let layout = spec().layout();
        let infos = sparq_agent::layer_infos(&layout);
        let mut params: Vec<f32> = (0..layout.numel).map(|i| (i as f32 + 1.0) * 0.01).collect();
        let r = Reprune {
            target: 0.5,
            scope: Scope::Global,
            granularity: Granularity::Weight,
            prunable: vec![true; layout.layers.len()],
        };
        let union = vec![1.0; layout.numel];
        let mask = apply_and_reprune(&layout, &infos, &mut params, union, Some(&r)).unwrap();
        let weights: usize = layout.layers.iter().map(|l| l.weight_numel()).sum();
        let zeros: usize = layout
            .layers
            .iter()
            .map(|l| {
                mask[l.weight_offset..l.weight_offset + l.weight_numel()]
                    .iter()
                    .filter(|v| **v == 0.0)
                    .count()
            })
            .sum();
        assert_eq!(zeros, weights / 2);
        // The pruned weights are the zeros of the params, and biases are untouched.
        for (p, m) in params.iter().zip(&mask) {
            assert_eq!(*p == 0.0, *m == 0.0);
        }
        let l0 = &layout.layers[0];
        assert!(
            mask[l0.bias_offset..l0.bias_offset + l0.units()]
                .iter()
                .all(|v| *v == 1.0)
        );
    }

    #[test]
    fn an_intersection_sparser_than_the_target_is_left_alone() {
        let layout = spec().layout();
        let infos = sparq_agent::layer_infos(&layout);
        let mut params = vec![1.0f32; layout.numel];
        let mut mask = vec![1.0f32; layout.numel];
        let l0 = &layout.layers[0];
        mask[l0.weight_offset..l0.weight_offset + l0.weight_numel()].fill(0.0);
        let r = Reprune {
            target: 0.1,
            scope: Scope::Global,
            granularity: Granularity::Weight,
            prunable: vec![true; layout.layers.len()],
        };
        let out = apply_and_reprune(&layout, &infos, &mut params, mask.clone(), Some(&r)).unwrap();
        assert_eq!(out, mask);
    }
}
