//! Your own environment, trained by sparq as a library and pruned to 90 % while it trains.
//!
//! Catch (bsuite's): a ball falls from a random column of a 10×5 grid; move the paddle at the
//! bottom (left, stay, right) to catch it: +1 if caught, −1 if missed. Best return: 1.
//!
//!   cargo run -p sparq-examples --example catch -- [SEED] [ENV_STEPS]    # trains, prints the return
//!   cargo run -p sparq-examples --example catch -- sparq eval RUN_DIR   # any sparq command, Catch-v0 known
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use sparq::{Config, Env, ObsSpace, RunOptions, Step, Trainer};

const WIDTH: usize = 5;
const HEIGHT: usize = 10;

struct Catch {
    rng: Pcg64,
    ball: (usize, usize), // (column, row)
    paddle: usize,
}

impl Catch {
    fn observe(&self, obs: &mut [f32]) {
        obs[0] = self.ball.0 as f32 / (WIDTH - 1) as f32;
        obs[1] = self.ball.1 as f32 / (HEIGHT - 1) as f32;
        obs[2] = self.paddle as f32 / (WIDTH - 1) as f32;
    }
}

impl Env for Catch {
    fn obs_space(&self) -> ObsSpace {
        ObsSpace::Vector { dim: 3 }
    }
    fn num_actions(&self) -> usize {
        3
    }
    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        if let Some(seed) = seed {
            self.rng = Pcg64::seed_from_u64(seed);
        }
        self.ball = (self.rng.random_range(0..WIDTH), 0);
        self.paddle = WIDTH / 2;
        self.observe(obs);
    }
    fn step(&mut self, action: usize, obs: &mut [f32]) -> Step {
        self.paddle = (self.paddle + action).saturating_sub(1).min(WIDTH - 1);
        self.ball.1 += 1;
        self.observe(obs);
        let landed = self.ball.1 == HEIGHT - 1;
        let caught = self.ball.0 == self.paddle;
        Step {
            reward: if !landed {
                0.0
            } else if caught {
                1.0
            } else {
                -1.0
            },
            terminated: landed,
            truncated: false,
        }
    }
}

const CONFIG: &str = r#"
[run]
total_steps = 30_000
[env]
id = "Catch-v0"
[agent]
lr = 1e-3
batch_size = 64
buffer_size = 30_000
learning_starts = 1_000
train_freq = 4
target_update_interval = 250
exploration_fraction = 0.3
exploration_final_eps = 0.05
[network]
hidden = [64, 64]
[log]
eval_interval = 0
checkpoint_interval = 10_000
[prune]
schedule = "polynomial"
target_sparsity = 0.9
start = 0.2
end = 0.8
frequency = 100
"#;

fn main() -> anyhow::Result<std::process::ExitCode> {
    sparq::register_env("Catch-v0", || {
        let rng = Pcg64::seed_from_u64(0);
        Ok(Box::new(Catch {
            rng,
            ball: (0, 0),
            paddle: 0,
        }))
    })?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "sparq") {
        return Ok(sparq_cli::main_with(args)); // e.g. `sparq eval RUN_DIR`, Catch-v0 included
    }
    let mut overrides = vec![format!("run.seed={}", args.first().map_or("1", |s| s))];
    if let Some(steps) = args.get(1) {
        overrides.push(format!("run.total_steps={steps}"));
    }
    let config = Config::from_toml_str(CONFIG, "examples/catch.rs", &overrides)?.check()?;
    let options = RunOptions {
        progress: true,
        ..RunOptions::default()
    };
    let summary = Trainer::new(config, options)?.run()?;
    println!(
        "Catch-v0: greedy return {:.2} over {} episodes at {:.1} % sparsity",
        summary.eval.return_mean,
        summary.eval.episodes,
        100.0 * summary.sparsity.global
    );
    Ok(std::process::ExitCode::SUCCESS)
}
