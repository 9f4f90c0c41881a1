//! `sparq report SWEEP_DIR`: per group of a sweep, IQM, mean, median and optimality gap of the
//! final greedy returns with 95 % stratified-bootstrap confidence intervals (sparq-stats, checked
//! against rliable by scripts/dev/rliable-check), as Markdown, CSV and JSON, and three PNGs:
//! return against sparsity, learning curves and performance profiles.
//!
//! A group's tasks are its environments (runs are resampled within each); its runs are seeds. A
//! `sparq prune` point becomes one group per sparsity, `<group>@<sparsity>`, the unpruned policy
//! included as `@0`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use sparq_stats::{Aggregate, Interval, Scores, interval_estimates, profile_intervals};
use sparq_sweep::{Index, Job, JobKind};

use crate::report_plot;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// A directory written by `sparq sweep`.
    sweep_dir: PathBuf,
    /// Print the per-group estimates as JSON (the same as report.json) instead of the table.
    #[arg(long)]
    json: bool,
    /// Output directory (default: SWEEP_DIR/report).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Bootstrap resamples (rliable's default, 50000).
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(100..))]
    reps: u64,
    /// Seed of the bootstrap's generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Only these run seeds, e.g. `1,2,3` (default: all), so a sweep still running can be
    /// reported over the seeds every group has.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    seeds: Vec<u64>,
    /// Only the runs on this environment, e.g. `Acrobot-v1` (default: all), for a sweep whose
    /// groups pool several.
    #[arg(long, value_name = "ID")]
    env: Option<String>,
}

/// Confidence level of every interval.
const CONFIDENCE: f64 = 0.95;
/// Resamples for the bands of learning curves and profiles (many intervals, each less central).
const BAND_REPS: usize = 2_000;
/// Thresholds of a performance profile.
const PROFILE_POINTS: usize = 101;

/// One finished run's (or pruned policy's) numbers.
struct Sample {
    group: String,
    series: String,
    env_id: String,
    seed: u64,
    ret: f64,
    sparsity: f64,
    /// Periodic evaluations `(env steps, return)`; empty for pruned policies.
    curve: Vec<(u64, f64)>,
}

/// Everything report.json holds.
#[derive(Serialize)]
pub struct Report {
    pub sweep: String,
    pub reps: u64,
    pub confidence: f64,
    pub seed: u64,
    /// `return` or `normalized` (`[report] normalize` in the sweep file).
    pub score: String,
    /// γ of the optimality gap, in score units (none: unknown for these environments).
    pub target: Option<f64>,
    pub groups: Vec<GroupReport>,
    /// Runs in the index that have no results yet.
    pub missing: Vec<String>,
}

#[derive(Serialize)]
pub struct GroupReport {
    pub name: String,
    pub series: String,
    pub runs: usize,
    /// Mean measured sparsity of the group's policies.
    pub sparsity: f64,
    /// Per task (environment): seeds and scores, in seed order (the score matrix).
    pub tasks: BTreeMap<String, TaskScores>,
    pub iqm: Interval,
    pub mean: Interval,
    pub median: Interval,
    pub optimality_gap: Option<Interval>,
}

#[derive(Serialize)]
pub struct TaskScores {
    pub seeds: Vec<u64>,
    pub scores: Vec<f64>,
}

pub fn run(args: ReportArgs) -> Result<()> {
    let index = sparq_sweep::Index::read(&args.sweep_dir)?;
    if let Some(env) = &args.env
        && !index.plan.jobs.iter().any(|j| &j.env_id == env)
    {
        let mut ids: Vec<&str> = index.plan.jobs.iter().map(|j| j.env_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        bail!(
            "--env {env}: no run of this sweep is on it (it has {})",
            ids.join(", ")
        );
    }
    let (samples, missing) = collect(&index, &args.sweep_dir, &args.seeds, args.env.as_deref())?;
    anyhow::ensure!(
        !samples.is_empty(),
        "{}: no finished runs yet (run sparq sweep first)",
        args.sweep_dir.display()
    );
    let mut report = build(&index, &samples, missing, args.reps, args.seed)?;
    if let Some(env) = &args.env {
        // Titles and tables say which part of the sweep they show.
        report.sweep = format!("{} on {env}", report.sweep);
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.sweep_dir.join("report"));
    std::fs::create_dir_all(&out).with_context(|| format!("create {}", out.display()))?;
    let json = serde_json::to_string_pretty(&report).context("serialize the report")?;
    write(&out.join("report.json"), &json)?;
    write(&out.join("report.md"), &markdown(&report))?;
    write(&out.join("report.csv"), &csv(&report))?;
    let plots = plots(&report, &index, &samples, &out, args.seed)?;
    if args.json {
        println!("{json}");
    } else {
        print!("{}", markdown(&report));
    }
    if !report.missing.is_empty() {
        eprintln!(
            "sparq: {} runs have no results yet and are left out (first: {})",
            report.missing.len(),
            report.missing[0]
        );
    }
    eprintln!(
        "sparq: report in {} (report.md, report.csv, report.json, {})",
        out.display(),
        plots.join(", ")
    );
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("write {}", path.display()))
}

/// Reads every finished job's results; unfinished jobs are listed in `missing`.
fn collect(
    index: &Index,
    dir: &Path,
    seeds: &[u64],
    env: Option<&str>,
) -> Result<(Vec<Sample>, Vec<String>)> {
    let mut samples = Vec::new();
    let mut missing = Vec::new();
    for job in &index.plan.jobs {
        if !seeds.is_empty() && !seeds.contains(&job.seed) || env.is_some_and(|e| e != job.env_id) {
            continue;
        }
        let run = dir.join(&job.dir);
        match &job.kind {
            JobKind::Train { .. } => {
                let path = run.join("summary.json");
                let Ok(text) = std::fs::read_to_string(&path) else {
                    missing.push(job.id.clone());
                    continue;
                };
                let s: sparq_log::Summary = serde_json::from_str(&text)
                    .with_context(|| format!("parse {}", path.display()))?;
                samples.push(sample(
                    job,
                    job.group.clone(),
                    s.eval.return_mean,
                    s.sparsity.global,
                    curve(&s),
                ));
            }
            JobKind::Prune { .. } => {
                let path = run.join("prune.json");
                let Ok(text) = std::fs::read_to_string(&path) else {
                    missing.push(job.id.clone());
                    continue;
                };
                let v: serde_json::Value = serde_json::from_str(&text)
                    .with_context(|| format!("parse {}", path.display()))?;
                let rows = v["rows"].as_array().cloned().unwrap_or_default();
                for row in rows {
                    let target = row["target_sparsity"].as_f64().unwrap_or(0.0);
                    let (Some(ret), Some(sparsity)) = (
                        row["eval"]["return_mean"].as_f64(),
                        row["sparsity"].as_f64(),
                    ) else {
                        anyhow::bail!(
                            "{}: a row without eval.return_mean or sparsity",
                            path.display()
                        );
                    };
                    let group = format!("{}@{target}", job.group);
                    samples.push(sample(job, group, ret, sparsity, Vec::new()));
                }
            }
        }
    }
    Ok((samples, missing))
}

/// The periodic evaluations, then the final one (at the run's last step) if it is later.
fn curve(s: &sparq_log::Summary) -> Vec<(u64, f64)> {
    let mut c: Vec<(u64, f64)> = s
        .evals
        .iter()
        .map(|e| (e.env_steps, e.return_mean))
        .collect();
    if c.last().is_none_or(|&(step, _)| step < s.env_steps) {
        c.push((s.env_steps, s.eval.return_mean));
    }
    c
}

fn sample(job: &Job, group: String, ret: f64, sparsity: f64, curve: Vec<(u64, f64)>) -> Sample {
    Sample {
        group,
        series: job.series.clone(),
        env_id: job.env_id.clone(),
        seed: job.seed,
        ret,
        sparsity,
        curve,
    }
}

/// The largest return an environment allows, the optimality gap's default γ for raw returns.
fn max_return(env_id: &str) -> Option<f64> {
    match env_id {
        "CartPole-v1" => Some(500.0),
        "CartPole-v0" => Some(200.0),
        // Every step costs -1: 0 is the unreachable best.
        "Acrobot-v1" | "MountainCar-v0" => Some(0.0),
        _ => None,
    }
}

/// A return as a score: normalized to [0, 1] by the sweep's `[report] normalize`, else raw.
fn score(index: &Index, env_id: &str, ret: f64) -> f64 {
    match index.plan.normalize.get(env_id) {
        Some([lo, hi]) => (ret - lo) / (hi - lo),
        None => ret,
    }
}

fn build(
    index: &Index,
    samples: &[Sample],
    missing: Vec<String>,
    reps: u64,
    seed: u64,
) -> Result<Report> {
    let normalized = !index.plan.normalize.is_empty();
    let envs: std::collections::BTreeSet<&str> =
        samples.iter().map(|s| s.env_id.as_str()).collect();
    let target = index.plan.target.or(if normalized {
        Some(1.0)
    } else if envs.len() == 1 {
        envs.iter().next().and_then(|e| max_return(e))
    } else {
        None
    });
    let mut order: Vec<&str> = Vec::new();
    for s in samples {
        if !order.contains(&s.group.as_str()) {
            order.push(&s.group);
        }
    }
    let mut groups = Vec::new();
    for name in order {
        let members: Vec<&Sample> = samples.iter().filter(|s| s.group == name).collect();
        let mut tasks: BTreeMap<String, TaskScores> = BTreeMap::new();
        for s in &members {
            let t = tasks.entry(s.env_id.clone()).or_insert(TaskScores {
                seeds: Vec::new(),
                scores: Vec::new(),
            });
            t.seeds.push(s.seed);
            t.scores.push(score(index, &s.env_id, s.ret));
        }
        let scores = Scores::from_tasks(tasks.values().map(|t| t.scores.clone()).collect())
            .with_context(|| format!("group {name}: a score is not finite"))?;
        let mut aggs = vec![Aggregate::Iqm, Aggregate::Mean, Aggregate::Median];
        if let Some(g) = target {
            aggs.push(Aggregate::OptimalityGap(g));
        }
        let est = interval_estimates(&scores, &aggs, reps as usize, CONFIDENCE, seed);
        groups.push(GroupReport {
            name: name.to_owned(),
            series: members[0].series.clone(),
            runs: members.len(),
            sparsity: members.iter().map(|s| s.sparsity).sum::<f64>() / members.len() as f64,
            tasks,
            iqm: est[0],
            mean: est[1],
            median: est[2],
            optimality_gap: est.get(3).copied(),
        });
    }
    Ok(Report {
        sweep: index.plan.name.clone(),
        reps,
        confidence: CONFIDENCE,
        seed,
        score: if normalized { "normalized" } else { "return" }.into(),
        target,
        groups,
        missing,
    })
}

/// `point [lo, hi]` with `d` decimals.
fn ci(i: &Interval, d: usize) -> String {
    format!("{:.d$} [{:.d$}, {:.d$}]", i.point, i.lo, i.hi)
}

fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Sweep `{}`: final greedy {} per group, point estimate [95 % stratified-bootstrap CI, {} resamples]; optimality gap against {}.\n",
        r.sweep,
        if r.score == "return" {
            "return"
        } else {
            "normalized score"
        },
        r.reps,
        r.target.map_or("n/a".into(), |t| format!("{t}"))
    );
    let _ = writeln!(
        s,
        "| group | runs | sparsity | IQM | mean | median | optimality gap |"
    );
    let _ = writeln!(s, "| --- | ---: | ---: | --- | --- | --- | --- |");
    // Returns read well to 0.1; normalized scores live in [0, 1] and need three decimals.
    let d = if r.score == "return" { 1 } else { 3 };
    for g in &r.groups {
        let _ = writeln!(
            s,
            "| {} | {} | {:.3} | {} | {} | {} | {} |",
            g.name,
            g.runs,
            g.sparsity,
            ci(&g.iqm, d),
            ci(&g.mean, d),
            ci(&g.median, d),
            g.optimality_gap.as_ref().map_or("n/a".into(), |i| ci(i, d))
        );
    }
    s
}

fn csv(r: &Report) -> String {
    let mut s = String::from(
        "group,series,runs,sparsity,iqm,iqm_lo,iqm_hi,mean,mean_lo,mean_hi,median,median_lo,median_hi,gap,gap_lo,gap_hi\n",
    );
    for g in &r.groups {
        let gap = g.optimality_gap.map_or(",,".to_string(), |i| {
            format!("{},{},{}", i.point, i.lo, i.hi)
        });
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{gap}",
            g.name,
            g.series,
            g.runs,
            g.sparsity,
            g.iqm.point,
            g.iqm.lo,
            g.iqm.hi,
            g.mean.point,
            g.mean.lo,
            g.mean.hi,
            g.median.point,
            g.median.lo,
            g.median.hi
        );
    }
    s
}

/// Draws the three PNGs; returns their file names.
fn plots(
    r: &Report,
    index: &Index,
    samples: &[Sample],
    out: &Path,
    seed: u64,
) -> Result<Vec<String>> {
    let mut names = Vec::new();
    // Return against sparsity: one line per series, through its groups by sparsity.
    let mut series: Vec<report_plot::Line> = Vec::new();
    for g in &r.groups {
        let i = match series.iter().position(|l| l.name == g.series) {
            Some(i) => i,
            None => {
                series.push(report_plot::Line {
                    name: g.series.clone(),
                    points: Vec::new(),
                });
                series.len() - 1
            }
        };
        series[i].points.push((g.sparsity, g.iqm));
    }
    for l in &mut series {
        l.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let y = if r.score == "return" {
        "IQM of final greedy return"
    } else {
        "IQM of normalized score"
    };
    report_plot::lines(
        &out.join("return_vs_sparsity.png"),
        &format!("{}: return against sparsity (IQM, 95 % CI)", r.sweep),
        "sparsity (fraction of prunable weights removed)",
        y,
        &[report_plot::Panel {
            title: String::new(),
            lines: series,
        }],
    )?;
    names.push("return_vs_sparsity.png".to_string());

    // Learning curves: IQM over seeds of each periodic evaluation, per group with curves.
    let mut curves = Vec::new();
    for g in &r.groups {
        let members: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.group == g.name && !s.curve.is_empty())
            .collect();
        if members.is_empty() {
            continue;
        }
        let steps: Vec<u64> = members[0].curve.iter().map(|c| c.0).collect();
        let mut points = Vec::new();
        for (k, &step) in steps.iter().enumerate() {
            let mut tasks: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
            for m in &members {
                if let Some(&(s, ret)) = m.curve.get(k)
                    && s == step
                {
                    tasks
                        .entry(m.env_id.as_str())
                        .or_default()
                        .push(score(index, &m.env_id, ret));
                }
            }
            if let Some(scores) = Scores::from_tasks(tasks.into_values().collect()) {
                let i = interval_estimates(&scores, &[Aggregate::Iqm], BAND_REPS, CONFIDENCE, seed);
                points.push((step as f64, i[0]));
            }
        }
        curves.push(report_plot::Line {
            name: g.name.clone(),
            points,
        });
    }
    if !curves.is_empty() {
        report_plot::lines(
            &out.join("learning_curves.png"),
            &format!("{}: learning curves (IQM over seeds, 95 % CI)", r.sweep),
            "environment steps",
            if r.score == "return" {
                "IQM of greedy return"
            } else {
                "IQM of normalized score"
            },
            &[report_plot::Panel {
                title: String::new(),
                lines: curves,
            }],
        )?;
        names.push("learning_curves.png".to_string());
    }

    // Performance profiles: fraction of runs scoring above τ, τ over every score seen.
    let all: Vec<f64> = r
        .groups
        .iter()
        .flat_map(|g| g.tasks.values().flat_map(|t| t.scores.clone()))
        .collect();
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    };
    let taus: Vec<f64> = (0..PROFILE_POINTS)
        .map(|k| lo + (hi - lo) * k as f64 / (PROFILE_POINTS - 1) as f64)
        .collect();
    let mut profiles = Vec::new();
    for g in &r.groups {
        let Some(scores) = Scores::from_tasks(g.tasks.values().map(|t| t.scores.clone()).collect())
        else {
            continue;
        };
        let band = profile_intervals(&scores, &taus, BAND_REPS, CONFIDENCE, seed);
        let line = report_plot::Line {
            name: g.name.clone(),
            points: taus.iter().copied().zip(band).collect(),
        };
        // One panel per series: every group in one chart is unreadable past a handful.
        match profiles
            .iter_mut()
            .find(|p: &&mut report_plot::Panel| p.title == g.series)
        {
            Some(p) => p.lines.push(line),
            None => profiles.push(report_plot::Panel {
                title: g.series.clone(),
                lines: vec![line],
            }),
        }
    }
    report_plot::lines(
        &out.join("performance_profile.png"),
        &format!("{}: performance profiles (95 % CI)", r.sweep),
        if r.score == "return" {
            "final greedy return τ"
        } else {
            "normalized score τ"
        },
        "fraction of runs with score > τ",
        &profiles,
    )?;
    names.push("performance_profile.png".to_string());
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_show_the_decimals_their_scale_needs() {
        let i = Interval {
            point: 0.71234,
            lo: 0.7,
            hi: 0.73,
        };
        assert_eq!(ci(&i, 3), "0.712 [0.700, 0.730]");
        assert_eq!(ci(&i, 1), "0.7 [0.7, 0.7]");
    }
}
