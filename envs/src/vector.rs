//! `VecEnv`: N copies of one environment stepped together, with Gymnasium's same-step auto-reset.

use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Env, EnvError, ObsSpace, make};

/// Below this much estimated work per vector step (num_envs × one env step) `Parallelism::Auto`
/// stays sequential: an empty rayon fork/join alone cost ~17 µs on the shared 2-core dev VM
/// (envs/tests/bench_classic.rs, docs/envs-classic.md).
const PARALLEL_MIN_WORK_NS: f64 = 100_000.0;
/// Each rayon task gets at least this much work, so cheap envs are stepped in batches.
const TASK_MIN_WORK_NS: f64 = 20_000.0;
/// Steps timed per calibration round (`Parallelism::Auto`); the fastest of three rounds counts.
const CALIBRATION_STEPS: usize = 128;
/// Above the threshold, `Auto` times this many steps alternating sequential/parallel...
const PROBE_STEPS: u32 = 16;
/// ...and repeats the probe after this many steps, since machine load changes.
const REPROBE_EVERY: u32 = 10_000;

/// How `VecEnv::step` spreads the environments over threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Parallelism {
    /// Sequential below `PARALLEL_MIN_WORK_NS` of work per step (num_envs × the step cost
    /// measured at construction); above it, whichever way measured faster in periodic probes.
    #[default]
    Auto,
    Sequential,
    /// Always on rayon's pool (still sequential with a single thread).
    Parallel,
}

/// A finished episode's undiscounted return and length in steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpisodeStats {
    pub episode_return: f64,
    pub length: u32,
}

/// The outcome of one `VecEnv::step`, one entry per environment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VecStep {
    pub rewards: Vec<f32>,
    /// Terminal state: do not bootstrap.
    pub terminated: Vec<bool>,
    /// Cut by the time limit: bootstrap from `final_obs`.
    pub truncated: Vec<bool>,
    /// `num_envs × obs_len`, row-major; row `i` is the last observation of the episode that env `i`
    /// just finished, valid only where `done(i)` (other rows hold stale data).
    pub final_obs: Vec<f32>,
    /// `Some` where an episode ended on this step.
    pub episodes: Vec<Option<EpisodeStats>>,
    obs_len: usize,
}

impl VecStep {
    fn new(num_envs: usize, obs_len: usize) -> Self {
        VecStep {
            rewards: vec![0.0; num_envs],
            terminated: vec![false; num_envs],
            truncated: vec![false; num_envs],
            final_obs: vec![0.0; num_envs * obs_len],
            episodes: vec![None; num_envs],
            obs_len,
        }
    }

    pub fn num_envs(&self) -> usize {
        self.rewards.len()
    }

    /// Env `i`'s episode ended on this step (terminated or truncated) and it was reset.
    pub fn done(&self, i: usize) -> bool {
        self.terminated[i] || self.truncated[i]
    }

    /// The true last observation of env `i`'s finished episode, or `None` if it did not finish.
    pub fn final_obs(&self, i: usize) -> Option<&[f32]> {
        self.done(i)
            .then(|| &self.final_obs[i * self.obs_len..(i + 1) * self.obs_len])
    }

    /// `(env index, stats)` of every episode that ended on this step.
    pub fn finished(&self) -> impl Iterator<Item = (usize, EpisodeStats)> + '_ {
        self.episodes
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.map(|e| (i, e)))
    }
}

/// One environment and its running episode counters.
struct Slot {
    env: Box<dyn Env>,
    episode_return: f64,
    episode_length: u32,
}

/// N copies of one registered environment. `obs()` always holds the observation to act on: after a
/// step that ended env `i`'s episode, row `i` is already the first observation of its next one.
pub struct VecEnv {
    id: String,
    slots: Vec<Slot>,
    obs_space: ObsSpace,
    num_actions: usize,
    obs_len: usize,
    obs: Vec<f32>,
    last: VecStep,
    started: bool,
    parallelism: Parallelism,
    /// Measured cost of one step of one environment, for `Parallelism::Auto`.
    step_cost_ns: f64,
    tuner: Tuner,
}

impl std::fmt::Debug for VecEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VecEnv")
            .field("id", &self.id)
            .field("num_envs", &self.slots.len())
            .field("parallelism", &self.parallelism)
            .field("step_cost_ns", &self.step_cost_ns)
            .finish_non_exhaustive()
    }
}

impl VecEnv {
    /// `num_envs` copies of the environment registered as `id`. Call `reset` before `step`.
    pub fn new(id: &str, num_envs: usize) -> Result<Self, EnvError> {
        if num_envs == 0 {
            return Err(EnvError::NumEnvs {
                env: id.to_string(),
                got: num_envs,
            });
        }
        let first = make(id)?;
        let obs_space = first.obs_space();
        let num_actions = first.num_actions();
        let obs_len = obs_space.len();
        // Timed on the first copy, not an extra one (an extra Python worker for the Gymnasium
        // bridge); `reset` reseeds it before any step counts.
        let mut first = first;
        let step_cost_ns = calibrate(first.as_mut());
        let mut slots = Vec::with_capacity(num_envs);
        slots.push(Slot::new(first));
        for _ in 1..num_envs {
            slots.push(Slot::new(make(id)?));
        }
        Ok(VecEnv {
            id: id.to_string(),
            slots,
            obs_space,
            num_actions,
            obs_len,
            obs: vec![0.0; num_envs * obs_len],
            last: VecStep::new(num_envs, obs_len),
            started: false,
            parallelism: Parallelism::Auto,
            step_cost_ns,
            tuner: Tuner::new(),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn num_envs(&self) -> usize {
        self.slots.len()
    }

    pub fn obs_space(&self) -> ObsSpace {
        self.obs_space.clone()
    }

    pub fn num_actions(&self) -> usize {
        self.num_actions
    }

    /// Values in one environment's observation.
    pub fn obs_len(&self) -> usize {
        self.obs_len
    }

    /// Current observations, `num_envs × obs_len`, row-major by environment.
    pub fn obs(&self) -> &[f32] {
        &self.obs
    }

    /// The result of the latest `step`.
    pub fn last_step(&self) -> &VecStep {
        &self.last
    }

    pub fn parallelism(&self) -> Parallelism {
        self.parallelism
    }

    pub fn set_parallelism(&mut self, parallelism: Parallelism) {
        self.parallelism = parallelism;
    }

    /// Whether the next `step` runs on rayon's pool.
    pub fn is_parallel(&self) -> bool {
        match self.parallelism {
            Parallelism::Sequential => false,
            Parallelism::Parallel => self.can_parallel(),
            Parallelism::Auto => self.auto_tunes() && self.tuner.choice(),
        }
    }

    /// Measured nanoseconds per step of one environment (the `Auto` cost estimate).
    pub fn step_cost_ns(&self) -> f64 {
        self.step_cost_ns
    }

    fn can_parallel(&self) -> bool {
        self.num_envs() > 1 && self.obs_len > 0 && rayon::current_num_threads() > 1
    }

    /// `Auto` with enough work per step that parallel stepping might pay: timed probes decide.
    fn auto_tunes(&self) -> bool {
        self.parallelism == Parallelism::Auto
            && self.can_parallel()
            && self.num_envs() as f64 * self.step_cost_ns >= PARALLEL_MIN_WORK_NS
    }

    /// Resets every environment, env `i` with seed `seed + i` (Gymnasium's vector convention), and
    /// zeroes the episode counters.
    pub fn reset(&mut self, seed: u64) {
        let obs_len = self.obs_len;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let row = &mut self.obs[i * obs_len..(i + 1) * obs_len];
            slot.env.reset(Some(seed.wrapping_add(i as u64)), row);
            slot.episode_return = 0.0;
            slot.episode_length = 0;
        }
        let last = &mut self.last;
        last.rewards.fill(0.0);
        last.terminated.fill(false);
        last.truncated.fill(false);
        last.episodes.fill(None);
        self.started = true;
    }

    /// Steps env `i` with `actions[i]`; envs whose episode ended are reset at once (continuing
    /// their generators), so `obs()` holds their next episode's first observation while the
    /// returned `VecStep` keeps the final one.
    pub fn step(&mut self, actions: &[usize]) -> Result<&VecStep, EnvError> {
        if !self.started {
            return Err(EnvError::NotReset {
                env: self.id.clone(),
            });
        }
        if actions.len() != self.num_envs() {
            return Err(EnvError::ActionCount {
                env: self.id.clone(),
                expected: self.num_envs(),
                got: actions.len(),
            });
        }
        for &action in actions {
            EnvError::check_action(&self.id, action, self.num_actions)?;
        }

        let parallel = self.is_parallel();
        let timer = self.auto_tunes().then(Instant::now);
        let obs_len = self.obs_len;
        let last = &mut self.last;
        if parallel {
            let min_len = (TASK_MIN_WORK_NS / self.step_cost_ns.max(1.0)).ceil() as usize;
            (
                self.slots.par_iter_mut(),
                actions.par_iter(),
                self.obs.par_chunks_mut(obs_len),
                last.final_obs.par_chunks_mut(obs_len),
                last.rewards.par_iter_mut(),
                last.terminated.par_iter_mut(),
                last.truncated.par_iter_mut(),
                last.episodes.par_iter_mut(),
            )
                .into_par_iter()
                .with_min_len(min_len.max(1))
                .try_for_each(|(slot, &action, obs, fin, r, te, tr, ep)| {
                    slot.env.step_async(action)?;
                    slot.finish_step(action, obs, fin, r, te, tr, ep)
                })?;
        } else {
            // All actions out first, then all results in: environments in other processes
            // (the Gymnasium bridge) step at the same time.
            for (slot, &action) in self.slots.iter_mut().zip(actions) {
                slot.env.step_async(action)?;
            }
            for (i, slot) in self.slots.iter_mut().enumerate() {
                let rows = i * obs_len..(i + 1) * obs_len;
                slot.finish_step(
                    actions[i],
                    &mut self.obs[rows.clone()],
                    &mut last.final_obs[rows],
                    &mut last.rewards[i],
                    &mut last.terminated[i],
                    &mut last.truncated[i],
                    &mut last.episodes[i],
                )?;
            }
        }
        if let Some(start) = timer {
            self.tuner.record(parallel, start.elapsed().as_nanos());
        }
        Ok(&self.last)
    }

    /// Whether every environment implements snapshots (so [`VecEnv::snapshot`] works).
    pub fn can_snapshot(&self) -> bool {
        self.slots.iter().all(|s| s.env.can_snapshot())
    }

    /// Serialises every environment (generators included), the current observations and the
    /// running episode counters.
    pub fn snapshot(&self) -> Result<Vec<u8>, EnvError> {
        let envs = self
            .slots
            .iter()
            .map(|slot| {
                Ok(SlotSnapshot {
                    env: slot.env.snapshot()?,
                    episode_return: slot.episode_return.to_bits(),
                    episode_length: slot.episode_length,
                })
            })
            .collect::<Result<Vec<_>, EnvError>>()?;
        let snap = VecSnapshot {
            id: self.id.clone(),
            started: self.started,
            obs: self.obs.clone(),
            envs,
        };
        serde_json::to_vec(&snap).map_err(|e| EnvError::snapshot(&self.id, e))
    }

    /// Restores a `snapshot` taken from a `VecEnv` with the same id and number of environments.
    pub fn restore(&mut self, snapshot: &[u8]) -> Result<(), EnvError> {
        let snap: VecSnapshot =
            serde_json::from_slice(snapshot).map_err(|e| EnvError::snapshot(&self.id, e))?;
        if snap.id != self.id {
            return Err(EnvError::snapshot(
                &self.id,
                format!("snapshot was taken from '{}'", snap.id),
            ));
        }
        if snap.envs.len() != self.num_envs() || snap.obs.len() != self.obs.len() {
            return Err(EnvError::snapshot(
                &self.id,
                format!(
                    "snapshot holds {} environments, this VecEnv has {}",
                    snap.envs.len(),
                    self.num_envs()
                ),
            ));
        }
        // Restore into fresh copies first, so a failure leaves `self` untouched.
        let mut slots = Vec::with_capacity(snap.envs.len());
        for saved in &snap.envs {
            let mut env = make(&self.id)?;
            env.restore(&saved.env)?;
            slots.push(Slot {
                env,
                episode_return: f64::from_bits(saved.episode_return),
                episode_length: saved.episode_length,
            });
        }
        self.slots = slots;
        self.obs = snap.obs;
        self.started = snap.started;
        self.last = VecStep::new(self.num_envs(), self.obs_len);
        Ok(())
    }
}

impl Slot {
    fn new(env: Box<dyn Env>) -> Self {
        Slot {
            env,
            episode_return: 0.0,
            episode_length: 0,
        }
    }

    /// Collects the step `step_async` started, and resets the environment if its episode ended.
    #[allow(clippy::too_many_arguments)]
    fn finish_step(
        &mut self,
        action: usize,
        obs: &mut [f32],
        final_obs: &mut [f32],
        reward: &mut f32,
        terminated: &mut bool,
        truncated: &mut bool,
        episode: &mut Option<EpisodeStats>,
    ) -> Result<(), EnvError> {
        let step = self.env.step_wait(action, obs)?;
        self.episode_return += f64::from(step.reward);
        self.episode_length = self.episode_length.saturating_add(1);
        *reward = step.reward;
        *terminated = step.terminated;
        *truncated = step.truncated;
        *episode = None;
        if step.done() {
            final_obs.copy_from_slice(obs);
            *episode = Some(EpisodeStats {
                episode_return: self.episode_return,
                length: self.episode_length,
            });
            self.episode_return = 0.0;
            self.episode_length = 0;
            self.env.reset(None, obs);
        }
        Ok(())
    }
}

/// Picks sequential or parallel stepping for `Parallelism::Auto` by timing both now and then;
/// the choice only affects speed, never results.
#[derive(Debug, Clone)]
struct Tuner {
    /// The faster way at the last probe.
    parallel: bool,
    /// Steps left in the running probe (even: parallel, odd: sequential); 0 when not probing.
    probe_left: u32,
    best_seq_ns: u128,
    best_par_ns: u128,
    until_probe: u32,
}

impl Tuner {
    fn new() -> Self {
        Tuner {
            parallel: false,
            probe_left: PROBE_STEPS,
            best_seq_ns: u128::MAX,
            best_par_ns: u128::MAX,
            until_probe: 0,
        }
    }

    fn choice(&self) -> bool {
        if self.probe_left > 0 {
            self.probe_left % 2 == 0
        } else {
            self.parallel
        }
    }

    fn record(&mut self, parallel: bool, ns: u128) {
        if self.probe_left == 0 {
            self.until_probe = self.until_probe.saturating_sub(1);
            if self.until_probe == 0 {
                self.probe_left = PROBE_STEPS;
            }
            return;
        }
        // The fastest step of each kind: robust to the odd preempted step.
        let best = if parallel {
            &mut self.best_par_ns
        } else {
            &mut self.best_seq_ns
        };
        *best = (*best).min(ns);
        self.probe_left -= 1;
        if self.probe_left == 0 {
            self.parallel = self.best_par_ns < self.best_seq_ns;
            self.best_seq_ns = u128::MAX;
            self.best_par_ns = u128::MAX;
            self.until_probe = REPROBE_EVERY;
        }
    }
}

/// Nanoseconds per step of `env` on this machine (fastest of three rounds).
fn calibrate(env: &mut dyn Env) -> f64 {
    let mut obs = vec![0.0; env.obs_space().len()];
    let n = env.num_actions();
    if n == 0 {
        return 0.0;
    }
    env.reset(Some(0), &mut obs);
    let mut best = f64::INFINITY;
    for round in 0..3 {
        let start = Instant::now();
        for k in 0..CALIBRATION_STEPS {
            if env.step((k + round) % n, &mut obs).done() {
                env.reset(None, &mut obs);
            }
        }
        best = best.min(start.elapsed().as_nanos() as f64 / CALIBRATION_STEPS as f64);
    }
    best
}

#[derive(Serialize, Deserialize)]
struct SlotSnapshot {
    env: Vec<u8>,
    /// `f64::to_bits`, so the restore is exact.
    episode_return: u64,
    episode_length: u32,
}

#[derive(Serialize, Deserialize)]
struct VecSnapshot {
    id: String,
    started: bool,
    #[serde(with = "crate::serde_exact::f32_vec")]
    obs: Vec<f32>,
    envs: Vec<SlotSnapshot>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuner_keeps_the_faster_way_and_probes_again() {
        let mut t = Tuner::new();
        // Probe: even steps parallel (fast), odd steps sequential (slow).
        for _ in 0..PROBE_STEPS {
            let parallel = t.choice();
            t.record(parallel, if parallel { 10 } else { 30 });
        }
        assert!(t.choice());
        for _ in 0..REPROBE_EVERY {
            assert!(t.choice());
            t.record(true, 10);
        }
        // Load changed: now sequential wins the probe.
        for _ in 0..PROBE_STEPS {
            let parallel = t.choice();
            t.record(parallel, if parallel { 50 } else { 30 });
        }
        assert!(!t.choice());
    }
}
