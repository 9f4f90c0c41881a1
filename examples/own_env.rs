// examples/own_env.rs — run it: cargo run -p sparq-examples --example own_env
use sparq::{Config, Env, ObsSpace, RunOptions, Step, Trainer};

/// Walk right along a corridor of 6 cells: −1 a step until the end, at most 50 steps.
struct Corridor {
    pos: u32,
    t: u32,
}

impl Env for Corridor {
    fn obs_space(&self) -> ObsSpace {
        ObsSpace::Vector { dim: 1 }
    }
    fn num_actions(&self) -> usize {
        2
    }
    fn reset(&mut self, _seed: Option<u64>, obs: &mut [f32]) {
        (self.pos, self.t) = (0, 0);
        obs[0] = 0.0;
    }
    fn step(&mut self, action: usize, obs: &mut [f32]) -> Step {
        self.pos = if action == 1 {
            self.pos + 1
        } else {
            self.pos.saturating_sub(1)
        };
        self.t += 1;
        obs[0] = self.pos as f32 / 5.0;
        Step {
            reward: -1.0,
            terminated: self.pos == 5,
            truncated: self.t == 50,
        }
    }
}

fn main() -> anyhow::Result<()> {
    sparq::register_env("Corridor-v0", || Ok(Box::new(Corridor { pos: 0, t: 0 })))?;
    let config = r#"
        [env]
        id = "Corridor-v0"
        [run]
        total_steps = 5000
        [agent]
        target_update_interval = 100
        [prune]
        schedule = "polynomial"
        target_sparsity = 0.9
        frequency = 50
    "#;
    let config = Config::from_toml_str(config, "examples/own_env.rs", &[])?.check()?;
    let summary = Trainer::new(config, RunOptions::default())?.run()?;
    println!("greedy return {} (best: -5)", summary.eval.return_mean);
    Ok(())
}
