//! `sparq eval`: greedy return and weight sparsity of a trained policy.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;
use sparq::{EVAL_SEED_OFFSET, EvalStats, Policy, SparsityReport};

#[derive(clap::Args)]
pub struct EvalArgs {
    /// A run directory (its latest checkpoint), a checkpoint directory, an ensemble directory
    /// written by `sparq merge --method ensemble`, or a policy file written by
    /// `sparq export --format policy`.
    path: PathBuf,
    /// Greedy episodes to run.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    episodes: u32,
    /// Seed of the first episode (episode k uses seed + k). Default: the seeds of the run's own
    /// final evaluation, so a run's latest checkpoint reproduces its summary.json.
    #[arg(long)]
    seed: Option<u64>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// `newest`: the run's newest complete checkpoint, whatever `latest` says (for when
    /// `latest` is unusable).
    #[arg(long, value_name = "newest")]
    checkpoint: Option<String>,
}

#[derive(Serialize)]
struct EvalReport {
    eval: EvalStats,
    seed: u64,
    sparsity: SparsityReport,
    params_total: usize,
    params_nonzero: usize,
}

pub fn run(args: EvalArgs) -> Result<()> {
    if crate::export_cmd::eval_file::is_policy_file(&args.path) {
        // A policy file does not know its run's seed: default 0.
        let seed = args.seed.unwrap_or(0);
        return crate::export_cmd::eval_file::run(&args.path, args.episodes, seed, args.json);
    }
    if sparq::Ensemble::is_ensemble(&args.path) {
        return run_ensemble(&args);
    }
    let path = match args.checkpoint.as_deref() {
        Some(value) => crate::train::chosen_checkpoint(&args.path, value)?,
        None => args.path.clone(),
    };
    let policy = Policy::load(&path)?;
    let seed = args
        .seed
        .unwrap_or(policy.config().run.seed + EVAL_SEED_OFFSET);
    let returns = policy.evaluate(args.episodes, seed)?;
    let eval = EvalStats::from_returns(&returns).context("no episodes were run")?;
    let report = EvalReport {
        eval,
        seed,
        sparsity: policy.sparsity(),
        params_total: policy.network().params().len(),
        params_nonzero: policy.network().params_nonzero(),
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let meta = policy.meta();
    println!(
        "{} after {} env steps ({} gradient steps)",
        meta.env_id, meta.env_steps, meta.grad_steps
    );
    let whose = if args.seed.is_none() {
        ", the run's final-evaluation seeds"
    } else {
        ""
    };
    print_return_and_params(&report, seed, args.episodes, whose);
    for (layer, s) in &report.sparsity.layers {
        println!("  {layer:<10} sparsity {s:.4}");
    }
    Ok(())
}

/// `sparq eval` on an ensemble directory: its greedy return and its members' sparsity. The
/// default seeds are those of the first member's run, as `sparq merge` evaluated it.
fn run_ensemble(args: &EvalArgs) -> Result<()> {
    let ensemble = sparq::Ensemble::load(&args.path)?;
    let first = &ensemble.members()[0];
    let seed = args
        .seed
        .unwrap_or(first.config().run.seed + EVAL_SEED_OFFSET);
    let returns = ensemble.evaluate(args.episodes, seed)?;
    let eval = EvalStats::from_returns(&returns).context("no episodes were run")?;
    let (zeros, total) = crate::merge_cmd::ensemble_census(ensemble.members());
    let report = EvalReport {
        eval,
        seed,
        sparsity: crate::merge_cmd::ensemble_sparsity(ensemble.members()),
        params_total: total,
        params_nonzero: total - zeros,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "{} ensemble of {} policies ({})",
        ensemble.env_id(),
        ensemble.members().len(),
        ensemble.vote()
    );
    print_return_and_params(&report, seed, args.episodes, "");
    Ok(())
}

/// The return and parameter lines both kinds of evaluation print.
fn print_return_and_params(report: &EvalReport, seed: u64, episodes: u32, whose: &str) {
    let e = &report.eval;
    println!(
        "return  mean {:.2}  std {:.2}  min {:.2}  max {:.2}  over {} episodes (seeds {seed}..{}{whose})",
        e.return_mean,
        e.return_std,
        e.return_min,
        e.return_max,
        e.episodes,
        seed + u64::from(episodes)
    );
    println!(
        "params  {} total, {} nonzero; weight sparsity {:.4}",
        report.params_total, report.params_nonzero, report.sparsity.global
    );
}
