//! Stepping throughput of the MinAtar games (no assertions on time):
//! `cargo test -p sparq-envs --test minatar_bench -- --ignored --nocapture`.

use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;

#[test]
#[ignore = "benchmark; run with --ignored --nocapture"]
fn steps_per_second() {
    for &id in sparq_envs::minatar::IDS {
        let mut env = sparq_envs::minatar::make(id).expect("registered");
        let mut obs = vec![0.0; env.obs_space().len()];
        let mut policy = Pcg64::seed_from_u64(0);
        let n = env.num_actions();
        // Actions drawn up front so the policy's cost is not timed.
        let actions: Vec<usize> = (0..1 << 16).map(|_| policy.random_range(0..n)).collect();
        env.reset(Some(0), &mut obs);
        let steps = 5_000_000;
        let start = Instant::now();
        let mut episodes = 0u64;
        for t in 0..steps {
            if env.step(actions[t & 0xffff], &mut obs).done() {
                env.reset(None, &mut obs);
                episodes += 1;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{id:26} {:>6.1} M steps/s ({steps} steps incl. observation and {episodes} resets)",
            steps as f64 / secs / 1e6
        );
    }
}
