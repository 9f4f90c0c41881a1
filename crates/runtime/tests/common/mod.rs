//! Random networks for the tests, and a plain f64 forward pass to check the kernels against.

#![allow(dead_code, clippy::too_many_arguments)]

use sparq_runtime::{Activation, Format, LayerData, LayerKind, PolicyFile, Role, quant};

/// A small deterministic generator (no dependencies).
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// A network on `obs_shape` ([dim] or [c, h, w]) with one conv of 6 channels for images, then
/// `hidden`, with weights zeroed at `sparsity` and stored as `format`.
pub fn network(
    obs_shape: &[usize],
    hidden: &[usize],
    actions: usize,
    activation: Activation,
    dueling: bool,
    sparsity: f32,
    format: Format,
    seed: u64,
) -> PolicyFile {
    let mut rng = Rng(seed);
    let mut layers = Vec::new();
    let mut push = |name: &str, kind, role, units: usize, fan_in: usize, rng: &mut Rng| {
        let w: Vec<f32> = (0..units * fan_in)
            .map(|_| {
                let v = rng.next();
                if (rng.next() + 1.0) / 2.0 < sparsity {
                    0.0
                } else {
                    v / (fan_in as f32).sqrt()
                }
            })
            .collect();
        let fmt = if kind == LayerKind::Conv3x3 {
            Format::DenseF32
        } else {
            format
        };
        layers.push(LayerData {
            name: name.into(),
            kind,
            role,
            units,
            fan_in,
            source_nonzero: w.iter().filter(|v| **v != 0.0).count(),
            weights: quant::encode(&w, units, fan_in, fmt),
            bias: (0..units).map(|_| rng.next() * 0.1).collect(),
        });
    };
    let mut features = obs_shape.iter().product::<usize>();
    if let [c, h, w] = obs_shape[..] {
        push(
            "conv0",
            LayerKind::Conv3x3,
            Role::Hidden,
            6,
            c * 9,
            &mut rng,
        );
        features = 6 * (h - 2) * (w - 2);
    }
    for (i, &u) in hidden.iter().enumerate() {
        push(
            &format!("fc{i}"),
            LayerKind::Linear,
            Role::Hidden,
            u,
            features,
            &mut rng,
        );
        features = u;
    }
    if dueling {
        push(
            "value",
            LayerKind::Linear,
            Role::Value,
            1,
            features,
            &mut rng,
        );
        push(
            "advantage",
            LayerKind::Linear,
            Role::Advantage,
            actions,
            features,
            &mut rng,
        );
    } else {
        push(
            "out",
            LayerKind::Linear,
            Role::Out,
            actions,
            features,
            &mut rng,
        );
    }
    PolicyFile {
        env_id: "Test-v0".into(),
        obs_shape: obs_shape.to_vec(),
        num_actions: actions,
        activation,
        dueling,
        source_hash: [7; 32],
        layers,
    }
}

fn act(f: Activation, v: f64) -> f64 {
    match f {
        Activation::Relu => v.max(0.0),
        Activation::Tanh => v.tanh(),
        Activation::Elu => {
            if v > 0.0 {
                v
            } else {
                v.exp_m1()
            }
        }
        Activation::Gelu => 0.5 * v * (1.0 + libm::erf(v / std::f64::consts::SQRT_2)),
        Activation::LeakyRelu => {
            if v > 0.0 {
                v
            } else {
                0.01 * v
            }
        }
    }
}

/// Q-values in f64 from the file's weights (int8 dequantized): the kernels' reference.
pub fn reference(f: &PolicyFile, obs: &[f32]) -> Vec<f64> {
    let mut x: Vec<f64> = obs.iter().map(|&v| v as f64).collect();
    let (mut c, mut h, mut w) = match f.obs_shape[..] {
        [c, h, w] => (c, h, w),
        _ => (x.len(), 1, 1),
    };
    let (mut q, mut value) = (Vec::new(), 0.0);
    for l in &f.layers {
        let wt = l.weights.to_dense(l.units, l.fan_in);
        match l.kind {
            LayerKind::Conv3x3 => {
                let (oh, ow) = (h - 2, w - 2);
                let mut y = vec![0f64; l.units * oh * ow];
                for o in 0..l.units {
                    for r in 0..oh {
                        for cc in 0..ow {
                            let mut s = l.bias[o] as f64;
                            for ci in 0..c {
                                for kr in 0..3 {
                                    for kc in 0..3 {
                                        s += wt[((o * c + ci) * 3 + kr) * 3 + kc] as f64
                                            * x[ci * h * w + (r + kr) * w + cc + kc];
                                    }
                                }
                            }
                            y[(o * oh + r) * ow + cc] = act(f.activation, s);
                        }
                    }
                }
                x = y;
                (c, h, w) = (l.units, oh, ow);
            }
            LayerKind::Linear => {
                let y: Vec<f64> = (0..l.units)
                    .map(|o| {
                        l.bias[o] as f64
                            + (0..l.fan_in)
                                .map(|j| wt[o * l.fan_in + j] as f64 * x[j])
                                .sum::<f64>()
                    })
                    .collect();
                match l.role {
                    Role::Hidden => x = y.into_iter().map(|v| act(f.activation, v)).collect(),
                    Role::Value => value = y[0],
                    Role::Out | Role::Advantage => q = y,
                }
            }
        }
    }
    if f.dueling {
        let mean = q.iter().sum::<f64>() / q.len() as f64;
        q.iter_mut().for_each(|v| *v = *v - mean + value);
    }
    q
}
