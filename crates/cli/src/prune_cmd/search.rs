//! `sparq prune PATH --search dqn --budget B`: a DQN agent chooses each layer's sparsity under a
//! global budget (the compression environment of `crate::compress`), and its allocation is
//! compared with the fixed ones at the same budget — uniform (every layer at B), global
//! magnitude (one threshold) and ERK — all pruned one-shot by magnitude, fine-tuned alike with
//! `--finetune-steps K` (masks held), and evaluated on the same episodes. The search scores
//! allocations on its own seeds (`--seed` + [`SEARCH_SEED_OFFSET`]), never on the comparison's,
//! so picking the best explored allocation does not flatter it.
//!
//! Writes `search.json`, the agent's run directory `agent/`, and the searched policy as a
//! checkpoint under `checkpoints/`, into OUT (default `<run dir>/prune-search-dqn-b<B>[-ft<K>]`).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use sparq_agent::HostPolicy;
use sparq_config::Config;
use sparq_log::EvalStats;
use sparq_prune::{Criterion, Granularity, Mask, MaskSpec, Scope, compute_masks};
use sparq_runstate::{CheckpointMeta, PARAMS, RunCheckpoint};

use super::PruneArgs;
use crate::compress::alloc::{Budget, MAX_LEVEL, prune_layerwise};
use crate::compress::env::{Context as SearchContext, Prune, SearchLog};
use crate::compress::search::{SearchOptions, SearchResult, search};

/// Added to `--seed` for the episodes the search scores allocations on.
pub const SEARCH_SEED_OFFSET: u64 = 1_000_000;

#[derive(Serialize)]
struct Report {
    source: String,
    env_id: String,
    budget: f64,
    /// Gradient steps of masked fine-tuning each allocation gets before it is evaluated.
    finetune_steps: u64,
    /// The prunable layers, in order; every allocation lists one sparsity per layer.
    layers: Vec<String>,
    episodes: u32,
    seed: u64,
    search: SearchResult,
    search_eval_episodes: u32,
    dense: EvalStats,
    rows: Vec<Row>,
}

#[derive(Serialize)]
struct Row {
    method: String,
    allocation: Vec<f64>,
    /// Fraction of prunable weights removed.
    sparsity: f64,
    eval: EvalStats,
}

pub fn run(args: &PruneArgs) -> Result<()> {
    let budget = args
        .budget
        .context("--search needs --budget, the sparsity to reach, e.g. --budget 0.9")?;
    if !(budget > 0.0 && budget <= MAX_LEVEL) {
        bail!("--budget {budget}: must be in (0, {MAX_LEVEL}]");
    }
    if args.search_episodes == 0 {
        bail!("--search-episodes 0: the search needs at least one episode");
    }
    let (cp, config) = sparq_runstate::load(&args.path)?;
    let dense = sparq_runstate::policy_of(&cp)?;
    let layout = cp.meta.net.layout();
    let infos = sparq_agent::layer_infos(&layout);
    let p = &config.prune;
    let flags = sparq_prune::select_layers(&infos, &p.include, &p.exclude, Granularity::Weight)?;
    let prunable: Vec<usize> = (0..flags.len()).filter(|&i| flags[i]).collect();
    if prunable.is_empty() {
        bail!(
            "{}: no layer is prunable under its [prune] include/exclude",
            cp.path.display()
        );
    }
    let sizes: Vec<usize> = prunable
        .iter()
        .map(|&l| layout.layers[l].weight_numel())
        .collect();
    let names: Vec<String> = prunable
        .iter()
        .map(|&l| layout.layers[l].name.clone())
        .collect();
    let out = args.out.clone().unwrap_or_else(|| {
        let ft = match args.finetune_steps {
            0 => String::new(),
            k => format!("-ft{k}"),
        };
        super::run_dir_of(&cp.path).join(format!("prune-search-dqn-b{budget}{ft}"))
    });
    if out.exists()
        && std::fs::read_dir(&out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "--out {}: exists and is not empty; pick a new directory",
            out.display()
        );
    }
    std::fs::create_dir_all(&out).with_context(|| format!("--out {}", out.display()))?;

    let env_id = cp.meta.env_id.clone();
    let evaluate = |policy: &HostPolicy, episodes: u32, seed: u64| -> Result<EvalStats> {
        let returns = sparq::evaluate(policy, &env_id, episodes, seed)?;
        EvalStats::from_returns(&returns).context("no episodes were run")
    };
    let search_seed = args.seed.wrapping_add(SEARCH_SEED_OFFSET);
    let dense_search = evaluate(&dense, args.search_eval_episodes, search_seed)?;
    let cp = Arc::new(cp);
    let prune = pruning(cp.clone(), &config, args, dense.clone(), prunable.clone())?;
    let ctx = SearchContext {
        source: dense.clone(),
        prune: prune.clone(),
        env_id: env_id.clone(),
        prunable: prunable.clone(),
        budget: Budget {
            sizes: sizes.clone(),
            sparsity: budget,
        },
        episodes: args.search_eval_episodes,
        seed: search_seed,
        dense_return: dense_search.return_mean,
        log: std::sync::Mutex::new(SearchLog::default()),
        recording: std::sync::atomic::AtomicBool::new(false),
    };
    let opts = SearchOptions {
        episodes: args.search_episodes,
        seed: args.seed,
    };
    eprintln!(
        "sparq: searching {} layer sparsities at budget {budget}: {} episodes, {} evaluation episodes each{}",
        names.len(),
        opts.episodes,
        args.search_eval_episodes,
        match args.finetune_steps {
            0 => String::new(),
            k => format!(" after {k} fine-tuning steps"),
        }
    );
    let found = search(ctx, &opts, &out.join("agent"))?;
    eprintln!(
        "sparq: search done in {:.1} s, {:.1} s of it evaluating {} allocations",
        found.total_seconds, found.eval_seconds, found.evaluations
    );

    // The fixed allocations at the same budget, as `sparq prune --scope` computes them.
    let magnitude = sparq_agent::layer_scores(&layout, Criterion::Magnitude, dense.params());
    let fixed = |scope: Scope| -> Result<Vec<f64>> {
        let refs: Vec<&[f32]> = magnitude.iter().map(Vec::as_slice).collect();
        let spec = MaskSpec {
            sparsity: budget,
            scope,
            criterion: Criterion::Magnitude,
            granularity: Granularity::Weight,
        };
        let mut rng = rand_pcg::Pcg64::new(0, 0);
        let masks = compute_masks(&infos, &flags, &refs, &spec, None, &mut rng)?;
        Ok(prunable
            .iter()
            .map(|&l| masks[l].as_ref().map_or(0.0, Mask::sparsity))
            .collect())
    };
    let candidates = [
        ("uniform".to_string(), vec![budget; prunable.len()]),
        ("global".to_string(), fixed(Scope::Global)?),
        ("erk".to_string(), fixed(Scope::Erk)?),
        ("search (best explored)".to_string(), found.best.clone()),
        ("search (greedy)".to_string(), found.greedy.clone()),
    ];
    let b = Budget {
        sizes,
        sparsity: budget,
    };
    let mut rows = Vec::new();
    for (method, allocation) in candidates {
        let policy = prune(&allocation).with_context(|| format!("allocation {method}"))?;
        let eval = evaluate(&policy, args.episodes, args.seed)?;
        if method == "search (best explored)" {
            save_policy(&out, &cp.meta, &policy)?;
        }
        rows.push(Row {
            method,
            sparsity: b.achieved(&allocation),
            allocation,
            eval,
        });
    }
    let dense_eval = evaluate(&dense, args.episodes, args.seed)?;
    let report = Report {
        source: cp.path.display().to_string(),
        env_id: env_id.clone(),
        budget,
        finetune_steps: args.finetune_steps,
        layers: names,
        episodes: args.episodes,
        seed: args.seed,
        search: found,
        search_eval_episodes: args.search_eval_episodes,
        dense: dense_eval,
        rows,
    };
    sparq_log::write_atomic(
        &out.join("search.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.table());
        println!("wrote {}/search.json", out.display());
    }
    Ok(())
}

/// The policy each allocation gives, in the search and in the comparison alike: the source pruned
/// layerwise by magnitude, then, with `--finetune-steps K`, K gradient steps of fine-tuning on
/// the CPU with the pruned weights (and any the checkpoint had masked) held at zero.
fn pruning(
    cp: Arc<RunCheckpoint>,
    config: &Config,
    args: &PruneArgs,
    source: HostPolicy,
    prunable: Vec<usize>,
) -> Result<Prune> {
    let layout = cp.meta.net.layout();
    let (steps, seed) = (args.finetune_steps, args.seed);
    let checked = match steps {
        0 => None,
        _ => Some(super::checkable(config, args).check()?),
    };
    Ok(Arc::new(move |allocation: &[f64]| {
        let params = prune_layerwise(&layout, source.params(), &prunable, allocation);
        let Some(checked) = &checked else {
            return Ok(HostPolicy::new(source.spec().clone(), params)?);
        };
        let old = cp.tensor("mask").filter(|m| m.len() == params.len());
        let mask: Vec<f32> = (0..params.len())
            .map(|i| {
                let was_masked = old.is_some_and(|m| m[i] == 0.0);
                let zeroed = params[i] == 0.0 && (source.params()[i] != 0.0 || was_masked);
                if zeroed { 0.0 } else { 1.0 }
            })
            .collect();
        let agent = &checked.config().agent;
        let mut learner = super::finetune::masked_learner(&cp, agent, tch::Device::Cpu, &mask)?;
        super::finetune::finetune(&mut learner, checked, steps, seed)?;
        Ok(HostPolicy::new(
            cp.meta.net.clone(),
            learner.params_host()?,
        )?)
    }))
}

/// The searched policy as a checkpoint `sparq eval` reads (its mask: its zeros).
fn save_policy(out: &Path, meta: &CheckpointMeta, policy: &HostPolicy) -> Result<()> {
    let params = policy.params().to_vec();
    let mask: Vec<f32> = params
        .iter()
        .map(|v| if *v == 0.0 { 0.0 } else { 1.0 })
        .collect();
    let meta = CheckpointMeta {
        pruner: None,
        stats: (0.0, 0.0, 0),
        evals: Vec::new(),
        best: None,
        ..meta.clone()
    };
    let tensors = vec![
        (PARAMS.to_string(), params.clone()),
        ("target".to_string(), params),
        ("mask".to_string(), mask),
    ];
    let name = format!("step_{:010}", meta.env_steps);
    sparq_checkpoint::save(
        &out.join(sparq_log::CHECKPOINTS_DIR),
        &name,
        &meta,
        &tensors,
        &[],
        0,
    )?;
    Ok(())
}

impl Report {
    fn table(&self) -> String {
        let ft = match self.finetune_steps {
            0 => String::new(),
            k => format!(", each allocation fine-tuned {k} gradient steps"),
        };
        let mut s = format!(
            "{}: per-layer sparsity at budget {} ({} greedy episodes from seed {}{ft})\n",
            self.env_id, self.budget, self.episodes, self.seed
        );
        s.push_str(&format!("{:<24}", "allocation"));
        for l in &self.layers {
            s.push_str(&format!(" {l:>8}"));
        }
        s.push_str(&format!(" {:>9} {:>18}\n", "sparsity", "return mean ± std"));
        s.push_str(&format!("{:<24}", "dense"));
        for _ in &self.layers {
            s.push_str(&format!(" {:>8}", "0"));
        }
        s.push_str(&format!(
            " {:>9.4} {:>9.2} ± {:>6.2}\n",
            0.0, self.dense.return_mean, self.dense.return_std
        ));
        for r in &self.rows {
            s.push_str(&format!("{:<24}", r.method));
            for a in &r.allocation {
                s.push_str(&format!(" {a:>8.4}"));
            }
            s.push_str(&format!(
                " {:>9.4} {:>9.2} ± {:>6.2}\n",
                r.sparsity, r.eval.return_mean, r.eval.return_std
            ));
        }
        let f = &self.search;
        s.push_str(&format!(
            "search: {} episodes, {} distinct allocations evaluated ({} episodes each) in {:.1} s of {:.1} s\n",
            f.episodes, f.evaluations, self.search_eval_episodes, f.eval_seconds, f.total_seconds
        ));
        s
    }
}
