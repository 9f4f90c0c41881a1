//! Saliency scores of a trained network: Σ over minibatches of |w · ∂L/∂w|, with L the run's
//! own TD loss on transitions from the checkpoint's replay buffer, the weights held fixed.

use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand_pcg::Pcg64;
use sparq_agent::{BatchRef, Learner, NetSpec};
use sparq_config::AgentConfig;
use sparq_replay::{Batch, ReplayBuffer};
use tch::Device;

/// Minibatches (of the run's `agent.batch_size`) the scores are summed over.
pub const SALIENCY_BATCHES: usize = 64;
const RNG_STREAM_SALIENCY: u64 = 0x5EED_5A11;

/// One score per parameter (same layout as `params`), on the CPU.
pub fn saliency(
    spec: &NetSpec,
    params: &[f32],
    target: &[f32],
    a: &AgentConfig,
    replay: &ReplayBuffer,
    seed: u64,
) -> Result<Vec<f32>> {
    if !replay.can_sample(a.batch_size) {
        bail!(
            "saliency: the checkpoint's replay buffer holds no complete transition to score with"
        );
    }
    // Its weights are set from `params` below: any seed will do.
    let mut learner = Learner::new(spec.clone(), a, Device::Cpu, true, 0)?;
    let (ones, zeros) = (vec![1.0f32; params.len()], vec![0.0f32; params.len()]);
    let state = [
        ("params", params),
        ("target", target),
        ("mask", &ones),
        ("optim.first", &zeros),
        ("optim.second", &zeros),
    ]
    .map(|(name, v)| (name.to_string(), v.to_vec()));
    learner.restore_host(&state, 0, 0)?;
    learner.reset_saliency()?;
    let mut rng = Pcg64::seed_from_u64(seed ^ RNG_STREAM_SALIENCY);
    let mut b = Batch::new(a.batch_size, spec.obs.len());
    for _ in 0..SALIENCY_BATCHES {
        replay.sample(a.batch_size, 1.0, &mut rng, &mut b)?;
        learner.accumulate_saliency(&BatchRef::of(&b, a.prioritized))?;
    }
    learner.saliency_host()?.context("saliency was not tracked")
}
