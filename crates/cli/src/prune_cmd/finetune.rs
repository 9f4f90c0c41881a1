//! Fine-tuning a pruned policy with its masks held: fresh experience from the pruned policy
//! (ε-greedy at the run's final ε) in a fresh replay buffer, through the same acting and update
//! steps as training (`crate::experience`).

use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand_pcg::Pcg64;
use sparq_agent::{HostPolicy, Learner};
use sparq_config::{AgentConfig, CheckedConfig};
use sparq_envs::VecEnv;
use sparq_replay::{Batch, ReplayBuffer};

use sparq::experience::{self, Collector};
use sparq_runstate::RunCheckpoint;

/// Keeps the fine-tuning generator apart from the pruner's and the evaluation's.
const RNG_STREAM_FINETUNE: u64 = 0x5EED_0F17;

/// What fine-tuning did, for the checkpoint's metadata.
pub struct Outcome {
    pub env_steps: u64,
    pub episodes: u64,
    /// The environments' state at the end (the checkpoint's `envs.json` blob).
    pub envs_snapshot: Vec<u8>,
    pub rng: Pcg64,
}

/// The checkpoint's learner (weights, target, optimizer moments, step counts) with `mask` held:
/// where pruning after training starts, fine-tuned or not.
pub fn masked_learner(
    cp: &RunCheckpoint,
    agent: &AgentConfig,
    device: tch::Device,
    mask: &[f32],
) -> Result<Learner> {
    let meta = &cp.meta;
    // The checkpoint's weights replace the initial ones: any seed will do.
    let mut learner = Learner::new(meta.net.clone(), agent, device, false, 0)?;
    learner.restore_host(&cp.tensors, meta.grad_steps, meta.optimizer_step)?;
    learner.set_mask(mask)?;
    Ok(learner)
}

/// Makes `steps` gradient steps on `learner` (whose mask is already set) on the run's training
/// clock: `learning_starts` env steps to fill the buffer, then `gradient_steps` updates every
/// `train_freq` env steps, stopping exactly at `steps` updates. The learning rate is `agent.lr`
/// (a linear schedule would have decayed to 0 by the end of the run) and importance sampling
/// uses β = 1, the end of training's value.
pub fn finetune(
    learner: &mut Learner,
    cfg: &CheckedConfig,
    steps: u64,
    seed: u64,
) -> Result<Outcome> {
    let c = cfg.config();
    let a = &c.agent;
    let mut envs = VecEnv::new(&c.env.id, c.env.num_envs).context("env.id")?;
    let mut replay = ReplayBuffer::new(experience::replay_config(a, &envs))?;
    let mut policy = HostPolicy::new(learner.spec().clone(), learner.params_host()?)?;
    let mut rng = Pcg64::seed_from_u64(seed ^ RNG_STREAM_FINETUNE);
    let mut batch = Batch::new(a.batch_size, envs.obs_len());
    let mut collector = Collector::new(&envs);
    learner.set_lr(a.lr);
    envs.reset(seed);

    let (mut env_steps, mut episodes, mut done) = (0u64, 0u64, 0u64);
    while done < steps {
        let step = collector.step(
            &mut envs,
            &policy,
            a.exploration_final_eps,
            &mut rng,
            &mut replay,
        )?;
        episodes += step.finished().count() as u64;
        let t0 = env_steps;
        env_steps += envs.num_envs() as u64;

        let due = (cfg.train_rounds(t0, env_steps) * u64::from(a.gradient_steps)).min(steps - done);
        if due > 0 && !replay.can_sample(a.batch_size) {
            bail!(
                "fine-tuning: no complete transition after agent.learning_starts = {} env steps",
                a.learning_starts
            );
        }
        for _ in 0..due {
            experience::update(learner, &mut replay, a, 1.0, &mut rng, &mut batch)?;
        }
        if due > 0 {
            done += due;
            learner.copy_params_into(policy.params_mut())?;
        }
    }
    if !learner.params_finite()? {
        bail!("fine-tuning diverged: the weights are not finite after {steps} gradient steps");
    }
    Ok(Outcome {
        env_steps,
        episodes,
        envs_snapshot: envs.snapshot()?,
        rng,
    })
}
