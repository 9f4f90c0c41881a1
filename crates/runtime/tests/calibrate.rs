//! Calibration of int8 policy files: the Q-values move towards the f32 network's on states it was
//! not calibrated on, and nothing stored as int8 or pruned changes.

mod common;

use common::{Rng, network};
use sparq_runtime::calibrate::calibrate;
use sparq_runtime::{Activation, Format, Options, Policy, PolicyFile, quant};

/// The same network with its hidden linear layers stored as int8 (the head stays f32).
fn int8_twin(f: &PolicyFile) -> PolicyFile {
    let mut q = f.clone();
    let head = q.layers.len() - if q.dueling { 2 } else { 1 };
    for l in &mut q.layers[1..head] {
        let w = l.weights.to_dense(l.units, l.fan_in);
        let format = if l.weights.format().is_sparse() {
            Format::SparseI8
        } else {
            Format::DenseI8
        };
        l.weights = quant::encode(&w, l.units, l.fan_in, format);
    }
    q
}

fn states(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed);
    (0..n * dim).map(|_| rng.next()).collect()
}

fn q_values(f: &PolicyFile, obs: &[f32]) -> Vec<f32> {
    let mut p = Policy::from_file(f.clone(), Options::default()).unwrap();
    let mut q = vec![0f32; obs.len() / p.obs_len() * p.num_actions()];
    p.q_values(obs, &mut q).unwrap();
    q
}

fn mean_squared_error(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum::<f64>()
        / a.len() as f64
}

#[test]
fn calibration_brings_int8_q_values_towards_f32_and_keeps_weights_and_zeros() {
    for (sparsity, format) in [(0.0, Format::DenseF32), (0.7, Format::SparseF32)] {
        let f32_net = network(
            &[6],
            &[48, 64],
            3,
            Activation::Relu,
            false,
            sparsity,
            format,
            7,
        );
        let plain = int8_twin(&f32_net);
        let mut calibrated = plain.clone();
        calibrate(&mut calibrated, &f32_net, &states(4000, 6, 1)).unwrap();

        let test = states(2000, 6, 2);
        let want = q_values(&f32_net, &test);
        let (before, after) = (
            mean_squared_error(&q_values(&plain, &test), &want),
            mean_squared_error(&q_values(&calibrated, &test), &want),
        );
        assert!(
            after < 0.5 * before,
            "sparsity {sparsity}: {before:e} -> {after:e}"
        );

        // int8 weights untouched, the head's zeros kept, the file the same size.
        let head = plain.layers.len() - 1;
        for (a, b) in plain.layers[..head].iter().zip(&calibrated.layers[..head]) {
            assert_eq!(a.weights, b.weights, "{}", a.name);
        }
        let (h0, h1) = (&plain.layers[head], &calibrated.layers[head]);
        let zeros = |l: &sparq_runtime::LayerData| -> Vec<bool> {
            l.weights
                .to_dense(l.units, l.fan_in)
                .iter()
                .map(|v| *v == 0.0)
                .collect()
        };
        assert_eq!(zeros(h0), zeros(h1));
        assert_ne!(h0.weights, h1.weights, "the head was not refitted");
        assert_eq!(plain.to_bytes().len(), calibrated.to_bytes().len());
    }
}

#[test]
fn without_int8_layers_calibration_changes_nothing() {
    let f = network(
        &[6],
        &[32],
        2,
        Activation::Relu,
        false,
        0.5,
        Format::SparseF32,
        3,
    );
    let mut same = f.clone();
    calibrate(&mut same, &f, &states(500, 6, 1)).unwrap();
    assert_eq!(same, f);
}

#[test]
fn dueling_heads_keep_their_weights() {
    let f = network(
        &[6],
        &[32, 32],
        3,
        Activation::Relu,
        true,
        0.0,
        Format::DenseF32,
        5,
    );
    let plain = int8_twin(&f);
    let mut calibrated = plain.clone();
    calibrate(&mut calibrated, &f, &states(2000, 6, 1)).unwrap();
    let n = plain.layers.len();
    assert_eq!(plain.layers[n - 2..], calibrated.layers[n - 2..]);
    assert_ne!(
        plain.layers[1].bias, calibrated.layers[1].bias,
        "no bias correction"
    );
}
