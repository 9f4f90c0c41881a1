//! Q-network architecture and its forward pass over one flat parameter tensor.
//!
//! All weights and biases live in ONE contiguous tensor; layers are views into it. Masking,
//! gradient clipping, the optimizer and target syncs are then a handful of tensor ops per update
//! whatever the depth, and checkpoints store a single tensor with a stable layout.

use serde::{Deserialize, Serialize};
use sparq_config::{Activation, NetworkConfig};
use sparq_envs::ObsSpace;
use tch::{Kind, Tensor};

use crate::AgentError;

/// Everything needed to rebuild a Q-network; stored in checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetSpec {
    pub obs: ObsSpace,
    pub num_actions: usize,
    /// Output channels of the 3×3 stride-1 convolutions (image observations only).
    pub conv_channels: Vec<usize>,
    /// Widths of the fully connected hidden layers.
    pub hidden: Vec<usize>,
    pub activation: Activation,
    /// Dueling heads: Q = V + A − mean(A).
    pub dueling: bool,
}

/// Kind of a layer; decides its forward op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LayerKind {
    Conv3x3,
    Linear,
}

/// One weight layer: its name (`conv0`, `fc0`, `out`, `value`, `advantage`), weight shape
/// (dim 0 = output units) and where weight and bias sit in the flat parameter vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub name: String,
    pub kind: LayerKind,
    pub weight_shape: Vec<usize>,
    pub weight_offset: usize,
    pub bias_offset: usize,
    /// A head (its outputs are actions or values): never removed by neuron pruning.
    pub is_head: bool,
}

impl Layer {
    pub fn weight_numel(&self) -> usize {
        self.weight_shape.iter().product()
    }
    pub fn units(&self) -> usize {
        self.weight_shape[0]
    }
    /// Inputs feeding one output unit (fan-in).
    pub fn fan_in(&self) -> usize {
        self.weight_numel() / self.units()
    }
}

/// The layer table of a [`NetSpec`].
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub layers: Vec<Layer>,
    pub numel: usize,
}

impl NetSpec {
    /// The network the config asks for, given the environment's spaces.
    pub fn from_config(
        cfg: &NetworkConfig,
        dueling: bool,
        obs: ObsSpace,
        num_actions: usize,
    ) -> Self {
        let conv_channels = match obs {
            ObsSpace::Binary { .. } => cfg.scaled_conv_channels(),
            ObsSpace::Vector { .. } => Vec::new(),
        };
        NetSpec {
            obs,
            num_actions,
            conv_channels,
            hidden: cfg.scaled_hidden(),
            activation: cfg.activation,
            dueling,
        }
    }

    pub fn layout(&self) -> Layout {
        let mut layers = Vec::new();
        let mut offset = 0;
        let mut push = |name: String, kind, shape: Vec<usize>, is_head| {
            let numel: usize = shape.iter().product();
            let units = shape[0];
            layers.push(Layer {
                name,
                kind,
                weight_offset: offset,
                bias_offset: offset + numel,
                weight_shape: shape,
                is_head,
            });
            offset += numel + units;
        };
        let mut features = match self.obs {
            ObsSpace::Vector { dim } => dim,
            ObsSpace::Binary {
                channels,
                height,
                width,
            } => {
                let (mut c, mut h, mut w) = (channels, height, width);
                for (i, &out) in self.conv_channels.iter().enumerate() {
                    push(
                        format!("conv{i}"),
                        LayerKind::Conv3x3,
                        vec![out, c, 3, 3],
                        false,
                    );
                    (c, h, w) = (out, h.saturating_sub(2), w.saturating_sub(2));
                }
                c * h * w
            }
        };
        for (i, &h) in self.hidden.iter().enumerate() {
            push(
                format!("fc{i}"),
                LayerKind::Linear,
                vec![h, features],
                false,
            );
            features = h;
        }
        if self.dueling {
            push("value".into(), LayerKind::Linear, vec![1, features], true);
            push(
                "advantage".into(),
                LayerKind::Linear,
                vec![self.num_actions, features],
                true,
            );
        } else {
            push(
                "out".into(),
                LayerKind::Linear,
                vec![self.num_actions, features],
                true,
            );
        }
        Layout {
            layers,
            numel: offset,
        }
    }

    /// Rejects specs whose convolutions shrink the image to nothing.
    pub fn validate(&self) -> Result<(), AgentError> {
        if let ObsSpace::Binary { height, width, .. } = self.obs {
            let shrink = 2 * self.conv_channels.len();
            if height <= shrink || width <= shrink {
                return Err(AgentError::Config(format!(
                    "network.conv_channels: {} 3×3 convolutions leave nothing of a {height}×{width} observation",
                    self.conv_channels.len()
                )));
            }
        }
        Ok(())
    }
}

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

/// PyTorch's default `nn.Linear`/`nn.Conv2d` initialisation (U(±1/√fan_in) for weights and
/// biases), drawn from libtorch's generator (seed it with `tch::manual_seed`).
pub fn init_params(layout: &Layout, device: tch::Device) -> Result<Tensor, AgentError> {
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
