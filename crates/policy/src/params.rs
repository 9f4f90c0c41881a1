//! `[network]`: the Q-network's shape. The raw section with its defaults;
//! [`NetworkConfig::check`] is the only way a run accepts it.

use serde::{Deserialize, Serialize};
use sparq_params::{ParamError, fmt_f, range};

/// Widest hidden layer or conv layer, after `network.width_multiplier`.
pub const MAX_WIDTH: usize = 65536;
/// Largest `network.width_multiplier`.
pub const MAX_WIDTH_MULTIPLIER: f64 = 64.0;

/// The hidden-layer activation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    #[default]
    Relu,
    Tanh,
    Elu,
    Gelu,
    LeakyRelu,
}

/// `[network]`: the Q-network's shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// Widths of the fully connected hidden layers (may be empty: a linear Q-function).
    pub hidden: Vec<usize>,
    pub activation: Activation,
    /// Channels of the 3x3 stride-1 conv layers used for image observations.
    pub conv_channels: Vec<usize>,
    /// Scales every hidden and conv width: `max(1, round(width * width_multiplier))`.
    pub width_multiplier: f64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            hidden: vec![64, 64],
            activation: Activation::Relu,
            conv_channels: vec![16],
            width_multiplier: 1.0,
        }
    }
}

impl NetworkConfig {
    /// One layer width after `width_multiplier`: rounded, at least 1.
    pub fn scaled_width(&self, width: usize) -> usize {
        // f64 is exact for any layer width a network can have; the cast saturates.
        ((width as f64 * self.width_multiplier).round() as usize).max(1)
    }

    /// `hidden` after `width_multiplier`.
    pub fn scaled_hidden(&self) -> Vec<usize> {
        self.hidden.iter().map(|&w| self.scaled_width(w)).collect()
    }

    /// `conv_channels` after `width_multiplier`.
    pub fn scaled_conv_channels(&self) -> Vec<usize> {
        self.conv_channels
            .iter()
            .map(|&w| self.scaled_width(w))
            .collect()
    }

    /// Every value in its range (one-line error naming key, value and range): widths and the
    /// multiplier bounded so the network, its optimizer state and a checkpoint stay addressable.
    pub fn check(&self) -> Result<(), ParamError> {
        let m = self.width_multiplier;
        range(
            m > 0.0 && m <= MAX_WIDTH_MULTIPLIER,
            "network.width_multiplier",
            fmt_f(m),
            format!("(0, {MAX_WIDTH_MULTIPLIER}]"),
        )?;
        for (list, widths) in [
            ("network.hidden", &self.hidden),
            ("network.conv_channels", &self.conv_channels),
        ] {
            for (i, &w) in widths.iter().enumerate() {
                let key = format!("{list}[{i}]");
                range(
                    (1..=MAX_WIDTH).contains(&w),
                    &key,
                    w,
                    format!("1..={MAX_WIDTH}"),
                )?;
                let scaled = self.scaled_width(w);
                range(
                    scaled <= MAX_WIDTH,
                    &key,
                    w,
                    format!(
                        "1..={MAX_WIDTH} after network.width_multiplier ({} × {w} = {scaled})",
                        fmt_f(m)
                    ),
                )?;
            }
        }
        Ok(())
    }
}
