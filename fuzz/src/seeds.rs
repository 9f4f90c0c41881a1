//! Valid inputs made with sparq's own writers, as a training run makes them: replay snapshots,
//! `VecEnv` snapshots, serialised pruners and whole checkpoint directories.

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use sparq_envs::VecEnv;
use sparq_prune::{
    Criterion, Granularity, LayerInfo, PruneParams, Pruner, ScheduleKind, Scope, Scores, StepSpec,
};
use sparq_replay::{Batch, ObsEncoding, PerParams, ReplayBuffer, ReplayConfig};

/// Environments per `VecEnv` in every seed (a restore needs the same count).
pub const NUM_ENVS: usize = 2;

/// The checkpoint's `meta.json`: the trainer's own schema, not a copy of it.
pub use sparq_runstate::CheckpointMeta as FuzzMeta;

fn fill(buf: &mut ReplayBuffer, steps: usize, rng: &mut Pcg64) {
    let (n, ol) = (buf.config().num_envs, buf.config().obs_len);
    let bits = buf.config().encoding == ObsEncoding::Bits;
    let value = |rng: &mut Pcg64| {
        if bits {
            rng.random_range(0..2) as f32
        } else {
            rng.random_range(-2.0..2.0)
        }
    };
    let mut obs: Vec<f32> = (0..n * ol).map(|_| value(rng)).collect();
    for _ in 0..steps {
        let next: Vec<f32> = (0..n * ol).map(|_| value(rng)).collect();
        let actions: Vec<usize> = (0..n).map(|_| rng.random_range(0..4)).collect();
        let rewards: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let term: Vec<bool> = (0..n).map(|_| rng.random_bool(0.08)).collect();
        let trunc: Vec<bool> = (0..n).map(|_| rng.random_bool(0.04)).collect();
        buf.add(&obs, &actions, &rewards, &term, &trunc, &next)
            .expect("seed transitions are valid");
        obs = next;
        for e in 0..n {
            if term[e] || trunc[e] {
                for v in &mut obs[e * ol..(e + 1) * ol] {
                    *v = value(rng);
                }
            }
        }
    }
    if buf.config().prioritized.is_some() && buf.can_sample(8) {
        let mut batch = Batch::new(8, ol);
        buf.sample(8, 0.5, rng, &mut batch)
            .expect("seed buffer can sample");
        let td: Vec<f32> = (0..8).map(|i| i as f32 * 0.7 - 2.0).collect();
        buf.update_priorities(&batch.indices, &td)
            .expect("seed priorities are valid");
    }
}

/// Snapshots of small buffers covering both encodings, PER, n-step, several envs and wrapped rings.
pub fn replay_snapshots() -> Vec<Vec<u8>> {
    let per = Some(PerParams {
        alpha: 0.6,
        beta0: 0.4,
        eps: 1e-3,
    });
    let configs = [
        (64, 1, 4, ObsEncoding::F32, 1, None, 30),
        (90, 2, 4, ObsEncoding::F32, 3, per, 70),
        (40, 2, 20, ObsEncoding::Bits, 1, per, 35),
        (60, 3, 9, ObsEncoding::Bits, 3, None, 10),
        (16, 2, 3, ObsEncoding::F32, 2, None, 0),
    ];
    let mut rng = Pcg64::seed_from_u64(5);
    configs
        .into_iter()
        .map(
            |(capacity, num_envs, obs_len, encoding, n_step, prioritized, steps)| {
                let cfg = ReplayConfig {
                    capacity,
                    num_envs,
                    obs_len,
                    encoding,
                    n_step,
                    gamma: 0.97,
                    prioritized,
                };
                let mut buf = ReplayBuffer::new(cfg).expect("seed replay config is valid");
                fill(&mut buf, steps, &mut rng);
                let mut bytes = Vec::new();
                buf.write_to(&mut bytes)
                    .expect("writing to a Vec cannot fail");
                bytes
            },
        )
        .collect()
}

/// A `VecEnv` of `NUM_ENVS` copies of `id`.
pub fn vec_env(id: &str) -> VecEnv {
    let mut env = VecEnv::new(id, NUM_ENVS).expect("registered id");
    env.set_parallelism(sparq_envs::Parallelism::Sequential);
    env
}

/// A snapshot of every registered environment, mid-episode after a few random steps.
pub fn env_snapshots() -> Vec<(String, Vec<u8>)> {
    let mut rng = Pcg64::seed_from_u64(9);
    sparq_envs::registered_ids()
        .into_iter()
        .map(|id| {
            let mut env = vec_env(&id);
            env.reset(17);
            for _ in 0..rng.random_range(5..60) {
                let actions: Vec<usize> = (0..NUM_ENVS)
                    .map(|_| rng.random_range(0..env.num_actions()))
                    .collect();
                env.step(&actions).expect("valid actions");
            }
            (
                id.to_string(),
                env.snapshot().expect("snapshot of a fresh VecEnv"),
            )
        })
        .collect()
}

/// The layers of a small MLP Q-network as the trainer describes them.
pub fn layers() -> Vec<LayerInfo> {
    vec![
        LayerInfo::new("fc0", [16, 4]),
        LayerInfo::new("fc1", [16, 16]),
        LayerInfo::output("out", [2, 16]),
    ]
}

/// Pruners in every schedule, scope, criterion and granularity, some after mask updates.
pub fn pruners() -> Vec<Pruner> {
    let base = PruneParams {
        start: StepSpec::Step(10),
        end: StepSpec::Fraction(0.5),
        frequency: 5,
        ..PruneParams::default()
    };
    let variants = [
        PruneParams {
            schedule: ScheduleKind::None,
            ..base.clone()
        },
        PruneParams {
            schedule: ScheduleKind::Polynomial,
            initial_sparsity: 0.1,
            ..base.clone()
        },
        PruneParams {
            schedule: ScheduleKind::OneShot,
            scope: Scope::Layerwise,
            criterion: Criterion::Random,
            ..base.clone()
        },
        PruneParams {
            schedule: ScheduleKind::Iterative,
            rounds: 4,
            scope: Scope::Erk,
            ..base.clone()
        },
        PruneParams {
            schedule: ScheduleKind::Static,
            target_sparsity: 0.5,
            ..base.clone()
        },
        PruneParams {
            schedule: ScheduleKind::Polynomial,
            granularity: Granularity::Neuron,
            exclude: vec!["fc1".into()],
            ..base.clone()
        },
        PruneParams {
            schedule: ScheduleKind::Polynomial,
            criterion: Criterion::Saliency,
            include: vec!["fc0".into(), "out".into()],
            ..base.clone()
        },
        PruneParams {
            schedule: ScheduleKind::Set,
            scope: Scope::Erk,
            ..base.clone()
        },
        PruneParams {
            schedule: ScheduleKind::Rigl,
            scope: Scope::Layerwise,
            ..base.clone()
        },
        PruneParams {
            schedule: ScheduleKind::Ste,
            scope: Scope::Erk,
            initial_sparsity: 0.2,
            ..base
        },
    ];
    let mut rng = Pcg64::seed_from_u64(3);
    variants
        .into_iter()
        .enumerate()
        .map(|(i, params)| {
            let config = params.check(100).expect("seed prune params are valid");
            let mut p = Pruner::new(config, layers(), i as u64).expect("seed pruner builds");
            for step in 0..rng.random_range(0..60) {
                let scores: Vec<Vec<f32>> = layers()
                    .iter()
                    .map(|l| (0..l.numel()).map(|_| rng.random()).collect())
                    .collect();
                let refs: Vec<&[f32]> = scores.iter().map(Vec::as_slice).collect();
                p.update(step, &Scores { rank: &refs, grow: &refs })
                    .expect("seed update is valid");
            }
            p
        })
        .collect()
}

/// The files of one checkpoint, relative to the run directory, as `save` wrote them.
pub struct CheckpointSeed {
    pub files: Vec<(String, Vec<u8>)>,
}

/// Checkpoints as the trainer writes them: with and without a pruner and a replay blob.
pub fn checkpoints() -> std::io::Result<Vec<CheckpointSeed>> {
    let envs = env_snapshots();
    let replays = replay_snapshots();
    let pruners = pruners();
    let tensors: Vec<(String, Vec<f32>)> = layers()
        .iter()
        .flat_map(|l| {
            let w: Vec<f32> = (0..l.numel()).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..l.units()).map(|i| i as f32 * -0.01).collect();
            [
                (format!("{}.weight", l.name), w),
                (format!("{}.bias", l.name), b),
            ]
        })
        .collect();
    // The resolved config, every key written, as the trainer stores it.
    let config = |id: &str| {
        let text =
            format!("[env]\nid = \"{id}\"\nnum_envs = {NUM_ENVS}\n[run]\ntotal_steps = 5000\n");
        sparq_config::Config::from_toml_str(&text, "seed", &[])
            .and_then(|c| c.to_toml_string())
            .map_err(std::io::Error::other)
    };
    let cases: [(usize, Option<usize>, Option<usize>); 4] = [
        (0, Some(1), Some(0)),
        (3, None, None),
        (1, Some(5), Some(1)),
        (5, Some(3), Some(2)),
    ];
    let mut out = Vec::new();
    for (k, (env, pruner, replay)) in cases.into_iter().enumerate() {
        let (id, env_blob) = &envs[env % envs.len()];
        let spec = sparq_envs::spec(id).map_err(std::io::Error::other)?;
        let network = sparq_config::NetworkConfig {
            hidden: vec![16, 16],
            ..Default::default()
        };
        let meta = FuzzMeta {
            format: sparq_runstate::FORMAT.into(),
            version: sparq_runstate::VERSION,
            env_id: id.clone(),
            net: sparq_policy::NetSpec::from_config(
                &network,
                false,
                spec.obs_space,
                spec.num_actions,
            ),
            config: config(id)?,
            env_steps: 1200,
            grad_steps: 50,
            optimizer_step: 50,
            episodes: 7,
            wall_s: 1.25,
            pruner: pruner.map(|i| pruners[i].clone()),
            rng: Pcg64::seed_from_u64(k as u64),
            stats: (1.5, -0.25, 3),
            evals: vec![sparq_log::EvalPoint {
                env_steps: 1000,
                wall_s: 1.0,
                return_mean: 21.5,
            }],
            best: None,
        };
        let mut blobs: Vec<(&str, &[u8])> = vec![("envs.json", env_blob)];
        if let Some(r) = replay {
            blobs.push(("replay.bin", &replays[r]));
        }
        let dir = crate::engine::scratch_dir()?;
        let checkpoints = dir.path().join("checkpoints");
        let name = format!("step_{:010}", 1200 + k);
        sparq_checkpoint::save(&checkpoints, &name, &meta, &tensors, &blobs, 0)
            .map_err(std::io::Error::other)?;
        let mut files = vec![(
            "checkpoints/latest".to_string(),
            std::fs::read(checkpoints.join("latest"))?,
        )];
        let mut names: Vec<String> = std::fs::read_dir(checkpoints.join(&name))?
            .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
            .collect();
        names.sort();
        for n in names {
            let bytes = std::fs::read(checkpoints.join(&name).join(&n))?;
            files.push((format!("checkpoints/{name}/{n}"), bytes));
        }
        out.push(CheckpointSeed { files });
    }
    Ok(out)
}
