//! `sparq env`: list, replay, roll out and benchmark environments.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use serde_json::json;
use sparq_envs::VecEnv;

#[derive(Subcommand)]
pub enum EnvCommand {
    /// List registered environment ids.
    List,
    /// Set a classic-control env's state right after reset, step the given actions and print one
    /// JSON object per step (stops at the first terminated or truncated step).
    Replay {
        #[arg(long)]
        env: String,
        /// State variables in Gymnasium's order, comma-separated (use `--state=-0.1,...`).
        #[arg(long, allow_hyphen_values = true)]
        state: String,
        /// Actions, comma-separated.
        #[arg(long)]
        actions: String,
    },
    /// Run a policy and print one JSON object per episode.
    Rollout {
        #[arg(long)]
        env: String,
        #[arg(long, default_value = "random", value_parser = ["random"])]
        policy: String,
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
        episodes: u32,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Measure environment steps per second with random actions.
    Bench {
        #[arg(long)]
        env: String,
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=4096))]
        num_envs: u32,
        /// Seconds to run for, in (0, 86400].
        #[arg(long, default_value_t = 3.0, value_parser = bench_seconds, allow_hyphen_values = true)]
        seconds: f64,
    },
}

pub fn run(cmd: EnvCommand) -> Result<()> {
    match cmd {
        EnvCommand::List => {
            for id in sparq_envs::registered_ids() {
                let spec = sparq_envs::spec(&id)?;
                let limit = spec
                    .max_episode_steps
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "none".into());
                println!(
                    "{id:<28} obs {:?}  actions {}  time limit {limit}",
                    spec.obs_space.shape(),
                    spec.num_actions
                );
            }
            Ok(())
        }
        EnvCommand::Replay {
            env,
            state,
            actions,
        } => replay(&env, &state, &actions),
        EnvCommand::Rollout {
            env,
            episodes,
            seed,
            ..
        } => rollout(&env, episodes, seed),
        EnvCommand::Bench {
            env,
            num_envs,
            seconds,
        } => bench(&env, num_envs as usize, seconds),
    }
}

fn parse_list<T: std::str::FromStr>(flag: &str, text: &str) -> Result<Vec<T>> {
    text.split(',')
        .enumerate()
        .map(|(i, s)| {
            s.trim().parse::<T>().map_err(|_| {
                anyhow::anyhow!(
                    "--{flag}: item {} '{}' is not a valid number",
                    i + 1,
                    s.trim()
                )
            })
        })
        .collect()
}

fn replay(id: &str, state: &str, actions: &str) -> Result<()> {
    let mut env = sparq_envs::make(id)?;
    let state: Vec<f64> = parse_list("state", state)?;
    let actions: Vec<usize> = parse_list("actions", actions)?;
    let n = env.num_actions();
    if let Some((i, a)) = actions.iter().enumerate().find(|(_, a)| **a >= n) {
        bail!(
            "--actions: action {a} at position {} is out of range for {id}: allowed 0..={}",
            i + 1,
            n - 1
        );
    }
    let mut obs = vec![0f32; env.obs_space().len()];
    env.reset(Some(0), &mut obs);
    env.set_state(&state, &mut obs).context("--state")?;
    for (k, &a) in actions.iter().enumerate() {
        let s = env.step(a, &mut obs);
        println!(
            "{}",
            json!({"step": k + 1, "obs": obs, "reward": s.reward, "terminated": s.terminated, "truncated": s.truncated})
        );
        if s.done() {
            break;
        }
    }
    Ok(())
}

fn rollout(id: &str, episodes: u32, seed: u64) -> Result<()> {
    let mut env = sparq_envs::make(id)?;
    let mut rng = Pcg64::seed_from_u64(seed);
    let mut obs = vec![0f32; env.obs_space().len()];
    for ep in 0..episodes {
        env.reset(if ep == 0 { Some(seed) } else { None }, &mut obs);
        let (mut ret, mut len) = (0.0f64, 0u64);
        loop {
            let s = env.step(rng.random_range(0..env.num_actions()), &mut obs);
            ret += s.reward as f64;
            len += 1;
            if s.done() {
                break;
            }
        }
        println!("{}", json!({"episode": ep, "return": ret, "length": len}));
    }
    Ok(())
}

/// `--seconds`: a time to measure over; 0 or less measured nothing and still exited 0.
fn bench_seconds(text: &str) -> Result<f64, String> {
    let s: f64 = text
        .trim()
        .parse()
        .map_err(|_| "not a number of seconds".to_owned())?;
    if s > 0.0 && s <= 86_400.0 {
        Ok(s)
    } else {
        Err("must be in (0, 86400] seconds".to_owned())
    }
}

fn bench(id: &str, num_envs: usize, seconds: f64) -> Result<()> {
    let mut envs = VecEnv::new(id, num_envs)?;
    envs.reset(0);
    let mut rng = Pcg64::seed_from_u64(0);
    let mut actions = vec![0usize; num_envs];
    let (start, mut steps) = (Instant::now(), 0u64);
    while start.elapsed().as_secs_f64() < seconds {
        for _ in 0..64 {
            actions
                .iter_mut()
                .for_each(|a| *a = rng.random_range(0..envs.num_actions()));
            envs.step(&actions)?;
        }
        steps += 64 * num_envs as u64;
    }
    let sps = steps as f64 / start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"env": id, "num_envs": num_envs, "steps": steps, "steps_per_s": sps.round()})
    );
    Ok(())
}
