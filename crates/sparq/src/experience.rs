//! The two steps every DQN loop repeats, shared by training and fine-tuning: act ε-greedily and
//! store what happened; learn from a sampled minibatch, pruning where the schedule says so.

use anyhow::{Context, Result};
use rand::RngExt;
use rand_pcg::Pcg64;
use sparq_agent::{BatchRef, HostPolicy, Learner, Scratch};
use sparq_config::AgentConfig;
use sparq_envs::{ObsSpace, VecEnv, VecStep};
use sparq_prune::{Criterion, MaskChanges, Pruner, Scores};
use sparq_replay::{Batch, ObsEncoding, PerParams, ReplayBuffer, ReplayConfig};

/// The replay buffer an `[agent]` section asks for, for these environments.
pub fn replay_config(a: &AgentConfig, envs: &VecEnv) -> ReplayConfig {
    ReplayConfig {
        capacity: a.buffer_size,
        num_envs: envs.num_envs(),
        obs_len: envs.obs_len(),
        encoding: match envs.obs_space() {
            ObsSpace::Binary { .. } => ObsEncoding::Bits,
            ObsSpace::Vector { .. } | ObsSpace::Image { .. } => ObsEncoding::F32,
        },
        n_step: a.n_step,
        gamma: a.gamma as f32,
        prioritized: a.prioritized.then_some(PerParams {
            alpha: a.per_alpha,
            beta0: a.per_beta0,
            eps: a.per_eps,
        }),
    }
}

/// Buffers for acting in and recording from a vector of environments, allocated once.
pub struct Collector {
    obs: Vec<f32>,
    next_obs: Vec<f32>,
    actions: Vec<usize>,
    scratch: Scratch,
    q: Vec<f32>,
}

impl Collector {
    /// Buffers sized for `envs`.
    pub fn new(envs: &VecEnv) -> Self {
        let len = envs.num_envs() * envs.obs_len();
        Collector {
            obs: vec![0.0; len],
            next_obs: vec![0.0; len],
            actions: vec![0; envs.num_envs()],
            scratch: Scratch::default(),
            q: Vec::new(),
        }
    }

    /// One vector step: ε-greedy actions from `policy`, step every environment, store the
    /// transitions (with the true final observation where an episode ended). Returns the step.
    pub fn step<'e>(
        &mut self,
        envs: &'e mut VecEnv,
        policy: &HostPolicy,
        eps: f64,
        rng: &mut Pcg64,
        replay: &mut ReplayBuffer,
    ) -> Result<&'e VecStep> {
        let obs_len = envs.obs_len();
        self.obs.copy_from_slice(envs.obs());
        for (i, a) in self.actions.iter_mut().enumerate() {
            *a = if rng.random::<f64>() < eps {
                rng.random_range(0..envs.num_actions())
            } else {
                policy.greedy(
                    &self.obs[i * obs_len..(i + 1) * obs_len],
                    &mut self.scratch,
                    &mut self.q,
                )
            };
        }
        envs.step(&self.actions)?;
        let (step, obs) = (envs.last_step(), envs.obs());
        for i in 0..envs.num_envs() {
            let row = step
                .final_obs(i)
                .unwrap_or(&obs[i * obs_len..(i + 1) * obs_len]);
            self.next_obs[i * obs_len..(i + 1) * obs_len].copy_from_slice(row);
        }
        replay.add(
            &self.obs,
            &self.actions,
            &step.rewards,
            &step.terminated,
            &step.truncated,
            &self.next_obs,
        )?;
        Ok(step)
    }
}

/// One gradient step on a minibatch sampled at importance exponent `beta`; under prioritized
/// replay the new |TD errors| become the sampled transitions' priorities.
pub fn update(
    learner: &mut Learner,
    replay: &mut ReplayBuffer,
    a: &AgentConfig,
    beta: f64,
    rng: &mut Pcg64,
    batch: &mut Batch,
) -> Result<()> {
    replay.sample(a.batch_size, beta, rng, batch)?;
    if let Some(td) = learner.update(&BatchRef::of(batch, a.prioritized), a.prioritized)? {
        replay.update_priorities(&batch.indices, &td)?;
    }
    Ok(())
}

/// One learning step, in this order: sample → backward → mask the gradients → clip → optimizer
/// step → re-mask the weights → target sync when due (all in [`Learner::update`]) → new masks when
/// the pruning schedule is due (the target picks them up at its next sync). Returns what the
/// masks' update changed, if one was due.
pub fn learn(
    learner: &mut Learner,
    pruner: Option<&mut Pruner>,
    replay: &mut ReplayBuffer,
    a: &AgentConfig,
    beta: f64,
    rng: &mut Pcg64,
    batch: &mut Batch,
) -> Result<Option<MaskChanges>> {
    // RigL grows by the dense gradient of its update step's batch, and only then is it copied.
    let grow_next = pruner
        .as_ref()
        .is_some_and(|p| p.needs_gradients() && p.is_update_step(learner.grad_steps + 1));
    learner.keep_dense_grad(grow_next);
    update(learner, replay, a, beta, rng, batch)?;
    match pruner {
        Some(p) => prune_if_due(learner, p),
        None => Ok(None),
    }
}

/// Before the first update: the masks drawn at initialisation (static, SET, RigL) go into the
/// network, and a schedule due at step 0 runs.
pub fn start_pruning(learner: &mut Learner, pruner: &mut Pruner) -> Result<()> {
    if pruner.report().pruned > 0 {
        learner.set_mask(&sparq_agent::flat_mask(learner.layout(), pruner))?;
    }
    prune_if_due(learner, pruner)?;
    Ok(())
}

/// At the schedule's update steps: scores out, new masks in. Returns what changed.
pub fn prune_if_due(learner: &mut Learner, pruner: &mut Pruner) -> Result<Option<MaskChanges>> {
    let step = learner.grad_steps;
    if !pruner.is_update_step(step) {
        return Ok(None);
    }
    let criterion = pruner.config().criterion();
    let flat = match criterion {
        Criterion::Saliency => learner
            .saliency_host()?
            .context("saliency was not tracked")?,
        _ => learner.ranking_weights_host()?,
    };
    let grad = match pruner.needs_gradients() {
        true => Some(
            learner
                .take_dense_grad_host()?
                .context("the dense gradient of the update step was not kept")?,
        ),
        false => None,
    };
    let layout = learner.layout();
    let rank = sparq_agent::layer_scores(layout, criterion, &flat);
    let grow = grad
        .as_deref()
        .map(|g| sparq_agent::weight_slices(layout, g))
        .unwrap_or_default();
    let rank: Vec<&[f32]> = rank.iter().map(Vec::as_slice).collect();
    let change = pruner.update(
        step,
        &Scores {
            rank: &rank,
            grow: &grow,
        },
    )?;
    if change.is_some() {
        learner.set_mask(&sparq_agent::flat_mask(learner.layout(), pruner))?;
    }
    Ok(change)
}
