//! Greedy evaluation of a policy, in parallel over episodes, and [`Policy`]: a trained policy
//! loaded from a run or checkpoint.

use std::path::Path;

use anyhow::Result;
use rayon::prelude::*;
use sparq_config::Config;
use sparq_policy::{HostPolicy, Scratch};
use sparq_prune::SparsityReport;
use sparq_runstate::CheckpointMeta;

/// Safety cap for environments without a time limit (a greedy policy can stall forever).
const MAX_EVAL_STEPS: u32 = 108_000;

/// Returns of `episodes` greedy episodes on `env_id` environments; episode `k` runs in a fresh
/// environment seeded with `seed + k`, so results do not depend on the number of threads.
pub fn evaluate(policy: &HostPolicy, env_id: &str, episodes: u32, seed: u64) -> Result<Vec<f64>> {
    evaluate_greedy(policy, env_id, episodes, seed)
}

/// Anything that acts greedily on an observation: one network ([`HostPolicy`]) or several acting
/// as one ([`crate::Ensemble`]). Its buffers live in `Scratch`, one per evaluation thread.
pub trait Greedy: Sync {
    /// Per-thread buffers.
    type Scratch: Default;
    /// The action for `obs`.
    fn act_greedy(&self, obs: &[f32], scratch: &mut Self::Scratch) -> usize;
}

impl Greedy for HostPolicy {
    type Scratch = (Scratch, Vec<f32>);
    fn act_greedy(&self, obs: &[f32], (s, q): &mut Self::Scratch) -> usize {
        self.greedy(obs, s, q)
    }
}

/// [`evaluate`] for any [`Greedy`] actor: same seeds, same episodes, same cap.
pub fn evaluate_greedy<G: Greedy>(
    actor: &G,
    env_id: &str,
    episodes: u32,
    seed: u64,
) -> Result<Vec<f64>> {
    // A fresh environment per episode, so that an episode is a function of its seed alone: an
    // environment may keep state across resets (MinAtar keeps the last action its sticky actions
    // repeat, as minatar does), and rayon hands episodes to threads in no fixed order. A
    // Gymnasium environment is a process, so it is kept per thread and trusted to reset fully.
    let fresh = !env_id.starts_with(sparq_envs::gymnasium::PREFIX);
    (0..episodes)
        .into_par_iter()
        .map_init(
            || (None, G::Scratch::default()),
            |(kept, scratch), k| {
                let make = || sparq_envs::make(env_id).map_err(|e| anyhow::anyhow!("{e}"));
                let mut own = None;
                let env = if fresh {
                    own.insert(make()?)
                } else {
                    if kept.is_none() {
                        *kept = Some(make()?);
                    }
                    kept.as_mut().expect("made above")
                };
                let mut obs = vec![0f32; env.obs_space().len()];
                env.reset(Some(seed.wrapping_add(k as u64)), &mut obs);
                let limit = env.max_episode_steps().unwrap_or(MAX_EVAL_STEPS);
                let mut ret = 0.0f64;
                for _ in 0..limit {
                    let a = actor.act_greedy(&obs, scratch);
                    env.step_async(a)?;
                    let step = env.step_wait(a, &mut obs)?;
                    ret += step.reward as f64;
                    if step.done() {
                        break;
                    }
                }
                Ok(ret)
            },
        )
        .collect()
}

/// Sparsity of a policy's weights as measured from exact zeros; `global` covers the layers the
/// run's `[prune]` section makes prunable (all weight layers for dense runs).
pub fn sparsity_of(policy: &HostPolicy, config: &Config) -> SparsityReport {
    let layout = policy.spec().layout();
    let p = &config.prune;
    let prunable = sparq_prune::select_layers(
        &sparq_agent::layer_infos(&layout),
        &p.include,
        &p.exclude,
        p.granularity,
    )
    .ok();
    let prunable = prunable.filter(|_| p.schedule != sparq_prune::ScheduleKind::None);
    layout.weight_sparsity(policy.params(), prunable.as_deref())
}

/// A trained greedy policy with the record of the run that made it.
///
/// ```no_run
/// let policy = sparq::Policy::load(std::path::Path::new("runs/my-run"))?;
/// let action = policy.act(&[0.0, 0.1, -0.02, 0.3])?;
/// # Ok::<(), anyhow::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Policy {
    net: HostPolicy,
    meta: CheckpointMeta,
    config: Config,
}

impl Policy {
    /// Loads and verifies a run directory's latest checkpoint, or any checkpoint directory.
    pub fn load(path: &Path) -> Result<Policy> {
        let (cp, config) = sparq_runstate::load(path)?;
        let net = sparq_runstate::policy_of(&cp)?;
        crate::trainer::use_python(&config);
        Ok(Policy {
            net,
            meta: cp.meta,
            config,
        })
    }

    /// The greedy action for one observation (ties go to the lowest index, as `torch.argmax`).
    pub fn act(&self, obs: &[f32]) -> Result<usize> {
        let mut q = Vec::new();
        self.q_values_into(obs, &mut Scratch::default(), &mut q)?;
        Ok(sparq_policy::argmax(&q))
    }

    /// Q-values of one observation, into `q`, with caller-owned buffers (no allocation once warm).
    pub fn q_values_into(
        &self,
        obs: &[f32],
        scratch: &mut Scratch,
        q: &mut Vec<f32>,
    ) -> Result<()> {
        let want = self.net.spec().obs.len();
        anyhow::ensure!(
            obs.len() == want,
            "observation has {} values, the policy takes {want}",
            obs.len()
        );
        self.net.q_values(obs, scratch, q);
        Ok(())
    }

    /// Greedy returns of `episodes` episodes on the run's environment (episode k: seed + k).
    pub fn evaluate(&self, episodes: u32, seed: u64) -> Result<Vec<f64>> {
        evaluate(&self.net, &self.meta.env_id, episodes, seed)
    }

    /// Weight sparsity per layer and over the prunable layers.
    pub fn sparsity(&self) -> SparsityReport {
        sparsity_of(&self.net, &self.config)
    }

    /// The network itself, for batched or allocation-free use ([`HostPolicy::q_values`]).
    pub fn network(&self) -> &HostPolicy {
        &self.net
    }
    /// The checkpoint's record: env id, steps, pruner state, evaluations.
    pub fn meta(&self) -> &CheckpointMeta {
        &self.meta
    }
    /// The config of the run that trained it.
    pub fn config(&self) -> &Config {
        &self.config
    }
}
