//! The wide-and-sparse configs keep the dense network's budget: at their target sparsity they
//! end with as many active weights as configs/cartpole_dqn.toml's dense network has.

use std::path::Path;

use sparq::{Config, NetSpec};
use sparq_envs::VecEnv;

/// Weights (biases left out: they are never pruned) of a config's network, and its sparsity.
fn weights_and_sparsity(file: &str) -> (usize, f64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../configs")
        .join(file);
    let cfg = Config::load(&path, &[]).unwrap().check().unwrap();
    let c = cfg.config();
    let envs = VecEnv::new(&c.env.id, 1).unwrap();
    let spec = NetSpec::from_config(
        &c.network,
        c.agent.dueling,
        envs.obs_space(),
        envs.num_actions(),
    );
    let weights = spec.layout().layers.iter().map(|l| l.weight_numel()).sum();
    let sparsity = if cfg.prune().is_enabled() {
        cfg.prune().target_sparsity()
    } else {
        0.0
    };
    (weights, sparsity)
}

#[test]
fn wide_sparse_configs_keep_the_dense_weight_count() {
    let (dense, _) = weights_and_sparsity("cartpole_dqn.toml");
    for (file, width) in [
        ("cartpole_wide2_rigl.toml", 2),
        ("cartpole_wide4_rigl.toml", 4),
    ] {
        let (weights, sparsity) = weights_and_sparsity(file);
        let h = 256 * width;
        assert_eq!(
            weights,
            4 * h + h * h + 2 * h,
            "{file}: not {width}x as wide"
        );
        let active = (1.0 - sparsity) * weights as f64;
        assert!(
            (active / dense as f64 - 1.0).abs() < 0.001,
            "{file}: {active:.0} active weights against the dense network's {dense}"
        );
    }
}
