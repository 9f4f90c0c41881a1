//! Rough sampling timings: `cargo run --release -p sparq-replay --example bench_sample`.
//! Reports the median and the best of many short trials: on a shared machine the best trial is
//! the closest to the uncontended cost.

use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use sparq_replay::{Batch, ObsEncoding, PerParams, ReplayBuffer, ReplayConfig};

const BATCH: usize = 128;

fn filled(obs_len: usize, encoding: ObsEncoding, prioritized: bool) -> ReplayBuffer {
    let envs = 8;
    let cfg = ReplayConfig {
        capacity: 100_000,
        num_envs: envs,
        obs_len,
        encoding,
        n_step: 3,
        gamma: 0.99,
        prioritized: prioritized.then_some(PerParams {
            alpha: 0.6,
            beta0: 0.4,
            eps: 1e-6,
        }),
    };
    let mut b = ReplayBuffer::new(cfg).expect("valid config");
    let mut rng = Pcg64::seed_from_u64(0);
    let bit = |rng: &mut Pcg64| rng.random_range(0..2) as f32;
    let mut cur: Vec<f32> = (0..envs * obs_len).map(|_| bit(&mut rng)).collect();
    for _ in 0..150_000 / envs {
        let next: Vec<f32> = (0..envs * obs_len).map(|_| bit(&mut rng)).collect();
        let done: Vec<bool> = (0..envs).map(|_| rng.random_bool(0.01)).collect();
        b.add(&cur, &[1; 8], &[1.0; 8], &done, &[false; 8], &next)
            .expect("add");
        cur = next;
    }
    b
}

/// (median, best) microseconds per call of `f` over 300 trials of 20 calls.
fn measure(mut f: impl FnMut()) -> (f64, f64) {
    let mut trials: Vec<f64> = (0..300)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..20 {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / 20.0
        })
        .collect();
    trials.sort_by(f64::total_cmp);
    (trials[trials.len() / 2], trials[0])
}

fn main() {
    for (name, ol, enc) in [
        ("CartPole f32 (obs 4)", 4, ObsEncoding::F32),
        ("MinAtar bits (obs 10x10x4)", 400, ObsEncoding::Bits),
    ] {
        for per in [false, true] {
            let mut b = filled(ol, enc, per);
            let mut rng = Pcg64::seed_from_u64(1);
            let mut batch = Batch::new(BATCH, ol);
            let (s_med, s_min) =
                measure(|| b.sample(BATCH, 0.5, &mut rng, &mut batch).expect("sample"));
            let td: Vec<f32> = (0..BATCH).map(|i| i as f32 * 0.01).collect();
            let (u_med, u_min) =
                measure(|| b.update_priorities(&batch.indices, &td).expect("update"));
            println!(
                "{name:27} {:7} len {}  sample({BATCH}) median {s_med:6.1} us, best {s_min:6.1} us; \
                 update_priorities median {u_med:5.1} us, best {u_min:5.1} us; {:.1} B/transition",
                if per { "PER" } else { "uniform" },
                b.len(),
                b.bytes_per_transition()
            );
        }
    }
}
