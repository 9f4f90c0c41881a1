//! `q_values`, `act` and `act_batch` allocate nothing once the policy is loaded: a counting
//! global allocator sees zero allocations across calls of every kernel and batch size.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::network;
use sparq_runtime::{Activation, Format, Kernels, Options, Policy};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Only the test's own thread counts: the harness allocates on its threads meanwhile.
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn count() {
    if COUNTING.with(|c| c.get()) {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn calls_allocate_nothing() {
    let nets = [
        network(
            &[4],
            &[64, 64],
            2,
            Activation::Gelu,
            true,
            0.9,
            Format::DenseF32,
            1,
        ),
        network(
            &[4, 10, 10],
            &[128],
            3,
            Activation::Relu,
            false,
            0.9,
            Format::DenseF32,
            2,
        ),
    ];
    for f in nets {
        for format in [
            Format::DenseF32,
            Format::SparseF32,
            Format::DenseI8,
            Format::SparseI8,
        ] {
            let opts = Options {
                kernels: Kernels::Force(format),
                ..Options::default()
            };
            let mut p = Policy::from_file(f.clone(), opts).unwrap();
            let n = f.obs_len();
            let obs = vec![0.5f32; 70 * n];
            let mut q = vec![0f32; 70 * f.num_actions];
            let mut acts = vec![0usize; 70];
            let before = ALLOCS.load(Ordering::SeqCst);
            for _ in 0..3 {
                p.act(&obs[..n]).unwrap();
                p.q_values(&obs[..n], &mut q[..f.num_actions]).unwrap();
                p.q_values(&obs, &mut q).unwrap();
                p.act_batch(&obs, &mut acts).unwrap();
            }
            assert_eq!(
                ALLOCS.load(Ordering::SeqCst) - before,
                0,
                "{format:?} allocated"
            );
        }
    }
}
