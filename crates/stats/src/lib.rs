//! Aggregate performance over runs as rliable computes it (Agarwal et al. 2021, `rliable` 1.2.0):
//! mean, median, interquartile mean (IQM) and optimality gap of a runs × tasks score matrix,
//! 95 % stratified-bootstrap confidence intervals (percentile method, runs resampled within each
//! task), and performance profiles. No libtorch; `scripts/dev/rliable-check` compares it with
//! rliable itself.
//!
//! ```
//! use sparq_stats::{Aggregate, Scores, interval_estimates};
//! let scores = Scores::from_tasks(vec![vec![480.0, 500.0, 500.0, 120.0, 500.0]]).unwrap();
//! let est = interval_estimates(&scores, &[Aggregate::Iqm], 2000, 0.95, 0);
//! assert!(est[0].lo <= est[0].point && est[0].point <= est[0].hi);
//! ```

mod bootstrap;

pub use bootstrap::{
    Interval, interval_estimates, percentile, profile_intervals, resample_aggregates,
};

/// Scores of one group: one column of runs per task. Columns may differ in length (a sweep with
/// a failed run); rliable's matrices are the rectangular case.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    tasks: Vec<Vec<f64>>,
}

impl Scores {
    /// `tasks[t][r]` is run `r` on task `t`. `None` if there is no task, an empty task or a
    /// non-finite score: no aggregate of those means anything.
    pub fn from_tasks(tasks: Vec<Vec<f64>>) -> Option<Scores> {
        let ok = !tasks.is_empty()
            && tasks
                .iter()
                .all(|t| !t.is_empty() && t.iter().all(|x| x.is_finite()));
        ok.then_some(Scores { tasks })
    }

    /// From rliable's layout: `matrix[run][task]`.
    pub fn from_runs_by_tasks(matrix: &[Vec<f64>]) -> Option<Scores> {
        let tasks = matrix.first()?.len();
        if matrix.iter().any(|r| r.len() != tasks) {
            return None;
        }
        Scores::from_tasks(
            (0..tasks)
                .map(|t| matrix.iter().map(|r| r[t]).collect())
                .collect(),
        )
    }

    pub fn tasks(&self) -> &[Vec<f64>] {
        &self.tasks
    }

    /// Every score, task after task.
    pub fn all(&self) -> impl Iterator<Item = f64> + '_ {
        self.tasks.iter().flatten().copied()
    }

    pub fn len(&self) -> usize {
        self.tasks.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An aggregate of a score matrix, defined as in `rliable.metrics`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Aggregate {
    /// Mean over tasks of each task's mean over runs (`aggregate_mean`).
    Mean,
    /// Median over tasks of each task's mean over runs (`aggregate_median`): with one task it is
    /// that task's mean — rliable's definition, which is why IQM is the headline.
    Median,
    /// 25 %-trimmed mean of all scores pooled (`scipy.stats.trim_mean(x, 0.25, axis=None)`).
    Iqm,
    /// `γ - mean(min(score, γ))` over all scores (`aggregate_optimality_gap`).
    OptimalityGap(f64),
}

impl Aggregate {
    pub fn name(&self) -> &'static str {
        match self {
            Aggregate::Mean => "mean",
            Aggregate::Median => "median",
            Aggregate::Iqm => "iqm",
            Aggregate::OptimalityGap(_) => "optimality_gap",
        }
    }

    /// The aggregate of `scores`.
    pub fn of(&self, scores: &Scores) -> f64 {
        self.of_tasks(&scores.tasks)
    }

    pub(crate) fn of_tasks(&self, tasks: &[Vec<f64>]) -> f64 {
        match *self {
            Aggregate::Mean => mean(&task_means(tasks)),
            Aggregate::Median => median(task_means(tasks)),
            Aggregate::Iqm => trim_mean(tasks.iter().flatten().copied().collect(), 0.25),
            Aggregate::OptimalityGap(gamma) => {
                let all: Vec<f64> = tasks.iter().flatten().map(|&x| x.min(gamma)).collect();
                gamma - mean(&all)
            }
        }
    }
}

fn task_means(tasks: &[Vec<f64>]) -> Vec<f64> {
    tasks.iter().map(|t| mean(t)).collect()
}

/// Arithmetic mean, summed in order as numpy's pairwise sum agrees with to a few ulps.
pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// numpy's median: the middle value, or the mean of the two middle values.
pub fn median(mut x: Vec<f64>) -> f64 {
    x.sort_by(f64::total_cmp);
    let n = x.len();
    if n % 2 == 1 {
        x[n / 2]
    } else {
        (x[n / 2 - 1] + x[n / 2]) / 2.0
    }
}

/// `scipy.stats.trim_mean(x, cut)`: drop `floor(cut · n)` scores from each end, average the rest.
pub fn trim_mean(mut x: Vec<f64>, cut: f64) -> f64 {
    x.sort_by(f64::total_cmp);
    let n = x.len();
    let low = (cut * n as f64) as usize;
    mean(&x[low..n - low])
}

/// Fraction of all runs whose score exceeds each `tau` (rliable's run-score distribution, the
/// performance profile).
pub fn performance_profile(scores: &Scores, taus: &[f64]) -> Vec<f64> {
    profile_of(&scores.tasks, taus)
}

pub(crate) fn profile_of(tasks: &[Vec<f64>], taus: &[f64]) -> Vec<f64> {
    let n = tasks.iter().map(Vec::len).sum::<usize>() as f64;
    taus.iter()
        .map(|&tau| tasks.iter().flatten().filter(|&&x| x > tau).count() as f64 / n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_mean_matches_scipy_on_ten_scores() {
        // scipy.stats.trim_mean(range(10), 0.25) == 4.5 (drops 2 from each end).
        let x: Vec<f64> = (0..10).map(f64::from).collect();
        assert_eq!(trim_mean(x, 0.25), 4.5);
        // n = 7: floor(1.75) = 1 dropped each end: mean(1..=5) = 3.
        let x: Vec<f64> = (0..7).map(f64::from).collect();
        assert_eq!(trim_mean(x, 0.25), 3.0);
    }

    #[test]
    fn median_is_over_task_means_as_in_rliable() {
        let s = Scores::from_tasks(vec![vec![1.0, 3.0], vec![10.0, 10.0], vec![0.0, 0.0]]).unwrap();
        assert_eq!(Aggregate::Median.of(&s), 2.0);
        assert_eq!(Aggregate::Mean.of(&s), 4.0);
    }

    #[test]
    fn optimality_gap_clips_at_gamma() {
        let s = Scores::from_tasks(vec![vec![600.0, 400.0]]).unwrap();
        assert_eq!(Aggregate::OptimalityGap(500.0).of(&s), 50.0);
    }

    #[test]
    fn profile_counts_strictly_greater() {
        let s = Scores::from_tasks(vec![vec![1.0, 2.0, 3.0, 4.0]]).unwrap();
        assert_eq!(
            performance_profile(&s, &[0.0, 2.0, 4.0]),
            vec![1.0, 0.5, 0.0]
        );
    }

    #[test]
    fn empty_or_nan_scores_are_refused() {
        assert!(Scores::from_tasks(vec![]).is_none());
        assert!(Scores::from_tasks(vec![vec![]]).is_none());
        assert!(Scores::from_tasks(vec![vec![f64::NAN]]).is_none());
    }
}
