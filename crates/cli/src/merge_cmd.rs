//! `sparq merge`: several trained policies of one environment become one — by uniform weight
//! averaging, by a greedy soup (Wortsman et al. 2022), or as an ensemble that acts by mean Q or
//! majority vote. Pruned members' masks combine by intersection or union, and an averaged pruned
//! policy is re-pruned to its target sparsity.
//!
//! OUT is a run-like directory: `checkpoints/` with the merged checkpoint (average, soup) or
//! `ensemble.json` and `members/<k>/` (ensemble), and `merge.json`. Everything is written into a
//! temporary sibling directory first and renamed into place, so OUT is complete or absent.

mod combine;
mod report;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sparq::{EVAL_SEED_OFFSET, Ensemble, EnsembleManifest, Policy, Vote, sparsity_of};
use sparq_agent::HostPolicy;
use sparq_config::Config;
use sparq_log::EvalStats;
use sparq_prune::ScheduleKind;
use sparq_runstate::{CheckpointMeta, PARAMS, RunCheckpoint};

use combine::{MaskMode, Reprune};
use report::{MemberRow, MergeReport, MergedRow, SoupStep};

/// The merged checkpoint's mask tensor (the name training checkpoints use).
const MASK: &str = "mask";
const TARGET: &str = "target";

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Uniform average of all members' weights.
    Average,
    /// Greedy soup: members in order of return, each kept if the average's return does not drop.
    Soup,
    /// All members act together (see --vote).
    Ensemble,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum VoteArg {
    /// Highest mean Q-value over the members.
    MeanQ,
    /// Most members' greedy action (ties: highest mean Q).
    Majority,
}

#[derive(clap::Args)]
pub struct MergeArgs {
    /// Run directories or checkpoint directories of one environment (and, for average and soup,
    /// one architecture).
    #[arg(required = true, num_args = 1..)]
    runs: Vec<PathBuf>,
    /// How the members become one policy.
    #[arg(long, value_enum)]
    method: Method,
    /// How an ensemble chooses (ensemble only).
    #[arg(long, value_enum, default_value_t = VoteArg::MeanQ)]
    vote: VoteArg,
    /// How pruned members' masks combine (average and soup).
    #[arg(long, value_enum, default_value_t = MaskMode::Intersection)]
    masks: MaskMode,
    /// Sparsity the merged policy is re-pruned to, in [0, 1) (default: the highest
    /// `prune.target_sparsity` among pruned members; dense members: no re-prune).
    #[arg(long, value_name = "S")]
    target_sparsity: Option<f64>,
    /// Greedy evaluation episodes per policy (members, soup candidates, the result).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    episodes: u32,
    /// Seed of the first evaluation episode (default: the first member's final-evaluation seeds,
    /// which `sparq eval OUT` also uses).
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory; must not exist or be empty.
    #[arg(long)]
    out: PathBuf,
    /// Print merge.json's content instead of the table.
    #[arg(long)]
    json: bool,
}

/// One loaded member.
struct Member {
    path: PathBuf,
    cp: RunCheckpoint,
    config: Config,
    policy: HostPolicy,
    eval: EvalStats,
}

impl Member {
    fn mask(&self) -> Option<&[f32]> {
        self.cp
            .tensor(MASK)
            .filter(|m| m.len() == self.policy.params().len())
    }
}

pub fn run(args: MergeArgs) -> Result<()> {
    if let Some(s) = args.target_sparsity.filter(|s| !(0.0..1.0).contains(s)) {
        bail!("--target-sparsity {s}: must be in [0, 1)");
    }
    check_out(&args.out)?;
    let mut members = Vec::with_capacity(args.runs.len());
    for path in &args.runs {
        let (mut cp, config) = sparq_runstate::load(path)?;
        // The replay buffer can be large and merging never reads it.
        cp.blobs.clear();
        let policy = sparq_runstate::policy_of(&cp)?;
        members.push((path.clone(), cp, config, policy));
    }
    check_compatible(&members, args.method)?;
    let seed = args
        .seed
        .unwrap_or(members[0].2.run.seed + EVAL_SEED_OFFSET);
    let env_id = members[0].1.meta.env_id.clone();
    let evaluate = |p: &HostPolicy| -> Result<EvalStats> {
        let returns = sparq::evaluate(p, &env_id, args.episodes, seed)?;
        EvalStats::from_returns(&returns).context("no episodes were run")
    };

    let mut loaded = Vec::with_capacity(members.len());
    for (path, cp, config, policy) in members {
        let eval = evaluate(&policy)?;
        eprintln!(
            "sparq: {}: return {:.2} ± {:.2}",
            path.display(),
            eval.return_mean,
            eval.return_std
        );
        loaded.push(Member {
            path,
            cp,
            config,
            policy,
            eval,
        });
    }
    let members = loaded;
    let reprune = reprune_of(&members, args.target_sparsity)?;

    let tmp = temp_sibling(&args.out)?;
    let written = (|| -> Result<MergeReport> {
        let (merged, soup) = match args.method {
            Method::Ensemble => {
                let vote = match args.vote {
                    VoteArg::MeanQ => Vote::MeanQ,
                    VoteArg::Majority => Vote::Majority,
                };
                (
                    write_ensemble(&tmp, &members, vote, args.episodes, seed)?,
                    Vec::new(),
                )
            }
            Method::Average => {
                let all: Vec<usize> = (0..members.len()).collect();
                let (policy, mask) = merge(&members, &all, args.masks, reprune.as_ref())?;
                let eval = evaluate(&policy)?;
                let row = save_merged(&tmp, &members, &all, policy, mask, eval, reprune.as_ref())?;
                (row, Vec::new())
            }
            Method::Soup => {
                let (chosen, steps) =
                    greedy_soup(&members, args.masks, reprune.as_ref(), &evaluate)?;
                let (policy, mask) = merge(&members, &chosen, args.masks, reprune.as_ref())?;
                let eval = evaluate(&policy)?;
                let row = save_merged(
                    &tmp,
                    &members,
                    &chosen,
                    policy,
                    mask,
                    eval,
                    reprune.as_ref(),
                )?;
                (row, steps)
            }
        };
        let report = MergeReport {
            method: args.method,
            vote: (args.method == Method::Ensemble).then(|| args.vote_name()),
            masks: (args.method != Method::Ensemble).then_some(args.masks),
            env_id: env_id.clone(),
            episodes: args.episodes,
            seed,
            members: members
                .iter()
                .map(|m| MemberRow {
                    path: m.path.display().to_string(),
                    eval: m.eval.clone(),
                    sparsity: sparsity_of(&m.policy, &m.config).global,
                })
                .collect(),
            soup,
            merged,
        };
        sparq_log::write_atomic(
            &tmp.join("merge.json"),
            serde_json::to_string_pretty(&report)?.as_bytes(),
        )?;
        Ok(report)
    })();
    let report = match written.and_then(|r| {
        // An empty OUT is replaced; rename refuses a non-empty one, which check_out excluded.
        std::fs::rename(&tmp, &args.out)
            .with_context(|| format!("--out {}", args.out.display()))
            .map(|()| r)
    }) {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.table());
        println!("wrote {}", args.out.display());
    }
    Ok(())
}

impl MergeArgs {
    fn vote_name(&self) -> String {
        match self.vote {
            VoteArg::MeanQ => Vote::MeanQ.to_string(),
            VoteArg::Majority => Vote::Majority.to_string(),
        }
    }
}

/// OUT must be new or an empty directory: merging never overwrites a policy.
fn check_out(out: &Path) -> Result<()> {
    match std::fs::read_dir(out) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!(
                    "--out {}: exists and is not empty; pick a new directory",
                    out.display()
                );
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("--out {}", out.display())),
    }
}

/// `.<name>.tmp-<pid>` next to OUT (same file system, so the final rename is atomic).
fn temp_sibling(out: &Path) -> Result<PathBuf> {
    let name = out
        .file_name()
        .with_context(|| format!("--out {}: names no directory", out.display()))?;
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("--out {}", out.display()))?;
    let tmp = parent.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).with_context(|| tmp.display().to_string())?;
    }
    std::fs::create_dir(&tmp).with_context(|| tmp.display().to_string())?;
    Ok(tmp)
}

/// One environment for all; one architecture too unless the members only vote.
fn check_compatible(
    members: &[(PathBuf, RunCheckpoint, Config, HostPolicy)],
    method: Method,
) -> Result<()> {
    let (p0, cp0) = (&members[0].0, &members[0].1);
    for (p, cp, _, _) in &members[1..] {
        if cp.meta.env_id != cp0.meta.env_id {
            bail!(
                "{} was trained on {}, {} on {}: merging needs one environment",
                p.display(),
                cp.meta.env_id,
                p0.display(),
                cp0.meta.env_id
            );
        }
        let (a, b) = (&cp0.meta.net, &cp.meta.net);
        let same = if method == Method::Ensemble {
            a.obs == b.obs && a.num_actions == b.num_actions
        } else {
            a == b
        };
        if !same {
            bail!(
                "mismatched architectures: {} is {}, {} is {}{}",
                p0.display(),
                describe(a),
                p.display(),
                describe(b),
                if method == Method::Ensemble {
                    ""
                } else {
                    " (average and soup need one architecture)"
                }
            );
        }
    }
    Ok(())
}

fn describe(n: &sparq_agent::NetSpec) -> String {
    format!(
        "conv {:?} hidden {:?} {:?}{} with {} actions",
        n.conv_channels,
        n.hidden,
        n.activation,
        if n.dueling { " dueling" } else { "" },
        n.num_actions
    )
}

/// The re-prune a merged policy gets: to --target-sparsity, else to the highest target among
/// pruned members, with the first pruned member's scope, granularity and layer selection.
fn reprune_of(members: &[Member], target: Option<f64>) -> Result<Option<Reprune>> {
    let pruned: Vec<&Member> = members
        .iter()
        .filter(|m| m.config.prune.schedule != ScheduleKind::None)
        .collect();
    let source = pruned
        .first()
        .map(|m| &m.config)
        .unwrap_or(&members[0].config);
    let target = match target {
        Some(t) => t,
        None => match pruned
            .iter()
            .map(|m| m.config.prune.target_sparsity)
            .max_by(f64::total_cmp)
        {
            Some(t) => t,
            None => return Ok(None),
        },
    };
    let p = &source.prune;
    let layout = members[0].cp.meta.net.layout();
    let prunable = sparq_prune::select_layers(
        &sparq_agent::layer_infos(&layout),
        &p.include,
        &p.exclude,
        p.granularity,
    )?;
    Ok(Some(Reprune {
        target,
        scope: p.scope,
        granularity: p.granularity,
        prunable,
    }))
}

/// The average of the chosen members, masked and re-pruned; returns the policy and, when any
/// member was pruned or a re-prune ran, the mask.
fn merge(
    members: &[Member],
    chosen: &[usize],
    mode: MaskMode,
    reprune: Option<&Reprune>,
) -> Result<(HostPolicy, Option<Vec<f32>>)> {
    let params: Vec<&[f32]> = chosen.iter().map(|&i| members[i].policy.params()).collect();
    let mut avg = combine::average(&params)?;
    let spec = members[chosen[0]].cp.meta.net.clone();
    let masks: Vec<Option<&[f32]>> = chosen.iter().map(|&i| members[i].mask()).collect();
    let mask = if masks.iter().any(Option::is_some) || reprune.is_some() {
        let layout = spec.layout();
        let combined = combine::combine_masks(&masks, avg.len(), mode);
        let infos = sparq_agent::layer_infos(&layout);
        Some(combine::apply_and_reprune(
            &layout, &infos, &mut avg, combined, reprune,
        )?)
    } else {
        None
    };
    Ok((HostPolicy::new(spec, avg)?, mask))
}

/// Greedy soup: members by descending return (ties: argument order); each is added if the
/// soup's return with it is at least the return without it. Returns the chosen members.
fn greedy_soup(
    members: &[Member],
    mode: MaskMode,
    reprune: Option<&Reprune>,
    evaluate: &dyn Fn(&HostPolicy) -> Result<EvalStats>,
) -> Result<(Vec<usize>, Vec<SoupStep>)> {
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by(|&a, &b| {
        members[b]
            .eval
            .return_mean
            .total_cmp(&members[a].eval.return_mean)
    });
    let mut chosen = vec![order[0]];
    // The soup of one, masked and re-pruned as every candidate is, so the comparison is fair.
    let (first, _) = merge(members, &chosen, mode, reprune)?;
    let mut best = evaluate(&first)?.return_mean;
    let mut steps = vec![SoupStep {
        member: order[0],
        soup_return: best,
        kept: true,
    }];
    for &i in &order[1..] {
        let mut candidate = chosen.clone();
        candidate.push(i);
        let (policy, _) = merge(members, &candidate, mode, reprune)?;
        let r = evaluate(&policy)?.return_mean;
        let kept = r >= best;
        eprintln!(
            "sparq: soup + {}: return {r:.2} ({})",
            members[i].path.display(),
            if kept { "kept" } else { "dropped" }
        );
        if kept {
            chosen = candidate;
            best = r;
        }
        steps.push(SoupStep {
            member: i,
            soup_return: r,
            kept,
        });
    }
    Ok((chosen, steps))
}

/// Writes the merged checkpoint under `dir/checkpoints` and returns the report's row.
fn save_merged(
    dir: &Path,
    members: &[Member],
    chosen: &[usize],
    policy: HostPolicy,
    mask: Option<Vec<f32>>,
    eval: EvalStats,
    reprune: Option<&Reprune>,
) -> Result<MergedRow> {
    let first = &members[chosen[0]];
    let meta = CheckpointMeta {
        // The masks live in the `mask` tensor; a pruner's masks would describe one member only.
        pruner: None,
        stats: (0.0, 0.0, 0),
        evals: Vec::new(),
        best: None,
        ..first.cp.meta.clone()
    };
    let mut tensors = vec![
        (PARAMS.to_string(), policy.params().to_vec()),
        (TARGET.to_string(), policy.params().to_vec()),
    ];
    if let Some(m) = mask {
        tensors.push((MASK.to_string(), m));
    }
    let name = format!("step_{:010}", meta.env_steps);
    sparq_checkpoint::save(
        &dir.join(sparq_log::CHECKPOINTS_DIR),
        &name,
        &meta,
        &tensors,
        &[],
        0,
    )?;
    let sparsity = sparsity_of(&policy, &first.config);
    Ok(MergedRow {
        members: chosen.to_vec(),
        eval,
        sparsity: sparsity.global,
        params_nonzero: policy.params_nonzero(),
        params_total: policy.params().len(),
        target_sparsity: reprune.map(|r| r.target),
        target_met: reprune.map(|r| target_met(&policy, r)),
    })
}

/// Whether the prunable layers hold at least round(target · n) zero weights (the count a
/// re-prune aims at).
fn target_met(policy: &HostPolicy, r: &Reprune) -> bool {
    let layout = policy.spec().layout();
    let (mut zeros, mut total) = (0usize, 0usize);
    for (l, _) in layout.layers.iter().zip(&r.prunable).filter(|(_, p)| **p) {
        let w = &policy.params()[l.weight_offset..l.weight_offset + l.weight_numel()];
        zeros += w.iter().filter(|v| **v == 0.0).count();
        total += w.len();
    }
    zeros >= (r.target * total as f64).round() as usize
}

/// Copies each member's policy into `dir/members/<k>`, writes `ensemble.json`, and evaluates the
/// ensemble as `sparq eval` will load it.
fn write_ensemble(
    dir: &Path,
    members: &[Member],
    vote: Vote,
    episodes: u32,
    seed: u64,
) -> Result<MergedRow> {
    let mut names = Vec::with_capacity(members.len());
    for (k, m) in members.iter().enumerate() {
        let name = format!("members/{k}");
        let tensors: Vec<(String, Vec<f32>)> =
            m.cp.tensors
                .iter()
                .filter(|(n, _)| n == PARAMS || n == MASK || n == TARGET)
                .cloned()
                .collect();
        let cp_name = format!("step_{:010}", m.cp.meta.env_steps);
        sparq_checkpoint::save(&dir.join(&name), &cp_name, &m.cp.meta, &tensors, &[], 0)?;
        names.push(name);
    }
    let manifest = EnsembleManifest {
        format: sparq::ENSEMBLE_FORMAT.into(),
        version: sparq::ENSEMBLE_VERSION,
        env_id: members[0].cp.meta.env_id.clone(),
        vote,
        members: names,
    };
    sparq_log::write_atomic(
        &dir.join(sparq::ENSEMBLE_FILE),
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
    )?;
    // Evaluate what was written, not what is in memory: the saved ensemble is what ships.
    let ensemble = Ensemble::load(dir)?;
    let returns = ensemble.evaluate(episodes, seed)?;
    let eval = EvalStats::from_returns(&returns).context("no episodes were run")?;
    let (zeros, total) = ensemble_census(ensemble.members());
    Ok(MergedRow {
        members: (0..members.len()).collect(),
        eval,
        sparsity: ensemble_sparsity(ensemble.members()).global,
        params_nonzero: total - zeros,
        params_total: total,
        target_sparsity: None,
        target_met: None,
    })
}

/// Zero and total parameters over all members.
pub fn ensemble_census(members: &[Policy]) -> (usize, usize) {
    members.iter().fold((0, 0), |(z, t), m| {
        let params = m.network().params().len();
        (z + params - m.network().params_nonzero(), t + params)
    })
}

/// The members' pruned weights over their prunable weights, with each member's layers listed
/// as `m<k>.<layer>`.
pub fn ensemble_sparsity(members: &[Policy]) -> sparq::SparsityReport {
    let (mut pruned, mut total, mut layers) = (0, 0, std::collections::BTreeMap::new());
    for (k, m) in members.iter().enumerate() {
        let r = m.sparsity();
        pruned += r.pruned;
        total += r.total;
        for (layer, s) in r.layers {
            layers.insert(format!("m{k}.{layer}"), s);
        }
    }
    let global = if total == 0 {
        0.0
    } else {
        pruned as f64 / total as f64
    };
    sparq::SparsityReport {
        global,
        pruned,
        total,
        layers,
    }
}
