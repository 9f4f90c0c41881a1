//! The replay buffer: per-env frame rings, transition metadata and `add`.
//!
//! Env `e` owns slots `e*F .. (e+1)*F` (F = frames per env). A slot holds one observation frame
//! and, if an action was taken from that observation, the transition's action, reward and done
//! flags. The next observation of a transition is the following slot of the same ring, so every
//! observation is stored once. An episode end stores the true final observation as its own frame
//! (no action, never a transition start); the reset observation starts a new frame.

use crate::frames::FrameStore;
use crate::sum_tree::SumTree;
use crate::{ReplayConfig, ReplayError};

/// Slot flag bits.
pub(crate) const TRANSITION: u8 = 1; // action/reward recorded: the frame starts a transition
pub(crate) const TERMINATED: u8 = 2;
pub(crate) const TRUNCATED: u8 = 4;
pub(crate) const SAMPLEABLE: u8 = 8; // n-step window complete and all its frames present
pub(crate) const KNOWN_FLAGS: u8 = TRANSITION | TERMINATED | TRUNCATED | SAMPLEABLE;

/// Write position and episode state of one env's ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct EnvCursor {
    /// Frames ever written; the next frame goes to slot `written % F`.
    pub written: u64,
    /// The newest frame is an observation of an ongoing episode awaiting its action.
    pub open: bool,
    /// Transitions of the ongoing episode whose n-step window is not yet complete (< n_step).
    pub pending: usize,
}

/// Priority leaves are clamped here so the tree total stays finite and positive.
const MIN_LEAF: f64 = 1e-300;
const MAX_LEAF: f64 = 1e290;

#[derive(Clone)]
pub struct ReplayBuffer {
    pub(crate) cfg: ReplayConfig,
    pub(crate) frames_per_env: usize,
    pub(crate) frames: FrameStore,
    pub(crate) actions: Vec<u32>,
    pub(crate) rewards: Vec<f32>,
    pub(crate) flags: Vec<u8>,
    pub(crate) envs: Vec<EnvCursor>,
    /// Number of slots with `SAMPLEABLE`.
    pub(crate) len: usize,
    pub(crate) tree: Option<SumTree>,
    /// Largest |δ| + eps seen (1 before any update); new transitions get it.
    pub(crate) max_priority: f64,
    /// γ^k for k = 0..=n_step.
    pub(crate) gamma_pows: Vec<f32>,
}

impl std::fmt::Debug for ReplayBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayBuffer")
            .field("cfg", &self.cfg)
            .field("len", &self.len)
            .field("capacity", &self.capacity())
            .field("max_priority", &self.max_priority)
            .finish_non_exhaustive()
    }
}

impl ReplayBuffer {
    pub fn new(cfg: ReplayConfig) -> Result<Self, ReplayError> {
        cfg.validate()?;
        let fpe = cfg.frames_per_env();
        let total = fpe * cfg.num_envs;
        Ok(Self {
            frames: FrameStore::new(cfg.encoding, cfg.obs_len, total),
            actions: vec![0; total],
            rewards: vec![0.0; total],
            flags: vec![0; total],
            envs: vec![EnvCursor::default(); cfg.num_envs],
            len: 0,
            tree: cfg.prioritized.map(|_| SumTree::new(total)),
            max_priority: 1.0,
            gamma_pows: gamma_powers(cfg.gamma, cfg.n_step),
            frames_per_env: fpe,
            cfg,
        })
    }

    pub fn config(&self) -> &ReplayConfig {
        &self.cfg
    }

    /// Storage size in frames over all envs (`capacity` rounded up to a multiple of `num_envs`).
    pub fn capacity(&self) -> usize {
        self.flags.len()
    }

    /// Transitions that can be sampled now: stored, with a complete n-step window.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Draws are with replacement (as SB3's), so one valid transition is enough for any batch.
    pub fn can_sample(&self, batch_size: usize) -> bool {
        batch_size > 0 && self.len > 0
    }

    /// All storage bytes (frames, actions, rewards, flags, sum tree) divided by `capacity()`.
    pub fn bytes_per_transition(&self) -> f64 {
        let bytes = self.frames.allocated_bytes()
            + self.actions.len() * size_of::<u32>()
            + self.rewards.len() * size_of::<f32>()
            + self.flags.len()
            + self.tree.as_ref().map_or(0, SumTree::allocated_bytes);
        bytes as f64 / self.capacity() as f64
    }

    /// Largest |δ| + eps seen so far (1 initially); new transitions enter with it.
    pub fn max_priority(&self) -> f64 {
        self.max_priority
    }

    /// Sampling priority p^α of a slot (`None` for uniform buffers or out-of-range slots).
    pub fn priority(&self, index: usize) -> Option<f64> {
        let tree = self.tree.as_ref()?;
        (index < tree.len()).then(|| tree.get(index))
    }

    /// Stores one vector step. Row `e` of `obs`/`next_obs` belongs to env `e`. Where
    /// `terminated[e] || truncated[e]`, `next_obs` row `e` is the true final observation and the
    /// next call's `obs` row `e` is the reset observation; elsewhere the next call's `obs` row must
    /// equal this call's `next_obs` row (checked). Both flags set counts as terminated.
    /// Nothing is stored when an error is returned.
    pub fn add(
        &mut self,
        obs: &[f32],
        actions: &[usize],
        rewards: &[f32],
        terminated: &[bool],
        truncated: &[bool],
        next_obs: &[f32],
    ) -> Result<(), ReplayError> {
        let (n, ol) = (self.cfg.num_envs, self.cfg.obs_len);
        check_len("obs", obs.len(), n * ol)?;
        check_len("actions", actions.len(), n)?;
        check_len("rewards", rewards.len(), n)?;
        check_len("terminated", terminated.len(), n)?;
        check_len("truncated", truncated.len(), n)?;
        check_len("next_obs", next_obs.len(), n * ol)?;
        for e in 0..n {
            let row = &obs[e * ol..(e + 1) * ol];
            self.frames.check(e, "obs", row)?;
            self.frames
                .check(e, "next_obs", &next_obs[e * ol..(e + 1) * ol])?;
            if u32::try_from(actions[e]).is_err() {
                return Err(ReplayError::ActionRange {
                    env: e,
                    action: actions[e],
                });
            }
            if !rewards[e].is_finite() {
                let value = rewards[e];
                return Err(ReplayError::NotFinite {
                    env: e,
                    name: "rewards",
                    pos: e,
                    value,
                });
            }
            let c = self.envs[e];
            if c.open && !self.frames.equals(self.newest_slot(e), row) {
                return Err(ReplayError::Discontinuity { env: e });
            }
        }
        for e in 0..n {
            self.add_one(
                e,
                &obs[e * ol..(e + 1) * ol],
                actions[e] as u32,
                rewards[e],
                terminated[e],
                truncated[e],
                &next_obs[e * ol..(e + 1) * ol],
            );
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn add_one(
        &mut self,
        e: usize,
        obs: &[f32],
        action: u32,
        reward: f32,
        terminated: bool,
        truncated: bool,
        next_obs: &[f32],
    ) {
        if !self.envs[e].open {
            self.push_frame(e, obs);
        }
        let slot = self.newest_slot(e);
        self.actions[slot] = action;
        self.rewards[slot] = reward;
        self.flags[slot] = TRANSITION
            | if terminated {
                TERMINATED
            } else if truncated {
                TRUNCATED
            } else {
                0
            };
        self.push_frame(e, next_obs);

        let f = self.frames_per_env;
        let base = e * f;
        let pos = slot - base;
        let back = |k: usize| base + (pos + f - k) % f;
        let c = &mut self.envs[e];
        if terminated || truncated {
            // The episode is over: every pending window is now complete (cut at the end).
            let done = c.pending;
            *c = EnvCursor {
                written: c.written,
                open: false,
                pending: 0,
            };
            for k in 0..=done {
                self.mark_sampleable(back(k));
            }
        } else {
            c.open = true;
            c.pending += 1;
            if c.pending == self.cfg.n_step {
                c.pending -= 1;
                self.mark_sampleable(back(self.cfg.n_step - 1));
            }
        }
    }

    /// Slot of env `e`'s newest frame (`written >= 1`).
    fn newest_slot(&self, e: usize) -> usize {
        let f = self.frames_per_env;
        e * f + ((self.envs[e].written - 1) % f as u64) as usize
    }

    /// Writes a frame over env `e`'s oldest slot. Ring order guarantees that only the transition
    /// starting at that slot used it (windows look forward only; F > n_step keeps pending windows
    /// clear of the write position), so only that slot is invalidated.
    fn push_frame(&mut self, e: usize, row: &[f32]) {
        let f = self.frames_per_env;
        let slot = e * f + (self.envs[e].written % f as u64) as usize;
        if self.flags[slot] & SAMPLEABLE != 0 {
            self.len -= 1;
            if let Some(t) = &mut self.tree {
                t.set(slot, 0.0);
            }
        }
        self.flags[slot] = 0;
        self.frames.write(slot, row);
        self.envs[e].written += 1;
    }

    fn mark_sampleable(&mut self, slot: usize) {
        debug_assert_eq!(self.flags[slot] & (TRANSITION | SAMPLEABLE), TRANSITION);
        self.flags[slot] |= SAMPLEABLE;
        self.len += 1;
        let leaf = self.leaf_priority(self.max_priority);
        if let Some(t) = &mut self.tree {
            t.set(slot, leaf);
        }
    }

    /// p^α, clamped so the tree total stays finite and positive.
    pub(crate) fn leaf_priority(&self, p: f64) -> f64 {
        let alpha = self.cfg.prioritized.map_or(1.0, |p| p.alpha);
        p.powf(alpha).clamp(MIN_LEAF, MAX_LEAF)
    }
}

pub(crate) fn gamma_powers(gamma: f32, n: usize) -> Vec<f32> {
    (0..=n).map(|k| gamma.powi(k as i32)).collect()
}

fn check_len(name: &'static str, got: usize, expected: usize) -> Result<(), ReplayError> {
    if got == expected {
        Ok(())
    } else {
        Err(ReplayError::Length {
            name,
            got,
            expected,
        })
    }
}
