//! `sparq export PATH --format policy|onnx [--int8] OUT`: the checkpoint's network for
//! deployment, checked against libtorch's forward on states from the policy's own rollouts
//! before anything is written.

use std::path::Path;

use anyhow::{Context, Result, bail};
use sparq_runtime::{Format, quant};

use super::policy::{self, Agreement};
use sparq_runstate::{load as load_checkpoint, policy_of};

/// f32 exports must reproduce libtorch's Q-values to this relative error (see [`Agreement`]) or
/// nothing is written. Both are f32; the sparse kernels and libtorch's BLAS (which varies by CPU)
/// add terms in different orders, and on networks whose Q-values are small sums of large terms
/// (Acrobot: |Q| ≈ 3) either one is ~1e-5 from an f64 forward, so the bar is 1e-4 and the
/// figures are printed.
pub const F32_TOLERANCE: f64 = 1e-4;

/// States from the policy's own rollouts that int8 policy files are calibrated on
/// (`sparq_runtime::calibrate`), and the offset of their seed from `--seed`.
const CALIBRATION_STATES: usize = 10_000;
const CALIBRATION_SEED_OFFSET: u64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// A sparq-runtime policy file.
    Policy,
    /// An ONNX model (opset 17).
    Onnx,
}

pub struct Request<'a> {
    pub path: &'a Path,
    pub kind: Kind,
    pub int8: bool,
    pub out: &'a Path,
    pub reference: Option<&'a Path>,
    pub states: usize,
    pub seed: u64,
}

pub fn run(r: Request) -> Result<()> {
    let (cp, _config) = load_checkpoint(r.path)?;
    let host = policy_of(&cp)?;
    let env_id = &cp.meta.env_id;
    let hash = policy::source_hash(&cp.path)?;
    let dense = policy::build(&host, env_id, hash, false, |_, _| Format::DenseF32);
    let dense_len = dense.to_bytes().len();
    let mut chosen = policy::build(&host, env_id, hash, r.int8, quant::auto_format);
    if r.int8 {
        // Calibrated on other episodes than the ones the agreement below is measured on.
        let seed = r.seed.wrapping_add(CALIBRATION_SEED_OFFSET);
        let calibration = super::record_states(&host, env_id, CALIBRATION_STATES, seed)?;
        sparq_runtime::calibrate::calibrate(&mut chosen, &dense, &calibration)
            .context("calibrating the int8 layers")?;
    }
    let bytes = match r.kind {
        Kind::Policy => chosen.to_bytes(),
        Kind::Onnx => super::onnx::model(&chosen),
    };

    let spec = host.spec();
    let (obs_len, actions) = (spec.obs.len(), spec.num_actions);
    let states = super::record_states(&host, env_id, r.states, r.seed)?;
    let torch = policy::torch_q(&host, &states, tch::Kind::Float)?;
    if let Some(path) = r.reference {
        policy::write_reference(path, &states, &torch, obs_len, actions)?;
    }
    println!(
        "{} export of {}",
        if r.kind == Kind::Policy {
            "policy"
        } else {
            "ONNX"
        },
        cp.path.display()
    );
    if r.kind == Kind::Policy {
        let mut rt =
            sparq_runtime::Policy::from_bytes(&bytes).context("reading back the policy file")?;
        let mut one = vec![0f32; torch.len()];
        for (s, q) in states
            .chunks_exact(obs_len)
            .zip(one.chunks_exact_mut(actions))
        {
            rt.q_values(s, q)?;
        }
        let mut batch = vec![0f32; torch.len()];
        rt.q_values(&states, &mut batch)?;
        let (a1, ab) = (
            Agreement::of(&one, &torch, actions),
            Agreement::of(&batch, &torch, actions),
        );
        for l in rt.layers() {
            println!(
                "  {:<10} {:>5}×{:<5} sparsity {:.4}  {:<20} {} bytes",
                l.name, l.shape.0, l.shape.1, l.sparsity, l.kernel, l.bytes
            );
        }
        // Both are f32: against an f64 forward each shows its own rounding, which is what the
        // two differ by.
        let exact = policy::torch_q(&host, &states, tch::Kind::Double)?;
        println!(
            "vs an f64 forward: max relative |ΔQ| of this file {:.3e} (batch 1), of libtorch f32 {:.3e}",
            Agreement::of(&one, &exact, actions).max_rel,
            Agreement::of(&torch, &exact, actions).max_rel
        );
        for (what, a) in [("batch 1", a1), ("batched", ab)] {
            println!(
                "vs libtorch on {} states ({what}): greedy action identical on {:.4}% ({} differ, of which {} are near-ties), max relative |ΔQ| {:.3e} (max |ΔQ| {:.3e})",
                a.states,
                100.0 * a.action_rate(),
                a.states - a.same_action,
                a.near_ties,
                a.max_rel,
                a.max_abs
            );
            if !r.int8 && (a.same_action + a.near_ties != a.states || a.max_rel > F32_TOLERANCE) {
                bail!(
                    "the policy file disagrees with libtorch ({what}: {} of {} greedy actions, max relative |ΔQ| {:.3e} > {F32_TOLERANCE:e}); nothing written",
                    a.same_action,
                    a.states,
                    a.max_rel
                );
            }
        }
    } else {
        println!(
            "  check it with onnxruntime: scripts/dev/check-onnx {} REFERENCE (write one with --reference)",
            r.out.display()
        );
    }
    let tmp = r.out.with_extension("tmp-export");
    std::fs::write(&tmp, &bytes).with_context(|| tmp.display().to_string())?;
    std::fs::rename(&tmp, r.out).with_context(|| r.out.display().to_string())?;
    println!(
        "wrote {} ({} bytes, {:.1}% of the dense f32 policy file's {dense_len})",
        r.out.display(),
        bytes.len(),
        100.0 * bytes.len() as f64 / dense_len as f64
    );
    Ok(())
}
