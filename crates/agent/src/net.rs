//! The Q-network's libtorch forward pass and initialisation over one flat parameter tensor
//! (the architecture itself is `sparq_policy::NetSpec`).

use sparq_config::Activation;
use sparq_envs::ObsSpace;
use sparq_policy::{LayerKind, Layout, NetSpec};
use tch::{Kind, Tensor};

use crate::AgentError;

/// Forward pass of the Q-network whose parameters are `flat`: `obs` is `[batch, ...obs shape]`,
/// the result `[batch, num_actions]`. Autograd flows into `flat` through one split.
pub fn forward(
    spec: &NetSpec,
    layout: &Layout,
    flat: &Tensor,
    obs: &Tensor,
) -> Result<Tensor, AgentError> {
    let mut sizes = Vec::with_capacity(2 * layout.layers.len());
    for l in &layout.layers {
        sizes.push(l.weight_numel() as i64);
        sizes.push(l.units() as i64);
    }
    let chunks = flat.f_split_with_sizes(sizes.as_slice(), 0)?;
    let act = |x: Tensor| activate(spec.activation, &x);
    let mut x = obs.shallow_clone();
    let mut flattened = matches!(spec.obs, ObsSpace::Vector { .. });
    let mut head_out: Vec<Tensor> = Vec::with_capacity(2);
    for (i, l) in layout.layers.iter().enumerate() {
        let shape: Vec<i64> = l.weight_shape.iter().map(|&d| d as i64).collect();
        let w = chunks[2 * i].f_view(shape.as_slice())?;
        let b = &chunks[2 * i + 1];
        match l.kind {
            LayerKind::Conv3x3 => {
                x = act(x.f_conv2d(&w, Some(b), [1, 1], [0, 0], [1, 1], 1)?)?;
            }
            LayerKind::Linear => {
                if !flattened {
                    x = x.f_flatten(1, -1)?;
                    flattened = true;
                }
                let y = x.f_linear(&w, Some(b))?;
                if l.is_head {
                    head_out.push(y);
                } else {
                    x = act(y)?;
                }
            }
        }
    }
    if spec.dueling {
        let (v, a) = (&head_out[0], &head_out[1]);
        let centred = a.f_sub(&a.f_mean_dim(1, true, Kind::Float)?)?;
        Ok(centred.f_add(v)?)
    } else {
        Ok(head_out.swap_remove(0))
    }
}

/// The hidden layers' nonlinearity.
pub(crate) fn activate(activation: Activation, x: &Tensor) -> Result<Tensor, AgentError> {
    Ok(match activation {
        Activation::Relu => x.f_relu()?,
        Activation::Tanh => x.f_tanh()?,
        Activation::Elu => x.f_elu()?,
        Activation::Gelu => x.f_gelu("none")?,
        Activation::LeakyRelu => x.f_leaky_relu()?,
    })
}

/// Seeding and drawing from libtorch's generator, which is one per process, as one step.
static TORCH_GENERATOR: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// PyTorch's default `nn.Linear`/`nn.Conv2d` initialisation (U(±1/√fan_in) for weights and
/// biases), drawn from libtorch's generator seeded with `seed`. That generator is global, so the
/// seeding and the draws hold a lock: networks initialised at once on several threads each get
/// the weights their seed names.
pub fn init_params(layout: &Layout, device: tch::Device, seed: u64) -> Result<Tensor, AgentError> {
    let _turn = TORCH_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(seed as i64);
    let mut parts = Vec::with_capacity(2 * layout.layers.len());
    for l in &layout.layers {
        let bound = 1.0 / (l.fan_in() as f64).sqrt();
        for n in [l.weight_numel(), l.units()] {
            let u = Tensor::f_rand([n as i64], (Kind::Float, device))?;
            parts.push(u.f_mul_scalar(2.0 * bound)?.f_sub_scalar(bound)?);
        }
    }
    Ok(Tensor::f_cat(&parts, 0)?)
}
