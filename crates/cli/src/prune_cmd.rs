//! `sparq prune`: one-shot pruning of a trained policy at several sparsities, optional
//! fine-tuning with the masks held, and a greedy evaluation of each result against the dense
//! policy. Writes `prune.csv`, `prune.json`, `prune.png` and one checkpoint per sparsity.
//!
//! Masks come from the same `Pruner` (hence `sparq_prune::compute_masks`) that prunes during
//! training, configured as a one-shot schedule at the checkpoint's gradient step; that schedule is
//! written into each saved checkpoint's config, so `sparq eval` measures sparsity over the same
//! layers.

mod args;
mod finetune;
mod report;
mod saliency;
mod search;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use sparq_agent::{HostPolicy, Layout};
use sparq_checkpoint::Loaded;
use sparq_config::{CheckedConfig, Config};
use sparq_log::EvalStats;
use sparq_prune::{Criterion, Pruner, ScheduleKind, Scores, StepSpec};
use sparq_replay::ReplayBuffer;

use crate::plot::{self, ReturnPoint};
pub use args::PruneArgs;
use report::{Report, Row};
use sparq::{evaluate, sparsity_of};
use sparq_runstate::{CheckpointMeta, ENVS_BLOB, REPLAY_BLOB};
use sparq_runstate::{load as load_checkpoint, policy_of};

/// Keeps the pruner's generator (random criterion) apart from the other streams.
const RNG_STREAM_PRUNE: u64 = 0x5EED_0002;
/// The summary files, written only once every row is done.
const SUMMARY_FILES: [&str; 3] = ["prune.json", "prune.csv", "prune.png"];

pub fn run(args: PruneArgs) -> Result<()> {
    if args.search.is_some() {
        return search::run(&args);
    }
    let sparsities = args::parse_sparsities(&args.sparsities)?;
    let (cp, config) = load_checkpoint(&args.path)?;
    let dense = policy_of(&cp)?;
    let total_grad_steps = checkable(&config, &args).check()?.total_gradient_steps();
    let prune_step = cp.meta.grad_steps.min(total_grad_steps);
    // Refuse bad layer selections (e.g. a head named for neuron pruning) before writing anything.
    one_shot_config(&config, &args, sparsities[0], prune_step)?;
    let scores = scores(&cp, &config, &dense, args.criterion(), args.seed)?;

    sparq_agent::set_threads(config.run.torch_threads);
    let device = if args.finetune_steps > 0 {
        // A run trained on a GPU must still be prunable where there is none.
        let choice = match config.run.device {
            sparq_config::Device::Cuda => sparq_config::Device::Auto,
            d => d,
        };
        let (device, note) = sparq_agent::select_device(choice)?;
        if let Some(note) = note {
            eprintln!("sparq: {note}");
        }
        device
    } else {
        tch::Device::Cpu
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| run_dir_of(&cp.path).join(args.out_name()));
    prepare_out(&out)?;

    let sweep = Sweep {
        layout: cp.meta.net.layout(),
        cp: &cp,
        config: &config,
        args: &args,
        scores,
        device,
        prune_step,
        out: &out,
    };
    let mut rows = vec![sweep.dense_row(&dense)?];
    for &s in &sparsities {
        rows.push(
            sweep
                .pruned_row(s)
                .with_context(|| format!("sparsity {s}"))?,
        );
    }

    let report = Report {
        source: cp.path.display().to_string(),
        env_id: cp.meta.env_id.clone(),
        method: args.criterion().to_string(),
        scope: args.scope().to_string(),
        granularity: args.granularity().to_string(),
        finetune_steps: args.finetune_steps,
        episodes: args.episodes,
        seed: args.seed,
        rows,
    };
    write_outputs(&out, &report, &cp.meta.net.hidden)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.table());
        println!(
            "wrote {}/prune.{{csv,json,png}} and {} checkpoints",
            out.display(),
            sparsities.len()
        );
    }
    Ok(())
}

/// Per-layer scores for the criterion: |w|, saliency on the checkpoint's replay buffer, or none.
fn scores(
    cp: &Loaded<CheckpointMeta>,
    config: &Config,
    dense: &HostPolicy,
    criterion: Criterion,
    seed: u64,
) -> Result<Vec<Vec<f32>>> {
    let layout = cp.meta.net.layout();
    if criterion != Criterion::Saliency {
        return Ok(sparq_agent::layer_scores(
            &layout,
            criterion,
            dense.params(),
        ));
    }
    let blob = cp.blobs.get(REPLAY_BLOB).with_context(|| {
        format!(
            "--method saliency needs the replay buffer, and {} has none (train with log.save_replay = true)",
            cp.path.display()
        )
    })?;
    let replay = ReplayBuffer::read_from(&mut blob.as_slice())
        .with_context(|| format!("{}: {REPLAY_BLOB}", cp.path.display()))?;
    let target = cp
        .tensor("target")
        .with_context(|| format!("{}: tensor 'target' is missing", cp.path.display()))?;
    let flat = saliency::saliency(
        &cp.meta.net,
        dense.params(),
        target,
        &config.agent,
        &replay,
        seed,
    )?;
    Ok(sparq_agent::layer_scores(&layout, criterion, &flat))
}

/// The run directory holding `checkpoints/<name>`, else the checkpoint's parent.
pub(crate) fn run_dir_of(checkpoint: &Path) -> PathBuf {
    let parent = checkpoint.parent().unwrap_or(Path::new("."));
    if parent
        .file_name()
        .is_some_and(|n| n == sparq_log::CHECKPOINTS_DIR)
    {
        parent.parent().unwrap_or(parent).to_path_buf()
    } else {
        parent.to_path_buf()
    }
}

/// Creates `out` and clears what an earlier sweep wrote there — its summary files and its
/// `s<sparsity>` checkpoint directories — so `prune.json` never sits next to checkpoints it does
/// not list (re-running the default command into `<run>/prune-*` is the common case, so
/// clearing beats refusing). A directory that holds anything else is refused untouched: `--out`
/// may name a directory that is not sparq's.
fn prepare_out(out: &Path) -> Result<()> {
    let context = || format!("--out {}", out.display());
    std::fs::create_dir_all(out).with_context(context)?;
    let mut owned = Vec::new();
    for entry in std::fs::read_dir(out).with_context(context)? {
        let entry = entry.with_context(context)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_dir = entry.file_type().with_context(context)?.is_dir();
        let ours = if is_dir {
            is_sparsity_dir(&name)
        } else {
            // write_atomic's leftovers are `.<name>.tmp.<pid>.<n>`.
            SUMMARY_FILES
                .iter()
                .any(|f| *name == **f || name.starts_with(&format!(".{f}.tmp.")))
        };
        if !ours {
            bail!(
                "--out {} holds '{}', which sparq prune did not write; pick an empty or new directory",
                out.display(),
                clip_name(&name)
            );
        }
        owned.push((entry.path(), is_dir));
    }
    for (path, is_dir) in owned {
        let removed = if is_dir {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.with_context(|| path.display().to_string())?;
    }
    Ok(())
}

/// A name [`sparsity_dir`] writes: `s` and a sparsity in [0, 1).
fn is_sparsity_dir(name: &str) -> bool {
    name.strip_prefix('s')
        .and_then(|v| v.parse::<f64>().ok())
        .is_some_and(|v| (0.0..1.0).contains(&v))
}

/// A file name as echoed in a message: cut to 64 characters.
fn clip_name(name: &str) -> String {
    match name.char_indices().nth(64) {
        Some((at, _)) => format!("{}…", &name[..at]),
        None => name.to_owned(),
    }
}

/// `s0.90` for 0.9; more digits only when two would change the value.
fn sparsity_dir(s: f64) -> String {
    let short = format!("{s:.2}");
    if short.parse::<f64>() == Ok(s) {
        format!("s{short}")
    } else {
        format!("s{s}")
    }
}

/// The run's config with its `[prune]` section replaced by a one-shot prune to `sparsity` at
/// gradient step `step` (include/exclude kept), checked.
fn one_shot_config(
    config: &Config,
    args: &PruneArgs,
    sparsity: f64,
    step: u64,
) -> Result<(Config, CheckedConfig)> {
    let mut c = config.clone();
    let p = &mut c.prune;
    p.schedule = ScheduleKind::OneShot;
    p.target_sparsity = sparsity;
    p.initial_sparsity = 0.0;
    p.start = StepSpec::Step(step);
    p.scope = args.scope();
    p.criterion = args.criterion();
    p.granularity = args.granularity();
    let checked = checkable(&c, args).check()?;
    Ok((c, checked))
}

/// `config` as `check()` should see it here: only fine-tuning and saliency build a replay
/// buffer, so without them the run's buffer size is no reason to refuse this machine. The
/// checkpoints keep the config as recorded.
fn checkable(config: &Config, args: &PruneArgs) -> Config {
    let mut c = config.clone();
    if args.finetune_steps == 0 && args.criterion() != Criterion::Saliency {
        c.run.allow_large_memory = true;
    }
    c
}

/// What every row of a sweep shares.
struct Sweep<'a> {
    cp: &'a Loaded<CheckpointMeta>,
    config: &'a Config,
    args: &'a PruneArgs,
    layout: Layout,
    scores: Vec<Vec<f32>>,
    device: tch::Device,
    /// The gradient step the one-shot schedule prunes at.
    prune_step: u64,
    out: &'a Path,
}

impl Sweep<'_> {
    fn evaluate(&self, policy: &HostPolicy) -> Result<EvalStats> {
        let returns = evaluate(
            policy,
            &self.cp.meta.env_id,
            self.args.episodes,
            self.args.seed,
        )?;
        EvalStats::from_returns(&returns).context("no episodes were run")
    }

    fn dense_row(&self, dense: &HostPolicy) -> Result<Row> {
        let stats = self.evaluate(dense)?;
        let sparsity = sparsity_of(dense, self.config);
        eprintln!(
            "sparq: dense: return {:.2} ± {:.2}",
            stats.return_mean, stats.return_std
        );
        Ok(Row {
            dense: true,
            target_sparsity: 0.0,
            sparsity: sparsity.global,
            layers: sparsity.layers,
            params_total: dense.params().len(),
            params_nonzero: dense.params_nonzero(),
            eval: stats,
            finetune_steps: 0,
            checkpoint: None,
        })
    }

    /// Prunes to `s`, fine-tunes if asked, evaluates, and saves the checkpoint.
    fn pruned_row(&self, s: f64) -> Result<Row> {
        let (cp, meta, args) = (self.cp, &self.cp.meta, self.args);
        let started = Instant::now();
        let (cfg_s, checked) = one_shot_config(self.config, args, s, self.prune_step)?;
        let infos = sparq_agent::layer_infos(&self.layout);
        let mut pruner = Pruner::new(checked.prune().clone(), infos, args.seed ^ RNG_STREAM_PRUNE)?;
        let refs: Vec<&[f32]> = self.scores.iter().map(Vec::as_slice).collect();
        pruner.update(self.prune_step, &Scores::rank(&refs))?;
        let mut mask = sparq_agent::flat_mask(&self.layout, &pruner);
        // Whatever the checkpoint had already pruned stays pruned.
        if let Some(old) = cp.tensor("mask").filter(|m| m.len() == mask.len()) {
            mask.iter_mut().zip(old).for_each(|(m, o)| *m *= o);
        }

        tch::manual_seed(args.seed as i64);
        let mut learner = finetune::masked_learner(cp, &self.config.agent, self.device, &mask)?;
        let tuned = if args.finetune_steps > 0 {
            eprintln!(
                "sparq: sparsity {s}: fine-tuning {} gradient steps",
                args.finetune_steps
            );
            Some(finetune::finetune(
                &mut learner,
                &checked,
                args.finetune_steps,
                args.seed,
            )?)
        } else {
            None
        };

        let policy = HostPolicy::new(meta.net.clone(), learner.params_host()?)?;
        let stats = self.evaluate(&policy)?;
        let sparsity = sparsity_of(&policy, &cfg_s);
        eprintln!(
            "sparq: sparsity {s}: measured {:.4}, return {:.2} ± {:.2}",
            sparsity.global, stats.return_mean, stats.return_std
        );

        let env_steps = meta.env_steps + tuned.as_ref().map_or(0, |t| t.env_steps);
        let new_meta = CheckpointMeta {
            config: cfg_s.to_toml_string()?,
            env_steps,
            grad_steps: learner.grad_steps,
            optimizer_step: learner.optimizer_step(),
            episodes: meta.episodes + tuned.as_ref().map_or(0, |t| t.episodes),
            wall_s: meta.wall_s + started.elapsed().as_secs_f64(),
            pruner: Some(pruner),
            rng: tuned
                .as_ref()
                .map_or_else(|| meta.rng.clone(), |t| t.rng.clone()),
            // Loss sums belong to the run's event log, which this checkpoint does not continue.
            stats: (0.0, 0.0, 0),
            ..meta.clone()
        };
        let envs_blob = match &tuned {
            Some(t) => Some(t.envs_snapshot.as_slice()),
            None => cp.blobs.get(ENVS_BLOB).map(Vec::as_slice),
        };
        let blobs: Vec<(&str, &[u8])> = envs_blob.map(|b| (ENVS_BLOB, b)).into_iter().collect();
        let name = format!("step_{env_steps:010}");
        let dir = self.out.join(sparsity_dir(s));
        let saved =
            sparq_checkpoint::save(&dir, &name, &new_meta, &learner.state_host()?, &blobs, 1)?;

        Ok(Row {
            dense: false,
            target_sparsity: s,
            sparsity: sparsity.global,
            layers: sparsity.layers,
            params_total: policy.params().len(),
            params_nonzero: policy.params_nonzero(),
            eval: stats,
            finetune_steps: args.finetune_steps,
            checkpoint: saved
                .strip_prefix(self.out)
                .ok()
                .map(|p| p.display().to_string()),
        })
    }
}

/// The plot and the CSV first, the JSON last: `prune.json` present means the sweep is complete.
fn write_outputs(out: &Path, report: &Report, hidden: &[usize]) -> Result<()> {
    let point = |sparsity, e: &EvalStats| ReturnPoint {
        sparsity,
        mean: e.return_mean,
        std: e.return_std,
    };
    let dense = point(0.0, &report.rows[0].eval);
    let points: Vec<ReturnPoint> = report.rows[1..]
        .iter()
        .map(|r| point(r.sparsity, &r.eval))
        .collect();
    let mut title = format!(
        "{} {hidden:?}: {} {} pruning",
        report.env_id, report.scope, report.method
    );
    if report.finetune_steps > 0 {
        title.push_str(&format!(", {} fine-tuning steps", report.finetune_steps));
    }
    if plot::return_vs_sparsity(&out.join("prune.png"), &title, &dense, &points)?
        == plot::Text::Missing
    {
        eprintln!(
            "sparq: no TrueType font found (set SPARQ_FONT=/path/to/font.ttf): prune.png has no labels"
        );
    }
    sparq_log::write_atomic(&out.join("prune.csv"), report.csv().as_bytes())?;
    sparq_log::write_atomic(
        &out.join("prune.json"),
        serde_json::to_string_pretty(report)?.as_bytes(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparsity_dirs_keep_the_value() {
        assert_eq!(sparsity_dir(0.9), "s0.90");
        assert_eq!(sparsity_dir(0.5), "s0.50");
        assert_eq!(sparsity_dir(0.98), "s0.98");
        assert_eq!(sparsity_dir(0.995), "s0.995");
        assert_eq!(sparsity_dir(0.0), "s0.00");
    }

    #[test]
    fn default_output_sits_in_the_run_directory() {
        let cp = Path::new("/r/run1/checkpoints/step_0000001000");
        assert_eq!(run_dir_of(cp), Path::new("/r/run1"));
        let pruned = Path::new("/r/run1/prune-magnitude-global/s0.90/step_0000001000");
        assert_eq!(
            run_dir_of(pruned),
            Path::new("/r/run1/prune-magnitude-global/s0.90")
        );
    }
}
