//! From a sweep file to the list of jobs, one per (point, seed), each checked against its config
//! before anything runs: a sweep that would fail on its 40th run fails now, in one line.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sparq_config::Config;
use toml::Value;

use crate::SweepError;
use crate::spec::{PruneSpec, SweepFile, flatten};

/// Overrides every training run gets first: one torch thread per run, as runs share the cores.
pub const RUN_DEFAULTS: [&str; 1] = ["run.torch_threads=1"];

/// What one job runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobKind {
    /// `sparq train CONFIG --set ... --seed SEED --run-dir DIR`.
    Train {
        config: PathBuf,
        overrides: Vec<String>,
    },
    /// `sparq prune <after's run dir> --sparsities ... --finetune-steps N --out DIR`.
    Prune {
        sparsities: Vec<f64>,
        finetune_steps: u64,
        method: String,
        episodes: Option<u32>,
    },
}

/// One run of the sweep: a point at a seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// `<point>-s<seed>`, also the run directory's name under `runs/`.
    pub id: String,
    pub point: String,
    pub group: String,
    pub series: String,
    pub seed: u64,
    /// The environment (a report task: groups are stratified by it).
    pub env_id: String,
    /// Run directory, relative to the sweep directory.
    pub dir: String,
    /// The job that must finish first (a prune job's training run).
    pub after: Option<String>,
    #[serde(flatten)]
    pub kind: JobKind,
}

/// The expanded sweep: its jobs in run order (seed-major, so a sweep stopped early still has
/// every point at its first seeds) and how the report scores them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    pub jobs: Vec<Job>,
    /// Per env id `[min, max]` for normalized scores (empty: raw returns).
    pub normalize: std::collections::BTreeMap<String, [f64; 2]>,
    pub target: Option<f64>,
}

/// A training point before seeds: name, group, config and overrides.
struct TrainPoint {
    name: String,
    group: String,
    series: String,
    config: PathBuf,
    overrides: Vec<String>,
    env_id: String,
}

impl Plan {
    /// Reads `path`, expands its points and checks each point's config at every seed.
    pub fn from_file(path: &Path) -> Result<Plan, SweepError> {
        let file = SweepFile::load(path)?;
        Self::from_sweep(&file, path)
    }

    /// Expands a parsed sweep file; `path` locates the configs it names.
    pub fn from_sweep(file: &SweepFile, path: &Path) -> Result<Plan, SweepError> {
        let origin = path.display().to_string();
        let bad = |key: &str, message: String| SweepError::Key {
            origin: origin.clone(),
            key: key.to_owned(),
            message,
        };
        let common: Vec<String> = flatten("", &file.set)
            .into_iter()
            .map(|(k, v)| format!("{k}={}", value_text(&v)))
            .collect();
        let seeds = file.seed_list();
        let mut train: Vec<TrainPoint> = Vec::new();
        let mut prune: Vec<(String, String, String, &PruneSpec)> = Vec::new();

        // Explicit points first, in file order, then the grid.
        for p in &file.points {
            if let Some(pr) = &p.prune {
                let group = p.group.clone().unwrap_or_else(|| p.name.clone());
                let series = p.series.clone().unwrap_or_else(|| p.name.clone());
                prune.push((p.name.clone(), group, series, pr));
                continue;
            }
            let rel = p.config.as_deref().or(file.config.as_deref()).unwrap_or("");
            let own: Vec<String> = flatten("", &p.set)
                .into_iter()
                .map(|(k, v)| format!("{k}={}", value_text(&v)))
                .collect();
            let overrides = [common.clone(), own].concat();
            train.push(TrainPoint {
                name: p.name.clone(),
                group: p.group.clone().unwrap_or_else(|| p.name.clone()),
                series: p.series.clone().unwrap_or_else(|| "trained".into()),
                env_id: String::new(),
                config: SweepFile::resolve(path, rel),
                overrides,
            });
        }
        let grid = flatten("", &file.grid);
        if !grid.is_empty() {
            let rel = file.config.as_deref().unwrap_or("");
            for combo in product(&grid) {
                let name = combo
                    .iter()
                    .map(|(k, v)| format!("{}={}", short_key(k), value_name(v)))
                    .collect::<Vec<_>>()
                    .join(",");
                let group = match &file.group_by {
                    Some(keys) => combo
                        .iter()
                        .filter(|(k, _)| keys.contains(k))
                        .map(|(k, v)| format!("{}={}", short_key(k), value_name(v)))
                        .collect::<Vec<_>>()
                        .join(","),
                    None => name.clone(),
                };
                let overrides = [
                    common.clone(),
                    combo
                        .iter()
                        .map(|(k, v)| format!("{k}={}", value_text(v)))
                        .collect(),
                ]
                .concat();
                if train.iter().any(|t| t.name == name) {
                    return Err(bad(
                        "grid",
                        format!("point '{name}' is also a [[points]] name"),
                    ));
                }
                train.push(TrainPoint {
                    name,
                    group,
                    series: "trained".into(),
                    env_id: String::new(),
                    config: SweepFile::resolve(path, rel),
                    overrides,
                });
            }
        }

        // Every point at every seed through the config's own load + check: the same errors
        // `sparq train` would give, prefixed with the sweep file and the point.
        for t in &mut train {
            for &seed in &seeds {
                let all = run_overrides(&t.overrides, seed);
                let config = Config::load(&t.config, &all)
                    .map_err(|e| bad(&format!("point '{}'", t.name), e.to_string()))?;
                config
                    .check()
                    .map_err(|e| bad(&format!("point '{}'", t.name), e.to_string()))?;
                t.env_id = config.env.id.clone();
            }
        }
        for (name, _, _, pr) in &prune {
            if !train.iter().any(|t| t.name == pr.from) {
                return Err(bad(
                    &format!("point '{name}'"),
                    format!("prune.from = '{}' names no training point", pr.from),
                ));
            }
        }

        let mut jobs = Vec::new();
        for &seed in &seeds {
            for t in &train {
                let id = format!("{}-s{seed}", t.name);
                jobs.push(Job {
                    dir: format!("runs/{id}"),
                    id,
                    point: t.name.clone(),
                    group: t.group.clone(),
                    series: t.series.clone(),
                    seed,
                    env_id: t.env_id.clone(),
                    after: None,
                    kind: JobKind::Train {
                        config: absolute(&t.config),
                        overrides: t.overrides.clone(),
                    },
                });
            }
            for (name, group, series, pr) in &prune {
                let from = train
                    .iter()
                    .find(|t| t.name == pr.from)
                    .map(|t| t.env_id.clone())
                    .unwrap_or_default();
                let id = format!("{name}-s{seed}");
                jobs.push(Job {
                    dir: format!("runs/{id}"),
                    id,
                    point: name.clone(),
                    group: group.clone(),
                    series: series.clone(),
                    seed,
                    env_id: from,
                    after: Some(format!("{}-s{seed}", pr.from)),
                    kind: JobKind::Prune {
                        sparsities: pr.sparsities.clone(),
                        finetune_steps: pr.finetune_steps,
                        method: pr.method.clone().unwrap_or_else(|| "magnitude".into()),
                        episodes: pr.episodes,
                    },
                });
            }
        }
        let name = file.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "sweep".into())
        });
        Ok(Plan {
            name,
            jobs,
            normalize: file.report.normalize.clone(),
            target: file.report.target,
        })
    }

    /// The job called `id`.
    pub fn job(&self, id: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.id == id)
    }
}

/// A training job's overrides as passed to `sparq train`: sweep defaults, the point's, the seed.
pub fn run_overrides(point: &[String], seed: u64) -> Vec<String> {
    let mut all: Vec<String> = RUN_DEFAULTS.iter().map(|s| s.to_string()).collect();
    all.extend(point.iter().cloned());
    all.push(format!("run.seed={seed}"));
    all
}

/// Every combination of the grid's values, keys in order, the last key varying fastest.
fn product(grid: &[(String, Value)]) -> Vec<Vec<(String, Value)>> {
    let mut combos: Vec<Vec<(String, Value)>> = vec![Vec::new()];
    for (key, values) in grid {
        let values = match values {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((key.clone(), v.clone()));
                    c
                })
            })
            .collect();
    }
    combos
}

/// A TOML value as `--set` reads it back.
fn value_text(v: &Value) -> String {
    v.to_string()
}

/// A value as part of a point name: no quotes, brackets or spaces.
fn value_name(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text.chars()
        .filter(|c| !"[]\" ".contains(*c))
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `prune.target_sparsity` → `target_sparsity`: the last segment names the point.
fn short_key(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// Configs are named by absolute paths in the index, so a job runs the same from any directory
/// (and on any node of a shared filesystem).
fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned())
}
