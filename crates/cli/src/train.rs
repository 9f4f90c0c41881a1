//! `sparq train`: the training loop, in one place.
//!
//! Per vector step: act ε-greedily → step all envs → store transitions → for each training round
//! due (see `CheckedConfig::train_rounds`): sample → update → prune when the schedule says so →
//! refresh the acting policy → log, evaluate and checkpoint on their intervals.
//! Everything that can be refused (config, env id, device, pruning layers) is checked before the
//! run directory is created, so a bad input never leaves a run behind.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand_pcg::Pcg64;
use sparq_agent::{HostPolicy, Learner, NetSpec};
use sparq_config::{CheckedConfig, Config};
use sparq_envs::VecEnv;
use sparq_log::{EvalPoint, EventWriter, Progress, ProgressStats, RunDir, Summary};
use sparq_prune::Pruner;
use sparq_replay::{Batch, ReplayBuffer};

use crate::eval;
use crate::experience::{self, Collector};
use crate::run_state::{CheckpointMeta, ENVS_BLOB, FORMAT, REPLAY_BLOB, VERSION};

#[derive(clap::Args)]
pub struct TrainArgs {
    /// The experiment's TOML config.
    #[arg(required_unless_present = "resume")]
    config: Option<PathBuf>,
    /// Override a config value: `section.key=value`, the value parsed as TOML (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Run directory (default: runs/<config name>-s<seed>-<UTC time>).
    #[arg(long, conflicts_with = "resume")]
    run_dir: Option<PathBuf>,
    /// Shorthand for `--set run.seed=N`.
    #[arg(long, conflicts_with = "resume")]
    seed: Option<u64>,
    /// Continue an interrupted run from its latest checkpoint, exactly where it was.
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "config")]
    resume: Option<PathBuf>,
}

/// Distinct generator streams from one seed.
const RNG_STREAM_TRAINER: u64 = 0x5EED_0001;
const RNG_STREAM_PRUNER: u64 = 0x5EED_0002;
/// Evaluation episodes use seeds far from the training envs' (seed + i).
const EVAL_SEED_OFFSET: u64 = 1_000_000_007;
/// Checkpoints kept per run.
const KEEP_CHECKPOINTS: usize = 3;
/// Name of the checkpoint kept aside for the best periodic evaluation's policy.
const BEST_CHECKPOINT: &str = "best";

/// Where a checkpoint goes: the rotating `step_*` series that `--resume` continues from, or the
/// best policy kept aside.
#[derive(Clone, Copy)]
enum Slot {
    Latest,
    Best,
}
/// Episodes averaged for the progress line.
const RECENT_EPISODES: usize = 20;

pub fn run(args: TrainArgs) -> Result<()> {
    let mut overrides = args.set.clone();
    if let Some(seed) = args.seed {
        overrides.push(format!("run.seed={seed}"));
    }
    let (raw, resume_dir) = match (&args.resume, &args.config) {
        (Some(dir), _) => {
            let run_dir = RunDir::open(dir)?;
            anyhow::ensure!(
                !run_dir.summary_path().exists(),
                "{}: this run finished (summary.json exists); there is nothing to resume",
                dir.display()
            );
            (
                Config::load(&run_dir.config_path(), &overrides)?,
                Some(run_dir),
            )
        }
        (None, Some(config)) => (Config::load(config, &overrides)?, None),
        (None, None) => bail!("give a CONFIG to train, or --resume RUN_DIR"),
    };
    let cfg = raw.check()?;
    let c = cfg.config();

    let mut envs = VecEnv::new(&c.env.id, c.env.num_envs).context("env.id")?;
    sparq_agent::set_threads(c.run.torch_threads);
    let (device, note) = sparq_agent::select_device(c.run.device)?;
    tch::manual_seed(c.run.seed as i64);
    let spec = NetSpec::from_config(
        &c.network,
        c.agent.dueling,
        envs.obs_space(),
        envs.num_actions(),
    );
    let track_saliency =
        cfg.prune().is_enabled() && cfg.prune().criterion() == sparq_prune::Criterion::Saliency;
    let mut learner = Learner::new(spec.clone(), &c.agent, device, track_saliency)?;
    let mut pruner = if cfg.prune().is_enabled() {
        let layers = sparq_agent::layer_infos(learner.layout());
        Some(Pruner::new(
            cfg.prune().clone(),
            layers,
            c.run.seed ^ RNG_STREAM_PRUNER,
        )?)
    } else {
        None
    };
    let mut replay = ReplayBuffer::new(experience::replay_config(&c.agent, &envs))?;
    let mut state = TrainerState::fresh(c.run.seed);
    envs.reset(c.run.seed);

    let (run_dir, resumed_note) = match resume_dir {
        Some(run_dir) => {
            let note = resume(
                &run_dir,
                &cfg,
                &spec,
                &mut envs,
                &mut learner,
                &mut pruner,
                &mut replay,
                &mut state,
            )?;
            (run_dir, Some(note))
        }
        None => {
            let path = args.run_dir.clone().unwrap_or_else(|| {
                default_run_dir(
                    args.config.as_deref().unwrap_or(Path::new("run")),
                    c.run.seed,
                )
            });
            let run_dir = RunDir::create(&path)?;
            run_dir.write_config(&raw.to_toml_string()?)?;
            if let Some(p) = &mut pruner {
                prune_step(&mut learner, p)?;
            }
            (run_dir, None)
        }
    };
    let mut events = run_dir.event_writer()?;
    let mut progress = Progress::new(cfg.final_env_step());
    for line in [note, resumed_note].into_iter().flatten() {
        progress.println(&line);
    }
    progress.println(&format!(
        "sparq: training {} on {} for {} env steps ({} gradient steps) on {:?}; run dir {}",
        c.env.id,
        c.env.num_envs,
        cfg.final_env_step(),
        cfg.total_gradient_steps(),
        device,
        run_dir.root().display()
    ));
    progress.println(&format!(
        "sparq: replay holds {} transitions at {:.1} bytes each",
        c.agent.buffer_size,
        replay.bytes_per_transition()
    ));
    if let Some(p) = &pruner {
        progress.println(&format!("sparq: pruning {}", p.config().describe()));
    }

    let mut t = Trainer {
        cfg: &cfg,
        run_dir: &run_dir,
        events: &mut events,
        progress: &mut progress,
        policy: HostPolicy::new(spec, learner.params_host()?)?,
        batch: Batch::new(c.agent.batch_size, envs.obs_len()),
        recent: std::collections::VecDeque::with_capacity(RECENT_EPISODES),
        last_log: (Instant::now(), state.env_steps),
        started: Instant::now()
            .checked_sub(std::time::Duration::from_secs_f64(state.wall_s))
            .unwrap_or_else(Instant::now),
        s: state,
    };
    let summary = t.train(&mut envs, &mut learner, &mut replay, &mut pruner)?;
    t.progress.finish();
    events.close()?;
    run_dir.write_summary(&summary)?;
    println!(
        "sparq: done: {} env steps in {:.1} s ({:.0} steps/s); greedy return {:.2} ± {:.2} over {} episodes; sparsity {:.4}; {}",
        summary.env_steps,
        summary.wall_s,
        summary.sps,
        summary.eval.return_mean,
        summary.eval.return_std,
        summary.eval.episodes,
        summary.sparsity.global,
        run_dir.summary_path().display()
    );
    Ok(())
}

struct Trainer<'a> {
    cfg: &'a CheckedConfig,
    run_dir: &'a RunDir,
    events: &'a mut EventWriter,
    progress: &'a mut Progress,
    /// Plain-Rust copy of the online network, refreshed after each training round.
    policy: HostPolicy,
    batch: Batch,
    recent: std::collections::VecDeque<f64>,
    started: Instant,
    last_log: (Instant, u64),
    /// What a checkpoint must carry besides the learner, pruner, envs and replay.
    s: TrainerState,
}

/// The trainer's own state that checkpoints carry.
struct TrainerState {
    /// Exploration and replay sampling.
    rng: Pcg64,
    env_steps: u64,
    episodes: u64,
    evals: Vec<EvalPoint>,
    best: Option<EvalPoint>,
    /// Training time before this session (resumed runs).
    wall_s: f64,
}

impl TrainerState {
    fn fresh(seed: u64) -> Self {
        TrainerState {
            rng: Pcg64::seed_from_u64(seed ^ RNG_STREAM_TRAINER),
            env_steps: 0,
            episodes: 0,
            evals: Vec::new(),
            best: None,
            wall_s: 0.0,
        }
    }
}

/// Puts every component back where the run's latest checkpoint left it, and cuts the event files
/// back to that step. Refuses a checkpoint of another environment or architecture.
#[allow(clippy::too_many_arguments)]
fn resume(
    run_dir: &RunDir,
    cfg: &CheckedConfig,
    spec: &NetSpec,
    envs: &mut VecEnv,
    learner: &mut Learner,
    pruner: &mut Option<Pruner>,
    replay: &mut ReplayBuffer,
    state: &mut TrainerState,
) -> Result<String> {
    let c = cfg.config();
    let cp = sparq_checkpoint::load::<CheckpointMeta>(run_dir.root())?;
    let meta = &cp.meta;
    meta.check_format()?;
    let at = cp.path.display();
    anyhow::ensure!(
        meta.env_id == c.env.id,
        "{at}: checkpoint is for env {}, the config says env.id = {}",
        meta.env_id,
        c.env.id
    );
    anyhow::ensure!(
        &meta.net == spec,
        "{at}: checkpoint for another architecture: it holds {}, the config builds {}",
        describe_net(&meta.net),
        describe_net(spec)
    );
    learner
        .restore_host(&cp.tensors, meta.grad_steps, meta.optimizer_step)
        .with_context(|| at.to_string())?;
    learner.restore_stats(meta.stats)?;
    *pruner = match (pruner.take(), &meta.pruner) {
        (Some(_), Some(saved)) => {
            saved.verify_layers(&sparq_agent::layer_infos(learner.layout()))?;
            Some(saved.clone())
        }
        (None, None) => None,
        _ => bail!(
            "{at}: the checkpoint's pruning state does not match the config's [prune] section"
        ),
    };
    let blob = |name: &str| {
        cp.blobs
            .get(name)
            .with_context(|| format!("{at}: '{name}' is missing"))
    };
    envs.restore(blob(ENVS_BLOB)?)
        .with_context(|| at.to_string())?;
    let mut note = String::new();
    match cp.blobs.get(REPLAY_BLOB) {
        Some(bytes) => {
            *replay = ReplayBuffer::read_from(&mut bytes.as_slice())
                .with_context(|| format!("{at}/{REPLAY_BLOB}"))?
        }
        None => {
            note = " with an EMPTY replay buffer (log.save_replay was off), so not exactly".into()
        }
    }
    *state = TrainerState {
        rng: meta.rng.clone(),
        env_steps: meta.env_steps,
        episodes: meta.episodes,
        evals: meta.evals.clone(),
        best: meta.best.clone(),
        wall_s: meta.wall_s,
    };
    sparq_checkpoint::remove_partial(&run_dir.checkpoints_dir())?;
    let mut dropped = 0;
    for file in run_dir.event_files()? {
        dropped += sparq_log::truncate_after(&file, meta.env_steps as i64)?;
    }
    Ok(format!(
        "sparq: resuming {} from {} (env step {}){note}; dropped {dropped} events logged after it",
        run_dir.root().display(),
        cp.path.display(),
        meta.env_steps
    ))
}

fn describe_net(n: &NetSpec) -> String {
    format!(
        "conv {:?} hidden {:?} {:?}{}",
        n.conv_channels,
        n.hidden,
        n.activation,
        if n.dueling { " dueling" } else { "" }
    )
}

/// True when a multiple of `interval` lies in (t0, t1].
fn crossed(interval: u64, t0: u64, t1: u64) -> bool {
    interval > 0 && t1 / interval > t0 / interval
}

impl Trainer<'_> {
    fn train(
        &mut self,
        envs: &mut VecEnv,
        learner: &mut Learner,
        replay: &mut ReplayBuffer,
        pruner: &mut Option<Pruner>,
    ) -> Result<Summary> {
        let c = self.cfg.config();
        let n = envs.num_envs() as u64;
        let mut collector = Collector::new(envs);
        let updates_per_round = c.agent.gradient_steps as u64;
        let final_step = self.cfg.final_env_step();
        // For the progress bar, which redraws every env step: counting the masks each time
        // cost a pruned run 10 % of its wall time.
        let mut sparsity = pruner.as_ref().map(|p| p.report().global);

        while self.s.env_steps < final_step {
            let eps = self.cfg.epsilon_at(self.s.env_steps);
            let step = collector.step(envs, &self.policy, eps, &mut self.s.rng, replay)?;
            let t0 = self.s.env_steps;
            self.s.env_steps += n;
            for (_, ep) in step.finished() {
                self.s.episodes += 1;
                self.events.add_scalar(
                    "train/episode_return",
                    ep.episode_return,
                    self.s.env_steps as i64,
                )?;
                self.events.add_scalar(
                    "train/episode_length",
                    ep.length as f64,
                    self.s.env_steps as i64,
                )?;
                if self.recent.len() == RECENT_EPISODES {
                    self.recent.pop_front();
                }
                self.recent.push_back(ep.episode_return);
            }

            let updates = self.cfg.train_rounds(t0, self.s.env_steps) * updates_per_round;
            if updates > 0 {
                learner.set_lr(self.cfg.lr_at(self.s.env_steps));
            }
            for _ in 0..updates {
                self.update(learner, replay)?;
                if let Some(p) = pruner.as_mut() {
                    if prune_step(learner, p)? {
                        learner.copy_params_into(self.policy.params_mut())?;
                        sparsity = Some(p.report().global);
                    }
                }
            }
            if updates > 0 {
                learner.copy_params_into(self.policy.params_mut())?;
            }

            // The last step's scalars, evaluation and checkpoint are written once, after the loop.
            let now = self.s.env_steps;
            let last = now >= final_step;
            if crossed(c.log.log_interval, t0, now) && !last {
                self.log_scalars(learner, pruner.as_ref(), eps)?;
            }
            if crossed(c.log.histogram_interval, t0, now) {
                self.log_histograms(learner)?;
            }
            if crossed(c.log.eval_interval, t0, now) && !last {
                let returns = eval::evaluate(
                    &self.policy,
                    &c.env.id,
                    c.log.eval_episodes,
                    c.run.seed + EVAL_SEED_OFFSET,
                )?;
                let mean = returns.iter().sum::<f64>() / returns.len() as f64;
                self.events
                    .add_scalar("eval/return_mean", mean, now as i64)?;
                let point = EvalPoint {
                    env_steps: now,
                    wall_s: self.started.elapsed().as_secs_f64(),
                    return_mean: mean,
                };
                self.s.evals.push(point.clone());
                if c.log.save_best && self.s.best.as_ref().is_none_or(|b| mean > b.return_mean) {
                    self.s.best = Some(point);
                    self.save_checkpoint(envs, learner, replay, pruner.as_ref(), Slot::Best)?;
                }
                self.progress.println(&format!(
                    "eval at step {now}: mean greedy return {mean:.2} over {} episodes",
                    returns.len()
                ));
            }
            if crossed(c.log.checkpoint_interval, t0, now) && !last {
                self.save_checkpoint(envs, learner, replay, pruner.as_ref(), Slot::Latest)?;
            }
            self.progress.update(&ProgressStats {
                step: now,
                episode_return: (!self.recent.is_empty())
                    .then(|| self.recent.iter().sum::<f64>() / self.recent.len() as f64),
                epsilon: Some(eps),
                sparsity,
            });
        }

        self.log_scalars(
            learner,
            pruner.as_ref(),
            self.cfg.epsilon_at(self.s.env_steps),
        )?;
        self.save_checkpoint(envs, learner, replay, pruner.as_ref(), Slot::Latest)?;
        let wall_s = self.started.elapsed().as_secs_f64();
        let returns = eval::evaluate(
            &self.policy,
            &c.env.id,
            c.log.final_eval_episodes,
            c.run.seed + EVAL_SEED_OFFSET,
        )?;
        let eval = sparq_log::EvalStats::from_returns(&returns)
            .context("final evaluation ran no episodes")?;
        self.events.add_scalar(
            "eval/return_mean",
            eval.return_mean,
            self.s.env_steps as i64,
        )?;
        let (sparsity, _) = eval::sparsity_of(&self.policy, c);
        Ok(Summary {
            env_steps: self.s.env_steps,
            wall_s,
            sps: self.s.env_steps as f64 / wall_s,
            eval,
            sparsity,
            evals: self.s.evals.clone(),
            best: self.s.best.clone(),
        })
    }

    fn update(&mut self, learner: &mut Learner, replay: &mut ReplayBuffer) -> Result<()> {
        let a = &self.cfg.config().agent;
        // β anneals linearly from beta0 to 1 over training (prioritized replay only).
        let progress = self.s.env_steps as f64 / self.cfg.final_env_step() as f64;
        let beta = a.per_beta0 + (1.0 - a.per_beta0) * progress.min(1.0);
        experience::update(learner, replay, a, beta, &mut self.s.rng, &mut self.batch)
    }

    fn log_scalars(
        &mut self,
        learner: &mut Learner,
        pruner: Option<&Pruner>,
        eps: f64,
    ) -> Result<()> {
        let step = self.s.env_steps as i64;
        if let Some(s) = learner.take_stats()? {
            if !s.loss.is_finite() || !learner.params_finite()? {
                bail!(
                    "training diverged at env step {}: the loss or the weights are not finite (loss {}); the last good checkpoint is kept in {}",
                    self.s.env_steps,
                    s.loss,
                    self.run_dir.checkpoints_dir().display()
                );
            }
            self.events.add_scalar("train/loss", s.loss, step)?;
            self.events.add_scalar("train/q_mean", s.q_mean, step)?;
        }
        self.events.add_scalar("train/epsilon", eps, step)?;
        let (t_prev, s_prev) = self.last_log;
        let dt = t_prev.elapsed().as_secs_f64();
        if dt > 0.0 && self.s.env_steps > s_prev {
            self.events
                .add_scalar("perf/sps", (self.s.env_steps - s_prev) as f64 / dt, step)?;
        }
        self.last_log = (Instant::now(), self.s.env_steps);
        if let Some(p) = pruner {
            let report = p.report();
            self.events
                .add_scalar("prune/sparsity", report.global, step)?;
            self.events.add_scalar(
                "prune/target_sparsity",
                p.config().target_at(learner.grad_steps),
                step,
            )?;
            self.events
                .add_scalar("prune/active_params", p.active_params() as f64, step)?;
            for (layer, s) in &report.layers {
                self.events
                    .add_scalar(&format!("prune/sparsity/{layer}"), *s, step)?;
            }
        }
        Ok(())
    }

    fn log_histograms(&mut self, learner: &Learner) -> Result<()> {
        let params = self.policy.params();
        for l in &learner.layout().layers {
            let w = &params[l.weight_offset..l.weight_offset + l.weight_numel()];
            self.events.add_histogram(
                &format!("weights/{}", l.name),
                w,
                self.s.env_steps as i64,
            )?;
        }
        Ok(())
    }

    fn save_checkpoint(
        &mut self,
        envs: &VecEnv,
        learner: &Learner,
        replay: &ReplayBuffer,
        pruner: Option<&Pruner>,
        slot: Slot,
    ) -> Result<()> {
        let c = self.cfg.config();
        let meta = CheckpointMeta {
            format: FORMAT.into(),
            version: VERSION,
            env_id: c.env.id.clone(),
            net: learner.spec().clone(),
            config: c.to_toml_string()?,
            env_steps: self.s.env_steps,
            grad_steps: learner.grad_steps,
            optimizer_step: learner.optimizer_step(),
            episodes: self.s.episodes,
            wall_s: self.started.elapsed().as_secs_f64(),
            pruner: pruner.cloned(),
            rng: self.s.rng.clone(),
            stats: learner.stats_state()?,
            evals: self.s.evals.clone(),
            best: self.s.best.clone(),
        };
        let envs_blob = envs.snapshot()?;
        let mut blobs: Vec<(&str, &[u8])> = vec![(ENVS_BLOB, &envs_blob)];
        let dir = self.run_dir.checkpoints_dir();
        let tensors = learner.state_host()?;
        match slot {
            Slot::Latest => {
                let mut replay_blob = Vec::new();
                if c.log.save_replay {
                    replay.write_to(&mut replay_blob)?;
                    blobs.push((REPLAY_BLOB, &replay_blob));
                }
                let name = format!("step_{:010}", self.s.env_steps);
                sparq_checkpoint::save(&dir, &name, &meta, &tensors, &blobs, KEEP_CHECKPOINTS)?;
            }
            // The best policy is for evaluation and pruning, not resuming: no replay buffer.
            Slot::Best => {
                sparq_checkpoint::save_aside(&dir, BEST_CHECKPOINT, &meta, &tensors, &blobs)?;
            }
        }
        self.events.flush()?;
        Ok(())
    }
}

/// At the schedule's update steps: scores out, new masks in. Returns whether the masks changed.
fn prune_step(learner: &mut Learner, pruner: &mut Pruner) -> Result<bool> {
    let step = learner.grad_steps;
    if !pruner.is_update_step(step) {
        return Ok(false);
    }
    let criterion = pruner.config().criterion();
    let flat = match criterion {
        sparq_prune::Criterion::Saliency => learner
            .saliency_host()?
            .context("saliency was not tracked")?,
        _ => learner.params_host()?,
    };
    let scores = sparq_agent::layer_scores(learner.layout(), criterion, &flat);
    let refs: Vec<&[f32]> = scores.iter().map(Vec::as_slice).collect();
    let changed = pruner.update(step, &refs)?;
    if changed {
        learner.set_mask(&sparq_agent::flat_mask(learner.layout(), pruner))?;
    }
    Ok(changed)
}

/// `runs/<config stem>-s<seed>-<UTC yyyymmdd-hhmmss>`.
fn default_run_dir(config: &Path, seed: u64) -> PathBuf {
    let stem = config.file_stem().and_then(|s| s.to_str()).unwrap_or("run");
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    PathBuf::from("runs").join(format!(
        "{stem}-s{seed}-{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ))
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_intervals() {
        assert!(crossed(1000, 999, 1000));
        assert!(!crossed(1000, 1000, 1999));
        assert!(crossed(1000, 1998, 2002));
        assert!(!crossed(0, 0, 10_000));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_415), (2025, 11, 23));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
