//! Q-network architecture: the spec stored in checkpoints and the layer table over one flat
//! parameter vector.
//!
//! All weights and biases live in ONE contiguous vector; layers are views into it. Masking,
//! gradient clipping, the optimizer and target syncs are then a handful of tensor ops per update
//! whatever the depth, and checkpoints store a single tensor with a stable layout.

use serde::{Deserialize, Serialize};
use sparq_envs::ObsSpace;

use crate::{Activation, NetworkConfig, PolicyError};

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
        let conv_channels = match obs.planes() {
            Some(_) => cfg.scaled_conv_channels(),
            None => Vec::new(),
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
        let mut features = match self.obs.planes() {
            None => self.obs.len(),
            Some((channels, height, width)) => {
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
    pub fn validate(&self) -> Result<(), PolicyError> {
        if let Some((_, height, width)) = self.obs.planes() {
            let shrink = 2 * self.conv_channels.len();
            if height <= shrink || width <= shrink {
                return Err(PolicyError::Spec(format!(
                    "network.conv_channels: {} 3×3 convolutions leave nothing of a {height}×{width} observation",
                    self.conv_channels.len()
                )));
            }
        }
        Ok(())
    }
}
