//! Prioritized replay: sum tree, proportional sampling, importance weights, priority updates.

mod common;

use common::*;
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use sparq_replay::{Batch, ReplayBuffer, ReplayConfig, ReplayError, SumTree};

/// A single-env PER buffer holding transitions from obs 0..count (slot i = obs i).
fn filled(alpha: f64, eps: f64, count: usize) -> ReplayBuffer {
    let c = ReplayConfig {
        prioritized: per(alpha, eps),
        ..cfg(64, 1, 1, 1, 0.9)
    };
    let mut b = ReplayBuffer::new(c).unwrap();
    for t in 0..count {
        step1(&mut b, t as f32, t, 0.0, false, false, t as f32 + 1.0);
    }
    b
}

#[test]
fn sum_tree_prefix_sums_and_find_match_naive() {
    let mut rng = Pcg64::seed_from_u64(11);
    let mut t = SumTree::new(1000);
    let mut naive = vec![0.0f64; 1000];
    for _ in 0..5000 {
        let i = rng.random_range(0..1000);
        let p = if rng.random_bool(0.2) {
            0.0
        } else {
            rng.random::<f64>() * 10.0
        };
        t.set(i, p);
        naive[i] = p;
    }
    let mut acc = 0.0;
    for (i, &p) in naive.iter().enumerate() {
        assert!((t.prefix_sum(i) - acc).abs() < 1e-9, "prefix {i}");
        if p > 0.0 {
            // Points inside leaf i's interval find i.
            assert_eq!(t.find(acc + p * 0.5), i);
        }
        acc += p;
    }
    assert!((t.total() - acc).abs() < 1e-9);
}

#[test]
fn sampling_frequencies_proportional_to_priority_alpha() {
    for alpha in [1.0, 0.5] {
        let mut b = filled(alpha, 0.5, 8);
        let idx: Vec<usize> = (0..8).collect();
        let td: Vec<f32> = (0..8).map(|i| i as f32).collect(); // priorities 0.5, 1.5, …, 7.5
        b.update_priorities(&idx, &td).unwrap();
        let mass: Vec<f64> = (0..8).map(|i| (i as f64 + 0.5).powf(alpha)).collect();
        let sum: f64 = mass.iter().sum();
        let mut counts = [0u64; 8];
        let mut rng = Pcg64::seed_from_u64(5);
        let mut batch = Batch::new(8, 1);
        let rounds = 10_000;
        for _ in 0..rounds {
            b.sample(8, 0.5, &mut rng, &mut batch).unwrap();
            for &i in &batch.indices {
                counts[i] += 1;
            }
        }
        let draws = (rounds * 8) as f64;
        let chi2: f64 = (0..8)
            .map(|i| {
                let e = draws * mass[i] / sum;
                (counts[i] as f64 - e).powi(2) / e
            })
            .sum();
        // 7 degrees of freedom: P(chi2 > 24.32) = 0.001.
        assert!(
            chi2 < 24.32,
            "alpha {alpha}: chi2 {chi2}, counts {counts:?}"
        );
    }
}

#[test]
fn importance_weights_follow_formula() {
    let (alpha, eps, beta) = (0.6, 0.01, 0.4);
    let mut b = filled(alpha, eps, 10);
    let td = [3.0, -0.2, 0.0, 1.0, 5.0, 0.5, -2.0, 0.1, 0.7, 4.0];
    b.update_priorities(&(0..10).collect::<Vec<_>>(), &td)
        .unwrap();
    let p: Vec<f64> = td
        .iter()
        .map(|d| (d.abs() as f64 + eps).powf(alpha))
        .collect();
    let total: f64 = p.iter().sum();
    let mut rng = Pcg64::seed_from_u64(9);
    let mut batch = Batch::new(10, 1);
    for _ in 0..50 {
        b.sample(10, beta, &mut rng, &mut batch).unwrap();
        let raw: Vec<f64> = batch
            .indices
            .iter()
            .map(|&i| (10.0 * p[i] / total).powf(-beta))
            .collect();
        let max = raw.iter().cloned().fold(0.0, f64::max);
        for (k, &w) in batch.weights.iter().enumerate() {
            let want = raw[k] / max;
            assert!((w as f64 - want).abs() < 1e-6, "weight {w} != {want}");
        }
        assert!(batch.weights.contains(&1.0));
    }
    // beta = 0: no correction.
    b.sample(10, 0.0, &mut rng, &mut batch).unwrap();
    assert!(batch.weights.iter().all(|&w| w == 1.0));
    assert!(b.sample(10, 1.5, &mut rng, &mut batch).is_err());
}

#[test]
fn priority_updates_and_new_transitions_at_max_priority() {
    let (alpha, eps) = (0.5, 0.25);
    let mut b = filled(alpha, eps, 4);
    for i in 0..4 {
        assert_eq!(b.priority(i), Some(1.0), "initial max priority is 1");
    }
    b.update_priorities(&[1, 2], &[-8.75, 0.0]).unwrap();
    assert_eq!(b.priority(1), Some(9.0f64.powf(alpha)));
    assert_eq!(b.priority(2), Some(0.25f64.powf(alpha)));
    assert_eq!(b.max_priority(), 9.0);
    // The pending frame (slot 4: no action yet) has priority 0 and updates to it are ignored.
    b.update_priorities(&[4], &[100.0]).unwrap();
    assert_eq!(b.priority(4), Some(0.0));
    step1(&mut b, 4.0, 4, 0.0, true, false, 99.0);
    assert_eq!(
        b.priority(4),
        Some(3.0),
        "new transition enters at max priority^alpha"
    );
    assert_eq!(b.priority(5), Some(0.0), "final-obs frame is never sampled");
    // Errors leave every priority unchanged.
    assert!(matches!(
        b.update_priorities(&[0, 1], &[1.0]),
        Err(ReplayError::Argument(_))
    ));
    assert!(b.update_priorities(&[0, 1000], &[1.0, 1.0]).is_err());
    assert!(b.update_priorities(&[0, 1], &[1.0, f32::NAN]).is_err());
    assert_eq!(b.priority(0), Some(1.0));
    // Sampling never returns a zero-priority slot, with the mass concentrated on slot 1.
    let mut rng = Pcg64::seed_from_u64(2);
    let mut batch = Batch::new(5, 1);
    let mut hits = [0u32; 8];
    for _ in 0..2000 {
        b.sample(5, 1.0, &mut rng, &mut batch).unwrap();
        for &i in &batch.indices {
            hits[i] += 1;
        }
    }
    assert_eq!(hits[5], 0);
    assert!(hits[1] > hits[0] && hits[1] > hits[2] && hits[1] > hits[3]);
}

#[test]
fn overwritten_slots_lose_their_priority() {
    let c = ReplayConfig {
        prioritized: per(1.0, 0.1),
        ..cfg(4, 1, 1, 1, 0.9)
    };
    let mut b = ReplayBuffer::new(c).unwrap();
    for t in 0..3 {
        step1(&mut b, t as f32, t, 0.0, false, false, t as f32 + 1.0);
    }
    b.update_priorities(&[0], &[50.0]).unwrap();
    // Frame [4] overwrites slot 0; its transition (priority 50.1) disappears.
    step1(&mut b, 3.0, 3, 0.0, false, false, 4.0);
    assert_eq!(b.priority(0), Some(0.0));
    assert_eq!(b.len(), 3);
    let mut rng = Pcg64::seed_from_u64(4);
    let mut batch = Batch::new(3, 1);
    for _ in 0..200 {
        b.sample(3, 1.0, &mut rng, &mut batch).unwrap();
        assert!(!batch.indices.contains(&0));
    }
    // uniform buffers: update_priorities is a no-op
    let mut u = ReplayBuffer::new(cfg(4, 1, 1, 1, 0.9)).unwrap();
    assert!(u.update_priorities(&[0], &[1.0]).is_ok());
    assert_eq!(u.priority(0), None);
}
