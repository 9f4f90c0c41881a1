//! `merge.json` and the table `sparq merge` prints: each member's return and sparsity, the soup's
//! steps, and the merged policy's return over the same episodes.

use serde::Serialize;
use sparq_log::EvalStats;

use super::Method;
use super::combine::MaskMode;

#[derive(Serialize)]
pub struct MergeReport {
    pub method: Method,
    /// `mean-q` or `majority` (ensemble only).
    pub vote: Option<String>,
    /// How masks combined (average and soup only).
    pub masks: Option<MaskMode>,
    pub env_id: String,
    pub episodes: u32,
    /// Episode k of every evaluation used seed + k.
    pub seed: u64,
    pub members: Vec<MemberRow>,
    /// The soup's candidates in the order tried (soup only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub soup: Vec<SoupStep>,
    pub merged: MergedRow,
}

#[derive(Serialize)]
pub struct MemberRow {
    pub path: String,
    pub eval: EvalStats,
    /// Weight sparsity over the member's prunable layers.
    pub sparsity: f64,
}

#[derive(Serialize)]
pub struct SoupStep {
    /// Index into `members`.
    pub member: usize,
    /// Mean return of the soup with this member added.
    pub soup_return: f64,
    pub kept: bool,
}

#[derive(Serialize)]
pub struct MergedRow {
    /// Indices into `members` of what went into the result.
    pub members: Vec<usize>,
    pub eval: EvalStats,
    pub sparsity: f64,
    pub params_nonzero: usize,
    pub params_total: usize,
    /// The sparsity a re-prune aimed at (pruned members or --target-sparsity only).
    pub target_sparsity: Option<f64>,
    /// Whether the merged policy reaches it.
    pub target_met: Option<bool>,
}

impl MergeReport {
    pub fn table(&self) -> String {
        let mut s = format!(
            "{} merge of {} policies on {} ({} episodes, seeds {}..{})\n",
            match self.method {
                Method::Average => "average",
                Method::Soup => "soup",
                Method::Ensemble => "ensemble",
            },
            self.members.len(),
            self.env_id,
            self.episodes,
            self.seed,
            self.seed + u64::from(self.episodes)
        );
        s.push_str(&format!(
            "{:<4} {:>10} {:>8} {:>9}  {}\n",
            "#", "return", "std", "sparsity", "policy"
        ));
        for (i, m) in self.members.iter().enumerate() {
            let used = if self.merged.members.contains(&i) {
                ""
            } else {
                " (not in soup)"
            };
            s.push_str(&format!(
                "{:<4} {:>10.2} {:>8.2} {:>9.4}  {}{used}\n",
                i, m.eval.return_mean, m.eval.return_std, m.sparsity, m.path
            ));
        }
        let what = match (&self.vote, self.masks) {
            (Some(v), _) => format!("ensemble ({v})"),
            (None, Some(MaskMode::Intersection)) => "merged (mask ∩)".into(),
            (None, _) => "merged (mask ∪)".into(),
        };
        let m = &self.merged;
        s.push_str(&format!(
            "{:<4} {:>10.2} {:>8.2} {:>9.4}  {what}, {} of {} parameters nonzero\n",
            "=",
            m.eval.return_mean,
            m.eval.return_std,
            m.sparsity,
            m.params_nonzero,
            m.params_total
        ));
        if let (Some(t), Some(met)) = (m.target_sparsity, m.target_met) {
            s.push_str(&format!(
                "target sparsity {t:.4} after re-prune: {}\n",
                if met { "met" } else { "NOT met" }
            ));
        }
        s
    }
}
