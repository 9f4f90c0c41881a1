//! `sparq export`: `--compact` turns a neuron-pruned network into a smaller dense one without the
//! removed units, checks that it acts exactly like the original, and times both; `--format
//! policy|onnx` writes the network for deployment (see `deploy.rs`).

mod compact;
mod deploy;
pub mod eval_file;
mod onnx;
mod policy;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use sparq_agent::{HostPolicy, Scratch};
use sparq_envs::ObsSpace;
use sparq_prune::ScheduleKind;

use sparq_runstate::CheckpointMeta;
use sparq_runstate::{load as load_checkpoint, policy_of};

/// Exploration of the policy while recording verification states.
const RECORD_EPSILON: f64 = 0.1;
/// Timed passes over the recorded states per network; the fastest is reported.
const TIMING_PASSES: usize = 5;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// A run directory (its latest checkpoint) or a checkpoint directory.
    path: PathBuf,
    /// Write the network without its removed units (neuron-pruned networks) as a checkpoint into
    /// this directory.
    #[arg(long, value_name = "OUT", conflicts_with_all = ["format", "int8", "out"])]
    compact: Option<PathBuf>,
    /// Write the network for deployment: a sparq-runtime policy file (each linear layer dense or
    /// sparse by its density) or an ONNX model (opset 17).
    #[arg(long, value_enum, requires = "out")]
    format: Option<deploy::Kind>,
    /// Store linear layers as int8 (symmetric per-output-unit scales).
    #[arg(long, requires = "format")]
    int8: bool,
    /// The file --format writes.
    #[arg(value_name = "OUT")]
    out: Option<PathBuf>,
    /// Also write the verification states and libtorch's Q-values to this file (for
    /// scripts/dev/check-onnx).
    #[arg(long, value_name = "FILE", requires = "format")]
    reference: Option<PathBuf>,
    /// States recorded (original policy, ε-greedy 0.1) to verify the exported network on.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    states: u32,
    /// Seed of the recording episodes and their exploration.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(args: ExportArgs) -> Result<()> {
    let compact_out = match (&args.compact, args.format, &args.out) {
        (Some(out), None, None) => out.clone(),
        (None, Some(kind), Some(out)) => {
            return deploy::run(deploy::Request {
                path: &args.path,
                kind,
                int8: args.int8,
                out,
                reference: args.reference.as_deref(),
                states: args.states as usize,
                seed: args.seed,
            });
        }
        _ => bail!("sparq export needs --compact OUT, or --format policy|onnx [--int8] OUT"),
    };
    let (cp, mut config) = load_checkpoint(&args.path)?;
    let original = policy_of(&cp)?;
    let plan = compact::plan(original.spec(), original.params());
    if plan.removed_units() == 0 {
        bail!(
            "{}: no removable units (none has an all-zero weight row and bias); --compact needs a network pruned with granularity \"neuron\"",
            cp.path.display()
        );
    }
    check_out(&compact_out)?;

    let mut tensors = Vec::with_capacity(cp.tensors.len());
    for (name, v) in &cp.tensors {
        if v.len() != plan.old_numel() {
            bail!(
                "{}: tensor '{name}' has {} values, the network {}",
                cp.path.display(),
                v.len(),
                plan.old_numel()
            );
        }
        tensors.push((name.clone(), plan.apply(v)));
    }
    let params = tensors
        .iter()
        .find(|(n, _)| n == "params")
        .map(|(_, v)| v.clone())
        .context("tensor 'params' is missing")?;
    let small = HostPolicy::new(plan.spec.clone(), params)?;

    let obs_len = original.spec().obs.len();
    let states = record_states(&original, &cp.meta.env_id, args.states as usize, args.seed)?;
    let check = compare(&original, &small, &states, obs_len);
    if check.mismatches > 0 {
        bail!(
            "the compact network's greedy action differs on {} of {} states (max |ΔQ| = {:.3e}); nothing written",
            check.mismatches,
            args.states,
            check.max_dq
        );
    }
    let t_original = ns_per_call(&original, &states, obs_len);
    let t_small = ns_per_call(&small, &states, obs_len);

    config.network.hidden = plan.spec.hidden.clone();
    if matches!(plan.spec.obs, ObsSpace::Binary { .. }) {
        config.network.conv_channels = plan.spec.conv_channels.clone();
    }
    config.network.width_multiplier = 1.0;
    config.prune.schedule = ScheduleKind::None;
    let m = &cp.meta;
    let meta = CheckpointMeta {
        net: plan.spec.clone(),
        config: config.to_toml_string()?,
        pruner: None,
        ..m.clone()
    };
    // Replay and env snapshots do not depend on the network.
    let blobs: Vec<(&str, &[u8])> = cp
        .blobs
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let saved = sparq_checkpoint::save(
        &compact_out,
        &format!("step_{:010}", m.env_steps),
        &meta,
        &tensors,
        &blobs,
        1,
    )?;

    println!("compact export of {}", cp.path.display());
    for (layer, before, after) in plan.removed() {
        println!("  {layer:<10} {before} → {after} units");
    }
    let (n0, n1) = (original.params().len(), small.params().len());
    println!(
        "  params     {n0} → {n1} ({:.1}%)",
        100.0 * n1 as f64 / n0 as f64
    );
    println!(
        "verified on {} states (ε-greedy {RECORD_EPSILON}, seed {}): greedy actions identical, max |ΔQ| = {:.3e}",
        args.states, args.seed, check.max_dq
    );
    println!(
        "batch-1 greedy forward: original {t_original:.0} ns/call, compact {t_small:.0} ns/call ({:.2}× faster)",
        t_original / t_small
    );
    println!("wrote {}", saved.display());
    Ok(())
}

/// OUT must be new, empty, or an earlier export (a directory with `latest`).
fn check_out(out: &Path) -> Result<()> {
    match std::fs::read_dir(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("--compact {}", out.display())),
        Ok(mut entries) => {
            if entries.next().is_none() || out.join("latest").is_file() {
                Ok(())
            } else {
                bail!(
                    "--compact {}: directory exists and is not an earlier export; choose a new path",
                    out.display()
                )
            }
        }
    }
}

/// `n` observations (row-major) met by `policy` acting ε-greedily, episodes chained.
pub(crate) fn record_states(
    policy: &HostPolicy,
    env_id: &str,
    n: usize,
    seed: u64,
) -> Result<Vec<f32>> {
    let mut env = sparq_envs::make(env_id)?;
    let obs_len = env.obs_space().len();
    let mut rng = Pcg64::seed_from_u64(seed);
    let (mut scratch, mut q) = (Scratch::default(), Vec::new());
    let mut obs = vec![0f32; obs_len];
    let mut states = Vec::with_capacity(n * obs_len);
    env.reset(Some(seed), &mut obs);
    for _ in 0..n {
        states.extend_from_slice(&obs);
        let a = if rng.random::<f64>() < RECORD_EPSILON {
            rng.random_range(0..env.num_actions())
        } else {
            policy.greedy(&obs, &mut scratch, &mut q)
        };
        if env.step(a, &mut obs).done() {
            env.reset(None, &mut obs);
        }
    }
    Ok(states)
}

struct Agreement {
    mismatches: usize,
    max_dq: f32,
}

fn compare(a: &HostPolicy, b: &HostPolicy, states: &[f32], obs_len: usize) -> Agreement {
    let (mut sa, mut sb, mut qa, mut qb) = (
        Scratch::default(),
        Scratch::default(),
        Vec::new(),
        Vec::new(),
    );
    let mut out = Agreement {
        mismatches: 0,
        max_dq: 0.0,
    };
    for s in states.chunks_exact(obs_len) {
        a.q_values(s, &mut sa, &mut qa);
        b.q_values(s, &mut sb, &mut qb);
        if sparq_agent::argmax(&qa) != sparq_agent::argmax(&qb) {
            out.mismatches += 1;
        }
        out.max_dq = qa
            .iter()
            .zip(&qb)
            .map(|(x, y)| (x - y).abs())
            .fold(out.max_dq, f32::max);
    }
    out
}

/// Batch-1 greedy forward time, the fastest of [`TIMING_PASSES`] passes over `states` after a
/// warm-up pass (the minimum is the least disturbed by other processes).
fn ns_per_call(policy: &HostPolicy, states: &[f32], obs_len: usize) -> f64 {
    let (mut s, mut q) = (Scratch::default(), Vec::new());
    let calls = states.len() / obs_len;
    let mut best = f64::INFINITY;
    for pass in 0..=TIMING_PASSES {
        let t = Instant::now();
        let mut sum = 0usize;
        for st in states.chunks_exact(obs_len) {
            sum += policy.greedy(black_box(st), &mut s, &mut q);
        }
        black_box(sum);
        if pass > 0 {
            best = best.min(t.elapsed().as_nanos() as f64 / calls as f64);
        }
    }
    best
}
