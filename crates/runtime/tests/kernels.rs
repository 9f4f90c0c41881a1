//! Every kernel (dense/sparse × f32/int8, CSR and SELL-16, each instruction set, batch 1 and
//! tiles) gives the Q-values of a plain f64 forward pass over the same stored weights.

mod common;

use common::{Rng, network, reference};
use sparq_runtime::{Activation, Format, Isa, Kernels, Options, Policy, SparseKernel};

const FORMATS: [Format; 4] = [
    Format::DenseF32,
    Format::SparseF32,
    Format::DenseI8,
    Format::SparseI8,
];

fn isas() -> Vec<Isa> {
    let mut v = vec![Isa::Portable];
    match Isa::detect() {
        Isa::Avx512 => v.extend([Isa::Avx2, Isa::Avx512]),
        Isa::Avx2 => v.push(Isa::Avx2),
        Isa::Portable => {}
    }
    v
}

fn check(file: &sparq_runtime::PolicyFile, batch: usize, seed: u64) {
    let obs_len = file.obs_len();
    let mut rng = Rng(seed);
    let image = file.obs_shape.len() == 3;
    let obs: Vec<f32> = (0..batch * obs_len)
        .map(|_| {
            if image {
                (rng.next() > 0.5) as u8 as f32
            } else {
                rng.next() * 2.0
            }
        })
        .collect();
    for &format in &FORMATS {
        // The reference of the weights as this format stores them.
        let mut stored = file.clone();
        for l in &mut stored.layers {
            if l.kind == sparq_runtime::LayerKind::Linear {
                l.weights = sparq_runtime::quant::encode(
                    &l.weights.to_dense(l.units, l.fan_in),
                    l.units,
                    l.fan_in,
                    format,
                );
            }
        }
        let want: Vec<f64> = obs
            .chunks(obs_len)
            .flat_map(|o| reference(&stored, o))
            .collect();
        for isa in isas() {
            for sparse in [SparseKernel::Csr, SparseKernel::Sell, SparseKernel::Blocked] {
                let opts = Options {
                    kernels: Kernels::Force(format),
                    sparse,
                    isa: Some(isa),
                };
                let mut p = Policy::from_file(file.clone(), opts).unwrap();
                let mut q = vec![0f32; batch * file.num_actions];
                p.q_values(&obs, &mut q).unwrap();
                for (i, (&g, &w)) in q.iter().zip(&want).enumerate() {
                    let err = (g as f64 - w).abs() / w.abs().max(1.0);
                    assert!(
                        err < 1e-5,
                        "{format:?} {isa:?} {sparse:?} batch {batch}: q[{i}] = {g}, reference {w} (rel {err:.2e})"
                    );
                }
            }
        }
    }
}

#[test]
fn mlp_kernels_match_the_reference_at_every_sparsity_and_batch() {
    for (k, sparsity) in [0.0, 0.5, 0.9, 0.98].into_iter().enumerate() {
        let f = network(
            &[4],
            &[64, 70, 100],
            3,
            Activation::Relu,
            false,
            sparsity,
            Format::DenseF32,
            k as u64,
        );
        // Tiles of 8, 16 and 32 lanes; 37 and 100 leave a few observations for batch 1.
        for batch in [1, 3, 7, 13, 32, 37, 100] {
            check(&f, batch, 10 + batch as u64);
        }
    }
}

#[test]
fn every_activation_and_dueling_heads_match_the_reference() {
    for (k, act) in [
        Activation::Relu,
        Activation::Tanh,
        Activation::Elu,
        Activation::Gelu,
        Activation::LeakyRelu,
    ]
    .into_iter()
    .enumerate()
    {
        let f = network(
            &[6],
            &[33, 17],
            4,
            act,
            k % 2 == 0,
            0.7,
            Format::DenseF32,
            100 + k as u64,
        );
        for batch in [1, 8] {
            check(&f, batch, 7);
        }
    }
}

#[test]
fn minatar_shaped_cnn_matches_the_reference() {
    let f = network(
        &[4, 10, 10],
        &[128],
        3,
        Activation::Relu,
        false,
        0.9,
        Format::DenseF32,
        3,
    );
    for batch in [1, 8, 16, 33] {
        check(&f, batch, 5);
    }
    // Wide enough that the batch-1 convolution runs in several bands of rows; 61 columns out
    // leave the tile convolution a 1-column remainder after its 4-column strips.
    let f = network(
        &[2, 30, 63],
        &[16],
        2,
        Activation::Relu,
        false,
        0.5,
        Format::DenseF32,
        4,
    );
    for batch in [1, 7] {
        check(&f, batch, 6);
    }
}

#[test]
fn ties_go_to_the_lowest_action_as_torch_argmax() {
    assert_eq!(sparq_runtime::argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
}

/// Each observation's Q-values from a batch call equal, bit for bit, its own batch-1 call's.
fn same_bits_alone_and_in_a_batch(f: &sparq_runtime::PolicyFile, batch: usize) {
    let (len, a) = (f.obs_len(), f.num_actions);
    let mut rng = Rng(3);
    let obs: Vec<f32> = (0..batch * len).map(|_| rng.next() * 2.0 - 1.0).collect();
    for format in [Format::DenseF32, Format::DenseI8] {
        for isa in isas() {
            let opts = Options {
                kernels: Kernels::Force(format),
                sparse: SparseKernel::Blocked,
                isa: Some(isa),
            };
            let mut p = Policy::from_file(f.clone(), opts).unwrap();
            let mut q = vec![0f32; batch * a];
            p.q_values(&obs, &mut q).unwrap();
            for (o, qb) in obs.chunks(len).zip(q.chunks(a)) {
                let mut one = vec![0f32; a];
                p.q_values(o, &mut one).unwrap();
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&one),
                    bits(qb),
                    "{format:?} {isa:?}: {one:?} alone, {qb:?} in the batch"
                );
            }
        }
    }
}

#[test]
fn dense_layers_give_an_observation_the_same_bits_alone_and_in_a_batch() {
    // Widths off the kernels' chunk sizes (2-8 rows, 128 sums); tiles of 8, 16 and 32 lanes,
    // and 37 = a full tile and 5 observations one by one.
    let mlp = network(
        &[6],
        &[200, 70],
        3,
        Activation::Tanh,
        true,
        0.0,
        Format::DenseF32,
        7,
    );
    for batch in [7, 16, 37] {
        same_bits_alone_and_in_a_batch(&mlp, batch);
    }
    // Convolutions too: 9 output columns = whole strips and a remainder at every strip width.
    let cnn = network(
        &[3, 7, 11],
        &[20],
        4,
        Activation::Relu,
        false,
        0.0,
        Format::DenseF32,
        8,
    );
    for batch in [7, 16, 37] {
        same_bits_alone_and_in_a_batch(&cnn, batch);
    }
}
