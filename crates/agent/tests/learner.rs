//! Invariants of the learner: masks hold through updates, the target equals the masked online
//! network at every sync, the plain-Rust forward agrees with libtorch's, restore is exact.

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use sparq_agent::{BatchRef, HostPolicy, Learner, NetSpec, Scratch, forward};
use sparq_config::{Activation, AgentConfig, NetworkConfig, Optimizer};
use sparq_envs::ObsSpace;
use tch::{Device, Kind, Tensor};

struct Batch {
    obs: Vec<f32>,
    next_obs: Vec<f32>,
    actions: Vec<i64>,
    returns: Vec<f32>,
    discounts: Vec<f32>,
    weights: Vec<f32>,
}

impl Batch {
    fn random(rng: &mut Pcg64, n: usize, obs_len: usize, actions: usize) -> Self {
        let mut v = |k: usize| {
            (0..k)
                .map(|_| rng.random_range(-1.0f32..1.0))
                .collect::<Vec<_>>()
        };
        let obs = v(n * obs_len);
        let next_obs = v(n * obs_len);
        let returns = v(n);
        let weights = v(n).iter().map(|w| w.abs() + 0.1).collect();
        let actions = (0..n).map(|i| (i % actions) as i64).collect();
        let discounts = (0..n)
            .map(|i| if i % 5 == 0 { 0.0 } else { 0.99 })
            .collect();
        Batch {
            obs,
            next_obs,
            actions,
            returns,
            discounts,
            weights,
        }
    }
    fn as_ref(&self, weighted: bool) -> BatchRef<'_> {
        BatchRef {
            obs: &self.obs,
            next_obs: &self.next_obs,
            actions: &self.actions,
            returns: &self.returns,
            discounts: &self.discounts,
            weights: weighted.then_some(self.weights.as_slice()),
        }
    }
}

fn mlp_spec(dueling: bool) -> NetSpec {
    let net = NetworkConfig {
        hidden: vec![32, 16],
        ..NetworkConfig::default()
    };
    NetSpec::from_config(&net, dueling, ObsSpace::Vector { dim: 4 }, 3)
}

fn agent_cfg() -> AgentConfig {
    AgentConfig {
        lr: 1e-2,
        target_update_interval: 10,
        ..AgentConfig::default()
    }
}

fn new_learner(spec: NetSpec, cfg: &AgentConfig, seed: u64) -> Learner {
    Learner::new(spec, cfg, Device::Cpu, true, seed).unwrap()
}

fn half_mask(numel: usize, rng: &mut Pcg64) -> Vec<f32> {
    (0..numel)
        .map(|_| if rng.random::<f64>() < 0.5 { 0.0 } else { 1.0 })
        .collect()
}

#[test]
fn masks_survive_a_hundred_updates_with_momentum() {
    let mut rng = Pcg64::seed_from_u64(1);
    for optimizer in [Optimizer::Adam, Optimizer::RmspropCentered] {
        let cfg = AgentConfig {
            optimizer,
            ..agent_cfg()
        };
        let mut l = new_learner(mlp_spec(false), &cfg, 1);
        // A few dense steps first so the optimizer has momentum in every entry.
        for _ in 0..5 {
            l.update(&Batch::random(&mut rng, 32, 4, 3).as_ref(false), false)
                .unwrap();
        }
        let mask = half_mask(l.layout().numel, &mut rng);
        l.set_mask(&mask).unwrap();
        for _ in 0..100 {
            l.update(&Batch::random(&mut rng, 32, 4, 3).as_ref(true), false)
                .unwrap();
        }
        let state = l.state_host().unwrap();
        for (name, values) in &state {
            if name == "saliency" {
                continue;
            }
            for (i, (&v, &m)) in values.iter().zip(&mask).enumerate() {
                if m == 0.0 {
                    assert_eq!(v, 0.0, "{optimizer:?}: {name}[{i}] regrew to {v}");
                }
            }
        }
        let params = l.params_host().unwrap();
        let moved = params
            .iter()
            .zip(&mask)
            .filter(|(v, m)| **m == 1.0 && **v != 0.0)
            .count();
        assert!(
            moved > mask.iter().filter(|m| **m == 1.0).count() * 9 / 10,
            "kept weights must stay trainable"
        );
    }
}

#[test]
fn target_equals_masked_online_at_every_sync() {
    let mut rng = Pcg64::seed_from_u64(2);
    let mut l = new_learner(mlp_spec(true), &agent_cfg(), 2);
    let mask = half_mask(l.layout().numel, &mut rng);
    l.set_mask(&mask).unwrap();
    for step in 1..=35u64 {
        l.update(&Batch::random(&mut rng, 16, 4, 3).as_ref(false), false)
            .unwrap();
        let (online, target) = (l.params_host().unwrap(), l.target_host().unwrap());
        if step % 10 == 0 {
            assert_eq!(
                online, target,
                "target differs from online after sync at step {step}"
            );
            assert!(
                target
                    .iter()
                    .zip(&mask)
                    .all(|(v, m)| *m == 1.0 || *v == 0.0)
            );
        } else if step > 10 {
            assert_ne!(online, target, "target moved between syncs at step {step}");
        }
    }
}

#[test]
fn polyak_target_keeps_pruned_entries_zero() {
    let mut rng = Pcg64::seed_from_u64(3);
    let cfg = AgentConfig {
        tau: 0.1,
        target_update_interval: 1,
        ..agent_cfg()
    };
    let mut l = new_learner(mlp_spec(false), &cfg, 3);
    let before = l.target_host().unwrap();
    let mask = half_mask(l.layout().numel, &mut rng);
    l.set_mask(&mask).unwrap();
    l.update(&Batch::random(&mut rng, 16, 4, 3).as_ref(false), false)
        .unwrap();
    let (online, target) = (l.params_host().unwrap(), l.target_host().unwrap());
    for i in 0..online.len() {
        let want = if mask[i] == 0.0 {
            0.0
        } else {
            0.9 * before[i] + 0.1 * online[i]
        };
        assert!(
            (target[i] - want).abs() < 1e-6,
            "target[{i}] = {}, want {want}",
            target[i]
        );
    }
}

#[test]
fn host_forward_matches_libtorch() {
    let mut rng = Pcg64::seed_from_u64(4);
    let conv = NetworkConfig {
        hidden: vec![24],
        conv_channels: vec![8],
        ..NetworkConfig::default()
    };
    let minatar = ObsSpace::Binary {
        channels: 4,
        height: 10,
        width: 10,
    };
    let mut specs = vec![
        mlp_spec(false),
        mlp_spec(true),
        NetSpec::from_config(&conv, false, minatar.clone(), 6),
        NetSpec::from_config(&conv, true, minatar, 6),
    ];
    for act in [
        Activation::Tanh,
        Activation::Elu,
        Activation::Gelu,
        Activation::LeakyRelu,
    ] {
        specs.push(NetSpec {
            activation: act,
            ..mlp_spec(false)
        });
    }
    for spec in specs {
        let layout = spec.layout();
        let flat = sparq_agent::init_params(&layout, Device::Cpu, 5).unwrap();
        let mut params = vec![0f32; layout.numel];
        flat.copy_data(&mut params, layout.numel);
        let policy = HostPolicy::new(spec.clone(), params).unwrap();
        let obs_len = spec.obs.len();
        let binary = matches!(spec.obs, ObsSpace::Binary { .. });
        let (mut s, mut q) = (Scratch::default(), Vec::new());
        for _ in 0..50 {
            let obs: Vec<f32> = (0..obs_len)
                .map(|_| {
                    if binary {
                        f32::from(rng.random::<bool>())
                    } else {
                        rng.random_range(-2.0..2.0)
                    }
                })
                .collect();
            let mut shape = vec![1i64];
            shape.extend(spec.obs.shape().iter().map(|&d| d as i64));
            let x = Tensor::from_slice(&obs).view(shape.as_slice());
            let want = forward(&spec, &layout, &flat, &x).unwrap();
            let mut want_v = vec![0f32; spec.num_actions];
            want.copy_data(&mut want_v, spec.num_actions);
            policy.q_values(&obs, &mut s, &mut q);
            for (a, b) in q.iter().zip(&want_v) {
                assert!(
                    (a - b).abs() < 1e-5 * (1.0 + b.abs()),
                    "{:?}: host {a} vs libtorch {b}",
                    spec.activation
                );
            }
            let greedy = want.argmax(1, false).int64_value(&[0]) as usize;
            assert_eq!(policy.greedy(&obs, &mut s, &mut q), greedy);
        }
    }
}

#[test]
fn restored_learner_makes_a_bit_identical_next_update() {
    let mut rng = Pcg64::seed_from_u64(6);
    let cfg = agent_cfg();
    let mut a = new_learner(mlp_spec(true), &cfg, 6);
    a.set_mask(&half_mask(a.layout().numel, &mut rng)).unwrap();
    for _ in 0..7 {
        a.update(&Batch::random(&mut rng, 16, 4, 3).as_ref(false), false)
            .unwrap();
    }
    let mut b = new_learner(mlp_spec(true), &cfg, 99);
    b.restore_host(&a.state_host().unwrap(), a.grad_steps, a.optimizer_step())
        .unwrap();
    assert_eq!(a.state_host().unwrap(), b.state_host().unwrap());
    for _ in 0..5 {
        let batch = Batch::random(&mut rng, 16, 4, 3);
        let ta = a.update(&batch.as_ref(true), true).unwrap();
        let tb = b.update(&batch.as_ref(true), true).unwrap();
        assert_eq!(ta, tb);
    }
    assert_eq!(a.state_host().unwrap(), b.state_host().unwrap());
    assert_eq!(a.grad_steps, b.grad_steps);
}

#[test]
fn restore_refuses_another_architecture() {
    let a = new_learner(mlp_spec(false), &agent_cfg(), 7);
    let wider = NetSpec {
        hidden: vec![64, 16],
        ..mlp_spec(false)
    };
    let mut b = new_learner(wider, &agent_cfg(), 7);
    let err = b
        .restore_host(&a.state_host().unwrap(), 0, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("another architecture"), "{err}");
}

#[test]
fn td_errors_match_the_loss_inputs() {
    // With a zero-initialised network every Q is 0, so |TD| = |return| exactly (discount·0 = 0).
    let mut rng = Pcg64::seed_from_u64(8);
    let mut l = new_learner(mlp_spec(false), &agent_cfg(), 8);
    let zeros = vec![0.0f32; l.layout().numel];
    l.restore_host(
        &[
            ("params", &zeros),
            ("target", &zeros),
            ("mask", &vec![1.0; zeros.len()]),
            ("optim.first", &zeros),
            ("optim.second", &zeros),
        ]
        .map(|(n, v)| (n.to_string(), v.clone())),
        0,
        0,
    )
    .unwrap();
    let batch = Batch::random(&mut rng, 16, 4, 3);
    let td = l.update(&batch.as_ref(false), true).unwrap().unwrap();
    for (t, r) in td.iter().zip(&batch.returns) {
        assert!((t - r.abs()).abs() < 1e-7, "{t} vs {r}");
    }
    let stats = l.take_stats().unwrap().unwrap();
    let huber: f64 = batch
        .returns
        .iter()
        .map(|&r| {
            let a = r.abs() as f64;
            if a < 1.0 { 0.5 * a * a } else { a - 0.5 }
        })
        .sum::<f64>()
        / 16.0;
    assert!(
        (stats.loss - huber).abs() < 1e-6,
        "loss {} vs {huber}",
        stats.loss
    );
    assert_eq!(stats.q_mean, 0.0);
    let _ = Kind::Float;
}

/// The named tensor of the learner's checkpoint state.
fn state_of(l: &Learner, name: &str) -> Vec<f32> {
    l.state_tensor_host(name)
        .unwrap()
        .unwrap_or_else(|| panic!("no tensor '{name}'"))
}

#[test]
fn straight_through_steps_the_dense_weights_and_computes_with_the_masked_ones() {
    let mut rng = Pcg64::seed_from_u64(4);
    let mut l = new_learner(mlp_spec(false), &agent_cfg(), 4);
    l.enable_straight_through().unwrap();
    let mask = half_mask(l.layout().numel, &mut rng);
    l.set_mask(&mask).unwrap();
    let dense_before = state_of(&l, "ste.dense");
    for _ in 0..20 {
        l.update(&Batch::random(&mut rng, 32, 4, 3).as_ref(false), false)
            .unwrap();
    }
    let (params, dense) = (l.params_host().unwrap(), state_of(&l, "ste.dense"));
    assert_eq!(l.ranking_weights_host().unwrap(), dense);
    let mut moved_while_masked = 0;
    for i in 0..mask.len() {
        assert_eq!(
            params[i],
            dense[i] * mask[i],
            "params[{i}] is not dense × mask"
        );
        if mask[i] == 0.0 && dense[i] != dense_before[i] {
            moved_while_masked += 1;
        }
    }
    let masked = mask.iter().filter(|&&m| m == 0.0).count();
    assert!(
        moved_while_masked > masked / 2,
        "the gradient must reach masked weights: {moved_while_masked} of {masked} moved"
    );
    // A checkpoint restores the dense copy too.
    let mut r = new_learner(mlp_spec(false), &agent_cfg(), 99);
    r.enable_straight_through().unwrap();
    r.restore_host(&l.state_host().unwrap(), l.grad_steps, l.optimizer_step())
        .unwrap();
    assert_eq!(state_of(&r, "ste.dense"), dense);
}

#[test]
fn the_kept_gradient_is_dense_and_only_kept_when_asked() {
    let mut rng = Pcg64::seed_from_u64(5);
    let mut l = new_learner(mlp_spec(false), &agent_cfg(), 5);
    let mask = half_mask(l.layout().numel, &mut rng);
    l.set_mask(&mask).unwrap();
    let b = Batch::random(&mut rng, 32, 4, 3);
    l.update(&b.as_ref(false), false).unwrap();
    assert!(l.take_dense_grad_host().unwrap().is_none());
    l.keep_dense_grad(true);
    l.update(&b.as_ref(false), false).unwrap();
    let g = l.take_dense_grad_host().unwrap().expect("kept");
    assert!(g.iter().all(|&x| x >= 0.0), "magnitudes");
    let masked_nonzero = (0..g.len())
        .filter(|&i| mask[i] == 0.0 && g[i] > 0.0)
        .count();
    assert!(
        masked_nonzero > 0,
        "pruned weights have a gradient too (RigL grows by it)"
    );
    assert!(l.take_dense_grad_host().unwrap().is_none(), "taken once");
}

/// libtorch's generator is one per process: networks initialised at once on several threads
/// still get exactly the weights their seeds name.
#[test]
fn initial_weights_depend_on_the_seed_alone_across_threads() {
    let layout = mlp_spec(false).layout();
    let draw = |seed: u64| {
        let t = sparq_agent::init_params(&layout, Device::Cpu, seed).unwrap();
        Vec::<f32>::try_from(t).unwrap()
    };
    let alone: Vec<Vec<f32>> = (0..4).map(draw).collect();
    assert!(alone[0] != alone[1]);
    std::thread::scope(|s| {
        for seed in 0..4u64 {
            let (alone, draw) = (&alone, &draw);
            s.spawn(move || {
                for round in 0..300 {
                    assert!(
                        draw(seed) == alone[seed as usize],
                        "seed {seed}, round {round}"
                    );
                }
            });
        }
    });
}
