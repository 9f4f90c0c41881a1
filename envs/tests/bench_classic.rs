//! Throughput figures, not assertions (ignored by default):
//!
//! `cargo test -p sparq-envs --test bench_classic -- --ignored --nocapture --test-threads 1`

use std::hint::black_box;
use std::time::Instant;

use sparq_envs::{Parallelism, VecEnv, make};

/// Steps per second of one environment, resetting when an episode ends.
fn single_env_rate(id: &str, steps: usize) -> f64 {
    let mut env = make(id).expect("registered id");
    let mut obs = vec![0.0; env.obs_space().len()];
    let n = env.num_actions();
    env.reset(Some(0), &mut obs);
    let start = Instant::now();
    for t in 0..steps {
        if env.step(black_box((t ^ (t >> 3)) % n), &mut obs).done() {
            env.reset(None, &mut obs);
        }
    }
    black_box(&obs);
    steps as f64 / start.elapsed().as_secs_f64()
}

#[test]
#[ignore = "benchmark"]
fn single_env_steps_per_second() {
    for id in ["CartPole-v1", "Acrobot-v1", "MountainCar-v0"] {
        let best = (0..3)
            .map(|_| single_env_rate(id, 2_000_000))
            .fold(0.0, f64::max);
        eprintln!(
            "{id}: {:.1} M steps/s ({:.1} ns/step)",
            best / 1e6,
            1e9 / best
        );
    }
}

/// Nanoseconds per `VecEnv::step` (best of three runs).
fn vec_step_ns(id: &str, num_envs: usize, parallelism: Parallelism) -> f64 {
    let mut venv = VecEnv::new(id, num_envs).expect("registered id");
    venv.set_parallelism(parallelism);
    venv.reset(0);
    let n = venv.num_actions();
    let actions: Vec<Vec<usize>> = (0..8)
        .map(|k| (0..num_envs).map(|i| (i * 7 + k) % n).collect())
        .collect();
    let steps = (4_000_000 / num_envs).clamp(20, 200_000);
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        for t in 0..steps {
            black_box(venv.step(&actions[t % 8]).expect("valid actions"));
        }
        best = best.min(start.elapsed().as_nanos() as f64 / steps as f64);
    }
    best
}

#[test]
#[ignore = "benchmark"]
fn vec_env_sequential_vs_parallel() {
    eprintln!("rayon threads: {}", rayon::current_num_threads());
    for id in ["CartPole-v1", "Acrobot-v1"] {
        for num_envs in [4, 16, 64, 256, 1024, 4096] {
            let seq = vec_step_ns(id, num_envs, Parallelism::Sequential);
            let par = vec_step_ns(id, num_envs, Parallelism::Parallel);
            let auto = vec_step_ns(id, num_envs, Parallelism::Auto);
            eprintln!(
                "{id:>14} x{num_envs:<5} sequential {seq:>9.0} ns  parallel {par:>9.0} ns  \
                 auto {auto:>9.0} ns"
            );
        }
    }
}

#[test]
#[ignore = "benchmark"]
fn rayon_fork_join_overhead() {
    use rayon::prelude::*;
    let threads = rayon::current_num_threads();
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..10_000 {
            (0..threads).into_par_iter().with_min_len(1).for_each(|i| {
                black_box(i);
            });
        }
        best = best.min(start.elapsed().as_nanos() as f64 / 10_000.0);
    }
    eprintln!("rayon: {threads} threads, empty fork/join {best:.0} ns");
}
