//! SET, RigL and STE inside real DQN updates on CartPole: sparsity is constant between and across
//! SET/RigL updates, drop and grow counts are equal, grown weights (and their optimizer moments)
//! are exactly zero when they are grown, STE's network is its dense weights times the top-k mask;
//! and a run resumed from a checkpoint ends exactly as the uninterrupted one.

use std::path::Path;

use rand::SeedableRng;
use rand_pcg::Pcg64;
use sparq::experience::{self, Collector};
use sparq::{CheckedConfig, Config, HostPolicy, NetSpec, RunOptions, Trainer};
use sparq_agent::Learner;
use sparq_envs::VecEnv;
use sparq_prune::{Pruner, ScheduleKind};
use sparq_replay::{Batch, ReplayBuffer};

fn config(schedule: &str, extra: &[&str]) -> CheckedConfig {
    let mut overrides: Vec<String> = [
        "run.total_steps=3000",
        "agent.learning_starts=500",
        "agent.train_freq=4",
        "agent.gradient_steps=1",
        "agent.target_update_interval=50",
        "network.hidden=[32,32]",
        "log.eval_interval=1000",
        "log.eval_episodes=3",
        "log.final_eval_episodes=5",
        "log.checkpoint_interval=1000",
        "prune.target_sparsity=0.8",
        "prune.scope=\"layerwise\"",
        "prune.frequency=10",
        "prune.start=0",
        "prune.end=0.8",
    ]
    .map(String::from)
    .to_vec();
    overrides.push(format!("prune.schedule=\"{schedule}\""));
    overrides.extend(extra.iter().map(|s| s.to_string()));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/cartpole_dqn.toml");
    Config::load(&path, &overrides).unwrap().check().unwrap()
}

/// The named tensor of the learner's checkpoint state.
fn state_of(l: &Learner, name: &str) -> Vec<f32> {
    l.state_tensor_host(name)
        .unwrap()
        .unwrap_or_else(|| panic!("no tensor '{name}'"))
}

/// A learner and pruner set up as the trainer sets them up, and a replay buffer of 1,500 random
/// CartPole transitions.
struct Rig {
    cfg: CheckedConfig,
    learner: Learner,
    pruner: Pruner,
    replay: ReplayBuffer,
    rng: Pcg64,
    batch: Batch,
}

impl Rig {
    /// One learning step as the trainer takes it; what the masks' update changed, if one was due.
    fn learn(&mut self) -> Option<sparq_prune::MaskChanges> {
        experience::learn(
            &mut self.learner,
            Some(&mut self.pruner),
            &mut self.replay,
            &self.cfg.config().agent,
            0.4,
            &mut self.rng,
            &mut self.batch,
        )
        .unwrap()
    }
}

fn setup(cfg: CheckedConfig) -> Rig {
    let (learner, pruner, replay) = parts(&cfg);
    Rig {
        cfg,
        learner,
        pruner,
        replay,
        rng: Pcg64::seed_from_u64(4),
        batch: Batch::default(),
    }
}

fn parts(cfg: &CheckedConfig) -> (Learner, Pruner, ReplayBuffer) {
    let c = cfg.config();
    let mut envs = VecEnv::new(&c.env.id, 1).unwrap();
    envs.reset(3);
    let spec = NetSpec::from_config(&c.network, false, envs.obs_space(), envs.num_actions());
    let mut learner = Learner::new(spec.clone(), &c.agent, tch::Device::Cpu, false, 3).unwrap();
    if cfg.prune().schedule() == ScheduleKind::Ste {
        learner.enable_straight_through().unwrap();
    }
    let infos = sparq_agent::layer_infos(learner.layout());
    let mut pruner = Pruner::new(cfg.prune().clone(), infos, 3).unwrap();
    experience::start_pruning(&mut learner, &mut pruner).unwrap();
    let mut replay = ReplayBuffer::new(experience::replay_config(&c.agent, &envs)).unwrap();
    let policy = HostPolicy::new(spec, learner.params_host().unwrap()).unwrap();
    let mut collector = Collector::new(&envs);
    let mut rng = Pcg64::seed_from_u64(3);
    for _ in 0..1500 {
        collector
            .step(&mut envs, &policy, 1.0, &mut rng, &mut replay)
            .unwrap();
    }
    (learner, pruner, replay)
}

fn zeros(v: &[f32]) -> usize {
    v.iter().filter(|&&x| x == 0.0).count()
}

#[test]
fn set_and_rigl_rewire_real_updates_at_constant_sparsity_and_grow_from_zero() {
    for schedule in ["set", "rigl"] {
        let mut rig = setup(config(schedule, &[]));
        let pruned = zeros(&rig.learner.mask_host().unwrap());
        assert!(pruned > 0, "{schedule}: sparse from the first step");
        let mut rewired = 0;
        for _ in 0..200 {
            let mask_before = rig.learner.mask_host().unwrap();
            let change = rig.learn();
            let learner = &rig.learner;
            let step = learner.grad_steps;
            let mask = learner.mask_host().unwrap();
            assert_eq!(
                zeros(&mask),
                pruned,
                "{schedule} step {step}: sparsity changed"
            );
            let params = learner.params_host().unwrap();
            let (first, second) = (
                state_of(learner, "optim.first"),
                state_of(learner, "optim.second"),
            );
            for i in 0..mask.len() {
                if mask[i] == 0.0 {
                    assert_eq!(params[i], 0.0, "{schedule} step {step}: pruned weight {i}");
                }
                if mask[i] == 1.0 && mask_before[i] == 0.0 {
                    assert!(
                        params[i] == 0.0 && first[i] == 0.0 && second[i] == 0.0,
                        "{schedule} step {step}: grown weight {i} starts at {} with moments {} {}",
                        params[i],
                        first[i],
                        second[i]
                    );
                }
            }
            match change {
                Some(c) => {
                    assert_eq!(c.dropped, c.grown, "{schedule} step {step}");
                    let grown = (0..mask.len())
                        .filter(|&i| mask[i] == 1.0 && mask_before[i] == 0.0)
                        .count();
                    assert_eq!(grown as u64, c.grown, "{schedule} step {step}");
                    rewired += grown;
                }
                None => assert_eq!(
                    mask, mask_before,
                    "{schedule} step {step}: off-schedule change"
                ),
            }
        }
        assert!(
            rewired > 100,
            "{schedule}: only {rewired} connections moved"
        );
    }
}

#[test]
fn ste_computes_with_the_top_k_of_its_dense_weights_every_step() {
    let mut rig = setup(config("ste", &["prune.end=0.3"]));
    let mut came_back = 0;
    for _ in 0..200 {
        let mask_before = rig.learner.mask_host().unwrap();
        let change = rig.learn();
        let learner = &rig.learner;
        assert!(change.is_some(), "STE updates its mask every step");
        let (mask, params) = (learner.mask_host().unwrap(), learner.params_host().unwrap());
        let dense = state_of(learner, "ste.dense");
        for i in 0..mask.len() {
            assert_eq!(params[i], dense[i] * mask[i]);
        }
        came_back += (0..mask.len())
            .filter(|&i| mask[i] == 1.0 && mask_before[i] == 0.0)
            .count();
    }
    let target = rig.pruner.config().target_at(rig.learner.grad_steps);
    let sparsity = rig.pruner.report().global;
    assert!((sparsity - target).abs() < 0.01, "{sparsity} vs {target}");
    assert!(came_back > 0, "no pruned weight ever came back under STE");
}

#[test]
fn sparse_training_runs_resume_exactly() {
    for schedule in ["rigl", "ste"] {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dst-resume-{schedule}"));
        let _ = std::fs::remove_dir_all(&root);
        let opts = |d: &str| RunOptions {
            run_dir: Some(root.join(d)),
            ..RunOptions::default()
        };
        let whole = Trainer::new(config(schedule, &[]), opts("whole"))
            .unwrap()
            .run()
            .unwrap();
        let mut t = Trainer::new(config(schedule, &[]), opts("cut")).unwrap();
        t.train_for(1700).unwrap();
        t.checkpoint().unwrap();
        drop(t);
        let resumed = Trainer::resume(&root.join("cut"), RunOptions::default())
            .unwrap()
            .run()
            .unwrap();
        let tensors = |d: &str| sparq_runstate::load(&root.join(d)).unwrap().0.tensors;
        let (whole_t, cut_t) = (tensors("whole"), tensors("cut"));
        let names = |t: &[(String, Vec<f32>)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&whole_t), names(&cut_t), "{schedule}");
        let differ: Vec<String> = whole_t
            .iter()
            .zip(&cut_t)
            .filter(|((_, a), (_, b))| a != b)
            .map(|((n, a), (_, b))| {
                let n_diff = a.iter().zip(b).filter(|(x, y)| x != y).count();
                format!("{n} ({n_diff} of {} values)", a.len())
            })
            .collect();
        assert!(
            differ.is_empty(),
            "{schedule}: final tensors differ: {differ:?}"
        );
        assert_eq!(whole.eval, resumed.eval, "{schedule}");
        assert_eq!(whole.sparsity, resumed.sparsity, "{schedule}");
    }
}
