//! `sparq export --format policy`: the network as a `sparq-runtime` policy file, each linear
//! layer in the format its density calls for, verified against the libtorch forward.

use std::path::Path;

use anyhow::{Context, Result};
use sparq_agent::{HostPolicy, LayerKind, NetSpec};
use sparq_config::Activation;
use sparq_envs::ObsSpace;
use sparq_runtime::{Format, LayerData, PolicyFile, Role, quant};
use tch::Tensor;

/// SHA-256 of a checkpoint's MANIFEST: names the exact weights a policy file came from.
pub fn source_hash(checkpoint: &Path) -> Result<[u8; 32]> {
    use sha2::Digest;
    let manifest = checkpoint.join("MANIFEST");
    let bytes = std::fs::read(&manifest).with_context(|| manifest.display().to_string())?;
    Ok(sha2::Sha256::digest(&bytes).into())
}

pub fn obs_shape(obs: &ObsSpace) -> Vec<usize> {
    match obs.planes() {
        Some((c, h, w)) => vec![c, h, w],
        None => vec![obs.len()],
    }
}

/// The policy file of `policy`: convolutions dense f32, linear layers by `choose(density)`; with
/// `int8`, a linear layer reading the observation itself and the heads stay f32 (they hold few
/// weights, and their rounding errors reach the Q-values undamped).
pub fn build(
    policy: &HostPolicy,
    env_id: &str,
    source_hash: [u8; 32],
    int8: bool,
    choose: impl Fn(f64, bool) -> Format,
) -> PolicyFile {
    let spec: &NetSpec = policy.spec();
    let params = policy.params();
    let layout = spec.layout();
    // The linear layer reading the raw observation (none when convolutions come first).
    let obs_layer = (layout.layers.first().map(|l| l.kind) == Some(LayerKind::Linear)).then_some(0);
    let layers = layout
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let (units, fan_in) = (l.units(), l.fan_in());
            let w = &params[l.weight_offset..l.weight_offset + l.weight_numel()];
            let nonzero = w.iter().filter(|v| **v != 0.0).count();
            let (kind, format) = match l.kind {
                LayerKind::Conv3x3 => (sparq_runtime::LayerKind::Conv3x3, Format::DenseF32),
                LayerKind::Linear => (
                    sparq_runtime::LayerKind::Linear,
                    choose(
                        nonzero as f64 / w.len() as f64,
                        int8 && !l.is_head && Some(i) != obs_layer,
                    ),
                ),
            };
            let role = match (l.is_head, l.name.as_str()) {
                (false, _) => Role::Hidden,
                (true, "value") => Role::Value,
                (true, "advantage") => Role::Advantage,
                (true, _) => Role::Out,
            };
            LayerData {
                name: l.name.clone(),
                kind,
                role,
                units,
                fan_in,
                source_nonzero: nonzero,
                weights: quant::encode(w, units, fan_in, format),
                bias: params[l.bias_offset..l.bias_offset + units].to_vec(),
            }
        })
        .collect();
    PolicyFile {
        env_id: env_id.to_string(),
        obs_shape: obs_shape(&spec.obs),
        num_actions: spec.num_actions,
        activation: match spec.activation {
            Activation::Relu => sparq_runtime::Activation::Relu,
            Activation::Tanh => sparq_runtime::Activation::Tanh,
            Activation::Elu => sparq_runtime::Activation::Elu,
            Activation::Gelu => sparq_runtime::Activation::Gelu,
            Activation::LeakyRelu => sparq_runtime::Activation::LeakyRelu,
        },
        dueling: spec.dueling,
        source_hash,
        layers,
    }
}

/// libtorch's Q-values for `states` (row-major observations), `[n × actions]`, computed in
/// `kind`: `Float` as trained, `Double` for a reference that f32 rounding does not reach
/// (returned rounded to f32).
pub fn torch_q(policy: &HostPolicy, states: &[f32], kind: tch::Kind) -> Result<Vec<f32>> {
    let spec = policy.spec();
    let layout = spec.layout();
    let _guard = tch::no_grad_guard();
    let flat = Tensor::from_slice(policy.params()).f_to_kind(kind)?;
    let mut shape: Vec<i64> = vec![-1];
    shape.extend(obs_shape(&spec.obs).iter().map(|&d| d as i64));
    let mut q = Vec::with_capacity(states.len() / spec.obs.len() * spec.num_actions);
    for chunk in states.chunks(4096 * spec.obs.len()) {
        let obs = Tensor::from_slice(chunk)
            .f_view(shape.as_slice())?
            .f_to_kind(kind)?;
        let out = sparq_agent::forward(spec, &layout, &flat, &obs)?
            .f_to_kind(tch::Kind::Float)?
            .f_contiguous()?;
        q.extend(Vec::<f32>::try_from(out.f_view([-1])?)?);
    }
    Ok(q)
}

/// How far `q` is from the reference `r`, both `[n × actions]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Agreement {
    pub states: usize,
    pub same_action: usize,
    /// max |q − r| / max(|r|, 1) over all values: relative error, floored at 1 so that Q-values
    /// near zero do not turn rounding into huge ratios.
    pub max_rel: f64,
    pub max_abs: f64,
    /// Greedy actions that differ where the reference's Q-values of the two actions are within
    /// [`TIE`] (relative) of each other: rounding decides those, not the network.
    pub near_ties: usize,
}

/// Q-values closer than this (relative, floored at 1) count as a tie.
pub const TIE: f64 = 1e-5;

impl Agreement {
    pub fn of(q: &[f32], r: &[f32], actions: usize) -> Agreement {
        let mut a = Agreement::default();
        for (qs, rs) in q.chunks_exact(actions).zip(r.chunks_exact(actions)) {
            a.states += 1;
            let (i, j) = (sparq_runtime::argmax(qs), sparq_runtime::argmax(rs));
            if i == j {
                a.same_action += 1;
            } else if (rs[i] as f64 - rs[j] as f64).abs() <= TIE * (rs[j] as f64).abs().max(1.0) {
                a.near_ties += 1;
            }
            for (&x, &y) in qs.iter().zip(rs) {
                let d = (x as f64 - y as f64).abs();
                a.max_abs = a.max_abs.max(d);
                a.max_rel = a.max_rel.max(d / (y as f64).abs().max(1.0));
            }
        }
        a
    }
    pub fn action_rate(&self) -> f64 {
        self.same_action as f64 / self.states.max(1) as f64
    }
}

/// Writes the states and libtorch's Q-values for an outside check (scripts/dev/check-onnx):
/// `u32 n, u32 obs_len, u32 actions`, then `n × obs_len` f32 states, then `n × actions` f32.
pub fn write_reference(
    path: &Path,
    states: &[f32],
    q: &[f32],
    obs_len: usize,
    actions: usize,
) -> Result<()> {
    let n = states.len() / obs_len;
    let mut b = Vec::with_capacity(12 + 4 * (states.len() + q.len()));
    for v in [n, obs_len, actions] {
        b.extend_from_slice(&(v as u32).to_le_bytes());
    }
    for v in states.iter().chain(q) {
        b.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, b).with_context(|| format!("--reference {}", path.display()))
}
