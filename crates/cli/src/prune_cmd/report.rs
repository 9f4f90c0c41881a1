//! The results of a pruning sweep: one row per sparsity, as a table, CSV and JSON.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use sparq_log::EvalStats;

/// One evaluated policy: the dense reference or one pruned (and maybe fine-tuned) copy.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The unpruned policy from the checkpoint.
    pub dense: bool,
    /// The sparsity asked for (0 for the dense row).
    pub target_sparsity: f64,
    /// Measured fraction of zero weights over the prunable layers.
    pub sparsity: f64,
    /// Measured fraction of zero weights per layer.
    pub layers: BTreeMap<String, f64>,
    pub params_total: usize,
    pub params_nonzero: usize,
    pub eval: EvalStats,
    pub finetune_steps: u64,
    /// The saved checkpoint, relative to the output directory (none for the dense row).
    pub checkpoint: Option<String>,
}

/// Everything `prune.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub source: String,
    pub env_id: String,
    pub method: String,
    pub scope: String,
    pub granularity: String,
    pub finetune_steps: u64,
    pub episodes: u32,
    pub seed: u64,
    pub rows: Vec<Row>,
}

impl Report {
    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{}: {} {} pruning per {}, {} fine-tuning steps, {} greedy episodes from seed {}",
            self.env_id,
            self.scope,
            self.method,
            self.granularity,
            self.finetune_steps,
            self.episodes,
            self.seed
        );
        let _ = writeln!(
            s,
            "{:>7}  {:>8}  {:>17}  {:>17}  {:>8}  {:>8}",
            "target", "sparsity", "params nonzero", "return mean ± std", "min", "max"
        );
        for r in &self.rows {
            let target = if r.dense {
                "dense".to_string()
            } else {
                format!("{:.3}", r.target_sparsity)
            };
            let e = &r.eval;
            let _ = writeln!(
                s,
                "{target:>7}  {:>8.4}  {:>17}  {:>8.2} ± {:>6.2}  {:>8.2}  {:>8.2}",
                r.sparsity,
                format!("{}/{}", r.params_nonzero, r.params_total),
                e.return_mean,
                e.return_std,
                e.return_min,
                e.return_max
            );
        }
        s
    }

    pub fn csv(&self) -> String {
        let mut s = String::from(
            "kind,target_sparsity,sparsity,params_nonzero,params_total,return_mean,return_std,return_min,return_max,episodes,finetune_steps,checkpoint\n",
        );
        for r in &self.rows {
            let e = &r.eval;
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                if r.dense { "dense" } else { "pruned" },
                r.target_sparsity,
                r.sparsity,
                r.params_nonzero,
                r.params_total,
                e.return_mean,
                e.return_std,
                e.return_min,
                e.return_max,
                e.episodes,
                r.finetune_steps,
                r.checkpoint.as_deref().unwrap_or("")
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(dense: bool, target: f64, mean: f64) -> Row {
        Row {
            dense,
            target_sparsity: target,
            sparsity: target,
            layers: BTreeMap::new(),
            params_total: 100,
            params_nonzero: 100 - (target * 100.0) as usize,
            eval: EvalStats {
                episodes: 2,
                return_mean: mean,
                return_std: 1.5,
                return_min: mean - 1.5,
                return_max: mean + 1.5,
            },
            finetune_steps: 0,
            checkpoint: (!dense).then(|| format!("s{target}")),
        }
    }

    fn report() -> Report {
        Report {
            source: "run".into(),
            env_id: "CartPole-v1".into(),
            method: "magnitude".into(),
            scope: "global".into(),
            granularity: "weight".into(),
            finetune_steps: 0,
            episodes: 2,
            seed: 0,
            rows: vec![row(true, 0.0, 500.0), row(false, 0.5, 250.0)],
        }
    }

    #[test]
    fn csv_has_a_header_and_one_line_per_row() {
        let csv = report().csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1], "dense,0,0,100,100,500,1.5,498.5,501.5,2,0,");
        assert_eq!(
            lines[2],
            "pruned,0.5,0.5,50,100,250,1.5,248.5,251.5,2,0,s0.5"
        );
        let columns = lines[0].split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == columns));
    }

    #[test]
    fn table_marks_the_dense_row() {
        let t = report().table();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[2].trim_start().starts_with("dense"));
        assert!(
            lines[3].contains("0.500")
                && lines[3].contains("50/100")
                && lines[3].contains("250.00 ±   1.50")
        );
    }
}
