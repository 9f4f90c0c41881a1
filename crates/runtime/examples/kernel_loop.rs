//! Profiling and memory aid: `kernel_loop FILE auto|csr|sell|blocked|dense N` loads a policy, calls
//! `q_values` N times, and prints µs per call and the process's peak resident memory (a process
//! with no libtorch: what a deployment pays).
use sparq_runtime::{Format, Kernels, Options, Policy, SparseKernel};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 4 {
        eprintln!("usage: kernel_loop FILE auto|csr|sell|blocked|dense N");
        std::process::exit(2);
    }
    let sparse = SparseKernel::Blocked;
    let (sparse, kernels) = match a[2].as_str() {
        "auto" => (sparse, Kernels::AsStored),
        "csr" => (SparseKernel::Csr, Kernels::Force(Format::SparseF32)),
        "sell" => (SparseKernel::Sell, Kernels::Force(Format::SparseF32)),
        "dense" => (sparse, Kernels::Force(Format::DenseF32)),
        _ => (sparse, Kernels::Force(Format::SparseF32)),
    };
    let opts = Options {
        kernels,
        sparse,
        isa: None,
    };
    let mut p = Policy::load_with(&a[1], opts).unwrap_or_else(|e| {
        eprintln!("kernel_loop: {e}");
        std::process::exit(1)
    });
    let n: usize = a[3].parse().unwrap_or(1000);
    let obs = vec![0.3f32; p.obs_len()];
    let mut q = vec![0f32; p.num_actions()];
    let t = std::time::Instant::now();
    for _ in 0..n {
        p.q_values(std::hint::black_box(&obs), &mut q)
            .expect("q_values");
    }
    let rss_kb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.to_string()))
        })
        .unwrap_or_default();
    println!(
        "{{\"us_per_call\": {:.3}, \"rss_kb\": {rss_kb}}}",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
