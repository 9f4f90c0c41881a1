//! Greedy evaluation is a function of the policy and the seeds alone, on one thread or many, even
//! for environments that keep state across resets (MinAtar keeps the last action its sticky
//! actions repeat, as minatar does).

use sparq::{Env, HostPolicy, NetSpec, ObsSpace, Step, evaluate, register_env};

/// An environment whose one-step episodes return how often this instance has been reset: 1 for
/// every episode when each runs in a fresh environment, more when instances are reused.
struct Carry {
    resets: u32,
}

impl Env for Carry {
    fn obs_space(&self) -> ObsSpace {
        ObsSpace::Vector { dim: 1 }
    }
    fn num_actions(&self) -> usize {
        2
    }
    fn reset(&mut self, _seed: Option<u64>, obs: &mut [f32]) {
        self.resets += 1;
        obs[0] = 0.0;
    }
    fn step(&mut self, _action: usize, obs: &mut [f32]) -> Step {
        obs[0] = 0.0;
        Step {
            reward: self.resets as f32,
            terminated: true,
            truncated: false,
        }
    }
}

fn on_threads(threads: usize, f: impl FnOnce() -> Vec<f64> + Send) -> Vec<f64> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(f)
}

#[test]
fn every_episode_starts_from_a_fresh_environment_whatever_the_threads() {
    register_env("test/carry", || {
        Ok(Box::new(Carry { resets: 0 }) as Box<dyn Env>)
    })
    .unwrap();
    let cfg = sparq::Config::default();
    let spec = NetSpec::from_config(&cfg.network, false, ObsSpace::Vector { dim: 1 }, 2);
    let params = vec![0.1; spec.layout().numel];
    let policy = HostPolicy::new(spec, params).unwrap();
    for threads in [1, 4] {
        let returns = on_threads(threads, || evaluate(&policy, "test/carry", 30, 0).unwrap());
        assert_eq!(returns, vec![1.0; 30], "{threads} threads");
    }
}
