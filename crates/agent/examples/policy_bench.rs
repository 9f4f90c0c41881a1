//! The Rust half of scripts/bench/policy-runtime: batch-1, batch-8 and batch-32 latency of one
//! exported policy under libtorch (the training forward, `sparq_agent::forward`, dense) and under
//! sparq-runtime with each kernel, at 1 thread, on states from the policy's own rollouts. Prints
//! one JSON line per (runtime, batch).
//!
//!   cargo run --example policy_bench -p sparq-agent -- FILE.sparq [--model NAME]
//!   cargo run --example policy_bench -p sparq-agent -- --rss tch FILE.sparq

use std::error::Error;
use std::hint::black_box;
use std::time::Instant;

use sparq_agent::NetSpec;
use sparq_envs::ObsSpace;
use sparq_runtime::{Format, Kernels, LayerKind, Options, Policy, PolicyFile, Role, SparseKernel};
use tch::Tensor;

/// Rounds: every measurement runs once per round, in turn, and reports the median of its rounds'
/// medians. The machine is shared and its speed drifts over seconds; measured back to back, two
/// runtimes could meet different weather, interleaved they share it.
const ROUNDS: usize = 5;
/// Calls timed one by one per measurement and round; the median is taken (per-call samples keep
/// preempted calls out of it), the fastest call is kept too.
const CALLS: usize = 500;
/// At most this long per measurement and round.
const MAX_S: f64 = 0.2;
const POOL: usize = 1024;

fn spec_and_params(f: &PolicyFile) -> (NetSpec, Vec<f32>) {
    let obs = match f.obs_shape[..] {
        [c, h, w] => ObsSpace::Binary {
            channels: c,
            height: h,
            width: w,
        },
        _ => ObsSpace::Vector { dim: f.obs_len() },
    };
    let conv_channels = f
        .layers
        .iter()
        .filter(|l| l.kind == LayerKind::Conv3x3)
        .map(|l| l.units)
        .collect();
    let hidden = f
        .layers
        .iter()
        .filter(|l| l.kind == LayerKind::Linear && l.role == Role::Hidden)
        .map(|l| l.units)
        .collect();
    use sparq_config::Activation as A;
    let activation = match f.activation {
        sparq_runtime::Activation::Relu => A::Relu,
        sparq_runtime::Activation::Tanh => A::Tanh,
        sparq_runtime::Activation::Elu => A::Elu,
        sparq_runtime::Activation::Gelu => A::Gelu,
        sparq_runtime::Activation::LeakyRelu => A::LeakyRelu,
    };
    let spec = NetSpec {
        obs,
        num_actions: f.num_actions,
        conv_channels,
        hidden,
        activation,
        dueling: f.dueling,
    };
    let mut params = Vec::new();
    for l in &f.layers {
        params.extend(l.weights.to_dense(l.units, l.fan_in));
        params.extend(&l.bias);
    }
    assert_eq!(
        params.len(),
        spec.layout().numel,
        "the file's layers are the spec's layout"
    );
    (spec, params)
}

/// Observations met by the policy acting greedily (ε = 0.1), episodes chained.
fn states(p: &mut Policy) -> Result<Vec<f32>, Box<dyn Error>> {
    let mut env = sparq_envs::make(p.env_id())?;
    let mut obs = vec![0f32; p.obs_len()];
    let mut out = Vec::with_capacity(POOL * obs.len());
    env.reset(Some(0), &mut obs);
    let mut lcg = 12345u64;
    for _ in 0..POOL {
        out.extend_from_slice(&obs);
        lcg = lcg.wrapping_mul(6364136223846793005).wrapping_add(1);
        let a = if (lcg >> 33) % 10 == 0 {
            ((lcg >> 40) as usize) % p.num_actions()
        } else {
            p.act(&obs)?
        };
        if env.step(a, &mut obs).done() {
            env.reset(None, &mut obs);
        }
    }
    Ok(out)
}

/// (median, fastest) µs per call of `f(i)`, each call timed on its own after a warm-up.
fn time(f: &mut dyn FnMut(usize)) -> (f64, f64) {
    for i in 0..100 {
        f(i);
    }
    let start = Instant::now();
    let mut us = Vec::with_capacity(CALLS);
    for i in 0..CALLS {
        let t = Instant::now();
        f(i);
        us.push(t.elapsed().as_secs_f64() * 1e6);
        if start.elapsed().as_secs_f64() > MAX_S && us.len() >= 100 {
            break;
        }
    }
    us.sort_by(f64::total_cmp);
    (us[us.len() / 2], us[0])
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0)
            })
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    tch::set_num_threads(1);
    if args.first().map(String::as_str) == Some("--rss") {
        // Peak resident memory of a libtorch process that runs the policy 1000 times.
        let (which, path) = (args[1].as_str(), &args[2]);
        let bytes = std::fs::read(path)?;
        let f = PolicyFile::from_bytes(&bytes)?;
        let obs = vec![0.1f32; f.obs_len()];
        if which != "tch" {
            return Err(
                "--rss takes tch (sparq-runtime's own: crates/runtime/examples/kernel_loop.rs)"
                    .into(),
            );
        }
        let (spec, params) = spec_and_params(&f);
        let flat = Tensor::from_slice(&params);
        let layout = spec.layout();
        let mut shape = vec![1i64];
        shape.extend(f.obs_shape.iter().map(|&d| d as i64));
        let _g = tch::no_grad_guard();
        for _ in 0..1000 {
            let x = Tensor::from_slice(&obs).view(shape.as_slice());
            black_box(
                sparq_agent::forward(&spec, &layout, &flat, &x)?
                    .argmax(1, false)
                    .int64_value(&[0]),
            );
        }
        println!("{{\"rss_kb\": {}}}", rss_kb());
        return Ok(());
    }
    let path = &args[0];
    let model = args
        .iter()
        .position(|a| a == "--model")
        .map_or(path.clone(), |i| args[i + 1].clone());
    let bytes = std::fs::read(path)?;
    let file = PolicyFile::from_bytes(&bytes)?;
    let mut auto = Policy::from_bytes(&bytes)?;
    let pool = states(&mut auto)?;
    let len = auto.obs_len();
    let a = auto.num_actions();
    let nnz: usize = file
        .layers
        .iter()
        .filter(|l| l.kind == LayerKind::Linear)
        .map(|l| l.source_nonzero)
        .sum();
    let total: usize = file
        .layers
        .iter()
        .filter(|l| l.kind == LayerKind::Linear)
        .map(|l| l.units * l.fan_in)
        .sum();
    let emit = |runtime: &str, batch: usize, (median, best): (f64, f64), extra: String| {
        println!(
            "{{\"model\": \"{model}\", \"runtime\": \"{runtime}\", \"batch\": {batch}, \"us\": {median:.3}, \"us_min\": {best:.3}, \"linear_sparsity\": {:.4}{extra}}}",
            1.0 - nnz as f64 / total as f64
        );
    };

    // libtorch, dense, the training forward.
    let (spec, params) = spec_and_params(&file);
    let layout = spec.layout();
    let flat = Tensor::from_slice(&params);
    let _g = tch::no_grad_guard();
    // sparq-runtime: each kernel forced, then the file's own (automatic) choice.
    use SparseKernel::{Blocked, Csr, Sell};
    let variants: [(&str, Kernels, SparseKernel); 9] = [
        (
            "runtime dense-f32",
            Kernels::Force(Format::DenseF32),
            Blocked,
        ),
        (
            "runtime sparse-f32 (csr)",
            Kernels::Force(Format::SparseF32),
            Csr,
        ),
        (
            "runtime sparse-f32 (sell-16)",
            Kernels::Force(Format::SparseF32),
            Sell,
        ),
        (
            "runtime sparse-f32",
            Kernels::Force(Format::SparseF32),
            Blocked,
        ),
        ("runtime dense-i8", Kernels::Force(Format::DenseI8), Blocked),
        (
            "runtime sparse-i8 (csr)",
            Kernels::Force(Format::SparseI8),
            Csr,
        ),
        (
            "runtime sparse-i8 (sell-16)",
            Kernels::Force(Format::SparseI8),
            Sell,
        ),
        (
            "runtime sparse-i8",
            Kernels::Force(Format::SparseI8),
            Blocked,
        ),
        ("runtime auto", Kernels::AsStored, Blocked),
    ];
    let mut policies = Vec::new();
    for (name, kernels, sparse) in variants {
        let p = Policy::from_file(
            file.clone(),
            Options {
                kernels,
                sparse,
                isa: None,
            },
        )?;
        policies.push((name, p));
    }
    // The memory-traffic bound of a batch-1 call: the same bytes read by a plain sum.
    let bound_bufs: Vec<Vec<u8>> = policies
        .iter()
        .map(|(_, p)| vec![1u8; p.layers().iter().map(|l| l.bytes).sum()])
        .collect();
    // Every measurement: a label, the call to time, and what its line reports besides.
    type Call<'a> = Box<dyn FnMut(usize) + 'a>;
    let mut calls: Vec<(String, usize, Call, String)> = Vec::new();

    // libtorch, dense, the training forward.
    for batch in [1usize, 8, 32] {
        let mut shape = vec![batch as i64];
        shape.extend(file.obs_shape.iter().map(|&d| d as i64));
        let mut q = vec![0f32; batch * a];
        let (spec, layout, flat, pool) = (&spec, &layout, &flat, &pool);
        let call = move |i: usize| {
            let off = (i * batch) % (POOL - batch + 1) * len;
            let x = Tensor::from_slice(&pool[off..off + batch * len]).view(shape.as_slice());
            let y = sparq_agent::forward(spec, layout, flat, &x).expect("forward");
            y.copy_data(&mut q, batch * a);
            black_box(&q);
        };
        calls.push(("tch dense".into(), batch, Box::new(call), String::new()));
    }

    for ((name, p), buf) in policies.iter().zip(&bound_bufs) {
        let layers = p.layers();
        let kernel_list = layers
            .iter()
            .map(|l| format!("{}={}", l.name, l.kernel))
            .collect::<Vec<_>>()
            .join(", ");
        let extra = format!(
            ", \"isa\": \"{}\", \"kernels\": \"{kernel_list}\", \"bytes_read\": {}",
            p.isa().name(),
            buf.len()
        );
        let read = move |_: usize| {
            let s: u64 = buf
                .chunks_exact(64)
                .map(|c| c[0] as u64 + c[63] as u64)
                .sum();
            black_box(s);
        };
        calls.push((format!("{name} stream"), 1, Box::new(read), String::new()));
        // Each batch size gets its own clone (its own scratch) of the policy.
        for batch in [1usize, 8, 32] {
            let mut p = p.clone();
            let mut q = vec![0f32; batch * a];
            let pool = &pool;
            let call = move |i: usize| {
                let off = (i * batch) % (POOL - batch + 1) * len;
                p.q_values(black_box(&pool[off..off + batch * len]), &mut q)
                    .expect("q_values");
                black_box(&q);
            };
            calls.push((name.to_string(), batch, Box::new(call), extra.clone()));
        }
    }

    let mut rounds: Vec<Vec<(f64, f64)>> = vec![Vec::new(); calls.len()];
    for _ in 0..ROUNDS {
        for (c, r) in calls.iter_mut().zip(&mut rounds) {
            r.push(time(&mut c.2));
        }
    }
    let summary = |r: &[(f64, f64)]| {
        let mut m: Vec<f64> = r.iter().map(|t| t.0).collect();
        m.sort_by(f64::total_cmp);
        (
            m[m.len() / 2],
            r.iter().map(|t| t.1).fold(f64::INFINITY, f64::min),
        )
    };
    let streams: std::collections::HashMap<String, f64> = calls
        .iter()
        .zip(&rounds)
        .filter_map(|(c, r)| {
            c.0.strip_suffix(" stream")
                .map(|n| (n.to_string(), summary(r).0))
        })
        .collect();
    for (c, r) in calls.iter().zip(&rounds) {
        if c.0.ends_with(" stream") {
            continue;
        }
        let stream = match streams.get(&c.0) {
            Some(us) if c.1 == 1 => format!(", \"stream_us\": {us:.3}"),
            _ => String::new(),
        };
        emit(&c.0, c.1, summary(r), format!("{}{stream}", c.3));
    }
    Ok(())
}
