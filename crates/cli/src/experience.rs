//! The two steps every DQN loop repeats, shared by training and fine-tuning: act ε-greedily and
//! store what happened; sample a minibatch and update.

use anyhow::Result;
use rand::RngExt;
use rand_pcg::Pcg64;
use sparq_agent::{BatchRef, HostPolicy, Learner, Scratch};
use sparq_config::AgentConfig;
use sparq_envs::{ObsSpace, VecEnv, VecStep};
use sparq_replay::{Batch, ObsEncoding, PerParams, ReplayBuffer, ReplayConfig};

/// The replay buffer an `[agent]` section asks for, for these environments.
pub fn replay_config(a: &AgentConfig, envs: &VecEnv) -> ReplayConfig {
    ReplayConfig {
        capacity: a.buffer_size,
        num_envs: envs.num_envs(),
        obs_len: envs.obs_len(),
        encoding: match envs.obs_space() {
            ObsSpace::Binary { .. } => ObsEncoding::Bits,
            ObsSpace::Vector { .. } => ObsEncoding::F32,
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
