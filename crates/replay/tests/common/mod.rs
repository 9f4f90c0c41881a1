//! Shared test helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_pcg::Pcg64;
use sparq_replay::{Batch, ObsEncoding, PerParams, ReplayBuffer, ReplayConfig};

pub fn cfg(
    capacity: usize,
    num_envs: usize,
    obs_len: usize,
    n_step: usize,
    gamma: f32,
) -> ReplayConfig {
    ReplayConfig {
        capacity,
        num_envs,
        obs_len,
        encoding: ObsEncoding::F32,
        n_step,
        gamma,
        prioritized: None,
    }
}

pub fn per(alpha: f64, eps: f64) -> Option<PerParams> {
    Some(PerParams {
        alpha,
        beta0: 0.4,
        eps,
    })
}

/// One step of a single-env buffer with obs_len-1 observations.
pub fn step1(
    b: &mut ReplayBuffer,
    obs: f32,
    action: usize,
    reward: f32,
    term: bool,
    trunc: bool,
    next: f32,
) {
    b.add(&[obs], &[action], &[reward], &[term], &[trunc], &[next])
        .unwrap();
}

/// One sampled transition, as seen through `Batch`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub obs: Vec<f32>,
    pub next_obs: Vec<f32>,
    pub action: i64,
    pub ret: f32,
    pub discount: f32,
    pub index: usize,
}

pub fn key(obs: &[f32]) -> Vec<u32> {
    obs.iter().map(|v| v.to_bits()).collect()
}

pub fn rows(batch: &Batch, obs_len: usize) -> Vec<Row> {
    (0..batch.batch_size())
        .map(|i| Row {
            obs: batch.obs[i * obs_len..(i + 1) * obs_len].to_vec(),
            next_obs: batch.next_obs[i * obs_len..(i + 1) * obs_len].to_vec(),
            action: batch.actions[i],
            ret: batch.returns[i],
            discount: batch.discounts[i],
            index: batch.indices[i],
        })
        .collect()
}

/// Every sampleable transition, keyed by its observation, found by sampling until all `len()`
/// distinct ones were seen (asserts the same index always yields the same row).
pub fn collect(b: &ReplayBuffer) -> BTreeMap<Vec<u32>, Row> {
    let ol = b.config().obs_len;
    let mut rng = Pcg64::seed_from_u64(7);
    let bs = b.len();
    let mut batch = Batch::new(bs, ol);
    let mut by_index: BTreeMap<usize, Row> = BTreeMap::new();
    for _ in 0..5000 {
        b.sample(bs, 1.0, &mut rng, &mut batch).unwrap();
        for r in rows(&batch, ol) {
            if let Some(prev) = by_index.get(&r.index) {
                assert_eq!(prev, &r, "slot {} sampled inconsistently", r.index);
            }
            by_index.insert(r.index, r);
        }
        if by_index.len() == b.len() {
            break;
        }
    }
    assert_eq!(
        by_index.len(),
        b.len(),
        "sampling never reached every valid transition"
    );
    let mut out = BTreeMap::new();
    for r in by_index.into_values() {
        assert!(
            out.insert(key(&r.obs), r).is_none(),
            "duplicate observation in test stream"
        );
    }
    out
}

pub fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-5 * (1.0 + b.abs())
}
