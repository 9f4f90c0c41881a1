//! [`Policy`]: a loaded policy file with its kernels chosen and its scratch memory allocated, so
//! that [`Policy::q_values`] and [`Policy::act`] never allocate.

use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, ErrorKind};
use crate::format::{Activation, Format, LayerKind, PolicyFile, Role, Weights};
use crate::kernels::{
    self, Aligned, Blocked, CsrK, Isa, Lane, Lanes, LinearOp, Sell, Sparse1, TILE,
};

/// Which kernels to run: the formats stored in the file, or one format for every linear layer
/// (re-encoded on load; for benchmarks and agreement checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    #[default]
    AsStored,
    Force(Format),
}

/// Batch-1 kernels for sparse layers (benchmarks/policy-runtime.md compares them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SparseKernel {
    /// Compressed sparse rows, scalar.
    Csr,
    /// SELL-16 with AVX-512 gathers.
    Sell,
    /// SELL-16 over blocks of 32 columns with register permutes: the fastest measured.
    Blocked,
}

/// Load-time choices; the defaults are what a deployment wants.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub kernels: Kernels,
    /// The batch-1 kernel of sparse layers where the CPU has AVX-512 (CSR elsewhere).
    pub sparse: SparseKernel,
    /// Instruction set; `None` detects the CPU's.
    pub isa: Option<Isa>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            kernels: Kernels::AsStored,
            sparse: SparseKernel::Blocked,
            isa: None,
        }
    }
}

#[derive(Debug)]
enum Op {
    /// Input `[c, h, w]`.
    Conv {
        w: Vec<f32>,
        c: usize,
        h: usize,
        wd: usize,
    },
    Linear(LinearOp),
}

#[derive(Debug)]
struct Layer {
    name: String,
    role: Role,
    units: usize,
    fan_in: usize,
    sparsity: f64,
    op: Op,
    bias: Vec<f32>,
}

/// What one layer runs, for reports (`sparq eval FILE`).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerInfo {
    pub name: String,
    pub shape: (usize, usize),
    /// Fraction of the source layer's weights that are zero.
    pub sparsity: f64,
    pub kernel: &'static str,
    /// Bytes of weights, indices and scales a batch-1 call reads.
    pub bytes: usize,
}

/// The immutable part of a policy, shared between clones.
#[derive(Debug)]
struct Model {
    env_id: String,
    obs_shape: Vec<usize>,
    obs_len: usize,
    num_actions: usize,
    activation: Activation,
    dueling: bool,
    source_hash: [u8; 32],
    isa: Isa,
    layers: Vec<Layer>,
    /// Widest activation vector: observation, convolution output or linear layer.
    max_width: usize,
}

/// Activation buffers, allocated once when the policy is loaded.
#[derive(Debug, Clone)]
struct Scratch {
    a: Aligned<f32>,
    b: Aligned<f32>,
    ta: Aligned<Lane>,
    tb: Aligned<Lane>,
    value: Vec<Lane>,
    q: Vec<f32>,
}

/// A policy ready to act. `Clone` shares the weights and gives the clone its own scratch, one
/// per thread.
#[derive(Debug)]
pub struct Policy {
    m: Arc<Model>,
    s: Scratch,
}

impl Clone for Policy {
    fn clone(&self) -> Self {
        Policy {
            m: Arc::clone(&self.m),
            s: Scratch::for_model(&self.m),
        }
    }
}

impl Scratch {
    fn for_model(m: &Model) -> Self {
        let image = m.layers.iter().any(|l| matches!(l.op, Op::Conv { .. }));
        Scratch {
            a: Aligned::zeros(m.max_width),
            b: Aligned::zeros(m.max_width),
            ta: Aligned::zeros(m.max_width),
            tb: Aligned::zeros(m.max_width),
            value: vec![[0.0; TILE]; 1],
            q: vec![
                0.0;
                if image {
                    m.num_actions.max(1)
                } else {
                    m.num_actions
                }
            ],
        }
    }
}

impl Policy {
    /// Loads a policy file with the default options.
    pub fn load(path: impl AsRef<Path>) -> Result<Policy, Error> {
        Policy::load_with(path, Options::default())
    }

    pub fn load_with(path: impl AsRef<Path>, opts: Options) -> Result<Policy, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| Error::new(ErrorKind::Io, format!("{}: {e}", path.display())))?;
        Policy::from_bytes_with(&bytes, opts)
            .map_err(|e| Error::new(e.kind, format!("{}: {}", path.display(), e.message)))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Policy, Error> {
        Policy::from_bytes_with(bytes, Options::default())
    }

    pub fn from_bytes_with(bytes: &[u8], opts: Options) -> Result<Policy, Error> {
        Policy::from_file(PolicyFile::from_bytes(bytes)?, opts)
    }

    /// Builds the kernels for a parsed (and validated) policy file.
    pub fn from_file(f: PolicyFile, opts: Options) -> Result<Policy, Error> {
        f.validate()?;
        let isa = opts.isa.unwrap_or_else(Isa::detect);
        let obs_len = f.obs_len();
        let (mut c, mut h, mut w) = match f.obs_shape[..] {
            [c, h, w] => (c, h, w),
            _ => (obs_len, 1, 1),
        };
        let mut max_width = obs_len;
        let mut layers = Vec::with_capacity(f.layers.len());
        for l in f.layers {
            let sparsity = l.sparsity();
            let op = match l.kind {
                LayerKind::Conv3x3 => {
                    let wts = l.weights.to_dense(l.units, l.fan_in);
                    let op = Op::Conv {
                        w: wts,
                        c,
                        h,
                        wd: w,
                    };
                    (c, h, w) = (l.units, h - 2, w - 2);
                    max_width = max_width.max(c * h * w);
                    op
                }
                LayerKind::Linear => {
                    max_width = max_width.max(l.units);
                    let weights = match opts.kernels {
                        Kernels::Force(fmt) if fmt != l.weights.format() => crate::quant::encode(
                            &l.weights.to_dense(l.units, l.fan_in),
                            l.units,
                            l.fan_in,
                            fmt,
                        ),
                        _ => l.weights,
                    };
                    let sparse = if isa == Isa::Avx512 {
                        opts.sparse
                    } else {
                        SparseKernel::Csr
                    };
                    Op::Linear(linear_op(weights, l.fan_in, sparse))
                }
            };
            layers.push(Layer {
                name: l.name,
                role: l.role,
                units: l.units,
                fan_in: l.fan_in,
                sparsity,
                op,
                bias: l.bias,
            });
        }
        let m = Model {
            env_id: f.env_id,
            obs_len,
            obs_shape: f.obs_shape,
            num_actions: f.num_actions,
            activation: f.activation,
            dueling: f.dueling,
            source_hash: f.source_hash,
            isa,
            layers,
            max_width,
        };
        let s = Scratch::for_model(&m);
        Ok(Policy { m: Arc::new(m), s })
    }

    pub fn obs_len(&self) -> usize {
        self.m.obs_len
    }
    pub fn obs_shape(&self) -> &[usize] {
        &self.m.obs_shape
    }
    pub fn num_actions(&self) -> usize {
        self.m.num_actions
    }
    pub fn env_id(&self) -> &str {
        &self.m.env_id
    }
    pub fn source_hash(&self) -> &[u8; 32] {
        &self.m.source_hash
    }
    pub fn isa(&self) -> Isa {
        self.m.isa
    }

    /// Each layer's shape, sparsity and kernel.
    pub fn layers(&self) -> Vec<LayerInfo> {
        self.m
            .layers
            .iter()
            .map(|l| LayerInfo {
                name: l.name.clone(),
                shape: (l.units, l.fan_in),
                sparsity: l.sparsity,
                kernel: match &l.op {
                    Op::Conv { .. } => "conv3x3-f32",
                    Op::Linear(op) => op.kernel_name(),
                },
                bytes: match &l.op {
                    Op::Conv { w, .. } => w.len() * 4,
                    Op::Linear(op) => op.bytes(),
                },
            })
            .collect()
    }

    /// Q-values of a batch: `obs` holds `n` observations back to back (`n × obs_len` values),
    /// `q` receives `n × num_actions`. Allocates nothing.
    pub fn q_values(&mut self, obs: &[f32], q: &mut [f32]) -> Result<(), Error> {
        let n = self.batch_of(obs)?;
        let a = self.m.num_actions;
        if q.len() != n * a {
            return Err(Error::new(
                ErrorKind::OutputLength,
                format!(
                    "Q-value buffer has {} values, {n} observations need {}",
                    q.len(),
                    n * a
                ),
            ));
        }
        let (m, s) = (&*self.m, &mut self.s);
        if n == 1 {
            forward1(m, s, obs, q);
            return Ok(());
        }
        for (chunk, qc) in obs.chunks(TILE * m.obs_len).zip(q.chunks_mut(TILE * a)) {
            let k = chunk.len() / m.obs_len;
            // Below 6 observations one call each beat an 8-lane tile (dense layers, AVX-512).
            if k < 6 {
                for (o, qo) in chunk.chunks_exact(m.obs_len).zip(qc.chunks_exact_mut(a)) {
                    forward1(m, s, o, qo);
                }
            } else {
                forward_tile(m, s, chunk, k, qc);
            }
        }
        Ok(())
    }

    /// Greedy action of one observation (ties → the lowest index, as `torch.argmax`).
    pub fn act(&mut self, obs: &[f32]) -> Result<usize, Error> {
        if obs.len() != self.m.obs_len {
            return Err(self.obs_error(obs.len()));
        }
        let mut q = std::mem::take(&mut self.s.q);
        forward1(&self.m, &mut self.s, obs, &mut q);
        let best = argmax(&q);
        self.s.q = q;
        Ok(best)
    }

    /// Greedy actions of a batch of observations, one per entry of `actions`.
    pub fn act_batch(&mut self, obs: &[f32], actions: &mut [usize]) -> Result<(), Error> {
        let n = self.batch_of(obs)?;
        if actions.len() != n {
            return Err(Error::new(
                ErrorKind::OutputLength,
                format!(
                    "action buffer has {} entries for {n} observations",
                    actions.len()
                ),
            ));
        }
        let len = self.m.obs_len;
        let mut q = std::mem::take(&mut self.s.q);
        let a = self.m.num_actions;
        // Tiles of TILE, each through the batch path into a stack buffer of Q-values.
        let mut buf = [0f32; 256];
        let per = (buf.len() / a).clamp(1, TILE);
        let mut i = 0;
        while i < n {
            let k = per.min(n - i);
            if a * k <= buf.len() {
                self.q_values(&obs[i * len..(i + k) * len], &mut buf[..a * k])?;
                for (j, act) in actions[i..i + k].iter_mut().enumerate() {
                    *act = argmax(&buf[j * a..(j + 1) * a]);
                }
            } else {
                forward1(&self.m, &mut self.s, &obs[i * len..(i + 1) * len], &mut q);
                actions[i] = argmax(&q);
            }
            i += k;
        }
        self.s.q = q;
        Ok(())
    }

    fn batch_of(&self, obs: &[f32]) -> Result<usize, Error> {
        let len = self.m.obs_len;
        if obs.is_empty() || !obs.len().is_multiple_of(len) {
            return Err(self.obs_error(obs.len()));
        }
        Ok(obs.len() / len)
    }

    fn obs_error(&self, got: usize) -> Error {
        Error::new(
            ErrorKind::ObsLength,
            format!(
                "observation has {got} values, the policy takes {} (shape {:?}) or a multiple for a batch",
                self.m.obs_len, self.m.obs_shape
            ),
        )
    }
}

pub fn argmax(q: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in q.iter().enumerate() {
        if v > q[best] {
            best = i;
        }
    }
    best
}

/// A convolution layer (and its activation) from `x` into `y`; other layers are left alone.
fn conv_layer(m: &Model, l: &Layer, x: &[f32], y: &mut [f32]) {
    if let Op::Conv { w, c, h, wd } = &l.op {
        let out = l.units * (h - 2) * (wd - 2);
        kernels::conv3x3_run(
            m.isa,
            &x[..c * h * wd],
            *c,
            *h,
            *wd,
            w,
            &l.bias,
            &mut y[..out],
        );
        kernels::activate(m.activation, &mut y[..out]);
    }
}

/// One observation through every layer.
fn forward1(m: &Model, s: &mut Scratch, obs: &[f32], q: &mut [f32]) {
    let (mut x, mut y) = (&mut s.a, &mut s.b);
    x[..obs.len()].copy_from_slice(obs);
    let mut value = 0.0;
    for l in &m.layers {
        match &l.op {
            Op::Conv { .. } => {
                conv_layer(m, l, x, y);
                std::mem::swap(&mut x, &mut y);
            }
            Op::Linear(op) => {
                let input = &x[..l.fan_in];
                match l.role {
                    Role::Hidden => {
                        op.run1(m.isa, input, &l.bias, &mut y[..l.units]);
                        kernels::activate(m.activation, &mut y[..l.units]);
                        std::mem::swap(&mut x, &mut y);
                    }
                    Role::Out | Role::Advantage => op.run1_head(m.isa, input, &l.bias, q),
                    Role::Value => {
                        let mut v = [0f32];
                        op.run1_head(m.isa, input, &l.bias, &mut v);
                        value = v[0];
                    }
                }
            }
        }
    }
    if m.dueling {
        let mean = q.iter().sum::<f32>() / q.len() as f32;
        q.iter_mut().for_each(|v| *v = *v - mean + value);
    }
}

/// `k` (≤ TILE) observations at once, feature-major.
fn forward_tile(m: &Model, s: &mut Scratch, obs: &[f32], k: usize, q: &mut [f32]) {
    let a = m.num_actions;
    let lanes = Lanes::for_batch(k);
    let n = lanes.count();
    // The observations, transposed into the tile (lanes past `k` zero).
    for lane in s.ta[..m.obs_len].iter_mut() {
        lane[..n].fill(0.0);
    }
    for (j, o) in obs.chunks_exact(m.obs_len).enumerate().take(k) {
        for (lane, &v) in s.ta.iter_mut().zip(o) {
            lane[j] = v;
        }
    }
    let (mut x, mut y) = (&mut s.ta, &mut s.tb);
    let mut adv_in_x = false;
    for l in &m.layers {
        let op = match &l.op {
            Op::Linear(op) => op,
            Op::Conv { w, c, h, wd } => {
                let out = l.units * (h - 2) * (wd - 2);
                let (input, output) = (&x[..c * h * wd], &mut y[..out]);
                kernels::conv3x3_tile_run(m.isa, lanes, input, *c, *h, *wd, w, &l.bias, output);
                activate_lanes(m.activation, output, n);
                std::mem::swap(&mut x, &mut y);
                continue;
            }
        };
        match l.role {
            Role::Hidden => {
                op.run_tile(m.isa, lanes, &x[..l.fan_in], &l.bias, &mut y[..l.units]);
                activate_lanes(m.activation, &mut y[..l.units], n);
                std::mem::swap(&mut x, &mut y);
            }
            Role::Value => {
                op.run_tile_head(m.isa, lanes, &x[..l.fan_in], &l.bias, &mut s.value[..1])
            }
            Role::Out | Role::Advantage => {
                op.run_tile_head(m.isa, lanes, &x[..l.fan_in], &l.bias, &mut y[..a]);
                adv_in_x = true;
            }
        }
    }
    debug_assert!(adv_in_x);
    for j in 0..k {
        let qj = &mut q[j * a..(j + 1) * a];
        for (act, v) in qj.iter_mut().enumerate() {
            *v = y[act][j];
        }
        if m.dueling {
            let mean = qj.iter().sum::<f32>() / a as f32;
            let value = s.value[0][j];
            qj.iter_mut().for_each(|v| *v = *v - mean + value);
        }
    }
}

/// The activation over the first `n` lanes of each feature: in one pass over the whole tile
/// when every lane is in use.
fn activate_lanes(f: Activation, x: &mut [Lane], n: usize) {
    if n == TILE {
        kernels::activate(f, x.as_flattened_mut());
    } else {
        x.iter_mut().for_each(|v| kernels::activate(f, &mut v[..n]));
    }
}

/// `[units × fan_in]` row-major to `[fan_in × units]`.
fn transpose<T: Copy + Default>(w: &[T], fan_in: usize) -> Vec<T> {
    let units = w.len() / fan_in;
    let mut t = vec![T::default(); w.len()];
    for (o, row) in w.chunks_exact(fan_in).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            t[j * units + o] = v;
        }
    }
    t
}

fn linear_op(w: Weights, fan_in: usize, sparse: SparseKernel) -> LinearOp {
    fn one<T: kernels::Wt>(csr: &CsrK<T>, fan_in: usize, k: SparseKernel) -> Option<Sparse1<T>> {
        match k {
            SparseKernel::Csr => None,
            SparseKernel::Sell => Some(Sparse1::Sell(Sell::from_csr(csr))),
            SparseKernel::Blocked
                if fan_in.is_multiple_of(32) || fan_in <= kernels::BLOCKED_PAD_MAX =>
            {
                Some(Sparse1::Blocked(Blocked::from_csr(csr, fan_in)))
            }
            SparseKernel::Blocked => Some(Sparse1::Sell(Sell::from_csr(csr))),
        }
    }
    match w {
        Weights::DenseF32(w) => LinearOp::Dense {
            wt: Aligned::from_slice(&transpose(&w, fan_in)),
            w: Aligned::from_slice(&w),
        },
        Weights::DenseI8 { scales, q } => LinearOp::DenseI8 {
            qt: Aligned::from_slice(&transpose(&q, fan_in)),
            q: Aligned::from_slice(&q),
            scales,
        },
        Weights::SparseF32(c) => {
            let csr = CsrK::from_csr(&c);
            LinearOp::Sparse {
                one: one(&csr, fan_in, sparse),
                csr,
            }
        }
        Weights::SparseI8 { scales, csr } => {
            let csr = CsrK::from_csr(&csr);
            LinearOp::SparseI8 {
                one: one(&csr, fan_in, sparse),
                csr,
                scales,
            }
        }
    }
}
