//! `sparq explain`: what a trained policy looks at. Saliency of the greedy action's Q-value over
//! states from real greedy rollouts (gradient, gradient × input, integrated gradients,
//! occlusion), PNG figures, and the model-randomisation sanity check of Adebayo et al. (2018):
//! the layers are re-initialised one by one from the top, and the Spearman rank correlation of
//! each re-initialised network's maps with the trained network's is reported. Maps that stay
//! correlated while the weights are destroyed do not explain the weights.
//!
//! With `--compare PATH2` the second policy is explained on the first policy's states, so a dense
//! policy and its pruned twin are compared on identical inputs.

mod names;
mod plot;
mod saliency;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use sparq_agent::{HostPolicy, Scratch};
use sparq_runstate::RunCheckpoint;

use saliency::{METHODS, Maps, Method, Net};

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// A run directory (its latest checkpoint) or a checkpoint directory.
    path: PathBuf,
    /// A second policy of the same environment, explained on the first one's states and shown
    /// beside it (e.g. the pruned twin of a dense policy).
    #[arg(long, value_name = "PATH2")]
    compare: Option<PathBuf>,
    /// Output directory for explain.json and the PNGs (default: <run dir>/explain).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Greedy episodes whose states are explained.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    episodes: u32,
    /// States kept from those episodes, evenly spaced.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    states: u32,
    /// Frames shown in the MinAtar figures and written per state to the JSON.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=8))]
    frames: u32,
    /// Riemann steps of integrated gradients.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    ig_steps: u32,
    /// States occlusion runs on (one forward pass per feature each).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    occlusion_states: u32,
    /// Seed of the first rollout episode and of the re-initialisation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print explain.json's content instead of the tables.
    #[arg(long)]
    json: bool,
}

/// `explain.json`.
#[derive(Serialize)]
struct Report {
    env_id: String,
    /// Feature (vector) or channel (image) names.
    names: Vec<String>,
    /// `[channels, height, width]` for images, `[features]` for vectors.
    obs_shape: Vec<usize>,
    states: usize,
    occlusion_states: usize,
    ig_steps: u32,
    seed: u64,
    policies: Vec<PolicyReport>,
}

#[derive(Serialize)]
struct PolicyReport {
    path: String,
    sparsity: f64,
    /// Per method: mean |saliency| per feature (vectors) or per channel (images) over the states.
    summary: Vec<MethodSummary>,
    /// The chosen frames: observation, action, Q-values and every method's full map.
    frames: Vec<Frame>,
    /// Cascading re-initialisation from the top layer down.
    sanity: Vec<SanityStep>,
}

#[derive(Serialize)]
struct MethodSummary {
    method: Method,
    mean_abs: Vec<f32>,
}

#[derive(Serialize)]
struct Frame {
    state: usize,
    obs: Vec<f32>,
    action: usize,
    q: Vec<f32>,
    maps: Vec<(Method, Vec<f32>)>,
}

#[derive(Serialize)]
struct SanityStep {
    /// Layers re-initialised so far, top first.
    reinitialised: Vec<String>,
    /// Per method: mean over states of the Spearman correlation between |map| of this network
    /// and |map| of the trained one (`null` where every state's map is constant).
    spearman: Vec<(Method, Option<f64>)>,
    /// The same over the features whose input is nonzero only. On sparse binary frames
    /// (MinAtar) gradient × input, integrated gradients and occlusion are zero wherever the
    /// input is, whatever the weights, and that shared pattern alone makes `spearman` high.
    spearman_active: Vec<(Method, Option<f64>)>,
}

pub fn run(args: ExplainArgs) -> Result<()> {
    let (cp, config) = sparq_runstate::load(&args.path)?;
    let policy = sparq_runstate::policy_of(&cp)?;
    let other = match &args.compare {
        Some(p) => {
            let (cp2, config2) = sparq_runstate::load(p)?;
            if cp2.meta.env_id != cp.meta.env_id {
                bail!(
                    "--compare {}: trained on {}, but {} on {}; compare policies of one environment",
                    p.display(),
                    cp2.meta.env_id,
                    args.path.display(),
                    cp.meta.env_id
                );
            }
            if cp2.meta.net.obs != cp.meta.net.obs {
                bail!(
                    "--compare {}: its observations differ from {}'s",
                    p.display(),
                    args.path.display()
                );
            }
            let pol2 = sparq_runstate::policy_of(&cp2)?;
            Some((p.clone(), cp2, config2, pol2))
        }
        None => None,
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| crate::prune_cmd::run_dir_of(&cp.path).join("explain"));
    sparq_agent::set_threads(config.run.torch_threads.max(1));

    let env_id = cp.meta.env_id.clone();
    let states = rollout_states(
        &policy,
        &env_id,
        args.episodes,
        args.states as usize,
        args.seed,
    )?;
    let d = policy.spec().obs.len();
    let n = states.len() / d;
    let frames = chosen_frames(n, args.frames as usize);
    let (obs_shape, names) = match policy.spec().obs.planes() {
        Some((c, h, w)) => (vec![c, h, w], names::channel_names(&env_id, c)),
        None => (vec![d], names::feature_names(&env_id, d)),
    };

    let inputs = Inputs {
        states: &states,
        frames: &frames,
        obs_shape: &obs_shape,
    };
    let mut reports = vec![explain_one(
        &args, &args.path, &cp, &config, &policy, &inputs,
    )?];
    if let Some((p, cp2, config2, pol2)) = &other {
        reports.push(explain_one(&args, p, cp2, config2, pol2, &inputs)?);
    }
    let report = Report {
        env_id,
        names,
        obs_shape,
        states: n,
        occlusion_states: (args.occlusion_states as usize).min(n),
        ig_steps: args.ig_steps,
        seed: args.seed,
        policies: reports,
    };

    std::fs::create_dir_all(&out).with_context(|| format!("--out {}", out.display()))?;
    let pngs = plot::draw_all(&out, &report)?;
    sparq_log::write_atomic(
        &out.join("explain.json"),
        serde_json::to_string(&report)?.as_bytes(),
    )?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.table());
        println!(
            "wrote {}/explain.json and {}",
            out.display(),
            pngs.join(", ")
        );
    }
    Ok(())
}

/// Greedy rollouts of `policy`; `keep` states evenly spaced over all steps, laid end to end.
fn rollout_states(
    policy: &HostPolicy,
    env_id: &str,
    episodes: u32,
    keep: usize,
    seed: u64,
) -> Result<Vec<f32>> {
    let mut env = sparq_envs::make(env_id)?;
    let d = env.obs_space().len();
    let mut all = Vec::new();
    let (mut scratch, mut q) = (Scratch::default(), Vec::new());
    let mut obs = vec![0f32; d];
    for k in 0..episodes {
        env.reset(Some(seed.wrapping_add(u64::from(k))), &mut obs);
        let limit = env.max_episode_steps().unwrap_or(10_000);
        for _ in 0..limit {
            all.extend_from_slice(&obs);
            let a = policy.greedy(&obs, &mut scratch, &mut q);
            if env.step(a, &mut obs).done() {
                break;
            }
        }
    }
    let total = all.len() / d;
    if total <= keep {
        return Ok(all);
    }
    let mut kept = Vec::with_capacity(keep * d);
    for i in 0..keep {
        let s = i * total / keep;
        kept.extend_from_slice(&all[s * d..(s + 1) * d]);
    }
    Ok(kept)
}

/// `k` state indices evenly spaced over `n`, starting a little in (the first state of an
/// episode is rarely the interesting one).
fn chosen_frames(n: usize, k: usize) -> Vec<usize> {
    let k = k.min(n);
    (0..k).map(|i| (2 * i + 1) * n / (2 * k)).collect()
}

/// The states every policy is explained on, and how they are shown.
struct Inputs<'a> {
    /// `n × d` observations, laid end to end.
    states: &'a [f32],
    /// Indices of the states shown as frames.
    frames: &'a [usize],
    obs_shape: &'a [usize],
}

fn explain_one(
    args: &ExplainArgs,
    path: &Path,
    cp: &RunCheckpoint,
    config: &sparq_config::Config,
    policy: &HostPolicy,
    inputs: &Inputs<'_>,
) -> Result<PolicyReport> {
    let Inputs {
        states,
        frames,
        obs_shape,
    } = *inputs;
    let spec = policy.spec();
    let d = spec.obs.len();
    let n = states.len() / d;
    let net = Net::new(spec, policy.params());
    let q = net.q(states)?;
    let actions: Vec<usize> = q.iter().map(|q| sparq_agent::argmax(q)).collect();
    let occ_n = (args.occlusion_states as usize).min(n);
    let maps = saliency::all_maps(&net, states, &actions, args.ig_steps as usize, occ_n)?;

    let summary = maps
        .iter()
        .map(|m| MethodSummary {
            method: m.method,
            mean_abs: mean_abs_by_group(&m.values, d, obs_shape),
        })
        .collect();
    let frame_rows = frames
        .iter()
        .map(|&i| Frame {
            state: i,
            obs: states[i * d..(i + 1) * d].to_vec(),
            action: actions[i],
            q: q[i].clone(),
            maps: maps
                .iter()
                .filter(|m| m.values.len() >= (i + 1) * d)
                .map(|m| (m.method, m.values[i * d..(i + 1) * d].to_vec()))
                .collect(),
        })
        .collect();
    let sanity = sanity_check(args, cp, policy, states, &actions, &maps, occ_n)?;
    Ok(PolicyReport {
        path: path.display().to_string(),
        sparsity: sparq::sparsity_of(policy, config).global,
        summary,
        frames: frame_rows,
        sanity,
    })
}

/// Mean |value| per feature (vectors) or per channel (images) over all states in `values`.
fn mean_abs_by_group(values: &[f32], d: usize, obs_shape: &[usize]) -> Vec<f32> {
    let groups = obs_shape[0];
    let per = d / groups;
    let n = values.len() / d;
    let mut sum = vec![0f64; groups];
    for (i, v) in values.iter().enumerate() {
        sum[(i % d) / per] += f64::from(v.abs());
    }
    sum.iter()
        .map(|s| (s / (n * per).max(1) as f64) as f32)
        .collect()
}

/// Re-initialises the layers from the top down, cumulatively, and correlates each network's
/// maps with the trained one's. The greedy action stays the trained network's: the question is
/// whether the map of the same output depends on the weights. A pruned layer is re-initialised
/// under its mask, so the check does not also measure the loss of sparsity.
fn sanity_check(
    args: &ExplainArgs,
    cp: &RunCheckpoint,
    policy: &HostPolicy,
    states: &[f32],
    actions: &[usize],
    trained: &[Maps],
    occ_n: usize,
) -> Result<Vec<SanityStep>> {
    let spec = policy.spec();
    let layout = spec.layout();
    let d = spec.obs.len();
    let fresh = Vec::<f32>::try_from(sparq_agent::init_params(
        &layout,
        tch::Device::Cpu,
        args.seed,
    )?)?;
    let mask = cp.tensor("mask").filter(|m| m.len() == layout.numel);
    let mut params = policy.params().to_vec();
    let mut done = Vec::new();
    let mut steps = Vec::new();
    for l in layout.layers.iter().rev() {
        for range in [
            l.weight_offset..l.weight_offset + l.weight_numel(),
            l.bias_offset..l.bias_offset + l.units(),
        ] {
            for i in range {
                params[i] = fresh[i] * mask.map_or(1.0, |m| m[i]);
            }
        }
        done.push(l.name.clone());
        let net = Net::new(spec, &params);
        let maps = saliency::all_maps(&net, states, actions, args.ig_steps as usize, occ_n)?;
        let spearman = trained
            .iter()
            .zip(&maps)
            .map(|(t, r)| (t.method, mean_spearman(&t.values, &r.values, d, None)))
            .collect();
        let spearman_active = trained
            .iter()
            .zip(&maps)
            .map(|(t, r)| {
                (
                    t.method,
                    mean_spearman(&t.values, &r.values, d, Some(states)),
                )
            })
            .collect();
        steps.push(SanityStep {
            reinitialised: done.clone(),
            spearman,
            spearman_active,
        });
    }
    Ok(steps)
}

/// Mean over states of Spearman(|a_i|, |b_i|), skipping states where either map is constant;
/// with `active`, over the features whose input (in `active`) is nonzero only.
fn mean_spearman(a: &[f32], b: &[f32], d: usize, active: Option<&[f32]>) -> Option<f64> {
    let pick = |v: &[f32], i: usize| -> Vec<f32> {
        let x = active.map(|s| &s[i * d..(i + 1) * d]);
        v.iter()
            .enumerate()
            .filter(|(j, _)| x.is_none_or(|x| x[*j] != 0.0))
            .map(|(_, v)| v.abs())
            .collect()
    };
    let rs: Vec<f64> = a
        .chunks(d)
        .zip(b.chunks(d))
        .enumerate()
        .filter_map(|(i, (x, y))| saliency::spearman(&pick(x, i), &pick(y, i)))
        .collect();
    (!rs.is_empty()).then(|| rs.iter().sum::<f64>() / rs.len() as f64)
}

impl Report {
    fn table(&self) -> String {
        let mut s = format!(
            "{}: saliency of the greedy action's Q over {} states of greedy rollouts (occlusion: {})\n",
            self.env_id, self.states, self.occlusion_states
        );
        for p in &self.policies {
            s.push_str(&format!(
                "\n{} (sparsity {:.4})\nmean |saliency| per {}:\n",
                p.path,
                p.sparsity,
                if self.obs_shape.len() == 3 {
                    "channel"
                } else {
                    "feature"
                }
            ));
            s.push_str(&format!("  {:<22}", "method"));
            for n in &self.names {
                s.push_str(&format!(" {:>12}", clip(n, 12)));
            }
            s.push('\n');
            for m in &p.summary {
                s.push_str(&format!("  {:<22}", m.method.label()));
                for v in &m.mean_abs {
                    s.push_str(&format!(" {v:>12.4e}"));
                }
                s.push('\n');
            }
            s.push_str("sanity check (Adebayo et al.): Spearman of |map| with the trained network's, layers re-initialised from the top\n");
            s.push_str(&format!("  {:<22}", "re-initialised"));
            for m in METHODS {
                s.push_str(&format!(" {:>20}", m.label()));
            }
            s.push('\n');
            for (title, active) in [("all features", false), ("nonzero inputs only", true)] {
                s.push_str(&format!("  over {title}:\n"));
                for step in &p.sanity {
                    let layer = step.reinitialised.last().map_or("", |x| x);
                    s.push_str(&format!("  {:<22}", clip(&format!("…{layer}"), 22)));
                    let rs = if active {
                        &step.spearman_active
                    } else {
                        &step.spearman
                    };
                    for (_, r) in rs {
                        match r {
                            Some(r) => s.push_str(&format!(" {r:>20.3}")),
                            None => s.push_str(&format!(" {:>20}", "—")),
                        }
                    }
                    s.push('\n');
                }
            }
        }
        s
    }
}

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_spread_and_in_range() {
        assert_eq!(chosen_frames(100, 3), vec![16, 50, 83]);
        assert_eq!(chosen_frames(2, 3), vec![0, 1]);
    }

    #[test]
    fn channel_means_group_planes() {
        // Two channels of two cells, two states.
        let v = [1.0, -3.0, 0.0, 2.0, 1.0, 1.0, 4.0, 0.0];
        assert_eq!(mean_abs_by_group(&v, 4, &[2, 1, 2]), vec![1.5, 1.5]);
    }
}
