//! The compression environment: AMC's layer-by-layer episode on sparq's own [`Env`] trait.
//!
//! One episode walks the prunable layers in network order. The observation describes the
//! current layer (position, fan-in and fan-out, share of the weights) and the episode so far
//! (weights removed, weights the budget still needs, the previous choice); the action is a
//! sparsity level from [`LEVELS`], raised as the budget requires ([`Budget::clamp`]). After the
//! last layer the source policy is pruned layerwise by magnitude at the chosen allocation (and
//! fine-tuned, if asked: [`Context::prune`]) and evaluated greedily; the reward is its mean return
//! over the dense policy's, given once, at the end. Allocations already evaluated are answered
//! from a cache, and every evaluation is timed, so the search reports what it spent.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sparq_agent::HostPolicy;
use sparq_envs::{Env, ObsSpace, Step};

use super::alloc::{Budget, LEVELS};

/// Observation features per layer.
pub const FEATURES: usize = 7;

/// The policy an allocation gives: the source pruned layerwise by magnitude at it, then
/// fine-tuned with its masks held when the search is asked to.
pub type Prune = Arc<dyn Fn(&[f64]) -> anyhow::Result<HostPolicy> + Send + Sync>;

/// What every instance of the environment shares (the trainer makes several).
pub struct Context {
    pub source: HostPolicy,
    pub prune: Prune,
    pub env_id: String,
    /// Layout indices of the prunable layers, in network order.
    pub prunable: Vec<usize>,
    pub budget: Budget,
    pub episodes: u32,
    pub seed: u64,
    /// The dense policy's mean return on the same episodes: the reward's unit.
    pub dense_return: f64,
    pub log: Mutex<SearchLog>,
    /// Off while the trainer times a few hundred steps of the environment when it builds it
    /// (`VecEnv`'s calibration): those episodes are not the agent's and are not evaluated.
    pub recording: AtomicBool,
}

/// Every allocation the search tried, and what evaluating them cost.
#[derive(Debug, Default)]
pub struct SearchLog {
    /// (allocation, mean return), one per finished episode, in order.
    pub tried: Vec<(Vec<f64>, f64)>,
    /// Mean return by allocation (bit patterns, so equal allocations share an entry).
    pub cache: HashMap<Vec<u64>, f64>,
    /// Allocations scored (cache misses) and their wall time: pruning, fine-tuning if asked, and
    /// the greedy evaluation.
    pub evaluations: usize,
    pub eval_seconds: f64,
    /// The first evaluation that failed: the search reports it instead of a result.
    pub error: Option<String>,
}

impl Context {
    /// Mean greedy return of the policy `allocation` gives, cached.
    pub fn score(&self, allocation: &[f64]) -> anyhow::Result<f64> {
        let key: Vec<u64> = allocation.iter().map(|s| s.to_bits()).collect();
        if let Some(&r) = self.lock().cache.get(&key) {
            return Ok(r);
        }
        let started = Instant::now();
        let policy = (self.prune)(allocation)?;
        let returns = sparq::evaluate(&policy, &self.env_id, self.episodes, self.seed)?;
        let mean = returns.iter().sum::<f64>() / returns.len().max(1) as f64;
        let mut log = self.lock();
        log.evaluations += 1;
        log.eval_seconds += started.elapsed().as_secs_f64();
        log.cache.insert(key, mean);
        Ok(mean)
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, SearchLog> {
        // A panic elsewhere must not hide what was measured.
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One episode's state.
pub struct CompressEnv {
    ctx: Arc<Context>,
    t: usize,
    pruned: f64,
    allocation: Vec<f64>,
}

impl CompressEnv {
    pub fn new(ctx: Arc<Context>) -> CompressEnv {
        CompressEnv {
            ctx,
            t: 0,
            pruned: 0.0,
            allocation: Vec::new(),
        }
    }

    fn observe(&self, obs: &mut [f32]) {
        let b = &self.ctx.budget;
        let layers = b.sizes.len();
        let total = b.total() as f64;
        let layout = self.ctx.source.spec().layout();
        // After the last layer the observation is never acted on; show the last one.
        let t = self.t.min(layers - 1);
        let layer = &layout.layers[self.ctx.prunable[t]];
        let log_max = (total.max(2.0)).ln();
        obs[0] = t as f32 / layers.max(2).saturating_sub(1) as f32;
        obs[1] = ((layer.fan_in() as f64).ln() / log_max) as f32;
        obs[2] = ((layer.units() as f64).ln() / log_max) as f32;
        obs[3] = (b.sizes[t] as f64 / total) as f32;
        obs[4] = (self.pruned / total) as f32;
        obs[5] = ((b.required() - self.pruned).max(0.0) / total) as f32;
        obs[6] = self.allocation.last().copied().unwrap_or(0.0) as f32;
    }
}

impl Env for CompressEnv {
    fn obs_space(&self) -> ObsSpace {
        ObsSpace::Vector { dim: FEATURES }
    }
    fn num_actions(&self) -> usize {
        LEVELS.len()
    }
    fn id(&self) -> &str {
        "sparq layer-sparsity search"
    }
    fn max_episode_steps(&self) -> Option<u32> {
        Some(self.ctx.budget.sizes.len() as u32)
    }

    fn reset(&mut self, _seed: Option<u64>, obs: &mut [f32]) {
        // Deterministic: the allocation alone decides the return (evaluation seeds are fixed).
        self.t = 0;
        self.pruned = 0.0;
        self.allocation.clear();
        self.observe(obs);
    }

    fn step(&mut self, action: usize, obs: &mut [f32]) -> Step {
        let b = &self.ctx.budget;
        let wanted = LEVELS[action.min(LEVELS.len() - 1)];
        let s = b.clamp(self.t, wanted, self.pruned);
        self.pruned += s * b.sizes[self.t] as f64;
        self.allocation.push(s);
        self.t += 1;
        self.observe(obs);
        if self.t < b.sizes.len() {
            return Step {
                reward: 0.0,
                terminated: false,
                truncated: false,
            };
        }
        if !self.ctx.recording.load(Ordering::Relaxed) {
            return Step {
                reward: 0.0,
                terminated: true,
                truncated: false,
            };
        }
        // `step` cannot return an error: a failed evaluation is recorded, scores 0, and the search
        // reports it once training returns.
        let ret = match self.ctx.score(&self.allocation) {
            Ok(r) => r,
            Err(e) => {
                self.ctx
                    .lock()
                    .error
                    .get_or_insert_with(|| format!("{e:#}"));
                0.0
            }
        };
        self.ctx.lock().tried.push((self.allocation.clone(), ret));
        let unit = if self.ctx.dense_return.abs() > 0.0 {
            self.ctx.dense_return.abs()
        } else {
            1.0
        };
        Step {
            reward: (ret / unit) as f32,
            terminated: true,
            truncated: false,
        }
    }
}
