//! The libtorch bound for scripts/bench/dqn: the tensor work of sparq's CartPole DQN benchmark
//! (configs/bench/cartpole_64x64.toml) with nothing else — no environment, no replay buffer.
//!
//! A 64×64 ReLU MLP built with tch's own `nn` module and `nn::Adam`. For each of `--steps` env
//! steps: one batch-1 greedy forward under no_grad (observation copied in, action read back),
//! and after `--learning-starts` steps one update on a random batch of the real shapes, copied
//! from preallocated host buffers as a replay sample would be: Huber loss against the target
//! network's max-Q (no_grad) + backward + clip_grad_norm + Adam step, and a hard target copy every
//! `--target-every` updates. Prints one JSON line; steps/s = steps / total time.
//!
//!   cargo run --example bare_tch -p sparq-agent -- [--threads N] [--steps 50000] ...

use std::error::Error;
use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

const OBS: i64 = 4;
const ACTIONS: i64 = 2;
const HIDDEN: i64 = 64;
/// Distinct host batches cycled through, so the updates do not all see one batch.
const POOL: usize = 8;

struct Args {
    threads: i32,
    steps: u64,
    learning_starts: u64,
    batch: usize,
    target_every: u64,
    lr: f64,
    gamma: f64,
    max_grad_norm: f64,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        threads: 1,
        steps: 50_000,
        learning_starts: 1_000,
        batch: 128,
        target_every: 500,
        lr: 1e-3,
        gamma: 0.99,
        max_grad_norm: 10.0,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--threads" => a.threads = value.parse().map_err(|e| bad(&e))?,
            "--steps" => a.steps = value.parse().map_err(|e| bad(&e))?,
            "--learning-starts" => a.learning_starts = value.parse().map_err(|e| bad(&e))?,
            "--batch" => a.batch = value.parse().map_err(|e| bad(&e))?,
            "--target-every" => a.target_every = value.parse().map_err(|e| bad(&e))?,
            "--lr" => a.lr = value.parse().map_err(|e| bad(&e))?,
            "--seed" => a.seed = value.parse().map_err(|e| bad(&e))?,
            _ => {
                return Err(format!(
                    "unknown flag {flag} (known: --threads --steps --learning-starts --batch --target-every --lr --seed)"
                ));
            }
        }
    }
    if a.threads < 1 || a.batch < 1 || a.target_every < 1 || a.steps <= a.learning_starts {
        return Err("need --threads >= 1, --batch >= 1, --target-every >= 1 and --steps > --learning-starts".into());
    }
    Ok(a)
}

fn mlp(p: nn::Path) -> nn::Sequential {
    nn::seq()
        .add(nn::linear(&p / "fc0", OBS, HIDDEN, Default::default()))
        .add_fn(|x| x.relu())
        .add(nn::linear(&p / "fc1", HIDDEN, HIDDEN, Default::default()))
        .add_fn(|x| x.relu())
        .add(nn::linear(&p / "out", HIDDEN, ACTIONS, Default::default()))
}

/// One replay sample's worth of host data.
struct HostBatch {
    obs: Vec<f32>,
    next_obs: Vec<f32>,
    actions: Vec<i64>,
    rewards: Vec<f32>,
    dones: Vec<f32>,
}

impl HostBatch {
    fn random(n: usize, rng: &mut Pcg64) -> Self {
        let mut obs_like = || {
            (0..n * OBS as usize)
                .map(|_| rng.random_range(-2.0f32..2.0))
                .collect::<Vec<_>>()
        };
        let (obs, next_obs) = (obs_like(), obs_like());
        HostBatch {
            obs,
            next_obs,
            actions: (0..n).map(|_| rng.random_range(0..ACTIONS)).collect(),
            rewards: vec![1.0; n],
            dones: (0..n)
                .map(|_| if rng.random::<f64>() < 0.05 { 1.0 } else { 0.0 })
                .collect(),
        }
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let a = parse_args()?;
    tch::set_num_threads(a.threads);
    tch::manual_seed(a.seed as i64);
    let mut rng = Pcg64::seed_from_u64(a.seed);
    let n = a.batch as i64;

    let vs = nn::VarStore::new(Device::Cpu);
    let q_net = mlp(vs.root());
    let mut target_vs = nn::VarStore::new(Device::Cpu);
    let target_net = mlp(target_vs.root());
    target_vs.copy(&vs)?;
    let mut opt = nn::Adam::default().build(&vs, a.lr)?;

    let pool: Vec<HostBatch> = (0..POOL)
        .map(|_| HostBatch::random(a.batch, &mut rng))
        .collect();
    let act_obs: Vec<f32> = (0..OBS).map(|_| rng.random_range(-0.05f32..0.05)).collect();

    let (mut updates, mut action_sum) = (0u64, 0i64);
    let started = Instant::now();
    for step in 0..a.steps {
        // Acting: the env's observation in, the greedy action out.
        let action = tch::no_grad(|| -> Result<i64, tch::TchError> {
            let x = Tensor::f_from_slice(&act_obs)?.f_view([1, OBS])?;
            q_net.forward(&x).f_argmax(1, false)?.f_int64_value(&[0])
        })?;
        action_sum += action;
        if step < a.learning_starts {
            continue;
        }

        let b = &pool[(updates as usize) % POOL];
        let obs = Tensor::f_from_slice(&b.obs)?.f_view([n, OBS])?;
        let next_obs = Tensor::f_from_slice(&b.next_obs)?.f_view([n, OBS])?;
        let actions = Tensor::f_from_slice(&b.actions)?.f_unsqueeze(1)?;
        let rewards = Tensor::f_from_slice(&b.rewards)?;
        let dones = Tensor::f_from_slice(&b.dones)?;

        let y = tch::no_grad(|| -> Result<Tensor, tch::TchError> {
            let q_next = target_net.forward(&next_obs).f_amax(1, false)?;
            let not_done = dones.f_neg()?.f_add_scalar(1.0)?;
            rewards.f_add(&not_done.f_mul(&q_next)?.f_mul_scalar(a.gamma)?)
        })?;
        let q = q_net
            .forward(&obs)
            .f_gather(1, &actions, false)?
            .f_squeeze_dim(1)?;
        let loss = q.f_huber_loss(&y, Reduction::Mean, 1.0)?;
        opt.zero_grad();
        loss.f_backward()?;
        opt.clip_grad_norm(a.max_grad_norm);
        opt.step();
        updates += 1;
        if updates % a.target_every == 0 {
            target_vs.copy(&vs)?;
        }
    }
    let wall_s = started.elapsed().as_secs_f64();

    // Proof the work was done (and a guard against the optimiser diverging on random data).
    let check = tch::no_grad(|| -> Result<f64, tch::TchError> {
        let x = Tensor::f_from_slice(&pool[0].obs)?.f_view([n, OBS])?;
        q_net
            .forward(&x)
            .f_abs()?
            .f_mean(Kind::Float)?
            .f_double_value(&[])
    })?;
    if !check.is_finite() {
        return Err(format!("the Q-network diverged (mean |Q| = {check})").into());
    }
    println!(
        "{{\"impl\": \"bare_tch\", \"threads\": {}, \"env_steps\": {}, \"updates\": {updates}, \"wall_s\": {wall_s:.4}, \"sps\": {:.2}, \"mean_abs_q\": {check:.4}, \"greedy_action_sum\": {action_sum}}}",
        a.threads,
        a.steps,
        a.steps as f64 / wall_s
    );
    Ok(())
}
