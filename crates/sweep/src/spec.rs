//! The sweep file: what a user writes (`configs/sweeps/*.toml`), read with one-line errors that
//! name the file and the key, as config errors do. Every key: `docs/sweep.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Table, Value};

use crate::SweepError;

/// A sweep file as written, before its points are expanded and checked against their configs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// Names the default output directory (`sweeps/<name>`); default: the file's stem.
    pub name: Option<String>,
    /// Base config of every point that names none, relative to the sweep file.
    pub config: Option<String>,
    /// `seeds = 10` (seeds 1..=10) or `seeds = [1, 5, 9]`.
    pub seeds: Seeds,
    /// Overrides applied to every training point, before the point's own.
    #[serde(default)]
    pub set: Table,
    /// `key = [values]`: one point per combination (Cartesian product), on the base config.
    #[serde(default)]
    pub grid: Table,
    /// Grid keys whose values name a grid point's group (default: all grid keys).
    pub group_by: Option<Vec<String>>,
    /// Points spelled out one by one (training runs or post-hoc pruning of another point).
    #[serde(default)]
    pub points: Vec<PointSpec>,
    /// How `sparq report` turns returns into scores.
    #[serde(default)]
    pub report: ReportSpec,
}

/// A seed count or an explicit list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Seeds {
    Count(i64),
    List(Vec<u64>),
}

/// One `[[points]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointSpec {
    pub name: String,
    /// Config of this point, relative to the sweep file (default: the sweep's `config`).
    pub config: Option<String>,
    /// Report group (default: the point's name).
    pub group: Option<String>,
    /// Line in the return-against-sparsity plot (default: "trained" or the prune point's name).
    pub series: Option<String>,
    #[serde(default)]
    pub set: Table,
    /// Present: this point prunes another point's runs after training (`sparq prune`).
    pub prune: Option<PruneSpec>,
}

/// `sparq prune FROM_RUN --sparsities ... --finetune-steps N` on each seed of point `from`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneSpec {
    pub from: String,
    pub sparsities: Vec<f64>,
    #[serde(default)]
    pub finetune_steps: u64,
    /// `magnitude` (default), `random` or `saliency`.
    pub method: Option<String>,
    /// Greedy evaluation episodes per pruned policy (default: sparq prune's, 100).
    pub episodes: Option<u32>,
}

/// `[report]`: scores and the optimality-gap threshold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    /// Per env id `[min, max]`: scores become `(return - min) / (max - min)`; needed to pool
    /// different environments in one group. Without it scores are raw returns.
    #[serde(default)]
    pub normalize: BTreeMap<String, [f64; 2]>,
    /// The optimality gap's γ, in score units (default: 1 when normalized, else the largest
    /// return the environments allow, e.g. 500 for CartPole-v1).
    pub target: Option<f64>,
}

impl SweepFile {
    /// Reads and parses `path`; the first problem is one line naming the file and key.
    pub fn load(path: &Path) -> Result<SweepFile, SweepError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SweepError::Io {
            what: "read sweep file".into(),
            path: origin.clone(),
            message: e.to_string(),
        })?;
        Self::parse(&text, &origin)
    }

    /// Parses sweep-file text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<SweepFile, SweepError> {
        let file: SweepFile = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(String::new(), |s| {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!(":{line}:{col}")
            });
            SweepError::File {
                origin: format!("{origin}{at}"),
                message: tidy(e.message()),
            }
        })?;
        file.check_shape(origin)?;
        Ok(file)
    }

    /// Checks that need no config: seeds, empty grids, names.
    fn check_shape(&self, origin: &str) -> Result<(), SweepError> {
        let bad = |key: &str, message: String| SweepError::Key {
            origin: origin.to_owned(),
            key: key.to_owned(),
            message,
        };
        match &self.seeds {
            Seeds::Count(n) if *n <= 0 => {
                return Err(bad("seeds", format!("= {n}: need at least one seed")));
            }
            Seeds::List(l) if l.is_empty() => {
                return Err(bad("seeds", "= []: need at least one seed".into()));
            }
            Seeds::List(l) => {
                let mut sorted = l.clone();
                sorted.sort_unstable();
                if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                    return Err(bad("seeds", format!("seed {} is listed twice", w[0])));
                }
            }
            Seeds::Count(_) => {}
        }
        let grid = flatten("grid", &self.grid);
        let had_grid_section = !self.grid.is_empty();
        for (key, value) in &grid {
            match value {
                Value::Array(a) if a.is_empty() => {
                    return Err(bad(
                        key,
                        "= []: empty grid: a grid key needs at least one value".into(),
                    ));
                }
                Value::Array(_) => {}
                other => {
                    return Err(bad(
                        key,
                        format!("= {other}: a grid key takes a list of values, e.g. [0.5, 0.9]"),
                    ));
                }
            }
        }
        if self.points.is_empty() && grid.is_empty() {
            let key = if had_grid_section { "grid" } else { "points" };
            return Err(bad(
                key,
                "empty grid: give [grid] keys with values or [[points]] entries".into(),
            ));
        }
        if self.config.is_none()
            && (!grid.is_empty()
                || self
                    .points
                    .iter()
                    .any(|p| p.config.is_none() && p.prune.is_none()))
        {
            return Err(bad(
                "config",
                "missing: the base config the points override".into(),
            ));
        }
        if let Some(keys) = &self.group_by {
            for k in keys {
                if !grid.iter().any(|(g, _)| g.strip_prefix("grid.") == Some(k)) {
                    return Err(bad("group_by", format!("'{k}' is not a grid key")));
                }
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, p) in self.points.iter().enumerate() {
            let key = format!("points[{i}].name");
            if p.name.is_empty()
                || !p
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-=,".contains(c))
            {
                return Err(bad(
                    &key,
                    format!(
                        "'{}': a point name is a file name: letters, digits and . _ - = , only",
                        p.name
                    ),
                ));
            }
            if !names.insert(p.name.as_str()) {
                return Err(bad(&key, format!("'{}' names two points", p.name)));
            }
            if let Some(pr) = &p.prune {
                let key = format!("points[{i}].prune");
                if pr.sparsities.is_empty() {
                    return Err(bad(
                        &format!("{key}.sparsities"),
                        "= []: need at least one sparsity".into(),
                    ));
                }
                if let Some(s) = pr.sparsities.iter().find(|s| !(0.0..1.0).contains(*s)) {
                    return Err(bad(
                        &format!("{key}.sparsities"),
                        format!("{s} is out of range: allowed [0, 1)"),
                    ));
                }
                if !p.set.is_empty() || p.config.is_some() {
                    return Err(bad(
                        &key,
                        "a prune point takes its config from its 'from' point (no config or set)"
                            .into(),
                    ));
                }
                if let Some(m) = &pr.method
                    && !["magnitude", "random", "saliency"].contains(&m.as_str())
                {
                    return Err(bad(
                        &format!("{key}.method"),
                        format!("unknown value '{m}' (allowed: magnitude, random, saliency)"),
                    ));
                }
            }
        }
        for (k, [lo, hi]) in &self.report.normalize {
            if !(lo.is_finite() && hi.is_finite() && hi > lo) {
                return Err(bad(
                    &format!("report.normalize.{k}"),
                    format!("= [{lo}, {hi}]: need min < max, both finite"),
                ));
            }
        }
        Ok(())
    }

    /// The seeds, in order.
    pub fn seed_list(&self) -> Vec<u64> {
        match &self.seeds {
            Seeds::Count(n) => (1..=(*n).max(0) as u64).collect(),
            Seeds::List(l) => l.clone(),
        }
    }

    /// A path written in the sweep file, relative to the file's directory.
    pub fn resolve(sweep_path: &Path, rel: &str) -> PathBuf {
        let base = sweep_path.parent().unwrap_or(Path::new("."));
        base.join(rel)
    }
}

/// `{a = {b = 1}, "c.d" = 2}` → `[("a.b", 1), ("c.d", 2)]` under `prefix` (dropped from the
/// result's keys when empty): TOML's dotted keys, quoted keys and nested tables all mean the same.
pub fn flatten(prefix: &str, table: &Table) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Table(t) => out.extend(flatten(&key, t)),
            other => out.push((key, other.clone())),
        }
    }
    out
}

/// toml's messages can span lines; a sweep error is one line.
fn tidy(message: &str) -> String {
    let text: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let text = text.join("; ");
    // serde's "unknown field `x`, expected one of ..." reads better as the config errors do.
    match text.strip_prefix("unknown field `") {
        Some(rest) => match rest.split_once('`') {
            Some((name, known)) => {
                let known: Vec<&str> = known.split('`').skip(1).step_by(2).collect();
                format!("unknown key '{name}' (known: {})", known.join(", "))
            }
            None => text,
        },
        None => text,
    }
}
