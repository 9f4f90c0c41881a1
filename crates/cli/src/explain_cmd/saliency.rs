//! Saliency of the greedy action's Q-value with respect to the observation, on a batch of
//! states: the gradient (Simonyan et al. 2014), gradient × input, integrated gradients
//! (Sundararajan et al. 2017) from an all-zero baseline, and occlusion (the drop in Q when one
//! feature is set to zero).
//!
//! Gradients come from libtorch's autograd through `sparq_agent::forward`, the forward the
//! learner trains with, so every layer kind, activation and the dueling head are differentiated
//! by the code that defines them rather than by a second, hand-written backward pass that would
//! have to be kept in step with it.

use anyhow::Result;
use sparq_agent::{Layout, NetSpec};
use tch::{Kind, Tensor};

/// The four methods, in the order they are reported.
pub const METHODS: [Method; 4] = [
    Method::Gradient,
    Method::GradientInput,
    Method::IntegratedGradients,
    Method::Occlusion,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Gradient,
    GradientInput,
    IntegratedGradients,
    Occlusion,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Gradient => "gradient",
            Method::GradientInput => "gradient_input",
            Method::IntegratedGradients => "integrated_gradients",
            Method::Occlusion => "occlusion",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Method::Gradient => "gradient",
            Method::GradientInput => "gradient × input",
            Method::IntegratedGradients => "integrated gradients",
            Method::Occlusion => "occlusion",
        }
    }
}

/// A network with its parameters, ready for batched forward passes.
pub struct Net<'a> {
    pub spec: &'a NetSpec,
    pub layout: Layout,
    pub params: Tensor,
}

impl<'a> Net<'a> {
    pub fn new(spec: &'a NetSpec, params: &[f32]) -> Net<'a> {
        Net {
            spec,
            layout: spec.layout(),
            params: Tensor::from_slice(params),
        }
    }

    fn obs_tensor(&self, flat: &[f32], n: usize) -> Result<Tensor> {
        let mut shape = vec![n as i64];
        match self.spec.obs.planes() {
            Some((c, h, w)) => shape.extend([c as i64, h as i64, w as i64]),
            None => shape.push(self.spec.obs.len() as i64),
        }
        Ok(Tensor::from_slice(flat).f_view(shape.as_slice())?)
    }

    /// Q-values, `[n][actions]`, of `n` observations laid end to end in `obs`.
    pub fn q(&self, obs: &[f32]) -> Result<Vec<Vec<f32>>> {
        let d = self.spec.obs.len();
        let n = obs.len() / d;
        let _guard = tch::no_grad_guard();
        let q = sparq_agent::forward(
            self.spec,
            &self.layout,
            &self.params,
            &self.obs_tensor(obs, n)?,
        )?;
        let flat = Vec::<f32>::try_from(q.f_flatten(0, -1)?)?;
        Ok(flat
            .chunks(self.spec.num_actions)
            .map(<[f32]>::to_vec)
            .collect())
    }

    /// ∂Q(x, a_i)/∂x for each observation `x_i` and action `actions[i % actions.len()]`.
    fn grad(&self, obs: &[f32], actions: &[i64]) -> Result<Vec<f32>> {
        let d = self.spec.obs.len();
        let n = obs.len() / d;
        let x = self.obs_tensor(obs, n)?.f_detach()?.set_requires_grad(true);
        let q = sparq_agent::forward(self.spec, &self.layout, &self.params.f_detach()?, &x)?;
        let idx: Vec<i64> = (0..n).map(|i| actions[i % actions.len()]).collect();
        let a = Tensor::from_slice(&idx).f_view([n as i64, 1])?;
        let chosen = q.f_gather(1, &a, false)?.f_sum(Kind::Float)?;
        let g = Tensor::f_run_backward(&[chosen], &[&x], false, false)?;
        Ok(Vec::<f32>::try_from(g[0].f_flatten(0, -1)?)?)
    }
}

/// Saliency maps of one method: `[state][feature]`, laid end to end.
pub struct Maps {
    pub method: Method,
    pub values: Vec<f32>,
}

/// Every method's maps for `states` (`n × d` values) and their greedy `actions`.
/// Occlusion runs on the first `occlusion_states` states only (d forward passes each).
pub fn all_maps(
    net: &Net<'_>,
    states: &[f32],
    actions: &[usize],
    ig_steps: usize,
    occlusion_states: usize,
) -> Result<Vec<Maps>> {
    let d = net.spec.obs.len();
    let n = actions.len();
    let acts: Vec<i64> = actions.iter().map(|&a| a as i64).collect();
    let grad = net.grad(states, &acts)?;
    let grad_input: Vec<f32> = grad.iter().zip(states).map(|(g, x)| g * x).collect();
    let ig = integrated_gradients(net, states, &acts, ig_steps)?;
    let occ = occlusion(net, &states[..occlusion_states.min(n) * d], actions)?;
    Ok(vec![
        Maps {
            method: Method::Gradient,
            values: grad,
        },
        Maps {
            method: Method::GradientInput,
            values: grad_input,
        },
        Maps {
            method: Method::IntegratedGradients,
            values: ig,
        },
        Maps {
            method: Method::Occlusion,
            values: occ,
        },
    ])
}

/// x ⊙ mean over α of ∂Q(αx)/∂x, α at the midpoints of `steps` equal intervals of [0, 1]
/// (the midpoint rule; its error falls as 1/steps²).
fn integrated_gradients(
    net: &Net<'_>,
    states: &[f32],
    acts: &[i64],
    steps: usize,
) -> Result<Vec<f32>> {
    let d = net.spec.obs.len();
    let n = acts.len();
    let mut sum = vec![0f32; n * d];
    // One batch per α keeps memory at one batch of states, whatever the number of steps.
    for k in 0..steps {
        let alpha = (k as f32 + 0.5) / steps as f32;
        let scaled: Vec<f32> = states.iter().map(|x| alpha * x).collect();
        let g = net.grad(&scaled, acts)?;
        sum.iter_mut().zip(&g).for_each(|(s, g)| *s += g);
    }
    Ok(sum
        .iter()
        .zip(states)
        .map(|(s, x)| s / steps as f32 * x)
        .collect())
}

/// Q(x, a) − Q(x with feature j set to 0, a) for every feature j of every state.
fn occlusion(net: &Net<'_>, states: &[f32], actions: &[usize]) -> Result<Vec<f32>> {
    let d = net.spec.obs.len();
    let n = states.len() / d;
    let mut out = Vec::with_capacity(n * d);
    for i in 0..n {
        let x = &states[i * d..(i + 1) * d];
        let base = net.q(x)?[0][actions[i]];
        let mut batch = Vec::with_capacity(d * d);
        for j in 0..d {
            batch.extend_from_slice(x);
            batch[j * d + j] = 0.0;
        }
        // A feature already at zero cannot be occluded: its drop is exactly 0.
        let q = net.q(&batch)?;
        out.extend((0..d).map(|j| {
            if x[j] == 0.0 {
                0.0
            } else {
                base - q[j][actions[i]]
            }
        }));
    }
    Ok(out)
}

/// Spearman's rank correlation of two equally long samples (average ranks for ties); `None`
/// when either is constant, where the correlation is undefined.
pub fn spearman(a: &[f32], b: &[f32]) -> Option<f64> {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        cov += (x - ma) * (y - mb);
        va += (x - ma) * (x - ma);
        vb += (y - mb) * (y - mb);
    }
    (va > 0.0 && vb > 0.0).then(|| cov / (va * vb).sqrt())
}

/// 1-based ranks, ties sharing their average rank.
fn ranks(v: &[f32]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparq_config::Activation;
    use sparq_envs::ObsSpace;

    #[test]
    fn spearman_of_monotone_and_reversed_samples() {
        let a = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(spearman(&a, &[10.0, 20.0, 30.0, 400.0]), Some(1.0));
        assert_eq!(spearman(&a, &[4.0, 3.0, 2.0, 1.0]), Some(-1.0));
        assert_eq!(spearman(&a, &[1.0, 1.0, 1.0, 1.0]), None);
        assert_eq!(ranks(&[5.0, 1.0, 5.0]), vec![2.5, 1.0, 2.5]);
    }

    #[test]
    fn integrated_gradients_sum_to_the_q_difference() {
        // Completeness (Sundararajan et al.): Σ IG = Q(x) − Q(0), up to the quadrature error.
        let spec = NetSpec {
            obs: ObsSpace::Vector { dim: 3 },
            num_actions: 2,
            conv_channels: vec![],
            hidden: vec![8],
            activation: Activation::Tanh,
            dueling: false,
        };
        let n = spec.layout().numel;
        let params: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 13) as f32 / 13.0 - 0.5)
            .collect();
        let net = Net::new(&spec, &params);
        let x = [0.3f32, -0.8, 0.5];
        let ig = integrated_gradients(&net, &x, &[1], 256).unwrap();
        let q1 = net.q(&x).unwrap()[0][1];
        let q0 = net.q(&[0.0; 3]).unwrap()[0][1];
        let sum: f32 = ig.iter().sum();
        assert!((sum - (q1 - q0)).abs() < 1e-4, "{sum} vs {}", q1 - q0);
    }

    #[test]
    fn occlusion_of_a_linear_net_is_w_times_x() {
        let spec = NetSpec {
            obs: ObsSpace::Vector { dim: 2 },
            num_actions: 1,
            conv_channels: vec![],
            hidden: vec![],
            activation: Activation::Relu,
            dueling: false,
        };
        // out: w = [2, -3], b = 1.
        let net = Net::new(&spec, &[2.0, -3.0, 1.0]);
        let occ = occlusion(&net, &[0.5, 2.0], &[0]).unwrap();
        assert_eq!(occ, vec![1.0, -6.0]);
    }
}
