//! The stateful pruner driven by the training loop: holds masks, config and RNG, and recomputes
//! masks at the schedule's update steps.

use rand::SeedableRng;
use rand_pcg::Pcg64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::config::PruneConfig;
use crate::error::PruneError;
use crate::layer::{LayerInfo, layer_names, select_layers, validate_layers};
use crate::mask::Mask;
use crate::params::{Criterion, Granularity, ScheduleKind};
use crate::report::SparsityReport;
use crate::rewire::{MaskChanges, rewire_layer};
use crate::select::{MaskSpec, compute_masks};

/// What [`Pruner::update`] reads, one slice per layer with one entry per weight (`&[]` for layers
/// it never prunes).
#[derive(Debug, Clone, Copy, Default)]
pub struct Scores<'a> {
    /// Lower = removed first: |w| for magnitude (STE: of the dense weights), the accumulated
    /// |w·∂L/∂w| for saliency; may be `&[]` altogether for the random criterion.
    pub rank: &'a [&'a [f32]],
    /// RigL only: |∂L/∂w| of the dense gradient; connections grow where it is largest.
    pub grow: &'a [&'a [f32]],
}

impl<'a> Scores<'a> {
    /// Ranking scores only (every schedule but RigL).
    pub fn rank(rank: &'a [&'a [f32]]) -> Self {
        Scores { rank, grow: &[] }
    }
}

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
    /// Changes since the last [`Pruner::take_changes`] (checkpointed, so logs resume exactly).
    changes: MaskChanges,
}

impl Pruner {
    /// Decides the prunable layers from include/exclude and starts with every weight kept; the
    /// `static`, `set` and `rigl` schedules draw their random mask here (uniform or ERK per-layer
    /// sparsity under `scope`): it is the mask from step 0.
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
            changes: MaskChanges::default(),
        };
        if pruner.config.schedule().is_sparse_from_start() {
            let sparsity = pruner.config.target_sparsity();
            pruner.masks = pruner.draw_masks(sparsity, Criterion::Random, &[], false)?;
            pruner.last_update = Some(0);
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

    /// Whether `update` reads `Scores::rank` (false for the random criterion and the static
    /// schedule).
    pub fn needs_scores(&self) -> bool {
        self.config.criterion().needs_scores()
    }

    /// Whether `update` reads `Scores::grow`, the dense gradient (RigL).
    pub fn needs_gradients(&self) -> bool {
        self.config.schedule() == ScheduleKind::Rigl
    }

    /// At an update step, updates every mask and returns what changed; otherwise does nothing
    /// and returns `None`.
    ///
    /// * gradual schedules (polynomial, one_shot, iterative): prune to `config().target_at(step)`
    ///   by `scores.rank`; pruned weights never come back;
    /// * set, rigl: each layer drops `config().drop_fraction_at(step)` of its active weights
    ///   (smallest `scores.rank`) and grows as many (at random, or largest `scores.grow`);
    /// * ste: the top-k of `scores.rank` at `target_at(step)`, recomputed from scratch.
    pub fn update(
        &mut self,
        step: u64,
        scores: &Scores,
    ) -> Result<Option<MaskChanges>, PruneError> {
        if !self.is_update_step(step) {
            return Ok(None);
        }
        let mut change = match self.config.schedule() {
            ScheduleKind::Set | ScheduleKind::Rigl => self.rewire(step, scores)?,
            ScheduleKind::Ste => self.recompute(step, scores.rank, false)?,
            _ => self.recompute(step, scores.rank, true)?,
        };
        change.updates = 1;
        self.last_update = Some(step);
        self.changes += change;
        Ok(Some(change))
    }

    /// New masks at the scheduled sparsity; `keep_pruned`: weights pruned before stay pruned.
    fn recompute(
        &mut self,
        step: u64,
        scores: &[&[f32]],
        keep_pruned: bool,
    ) -> Result<MaskChanges, PruneError> {
        let criterion = self.config.criterion();
        let masks = self.draw_masks(self.config.target_at(step), criterion, scores, keep_pruned)?;
        let mut change = MaskChanges::default();
        for (old, new) in self.masks.iter().zip(&masks) {
            if let (Some(old), Some(new)) = (old, new) {
                for (&was, &is) in old.as_slice().iter().zip(new.as_slice()) {
                    change.dropped += u64::from(was && !is);
                    change.grown += u64::from(!was && is);
                }
            }
        }
        self.masks = masks;
        Ok(change)
    }

    /// Masks at `sparsity` in this config's scope and granularity, ranked by `criterion` on
    /// `scores`; `keep_pruned`: weights pruned now stay pruned.
    fn draw_masks(
        &mut self,
        sparsity: f64,
        criterion: Criterion,
        scores: &[&[f32]],
        keep_pruned: bool,
    ) -> Result<Vec<Option<Mask>>, PruneError> {
        let spec = MaskSpec {
            sparsity,
            scope: self.config.scope(),
            criterion,
            granularity: self.config.granularity(),
        };
        compute_masks(
            &self.layers,
            &self.prunable,
            scores,
            &spec,
            keep_pruned.then_some(self.masks.as_slice()),
            &mut self.rng,
        )
    }

    /// SET and RigL's drop-and-grow in every prunable layer.
    fn rewire(&mut self, step: u64, scores: &Scores) -> Result<MaskChanges, PruneError> {
        let fraction = self.config.drop_fraction_at(step);
        let rigl = self.needs_gradients();
        let mut change = MaskChanges::default();
        for (l, layer) in self.layers.iter().enumerate() {
            let Some(mask) = self.masks[l].as_mut() else {
                continue;
            };
            let magnitude = layer_scores(scores.rank, l, &self.layers)?;
            let grow = if rigl {
                Some(layer_scores(scores.grow, l, &self.layers)?)
            } else {
                None
            };
            let mut keep = mask.as_slice().to_vec();
            change += rewire_layer(
                &layer.name,
                &mut keep,
                magnitude,
                grow,
                fraction,
                &mut self.rng,
            )?;
            *mask = Mask::from_keep(keep);
        }
        Ok(change)
    }

    /// Mask changes since the last call (for logs), and starts counting afresh.
    pub fn take_changes(&mut self) -> MaskChanges {
        std::mem::take(&mut self.changes)
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

/// Layer `l`'s slice of `scores` (one per layer of `layers`), checked to hold one entry per
/// weight.
fn layer_scores<'a>(
    scores: &[&'a [f32]],
    l: usize,
    layers: &[LayerInfo],
) -> Result<&'a [f32], PruneError> {
    let layer = &layers[l];
    if scores.len() != layers.len() {
        return Err(PruneError::ScoreCount {
            expected: layers.len(),
            got: scores.len(),
        });
    }
    let s = scores[l];
    if s.len() != layer.numel() {
        return Err(PruneError::ScoreLength {
            layer: layer.name.clone(),
            expected: layer.numel(),
            got: s.len(),
        });
    }
    Ok(s)
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
    changes: MaskChanges,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrunerState {
    config: PruneConfig,
    layers: Vec<LayerInfo>,
    masks: Vec<Option<Mask>>,
    rng: Pcg64,
    last_update: Option<u64>,
    /// Absent from checkpoints written before SET and RigL.
    #[serde(default)]
    changes: MaskChanges,
}

impl Serialize for Pruner {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PrunerStateRef {
            config: &self.config,
            layers: &self.layers,
            masks: &self.masks,
            rng: &self.rng,
            last_update: self.last_update,
            changes: self.changes,
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
            changes: s.changes,
        })
    }
}
