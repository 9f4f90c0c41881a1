//! The compute kernels, each written once as portable Rust and compiled three times: plain, and
//! under `avx2,fma` and `avx512f` target features, chosen at load time by CPU detection (the
//! default x86-64 target has only SSE2, so without this the loops would run 4 lanes wide).
//!
//! Batch 1 runs matrix × vector: dense rows four at a time against one input, sparse rows as
//! CSR, or on AVX-512 as SELL-16 (sliced ELLPACK: 16 rows sorted by length, interleaved, so one
//! gather feeds 16 rows at once and no row needs a horizontal sum). Batches run in tiles of
//! [`TILE`] observations stored feature-major (`[feature][TILE]`), so every weight is loaded once
//! per tile and multiplies a whole vector of observations: no gathers at all.

use crate::format::{Activation, Csr};

/// Observations per batch tile.
pub const TILE: usize = 32;
/// One feature of a tile: its value in each observation.
pub type Lane = [f32; TILE];

/// The instruction set the kernels were compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Portable,
    Avx2,
    Avx512,
}

impl Isa {
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }
}

/// A weight type: f32, or int8 scaled per output unit after accumulation.
pub trait Wt: Copy + Default + PartialEq + Send + Sync + 'static {
    fn f(self) -> f32;
}
impl Wt for f32 {
    #[inline(always)]
    fn f(self) -> f32 {
        self
    }
}
impl Wt for i8 {
    #[inline(always)]
    fn f(self) -> f32 {
        self as f32
    }
}

/// CSR with u16 columns (fan-in ≤ 65536 is checked on load).
#[derive(Debug, Clone)]
pub struct CsrK<T> {
    pub row_ptr: Vec<u32>,
    pub cols: Vec<u16>,
    pub vals: Vec<T>,
}

impl<T: Copy> CsrK<T> {
    pub fn from_csr(c: &Csr<T>) -> Self {
        CsrK {
            row_ptr: c.row_ptr.clone(),
            cols: c.cols.iter().map(|&j| j as u16).collect(),
            vals: c.vals.clone(),
        }
    }
    pub fn bytes(&self) -> usize {
        self.row_ptr.len() * 4 + self.cols.len() * 2 + self.vals.len() * std::mem::size_of::<T>()
    }
}

/// SELL-16: rows sorted by length (longest first) in slices of 16; slice `s` holds
/// `len_s` steps of 16 (column, value) pairs, one per row, zero-padded.
#[derive(Debug, Clone)]
pub struct Sell<T> {
    /// Entry offset of each slice (multiples of 16), plus the end.
    pub slice_ptr: Vec<u32>,
    pub cols: Vec<u16>,
    pub vals: Vec<T>,
    /// Original row of each sorted row; `u32::MAX` for padding rows.
    pub perm: Vec<u32>,
}

impl<T: Wt> Sell<T> {
    pub fn from_csr(c: &CsrK<T>) -> Self {
        let units = c.row_ptr.len() - 1;
        let len = |r: usize| (c.row_ptr[r + 1] - c.row_ptr[r]) as usize;
        let mut order: Vec<usize> = (0..units).collect();
        order.sort_by_key(|&r| std::cmp::Reverse(len(r)));
        let slices = units.div_ceil(16);
        let mut s = Sell {
            slice_ptr: vec![0],
            cols: Vec::new(),
            vals: Vec::new(),
            perm: vec![u32::MAX; slices * 16],
        };
        for (i, &r) in order.iter().enumerate() {
            s.perm[i] = r as u32;
        }
        for sl in 0..slices {
            let rows = &order[sl * 16..units.min(sl * 16 + 16)];
            let steps = rows.iter().map(|&r| len(r)).max().unwrap_or(0);
            for k in 0..steps {
                for lane in 0..16 {
                    let (col, val) = match rows.get(lane) {
                        Some(&r) if k < len(r) => {
                            let e = c.row_ptr[r] as usize + k;
                            (c.cols[e], c.vals[e])
                        }
                        _ => (0, T::default()),
                    };
                    s.cols.push(col);
                    s.vals.push(val);
                }
            }
            s.slice_ptr.push(s.cols.len() as u32);
        }
        s
    }
}

// ---- portable bodies (inlined into each target-feature wrapper) ----

#[inline(always)]
fn hsum16(a: &[f32; 16]) -> f32 {
    let mut s = [0f32; 8];
    for i in 0..8 {
        s[i] = a[i] + a[i + 8];
    }
    let t = [s[0] + s[4], s[1] + s[5], s[2] + s[6], s[3] + s[7]];
    (t[0] + t[2]) + (t[1] + t[3])
}

#[inline(always)]
fn finish(acc: f32, r: usize, scales: Option<&[f32]>, bias: &[f32]) -> f32 {
    match scales {
        Some(s) => acc * s[r] + bias[r],
        None => acc + bias[r],
    }
}

/// y = W x + b, W `[y.len() × x.len()]`; four rows share each load of x.
#[inline(always)]
fn gemv<T: Wt>(w: &[T], x: &[f32], scales: Option<&[f32]>, bias: &[f32], y: &mut [f32]) {
    let n = x.len();
    let (xc, xt) = x.as_chunks::<16>();
    let dot_tail = |row: &[T]| -> f32 {
        row[n - xt.len()..].iter().zip(xt).map(|(a, b)| a.f() * b).sum()
    };
    let rows = y.len();
    let mut r = 0;
    while r + 4 <= rows {
        let w0 = &w[r * n..(r + 1) * n];
        let w1 = &w[(r + 1) * n..(r + 2) * n];
        let w2 = &w[(r + 2) * n..(r + 3) * n];
        let w3 = &w[(r + 3) * n..(r + 4) * n];
        let (c0, c1, c2, c3) = (
            w0.as_chunks::<16>().0,
            w1.as_chunks::<16>().0,
            w2.as_chunks::<16>().0,
            w3.as_chunks::<16>().0,
        );
        let k = xc.len().min(c0.len()).min(c1.len()).min(c2.len()).min(c3.len());
        let (mut a0, mut a1, mut a2, mut a3) = ([0f32; 16], [0f32; 16], [0f32; 16], [0f32; 16]);
        for j in 0..k {
            let xv = &xc[j];
            for i in 0..16 {
                a0[i] += c0[j][i].f() * xv[i];
                a1[i] += c1[j][i].f() * xv[i];
                a2[i] += c2[j][i].f() * xv[i];
                a3[i] += c3[j][i].f() * xv[i];
            }
        }
        y[r] = finish(hsum16(&a0) + dot_tail(w0), r, scales, bias);
        y[r + 1] = finish(hsum16(&a1) + dot_tail(w1), r + 1, scales, bias);
        y[r + 2] = finish(hsum16(&a2) + dot_tail(w2), r + 2, scales, bias);
        y[r + 3] = finish(hsum16(&a3) + dot_tail(w3), r + 3, scales, bias);
        r += 4;
    }
    while r < rows {
        let w0 = &w[r * n..(r + 1) * n];
        let c0 = w0.as_chunks::<16>().0;
        let mut a0 = [0f32; 16];
        for (cw, xv) in c0.iter().zip(xc) {
            for i in 0..16 {
                a0[i] += cw[i].f() * xv[i];
            }
        }
        y[r] = finish(hsum16(&a0) + dot_tail(w0), r, scales, bias);
        r += 1;
    }
}

/// y = W x + b for CSR W; four partial sums per row.
#[inline(always)]
fn csr1<T: Wt>(m: &CsrK<T>, x: &[f32], scales: Option<&[f32]>, bias: &[f32], y: &mut [f32]) {
    for (r, yr) in y.iter_mut().enumerate() {
        let (a, b) = (m.row_ptr[r] as usize, m.row_ptr[r + 1] as usize);
        let (cols, vals) = (&m.cols[a..b], &m.vals[a..b]);
        let mut acc = [0f32; 4];
        let (cc, ct) = cols.as_chunks::<4>();
        let (vc, vt) = vals.as_chunks::<4>();
        for (c, v) in cc.iter().zip(vc) {
            for i in 0..4 {
                acc[i] += v[i].f() * x[c[i] as usize];
            }
        }
        let mut s = (acc[0] + acc[2]) + (acc[1] + acc[3]);
        for (c, v) in ct.iter().zip(vt) {
            s += v.f() * x[*c as usize];
        }
        *yr = finish(s, r, scales, bias);
    }
}

/// Y = W X + b over a tile; four rows share each load of a lane.
#[inline(always)]
fn gemm_tile<T: Wt>(w: &[T], x: &[Lane], scales: Option<&[f32]>, bias: &[f32], y: &mut [Lane]) {
    let n = x.len();
    let rows = y.len();
    let mut r = 0;
    while r < rows {
        let k = (rows - r).min(4);
        let mut acc = [[0f32; TILE]; 4];
        for j in 0..n {
            let xv = &x[j];
            for (q, a) in acc.iter_mut().enumerate().take(k) {
                let wv = w[(r + q) * n + j].f();
                for i in 0..TILE {
                    a[i] += wv * xv[i];
                }
            }
        }
        for (q, a) in acc.iter().enumerate().take(k) {
            let (s, b) = (scales.map_or(1.0, |s| s[r + q]), bias[r + q]);
            for i in 0..TILE {
                y[r + q][i] = a[i] * s + b;
            }
        }
        r += k;
    }
}

/// Y = W X + b over a tile for CSR W: each nonzero scales a whole lane.
#[inline(always)]
fn csr_tile<T: Wt>(m: &CsrK<T>, x: &[Lane], scales: Option<&[f32]>, bias: &[f32], y: &mut [Lane]) {
    for (r, yr) in y.iter_mut().enumerate() {
        let (a, b) = (m.row_ptr[r] as usize, m.row_ptr[r + 1] as usize);
        let (cols, vals) = (&m.cols[a..b], &m.vals[a..b]);
        let mut acc = [[0f32; TILE]; 2];
        let (cc, ct) = cols.as_chunks::<2>();
        let (vc, vt) = vals.as_chunks::<2>();
        for (c, v) in cc.iter().zip(vc) {
            let (x0, x1) = (&x[c[0] as usize], &x[c[1] as usize]);
            let (v0, v1) = (v[0].f(), v[1].f());
            for i in 0..TILE {
                acc[0][i] += v0 * x0[i];
                acc[1][i] += v1 * x1[i];
            }
        }
        for (c, v) in ct.iter().zip(vt) {
            let (x0, v0) = (&x[*c as usize], v.f());
            for i in 0..TILE {
                acc[0][i] += v0 * x0[i];
            }
        }
        let (s, bb) = (scales.map_or(1.0, |s| s[r]), bias[r]);
        for i in 0..TILE {
            yr[i] = (acc[0][i] + acc[1][i]) * s + bb;
        }
    }
}

/// 3×3 stride-1 valid convolution of a `[c, h, w]` image; each weight scales a row of outputs.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn conv3x3(x: &[f32], c: usize, h: usize, w: usize, wts: &[f32], bias: &[f32], y: &mut [f32]) {
    let (oh, ow) = (h - 2, w - 2);
    for (o, plane) in y.chunks_exact_mut(oh * ow).enumerate() {
        plane.fill(bias[o]);
        for ci in 0..c {
            let src = &x[ci * h * w..(ci + 1) * h * w];
            let k = &wts[(o * c + ci) * 9..(o * c + ci) * 9 + 9];
            for r in 0..oh {
                let dst = &mut plane[r * ow..(r + 1) * ow];
                for kr in 0..3 {
                    let line = &src[(r + kr) * w..(r + kr) * w + w];
                    for kc in 0..3 {
                        let kv = k[kr * 3 + kc];
                        for (d, s) in dst.iter_mut().zip(&line[kc..kc + ow]) {
                            *d += kv * s;
                        }
                    }
                }
            }
        }
    }
}

macro_rules! wrappers {
    ($($feat:literal => $m:ident),*) => {$(
        #[cfg(target_arch = "x86_64")]
        mod $m {
            use super::*;
            #[target_feature(enable = $feat)]
            pub fn gemv_f32(w: &[f32], x: &[f32], b: &[f32], y: &mut [f32]) { gemv(w, x, None, b, y) }
            #[target_feature(enable = $feat)]
            pub fn gemv_i8(w: &[i8], x: &[f32], s: &[f32], b: &[f32], y: &mut [f32]) { gemv(w, x, Some(s), b, y) }
            #[target_feature(enable = $feat)]
            pub fn csr1_f32(m: &CsrK<f32>, x: &[f32], b: &[f32], y: &mut [f32]) { csr1(m, x, None, b, y) }
            #[target_feature(enable = $feat)]
            pub fn csr1_i8(m: &CsrK<i8>, x: &[f32], s: &[f32], b: &[f32], y: &mut [f32]) { csr1(m, x, Some(s), b, y) }
            #[target_feature(enable = $feat)]
            pub fn gemm_tile_f32(w: &[f32], x: &[Lane], b: &[f32], y: &mut [Lane]) { gemm_tile(w, x, None, b, y) }
            #[target_feature(enable = $feat)]
            pub fn gemm_tile_i8(w: &[i8], x: &[Lane], s: &[f32], b: &[f32], y: &mut [Lane]) { gemm_tile(w, x, Some(s), b, y) }
            #[target_feature(enable = $feat)]
            pub fn csr_tile_f32(m: &CsrK<f32>, x: &[Lane], b: &[f32], y: &mut [Lane]) { csr_tile(m, x, None, b, y) }
            #[target_feature(enable = $feat)]
            pub fn csr_tile_i8(m: &CsrK<i8>, x: &[Lane], s: &[f32], b: &[f32], y: &mut [Lane]) { csr_tile(m, x, Some(s), b, y) }
            #[target_feature(enable = $feat)]
            pub fn conv3x3(x: &[f32], c: usize, h: usize, w: usize, k: &[f32], b: &[f32], y: &mut [f32]) { super::conv3x3(x, c, h, w, k, b, y) }
        }
    )*};
}
wrappers!("avx2,fma" => avx2, "avx512f" => avx512);

mod portable {
    use super::*;
    pub fn gemv_f32(w: &[f32], x: &[f32], b: &[f32], y: &mut [f32]) { gemv(w, x, None, b, y) }
    pub fn gemv_i8(w: &[i8], x: &[f32], s: &[f32], b: &[f32], y: &mut [f32]) { gemv(w, x, Some(s), b, y) }
    pub fn csr1_f32(m: &CsrK<f32>, x: &[f32], b: &[f32], y: &mut [f32]) { csr1(m, x, None, b, y) }
    pub fn csr1_i8(m: &CsrK<i8>, x: &[f32], s: &[f32], b: &[f32], y: &mut [f32]) { csr1(m, x, Some(s), b, y) }
    pub fn gemm_tile_f32(w: &[f32], x: &[Lane], b: &[f32], y: &mut [Lane]) { gemm_tile(w, x, None, b, y) }
    pub fn gemm_tile_i8(w: &[i8], x: &[Lane], s: &[f32], b: &[f32], y: &mut [Lane]) { gemm_tile(w, x, Some(s), b, y) }
    pub fn csr_tile_f32(m: &CsrK<f32>, x: &[Lane], b: &[f32], y: &mut [Lane]) { csr_tile(m, x, None, b, y) }
    pub fn csr_tile_i8(m: &CsrK<i8>, x: &[Lane], s: &[f32], b: &[f32], y: &mut [Lane]) { csr_tile(m, x, Some(s), b, y) }
    pub fn conv3x3(x: &[f32], c: usize, h: usize, w: usize, k: &[f32], b: &[f32], y: &mut [f32]) { super::conv3x3(x, c, h, w, k, b, y) }
}

/// Calls kernel `$f` compiled for `$isa`.
macro_rules! dispatch {
    ($isa:expr, $f:ident($($a:expr),*)) => {
        match $isa {
            // SAFETY: `Isa::detect` found the CPU features the wrapper was compiled for.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { avx512::$f($($a),*) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { avx2::$f($($a),*) },
            _ => portable::$f($($a),*),
        }
    };
}

/// A linear layer's weights in the form its kernel reads.
#[derive(Debug, Clone)]
pub enum LinearOp {
    Dense(Vec<f32>),
    DenseI8 { q: Vec<i8>, scales: Vec<f32> },
    Sparse { csr: CsrK<f32>, sell: Option<Sell<f32>> },
    SparseI8 { csr: CsrK<i8>, scales: Vec<f32>, sell: Option<Sell<i8>> },
}

impl LinearOp {
    /// Bytes of weights, indices and scales a batch-1 call reads.
    pub fn bytes(&self) -> usize {
        match self {
            LinearOp::Dense(w) => w.len() * 4,
            LinearOp::DenseI8 { q, scales } => q.len() + scales.len() * 4,
            LinearOp::Sparse { csr, sell } => sell.as_ref().map_or(csr.bytes(), |s| s.cols.len() * 6),
            LinearOp::SparseI8 { csr, scales, sell } => {
                scales.len() * 4 + sell.as_ref().map_or(csr.bytes(), |s| s.cols.len() * 3)
            }
        }
    }

    /// The kernel a batch-1 call runs, for reports.
    pub fn kernel_name(&self) -> &'static str {
        match self {
            LinearOp::Dense(_) => "dense-f32",
            LinearOp::DenseI8 { .. } => "dense-i8",
            LinearOp::Sparse { sell: None, .. } => "sparse-f32 (csr)",
            LinearOp::Sparse { sell: Some(_), .. } => "sparse-f32 (sell-16)",
            LinearOp::SparseI8 { sell: None, .. } => "sparse-i8 (csr)",
            LinearOp::SparseI8 { sell: Some(_), .. } => "sparse-i8 (sell-16)",
        }
    }

    /// y = W x + b for one input.
    pub fn run1(&self, isa: Isa, x: &[f32], b: &[f32], y: &mut [f32]) {
        match self {
            LinearOp::Dense(w) => dispatch!(isa, gemv_f32(w, x, b, y)),
            LinearOp::DenseI8 { q, scales } => dispatch!(isa, gemv_i8(q, x, scales, b, y)),
            #[cfg(target_arch = "x86_64")]
            LinearOp::Sparse { sell: Some(s), .. } if isa == Isa::Avx512 => {
                // SAFETY: AVX-512F was detected; columns were checked < x.len() on load.
                unsafe { sell_avx512::run_f32(s, x, b, y) }
            }
            #[cfg(target_arch = "x86_64")]
            LinearOp::SparseI8 { sell: Some(s), scales, .. } if isa == Isa::Avx512 => {
                // SAFETY: as above.
                unsafe { sell_avx512::run_i8(s, x, scales, b, y) }
            }
            LinearOp::Sparse { csr, .. } => dispatch!(isa, csr1_f32(csr, x, b, y)),
            LinearOp::SparseI8 { csr, scales, .. } => dispatch!(isa, csr1_i8(csr, x, scales, b, y)),
        }
    }

    /// Y = W X + b for a tile.
    pub fn run_tile(&self, isa: Isa, x: &[Lane], b: &[f32], y: &mut [Lane]) {
        match self {
            LinearOp::Dense(w) => dispatch!(isa, gemm_tile_f32(w, x, b, y)),
            LinearOp::DenseI8 { q, scales } => dispatch!(isa, gemm_tile_i8(q, x, scales, b, y)),
            LinearOp::Sparse { csr, .. } => dispatch!(isa, csr_tile_f32(csr, x, b, y)),
            LinearOp::SparseI8 { csr, scales, .. } => dispatch!(isa, csr_tile_i8(csr, x, scales, b, y)),
        }
    }
}

/// The convolution for one image.
#[allow(clippy::too_many_arguments)]
pub fn conv3x3_run(isa: Isa, x: &[f32], c: usize, h: usize, w: usize, k: &[f32], b: &[f32], y: &mut [f32]) {
    dispatch!(isa, conv3x3(x, c, h, w, k, b, y))
}

#[cfg(target_arch = "x86_64")]
mod sell_avx512 {
    //! SELL-16 with AVX-512 gathers: one 16-wide gather of x serves 16 rows.
    use super::{Sell, Wt};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn weights_f32(v: &[f32], k: usize) -> __m512 {
        // SAFETY: k + 16 ≤ v.len() (slices are whole multiples of 16 entries).
        unsafe { _mm512_loadu_ps(v.as_ptr().add(k)) }
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn weights_i8(v: &[i8], k: usize) -> __m512 {
        // SAFETY: as above.
        unsafe { _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(v.as_ptr().add(k) as *const __m128i))) }
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn run<T: Wt>(s: &Sell<T>, x: &[f32], load: impl Fn(&[T], usize) -> __m512, mut out: impl FnMut(usize, f32)) {
        debug_assert_eq!(s.cols.len(), s.vals.len());
        for (sl, w) in s.slice_ptr.windows(2).enumerate() {
            let (a, b) = (w[0] as usize, w[1] as usize);
            let (mut acc0, mut acc1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
            let mut k = a;
            // SAFETY: k + 16 ≤ b ≤ cols.len(); every column < x.len() (checked on load), so the
            // gathers stay inside x.
            unsafe {
                let col = |k: usize| _mm512_cvtepu16_epi32(_mm256_loadu_si256(s.cols.as_ptr().add(k) as *const __m256i));
                while k + 32 <= b {
                    let g0 = _mm512_i32gather_ps::<4>(col(k), x.as_ptr());
                    let g1 = _mm512_i32gather_ps::<4>(col(k + 16), x.as_ptr());
                    acc0 = _mm512_fmadd_ps(load(&s.vals, k), g0, acc0);
                    acc1 = _mm512_fmadd_ps(load(&s.vals, k + 16), g1, acc1);
                    k += 32;
                }
                if k < b {
                    let g0 = _mm512_i32gather_ps::<4>(col(k), x.as_ptr());
                    acc0 = _mm512_fmadd_ps(load(&s.vals, k), g0, acc0);
                }
            }
            let mut lanes = [0f32; 16];
            // SAFETY: 16 floats.
            unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), _mm512_add_ps(acc0, acc1)) };
            for (i, &v) in lanes.iter().enumerate() {
                let r = s.perm[sl * 16 + i];
                if r != u32::MAX {
                    out(r as usize, v);
                }
            }
        }
    }

    #[target_feature(enable = "avx512f")]
    pub fn run_f32(s: &Sell<f32>, x: &[f32], b: &[f32], y: &mut [f32]) {
        run(s, x, |v, k| weights_f32(v, k), |r, v| y[r] = v + b[r]);
    }
    #[target_feature(enable = "avx512f")]
    pub fn run_i8(s: &Sell<i8>, x: &[f32], sc: &[f32], b: &[f32], y: &mut [f32]) {
        run(s, x, |v, k| weights_i8(v, k), |r, v| y[r] = v * sc[r] + b[r]);
    }
}

/// The hidden layers' nonlinearity, in place; the same formulas as the trainer's host forward.
pub fn activate(f: Activation, x: &mut [f32]) {
    match f {
        Activation::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
        Activation::Tanh => x.iter_mut().for_each(|v| *v = v.tanh()),
        Activation::Elu => x.iter_mut().for_each(|v| *v = if *v > 0.0 { *v } else { v.exp_m1() }),
        Activation::Gelu => x
            .iter_mut()
            .for_each(|v| *v = 0.5 * *v * (1.0 + libm::erff(*v * std::f32::consts::FRAC_1_SQRT_2))),
        Activation::LeakyRelu => x.iter_mut().for_each(|v| *v = if *v > 0.0 { *v } else { 0.01 * *v }),
    }
}
