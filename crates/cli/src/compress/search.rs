//! The search: sparq's own DQN, through the library ([`sparq::Trainer`]), learns the compression
//! environment registered under a fresh id. The answer is the best allocation any episode
//! tried (AMC keeps the best explored policy too); the trained agent's greedy allocation is
//! reported beside it.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use sparq::{Config, RunOptions, Trainer};
use sparq_envs::Env;

use super::env::{CompressEnv, Context, FEATURES, SearchLog};

/// How the search runs.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Compression episodes the agent plays (each ends with one evaluation, unless cached).
    pub episodes: u64,
    /// The agent's own seed (initialisation, exploration, replay).
    pub seed: u64,
}

/// What the search found and what it cost.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SearchResult {
    /// The best allocation any episode tried, per prunable layer, and its mean return.
    pub best: Vec<f64>,
    pub best_return: f64,
    /// The trained agent's greedy allocation and its mean return.
    pub greedy: Vec<f64>,
    pub greedy_return: f64,
    pub episodes: usize,
    /// Distinct allocations evaluated, and the wall time those evaluations took.
    pub evaluations: usize,
    pub eval_seconds: f64,
    /// Wall time of the whole search (agent updates included).
    pub total_seconds: f64,
}

/// Ids already handed out in this process (the environment registry is global).
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Runs the search in `run_dir` (the agent's run directory).
pub fn search(ctx: Context, opts: &SearchOptions, run_dir: &Path) -> Result<SearchResult> {
    let started = Instant::now();
    let layers = ctx.budget.sizes.len() as u64;
    let ctx = Arc::new(Context {
        log: Mutex::new(SearchLog::default()),
        recording: AtomicBool::new(false),
        ..ctx
    });
    let id = format!(
        "sparq-layer-search-{}-{}",
        std::process::id(),
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    );
    let shared = ctx.clone();
    sparq::register_env(&id, move || {
        Ok(Box::new(CompressEnv::new(shared.clone())) as Box<dyn Env>)
    })?;

    let config = Config::from_toml_str(
        &agent_config(&id, layers, opts),
        "the layer-sparsity search",
        &[],
    )?
    .check()
    .context("the search agent's config")?;
    let trainer = Trainer::new(
        config,
        RunOptions {
            run_dir: Some(run_dir.to_path_buf()),
            ..RunOptions::default()
        },
    )?;
    ctx.recording.store(true, Ordering::Relaxed);
    trainer.run()?;
    if let Some(e) = ctx.lock().error.clone() {
        bail!("evaluating an allocation failed: {e}");
    }

    // The trained agent's greedy allocation: one deterministic episode.
    let agent = sparq::Policy::load(run_dir)?;
    let mut env = CompressEnv::new(ctx.clone());
    let mut obs = vec![0f32; FEATURES];
    env.reset(None, &mut obs);
    while !env.step(agent.act(&obs)?, &mut obs).done() {}
    let log = ctx.lock();
    let (greedy, greedy_return) = log
        .tried
        .last()
        .cloned()
        .context("the search ran no episode")?;
    // The first of equally good allocations: the one found earliest.
    let (best, best_return) = log
        .tried
        .iter()
        .fold(None::<&(Vec<f64>, f64)>, |b, t| match b {
            Some(b) if b.1 >= t.1 => Some(b),
            _ => Some(t),
        })
        .cloned()
        .context("the search ran no episode")?;
    Ok(SearchResult {
        best,
        best_return,
        greedy,
        greedy_return,
        episodes: log.tried.len(),
        evaluations: log.evaluations,
        eval_seconds: log.eval_seconds,
        total_seconds: started.elapsed().as_secs_f64(),
    })
}

/// DQN for a short, deterministic, sparse-reward task: undiscounted, one update per step, ε
/// from 1 to 0.05 over the first half, a small MLP. No periodic evaluations (each would cost
/// an evaluation of an allocation) and one final greedy episode.
fn agent_config(id: &str, layers: u64, o: &SearchOptions) -> String {
    let steps = o.episodes * layers;
    let starts = (steps / 10).max(layers * 8);
    format!(
        r#"[run]
seed = {seed}
total_steps = {steps}
device = "cpu"
torch_threads = 1

[env]
id = "{id}"

[agent]
gamma = 1.0
lr = 1e-3
batch_size = 32
buffer_size = {buffer}
learning_starts = {starts}
train_freq = 1
gradient_steps = 1
target_update_interval = 50
exploration_fraction = 0.5
exploration_initial_eps = 1.0
exploration_final_eps = 0.05
max_grad_norm = 10.0

[network]
hidden = [64, 64]
activation = "relu"

[log]
log_interval = {steps}
eval_interval = 0
final_eval_episodes = 1
checkpoint_interval = 0
histogram_interval = 0
save_replay = false
save_best = false
"#,
        seed = o.seed,
        buffer = steps.max(100),
    )
}
