//! Binary snapshot of a whole buffer (config, cursors, storage, priorities) for resumable runs.
//!
//! Layout, all little-endian: magic `SPARQRPL`, version u32, config, max priority, env cursors,
//! slot count u64, frames (f32 or packed bytes), actions u32, rewards f32, flags u8, priority
//! leaves f64 (prioritized only), then a CRC-32C of everything before it. Inner sum-tree nodes are
//! rebuilt from the leaves, which reproduces them bit for bit.

use std::io::{self, BufWriter, Read, Write};

use crate::buffer::{
    EnvCursor, KNOWN_FLAGS, SAMPLEABLE, TERMINATED, TRANSITION, TRUNCATED, gamma_powers,
};
use crate::frames::FrameStore;
use crate::sum_tree::SumTree;
use crate::{ObsEncoding, PerParams, ReplayBuffer, ReplayConfig, ReplayError};

const MAGIC: &[u8; 8] = b"SPARQRPL";
const VERSION: u32 = 1;
/// Arrays are read in chunks of this many bytes, so a corrupt header claiming a huge size fails
/// at end of input instead of allocating it up front.
const CHUNK: usize = 1 << 16;

impl ReplayBuffer {
    /// Writes the snapshot (see module docs). Sampling a restored buffer with the same RNG state
    /// gives the same batches.
    pub fn write_to<W: Write + ?Sized>(&self, w: &mut W) -> Result<(), ReplayError> {
        let mut out = BufWriter::with_capacity(CHUNK, CrcWriter { inner: w, crc: 0 });
        let o = &mut out;
        o.write_all(MAGIC)?;
        put(o, VERSION.to_le_bytes())?;
        let c = &self.cfg;
        for v in [c.capacity, c.num_envs, c.obs_len, c.n_step] {
            put(o, (v as u64).to_le_bytes())?;
        }
        put(o, [matches!(c.encoding, ObsEncoding::Bits) as u8])?;
        put(o, c.gamma.to_le_bytes())?;
        let per = c.prioritized.unwrap_or(PerParams {
            alpha: 0.0,
            beta0: 0.0,
            eps: 0.0,
        });
        put(o, [c.prioritized.is_some() as u8])?;
        for v in [per.alpha, per.beta0, per.eps, self.max_priority] {
            put(o, v.to_le_bytes())?;
        }
        for cur in &self.envs {
            put(o, cur.written.to_le_bytes())?;
            put(o, [cur.open as u8])?;
            put(o, (cur.pending as u64).to_le_bytes())?;
        }
        put(o, (self.capacity() as u64).to_le_bytes())?;
        match &self.frames {
            FrameStore::F32 { data, .. } => {
                data.iter().try_for_each(|v| put(o, v.to_le_bytes()))?
            }
            FrameStore::Bits { data, .. } => o.write_all(data)?,
        }
        self.actions
            .iter()
            .try_for_each(|v| put(o, v.to_le_bytes()))?;
        self.rewards
            .iter()
            .try_for_each(|v| put(o, v.to_le_bytes()))?;
        o.write_all(&self.flags)?;
        if let Some(t) = &self.tree {
            t.leaves()
                .iter()
                .try_for_each(|v| put(o, v.to_le_bytes()))?;
        }
        let crc_w = out.into_inner().map_err(|e| e.into_error())?;
        let crc = crc_w.crc;
        crc_w.inner.write_all(&crc.to_le_bytes())?;
        crc_w.inner.flush()?;
        Ok(())
    }

    /// Reads a snapshot written by [`ReplayBuffer::write_to`]. Corrupt, truncated or inconsistent
    /// input gives an error, never a panic. Reads exactly the snapshot's bytes from `r`.
    pub fn read_from<R: Read + ?Sized>(r: &mut R) -> Result<Self, ReplayError> {
        let mut inp = CrcReader { inner: r, crc: 0 };
        let i = &mut inp;
        if &get::<8>(i)? != MAGIC {
            return corrupt("not a sparq replay snapshot (bad magic)");
        }
        let version = u32::from_le_bytes(get(i)?);
        if version != VERSION {
            return corrupt(&format!(
                "unsupported version {version} (expected {VERSION})"
            ));
        }
        let mut size = [0usize; 4];
        for s in &mut size {
            *s = usize::try_from(u64::from_le_bytes(get(i)?))
                .map_err(|_| ReplayError::Corrupt("config size does not fit usize".into()))?;
        }
        let [capacity, num_envs, obs_len, n_step] = size;
        let encoding = match get::<1>(i)?[0] {
            0 => ObsEncoding::F32,
            1 => ObsEncoding::Bits,
            b => return corrupt(&format!("unknown encoding tag {b}")),
        };
        let gamma = f32::from_le_bytes(get(i)?);
        let has_per = get::<1>(i)?[0];
        let [alpha, beta0, eps, max_priority] = [(); 4].map(|_| get(i).map(f64::from_le_bytes));
        let per = PerParams {
            alpha: alpha?,
            beta0: beta0?,
            eps: eps?,
        };
        let max_priority = max_priority?;
        let prioritized = match has_per {
            0 => None,
            1 => Some(per),
            b => return corrupt(&format!("bad prioritized tag {b}")),
        };
        let cfg = ReplayConfig {
            capacity,
            num_envs,
            obs_len,
            encoding,
            n_step,
            gamma,
            prioritized,
        };
        cfg.validate()
            .map_err(|e| ReplayError::Corrupt(format!("invalid stored config: {e}")))?;
        if !(max_priority.is_finite() && max_priority > 0.0) {
            return corrupt(&format!(
                "max priority {max_priority} is not finite and positive"
            ));
        }
        // Nothing is allocated from header sizes alone: arrays grow as their bytes arrive.
        let mut envs = Vec::new();
        for e in 0..num_envs {
            let written = u64::from_le_bytes(get(i)?);
            let open = match get::<1>(i)?[0] {
                0 => false,
                1 => true,
                b => return corrupt(&format!("env {e}: bad open tag {b}")),
            };
            let pending = u64::from_le_bytes(get(i)?);
            let bad = pending >= n_step as u64
                || written > u64::MAX / 2
                || (open && pending >= written)
                || (!open && pending != 0);
            if bad {
                return corrupt(&format!("env {e}: inconsistent cursor"));
            }
            envs.push(EnvCursor {
                written,
                open,
                pending: pending as usize,
            });
        }
        let frames_per_env = cfg.frames_per_env();
        let total = frames_per_env * num_envs;
        if u64::from_le_bytes(get(i)?) != total as u64 {
            return corrupt("slot count does not match the config");
        }
        let frames = match encoding {
            ObsEncoding::F32 => FrameStore::F32 {
                obs_len,
                data: get_array(i, total * obs_len, f32::from_le_bytes)?,
            },
            ObsEncoding::Bits => FrameStore::Bits {
                obs_len,
                data: get_array(i, total * obs_len.div_ceil(8), |b: [u8; 1]| b[0])?,
            },
        };
        let actions = get_array(i, total, u32::from_le_bytes)?;
        let rewards = get_array(i, total, f32::from_le_bytes)?;
        let flags = get_array(i, total, |b: [u8; 1]| b[0])?;
        let leaves = match prioritized {
            Some(_) => Some(get_array(i, total, f64::from_le_bytes)?),
            None => None,
        };
        let computed = inp.crc;
        if u32::from_le_bytes(get(inp.inner)?) != computed {
            return corrupt("checksum mismatch");
        }
        let mut buf = ReplayBuffer {
            gamma_pows: gamma_powers(gamma, n_step),
            cfg,
            frames_per_env,
            frames,
            actions,
            rewards,
            flags,
            envs,
            len: 0,
            tree: None,
            max_priority,
        };
        buf.check_restored(leaves.as_deref())?;
        buf.tree = leaves.map(|l| {
            let mut t = SumTree::new(total);
            t.rebuild(&l);
            t
        });
        Ok(buf)
    }

    /// Consistency checks after the checksum passed (guards against hand-made or buggy files).
    fn check_restored(&mut self, leaves: Option<&[f64]>) -> Result<(), ReplayError> {
        let mut len = 0;
        for (slot, &fl) in self.flags.iter().enumerate() {
            let bad = fl & !KNOWN_FLAGS != 0
                || (fl & (SAMPLEABLE | TERMINATED | TRUNCATED) != 0 && fl & TRANSITION == 0)
                || fl & (TERMINATED | TRUNCATED) == TERMINATED | TRUNCATED;
            if bad {
                return corrupt(&format!("slot {slot}: invalid flags {fl:#04x}"));
            }
            let valid = fl & SAMPLEABLE != 0;
            len += usize::from(valid);
            if let Some(l) = leaves {
                let p = l[slot];
                if !(p.is_finite() && p >= 0.0) || (p > 0.0) != valid {
                    return corrupt(&format!(
                        "slot {slot}: priority {p} inconsistent with flags"
                    ));
                }
            }
        }
        let f = self.frames_per_env as u64;
        for (e, c) in self.envs.iter().enumerate() {
            // Ring positions this env has never written hold no transition.
            if c.written < f {
                let start = e * self.frames_per_env;
                let unwritten =
                    &self.flags[start + c.written as usize..start + self.frames_per_env];
                if unwritten.iter().any(|&fl| fl != 0) {
                    return corrupt(&format!(
                        "env {e}: flags set on ring positions it never wrote"
                    ));
                }
            }
            if !c.open {
                continue;
            }
            // Newest frame awaits its action; the `pending` transitions before it are stored but
            // not yet sampleable.
            let slot = |back: u64| e * self.frames_per_env + ((c.written - 1 - back) % f) as usize;
            let ok = self.flags[slot(0)] == 0
                && (1..=c.pending as u64).all(|k| self.flags[slot(k)] == TRANSITION);
            if !ok {
                return corrupt(&format!("env {e}: cursor does not match the stored flags"));
            }
        }
        if let Some(v) = self.rewards.iter().find(|v| !v.is_finite()) {
            return corrupt(&format!("non-finite reward {v}"));
        }
        if let Some(v) = self
            .frames
            .data_f32()
            .and_then(|d| d.iter().find(|v| !v.is_finite()))
        {
            return corrupt(&format!("non-finite observation value {v}"));
        }
        self.len = len;
        Ok(())
    }
}

fn corrupt<T>(msg: &str) -> Result<T, ReplayError> {
    Err(ReplayError::Corrupt(msg.to_string()))
}

fn put<W: Write, const N: usize>(w: &mut W, bytes: [u8; N]) -> io::Result<()> {
    w.write_all(&bytes)
}

fn get<const N: usize>(r: &mut (impl Read + ?Sized)) -> Result<[u8; N], ReplayError> {
    let mut b = [0u8; N];
    read_exact(r, &mut b)?;
    Ok(b)
}

fn read_exact(r: &mut (impl Read + ?Sized), b: &mut [u8]) -> Result<(), ReplayError> {
    r.read_exact(b).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => ReplayError::Corrupt("snapshot ends early".into()),
        _ => ReplayError::Io(e),
    })
}

/// Reads `count` fixed-size little-endian values chunk by chunk.
fn get_array<T, const N: usize>(
    r: &mut (impl Read + ?Sized),
    count: usize,
    decode: impl Fn([u8; N]) -> T,
) -> Result<Vec<T>, ReplayError> {
    let per_chunk = CHUNK / N;
    let mut out = Vec::with_capacity(count.min(per_chunk));
    let mut bytes = vec![0u8; per_chunk.min(count) * N];
    let mut left = count;
    while left > 0 {
        let n = left.min(per_chunk);
        let b = &mut bytes[..n * N];
        read_exact(r, b)?;
        out.extend(b.chunks_exact(N).map(|c| {
            let mut a = [0u8; N];
            a.copy_from_slice(c);
            decode(a)
        }));
        left -= n;
    }
    Ok(out)
}

struct CrcWriter<'a, W: Write + ?Sized> {
    inner: &'a mut W,
    crc: u32,
}

impl<W: Write + ?Sized> Write for CrcWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc = crc32c::crc32c_append(self.crc, &buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

struct CrcReader<'a, R: Read + ?Sized> {
    inner: &'a mut R,
    crc: u32,
}

impl<R: Read + ?Sized> Read for CrcReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc = crc32c::crc32c_append(self.crc, &buf[..n]);
        Ok(n)
    }
}
