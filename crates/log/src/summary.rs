//! The `summary.json` a finished run leaves behind.

use serde::{Deserialize, Serialize};
use sparq_prune::SparsityReport;

/// Headline figures of a finished (or interrupted) run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub env_steps: u64,
    pub wall_s: f64,
    /// Environment steps per second over the whole run.
    pub sps: f64,
    pub eval: EvalStats,
    /// Weight sparsity of the final policy (exact zeros): every layer, `global` over the
    /// prunable ones.
    pub sparsity: SparsityReport,
    /// The periodic greedy evaluations during training, in order (for time-to-solve).
    #[serde(default)]
    pub evals: Vec<EvalPoint>,
    /// The best periodic evaluation, whose policy is kept as `checkpoints/best`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best: Option<EvalPoint>,
}

/// One periodic evaluation: when it ran and what it scored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    pub env_steps: u64,
    /// Seconds since training started.
    pub wall_s: f64,
    pub return_mean: f64,
}

/// Returns of the evaluation episodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalStats {
    pub episodes: u32,
    pub return_mean: f64,
    /// Population standard deviation (numpy's default, `ddof = 0`).
    pub return_std: f64,
    pub return_min: f64,
    pub return_max: f64,
}

impl EvalStats {
    /// Statistics of `returns`; `None` when there are none, as a mean of nothing is undefined.
    pub fn from_returns(returns: &[f64]) -> Option<EvalStats> {
        if returns.is_empty() {
            return None;
        }
        let n = returns.len() as f64;
        let mean = returns.iter().sum::<f64>() / n;
        // Two passes: subtracting the mean first avoids cancellation for large returns.
        let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
        Some(EvalStats {
            episodes: u32::try_from(returns.len()).unwrap_or(u32::MAX),
            return_mean: mean,
            return_std: var.sqrt(),
            return_min: returns.iter().copied().fold(f64::INFINITY, f64::min),
            return_max: returns.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }
}

impl Summary {
    /// The first field that is NaN or infinite, by its JSON path: JSON has no such numbers
    /// (serde_json would write `null`, which then fails to read back).
    pub fn non_finite_field(&self) -> Option<String> {
        let e = &self.eval;
        let fixed = [
            ("wall_s", self.wall_s),
            ("sps", self.sps),
            ("eval.return_mean", e.return_mean),
            ("eval.return_std", e.return_std),
            ("eval.return_min", e.return_min),
            ("eval.return_max", e.return_max),
            ("sparsity.global", self.sparsity.global),
        ];
        let layers = self
            .sparsity
            .layers
            .iter()
            .map(|(name, &v)| (format!("sparsity.layers.{name}"), v));
        fixed
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .chain(layers)
            .chain(self.evals.iter().enumerate().flat_map(|(i, p)| {
                [
                    (format!("evals[{i}].wall_s"), p.wall_s),
                    (format!("evals[{i}].return_mean"), p.return_mean),
                ]
            }))
            .find(|(_, v)| !v.is_finite())
            .map(|(k, _)| k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eval_stats_by_hand() {
        // mean 5; squared deviations 9+1+1+9 = 20; population variance 5.
        let s = EvalStats::from_returns(&[2.0, 4.0, 6.0, 8.0]).unwrap();
        assert_eq!(s.episodes, 4);
        assert_eq!(s.return_mean, 5.0);
        assert_eq!(s.return_std, 5f64.sqrt());
        assert_eq!((s.return_min, s.return_max), (2.0, 8.0));
    }

    #[test]
    fn eval_stats_single_and_empty() {
        let s = EvalStats::from_returns(&[-3.5]).unwrap();
        assert_eq!((s.episodes, s.return_mean, s.return_std), (1, -3.5, 0.0));
        assert_eq!(EvalStats::from_returns(&[]), None);
    }

    #[test]
    fn eval_stats_large_offset_keeps_precision() {
        // Values 1e9 + {0, 1, 2}: population std sqrt(2/3), which a one-pass formula loses.
        let s = EvalStats::from_returns(&[1e9, 1e9 + 1.0, 1e9 + 2.0]).unwrap();
        assert!((s.return_std - (2.0f64 / 3.0).sqrt()).abs() < 1e-9);
    }

    #[test]
    fn json_round_trip_and_field_names() {
        let s = Summary {
            env_steps: 50_000,
            wall_s: 33.5,
            sps: 1492.5,
            eval: EvalStats::from_returns(&[10.0, 20.0]).unwrap(),
            sparsity: SparsityReport::from_weights([("fc1", &[0.0, 1.0][..], true)]),
            evals: Vec::new(),
            best: None,
        };
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["eval"]["return_std"], 5.0);
        assert_eq!(json["sparsity"]["layers"]["fc1"], 0.5);
        assert_eq!(json["env_steps"], 50_000);
        let back: Summary = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
        assert_eq!(s.non_finite_field(), None);
        let mut bad = s.clone();
        bad.sparsity.layers.insert("fc2".to_owned(), f64::NAN);
        assert_eq!(
            bad.non_finite_field().as_deref(),
            Some("sparsity.layers.fc2")
        );
    }
}
