//! `sparq eval FILE` on an exported policy file: the same greedy evaluation as on a checkpoint,
//! run by `sparq-runtime`, with the kernel each layer uses.

use std::path::Path;

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::Serialize;
use sparq_log::EvalStats;
use sparq_runtime::Policy;

/// Same cap as checkpoint evaluation.
const MAX_EVAL_STEPS: u32 = 108_000;

/// Whether `path` is a file starting with the policy file magic.
pub fn is_policy_file(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 8];
    path.is_file()
        && std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
        && magic == sparq_runtime::format::MAGIC
}

/// Returns of `episodes` greedy episodes, episode `k` seeded `seed + k` (as `eval::evaluate`).
pub fn evaluate(policy: &Policy, episodes: u32, seed: u64) -> Result<Vec<f64>> {
    (0..episodes)
        .into_par_iter()
        .map(|k| {
            let mut p = policy.clone();
            let mut env = sparq_envs::make(p.env_id())?;
            let mut obs = vec![0f32; env.obs_space().len()];
            env.reset(Some(seed.wrapping_add(k as u64)), &mut obs);
            let limit = env.max_episode_steps().unwrap_or(MAX_EVAL_STEPS);
            let mut ret = 0.0f64;
            for _ in 0..limit {
                let step = env.step(p.act(&obs)?, &mut obs);
                ret += step.reward as f64;
                if step.done() {
                    break;
                }
            }
            Ok(ret)
        })
        .collect()
}

#[derive(Serialize)]
struct Layer {
    name: String,
    units: usize,
    fan_in: usize,
    sparsity: f64,
    kernel: &'static str,
    bytes: usize,
}

#[derive(Serialize)]
struct Report {
    env_id: String,
    eval: EvalStats,
    file_bytes: u64,
    isa: &'static str,
    layers: Vec<Layer>,
}

pub fn run(path: &Path, episodes: u32, seed: u64, json: bool) -> Result<()> {
    let policy = Policy::load(path)?;
    let returns = evaluate(&policy, episodes, seed)?;
    let report = Report {
        env_id: policy.env_id().to_string(),
        eval: EvalStats::from_returns(&returns).context("no episodes were run")?,
        file_bytes: std::fs::metadata(path)?.len(),
        isa: policy.isa().name(),
        layers: policy
            .layers()
            .into_iter()
            .map(|l| Layer {
                name: l.name,
                units: l.shape.0,
                fan_in: l.shape.1,
                sparsity: l.sparsity,
                kernel: l.kernel,
                bytes: l.bytes,
            })
            .collect(),
    };
    if json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let e = &report.eval;
    println!(
        "{} policy file {} ({} bytes, kernels for {})",
        report.env_id,
        path.display(),
        report.file_bytes,
        report.isa
    );
    println!(
        "return  mean {:.2}  std {:.2}  min {:.2}  max {:.2}  over {} episodes",
        e.return_mean, e.return_std, e.return_min, e.return_max, e.episodes
    );
    for l in &report.layers {
        println!(
            "  {:<10} {:>5}×{:<5} sparsity {:.4}  kernel {:<20} {} bytes",
            l.name, l.units, l.fan_in, l.sparsity, l.kernel, l.bytes
        );
    }
    Ok(())
}
