//! `sample` and `update_priorities` must not allocate once the batch has its size (hot path).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::*;
use rand::SeedableRng;
use rand_pcg::Pcg64;
use sparq_replay::{Batch, ObsEncoding, ReplayBuffer, ReplayConfig};

struct Counting;

thread_local! {
    static TRACK: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if TRACK.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    COUNT.with(|c| c.set(0));
    TRACK.with(|t| t.set(true));
    f();
    TRACK.with(|t| t.set(false));
    COUNT.with(Cell::get)
}

#[test]
fn sampling_does_not_allocate() {
    for (encoding, prioritized) in [
        (ObsEncoding::F32, None),
        (ObsEncoding::Bits, per(0.6, 1e-6)),
    ] {
        let c = ReplayConfig {
            encoding,
            prioritized,
            ..cfg(400, 4, 16, 3, 0.99)
        };
        let mut b = ReplayBuffer::new(c).unwrap();
        let obs = vec![1.0; 64];
        for t in 0..150 {
            let done = [t % 7 == 0, false, t % 11 == 0, false];
            b.add(&obs, &[1; 4], &[1.0; 4], &done, &[false; 4], &obs)
                .unwrap();
        }
        let mut rng = Pcg64::seed_from_u64(0);
        let mut batch = Batch::new(32, 16);
        let td = vec![0.5f32; 32];
        let mut idx = vec![0usize; 32];
        let n = allocations(|| {
            for _ in 0..100 {
                b.sample(32, 0.5, &mut rng, &mut batch).unwrap();
                idx.copy_from_slice(&batch.indices);
                b.update_priorities(&idx, &td).unwrap();
            }
        });
        assert_eq!(n, 0, "{encoding:?}");
    }
}
