//! Greedy evaluation of a policy, in parallel over episodes, and `sparq eval`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::Serialize;
use sparq_agent::{HostPolicy, Scratch, WeightCensus};
use sparq_checkpoint::Loaded;
use sparq_config::Config;
use sparq_log::{EvalStats, SparsityStats};

use crate::run_state::CheckpointMeta;

/// Safety cap for environments without a time limit (a greedy policy can stall forever).
const MAX_EVAL_STEPS: u32 = 108_000;

/// Returns of `episodes` greedy episodes; episode `k` is seeded with `seed + k`, so results do
/// not depend on the number of threads.
pub fn evaluate(policy: &HostPolicy, env_id: &str, episodes: u32, seed: u64) -> Result<Vec<f64>> {
    (0..episodes)
        .into_par_iter()
        .map(|k| {
            let mut env = sparq_envs::make(env_id)?;
            let mut obs = vec![0f32; env.obs_space().len()];
            let (mut scratch, mut q) = (Scratch::default(), Vec::new());
            env.reset(Some(seed.wrapping_add(k as u64)), &mut obs);
            let limit = env.max_episode_steps().unwrap_or(MAX_EVAL_STEPS);
            let mut ret = 0.0f64;
            for _ in 0..limit {
                let a = policy.greedy(&obs, &mut scratch, &mut q);
                let step = env.step(a, &mut obs);
                ret += step.reward as f64;
                if step.done() {
                    break;
                }
            }
            Ok(ret)
        })
        .collect::<Result<Vec<f64>, sparq_envs::EnvError>>()
        .map_err(Into::into)
}

/// Sparsity of a policy's weights as measured from exact zeros; `global` covers the layers the
/// run's `[prune]` section makes prunable (all weight layers for dense runs).
pub fn sparsity_of(policy: &HostPolicy, config: &Config) -> (SparsityStats, WeightCensus) {
    let layout = policy.spec().layout();
    let census = WeightCensus::of(&layout, policy.params());
    let p = &config.prune;
    let prunable = sparq_prune::select_layers(
        &sparq_agent::layer_infos(&layout),
        &p.include,
        &p.exclude,
        p.granularity,
    )
    .ok();
    let prunable = prunable.filter(|_| p.schedule != sparq_prune::ScheduleKind::None);
    let global = census.global(&layout, prunable.as_deref());
    let layers = census.layers.iter().cloned().collect();
    (SparsityStats { global, layers }, census)
}

/// A checkpoint with its run config, format-checked.
pub fn load_checkpoint(path: &Path) -> Result<(Loaded<CheckpointMeta>, Config)> {
    let cp = sparq_checkpoint::load::<CheckpointMeta>(path)?;
    cp.meta.check_format()?;
    let origin = format!("{}/meta.json", cp.path.display());
    let config = Config::from_toml_str(&cp.meta.config, &origin, &[])?;
    Ok((cp, config))
}

/// The policy held in a loaded checkpoint's `params`.
pub fn policy_of(cp: &Loaded<CheckpointMeta>) -> Result<HostPolicy> {
    let params = cp
        .tensor("params")
        .with_context(|| format!("{}: tensor 'params' is missing", cp.path.display()))?
        .to_vec();
    HostPolicy::new(cp.meta.net.clone(), params).with_context(|| cp.path.display().to_string())
}

/// A trained policy from a run directory or checkpoint, with its metadata and config.
pub fn load_policy(path: &Path) -> Result<(HostPolicy, CheckpointMeta, Config)> {
    let (cp, config) = load_checkpoint(path)?;
    let policy = policy_of(&cp)?;
    Ok((policy, cp.meta, config))
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// A run directory (its latest checkpoint) or a checkpoint directory.
    path: PathBuf,
    /// Greedy episodes to run.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    episodes: u32,
    /// Seed of the first episode (episode k uses seed + k).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct EvalReport {
    eval: EvalStats,
    sparsity: SparsityStats,
    params_total: usize,
    params_nonzero: usize,
}

pub fn run(args: EvalArgs) -> Result<()> {
    let (policy, meta, config) = load_policy(&args.path)?;
    let returns = evaluate(&policy, &meta.env_id, args.episodes, args.seed)?;
    let eval = EvalStats::from_returns(&returns).context("no episodes were run")?;
    let (sparsity, census) = sparsity_of(&policy, &config);
    let report = EvalReport {
        eval,
        sparsity,
        params_total: census.params_total,
        params_nonzero: census.params_nonzero,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let e = &report.eval;
    println!(
        "{} after {} env steps ({} gradient steps)",
        meta.env_id, meta.env_steps, meta.grad_steps
    );
    println!(
        "return  mean {:.2}  std {:.2}  min {:.2}  max {:.2}  over {} episodes",
        e.return_mean, e.return_std, e.return_min, e.return_max, e.episodes
    );
    println!(
        "params  {} total, {} nonzero; weight sparsity {:.4}",
        report.params_total, report.params_nonzero, report.sparsity.global
    );
    for (layer, s) in &report.sparsity.layers {
        println!("  {layer:<10} sparsity {s:.4}");
    }
    Ok(())
}
