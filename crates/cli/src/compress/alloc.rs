//! Per-layer sparsity allocations under a global budget, without libtorch: the discrete levels
//! an agent picks from, AMC's budget rule (He et al. 2018, Alg. 1: each choice is raised to the
//! least that still lets the remaining layers, pruned as hard as allowed, meet the budget; the
//! last layer takes exactly what is left), and layerwise magnitude pruning at an allocation.

use sparq_agent::Layout;

/// The most any one layer may be pruned: a layer pruned to nothing would cut the network.
pub const MAX_LEVEL: f64 = 0.99;

/// The sparsity levels an action indexes: dense to [`MAX_LEVEL`], finer near the top where
/// returns fall fastest.
pub const LEVELS: [f64; 11] = [
    0.0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, MAX_LEVEL,
];

/// The prunable layers' weight counts, in network order, and the budget over their sum.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// Weights per prunable layer.
    pub sizes: Vec<usize>,
    /// Fraction of all prunable weights that must be removed, in [0, MAX_LEVEL].
    pub sparsity: f64,
}

impl Budget {
    pub fn total(&self) -> usize {
        self.sizes.iter().sum()
    }

    /// Weights that must be removed in all.
    pub fn required(&self) -> f64 {
        self.sparsity * self.total() as f64
    }

    /// Layer `t`'s sparsity when the agent asks for `wanted` and layers `..t` removed `pruned`
    /// weights: at least what the budget still needs if every later layer goes to MAX_LEVEL; the
    /// last layer gets exactly what is left (within [0, MAX_LEVEL]).
    pub fn clamp(&self, t: usize, wanted: f64, pruned: f64) -> f64 {
        let n = self.sizes[t] as f64;
        let need = self.required() - pruned;
        if t + 1 == self.sizes.len() {
            return (need / n).clamp(0.0, MAX_LEVEL);
        }
        let rest: f64 = self.sizes[t + 1..].iter().map(|&s| s as f64).sum();
        let least = ((need - MAX_LEVEL * rest) / n).clamp(0.0, MAX_LEVEL);
        wanted.clamp(least, MAX_LEVEL)
    }

    /// The allocation `wanted` (one level per layer) becomes under the budget (what an episode
    /// of the compression environment does step by step).
    #[cfg(test)]
    pub fn enforce(&self, wanted: &[f64]) -> Vec<f64> {
        let mut pruned = 0.0;
        wanted
            .iter()
            .enumerate()
            .map(|(t, &w)| {
                let s = self.clamp(t, w, pruned);
                pruned += s * self.sizes[t] as f64;
                s
            })
            .collect()
    }

    /// The fraction of prunable weights an allocation removes.
    pub fn achieved(&self, allocation: &[f64]) -> f64 {
        let removed: f64 = allocation
            .iter()
            .zip(&self.sizes)
            .map(|(s, &n)| (s * n as f64).round())
            .sum();
        removed / self.total() as f64
    }
}

/// `params` with the round(s·n) smallest-magnitude weights of each prunable layer zeroed, layer
/// `prunable[k]` at `allocation[k]` (ties: lower index first, as `sparq_prune` breaks them).
pub fn prune_layerwise(
    layout: &Layout,
    params: &[f32],
    prunable: &[usize],
    allocation: &[f64],
) -> Vec<f32> {
    let mut out = params.to_vec();
    for (&l, &s) in prunable.iter().zip(allocation) {
        let layer = &layout.layers[l];
        let w = &mut out[layer.weight_offset..layer.weight_offset + layer.weight_numel()];
        let k = ((s * w.len() as f64).round() as usize).min(w.len());
        if k == 0 {
            continue;
        }
        let mut order: Vec<usize> = (0..w.len()).collect();
        order.select_nth_unstable_by(k - 1, |&a, &b| {
            w[a].abs().total_cmp(&w[b].abs()).then(a.cmp(&b))
        });
        for &i in &order[..k] {
            w[i] = 0.0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        // CartPole 512×512: fc0, fc1, out.
        Budget {
            sizes: vec![2048, 262_144, 1024],
            sparsity: 0.9,
        }
    }

    #[test]
    fn every_allocation_meets_the_budget_exactly_when_it_can() {
        let b = budget();
        for &a in &LEVELS {
            for &c in &LEVELS {
                for &o in &LEVELS {
                    let alloc = b.enforce(&[a, c, o]);
                    let achieved = b.achieved(&alloc);
                    assert!(
                        achieved >= 0.9 - 1e-5,
                        "{a} {c} {o} -> {alloc:?} = {achieved}"
                    );
                    assert!(alloc.iter().all(|s| (0.0..=MAX_LEVEL).contains(s)));
                    // Over budget only when the earlier choices already were.
                    if achieved > 0.9 + 1e-5 {
                        assert_eq!(alloc[2], 0.0, "{alloc:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_dense_first_choice_forces_the_big_layer_up() {
        let b = budget();
        let alloc = b.enforce(&[0.0, 0.0, 0.0]);
        assert_eq!(alloc[0], 0.0);
        // fc1 must take what `out` at 99 % cannot.
        let least = (0.9 * b.total() as f64 - 0.99 * 1024.0) / 262_144.0;
        assert!((alloc[1] - least).abs() < 1e-12, "{alloc:?}");
    }

    #[test]
    fn layerwise_pruning_removes_the_smallest_magnitudes() {
        let spec = sparq_agent::NetSpec {
            obs: sparq_envs::ObsSpace::Vector { dim: 2 },
            num_actions: 2,
            conv_channels: vec![],
            hidden: vec![2],
            activation: sparq_config::Activation::Relu,
            dueling: false,
        };
        let layout = spec.layout();
        // fc0: w [4] b [2]; out: w [4] b [2].
        let params = [
            0.1, -0.4, 0.3, -0.2, 9.0, 9.0, 1.0, 2.0, -3.0, 4.0, 9.0, 9.0,
        ];
        let out = prune_layerwise(&layout, &params, &[0, 1], &[0.5, 0.25]);
        assert_eq!(
            out,
            vec![0.0, -0.4, 0.3, 0.0, 9.0, 9.0, 0.0, 2.0, -3.0, 4.0, 9.0, 9.0]
        );
    }
}
