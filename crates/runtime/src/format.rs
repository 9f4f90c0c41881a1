//! The policy file (`.sparq`): a versioned, checksummed, little-endian container of the network's
//! metadata and its layers in their chosen formats (dense/sparse × f32/int8).
//!
//! ```text
//! "SPARQPOL"  u32 version  u64 file length
//! str env id   [u8; 32] source checkpoint hash (SHA-256 of its MANIFEST)
//! u8 obs rank, u32 × rank obs shape   u32 actions   u8 activation   u8 dueling   u32 layers
//! per layer: str name, u8 kind, u8 role, u8 format, u32 units, u32 fan-in, u32 source nonzeros,
//!            payload (by format), f32 × units bias
//! u32 CRC-32C of everything before it
//! ```
//! Payloads: dense f32 `[units × fan_in]` row-major; dense int8: f32 scale per unit then i8
//! weights; sparse: u32 entries per row, then one u8 column *gap* per entry, then the values (f32,
//! or f32 scales + i8 values). Gaps above 255 are bridged by zero-valued padding entries, which the
//! loader drops: a u8 index instead of a u16 is what brings an int8 90 %-sparse file under 8 % of
//! the dense one. Every count read from a file is checked against the bytes left before anything
//! is allocated, so a hostile file cannot make the loader allocate more than its own size.

use crate::error::{Error, ErrorKind};

pub const MAGIC: [u8; 8] = *b"SPARQPOL";
/// The format version this runtime writes and reads.
pub const VERSION: u32 = 1;
/// Sparse kernels index columns with u16.
pub const MAX_SPARSE_FAN_IN: usize = 1 << 16;
const HEADER_LEN: usize = 8 + 4 + 8;
const MAX_NAME: usize = 4096;

/// The hidden layers' nonlinearity (LeakyReLU's slope is 0.01, as PyTorch's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Relu = 0,
    Tanh = 1,
    Elu = 2,
    Gelu = 3,
    LeakyRelu = 4,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// 3×3, stride 1, no padding; weights `[out, in_channels, 3, 3]`.
    Conv3x3 = 0,
    Linear = 1,
}

/// Where a layer's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Hidden = 0,
    /// Q-values.
    Out = 1,
    /// Dueling state value (one unit).
    Value = 2,
    /// Dueling advantages.
    Advantage = 3,
}

/// How a layer's weights are stored, and so which kernel runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    DenseF32 = 0,
    SparseF32 = 1,
    /// Symmetric per-output-unit scales, f32 accumulation.
    DenseI8 = 2,
    SparseI8 = 3,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::DenseF32 => "dense-f32",
            Format::SparseF32 => "sparse-f32",
            Format::DenseI8 => "dense-i8",
            Format::SparseI8 => "sparse-i8",
        }
    }
    pub fn is_sparse(self) -> bool {
        matches!(self, Format::SparseF32 | Format::SparseI8)
    }
    pub fn is_int8(self) -> bool {
        matches!(self, Format::DenseI8 | Format::SparseI8)
    }
}

/// Compressed sparse rows: row `r` holds `cols/vals[row_ptr[r]..row_ptr[r + 1]]`, columns
/// strictly increasing.
#[derive(Debug, Clone, PartialEq)]
pub struct Csr<T> {
    pub row_ptr: Vec<u32>,
    pub cols: Vec<u32>,
    pub vals: Vec<T>,
}

impl<T> Csr<T> {
    pub fn nnz(&self) -> usize {
        self.vals.len()
    }
    pub fn row(&self, r: usize) -> (&[u32], &[T]) {
        let (a, b) = (self.row_ptr[r] as usize, self.row_ptr[r + 1] as usize);
        (&self.cols[a..b], &self.vals[a..b])
    }
    /// The stored values as a dense row-major `[units × fan_in]` matrix, zeros elsewhere.
    pub fn to_dense(&self, units: usize, fan_in: usize) -> Vec<T>
    where
        T: Copy + Default,
    {
        self.to_dense_with(units, fan_in, |_, v| v)
    }

    /// [`Csr::to_dense`] with each stored value `v` of row `r` written as `f(r, v)`.
    pub fn to_dense_with<U: Copy + Default>(
        &self,
        units: usize,
        fan_in: usize,
        f: impl Fn(usize, T) -> U,
    ) -> Vec<U>
    where
        T: Copy,
    {
        let mut w = vec![U::default(); units * fan_in];
        for r in 0..units {
            let (cols, vals) = self.row(r);
            for (&j, &v) in cols.iter().zip(vals) {
                w[r * fan_in + j as usize] = f(r, v);
            }
        }
        w
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Weights {
    DenseF32(Vec<f32>),
    SparseF32(Csr<f32>),
    DenseI8 { scales: Vec<f32>, q: Vec<i8> },
    SparseI8 { scales: Vec<f32>, csr: Csr<i8> },
}

impl Weights {
    pub fn format(&self) -> Format {
        match self {
            Weights::DenseF32(_) => Format::DenseF32,
            Weights::SparseF32(_) => Format::SparseF32,
            Weights::DenseI8 { .. } => Format::DenseI8,
            Weights::SparseI8 { .. } => Format::SparseI8,
        }
    }

    /// The weights as dense f32 `[units × fan_in]` (int8 dequantized).
    pub fn to_dense(&self, units: usize, fan_in: usize) -> Vec<f32> {
        match self {
            Weights::SparseF32(c) => c.to_dense(units, fan_in),
            Weights::SparseI8 { scales, csr } => {
                csr.to_dense_with(units, fan_in, |r, v| v as f32 * scales[r])
            }
            Weights::DenseF32(d) => {
                let mut w = vec![0f32; units * fan_in];
                w.copy_from_slice(d);
                w
            }
            Weights::DenseI8 { scales, q } => {
                let mut w = vec![0f32; units * fan_in];
                for (r, row) in w.chunks_exact_mut(fan_in).enumerate() {
                    for (x, &v) in row.iter_mut().zip(&q[r * fan_in..]) {
                        *x = v as f32 * scales[r];
                    }
                }
                w
            }
        }
    }

    /// Nonzero stored weights.
    pub fn nonzero(&self) -> usize {
        match self {
            Weights::DenseF32(d) => d.iter().filter(|v| **v != 0.0).count(),
            Weights::SparseF32(c) => c.nnz(),
            Weights::DenseI8 { q, .. } => q.iter().filter(|v| **v != 0).count(),
            Weights::SparseI8 { csr, .. } => csr.nnz(),
        }
    }
}

/// One weight layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerData {
    pub name: String,
    pub kind: LayerKind,
    pub role: Role,
    pub units: usize,
    /// Inputs of one unit: `in_channels × 9` for a convolution.
    pub fan_in: usize,
    /// Nonzero weights of the source network's layer, before any quantization.
    pub source_nonzero: usize,
    pub weights: Weights,
    pub bias: Vec<f32>,
}

impl LayerData {
    /// Fraction of the source layer's weights that are zero.
    pub fn sparsity(&self) -> f64 {
        1.0 - self.source_nonzero as f64 / (self.units * self.fan_in).max(1) as f64
    }
}

/// Everything in a policy file.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyFile {
    pub env_id: String,
    /// `[dim]` for vector observations, `[channels, height, width]` for images.
    pub obs_shape: Vec<usize>,
    pub num_actions: usize,
    pub activation: Activation,
    pub dueling: bool,
    /// SHA-256 of the source checkpoint's MANIFEST.
    pub source_hash: [u8; 32],
    pub layers: Vec<LayerData>,
}

impl PolicyFile {
    pub fn obs_len(&self) -> usize {
        self.obs_shape.iter().product()
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(64 + self.layers.iter().map(|l| l.units * 8).sum::<usize>());
        w.extend_from_slice(&MAGIC);
        put_u32(&mut w, VERSION);
        w.extend_from_slice(&[0; 8]); // length, patched below
        put_str(&mut w, &self.env_id);
        w.extend_from_slice(&self.source_hash);
        w.push(self.obs_shape.len() as u8);
        for &d in &self.obs_shape {
            put_u32(&mut w, d as u32);
        }
        put_u32(&mut w, self.num_actions as u32);
        w.push(self.activation as u8);
        w.push(self.dueling as u8);
        put_u32(&mut w, self.layers.len() as u32);
        for l in &self.layers {
            put_str(&mut w, &l.name);
            w.push(l.kind as u8);
            w.push(l.role as u8);
            w.push(l.weights.format() as u8);
            put_u32(&mut w, l.units as u32);
            put_u32(&mut w, l.fan_in as u32);
            put_u32(&mut w, l.source_nonzero as u32);
            match &l.weights {
                Weights::DenseF32(d) => put_f32s(&mut w, d),
                Weights::SparseF32(c) => put_sparse(&mut w, c, put_f32s),
                Weights::DenseI8 { scales, q } => {
                    put_f32s(&mut w, scales);
                    w.extend(q.iter().map(|&v| v as u8));
                }
                Weights::SparseI8 { scales, csr } => {
                    put_f32s(&mut w, scales);
                    put_sparse(&mut w, csr, |w, v| w.extend(v.iter().map(|&x| x as u8)));
                }
            }
            put_f32s(&mut w, &l.bias);
        }
        let len = (w.len() + 4) as u64;
        w[12..20].copy_from_slice(&len.to_le_bytes());
        let crc = crc32c(&w);
        put_u32(&mut w, crc);
        w
    }

    /// Parses and checks a policy file: magic, version, length, checksum, then every field.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() < 8 || bytes[..8] != MAGIC {
            return Err(Error::format(
                "not a sparq policy file (no SPARQPOL magic; export one with `sparq export PATH --format policy OUT`)",
            ));
        }
        if bytes.len() < HEADER_LEN + 4 {
            return Err(Error::format(format!(
                "policy file is truncated ({} bytes, shorter than its header)",
                bytes.len()
            )));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(Error::new(
                ErrorKind::Version,
                format!(
                    "policy file format version {version} is not supported (this runtime reads version {VERSION}; re-export the policy)"
                ),
            ));
        }
        let len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
        if len != bytes.len() as u64 {
            return Err(Error::format(if len > bytes.len() as u64 {
                format!(
                    "policy file is truncated: {} of its {len} bytes are present",
                    bytes.len()
                )
            } else {
                format!(
                    "policy file has {} bytes, its header says {len}: trailing data",
                    bytes.len()
                )
            }));
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        let stored = u32::from_le_bytes(crc.try_into().expect("4 bytes"));
        let actual = crc32c(body);
        if stored != actual {
            return Err(Error::format(format!(
                "policy file is corrupted: checksum {actual:08x} does not match the stored {stored:08x}"
            )));
        }
        let mut r = Reader {
            buf: body,
            pos: HEADER_LEN,
        };
        let env_id = r.str("env id")?;
        let source_hash: [u8; 32] = r.take(32, "source hash")?.try_into().expect("32 bytes");
        let rank = r.u8("observation rank")? as usize;
        if rank != 1 && rank != 3 {
            return Err(corrupt(format!(
                "observation rank {rank} (expected 1 or 3)"
            )));
        }
        let mut obs_shape = Vec::with_capacity(rank);
        for _ in 0..rank {
            obs_shape.push(r.u32("observation shape")? as usize);
        }
        let num_actions = r.u32("number of actions")? as usize;
        let activation = match r.u8("activation")? {
            0 => Activation::Relu,
            1 => Activation::Tanh,
            2 => Activation::Elu,
            3 => Activation::Gelu,
            4 => Activation::LeakyRelu,
            v => return Err(corrupt(format!("unknown activation code {v}"))),
        };
        let dueling = match r.u8("dueling flag")? {
            0 => false,
            1 => true,
            v => return Err(corrupt(format!("dueling flag {v}"))),
        };
        let n_layers = r.u32("layer count")? as usize;
        // Each layer takes at least 23 bytes: bounds the allocation below.
        if n_layers > r.left() / 23 {
            return Err(corrupt(format!("{n_layers} layers in {} bytes", r.left())));
        }
        let mut layers = Vec::with_capacity(n_layers);
        for _ in 0..n_layers {
            layers.push(read_layer(&mut r)?);
        }
        if r.left() != 0 {
            return Err(corrupt(format!(
                "{} unread bytes after the last layer",
                r.left()
            )));
        }
        let file = PolicyFile {
            env_id,
            obs_shape,
            num_actions,
            activation,
            dueling,
            source_hash,
            layers,
        };
        file.validate()?;
        Ok(file)
    }

    /// Checks that the layers form a network sparq can run: shapes chain from the observation
    /// to the heads, sparse columns are in range, every value is finite.
    pub fn validate(&self) -> Result<(), Error> {
        let n = self.obs_len();
        if self.obs_shape.is_empty() || n == 0 || n > 1 << 24 {
            return Err(corrupt(format!("observation shape {:?}", self.obs_shape)));
        }
        if self.num_actions == 0 || self.num_actions > 1 << 16 {
            return Err(corrupt(format!("{} actions", self.num_actions)));
        }
        let image = self.obs_shape.len() == 3;
        let (mut c, mut h, mut w) = if image {
            (self.obs_shape[0], self.obs_shape[1], self.obs_shape[2])
        } else {
            (n, 1, 1)
        };
        let mut features = None;
        let heads: &[Role] = if self.dueling {
            &[Role::Value, Role::Advantage]
        } else {
            &[Role::Out]
        };
        let hidden = self.layers.len().checked_sub(heads.len()).ok_or_else(|| {
            corrupt(format!(
                "{} layers, fewer than the heads",
                self.layers.len()
            ))
        })?;
        for (i, l) in self.layers.iter().enumerate() {
            let bad = |what: String| corrupt(format!("layer {} '{}': {what}", i, l.name));
            let role = if i < hidden {
                Role::Hidden
            } else {
                heads[i - hidden]
            };
            if l.role != role {
                return Err(bad(format!("role {:?}, expected {role:?}", l.role)));
            }
            if l.units == 0
                || l.fan_in == 0
                || l.units.checked_mul(l.fan_in).is_none_or(|p| p > 1 << 28)
            {
                return Err(bad(format!("shape {}×{}", l.units, l.fan_in)));
            }
            match l.kind {
                LayerKind::Conv3x3 => {
                    if !image || features.is_some() || l.role != Role::Hidden {
                        return Err(bad(
                            "a convolution after a linear layer or on vector observations".into(),
                        ));
                    }
                    if l.fan_in != c * 9 || h < 3 || w < 3 {
                        return Err(bad(format!("fan-in {} on a {c}×{h}×{w} input", l.fan_in)));
                    }
                    if l.weights.format().is_sparse() || l.weights.format().is_int8() {
                        return Err(bad("convolutions are stored dense f32".into()));
                    }
                    (c, h, w) = (l.units, h - 2, w - 2);
                }
                LayerKind::Linear => {
                    let f = *features.get_or_insert(c * h * w);
                    if l.fan_in != f {
                        return Err(bad(format!(
                            "fan-in {}, its input has {f} features",
                            l.fan_in
                        )));
                    }
                    if l.role == Role::Hidden {
                        features = Some(l.units);
                    }
                    let want = match l.role {
                        Role::Value => Some(1),
                        Role::Out | Role::Advantage => Some(self.num_actions),
                        Role::Hidden => None,
                    };
                    if want.is_some_and(|u| u != l.units) {
                        return Err(bad(format!("{} units for a {:?} head", l.units, l.role)));
                    }
                }
            }
            if l.bias.len() != l.units || l.bias.iter().any(|v| !v.is_finite()) {
                return Err(bad("bias".into()));
            }
            check_weights(l).map_err(bad)?;
        }
        Ok(())
    }
}

fn check_weights(l: &LayerData) -> Result<(), String> {
    let finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
    let dense_len = l.units * l.fan_in;
    let csr_ok = |row_ptr: &[u32], cols: &[u32], nvals: usize| -> Result<(), String> {
        if l.fan_in > MAX_SPARSE_FAN_IN {
            return Err(format!("sparse layers need fan-in ≤ {MAX_SPARSE_FAN_IN}"));
        }
        if row_ptr.len() != l.units + 1
            || row_ptr[0] != 0
            || *row_ptr.last().unwrap_or(&0) as usize != nvals
            || cols.len() != nvals
        {
            return Err("sparse row pointers".into());
        }
        for r in 0..l.units {
            let (a, b) = (row_ptr[r] as usize, row_ptr[r + 1] as usize);
            if a > b || b > nvals {
                return Err("sparse row pointers".into());
            }
            if cols[a..b].windows(2).any(|p| p[0] >= p[1])
                || cols[a..b].iter().any(|&j| j as usize >= l.fan_in)
            {
                return Err(format!("sparse columns of row {r}"));
            }
        }
        Ok(())
    };
    match &l.weights {
        Weights::DenseF32(d) => {
            if d.len() != dense_len || !finite(d) {
                return Err("dense weights".into());
            }
        }
        Weights::SparseF32(c) => {
            csr_ok(&c.row_ptr, &c.cols, c.vals.len())?;
            if !finite(&c.vals) {
                return Err("sparse weights".into());
            }
        }
        Weights::DenseI8 { scales, q } => {
            if q.len() != dense_len || scales.len() != l.units || !finite(scales) {
                return Err("int8 weights".into());
            }
        }
        Weights::SparseI8 { scales, csr } => {
            csr_ok(&csr.row_ptr, &csr.cols, csr.vals.len())?;
            if scales.len() != l.units || !finite(scales) {
                return Err("int8 scales".into());
            }
        }
    }
    Ok(())
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::format(format!("policy file is corrupted: {what}"))
}

fn read_layer(r: &mut Reader) -> Result<LayerData, Error> {
    let name = r.str("layer name")?;
    let kind = match r.u8("layer kind")? {
        0 => LayerKind::Conv3x3,
        1 => LayerKind::Linear,
        v => return Err(corrupt(format!("layer '{name}': kind code {v}"))),
    };
    let role = match r.u8("layer role")? {
        0 => Role::Hidden,
        1 => Role::Out,
        2 => Role::Value,
        3 => Role::Advantage,
        v => return Err(corrupt(format!("layer '{name}': role code {v}"))),
    };
    let format = r.u8("layer format")?;
    let units = r.u32("units")? as usize;
    let fan_in = r.u32("fan-in")? as usize;
    let source_nonzero = r.u32("nonzero count")? as usize;
    let dense = units
        .checked_mul(fan_in)
        .ok_or_else(|| corrupt(format!("layer '{name}': {units}×{fan_in}")))?;
    let weights = match format {
        0 => Weights::DenseF32(r.f32s(dense, "dense weights")?),
        1 => Weights::SparseF32(read_sparse(r, units, fan_in, 4, |b| {
            f32::from_le_bytes(b.try_into().expect("4 bytes"))
        })?),
        2 => {
            let scales = r.f32s(units, "int8 scales")?;
            let q = r
                .take(dense, "int8 weights")?
                .iter()
                .map(|&b| b as i8)
                .collect();
            Weights::DenseI8 { scales, q }
        }
        3 => {
            let scales = r.f32s(units, "int8 scales")?;
            let csr = read_sparse(r, units, fan_in, 1, |b| b[0] as i8)?;
            Weights::SparseI8 { scales, csr }
        }
        v => return Err(corrupt(format!("layer '{name}': format code {v}"))),
    };
    let bias = r.f32s(units, "bias")?;
    Ok(LayerData {
        name,
        kind,
        role,
        units,
        fan_in,
        source_nonzero,
        weights,
        bias,
    })
}

/// Reads gap-coded rows (see the module doc), dropping padding entries.
fn read_sparse<T: Copy + PartialEq + Default>(
    r: &mut Reader,
    units: usize,
    fan_in: usize,
    size: usize,
    decode: impl Fn(&[u8]) -> T,
) -> Result<Csr<T>, Error> {
    let lens = r.take(
        units.checked_mul(4).ok_or_else(|| corrupt("row count"))?,
        "sparse rows",
    )?;
    let mut total = 0usize;
    for b in lens.chunks_exact(4) {
        total += u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize;
        if total > r.left() {
            return Err(corrupt(format!(
                "sparse rows hold more entries than the {} bytes left",
                r.left()
            )));
        }
    }
    let gaps = r.take(total, "sparse column gaps")?;
    let vals = r.take(total * size, "sparse values")?;
    let mut csr = Csr {
        row_ptr: Vec::with_capacity(units + 1),
        cols: Vec::with_capacity(total),
        vals: Vec::with_capacity(total),
    };
    csr.row_ptr.push(0);
    let mut k = 0;
    for b in lens.chunks_exact(4) {
        let n = u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize;
        let mut col = 0usize;
        for e in k..k + n {
            let gap = gaps[e] as usize;
            if gap == 0 && e != k {
                return Err(corrupt("sparse columns not increasing"));
            }
            col += gap;
            if col >= fan_in {
                return Err(corrupt(format!("sparse column {col} ≥ fan-in {fan_in}")));
            }
            let v = decode(&vals[e * size..(e + 1) * size]);
            if v != T::default() {
                csr.cols.push(col as u32);
                csr.vals.push(v);
            }
        }
        k += n;
        csr.row_ptr.push(csr.vals.len() as u32);
    }
    Ok(csr)
}

fn put_sparse<T: Copy + Default>(
    w: &mut Vec<u8>,
    c: &Csr<T>,
    put_vals: impl Fn(&mut Vec<u8>, &[T]),
) {
    let units = c.row_ptr.len() - 1;
    let (mut gaps, mut vals) = (Vec::with_capacity(c.nnz()), Vec::with_capacity(c.nnz()));
    let mut lens = Vec::with_capacity(units);
    for r in 0..units {
        let (cols, vs) = c.row(r);
        let start = gaps.len();
        let mut prev = 0u32;
        for (&j, &v) in cols.iter().zip(vs) {
            while j - prev > 255 {
                gaps.push(255u8);
                vals.push(T::default());
                prev += 255;
            }
            gaps.push((j - prev) as u8);
            vals.push(v);
            prev = j;
        }
        lens.push((gaps.len() - start) as u32);
    }
    for l in lens {
        put_u32(w, l);
    }
    w.extend_from_slice(&gaps);
    put_vals(w, &vals);
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Error> {
        if n > self.left() {
            return Err(corrupt(format!(
                "{what}: {n} bytes needed, {} left",
                self.left()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> Result<u8, Error> {
        Ok(self.take(1, what)?[0])
    }
    fn u32(&mut self, what: &str) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }
    fn f32s(&mut self, n: usize, what: &str) -> Result<Vec<f32>, Error> {
        let bytes = self.take(n.checked_mul(4).ok_or_else(|| corrupt(what))?, what)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect())
    }
    fn str(&mut self, what: &str) -> Result<String, Error> {
        let n = self.u32(what)? as usize;
        if n > MAX_NAME {
            return Err(corrupt(format!("{what}: {n} bytes long")));
        }
        String::from_utf8(self.take(n, what)?.to_vec())
            .map_err(|_| corrupt(format!("{what}: not UTF-8")))
    }
}

fn put_u32(w: &mut Vec<u8>, v: u32) {
    w.extend_from_slice(&v.to_le_bytes());
}
fn put_f32s(w: &mut Vec<u8>, v: &[f32]) {
    for x in v {
        w.extend_from_slice(&x.to_le_bytes());
    }
}
fn put_str(w: &mut Vec<u8>, s: &str) {
    put_u32(w, s.len() as u32);
    w.extend_from_slice(s.as_bytes());
}

/// CRC-32C (Castagnoli), the checksum of the file.
pub fn crc32c(data: &[u8]) -> u32 {
    const fn table() -> [u32; 256] {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0x82F6_3B78 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    }
    const TABLE: [u32; 256] = table();
    !data.iter().fold(!0u32, |c, &b| {
        TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }
}
