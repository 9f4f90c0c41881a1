//! [`Trainer`]: one training run, owning everything it uses, with its step in one place.
//!
//! Per vector step ([`Trainer::step`]): act ε-greedily → step every env → store transitions →
//! learn for each training round due (sample → update → prune if due, in
//! [`experience::learn`]) → refresh the acting policy → log, evaluate and checkpoint on their
//! intervals. ε, the learning rate and PER's β all come from one clock: env steps done.
//! Everything that can be refused (config, env id, device, pruning layers) is checked before the
//! run directory is created, so a bad input never leaves a run behind.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand_pcg::Pcg64;
use sparq_agent::{HostPolicy, Learner, NetSpec};
use sparq_config::{CheckedConfig, Config};
use sparq_envs::VecEnv;
use sparq_log::{EvalPoint, EventWriter, Progress, ProgressMode, ProgressStats, RunDir, Summary};
use sparq_prune::Pruner;
use sparq_replay::{Batch, ReplayBuffer};
use sparq_runstate::{CheckpointMeta, ENVS_BLOB, FORMAT, REPLAY_BLOB, VERSION};

use crate::evaluate::{evaluate, sparsity_of};
use crate::experience::{self, Collector};

/// Distinct generator streams from one seed.
const RNG_STREAM_TRAINER: u64 = 0x5EED_0001;
const RNG_STREAM_PRUNER: u64 = 0x5EED_0002;
/// Evaluation episodes use seeds far from the training envs' (seed + i).
pub const EVAL_SEED_OFFSET: u64 = 1_000_000_007;
/// Checkpoints kept per run (the `step_*` series; `best` is kept aside).
pub const KEEP_CHECKPOINTS: usize = 3;
/// Name of the checkpoint kept aside for the best periodic evaluation's policy.
pub const BEST_CHECKPOINT: &str = "best";
/// Episodes averaged for the progress line.
const RECENT_EPISODES: usize = 20;

/// How a run is set up besides its config.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Run directory; default `runs/<name>-s<seed>-<UTC time>` (see [`default_run_dir`]).
    pub run_dir: Option<PathBuf>,
    /// The `<name>` of the default run directory (the config file's stem); default the env id.
    pub name: Option<String>,
    /// Progress and notes on stderr (a bar on a terminal, lines otherwise). Off by default, so a
    /// library caller's stderr stays quiet.
    pub progress: bool,
    /// Set to `true` (e.g. from a signal handler) to end the run at the next env step with a
    /// checkpoint; [`Trainer::run`] then returns [`Interrupted`].
    pub stop: Option<Arc<AtomicBool>>,
    /// [`Trainer::resume`] from this checkpoint of the run instead of the one `latest` names
    /// (e.g. `sparq_checkpoint::resolve_newest(run_dir)?` when `latest` is unusable).
    pub checkpoint: Option<PathBuf>,
}

/// What happened during a step, for callers that watch a run ([`Trainer::on_event`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An episode of a training environment ended.
    Episode {
        /// Env steps done when it ended.
        env_steps: u64,
        /// Its undiscounted return.
        episode_return: f64,
        /// Its length in steps.
        length: u32,
    },
    /// A periodic greedy evaluation.
    Eval(EvalPoint),
    /// A checkpoint was written.
    Checkpoint {
        /// Env steps it holds.
        env_steps: u64,
        /// Its directory.
        path: PathBuf,
    },
}

/// The error [`Trainer::run`] returns when its stop flag was raised: the run was checkpointed
/// and can be resumed exactly.
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted at env step {env_steps}; checkpoint {} written; resume with: sparq train --resume {}",
    checkpoint.display(),
    run_dir.display()
)]
pub struct Interrupted {
    /// Env steps done (and checkpointed).
    pub env_steps: u64,
    /// The checkpoint written on the interrupt.
    pub checkpoint: PathBuf,
    /// The run directory to resume.
    pub run_dir: PathBuf,
}

/// Where a checkpoint goes: the rotating `step_*` series that `--resume` continues from, or the
/// best policy kept aside.
#[derive(Clone, Copy)]
enum Slot {
    Latest,
    Best,
}

/// One training run: environments, learner, pruner, replay and the acting policy, with its run
/// directory, event log and clocks.
pub struct Trainer {
    cfg: CheckedConfig,
    envs: VecEnv,
    learner: Learner,
    pruner: Option<Pruner>,
    replay: ReplayBuffer,
    /// Plain-Rust copy of the online network, refreshed after each training round.
    policy: HostPolicy,
    collector: Collector,
    batch: Batch,
    /// What a checkpoint must carry besides the learner, pruner, envs and replay.
    s: TrainerState,
    run_dir: RunDir,
    events: EventWriter,
    progress: Progress,
    /// Notes (evaluations) on stderr; off for quiet library use.
    verbose: bool,
    observer: Option<Observer>,
    stop: Option<Arc<AtomicBool>>,
    recent: VecDeque<f64>,
    started: Instant,
    last_log: (Instant, u64),
    /// Kept for the progress bar, which redraws every env step: counting the masks each time
    /// cost a pruned run 10 % of its wall time.
    sparsity: Option<f64>,
}

/// A caller's callback for [`Event`]s.
type Observer = Box<dyn FnMut(&Event) + Send>;

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

/// The parts built from a config, before any file is written.
struct Parts {
    envs: VecEnv,
    learner: Learner,
    pruner: Option<Pruner>,
    replay: ReplayBuffer,
    spec: NetSpec,
    device_note: Option<String>,
}

fn build(cfg: &CheckedConfig) -> Result<Parts> {
    let c = cfg.config();
    use_python(c);
    let mut envs = VecEnv::new(&c.env.id, c.env.num_envs).context("env.id")?;
    if c.env.id.starts_with(sparq_envs::gymnasium::PREFIX) {
        // check() does not start a Python worker to learn the spaces: the memory check is here.
        c.check_memory(&sparq_envs::EnvSpec {
            id: c.env.id.clone(),
            max_episode_steps: None,
            obs_space: envs.obs_space(),
            num_actions: envs.num_actions(),
        })?;
    }
    sparq_agent::set_threads(c.run.torch_threads);
    let (device, device_note) = sparq_agent::select_device(c.run.device)?;
    let spec = NetSpec::from_config(
        &c.network,
        c.agent.dueling,
        envs.obs_space(),
        envs.num_actions(),
    );
    let track_saliency =
        cfg.prune().is_enabled() && cfg.prune().criterion() == sparq_prune::Criterion::Saliency;
    let mut learner = Learner::new(spec.clone(), &c.agent, device, track_saliency, c.run.seed)?;
    if cfg.prune().schedule() == sparq_prune::ScheduleKind::Ste {
        learner.enable_straight_through()?;
    }
    let pruner = if cfg.prune().is_enabled() {
        let layers = sparq_agent::layer_infos(learner.layout());
        Some(Pruner::new(
            cfg.prune().clone(),
            layers,
            c.run.seed ^ RNG_STREAM_PRUNER,
        )?)
    } else {
        None
    };
    let replay = ReplayBuffer::new(experience::replay_config(&c.agent, &envs))?;
    envs.reset(c.run.seed);
    Ok(Parts {
        envs,
        learner,
        pruner,
        replay,
        spec,
        device_note,
    })
}

impl Trainer {
    /// A new run of `config`: builds and checks every part, then creates the run directory and
    /// writes the resolved `config.toml` into it.
    pub fn new(config: CheckedConfig, options: RunOptions) -> Result<Trainer> {
        let mut parts = build(&config)?;
        let c = config.config();
        let path = options.run_dir.clone().unwrap_or_else(|| {
            default_run_dir(options.name.as_deref().unwrap_or(&c.env.id), c.run.seed)
        });
        let run_dir = RunDir::create(&path)?;
        run_dir.write_config(&c.to_toml_string()?)?;
        if let Some(p) = &mut parts.pruner {
            experience::start_pruning(&mut parts.learner, p)?;
        }
        let state = TrainerState::fresh(c.run.seed);
        Trainer::assemble(config, parts, state, run_dir, &options, None)
    }

    /// A new run from a config file, with `section.key=value` overrides.
    pub fn from_file(path: &Path, overrides: &[String], options: RunOptions) -> Result<Trainer> {
        let config = Config::load(path, overrides)?.check()?;
        let options = RunOptions {
            name: options
                .name
                .clone()
                .or_else(|| path.file_stem().and_then(|s| s.to_str()).map(str::to_owned)),
            ..options
        };
        Trainer::new(config, options)
    }

    /// Continues the run in `run_dir` exactly where its latest checkpoint left it, under the
    /// config recorded in the run (`config.toml`). A run killed before its first checkpoint starts
    /// again from step 0 with that config and seed.
    pub fn resume(run_dir: &Path, options: RunOptions) -> Result<Trainer> {
        // The lock first: a run live in another process is refused before anything is touched.
        let dir = RunDir::open_for_resume(run_dir)?;
        anyhow::ensure!(
            !dir.summary_path().exists(),
            "{}: this run finished (summary.json exists); there is nothing to resume",
            run_dir.display()
        );
        let config = Config::load(&dir.config_path(), &[])?.check()?;
        let mut parts = build(&config)?;
        let mut state = TrainerState::fresh(config.config().run.seed);
        let note = if sparq_checkpoint::list(&dir.checkpoints_dir())?.is_empty() {
            sparq_checkpoint::remove_partial(&dir.checkpoints_dir())?;
            for file in dir.event_files()? {
                std::fs::remove_file(&file)
                    .with_context(|| format!("{}: cannot remove", file.display()))?;
            }
            if let Some(p) = &mut parts.pruner {
                experience::start_pruning(&mut parts.learner, p)?;
            }
            format!(
                "sparq: {} has no checkpoint yet; starting it again from step 0 with its config.toml and seed {}",
                run_dir.display(),
                config.config().run.seed
            )
        } else {
            let at = options.checkpoint.as_deref().unwrap_or(dir.root());
            restore(&dir, at, &config, &mut parts, &mut state)?
        };
        Trainer::assemble(config, parts, state, dir, &options, Some(note))
    }

    fn assemble(
        cfg: CheckedConfig,
        parts: Parts,
        s: TrainerState,
        run_dir: RunDir,
        options: &RunOptions,
        resumed: Option<String>,
    ) -> Result<Trainer> {
        let c = cfg.config();
        let events = run_dir.event_writer()?;
        let mode = if options.progress {
            ProgressMode::Auto
        } else {
            ProgressMode::Hidden
        };
        let mut progress = Progress::with_mode(
            cfg.final_env_step(),
            mode,
            sparq_log::progress::DEFAULT_LINE_INTERVAL,
        );
        let Parts {
            envs,
            learner,
            pruner,
            replay,
            spec,
            device_note,
        } = parts;
        if options.progress {
            for line in [device_note, resumed].into_iter().flatten() {
                progress.println(&line);
            }
            let envs_word = if c.env.num_envs == 1 { "env" } else { "envs" };
            progress.println(&format!(
                "sparq: training {} ({} {envs_word}) for {} env steps ({} gradient steps) on {:?}; run dir {}",
                c.env.id,
                c.env.num_envs,
                cfg.final_env_step(),
                cfg.total_gradient_steps(),
                learner.device(),
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
        }
        let policy = HostPolicy::new(spec, learner.params_host()?)?;
        let started = Instant::now()
            .checked_sub(Duration::from_secs_f64(s.wall_s))
            .unwrap_or_else(Instant::now);
        Ok(Trainer {
            batch: Batch::new(c.agent.batch_size, envs.obs_len()),
            collector: Collector::new(&envs),
            sparsity: pruner.as_ref().map(|p| p.report().global),
            last_log: (Instant::now(), s.env_steps),
            recent: VecDeque::with_capacity(RECENT_EPISODES),
            stop: options.stop.clone(),
            verbose: options.progress,
            observer: None,
            cfg,
            envs,
            learner,
            pruner,
            replay,
            policy,
            s,
            run_dir,
            events,
            progress,
            started,
        })
    }

    /// Calls `f` with every [`Event`] from now on.
    pub fn on_event(&mut self, f: impl FnMut(&Event) + Send + 'static) {
        self.observer = Some(Box::new(f));
    }

    /// The run's checked config.
    pub fn config(&self) -> &CheckedConfig {
        &self.cfg
    }
    /// The run directory.
    pub fn run_dir(&self) -> &Path {
        self.run_dir.root()
    }
    /// Env steps done so far (summed over the vector's environments).
    pub fn env_steps(&self) -> u64 {
        self.s.env_steps
    }
    /// The current greedy policy (refreshed after each training round).
    pub fn policy(&self) -> &HostPolicy {
        &self.policy
    }
    /// True once the run has made its last env step; [`Trainer::finish`] remains.
    pub fn is_done(&self) -> bool {
        self.s.env_steps >= self.cfg.final_env_step()
    }

    /// Trains until the last env step, then [`Trainer::finish`]es. Returns [`Interrupted`] (as
    /// the error) if the stop flag of [`RunOptions`] was raised; the run is then checkpointed.
    pub fn run(mut self) -> Result<Summary> {
        while !self.is_done() {
            if self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
                return Err(self.interrupt()?.into());
            }
            self.step()?;
        }
        self.finish()
    }

    /// Trains for about `env_steps` more env steps (whole vector steps, never past the end).
    pub fn train_for(&mut self, env_steps: u64) -> Result<()> {
        let until = self.s.env_steps.saturating_add(env_steps);
        while self.s.env_steps < until && !self.is_done() {
            self.step()?;
        }
        Ok(())
    }

    /// Writes a checkpoint now (replay included when `log.save_replay`), from which
    /// [`Trainer::resume`] continues exactly; returns its path.
    pub fn checkpoint(&mut self) -> Result<PathBuf> {
        self.save_checkpoint(Slot::Latest)
    }

    /// Checkpoints and closes the progress display, for an interrupt.
    fn interrupt(&mut self) -> Result<Interrupted> {
        // save_checkpoint flushes the event file too.
        let checkpoint = self.save_checkpoint(Slot::Latest)?;
        self.progress.finish();
        Ok(Interrupted {
            env_steps: self.s.env_steps,
            checkpoint,
            run_dir: self.run_dir.root().to_owned(),
        })
    }

    /// One vector step: act, store, learn for every training round due, then log, evaluate and
    /// checkpoint where an interval was crossed.
    pub fn step(&mut self) -> Result<()> {
        anyhow::ensure!(
            !self.is_done(),
            "the run has already made its last env step"
        );
        let c = self.cfg.config();
        let log = (
            c.log.log_interval,
            c.log.histogram_interval,
            c.log.eval_interval,
            c.log.checkpoint_interval,
        );
        let n = self.envs.num_envs() as u64;
        let t0 = self.s.env_steps;
        let eps = self.cfg.epsilon_at(t0);
        let step = self.collector.step(
            &mut self.envs,
            &self.policy,
            eps,
            &mut self.s.rng,
            &mut self.replay,
        )?;
        self.s.env_steps += n;
        let now = self.s.env_steps;
        for (_, ep) in step.finished() {
            self.s.episodes += 1;
            self.events
                .add_scalar("train/episode_return", ep.episode_return, now as i64)?;
            self.events
                .add_scalar("train/episode_length", ep.length as f64, now as i64)?;
            if self.recent.len() == RECENT_EPISODES {
                self.recent.pop_front();
            }
            self.recent.push_back(ep.episode_return);
            if let Some(f) = &mut self.observer {
                f(&Event::Episode {
                    env_steps: now,
                    episode_return: ep.episode_return,
                    length: ep.length,
                });
            }
        }

        let updates = self.cfg.train_rounds(t0, now) * u64::from(c.agent.gradient_steps);
        if updates > 0 {
            self.learner.set_lr(self.cfg.lr_at(now));
            let beta = self.cfg.beta_at(now);
            for _ in 0..updates {
                let pruned = experience::learn(
                    &mut self.learner,
                    self.pruner.as_mut(),
                    &mut self.replay,
                    &c.agent,
                    beta,
                    &mut self.s.rng,
                    &mut self.batch,
                )?;
                if pruned.is_some() {
                    self.learner.copy_params_into(self.policy.params_mut())?;
                    self.sparsity = self.pruner.as_ref().map(|p| p.report().global);
                }
            }
            self.learner.copy_params_into(self.policy.params_mut())?;
        }

        // The last step's scalars, evaluation and checkpoint are written once, by `finish`.
        let last = self.is_done();
        let (log_every, histogram_every, eval_every, checkpoint_every) = log;
        if crossed(log_every, t0, now) && !last {
            self.log_scalars(eps)?;
        }
        if crossed(histogram_every, t0, now) {
            self.log_histograms()?;
        }
        if crossed(eval_every, t0, now) && !last {
            self.periodic_eval()?;
        }
        if crossed(checkpoint_every, t0, now) && !last {
            self.save_checkpoint(Slot::Latest)?;
        }
        self.progress.update(&ProgressStats {
            step: now,
            episode_return: (!self.recent.is_empty())
                .then(|| self.recent.iter().sum::<f64>() / self.recent.len() as f64),
            epsilon: Some(eps),
            sparsity: self.sparsity,
        });
        Ok(())
    }

    /// After the last step: final scalars and checkpoint, the final greedy evaluation, and
    /// `summary.json` (written last: a run without it is not finished).
    pub fn finish(mut self) -> Result<Summary> {
        anyhow::ensure!(
            self.is_done(),
            "the run is at env step {} of {}; train it to the end first",
            self.s.env_steps,
            self.cfg.final_env_step()
        );
        let c = self.cfg.config().clone();
        self.log_scalars(self.cfg.epsilon_at(self.s.env_steps))?;
        self.save_checkpoint(Slot::Latest)?;
        let wall_s = self.started.elapsed().as_secs_f64();
        let returns = evaluate(
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
        let sparsity = sparsity_of(&self.policy, &c);
        let summary = Summary {
            env_steps: self.s.env_steps,
            wall_s,
            sps: self.s.env_steps as f64 / wall_s,
            eval,
            sparsity,
            evals: self.s.evals.clone(),
            best: self.s.best.clone(),
        };
        self.progress.finish();
        self.events.close()?;
        self.run_dir.write_summary(&summary)?;
        Ok(summary)
    }

    fn periodic_eval(&mut self) -> Result<()> {
        let c = self.cfg.config();
        let now = self.s.env_steps;
        let returns = evaluate(
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
            self.s.best = Some(point.clone());
            self.save_checkpoint(Slot::Best)?;
        }
        if self.verbose {
            self.progress.println(&format!(
                "eval at step {now}: mean greedy return {mean:.2} over {} episodes",
                returns.len()
            ));
        }
        if let Some(f) = &mut self.observer {
            f(&Event::Eval(point));
        }
        Ok(())
    }

    fn log_scalars(&mut self, eps: f64) -> Result<()> {
        let step = self.s.env_steps as i64;
        if let Some(s) = self.learner.take_stats()? {
            if !s.loss.is_finite() || !self.learner.params_finite()? {
                return Err(self.diverged(&format!(
                    "the loss ({}) or the weights are not finite",
                    s.loss
                )));
            }
            self.events.add_scalar("train/loss", s.loss, step)?;
            self.events.add_scalar("train/q_mean", s.q_mean, step)?;
        }
        self.events.add_scalar("train/epsilon", eps, step)?;
        let (t_prev, s_prev) = self.last_log;
        let dt = t_prev.elapsed().as_secs_f64();
        // The first window spans the warm-up before learning starts, whose rate would squash
        // the chart: the rate is logged from the second window on.
        if dt > 0.0 && self.s.env_steps > s_prev && s_prev > 0 {
            self.events
                .add_scalar("perf/sps", (self.s.env_steps - s_prev) as f64 / dt, step)?;
        }
        self.last_log = (Instant::now(), self.s.env_steps);
        if let Some(p) = &mut self.pruner {
            // Connections removed and added per mask update since the last log point.
            let changes = p.take_changes();
            if changes.updates > 0 {
                let per_update = |n: u64| n as f64 / changes.updates as f64;
                self.events
                    .add_scalar("prune/dropped", per_update(changes.dropped), step)?;
                self.events
                    .add_scalar("prune/grown", per_update(changes.grown), step)?;
            }
            let report = p.report();
            self.events
                .add_scalar("prune/sparsity", report.global, step)?;
            self.events.add_scalar(
                "prune/target_sparsity",
                p.config().target_at(self.learner.grad_steps),
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

    fn log_histograms(&mut self) -> Result<()> {
        let params = self.policy.params();
        for l in &self.learner.layout().layers {
            let w = &params[l.weight_offset..l.weight_offset + l.weight_numel()];
            self.events.add_histogram(
                &format!("weights/{}", l.name),
                w,
                self.s.env_steps as i64,
            )?;
        }
        Ok(())
    }

    /// The error for a run whose state is no longer finite, naming the checkpoint that is kept.
    fn diverged(&self, what: &str) -> anyhow::Error {
        let kept = sparq_checkpoint::newest_complete(&self.run_dir.checkpoints_dir())
            .ok()
            .flatten();
        let kept = match kept {
            Some(p) => format!("the last checkpoint, all finite, is {}", p.display()),
            None => "no checkpoint was written".to_owned(),
        };
        anyhow::anyhow!(
            "training diverged at env step {}: {what}; {kept}",
            self.s.env_steps
        )
    }

    /// Writes a checkpoint into `slot`; refuses (as divergence) to write non-finite weights, so
    /// no checkpoint, `best` included, ever holds NaN or infinity.
    fn save_checkpoint(&mut self, slot: Slot) -> Result<PathBuf> {
        if !self.learner.state_finite()? {
            return Err(self.diverged("the weights or the optimizer state are not finite"));
        }
        let c = self.cfg.config();
        let meta = CheckpointMeta {
            format: FORMAT.into(),
            version: VERSION,
            env_id: c.env.id.clone(),
            net: self.learner.spec().clone(),
            config: c.to_toml_string()?,
            env_steps: self.s.env_steps,
            grad_steps: self.learner.grad_steps,
            optimizer_step: self.learner.optimizer_step(),
            episodes: self.s.episodes,
            wall_s: self.started.elapsed().as_secs_f64(),
            pruner: self.pruner.clone(),
            rng: self.s.rng.clone(),
            stats: self.learner.stats_state()?,
            evals: self.s.evals.clone(),
            best: self.s.best.clone(),
        };
        // An environment without snapshots resumes from fresh episodes (said on resume).
        let envs_blob = if self.envs.can_snapshot() {
            Some(self.envs.snapshot()?)
        } else {
            None
        };
        let mut blobs: Vec<(&str, &[u8])> = Vec::new();
        if let Some(b) = &envs_blob {
            blobs.push((ENVS_BLOB, b));
        }
        let dir = self.run_dir.checkpoints_dir();
        let tensors = self.learner.state_host()?;
        let path = match slot {
            Slot::Latest => {
                let mut replay_blob = Vec::new();
                if c.log.save_replay {
                    self.replay.write_to(&mut replay_blob)?;
                    blobs.push((REPLAY_BLOB, &replay_blob));
                }
                let name = format!("step_{:010}", self.s.env_steps);
                sparq_checkpoint::save(&dir, &name, &meta, &tensors, &blobs, KEEP_CHECKPOINTS)?
            }
            // The best policy is for evaluation and pruning, not resuming: no replay buffer.
            Slot::Best => {
                sparq_checkpoint::save_aside(&dir, BEST_CHECKPOINT, &meta, &tensors, &blobs)?
            }
        };
        self.events.flush()?;
        if let Some(f) = &mut self.observer {
            f(&Event::Checkpoint {
                env_steps: self.s.env_steps,
                path: path.clone(),
            });
        }
        Ok(path)
    }
}

/// Puts every part back where the run's latest checkpoint left it, and cuts the event files back
/// to that step. Refuses a checkpoint of another environment or architecture.
fn restore(
    run_dir: &RunDir,
    checkpoint: &Path,
    cfg: &CheckedConfig,
    parts: &mut Parts,
    state: &mut TrainerState,
) -> Result<String> {
    let c = cfg.config();
    let cp = sparq_checkpoint::load::<CheckpointMeta>(checkpoint)?;
    let meta = &cp.meta;
    meta.check_format(&cp.path)?;
    let at = cp.path.display();
    anyhow::ensure!(
        meta.env_id == c.env.id,
        "{at}: checkpoint is for env {}, the config says env.id = {}",
        meta.env_id,
        c.env.id
    );
    anyhow::ensure!(
        meta.net == parts.spec,
        "{at}: checkpoint for another architecture: it holds {}, the config builds {}",
        describe_net(&meta.net),
        describe_net(&parts.spec)
    );
    let learner = &mut parts.learner;
    learner
        .restore_host(&cp.tensors, meta.grad_steps, meta.optimizer_step)
        .with_context(|| at.to_string())?;
    learner.restore_stats(meta.stats)?;
    parts.pruner = match (parts.pruner.take(), &meta.pruner) {
        (Some(_), Some(saved)) => {
            saved.verify_layers(&sparq_agent::layer_infos(learner.layout()))?;
            Some(saved.clone())
        }
        (None, None) => None,
        _ => bail!(
            "{at}: the checkpoint's pruning state does not match the config's [prune] section"
        ),
    };
    let mut notes = Vec::new();
    match cp.blobs.get(ENVS_BLOB) {
        Some(blob) => parts.envs.restore(blob).with_context(|| at.to_string())?,
        None => {
            // Fresh episodes, seeded apart from the run's first ones.
            parts.envs.reset(c.run.seed.wrapping_add(meta.env_steps));
            notes.push(format!(
                "{} has no environment snapshot, so from fresh episodes",
                c.env.id
            ));
        }
    }
    match cp.blobs.get(REPLAY_BLOB) {
        Some(bytes) => {
            parts.replay = ReplayBuffer::read_from(&mut bytes.as_slice())
                .with_context(|| format!("{at}/{REPLAY_BLOB}"))?
        }
        None => notes.push("with an EMPTY replay buffer (log.save_replay was off)".into()),
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
    let how = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({}; not exactly)", notes.join("; "))
    };
    Ok(format!(
        "sparq: resuming {} from {} (env step {}){how}; dropped {dropped} events logged after it",
        run_dir.root().display(),
        cp.path.display(),
        meta.env_steps
    ))
}

/// Where `gymnasium:<id>` environments of this config run.
pub(crate) fn use_python(c: &Config) {
    sparq_envs::gymnasium::set_worker(sparq_envs::gymnasium::WorkerSettings {
        python: c.env.python.clone(),
        module: (!c.env.python_module.is_empty()).then(|| c.env.python_module.clone()),
    });
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

/// `runs/<name>-s<seed>-<UTC yyyymmdd-hhmmss>`; `/` in the name (`MinAtar/Breakout-v1`) becomes `-`.
pub fn default_run_dir(name: &str, seed: u64) -> PathBuf {
    let name = name.replace(['/', ':'], "-");
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    PathBuf::from("runs").join(format!(
        "{name}-s{seed}-{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
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
