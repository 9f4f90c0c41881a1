//! The stateful pruner driven by the training loop: holds masks, config and RNG, and recomputes
//! masks at the schedule's update steps.

use rand::SeedableRng;
use rand_pcg::Pcg64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::config::PruneConfig;
use crate::error::PruneError;
use crate::layer::{LayerInfo, layer_names, select_layers, validate_layers};
use crate::mask::Mask;
use crate::params::Granularity;
use crate::report::SparsityReport;
use crate::select::{MaskSpec, compute_masks};

/// Masks for a network's weight tensors, kept in step with a [`PruneConfig`] schedule.
///
/// Serialises (config, layers, masks, RNG state) so a checkpoint restores it exactly: the
/// restored pruner produces the same future masks as the original.
#[derive(Debug, Clone, PartialEq)]
pub struct Pruner {
    config: PruneConfig,
    layers: Vec<LayerInfo>,
    prunable: Vec<bool>,
    masks: Vec<Option<Mask>>,
    rng: Pcg64,
    last_update: Option<u64>,
}

impl Pruner {
    /// Decides the prunable layers from include/exclude and starts with every weight kept; a
    /// `static` schedule draws its random mask here (it is the mask from step 0).
    pub fn new(
        config: PruneConfig,
        layers: Vec<LayerInfo>,
        seed: u64,
    ) -> Result<Pruner, PruneError> {
        let prunable = select_layers(
            &layers,
            config.include(),
            config.exclude(),
            config.granularity(),
        )?;
        if config.is_enabled() && !prunable.contains(&true) {
            return Err(PruneError::NoPrunableLayers {
                known: layer_names(&layers),
            });
        }
        let masks = initial_masks(&config, &layers, &prunable);
        let mut pruner = Pruner {
            config,
            layers,
            prunable,
            masks,
            rng: Pcg64::seed_from_u64(seed),
            last_update: None,
        };
        if pruner.config.schedule() == crate::ScheduleKind::Static {
            pruner.update(0, &[])?;
        }
        Ok(pruner)
    }

    pub fn config(&self) -> &PruneConfig {
        &self.config
    }

    pub fn layers(&self) -> &[LayerInfo] {
        &self.layers
    }

    /// Whether layer `layer` is ever pruned under this config.
    pub fn is_prunable(&self, layer: usize) -> bool {
        self.prunable.get(layer).copied().unwrap_or(false)
    }

    /// Whether [`Pruner::update`] recomputes masks at gradient step `step`: only then do scores
    /// need to be copied out of the network.
    pub fn is_update_step(&self, step: u64) -> bool {
        self.config.is_update_step(step)
    }

    /// Whether `update` reads scores (false for the random criterion and the static schedule).
    pub fn needs_scores(&self) -> bool {
        self.config.criterion().needs_scores()
    }

    /// At an update step, recomputes every mask to `config().target_at(step)` and returns true;
    /// otherwise does nothing and returns false. `scores[l]` holds one score per weight of
    /// layer `l` (|w| for magnitude, accumulated |w·∂L/∂w| for saliency; lower = pruned first);
    /// non-prunable layers may pass `&[]`, and the random criterion may pass `&[]` altogether.
    /// Pruned weights never come back.
    pub fn update(&mut self, step: u64, scores: &[&[f32]]) -> Result<bool, PruneError> {
        if !self.is_update_step(step) {
            return Ok(false);
        }
        let spec = MaskSpec {
            sparsity: self.config.target_at(step),
            scope: self.config.scope(),
            criterion: self.config.criterion(),
            granularity: self.config.granularity(),
        };
        self.masks = compute_masks(
            &self.layers,
            &self.prunable,
            scores,
            &spec,
            Some(&self.masks),
            &mut self.rng,
        )?;
        self.last_update = Some(step);
        Ok(true)
    }

    /// The gradient step of the last mask update, if any.
    pub fn last_update_step(&self) -> Option<u64> {
        self.last_update
    }

    /// Layer `layer`'s keep mask (`true` = kept), or `None` if the layer is never pruned.
    pub fn mask(&self, layer: usize) -> Option<&[bool]> {
        self.masks.get(layer)?.as_ref().map(Mask::as_slice)
    }

    /// All masks, one per layer (`None` = never pruned).
    pub fn masks(&self) -> &[Option<Mask>] {
        &self.masks
    }

    /// Layer `layer`'s mask as 1.0 (kept) / 0.0 (pruned), ready to multiply into the weight.
    pub fn mask_f32(&self, layer: usize) -> Option<Vec<f32>> {
        self.masks.get(layer)?.as_ref().map(Mask::to_f32)
    }

    /// For neuron granularity, which output units of layer `layer` survive (`true` = kept), so
    /// the caller can zero their biases or compact the network; `None` otherwise.
    pub fn unit_mask(&self, layer: usize) -> Option<Vec<bool>> {
        if self.config.granularity() != Granularity::Neuron {
            return None;
        }
        let mask = self.masks.get(layer)?.as_ref()?;
        let row = self.layers[layer].fan_in();
        Some(
            mask.as_slice()
                .chunks_exact(row)
                .map(|r| r.iter().any(|&k| k))
                .collect(),
        )
    }

    /// Sparsity over the prunable layers.
    pub fn report(&self) -> SparsityReport {
        SparsityReport::from_masks(&self.layers, &self.masks)
    }

    /// Weights of all layers (prunable or not) that are not pruned.
    pub fn active_params(&self) -> usize {
        let pruned: usize = self.masks.iter().flatten().map(Mask::pruned).sum();
        self.layers.iter().map(LayerInfo::numel).sum::<usize>() - pruned
    }

    /// Checks that `layers` (from the live network) match the ones this pruner was built or
    /// restored with, e.g. after loading a checkpoint.
    pub fn verify_layers(&self, layers: &[LayerInfo]) -> Result<(), PruneError> {
        if layers.len() != self.layers.len() {
            return Err(PruneError::state(format!(
                "the pruner has {} layers ({}), the network {} ({})",
                self.layers.len(),
                layer_names(&self.layers),
                layers.len(),
                layer_names(layers)
            )));
        }
        for (i, (mine, theirs)) in self.layers.iter().zip(layers).enumerate() {
            if mine != theirs {
                return Err(PruneError::state(format!(
                    "layer {i} is '{}' {:?} in the pruner but '{}' {:?} in the network",
                    mine.name, mine.shape, theirs.name, theirs.shape
                )));
            }
        }
        Ok(())
    }
}

fn initial_masks(
    config: &PruneConfig,
    layers: &[LayerInfo],
    prunable: &[bool],
) -> Vec<Option<Mask>> {
    layers
        .iter()
        .zip(prunable)
        .map(|(l, &p)| (p && config.is_enabled()).then(|| Mask::all_kept(l.numel())))
        .collect()
}

#[derive(Serialize)]
struct PrunerStateRef<'a> {
    config: &'a PruneConfig,
    layers: &'a [LayerInfo],
    masks: &'a [Option<Mask>],
    rng: &'a Pcg64,
    last_update: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrunerState {
    config: PruneConfig,
    layers: Vec<LayerInfo>,
    masks: Vec<Option<Mask>>,
    rng: Pcg64,
    last_update: Option<u64>,
}

impl Serialize for Pruner {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PrunerStateRef {
            config: &self.config,
            layers: &self.layers,
            masks: &self.masks,
            rng: &self.rng,
            last_update: self.last_update,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Pruner {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let state = PrunerState::deserialize(deserializer)?;
        Pruner::from_state(state).map_err(serde::de::Error::custom)
    }
}

impl Pruner {
    /// Rebuilds a pruner from saved state, checking that masks fit the layers and the config.
    fn from_state(s: PrunerState) -> Result<Pruner, PruneError> {
        validate_layers(&s.layers)?;
        let prunable = select_layers(
            &s.layers,
            s.config.include(),
            s.config.exclude(),
            s.config.granularity(),
        )?;
        if s.masks.len() != s.layers.len() {
            return Err(PruneError::state(format!(
                "{} masks for {} layers",
                s.masks.len(),
                s.layers.len()
            )));
        }
        for ((layer, mask), &p) in s.layers.iter().zip(&s.masks).zip(&prunable) {
            let expected = p && s.config.is_enabled();
            match mask {
                Some(_) if !expected => {
                    return Err(PruneError::state(format!(
                        "layer '{}' has a mask but is not pruned",
                        layer.name
                    )));
                }
                None if expected => {
                    return Err(PruneError::state(format!(
                        "prunable layer '{}' has no mask",
                        layer.name
                    )));
                }
                Some(m) if m.len() != layer.numel() => {
                    return Err(PruneError::MaskLength {
                        layer: layer.name.clone(),
                        expected: layer.numel(),
                        got: m.len(),
                    });
                }
                _ => {}
            }
        }
        Ok(Pruner {
            config: s.config,
            layers: s.layers,
            prunable,
            masks: s.masks,
            rng: s.rng,
            last_update: s.last_update,
        })
    }
}
