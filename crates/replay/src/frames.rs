//! Observation frame storage: one fixed-size slot per frame, raw f32 or bit-packed.

use crate::{ObsEncoding, ReplayError};

/// `UNPACK[b][j]` is bit `j` of byte `b` as 0.0 / 1.0.
static UNPACK: [[f32; 8]; 256] = unpack_table();

const fn unpack_table() -> [[f32; 8]; 256] {
    let mut t = [[0.0f32; 8]; 256];
    let mut b = 0;
    while b < 256 {
        let mut j = 0;
        while j < 8 {
            if (b >> j) & 1 == 1 {
                t[b][j] = 1.0;
            }
            j += 1;
        }
        b += 1;
    }
    t
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FrameStore {
    F32 {
        obs_len: usize,
        data: Vec<f32>,
    },
    /// Bit `j` of a frame lives in byte `j / 8`, bit `j % 8` (LSB first).
    Bits {
        obs_len: usize,
        data: Vec<u8>,
    },
}

impl FrameStore {
    pub(crate) fn new(encoding: ObsEncoding, obs_len: usize, frames: usize) -> Self {
        match encoding {
            ObsEncoding::F32 => Self::F32 {
                obs_len,
                data: vec![0.0; frames * obs_len],
            },
            ObsEncoding::Bits => Self::Bits {
                obs_len,
                data: vec![0; frames * obs_len.div_ceil(8)],
            },
        }
    }

    pub(crate) fn allocated_bytes(&self) -> usize {
        match self {
            Self::F32 { data, .. } => data.len() * 4,
            Self::Bits { data, .. } => data.len(),
        }
    }

    /// Checks that `row` can be stored (finite; 0/1 for Bits) before anything is mutated.
    pub(crate) fn check(
        &self,
        env: usize,
        name: &'static str,
        row: &[f32],
    ) -> Result<(), ReplayError> {
        let binary = matches!(self, Self::Bits { .. });
        for (pos, &value) in row.iter().enumerate() {
            if binary {
                if value != 0.0 && value != 1.0 {
                    return Err(ReplayError::NotBinary {
                        env,
                        name,
                        pos,
                        value,
                    });
                }
            } else if !value.is_finite() {
                return Err(ReplayError::NotFinite {
                    env,
                    name,
                    pos,
                    value,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn write(&mut self, frame: usize, row: &[f32]) {
        match self {
            Self::F32 { obs_len, data } => {
                data[frame * *obs_len..(frame + 1) * *obs_len].copy_from_slice(row);
            }
            Self::Bits { obs_len, data } => {
                let nb = obs_len.div_ceil(8);
                let dst = &mut data[frame * nb..(frame + 1) * nb];
                for (byte, chunk) in dst.iter_mut().zip(row.chunks(8)) {
                    let mut b = 0u8;
                    for (j, &v) in chunk.iter().enumerate() {
                        b |= u8::from(v == 1.0) << j;
                    }
                    *byte = b;
                }
            }
        }
    }

    /// Whether stored frame `frame` holds exactly `row` (`row` already passed `check`).
    pub(crate) fn equals(&self, frame: usize, row: &[f32]) -> bool {
        match self {
            Self::F32 { obs_len, data } => &data[frame * *obs_len..(frame + 1) * *obs_len] == row,
            Self::Bits { obs_len, data } => {
                let nb = obs_len.div_ceil(8);
                let src = &data[frame * nb..(frame + 1) * nb];
                src.iter().zip(row.chunks(8)).all(|(&byte, chunk)| {
                    chunk
                        .iter()
                        .enumerate()
                        .all(|(j, &v)| ((byte >> j) & 1 == 1) == (v == 1.0))
                })
            }
        }
    }

    pub(crate) fn read(&self, frame: usize, out: &mut [f32]) {
        match self {
            Self::F32 { obs_len, data } => {
                out.copy_from_slice(&data[frame * *obs_len..(frame + 1) * *obs_len]);
            }
            Self::Bits { obs_len, data } => {
                let nb = obs_len.div_ceil(8);
                let src = &data[frame * nb..(frame + 1) * nb];
                // One 32-byte table copy per byte: the bit loop was the cost of MinAtar sampling.
                let mut chunks = out.chunks_exact_mut(8);
                for (chunk, &byte) in (&mut chunks).zip(src) {
                    chunk.copy_from_slice(&UNPACK[usize::from(byte)]);
                }
                let rest = chunks.into_remainder();
                if let Some(&byte) = src.get(*obs_len / 8) {
                    let n = rest.len();
                    rest.copy_from_slice(&UNPACK[usize::from(byte)][..n]);
                }
            }
        }
    }

    pub(crate) fn data_f32(&self) -> Option<&[f32]> {
        match self {
            Self::F32 { data, .. } => Some(data),
            Self::Bits { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_odd_length() {
        // 13 values: crosses a byte boundary with a partial last byte.
        let row: Vec<f32> = (0..13)
            .map(|i| ((i * 7 + 3) % 3 == 0) as u8 as f32)
            .collect();
        let mut s = FrameStore::new(ObsEncoding::Bits, 13, 3);
        s.check(0, "obs", &row).unwrap();
        s.write(1, &row);
        let mut out = vec![9.0; 13];
        s.read(1, &mut out);
        assert_eq!(out, row);
        assert!(s.equals(1, &row));
        let mut flipped = row.clone();
        flipped[12] = 1.0 - flipped[12];
        assert!(!s.equals(1, &flipped));
        // Neighbouring frames untouched.
        s.read(0, &mut out);
        assert!(out.iter().all(|&v| v == 0.0));
        assert_eq!(s.allocated_bytes(), 3 * 2);
    }

    #[test]
    fn bits_rejects_non_binary() {
        let s = FrameStore::new(ObsEncoding::Bits, 4, 2);
        for bad in [0.5, -1.0, 2.0, f32::NAN] {
            let err = s.check(3, "next_obs", &[0.0, 1.0, bad, 0.0]).unwrap_err();
            assert!(
                matches!(err, ReplayError::NotBinary { env: 3, pos: 2, .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn f32_rejects_non_finite() {
        let s = FrameStore::new(ObsEncoding::F32, 2, 2);
        assert!(s.check(0, "obs", &[1.5, -2.0]).is_ok());
        assert!(s.check(0, "obs", &[1.5, f32::INFINITY]).is_err());
    }
}
