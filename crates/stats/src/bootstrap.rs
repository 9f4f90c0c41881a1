//! Stratified bootstrap confidence intervals, as `rliable.library.get_interval_estimates` with
//! `method = "percentile"`: each resample draws, for every task separately, as many runs as the
//! task has, with replacement; the interval is numpy's linearly interpolated percentiles of the
//! resampled aggregates.

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use serde::Serialize;

use crate::{Aggregate, Scores, profile_of};

/// A point estimate with its confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    pub point: f64,
    pub lo: f64,
    pub hi: f64,
}

/// Point estimate and `confidence` (e.g. 0.95) interval of each aggregate, from `reps`
/// stratified resamples drawn from a generator seeded with `seed` (one set of resamples is shared
/// by all aggregates).
pub fn interval_estimates(
    scores: &Scores,
    aggregates: &[Aggregate],
    reps: usize,
    confidence: f64,
    seed: u64,
) -> Vec<Interval> {
    let samples = resample_aggregates(scores, aggregates, reps, seed);
    aggregates
        .iter()
        .zip(samples)
        .map(|(a, s)| interval(a.of(scores), s, confidence))
        .collect()
}

/// The bootstrap distribution: `reps` resampled values of each aggregate.
pub fn resample_aggregates(
    scores: &Scores,
    aggregates: &[Aggregate],
    reps: usize,
    seed: u64,
) -> Vec<Vec<f64>> {
    let mut out = vec![Vec::with_capacity(reps); aggregates.len()];
    resample(scores, reps, seed, |tasks| {
        for (a, o) in aggregates.iter().zip(out.iter_mut()) {
            o.push(a.of_tasks(tasks));
        }
    });
    out
}

/// Performance profile at each `tau` with its interval, from the same kind of resamples.
pub fn profile_intervals(
    scores: &Scores,
    taus: &[f64],
    reps: usize,
    confidence: f64,
    seed: u64,
) -> Vec<Interval> {
    let mut samples = vec![Vec::with_capacity(reps); taus.len()];
    resample(scores, reps, seed, |tasks| {
        for (s, p) in samples.iter_mut().zip(profile_of(tasks, taus)) {
            s.push(p);
        }
    });
    let points = profile_of(scores.tasks(), taus);
    points
        .into_iter()
        .zip(samples)
        .map(|(p, s)| interval(p, s, confidence))
        .collect()
}

/// Calls `f` on `reps` stratified resamples of `scores`.
fn resample(scores: &Scores, reps: usize, seed: u64, mut f: impl FnMut(&[Vec<f64>])) {
    let mut rng = Pcg64::seed_from_u64(seed);
    let mut buf: Vec<Vec<f64>> = scores.tasks().to_vec();
    for _ in 0..reps {
        for (task, out) in scores.tasks().iter().zip(buf.iter_mut()) {
            for o in out.iter_mut() {
                *o = task[rng.random_range(0..task.len())];
            }
        }
        f(&buf);
    }
}

fn interval(point: f64, mut samples: Vec<f64>, confidence: f64) -> Interval {
    samples.sort_by(f64::total_cmp);
    let tail = 100.0 * (1.0 - confidence) / 2.0;
    Interval {
        point,
        lo: percentile(&samples, tail),
        hi: percentile(&samples, 100.0 - tail),
    }
}

/// `numpy.percentile(x, q)` of sorted `x` (the default "linear" method: position
/// `q/100 · (n-1)`, interpolated between its neighbours).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let pos = q / 100.0 * (n - 1) as f64;
    let i = pos.floor() as usize;
    let frac = pos - i as f64;
    if i + 1 >= n {
        return sorted[n - 1];
    }
    // numpy's _lerp: a + (b - a)·t, switched to b - (b - a)·(1 - t) past the middle.
    let (a, b) = (sorted[i], sorted[i + 1]);
    if frac >= 0.5 {
        b - (b - a) * (1.0 - frac)
    } else {
        a + (b - a) * frac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4], [2.5, 50, 97.5]) == [1.075, 2.5, 3.925]
        let x = [1.0, 2.0, 3.0, 4.0];
        assert!((percentile(&x, 2.5) - 1.075).abs() < 1e-12);
        assert_eq!(percentile(&x, 50.0), 2.5);
        assert!((percentile(&x, 97.5) - 3.925).abs() < 1e-12);
        assert_eq!(percentile(&x, 100.0), 4.0);
    }

    #[test]
    fn constant_scores_have_a_zero_width_interval() {
        let s = Scores::from_tasks(vec![vec![500.0; 10]]).unwrap();
        for i in interval_estimates(&s, &[Aggregate::Iqm, Aggregate::Mean], 200, 0.95, 1) {
            assert_eq!((i.lo, i.point, i.hi), (500.0, 500.0, 500.0));
        }
    }

    #[test]
    fn resampling_stays_within_each_task() {
        // Two tasks far apart: a resample that mixed runs across tasks would move the task
        // means; stratified resampling keeps each task's mean within its own range.
        let s = Scores::from_tasks(vec![vec![0.0, 1.0], vec![100.0, 101.0]]).unwrap();
        let samples = resample_aggregates(&s, &[Aggregate::Median], 500, 3);
        assert!(samples[0].iter().all(|&m| (50.0..=51.0).contains(&m)));
    }

    #[test]
    fn same_seed_same_interval() {
        let s = Scores::from_tasks(vec![vec![1.0, 5.0, 2.0, 8.0, 3.0]]).unwrap();
        let a = interval_estimates(&s, &[Aggregate::Iqm], 300, 0.95, 7);
        let b = interval_estimates(&s, &[Aggregate::Iqm], 300, 0.95, 7);
        assert_eq!(a, b);
    }
}
