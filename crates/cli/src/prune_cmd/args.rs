//! `sparq prune`'s command line.

use std::path::PathBuf;

use anyhow::{Context, Result};
use sparq_prune::{Criterion, Granularity, Scope};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// Smallest |w| first.
    Magnitude,
    /// Uniformly random.
    Random,
    /// Smallest |w·∂L/∂w| on the checkpoint's replay buffer first.
    Saliency,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeArg {
    /// One threshold over all prunable weights.
    Global,
    /// Every prunable layer to the same sparsity.
    Layerwise,
    /// Erdős–Rényi-Kernel allocation across layers.
    Erk,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GranularityArg {
    /// Single weights.
    Weight,
    /// Whole hidden units (rows of a weight and their bias).
    Neuron,
}

#[derive(clap::Args)]
pub struct PruneArgs {
    /// A run directory (its latest checkpoint) or a checkpoint directory.
    pub path: PathBuf,
    /// Comma-separated target sparsities, each in [0, 1).
    #[arg(
        long,
        value_name = "LIST",
        default_value = "0.5,0.8,0.9,0.95,0.98",
        allow_hyphen_values = true
    )]
    pub sparsities: String,
    /// What ranks the weights.
    #[arg(long, value_enum, default_value_t = Method::Magnitude)]
    pub method: Method,
    /// How sparsity is shared among layers.
    #[arg(long, value_enum, default_value_t = ScopeArg::Global)]
    pub scope: ScopeArg,
    /// Prune single weights or whole units.
    #[arg(long, value_enum, default_value_t = GranularityArg::Weight)]
    pub granularity: GranularityArg,
    /// Gradient steps of fine-tuning after pruning, with the masks held (0 = none). With
    /// --search, every allocation is fine-tuned so before it is scored or compared.
    #[arg(long, default_value_t = 0)]
    pub finetune_steps: u64,
    /// Greedy evaluation episodes per policy.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub episodes: u32,
    /// Seed of the first evaluation episode (episode k uses seed + k); also seeds the random
    /// criterion and fine-tuning.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory (default: <run dir>/prune-<method>-<scope>[-neuron][-ft<N>]).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print prune.json's content instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Let an agent choose each layer's sparsity under --budget (AMC) instead of --sparsities.
    #[arg(long, value_enum, requires = "budget")]
    pub search: Option<SearchArg>,
    /// Fraction of prunable weights the searched allocation must remove, in (0, 0.99].
    #[arg(long, value_name = "B", allow_hyphen_values = true)]
    pub budget: Option<f64>,
    /// Compression episodes the search agent plays (one evaluation each, unless cached).
    #[arg(long, default_value_t = 300)]
    pub search_episodes: u64,
    /// Greedy episodes per evaluation of an allocation during the search.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub search_eval_episodes: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SearchArg {
    /// sparq's DQN learns the layer-by-layer compression environment.
    Dqn,
}

impl PruneArgs {
    pub fn criterion(&self) -> Criterion {
        match self.method {
            Method::Magnitude => Criterion::Magnitude,
            Method::Random => Criterion::Random,
            Method::Saliency => Criterion::Saliency,
        }
    }

    pub fn scope(&self) -> Scope {
        match self.scope {
            ScopeArg::Global => Scope::Global,
            ScopeArg::Layerwise => Scope::Layerwise,
            ScopeArg::Erk => Scope::Erk,
        }
    }

    pub fn granularity(&self) -> Granularity {
        match self.granularity {
            GranularityArg::Weight => Granularity::Weight,
            GranularityArg::Neuron => Granularity::Neuron,
        }
    }

    /// `prune-<method>-<scope>[-neuron][-ft<N>]`: sweeps that differ get different directories.
    pub fn out_name(&self) -> String {
        let mut name = format!("prune-{}-{}", self.criterion(), self.scope());
        if self.granularity == GranularityArg::Neuron {
            name.push_str("-neuron");
        }
        if self.finetune_steps > 0 {
            name.push_str(&format!("-ft{}", self.finetune_steps));
        }
        name
    }
}

/// Parses `--sparsities`: sorted, deduplicated, each in [0, 1).
pub fn parse_sparsities(list: &str) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim) {
        let s: f64 = item
            .parse()
            .ok()
            .filter(|s: &f64| (0.0..1.0).contains(s))
            .with_context(|| {
                format!(
                    "--sparsities: '{item}' is not a number in [0, 1) (e.g. --sparsities 0.5,0.9)"
                )
            })?;
        out.push(s);
    }
    out.sort_by(f64::total_cmp);
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparsities_are_sorted_deduplicated_and_range_checked() {
        assert_eq!(
            parse_sparsities("0.9, 0.5,0.9,0").unwrap(),
            vec![0.0, 0.5, 0.9]
        );
        for bad in ["1", "1.0", "-0.1", "x", "", "0.5,", "NaN", "inf"] {
            let e = parse_sparsities(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("--sparsities:") && e.contains("[0, 1)") && !e.contains('\n'),
                "{bad}: {e}"
            );
        }
    }
}
