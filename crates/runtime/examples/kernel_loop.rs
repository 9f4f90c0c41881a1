//! Profiling aid: `kernel_loop FILE csr|sell|blocked|dense N` calls q_values N times.
use sparq_runtime::{Format, Kernels, Options, Policy, SparseKernel};
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (sparse, kernels) = match a[2].as_str() {
        "csr" => (SparseKernel::Csr, Kernels::Force(Format::SparseF32)),
        "sell" => (SparseKernel::Sell, Kernels::Force(Format::SparseF32)),
        "dense" => (SparseKernel::Sell, Kernels::Force(Format::DenseF32)),
        _ => (SparseKernel::Blocked, Kernels::Force(Format::SparseF32)),
    };
    let mut p = Policy::load_with(
        &a[1],
        Options {
            kernels,
            sparse,
            isa: None,
        },
    )
    .unwrap();
    let n: usize = a[3].parse().unwrap();
    let obs = vec![0.3f32; p.obs_len()];
    let mut q = vec![0f32; p.num_actions()];
    let t = std::time::Instant::now();
    for _ in 0..n {
        p.q_values(std::hint::black_box(&obs), &mut q).unwrap();
    }
    println!("{:.3} us/call", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}
