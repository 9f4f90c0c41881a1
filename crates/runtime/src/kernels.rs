//! The compute kernels, each written once as portable Rust and compiled three times: plain, and
//! under `avx2,fma` and `avx512f` target features, chosen at load time by CPU detection (the
//! default x86-64 target has only SSE2, so without this the loops would run 4 lanes wide).
//!
//! Batch 1 runs matrix × vector: dense layers from their transposed weights, each input scaling
//! a few registers' worth of outputs' weights at a time; sparse rows as CSR, or on AVX-512 as
//! SELL-16 (sliced ELLPACK: 16 rows sorted by length, interleaved, so one gather feeds 16 rows at
//! once and no row needs a horizontal sum) or its blocked form. Batches run in tiles of up to
//! [`TILE`] observations stored feature-major (`[feature][TILE]`), convolutions included, so
//! every weight is loaded once per tile and multiplies a vector of observations: no gathers at
//! all. A tile computes 8, 16 or 32 lanes ([`Lanes`]); dense layers on 8 lanes run the batch-1
//! kernel's shape instead, with each register of weights scaling all 8 observations. Every dense
//! kernel adds each output's terms in input order with the same multiply-adds, so an observation
//! gets the same bits alone or in a batch (and libtorch's order, near enough to agree within
//! 1e-5).

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
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
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

/// A buffer of plain numbers starting on a 64-byte boundary, so that the AVX-512 kernels' 64-byte
/// loads never straddle two cache lines (a straddling load costs two).
#[derive(Debug, Clone, Default)]
pub struct Aligned<T> {
    lines: Vec<Line>,
    len: usize,
    _t: std::marker::PhantomData<T>,
}

#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

/// Numbers for which every bit pattern, zeros included, is a value.
pub trait Plain: Copy + 'static {}
impl Plain for f32 {}
impl Plain for i8 {}
impl Plain for u8 {}
impl Plain for Lane {}

impl<T: Plain> Aligned<T> {
    pub fn zeros(len: usize) -> Aligned<T> {
        Aligned {
            lines: vec![Line([0; 64]); (len * std::mem::size_of::<T>()).div_ceil(64)],
            len,
            _t: std::marker::PhantomData,
        }
    }

    pub fn from_slice(v: &[T]) -> Aligned<T> {
        let mut a = Aligned::zeros(v.len());
        a.copy_from_slice(v);
        a
    }
}

impl<T: Plain> std::ops::Deref for Aligned<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `lines` holds ≥ len·size_of::<T>() initialised bytes, 64-byte aligned, and
        // every bit pattern is a T (`Plain`).
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast(), self.len) }
    }
}

impl<T: Plain> std::ops::DerefMut for Aligned<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`; `&mut self` makes this the only view.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast(), self.len) }
    }
}

/// A weight type: f32, or int8 scaled per output unit after accumulation.
pub trait Wt: Plain + Default + PartialEq + Send + Sync {
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

/// Layers whose fan-in is not a multiple of 32 use [`Blocked`] only up to this fan-in (their
/// input is padded on the stack).
pub const BLOCKED_PAD_MAX: usize = 2048;

/// SELL-16 over column blocks of 32 ("blocked"): rows sorted by length in slices of 16 as in
/// [`Sell`]; each step of a slice holds 16 entries from one block of 32 columns, and a 5-bit
/// index picks each input from two registers holding that block of x (`vpermt2ps`), so no
/// gather touches memory. A slice's steps come in runs, one per block it touches, each run
/// loading its block of x once; the price is padding to the longest row of each (slice, block).
#[derive(Debug, Clone)]
pub struct Blocked<T> {
    /// Run offset of each slice, plus the end.
    pub slice_ptr: Vec<u32>,
    /// The runs of every slice in order: steps are stored back to back in the same order.
    pub runs: Vec<Run>,
    /// 16 per step: column within the block.
    pub idx: Aligned<u8>,
    pub vals: Aligned<T>,
    pub perm: Vec<u32>,
}

/// A slice's steps in one block of 32 columns.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub block: u16,
    pub steps: u16,
}

impl<T: Wt> Blocked<T> {
    pub fn from_csr(c: &CsrK<T>, fan_in: usize) -> Self {
        let units = c.row_ptr.len() - 1;
        let len = |r: usize| (c.row_ptr[r + 1] - c.row_ptr[r]) as usize;
        let mut order: Vec<usize> = (0..units).collect();
        order.sort_by_key(|&r| std::cmp::Reverse(len(r)));
        let slices = units.div_ceil(16);
        let blocks = fan_in.div_ceil(32).max(1);
        let (mut idx, mut vals) = (Vec::new(), Vec::new());
        let mut b = Blocked {
            slice_ptr: vec![0],
            runs: Vec::new(),
            idx: Aligned::default(),
            vals: Aligned::default(),
            perm: vec![u32::MAX; slices * 16],
        };
        for (i, &r) in order.iter().enumerate() {
            b.perm[i] = r as u32;
        }
        for sl in 0..slices {
            let rows = &order[sl * 16..units.min(sl * 16 + 16)];
            let mut cur: Vec<usize> = rows.iter().map(|&r| c.row_ptr[r] as usize).collect();
            for g in 0..blocks {
                let hi = (g + 1) * 32;
                let in_block: Vec<usize> = rows
                    .iter()
                    .zip(&cur)
                    .map(|(&r, &k)| {
                        c.cols[k..c.row_ptr[r + 1] as usize]
                            .iter()
                            .take_while(|&&j| (j as usize) < hi)
                            .count()
                    })
                    .collect();
                let steps = in_block.iter().copied().max().unwrap_or(0);
                if steps > 0 {
                    b.runs.push(Run {
                        block: g as u16,
                        steps: steps as u16,
                    });
                }
                for k in 0..steps {
                    for lane in 0..16 {
                        let (i, v) = match rows.get(lane) {
                            Some(_) if k < in_block[lane] => {
                                let e = cur[lane] + k;
                                ((c.cols[e] as usize - g * 32) as u8, c.vals[e])
                            }
                            _ => (0, T::default()),
                        };
                        idx.push(i);
                        vals.push(v);
                    }
                }
                for (k, n) in cur.iter_mut().zip(&in_block) {
                    *k += n;
                }
            }
            b.slice_ptr.push(b.runs.len() as u32);
        }
        b.idx = Aligned::from_slice(&idx);
        b.vals = Aligned::from_slice(&vals);
        b
    }
}

// ---- portable bodies (inlined into each target-feature wrapper) ----

/// a·b + c, fused where the kernel is compiled with FMA (elsewhere `mul_add` is a libm call).
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

#[inline(always)]
fn finish(acc: f32, r: usize, scales: Option<&[f32]>, bias: &[f32]) -> f32 {
    match scales {
        Some(s) => acc * s[r] + bias[r],
        None => acc + bias[r],
    }
}

/// Output sums per pass of [`axpy`].
const CHUNK: usize = 128;

/// y = W x + b (× scale per unit) from Wᵀ `[x.len() × y.len()]`: input j scales row j of Wᵀ
/// into [`CHUNK`] sums at a time. The portable form of `sell_avx512::dense_f32` and
/// `dense_avx2::dense_f32`, and like them unfused where the tile is (`madd::<false>`).
#[inline(always)]
fn axpy<T: Wt>(wt: &[T], x: &[f32], scales: Option<&[f32]>, bias: &[f32], y: &mut [f32]) {
    let units = y.len();
    let mut r = 0;
    while r < units {
        let k = (units - r).min(CHUNK);
        let mut acc = [0f32; CHUNK];
        for (j, &xj) in x.iter().enumerate() {
            let row = &wt[j * units + r..j * units + r + k];
            // Whole vectors of 16 (what the compiler vectorises), then the rest one by one.
            let (w16, wrest) = row.as_chunks::<16>();
            let (a16, arest) = acc[..k].as_chunks_mut::<16>();
            for (a, w) in a16.iter_mut().zip(w16) {
                for i in 0..16 {
                    a[i] = madd::<false>(w[i].f(), xj, a[i]);
                }
            }
            for (a, w) in arest.iter_mut().zip(wrest) {
                *a = madd::<false>(w.f(), xj, *a);
            }
        }
        for (i, &a) in acc[..k].iter().enumerate() {
            y[r + i] = finish(a, r + i, scales, bias);
        }
        r += k;
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

/// Y = W X + b over the first `L` lanes of a tile, `R` rows per pass sharing each load of a
/// lane; each output adds its terms in input order.
#[inline(always)]
fn gemm_tile<T: Wt, const FMA: bool, const L: usize, const R: usize>(
    w: &[T],
    x: &[Lane],
    scales: Option<&[f32]>,
    bias: &[f32],
    y: &mut [Lane],
) {
    let n = x.len();
    let rows = y.len();
    let mut r = 0;
    while r < rows {
        let k = (rows - r).min(R);
        let mut acc = [[0f32; L]; R];
        if k == R && std::mem::size_of::<T>() == 1 && R <= 4 {
            // int8: each row's weights widened to f32 a block at a time, in a vector loop, rather
            // than one by one in the loop over lanes, where the conversions outnumbered the sums.
            // With 8 rows the compiler turned the block loop into gathers, so `gemm_tile_rows`
            // gives int8 at most 4.
            const JB: usize = 64;
            let mut wf = [[0f32; JB]; R];
            for j0 in (0..n).step_by(JB) {
                let jb = JB.min(n - j0);
                for (f, q) in wf.iter_mut().zip(0..R) {
                    for (d, s) in f[..jb].iter_mut().zip(&w[(r + q) * n + j0..][..jb]) {
                        *d = s.f();
                    }
                }
                for (jj, xv) in x[j0..j0 + jb].iter().enumerate() {
                    for q in 0..R {
                        let wv = wf[q][jj];
                        for i in 0..L {
                            acc[q][i] = madd::<FMA>(wv, xv[i], acc[q][i]);
                        }
                    }
                }
            }
        } else if k == R {
            // Whole passes: fixed trip counts keep the R × L sums in registers.
            let wr: [&[T]; R] = std::array::from_fn(|q| &w[(r + q) * n..(r + q + 1) * n]);
            for (j, xv) in x.iter().enumerate() {
                for q in 0..R {
                    let wv = wr[q][j].f();
                    for i in 0..L {
                        acc[q][i] = madd::<FMA>(wv, xv[i], acc[q][i]);
                    }
                }
            }
        } else {
            for (j, xv) in x.iter().enumerate() {
                for (q, a) in acc.iter_mut().enumerate().take(k) {
                    let wv = w[(r + q) * n + j].f();
                    for i in 0..L {
                        a[i] = madd::<FMA>(wv, xv[i], a[i]);
                    }
                }
            }
        }
        for (q, a) in acc.iter().enumerate().take(k) {
            let (s, b) = (scales.map_or(1.0, |s| s[r + q]), bias[r + q]);
            for i in 0..L {
                y[r + q][i] = a[i] * s + b;
            }
        }
        r += k;
    }
}

/// [`gemm_tile`] with as many rows per pass as keep `ACC` sums in flight (the instruction set's
/// registers' worth that hides the multiply-add latency), so fewer lanes mean more rows.
#[inline(always)]
fn gemm_tile_rows<T: Wt, const FMA: bool, const L: usize, const ACC: usize>(
    w: &[T],
    x: &[Lane],
    scales: Option<&[f32]>,
    bias: &[f32],
    y: &mut [Lane],
) {
    // int8 at most 4 rows, where `gemm_tile` widens its weights a block at a time (faster
    // than 8 rows without that).
    let rows = if std::mem::size_of::<T>() == 1 {
        (ACC / L).min(4)
    } else {
        ACC / L
    };
    match rows {
        8.. => gemm_tile::<T, FMA, L, 8>(w, x, scales, bias, y),
        4.. => gemm_tile::<T, FMA, L, 4>(w, x, scales, bias, y),
        2.. => gemm_tile::<T, FMA, L, 2>(w, x, scales, bias, y),
        _ => gemm_tile::<T, FMA, L, 1>(w, x, scales, bias, y),
    }
}

/// Y = W X + b over the first `L` lanes of a tile for CSR W: each nonzero scales a lane.
#[inline(always)]
fn csr_tile<T: Wt, const L: usize>(
    m: &CsrK<T>,
    x: &[Lane],
    scales: Option<&[f32]>,
    bias: &[f32],
    y: &mut [Lane],
) {
    for (r, yr) in y.iter_mut().enumerate() {
        let (a, b) = (m.row_ptr[r] as usize, m.row_ptr[r + 1] as usize);
        let (cols, vals) = (&m.cols[a..b], &m.vals[a..b]);
        let mut acc = [[0f32; L]; 2];
        let (cc, ct) = cols.as_chunks::<2>();
        let (vc, vt) = vals.as_chunks::<2>();
        for (c, v) in cc.iter().zip(vc) {
            let (x0, x1) = (&x[c[0] as usize], &x[c[1] as usize]);
            let (v0, v1) = (v[0].f(), v[1].f());
            for i in 0..L {
                acc[0][i] += v0 * x0[i];
                acc[1][i] += v1 * x1[i];
            }
        }
        for (c, v) in ct.iter().zip(vt) {
            let (x0, v0) = (&x[*c as usize], v.f());
            for i in 0..L {
                acc[0][i] += v0 * x0[i];
            }
        }
        let (s, bb) = (scales.map_or(1.0, |s| s[r]), bias[r]);
        for i in 0..L {
            yr[i] = (acc[0][i] + acc[1][i]) * s + bb;
        }
    }
}

/// Output values per pass of [`conv3x3`] (on the stack).
const CONV_BAND: usize = 512;

/// 3×3 stride-1 valid convolution of a `[c, h, w]` image. Each output plane is computed a band of
/// rows at a time at the input's row stride (`w`, two wasted columns per row), so every weight
/// scales one contiguous run of the input into one contiguous run of sums: long vector loops,
/// where a run per output row (8 values on MinAtar) was mostly loop overhead. Each output adds
/// the bias, then its terms in (channel, row, column) order.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn conv3x3(x: &[f32], c: usize, h: usize, w: usize, wts: &[f32], bias: &[f32], y: &mut [f32]) {
    let (oh, ow) = (h - 2, w - 2);
    let band = (CONV_BAND / w).max(1);
    let mut acc = [0f32; CONV_BAND];
    for (o, plane) in y.chunks_exact_mut(oh * ow).enumerate() {
        let mut r0 = 0;
        while r0 < oh {
            let rows = band.min(oh - r0);
            let n = (rows - 1) * w + ow;
            let acc = &mut acc[..n];
            acc.fill(bias[o]);
            for ci in 0..c {
                let src = &x[ci * h * w..(ci + 1) * h * w];
                let k = &wts[(o * c + ci) * 9..(o * c + ci) * 9 + 9];
                for kr in 0..3 {
                    for kc in 0..3 {
                        let kv = k[kr * 3 + kc];
                        let start = (r0 + kr) * w + kc;
                        for (d, s) in acc.iter_mut().zip(&src[start..start + n]) {
                            *d += kv * s;
                        }
                    }
                }
            }
            for r in 0..rows {
                plane[(r0 + r) * ow..(r0 + r + 1) * ow].copy_from_slice(&acc[r * w..r * w + ow]);
            }
            r0 += rows;
        }
    }
}

/// [`conv3x3`] over the first `L` lanes of a tile: `x` is `[c, h, w]` and `y`
/// `[o, h - 2, w - 2]`, each of lanes (one observation per lane), so every weight multiplies a
/// whole vector of observations and the network's features stay in the tile layout its linear
/// layers read. Each output adds the bias, then its terms in [`conv3x3`]'s order with the same
/// separate multiply and add, so an observation gets the same bits alone or in a batch. Outputs
/// run in strips of as many columns as keep up to `ACC` sums in registers across all `c × 9`
/// terms.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn conv3x3_tile<const L: usize, const ACC: usize>(
    x: &[Lane],
    c: usize,
    h: usize,
    w: usize,
    wts: &[f32],
    bias: &[f32],
    y: &mut [Lane],
) {
    // Strips wider than 4 columns and 64 sums measured several times slower on AVX-512 (the
    // compiler stops keeping them in registers), hence the cap.
    match (ACC / L).min((64 / L).max(4)) {
        8.. => conv3x3_strips::<L, 8>(x, c, h, w, wts, bias, y),
        4.. => conv3x3_strips::<L, 4>(x, c, h, w, wts, bias, y),
        2.. => conv3x3_strips::<L, 2>(x, c, h, w, wts, bias, y),
        _ => conv3x3_strips::<L, 1>(x, c, h, w, wts, bias, y),
    }
}

/// [`conv3x3_tile`] in strips of `N` output columns (and single columns for the rest of a row).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn conv3x3_strips<const L: usize, const N: usize>(
    x: &[Lane],
    c: usize,
    h: usize,
    w: usize,
    wts: &[f32],
    bias: &[f32],
    y: &mut [Lane],
) {
    #[inline(always)]
    fn strip<const N: usize, const L: usize>(
        x: &[Lane],
        c: usize,
        h: usize,
        w: usize,
        k: &[f32],
        b: f32,
        y: &mut [Lane],
    ) {
        let mut acc = [[b; L]; N];
        for ci in 0..c {
            for kr in 0..3 {
                let row = &x[(ci * h + kr) * w..][..N + 2];
                for kc in 0..3 {
                    let kv = k[ci * 9 + kr * 3 + kc];
                    for (a, xv) in acc.iter_mut().zip(&row[kc..kc + N]) {
                        for i in 0..L {
                            a[i] += kv * xv[i];
                        }
                    }
                }
            }
        }
        for (yj, a) in y.iter_mut().zip(&acc) {
            yj[..L].copy_from_slice(a);
        }
    }
    let (oh, ow) = (h - 2, w - 2);
    for (o, plane) in y.chunks_exact_mut(oh * ow).enumerate() {
        let k = &wts[o * c * 9..(o + 1) * c * 9];
        for (r, out) in plane.chunks_exact_mut(ow).enumerate() {
            // The strip's top-left input: row r, column c0 of channel 0.
            let mut c0 = 0;
            while c0 + N <= ow {
                strip::<N, L>(&x[r * w + c0..], c, h, w, k, bias[o], &mut out[c0..]);
                c0 += N;
            }
            for c0 in c0..ow {
                strip::<1, L>(&x[r * w + c0..], c, h, w, k, bias[o], &mut out[c0..]);
            }
        }
    }
}

macro_rules! wrappers {
    ($($feat:literal => $m:ident, $acc:literal),*) => {$(
        #[cfg(target_arch = "x86_64")]
        mod $m {
            use super::*;
            #[target_feature(enable = $feat)]
            pub fn csr1_f32(m: &CsrK<f32>, x: &[f32], b: &[f32], y: &mut [f32]) { csr1(m, x, None, b, y) }
            #[target_feature(enable = $feat)]
            pub fn csr1_i8(m: &CsrK<i8>, x: &[f32], s: &[f32], b: &[f32], y: &mut [f32]) { csr1(m, x, Some(s), b, y) }
            #[target_feature(enable = $feat)]
            pub fn gemm_tile_f32<const L: usize>(w: &[f32], x: &[Lane], b: &[f32], y: &mut [Lane]) { gemm_tile_rows::<_, true, L, $acc>(w, x, None, b, y) }
            #[target_feature(enable = $feat)]
            pub fn gemm_tile_i8<const L: usize>(w: &[i8], x: &[Lane], s: &[f32], b: &[f32], y: &mut [Lane]) { gemm_tile_rows::<_, true, L, $acc>(w, x, Some(s), b, y) }
            #[target_feature(enable = $feat)]
            pub fn csr_tile_f32<const L: usize>(m: &CsrK<f32>, x: &[Lane], b: &[f32], y: &mut [Lane]) { csr_tile::<_, L>(m, x, None, b, y) }
            #[target_feature(enable = $feat)]
            pub fn csr_tile_i8<const L: usize>(m: &CsrK<i8>, x: &[Lane], s: &[f32], b: &[f32], y: &mut [Lane]) { csr_tile::<_, L>(m, x, Some(s), b, y) }
            #[target_feature(enable = $feat)]
            pub fn conv3x3(x: &[f32], c: usize, h: usize, w: usize, k: &[f32], b: &[f32], y: &mut [f32]) { super::conv3x3(x, c, h, w, k, b, y) }
            #[target_feature(enable = $feat)]
            pub fn conv3x3_tile<const L: usize>(x: &[Lane], c: usize, h: usize, w: usize, k: &[f32], b: &[f32], y: &mut [Lane]) { super::conv3x3_tile::<L, $acc>(x, c, h, w, k, b, y) }
        }
    )*};
}
// Each with the tile sums it keeps in flight: 8 registers (of 8 floats on AVX2, 16 on AVX-512;
// the portable kernels' SSE2 registers hold 4).
wrappers!("avx2,fma" => avx2, 64, "avx512f" => avx512, 128);

mod portable {
    use super::*;
    pub fn axpy_f32(wt: &[f32], x: &[f32], b: &[f32], y: &mut [f32]) {
        axpy(wt, x, None, b, y)
    }
    pub fn axpy_i8(wt: &[i8], x: &[f32], s: &[f32], b: &[f32], y: &mut [f32]) {
        axpy(wt, x, Some(s), b, y)
    }
    pub fn csr1_f32(m: &CsrK<f32>, x: &[f32], b: &[f32], y: &mut [f32]) {
        csr1(m, x, None, b, y)
    }
    pub fn csr1_i8(m: &CsrK<i8>, x: &[f32], s: &[f32], b: &[f32], y: &mut [f32]) {
        csr1(m, x, Some(s), b, y)
    }
    pub fn gemm_tile_f32<const L: usize>(w: &[f32], x: &[Lane], b: &[f32], y: &mut [Lane]) {
        gemm_tile_rows::<_, false, L, 32>(w, x, None, b, y)
    }
    pub fn gemm_tile_i8<const L: usize>(
        w: &[i8],
        x: &[Lane],
        s: &[f32],
        b: &[f32],
        y: &mut [Lane],
    ) {
        gemm_tile_rows::<_, false, L, 32>(w, x, Some(s), b, y)
    }
    pub fn csr_tile_f32<const L: usize>(m: &CsrK<f32>, x: &[Lane], b: &[f32], y: &mut [Lane]) {
        csr_tile::<_, L>(m, x, None, b, y)
    }
    pub fn csr_tile_i8<const L: usize>(
        m: &CsrK<i8>,
        x: &[Lane],
        s: &[f32],
        b: &[f32],
        y: &mut [Lane],
    ) {
        csr_tile::<_, L>(m, x, Some(s), b, y)
    }
    pub fn conv3x3(x: &[f32], c: usize, h: usize, w: usize, k: &[f32], b: &[f32], y: &mut [f32]) {
        super::conv3x3(x, c, h, w, k, b, y)
    }
    pub fn conv3x3_tile<const L: usize>(
        x: &[Lane],
        c: usize,
        h: usize,
        w: usize,
        k: &[f32],
        b: &[f32],
        y: &mut [Lane],
    ) {
        super::conv3x3_tile::<L, 32>(x, c, h, w, k, b, y)
    }
}

/// Calls kernel `$f` compiled for `$isa`.
macro_rules! dispatch {
    ($isa:expr, $f:ident $(::<$l:tt>)? ($($a:expr),*)) => {
        match $isa {
            // SAFETY: `Isa::detect` found the CPU features the wrapper was compiled for.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { avx512::$f $(::<$l>)? ($($a),*) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { avx2::$f $(::<$l>)? ($($a),*) },
            _ => portable::$f $(::<$l>)? ($($a),*),
        }
    };
}

/// Lanes a tile kernel computes: the tile's observations rounded up to 8, 16 or [`TILE`], so a
/// small batch does not pay for a whole tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lanes {
    L8,
    L16,
    L32,
}

impl Lanes {
    pub fn for_batch(k: usize) -> Lanes {
        match k {
            0..=8 => Lanes::L8,
            9..=16 => Lanes::L16,
            _ => Lanes::L32,
        }
    }

    pub fn count(self) -> usize {
        match self {
            Lanes::L8 => 8,
            Lanes::L16 => 16,
            Lanes::L32 => TILE,
        }
    }
}

/// Calls tile kernel `$f` for `$lanes` lanes, compiled for `$isa`.
macro_rules! dispatch_tile {
    ($isa:expr, $lanes:expr, $f:ident($($a:expr),*)) => {
        match $lanes {
            Lanes::L8 => dispatch!($isa, $f::<8>($($a),*)),
            Lanes::L16 => dispatch!($isa, $f::<16>($($a),*)),
            Lanes::L32 => dispatch!($isa, $f::<TILE>($($a),*)),
        }
    };
}

/// A linear layer's weights in the form its kernel reads.
#[derive(Debug, Clone)]
pub enum LinearOp {
    /// `w` row by row (`[units × fan_in]`, for batches and heads) and transposed
    /// (`[fan_in × units]`, for batch 1): each kernel reads its weights in order.
    Dense { w: Aligned<f32>, wt: Aligned<f32> },
    DenseI8 {
        q: Aligned<i8>,
        qt: Aligned<i8>,
        scales: Vec<f32>,
    },
    Sparse {
        csr: CsrK<f32>,
        one: Option<Sparse1<f32>>,
    },
    SparseI8 {
        csr: CsrK<i8>,
        scales: Vec<f32>,
        one: Option<Sparse1<i8>>,
    },
}

/// The AVX-512 batch-1 form of a sparse layer (CSR otherwise).
#[derive(Debug, Clone)]
pub enum Sparse1<T> {
    Sell(Sell<T>),
    Blocked(Blocked<T>),
}

impl<T> Sparse1<T> {
    fn bytes(&self) -> usize {
        let t = std::mem::size_of::<T>();
        match self {
            Sparse1::Sell(s) => s.cols.len() * (2 + t) + s.perm.len() * 4,
            Sparse1::Blocked(b) => b.idx.len() * (1 + t) + b.runs.len() * 4 + b.perm.len() * 4,
        }
    }
}

impl LinearOp {
    /// Bytes of weights, indices and scales a batch-1 call reads.
    pub fn bytes(&self) -> usize {
        match self {
            LinearOp::Dense { w, .. } => w.len() * 4,
            LinearOp::DenseI8 { q, scales, .. } => q.len() + scales.len() * 4,
            LinearOp::Sparse { csr, one } => one.as_ref().map_or(csr.bytes(), Sparse1::bytes),
            LinearOp::SparseI8 { csr, scales, one } => {
                scales.len() * 4 + one.as_ref().map_or(csr.bytes(), Sparse1::bytes)
            }
        }
    }

    /// The kernel a batch-1 call runs, for reports.
    pub fn kernel_name(&self) -> &'static str {
        match self {
            LinearOp::Dense { .. } => "dense-f32",
            LinearOp::DenseI8 { .. } => "dense-i8",
            LinearOp::Sparse { one: None, .. } => "sparse-f32 (csr)",
            LinearOp::Sparse {
                one: Some(Sparse1::Sell(_)),
                ..
            } => "sparse-f32 (sell-16)",
            LinearOp::Sparse {
                one: Some(Sparse1::Blocked(_)),
                ..
            } => "sparse-f32 (blocked)",
            LinearOp::SparseI8 { one: None, .. } => "sparse-i8 (csr)",
            LinearOp::SparseI8 {
                one: Some(Sparse1::Sell(_)),
                ..
            } => "sparse-i8 (sell-16)",
            LinearOp::SparseI8 {
                one: Some(Sparse1::Blocked(_)),
                ..
            } => "sparse-i8 (blocked)",
        }
    }

    /// y = W x + b for one input.
    pub fn run1(&self, isa: Isa, x: &[f32], b: &[f32], y: &mut [f32]) {
        match self {
            // SAFETY (these four): AVX-512F / AVX2 and FMA were detected; wt holds fan-in × units
            // weights.
            #[cfg(target_arch = "x86_64")]
            LinearOp::Dense { wt, .. } if isa == Isa::Avx512 => unsafe {
                sell_avx512::dense_f32(wt, x, &[], b, y)
            },
            #[cfg(target_arch = "x86_64")]
            LinearOp::DenseI8 { qt, scales, .. } if isa == Isa::Avx512 => unsafe {
                sell_avx512::dense_i8(qt, x, scales, b, y)
            },
            #[cfg(target_arch = "x86_64")]
            LinearOp::Dense { wt, .. } if isa == Isa::Avx2 => unsafe {
                dense_avx2::dense_f32(wt, x, &[], b, y)
            },
            #[cfg(target_arch = "x86_64")]
            LinearOp::DenseI8 { qt, scales, .. } if isa == Isa::Avx2 => unsafe {
                dense_avx2::dense_i8(qt, x, scales, b, y)
            },
            LinearOp::Dense { wt, .. } => portable::axpy_f32(wt, x, b, y),
            LinearOp::DenseI8 { qt, scales, .. } => portable::axpy_i8(qt, x, scales, b, y),
            // SAFETY (all four): AVX-512F was detected; columns were checked < x.len() on load.
            #[cfg(target_arch = "x86_64")]
            LinearOp::Sparse {
                one: Some(Sparse1::Sell(s)),
                ..
            } if isa == Isa::Avx512 => unsafe { sell_avx512::run_f32(s, x, b, y) },
            #[cfg(target_arch = "x86_64")]
            LinearOp::SparseI8 {
                one: Some(Sparse1::Sell(s)),
                scales,
                ..
            } if isa == Isa::Avx512 => unsafe { sell_avx512::run_i8(s, x, scales, b, y) },
            #[cfg(target_arch = "x86_64")]
            LinearOp::Sparse {
                one: Some(Sparse1::Blocked(s)),
                ..
            } if isa == Isa::Avx512 => {
                padded(x, |x| unsafe { sell_avx512::blocked_f32(s, x, &[], b, y) })
            }
            #[cfg(target_arch = "x86_64")]
            LinearOp::SparseI8 {
                one: Some(Sparse1::Blocked(s)),
                scales,
                ..
            } if isa == Isa::Avx512 => padded(x, |x| unsafe {
                sell_avx512::blocked_i8(s, x, scales, b, y)
            }),
            LinearOp::Sparse { csr, .. } => dispatch!(isa, csr1_f32(csr, x, b, y)),
            LinearOp::SparseI8 { csr, scales, .. } => dispatch!(isa, csr1_i8(csr, x, scales, b, y)),
        }
    }

    /// y = W x + b accumulated in f64, for the heads: their outputs are the Q-values, whose
    /// rounding is not damped by any later layer (a few hundred weights; int8 layers as usual).
    pub fn run1_head(&self, isa: Isa, x: &[f32], b: &[f32], y: &mut [f32]) {
        match self {
            LinearOp::Dense { w, .. } => {
                let n = x.len();
                for (r, yr) in y.iter_mut().enumerate() {
                    // In input order, as the tile's head: the same bits alone or in a batch.
                    let s: f64 = w[r * n..(r + 1) * n]
                        .iter()
                        .zip(x)
                        .map(|(&a, &b)| a as f64 * b as f64)
                        .sum();
                    *yr = (b[r] as f64 + s) as f32;
                }
            }
            LinearOp::Sparse { csr, .. } => {
                for (r, yr) in y.iter_mut().enumerate() {
                    let (a, e) = (csr.row_ptr[r] as usize, csr.row_ptr[r + 1] as usize);
                    let s: f64 = csr.cols[a..e]
                        .iter()
                        .zip(&csr.vals[a..e])
                        .map(|(&j, &v)| v as f64 * x[j as usize] as f64)
                        .sum();
                    *yr = (b[r] as f64 + s) as f32;
                }
            }
            _ => self.run1(isa, x, b, y),
        }
    }

    /// [`LinearOp::run1_head`] for a tile.
    pub fn run_tile_head(&self, isa: Isa, lanes: Lanes, x: &[Lane], b: &[f32], y: &mut [Lane]) {
        let row = |r: usize, terms: &mut dyn Iterator<Item = (usize, f32)>, yr: &mut Lane| {
            let mut acc = [0f64; TILE];
            let acc = &mut acc[..lanes.count()];
            for (j, v) in terms {
                for (a, &xv) in acc.iter_mut().zip(&x[j]) {
                    *a += v as f64 * xv as f64;
                }
            }
            for (o, a) in yr.iter_mut().zip(acc.iter()) {
                *o = (b[r] as f64 + a) as f32;
            }
        };
        match self {
            LinearOp::Dense { w, .. } => {
                let n = x.len();
                for (r, yr) in y.iter_mut().enumerate() {
                    row(
                        r,
                        &mut w[r * n..(r + 1) * n].iter().copied().enumerate(),
                        yr,
                    );
                }
            }
            LinearOp::Sparse { csr, .. } => {
                for (r, yr) in y.iter_mut().enumerate() {
                    let (a, e) = (csr.row_ptr[r] as usize, csr.row_ptr[r + 1] as usize);
                    row(
                        r,
                        &mut csr.cols[a..e]
                            .iter()
                            .map(|&j| j as usize)
                            .zip(csr.vals[a..e].iter().copied()),
                        yr,
                    );
                }
            }
            _ => self.run_tile(isa, lanes, x, b, y),
        }
    }

    /// Y = W X + b for the first `lanes` lanes of a tile.
    pub fn run_tile(&self, isa: Isa, lanes: Lanes, x: &[Lane], b: &[f32], y: &mut [Lane]) {
        match self {
            // SAFETY (these four): AVX-512F / AVX2 and FMA were detected; wt holds fan-in × units
            // weights.
            #[cfg(target_arch = "x86_64")]
            LinearOp::Dense { wt, .. } if lanes == Lanes::L8 && isa == Isa::Avx512 => unsafe {
                sell_avx512::dense8_f32(wt, x, &[], b, y)
            },
            #[cfg(target_arch = "x86_64")]
            LinearOp::DenseI8 { qt, scales, .. } if lanes == Lanes::L8 && isa == Isa::Avx512 => unsafe {
                sell_avx512::dense8_i8(qt, x, scales, b, y)
            },
            #[cfg(target_arch = "x86_64")]
            LinearOp::Dense { wt, .. } if lanes == Lanes::L8 && isa == Isa::Avx2 => unsafe {
                dense_avx2::dense8_f32(wt, x, &[], b, y)
            },
            #[cfg(target_arch = "x86_64")]
            LinearOp::DenseI8 { qt, scales, .. } if lanes == Lanes::L8 && isa == Isa::Avx2 => unsafe {
                dense_avx2::dense8_i8(qt, x, scales, b, y)
            },
            LinearOp::Dense { w, .. } => dispatch_tile!(isa, lanes, gemm_tile_f32(w, x, b, y)),
            LinearOp::DenseI8 { q, scales, .. } => {
                dispatch_tile!(isa, lanes, gemm_tile_i8(q, x, scales, b, y))
            }
            LinearOp::Sparse { csr, .. } => dispatch_tile!(isa, lanes, csr_tile_f32(csr, x, b, y)),
            LinearOp::SparseI8 { csr, scales, .. } => {
                dispatch_tile!(isa, lanes, csr_tile_i8(csr, x, scales, b, y))
            }
        }
    }
}

/// `x` zero-padded to a multiple of 32 on the stack when it is not one already (`Blocked`
/// layers have fan-in ≤ [`BLOCKED_PAD_MAX`] then).
fn padded<R>(x: &[f32], f: impl FnOnce(&[f32]) -> R) -> R {
    if x.len().is_multiple_of(32) {
        return f(x);
    }
    let mut buf = [0f32; BLOCKED_PAD_MAX];
    buf[..x.len()].copy_from_slice(x);
    f(&buf[..x.len().next_multiple_of(32)])
}

/// The convolution for one image.
#[allow(clippy::too_many_arguments)]
pub fn conv3x3_run(
    isa: Isa,
    x: &[f32],
    c: usize,
    h: usize,
    w: usize,
    k: &[f32],
    b: &[f32],
    y: &mut [f32],
) {
    dispatch!(isa, conv3x3(x, c, h, w, k, b, y))
}

/// The convolution for the first `lanes` lanes of a tile.
#[allow(clippy::too_many_arguments)]
pub fn conv3x3_tile_run(
    isa: Isa,
    lanes: Lanes,
    x: &[Lane],
    c: usize,
    h: usize,
    w: usize,
    k: &[f32],
    b: &[f32],
    y: &mut [Lane],
) {
    dispatch_tile!(isa, lanes, conv3x3_tile(x, c, h, w, k, b, y))
}

/// The dense batch-1 kernel for one instruction set (`$lanes` floats per register): y = W x
/// (× scale) + b from Wᵀ `[x.len() × y.len()]`, 8 registers of outputs at a time, each output
/// adding its terms in input order with fused multiply-adds, as the batch tile does.
macro_rules! dense_simd {
    ($name:ident, $t:ty, $feat:literal, $lanes:literal, $load:ident, $zero:ident, $set1:ident,
     $fmadd:ident, $store:ident) => {
        /// # Safety
        /// `wt.len() == x.len() * y.len()`; the CPU has `$feat`.
        #[target_feature(enable = $feat)]
        pub unsafe fn $name(wt: &[$t], x: &[f32], sc: &[f32], b: &[f32], y: &mut [f32]) {
            const CH: usize = 8 * $lanes;
            let units = y.len();
            let finish = |y: &mut [f32], r: usize, lanes: &[f32]| {
                for (i, &v) in lanes.iter().enumerate() {
                    let o = r + i;
                    y[o] = if sc.is_empty() { v } else { v * sc[o] } + b[o];
                }
            };
            let mut r = 0;
            while r + CH <= units {
                let mut lanes = [0f32; CH];
                // SAFETY: j·units + r + CH ≤ wt.len() for j < x.len().
                unsafe {
                    let mut acc = [$zero(); 8];
                    for (j, &xj) in x.iter().enumerate() {
                        let p = wt.as_ptr().add(j * units + r);
                        let xv = $set1(xj);
                        for (c, a) in acc.iter_mut().enumerate() {
                            *a = $fmadd($load!(p.add($lanes * c)), xv, *a);
                        }
                    }
                    for (c, a) in acc.iter().enumerate() {
                        $store(lanes.as_mut_ptr().add($lanes * c), *a);
                    }
                }
                finish(y, r, &lanes);
                r += CH;
            }
            if r < units {
                let mut lanes = [0f32; CH];
                for (j, &xj) in x.iter().enumerate() {
                    for (a, w) in lanes.iter_mut().zip(&wt[j * units + r..j * units + units]) {
                        *a = (*w as f32).mul_add(xj, *a);
                    }
                }
                finish(y, r, &lanes[..units - r]);
            }
        }
    };
}

/// The dense kernel for the first 8 lanes of a tile on one instruction set: [`dense_simd`]'s
/// shape (from Wᵀ, each input's weights for `$regs` registers of consecutive units loaded once)
/// with each register of weights scaling all 8 observations' inputs, so the vectors run along
/// the units, whole, where vectors along 8 lanes would be short. Each output adds its terms in
/// input order with fused multiply-adds, as [`gemm_tile`] does: the same bits.
macro_rules! dense_simd_tile8 {
    ($name:ident, $t:ty, $feat:literal, $lanes:literal, $regs:literal, $load:ident, $zero:ident,
     $set1:ident, $fmadd:ident, $store:ident) => {
        /// # Safety
        /// `wt.len() == x.len() * y.len()`; the CPU has `$feat`.
        #[target_feature(enable = $feat)]
        pub unsafe fn $name(wt: &[$t], x: &[Lane], sc: &[f32], b: &[f32], y: &mut [Lane]) {
            const OBS: usize = 8;
            const CH: usize = $regs * $lanes;
            let units = y.len();
            let mut r = 0;
            while r < units {
                let n = CH.min(units - r);
                let mut sums = [[0f32; CH]; OBS];
                if n == CH {
                    // SAFETY: j·units + r + CH ≤ wt.len() for j < x.len().
                    unsafe {
                        let mut acc = [[$zero(); $regs]; OBS];
                        for (j, xj) in x.iter().enumerate() {
                            let p = wt.as_ptr().add(j * units + r);
                            let mut w = [$zero(); $regs];
                            for (c, wc) in w.iter_mut().enumerate() {
                                *wc = $load!(p.add($lanes * c));
                            }
                            for (a, &xo) in acc.iter_mut().zip(&xj[..OBS]) {
                                let xv = $set1(xo);
                                for (ac, &wc) in a.iter_mut().zip(&w) {
                                    *ac = $fmadd(wc, xv, *ac);
                                }
                            }
                        }
                        for (s, a) in sums.iter_mut().zip(&acc) {
                            for (c, &ac) in a.iter().enumerate() {
                                $store(s.as_mut_ptr().add($lanes * c), ac);
                            }
                        }
                    }
                } else {
                    for (j, xj) in x.iter().enumerate() {
                        let w = &wt[j * units + r..j * units + r + n];
                        for (s, &xo) in sums.iter_mut().zip(&xj[..OBS]) {
                            for (a, &wv) in s.iter_mut().zip(w) {
                                *a = (wv as f32).mul_add(xo, *a);
                            }
                        }
                    }
                }
                for i in 0..n {
                    let o = r + i;
                    for (l, s) in sums.iter().enumerate() {
                        y[o][l] = if sc.is_empty() { s[i] } else { s[i] * sc[o] } + b[o];
                    }
                }
                r += n;
            }
        }
    };
}

/// The dense batch-1 and 8-observation kernels, for f32 and int8 weights, on one instruction set.
macro_rules! dense_kernels {
    ($feat:literal, $lanes:literal, $regs8:literal, $load_f32:ident, $load_i8:ident,
     $zero:ident, $set1:ident, $fmadd:ident, $store:ident) => {
        dense_simd!(
            dense_f32, f32, $feat, $lanes, $load_f32, $zero, $set1, $fmadd, $store
        );
        dense_simd!(
            dense_i8, i8, $feat, $lanes, $load_i8, $zero, $set1, $fmadd, $store
        );
        dense_simd_tile8!(
            dense8_f32, f32, $feat, $lanes, $regs8, $load_f32, $zero, $set1, $fmadd, $store
        );
        dense_simd_tile8!(
            dense8_i8, i8, $feat, $lanes, $regs8, $load_i8, $zero, $set1, $fmadd, $store
        );
    };
}

#[cfg(target_arch = "x86_64")]
mod sell_avx512 {
    //! SELL-16 with AVX-512 gathers (one 16-wide gather of x serves 16 rows), the blocked form
    //! that picks inputs from registers instead, and the dense batch-1 kernel. Written as macros
    //! over the weight type rather than with closures: a closure would not inherit the target
    //! feature, and every intrinsic in it would become a call.
    use super::{Blocked, Lane, Sell};
    use std::arch::x86_64::*;

    macro_rules! load_f32 {
        ($v:expr, $k:expr) => {
            _mm512_loadu_ps(AsPtr::ptr(&$v).add($k))
        };
    }
    macro_rules! load_i8 {
        ($v:expr, $k:expr) => {
            _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(
                AsPtr::ptr(&$v).add($k) as *const __m128i,
            )))
        };
    }
    macro_rules! load_f32p {
        ($p:expr) => {
            _mm512_loadu_ps($p)
        };
    }
    macro_rules! load_i8p {
        ($p:expr) => {
            _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128($p as *const __m128i)))
        };
    }
    /// Both `Vec<T>` and `*const T` as a pointer, for the load macros.
    trait AsPtr<T> {
        fn ptr(&self) -> *const T;
    }
    impl<T> AsPtr<T> for Vec<T> {
        fn ptr(&self) -> *const T {
            self.as_ptr()
        }
    }
    impl<T> AsPtr<T> for *const T {
        fn ptr(&self) -> *const T {
            *self
        }
    }

    /// Writes the 16 lanes of `acc` to their rows.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn scatter(acc: __m512, perm: &[u32], mut out: impl FnMut(usize, f32)) {
        let mut lanes = [0f32; 16];
        // SAFETY: 16 floats.
        unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), acc) };
        for (&r, &v) in perm.iter().zip(&lanes) {
            if r != u32::MAX {
                out(r as usize, v);
            }
        }
    }

    macro_rules! sell_kernel {
        ($name:ident, $t:ty, $load:ident) => {
            /// # Safety
            /// Every column < x.len(); slices are whole multiples of 16 entries.
            #[target_feature(enable = "avx512f")]
            pub unsafe fn $name(s: &Sell<$t>, x: &[f32], mut out: impl FnMut(usize, f32)) {
                for (sl, w) in s.slice_ptr.windows(2).enumerate() {
                    let (a, b) = (w[0] as usize, w[1] as usize);
                    let (mut acc0, mut acc1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
                    let mut k = a;
                    // SAFETY: k + 16 ≤ b ≤ cols.len(); columns < x.len() (checked on load).
                    unsafe {
                        while k + 32 <= b {
                            let c0 = _mm512_cvtepu16_epi32(_mm256_loadu_si256(
                                s.cols.as_ptr().add(k) as *const __m256i,
                            ));
                            let c1 = _mm512_cvtepu16_epi32(_mm256_loadu_si256(
                                s.cols.as_ptr().add(k + 16) as *const __m256i,
                            ));
                            let g0 = _mm512_i32gather_ps::<4>(c0, x.as_ptr());
                            let g1 = _mm512_i32gather_ps::<4>(c1, x.as_ptr());
                            acc0 = _mm512_fmadd_ps($load!(s.vals, k), g0, acc0);
                            acc1 = _mm512_fmadd_ps($load!(s.vals, k + 16), g1, acc1);
                            k += 32;
                        }
                        if k < b {
                            let c0 = _mm512_cvtepu16_epi32(_mm256_loadu_si256(
                                s.cols.as_ptr().add(k) as *const __m256i,
                            ));
                            let g0 = _mm512_i32gather_ps::<4>(c0, x.as_ptr());
                            acc0 = _mm512_fmadd_ps($load!(s.vals, k), g0, acc0);
                        }
                    }
                    scatter(
                        _mm512_add_ps(acc0, acc1),
                        &s.perm[sl * 16..sl * 16 + 16],
                        &mut out,
                    );
                }
            }
        };
    }
    sell_kernel!(sell_f32, f32, load_f32);
    sell_kernel!(sell_i8, i8, load_i8);

    macro_rules! blocked_kernel {
        ($name:ident, $t:ty, $load:ident) => {
            /// y[r] = (W x)[r] · scale[r] + b[r] (scale 1 when `sc` is empty).
            ///
            /// # Safety
            /// The layout built by `Blocked::from_csr` for a fan-in ≤ x.len(), and x.len() a
            /// multiple of 32 (callers pad).
            #[target_feature(enable = "avx512f")]
            pub unsafe fn $name(s: &Blocked<$t>, x: &[f32], sc: &[f32], b: &[f32], y: &mut [f32]) {
                debug_assert_eq!(x.len() % 32, 0);
                let (xp, idx, vals) = (x.as_ptr(), s.idx.as_ptr(), s.vals.as_ptr());
                let mut lanes = [0f32; 16];
                let mut t = 0;
                for (sl, w) in s.slice_ptr.windows(2).enumerate() {
                    // SAFETY: blocks lie inside x (padded to whole blocks); the runs' steps
                    // count the idx and vals entries, 16 per step.
                    unsafe {
                        let mut acc0 = _mm512_setzero_ps();
                        let mut acc1 = _mm512_setzero_ps();
                        let mut acc2 = _mm512_setzero_ps();
                        let mut acc3 = _mm512_setzero_ps();
                        for run in &s.runs[w[0] as usize..w[1] as usize] {
                            let p = xp.add(run.block as usize * 32);
                            let (xa, xb) = (_mm512_loadu_ps(p), _mm512_loadu_ps(p.add(16)));
                            let e = t + run.steps as usize;
                            macro_rules! pstep {
                                ($tt:expr, $acc:ident) => {{
                                    let i = _mm512_cvtepu8_epi32(_mm_loadu_si128(
                                        idx.add(16 * $tt) as *const __m128i,
                                    ));
                                    $acc = _mm512_fmadd_ps(
                                        $load!(vals.add(16 * $tt)),
                                        _mm512_permutex2var_ps(xa, i, xb),
                                        $acc,
                                    );
                                }};
                            }
                            while t + 2 <= e {
                                pstep!(t, acc0);
                                pstep!(t + 1, acc1);
                                t += 2;
                            }
                            if t < e {
                                pstep!(t, acc2);
                                t += 1;
                            }
                            std::mem::swap(&mut acc0, &mut acc3);
                        }
                        let sum =
                            _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3));
                        _mm512_storeu_ps(lanes.as_mut_ptr(), sum);
                    }
                    for (&r, &v) in s.perm[sl * 16..sl * 16 + 16].iter().zip(&lanes) {
                        if r != u32::MAX {
                            let r = r as usize;
                            y[r] = if sc.is_empty() { v } else { v * sc[r] } + b[r];
                        }
                    }
                }
            }
        };
    }
    blocked_kernel!(blocked_f32, f32, load_f32p);
    blocked_kernel!(blocked_i8, i8, load_i8p);

    // 2 registers × 8 observations in the 8-observation kernel: 16 of the 32 registers hold
    // sums. (1 × 16 for 16-lane tiles measured no faster than `gemm_tile`.)
    dense_kernels!(
        "avx512f",
        16,
        2,
        load_f32p,
        load_i8p,
        _mm512_setzero_ps,
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        _mm512_storeu_ps
    );

    /// # Safety
    /// As [`sell_f32`].
    #[target_feature(enable = "avx512f")]
    pub unsafe fn run_f32(s: &Sell<f32>, x: &[f32], b: &[f32], y: &mut [f32]) {
        unsafe { sell_f32(s, x, |r, v| y[r] = v + b[r]) }
    }
    /// # Safety
    /// As [`sell_i8`].
    #[target_feature(enable = "avx512f")]
    pub unsafe fn run_i8(s: &Sell<i8>, x: &[f32], sc: &[f32], b: &[f32], y: &mut [f32]) {
        unsafe { sell_i8(s, x, |r, v| y[r] = v * sc[r] + b[r]) }
    }
}

/// [`sell_avx512`]'s dense batch-1 kernel for AVX2: 64 outputs at a time, the same order of
/// operations (so the same bits).
#[cfg(target_arch = "x86_64")]
mod dense_avx2 {
    use super::Lane;
    use std::arch::x86_64::*;

    macro_rules! load_f32 {
        ($p:expr) => {
            _mm256_loadu_ps($p)
        };
    }
    macro_rules! load_i8 {
        ($p:expr) => {
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64($p as *const __m128i)))
        };
    }
    // 1 register × 8 observations in the 8-observation kernel: half of the 16 registers hold
    // sums.
    dense_kernels!(
        "avx2,fma",
        8,
        1,
        load_f32,
        load_i8,
        _mm256_setzero_ps,
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        _mm256_storeu_ps
    );
}

/// The hidden layers' nonlinearity, in place; the same formulas as the trainer's host forward.
#[inline]
pub fn activate(f: Activation, x: &mut [f32]) {
    match f {
        Activation::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
        Activation::Tanh => x.iter_mut().for_each(|v| *v = v.tanh()),
        Activation::Elu => x
            .iter_mut()
            .for_each(|v| *v = if *v > 0.0 { *v } else { v.exp_m1() }),
        Activation::Gelu => x
            .iter_mut()
            .for_each(|v| *v = 0.5 * *v * (1.0 + libm::erff(*v * std::f32::consts::FRAC_1_SQRT_2))),
        Activation::LeakyRelu => x
            .iter_mut()
            .for_each(|v| *v = if *v > 0.0 { *v } else { 0.01 * *v }),
    }
}
