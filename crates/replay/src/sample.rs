//! Minibatch sampling (uniform or prioritized), n-step targets and priority updates.

use rand::{Rng, RngExt};

use crate::buffer::{SAMPLEABLE, TERMINATED, TRUNCATED};
use crate::{Batch, ReplayBuffer, ReplayError};

/// Uniform draws rejected (invalid slot) before falling back to an exact scan; with the invalid
/// fraction far below 1/2 in practice the fallback never runs, but it bounds the work.
const MAX_REJECTIONS: usize = 256;

impl ReplayBuffer {
    /// Fills `out` (resized once, then reused without allocating) with `batch_size` transitions
    /// drawn with replacement: uniformly over valid transitions, or for prioritized buffers
    /// proportionally to p^α with one stratified draw per equal segment of the priority mass.
    /// `beta` (importance-sampling exponent, in [0, 1]) is ignored for uniform buffers.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        batch_size: usize,
        beta: f64,
        rng: &mut R,
        out: &mut Batch,
    ) -> Result<(), ReplayError> {
        if !self.can_sample(batch_size) {
            return Err(ReplayError::NotEnough {
                requested: batch_size,
                available: self.len,
            });
        }
        if self.tree.is_some() && !(beta.is_finite() && (0.0..=1.0).contains(&beta)) {
            return Err(ReplayError::Argument(format!(
                "sample: beta {beta} must be in [0, 1]"
            )));
        }
        out.resize(batch_size, self.cfg.obs_len);
        // Slots are chosen first, then rows filled: independent loads overlap in both loops.
        match &self.tree {
            None => {
                let filled = self.filled_frames();
                for i in 0..batch_size {
                    out.indices[i] = self.uniform_slot(filled, rng);
                }
                out.weights.fill(1.0);
            }
            Some(tree) => {
                let segment = tree.total() / batch_size as f64;
                for (i, u) in out.points.iter_mut().enumerate() {
                    *u = (i as f64 + rng.random::<f64>()) * segment;
                }
                tree.find_many(&mut out.points, &mut out.indices);
                // w_i = (N P(i))^-β / max_j (N P(j))^-β = (p_i / p_min)^-β over the batch;
                // the ratio form cannot overflow.
                let min_p = out
                    .indices
                    .iter()
                    .map(|&s| tree.get(s))
                    .fold(f64::INFINITY, f64::min);
                for (w, &slot) in out.weights.iter_mut().zip(&out.indices) {
                    debug_assert!(self.flags[slot] & SAMPLEABLE != 0, "positive leaf is valid");
                    *w = (tree.get(slot) / min_p).powf(-beta) as f32;
                }
            }
        }
        for i in 0..batch_size {
            self.fill_row(out.indices[i], i, out);
        }
        Ok(())
    }

    /// Sets the priority of sampled slots to |δ| + eps (stored as (|δ| + eps)^α). Call it before
    /// the next `add`: slots that were overwritten or are invalid are skipped. A no-op for uniform
    /// buffers. On error nothing is updated.
    pub fn update_priorities(
        &mut self,
        indices: &[usize],
        td_errors: &[f32],
    ) -> Result<(), ReplayError> {
        let Some(per) = self.cfg.prioritized else {
            return Ok(());
        };
        if indices.len() != td_errors.len() {
            return Err(ReplayError::Argument(format!(
                "update_priorities: {} indices but {} td_errors",
                indices.len(),
                td_errors.len()
            )));
        }
        for (&i, &d) in indices.iter().zip(td_errors) {
            if i >= self.capacity() {
                return Err(ReplayError::Argument(format!(
                    "update_priorities: index {i} is out of range (capacity {})",
                    self.capacity()
                )));
            }
            if !d.is_finite() {
                return Err(ReplayError::Argument(format!(
                    "update_priorities: td error {d} for index {i} is not finite"
                )));
            }
        }
        for (&i, &d) in indices.iter().zip(td_errors) {
            if self.flags[i] & SAMPLEABLE == 0 {
                continue;
            }
            let p = f64::from(d.abs()) + per.eps;
            self.max_priority = self.max_priority.max(p);
            let leaf = self.leaf_priority(p);
            if let Some(t) = &mut self.tree {
                t.set(i, leaf);
            }
        }
        Ok(())
    }

    /// Largest number of frames any env has in its ring: slots beyond are never valid.
    fn filled_frames(&self) -> usize {
        let f = self.frames_per_env as u64;
        self.envs
            .iter()
            .map(|c| c.written.min(f))
            .max()
            .unwrap_or(0) as usize
    }

    /// A slot drawn uniformly from the valid ones (`len >= 1`): rejection over the filled part of
    /// every ring, with an exact scan as a bounded fallback.
    fn uniform_slot<R: Rng + ?Sized>(&self, filled: usize, rng: &mut R) -> usize {
        let f = self.frames_per_env;
        let span = filled * self.cfg.num_envs;
        for _ in 0..MAX_REJECTIONS {
            let s = rng.random_range(0..span);
            let slot = (s / filled) * f + s % filled;
            if self.flags[slot] & SAMPLEABLE != 0 {
                return slot;
            }
        }
        let r = rng.random_range(0..self.len);
        self.flags
            .iter()
            .enumerate()
            .filter(|(_, fl)| *fl & SAMPLEABLE != 0)
            .nth(r)
            .map(|(slot, _)| slot)
            .expect("len counts the SAMPLEABLE slots")
    }

    /// Writes transition `slot` with its n-step target into row `row` of `out`.
    fn fill_row(&self, slot: usize, row: usize, out: &mut Batch) {
        let f = self.frames_per_env;
        let base = slot / f * f;
        let pos = slot - base;
        let mut ret = 0.0f32;
        let mut k = 0;
        let discount = loop {
            let s = base + (pos + k) % f;
            let fl = self.flags[s];
            ret += self.gamma_pows[k] * self.rewards[s];
            k += 1;
            if fl & TERMINATED != 0 {
                break 0.0;
            }
            if fl & TRUNCATED != 0 || k == self.cfg.n_step {
                break self.gamma_pows[k];
            }
        };
        let ol = self.cfg.obs_len;
        self.frames
            .read(slot, &mut out.obs[row * ol..(row + 1) * ol]);
        let next = base + (pos + k) % f;
        self.frames
            .read(next, &mut out.next_obs[row * ol..(row + 1) * ol]);
        out.actions[row] = i64::from(self.actions[slot]);
        out.returns[row] = ret;
        out.discounts[row] = discount;
    }
}
