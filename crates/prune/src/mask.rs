//! A keep/prune mask over one layer's weights (row-major, same order as the weight tensor).
//! Held as `Vec<bool>` for cheap slicing; serialised as packed 64-bit words to keep checkpoints
//! small.

use serde::{Deserialize, Serialize};

use crate::error::PruneError;

/// `true` = weight kept, `false` = pruned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PackedMask", into = "PackedMask")]
pub struct Mask {
    keep: Vec<bool>,
}

impl Mask {
    /// A mask that keeps all `len` weights.
    pub fn all_kept(len: usize) -> Self {
        Mask {
            keep: vec![true; len],
        }
    }

    /// Wraps an explicit keep vector.
    pub fn from_keep(keep: Vec<bool>) -> Self {
        Mask { keep }
    }

    /// One entry per weight: `true` = kept.
    pub fn as_slice(&self) -> &[bool] {
        &self.keep
    }

    pub fn len(&self) -> usize {
        self.keep.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keep.is_empty()
    }

    pub fn is_kept(&self, index: usize) -> bool {
        self.keep[index]
    }

    pub fn kept(&self) -> usize {
        self.keep.iter().filter(|&&k| k).count()
    }

    pub fn pruned(&self) -> usize {
        self.len() - self.kept()
    }

    /// Pruned fraction; 0 for an empty mask.
    pub fn sparsity(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.pruned() as f64 / self.len() as f64
        }
    }

    /// 1.0 where kept, 0.0 where pruned: multiply into the weight tensor.
    pub fn to_f32(&self) -> Vec<f32> {
        self.keep
            .iter()
            .map(|&k| if k { 1.0 } else { 0.0 })
            .collect()
    }

    /// Writes the 0/1 mask into `out` (e.g. a tensor's CPU buffer) without allocating.
    pub fn write_f32(&self, out: &mut [f32]) -> Result<(), PruneError> {
        if out.len() != self.len() {
            return Err(PruneError::LengthMismatch {
                what: "mask output buffer",
                expected: self.len(),
                got: out.len(),
            });
        }
        for (o, &k) in out.iter_mut().zip(&self.keep) {
            *o = if k { 1.0 } else { 0.0 };
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackedMask {
    len: usize,
    /// Bit i of word i/64 set = weight i kept.
    keep_bits: Vec<u64>,
}

impl From<Mask> for PackedMask {
    fn from(m: Mask) -> Self {
        let mut keep_bits = vec![0u64; m.len().div_ceil(64)];
        for (i, _) in m.keep.iter().enumerate().filter(|(_, k)| **k) {
            keep_bits[i / 64] |= 1 << (i % 64);
        }
        PackedMask {
            len: m.len(),
            keep_bits,
        }
    }
}

impl TryFrom<PackedMask> for Mask {
    type Error = String;

    fn try_from(p: PackedMask) -> Result<Self, String> {
        if p.keep_bits.len() != p.len.div_ceil(64) {
            return Err(format!(
                "mask of {} weights needs {} words, got {}",
                p.len,
                p.len.div_ceil(64),
                p.keep_bits.len()
            ));
        }
        if p.len % 64 != 0 && p.keep_bits.last().is_some_and(|w| w >> (p.len % 64) != 0) {
            return Err(format!(
                "mask of {} weights has bits set past its end",
                p.len
            ));
        }
        let keep = (0..p.len)
            .map(|i| p.keep_bits[i / 64] >> (i % 64) & 1 == 1)
            .collect();
        Ok(Mask { keep })
    }
}
