//! Calibrating an int8 policy file on states from the policy's own rollouts.
//!
//! Rounding a layer's weights to 8 bits shifts each unit's output by a state-dependent amount
//! whose mean over real states is not zero, and Q-values of different actions often differ by
//! less than that shift (CartPole: by 1e-3 of |Q|). Two corrections, both in the file's f32
//! parts, so the int8 weights, the kernels and the file's size stay as they are:
//! 1. **bias correction** (Nagel et al. 2019): each int8 layer's bias absorbs the mean error of
//!    its output on the calibration states, layers in order, so each sees the corrected ones
//!    before it;
//! 2. **head refit**: the head is re-fitted by least squares to the f32 network's Q-values on the
//!    quantized network's features, with its zero weights kept and a small ridge towards its own
//!    weights (units that never fire keep theirs). Not for dueling heads, whose Q-values mix two
//!    layers.

use crate::format::{LayerData, LayerKind, PolicyFile, Role, Weights};
use crate::{Error, Options, Policy, quant};

/// Ridge of the head refit, relative to the mean diagonal of the features' Gram matrix: enough
/// to keep the solve well-posed, small enough not to pull the fit off the targets.
const RIDGE: f64 = 1e-6;

/// Corrects `quantized` (an int8 file built from the same network as `reference`, its f32
/// twin) on `states` (row-major observations). A no-op without int8 layers.
pub fn calibrate(
    quantized: &mut PolicyFile,
    reference: &PolicyFile,
    states: &[f32],
) -> Result<(), Error> {
    let hidden = quantized.layers.len() - if quantized.dueling { 2 } else { 1 };
    let int8: Vec<usize> = (0..hidden)
        .filter(|&k| quantized.layers[k].weights.format().is_int8())
        .collect();
    let n = states.len() / quantized.obs_len().max(1);
    if int8.is_empty() || n == 0 {
        return Ok(());
    }
    for &k in &int8 {
        let want = outputs(reference, k, states)?;
        let got = outputs(quantized, k, states)?;
        let units = quantized.layers[k].units;
        for (u, b) in quantized.layers[k].bias.iter_mut().enumerate() {
            let shift: f64 = (0..n)
                .map(|i| f64::from(want[i * units + u]) - f64::from(got[i * units + u]))
                .sum();
            *b += (shift / n as f64) as f32;
        }
    }
    if !quantized.dueling {
        refit_head(quantized, reference, states)?;
    }
    Ok(())
}

/// Pre-activation outputs of layer `k` of `f` on `states`, `[n × units]`: the file cut after
/// layer `k`, which then plays the head.
fn outputs(f: &PolicyFile, k: usize, states: &[f32]) -> Result<Vec<f32>, Error> {
    let mut cut = first_layers(f, k + 1);
    cut.layers[k].role = Role::Out;
    cut.num_actions = cut.layers[k].units;
    cut.dueling = false;
    run(cut, states)
}

/// The features the head reads (the last hidden layer after its activation), `[n × width]`:
/// the file with an identity matrix for a head.
fn features(f: &PolicyFile, states: &[f32]) -> Result<Vec<f32>, Error> {
    let mut cut = first_layers(f, f.layers.len() - 1);
    let width = cut.layers.last().map_or(0, |l| l.units);
    let mut eye = vec![0f32; width * width];
    (0..width).for_each(|i| eye[i * width + i] = 1.0);
    cut.layers.push(LayerData {
        name: "identity".into(),
        kind: LayerKind::Linear,
        role: Role::Out,
        units: width,
        fan_in: width,
        source_nonzero: width,
        weights: Weights::DenseF32(eye),
        bias: vec![0.0; width],
    });
    cut.num_actions = width;
    run(cut, states)
}

/// `f` with only its first `n` layers (the rest are not copied).
fn first_layers(f: &PolicyFile, n: usize) -> PolicyFile {
    PolicyFile {
        env_id: f.env_id.clone(),
        obs_shape: f.obs_shape.clone(),
        num_actions: f.num_actions,
        activation: f.activation,
        dueling: f.dueling,
        source_hash: f.source_hash,
        layers: f.layers[..n].to_vec(),
    }
}

fn run(f: PolicyFile, states: &[f32]) -> Result<Vec<f32>, Error> {
    let units = f.num_actions;
    let mut p = Policy::from_file(f, Options::default())?;
    let mut out = vec![0f32; states.len() / p.obs_len() * units];
    p.q_values(states, &mut out)?;
    Ok(out)
}

/// Least squares of the head's weights and bias on the quantized features against the f32
/// network's Q-values, one action at a time over that action's nonzero weights.
fn refit_head(
    quantized: &mut PolicyFile,
    reference: &PolicyFile,
    states: &[f32],
) -> Result<(), Error> {
    let x = features(quantized, states)?;
    let target = run(reference.clone(), states)?;
    let head = quantized.layers.last_mut().expect("a head");
    if head.weights.format().is_int8() || head.kind != LayerKind::Linear {
        return Ok(());
    }
    let (actions, d) = (head.units, head.fan_in);
    let n = x.len() / d;
    // Gram matrix of [features, 1] and its right-hand sides, in f64.
    let m = d + 1;
    let mut gram = vec![0f64; m * m];
    let mut rhs = vec![0f64; m * actions];
    let mut row = vec![0f64; m];
    for i in 0..n {
        row[..d]
            .iter_mut()
            .zip(&x[i * d..(i + 1) * d])
            .for_each(|(r, &v)| *r = f64::from(v));
        row[d] = 1.0;
        for a in 0..m {
            if row[a] == 0.0 {
                continue;
            }
            for b in 0..m {
                gram[a * m + b] += row[a] * row[b];
            }
            for t in 0..actions {
                rhs[a * actions + t] += row[a] * f64::from(target[i * actions + t]);
            }
        }
    }
    let ridge = RIDGE * (0..m).map(|a| gram[a * m + a]).sum::<f64>() / m as f64;
    let mut w = head.weights.to_dense(actions, d);
    for t in 0..actions {
        // This action's nonzero weights and its bias (index d).
        let keep: Vec<usize> = (0..d).filter(|&j| w[t * d + j] != 0.0).chain([d]).collect();
        let old = |j: usize| f64::from(if j == d { head.bias[t] } else { w[t * d + j] });
        let k = keep.len();
        let mut a = vec![0f64; k * k];
        let mut b = vec![0f64; k];
        for (p, &jp) in keep.iter().enumerate() {
            for (q, &jq) in keep.iter().enumerate() {
                a[p * k + q] = gram[jp * m + jq];
            }
            a[p * k + p] += ridge;
            b[p] = rhs[jp * actions + t] + ridge * old(jp);
        }
        if !solve_spd(&mut a, &mut b, k) {
            continue;
        }
        for (&j, v) in keep.iter().zip(&b) {
            if j == d {
                head.bias[t] = *v as f32;
            } else {
                w[t * d + j] = *v as f32;
            }
        }
    }
    head.weights = quant::encode(&w, actions, d, head.weights.format());
    Ok(())
}

/// Solves `a x = b` for a symmetric positive definite `a` (`k × k`, overwritten by its Cholesky
/// factor) in place of `b`; false if `a` is not positive definite.
fn solve_spd(a: &mut [f64], b: &mut [f64], k: usize) -> bool {
    for j in 0..k {
        let mut s = a[j * k + j];
        for p in 0..j {
            s -= a[j * k + p] * a[j * k + p];
        }
        if s <= 0.0 || !s.is_finite() {
            return false;
        }
        let l = s.sqrt();
        a[j * k + j] = l;
        for i in j + 1..k {
            let mut s = a[i * k + j];
            for p in 0..j {
                s -= a[i * k + p] * a[j * k + p];
            }
            a[i * k + j] = s / l;
        }
    }
    for i in 0..k {
        let s = (0..i).fold(b[i], |s, p| s - a[i * k + p] * b[p]);
        b[i] = s / a[i * k + i];
    }
    for i in (0..k).rev() {
        let s = (i + 1..k).fold(b[i], |s, p| s - a[p * k + i] * b[p]);
        b[i] = s / a[i * k + i];
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_small_system() {
        // [[4, 2], [2, 3]] x = [2, 1] has x = [0.5, 0].
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![2.0, 1.0];
        assert!(solve_spd(&mut a, &mut b, 2));
        assert!((b[0] - 0.5).abs() < 1e-12 && b[1].abs() < 1e-12, "{b:?}");
        let mut singular = vec![1.0, 1.0, 1.0, 1.0];
        assert!(!solve_spd(&mut singular, &mut [1.0, 1.0], 2));
    }
}
