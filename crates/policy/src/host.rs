//! The Q-network's forward pass in plain Rust, for acting and evaluation.
//!
//! Batch-1 greedy actions are latency-bound: a 64×64 MLP is a few thousand multiply-adds, far less
//! than the fixed cost of the ~10 libtorch ops a tensor forward takes. Evaluating here also lets
//! rayon run episodes on every core (tch tensors are not `Sync`). Tests check that it agrees with
//! the libtorch forward.

use crate::net::{LayerKind, Layout, NetSpec};
use crate::{Activation, PolicyError};

/// Read-only policy, shareable across threads; per-thread buffers live in [`Scratch`].
#[derive(Debug, Clone)]
pub struct HostPolicy {
    spec: NetSpec,
    layout: Layout,
    params: Vec<f32>,
}

/// Activation buffers for one thread.
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    a: Vec<f32>,
    b: Vec<f32>,
    value: f32,
}

impl HostPolicy {
    pub fn new(spec: NetSpec, params: Vec<f32>) -> Result<Self, PolicyError> {
        let layout = spec.layout();
        if params.len() != layout.numel {
            return Err(PolicyError::Params(format!(
                "parameter vector has {} values, the network needs {}",
                params.len(),
                layout.numel
            )));
        }
        Ok(HostPolicy {
            spec,
            layout,
            params,
        })
    }

    pub fn spec(&self) -> &NetSpec {
        &self.spec
    }
    pub fn params(&self) -> &[f32] {
        &self.params
    }
    pub fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }

    /// Q-values of one observation, written to `q` (resized to `num_actions`).
    pub fn q_values(&self, obs: &[f32], s: &mut Scratch, q: &mut Vec<f32>) {
        s.a.clear();
        s.a.extend_from_slice(obs);
        let (mut c, mut h, mut w) = self.spec.obs.planes().unwrap_or((obs.len(), 1, 1));
        q.clear();
        for l in &self.layout.layers {
            let wts = &self.params[l.weight_offset..l.weight_offset + l.weight_numel()];
            let bias = &self.params[l.bias_offset..l.bias_offset + l.units()];
            match l.kind {
                LayerKind::Conv3x3 => {
                    conv3x3(&s.a, c, h, w, wts, bias, l.units(), &mut s.b);
                    (c, h, w) = (l.units(), h - 2, w - 2);
                    activate(self.spec.activation, &mut s.b);
                    std::mem::swap(&mut s.a, &mut s.b);
                }
                LayerKind::Linear => {
                    linear(&s.a, wts, bias, l.units(), &mut s.b);
                    if l.is_head {
                        if l.name == "value" {
                            s.value = s.b[0];
                        } else {
                            q.extend_from_slice(&s.b);
                        }
                    } else {
                        activate(self.spec.activation, &mut s.b);
                        std::mem::swap(&mut s.a, &mut s.b);
                    }
                }
            }
        }
        if self.spec.dueling {
            let mean = q.iter().sum::<f32>() / q.len() as f32;
            for v in q.iter_mut() {
                *v = *v - mean + s.value;
            }
        }
    }

    /// Greedy action (ties → lowest index, as `torch.argmax`).
    pub fn greedy(&self, obs: &[f32], s: &mut Scratch, q: &mut Vec<f32>) -> usize {
        self.q_values(obs, s, q);
        argmax(q)
    }
}

pub fn argmax(q: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in q.iter().enumerate() {
        if v > q[best] {
            best = i;
        }
    }
    best
}

fn linear(x: &[f32], w: &[f32], b: &[f32], units: usize, y: &mut Vec<f32>) {
    let n = x.len();
    y.clear();
    y.extend((0..units).map(|o| {
        let row = &w[o * n..(o + 1) * n];
        b[o] + row.iter().zip(x).map(|(a, b)| a * b).sum::<f32>()
    }));
}

#[allow(clippy::too_many_arguments)]
fn conv3x3(
    x: &[f32],
    c: usize,
    h: usize,
    w: usize,
    wts: &[f32],
    bias: &[f32],
    out: usize,
    y: &mut Vec<f32>,
) {
    let (oh, ow) = (h - 2, w - 2);
    y.clear();
    y.resize(out * oh * ow, 0.0);
    for o in 0..out {
        let plane = &mut y[o * oh * ow..(o + 1) * oh * ow];
        plane.fill(bias[o]);
        for ci in 0..c {
            let k = &wts[(o * c + ci) * 9..(o * c + ci) * 9 + 9];
            let src = &x[ci * h * w..(ci + 1) * h * w];
            for r in 0..oh {
                for col in 0..ow {
                    let mut acc = 0.0;
                    for kr in 0..3 {
                        let row = &src[(r + kr) * w + col..(r + kr) * w + col + 3];
                        acc += k[kr * 3] * row[0] + k[kr * 3 + 1] * row[1] + k[kr * 3 + 2] * row[2];
                    }
                    plane[r * ow + col] += acc;
                }
            }
        }
    }
}

fn activate(f: Activation, x: &mut [f32]) {
    match f {
        Activation::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
        Activation::Tanh => x.iter_mut().for_each(|v| *v = v.tanh()),
        Activation::Elu => x
            .iter_mut()
            .for_each(|v| *v = if *v > 0.0 { *v } else { v.exp_m1() }),
        Activation::Gelu => x
            .iter_mut()
            .for_each(|v| *v = 0.5 * *v * (1.0 + libm::erff(*v * std::f32::consts::FRAC_1_SQRT_2))),
        Activation::LeakyRelu => x
            .iter_mut()
            .for_each(|v| *v = if *v > 0.0 { *v } else { 0.01 * *v }),
    }
}
