//! Cutting removed units out of a network: a hidden unit (or conv channel) whose weight row and
//! bias are all zero outputs act(0) = 0 for every activation sparq has, so dropping it together
//! with the next layer's matching inputs leaves the Q-values unchanged.

use sparq_agent::{LayerKind, Layout, NetSpec};

/// Which units and inputs of each layer survive, and the smaller network they make.
#[derive(Debug, Clone)]
pub struct Plan {
    old: Layout,
    /// Per layer: kept output units (heads keep all).
    keep_units: Vec<Vec<bool>>,
    /// Per layer: kept entries of one weight row (fan-in).
    keep_inputs: Vec<Vec<bool>>,
    /// The compact network.
    pub spec: NetSpec,
}

/// Removable units of layer `l`: all-zero weight row and zero bias. At least one unit stays, so
/// the network is never cut in two.
fn kept_units(layout: &Layout, l: usize, params: &[f32]) -> Vec<bool> {
    let layer = &layout.layers[l];
    let (units, fan_in) = (layer.units(), layer.fan_in());
    if layer.is_head {
        return vec![true; units];
    }
    let mut keep: Vec<bool> = (0..units)
        .map(|o| {
            let row =
                &params[layer.weight_offset + o * fan_in..layer.weight_offset + (o + 1) * fan_in];
            params[layer.bias_offset + o] != 0.0 || row.iter().any(|&w| w != 0.0)
        })
        .collect();
    if !keep.contains(&true) {
        keep[0] = true;
    }
    keep
}

/// Plans the compaction of the network `spec` whose parameters are `params`.
pub fn plan(spec: &NetSpec, params: &[f32]) -> Plan {
    let old = spec.layout();
    let mut keep_units = Vec::with_capacity(old.layers.len());
    let mut keep_inputs = Vec::with_capacity(old.layers.len());
    // What the next layer reads: channels of an h×w image, or flat features.
    let (mut channels, mut h, mut w) = match spec.obs.planes() {
        Some((channels, height, width)) => (vec![true; channels], height, width),
        None => (Vec::new(), 0, 0),
    };
    let mut features: Option<Vec<bool>> = match spec.obs.planes() {
        None => Some(vec![true; spec.obs.len()]),
        Some(_) => None,
    };
    let (mut conv_channels, mut hidden) = (Vec::new(), Vec::new());
    for (l, layer) in old.layers.iter().enumerate() {
        let units = kept_units(&old, l, params);
        let count = units.iter().filter(|&&k| k).count();
        match layer.kind {
            LayerKind::Conv3x3 => {
                let k = layer.fan_in() / channels.len();
                keep_inputs.push(
                    channels
                        .iter()
                        .flat_map(|&c| std::iter::repeat_n(c, k))
                        .collect(),
                );
                channels = units.clone();
                (h, w) = (h - 2, w - 2);
                conv_channels.push(count);
            }
            LayerKind::Linear => {
                // The first linear layer after the convolutions reads the flattened [C, H, W].
                let inputs = features
                    .get_or_insert_with(|| {
                        channels
                            .iter()
                            .flat_map(|&c| std::iter::repeat_n(c, h * w))
                            .collect()
                    })
                    .clone();
                keep_inputs.push(inputs);
                if !layer.is_head {
                    features = Some(units.clone());
                    hidden.push(count);
                }
            }
        }
        keep_units.push(units);
    }
    let spec = NetSpec {
        conv_channels,
        hidden,
        ..spec.clone()
    };
    Plan {
        old,
        keep_units,
        keep_inputs,
        spec,
    }
}

impl Plan {
    /// (layer, units before, units after) for every layer that loses units.
    pub fn removed(&self) -> Vec<(String, usize, usize)> {
        self.old
            .layers
            .iter()
            .zip(&self.keep_units)
            .map(|(l, k)| (l.name.clone(), k.len(), k.iter().filter(|&&x| x).count()))
            .filter(|(_, before, after)| after < before)
            .collect()
    }

    /// Number of units removed over all layers.
    pub fn removed_units(&self) -> usize {
        self.removed()
            .iter()
            .map(|(_, before, after)| before - after)
            .sum()
    }

    /// Values per parameter vector of the original network.
    pub fn old_numel(&self) -> usize {
        self.old.numel
    }

    /// Cuts a flat vector laid out like the original parameters (params, target, mask, optimizer
    /// moments…) down to the compact layout.
    pub fn apply(&self, flat: &[f32]) -> Vec<f32> {
        debug_assert_eq!(flat.len(), self.old.numel);
        let mut out = Vec::new();
        for ((layer, units), inputs) in self
            .old
            .layers
            .iter()
            .zip(&self.keep_units)
            .zip(&self.keep_inputs)
        {
            let fan_in = layer.fan_in();
            for (o, _) in units.iter().enumerate().filter(|(_, k)| **k) {
                let row =
                    &flat[layer.weight_offset + o * fan_in..layer.weight_offset + (o + 1) * fan_in];
                out.extend(row.iter().zip(inputs).filter(|(_, k)| **k).map(|(v, _)| *v));
            }
            let bias = &flat[layer.bias_offset..layer.bias_offset + layer.units()];
            out.extend(bias.iter().zip(units).filter(|(_, k)| **k).map(|(v, _)| *v));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_pcg::Pcg64;
    use sparq_agent::{HostPolicy, Scratch};
    use sparq_config::Activation;
    use sparq_envs::ObsSpace;

    fn random_params(spec: &NetSpec, rng: &mut Pcg64) -> Vec<f32> {
        (0..spec.layout().numel)
            .map(|_| rng.random_range(-1.0f32..1.0))
            .collect()
    }

    /// Zeroes unit `o` of layer `name`: its weight row and bias.
    fn remove(spec: &NetSpec, params: &mut [f32], name: &str, o: usize) {
        let layout = spec.layout();
        let l = layout.layers.iter().find(|l| l.name == name).unwrap();
        let f = l.fan_in();
        params[l.weight_offset + o * f..l.weight_offset + (o + 1) * f].fill(0.0);
        params[l.bias_offset + o] = 0.0;
    }

    fn max_q_diff(a: &HostPolicy, b: &HostPolicy, obs: &[Vec<f32>]) -> f32 {
        let (mut s1, mut s2, mut q1, mut q2) = (
            Scratch::default(),
            Scratch::default(),
            Vec::new(),
            Vec::new(),
        );
        obs.iter()
            .map(|o| {
                a.q_values(o, &mut s1, &mut q1);
                b.q_values(o, &mut s2, &mut q2);
                q1.iter()
                    .zip(&q2)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f32::max)
            })
            .fold(0.0, f32::max)
    }

    fn check(
        spec: NetSpec,
        removals: &[(&str, usize)],
        expect_conv: Vec<usize>,
        expect_hidden: Vec<usize>,
        binary: bool,
    ) {
        let mut rng = Pcg64::seed_from_u64(7);
        let mut params = random_params(&spec, &mut rng);
        for &(name, o) in removals {
            remove(&spec, &mut params, name, o);
        }
        let p = plan(&spec, &params);
        assert_eq!(p.spec.conv_channels, expect_conv);
        assert_eq!(p.spec.hidden, expect_hidden);
        assert_eq!(p.removed_units(), removals.len());
        let compact = p.apply(&params);
        assert_eq!(compact.len(), p.spec.layout().numel);
        let a = HostPolicy::new(spec.clone(), params).unwrap();
        let b = HostPolicy::new(p.spec.clone(), compact).unwrap();
        let obs: Vec<Vec<f32>> = (0..50)
            .map(|_| {
                (0..spec.obs.len())
                    .map(|_| {
                        if binary {
                            f32::from(rng.random_bool(0.3))
                        } else {
                            rng.random_range(-2.0f32..2.0)
                        }
                    })
                    .collect()
            })
            .collect();
        let d = max_q_diff(&a, &b, &obs);
        assert!(d < 1e-5, "max |ΔQ| = {d}");
    }

    #[test]
    fn mlp_units_are_cut_with_their_next_layer_columns() {
        let spec = NetSpec {
            obs: ObsSpace::Vector { dim: 3 },
            num_actions: 2,
            conv_channels: vec![],
            hidden: vec![5, 4],
            activation: Activation::Tanh,
            dueling: false,
        };
        check(
            spec,
            &[("fc0", 1), ("fc0", 4), ("fc1", 0)],
            vec![],
            vec![3, 3],
            false,
        );
    }

    #[test]
    fn dueling_heads_both_lose_the_columns() {
        let spec = NetSpec {
            obs: ObsSpace::Vector { dim: 4 },
            num_actions: 3,
            conv_channels: vec![],
            hidden: vec![6],
            activation: Activation::Elu,
            dueling: true,
        };
        check(
            spec,
            &[("fc0", 0), ("fc0", 2), ("fc0", 5)],
            vec![],
            vec![3],
            false,
        );
    }

    #[test]
    fn conv_channels_are_cut_with_their_flattened_features() {
        let spec = NetSpec {
            obs: ObsSpace::Binary {
                channels: 2,
                height: 6,
                width: 5,
            },
            num_actions: 3,
            conv_channels: vec![4, 3],
            hidden: vec![5],
            activation: Activation::Relu,
            dueling: false,
        };
        check(
            spec,
            &[("conv0", 2), ("conv1", 1), ("fc0", 3)],
            vec![3, 2],
            vec![4],
            true,
        );
    }

    #[test]
    fn heads_and_live_units_stay_and_one_unit_always_survives() {
        let spec = NetSpec {
            obs: ObsSpace::Vector { dim: 2 },
            num_actions: 2,
            conv_channels: vec![],
            hidden: vec![3],
            activation: Activation::Relu,
            dueling: false,
        };
        let mut params = vec![0.0f32; spec.layout().numel];
        let layout = spec.layout();
        // A unit with a zero row but a bias is not removable.
        params[layout.layers[0].bias_offset + 1] = 0.5;
        let p = plan(&spec, &params);
        assert_eq!(p.spec.hidden, vec![1]);
        assert_eq!(p.removed(), vec![("fc0".to_string(), 3, 1)]);
        // All-zero layer: unit 0 is kept.
        let p = plan(&spec, &vec![0.0; layout.numel]);
        assert_eq!(p.spec.hidden, vec![1]);
        assert_eq!(p.removed_units(), 2);
        // A dense network has nothing to remove.
        let p = plan(&spec, &vec![1.0; layout.numel]);
        assert_eq!(p.removed_units(), 0);
        assert_eq!(p.apply(&vec![1.0; layout.numel]).len(), layout.numel);
    }
}
