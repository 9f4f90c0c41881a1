//! `replay`: `ReplayBuffer::read_from` on mutated snapshots, then what a resumed run does with an
//! accepted buffer (re-serialise, sample, update priorities, add).
//!
//! Input: one mode byte, then the snapshot. Mode bit 0 set: the harness rewrites the trailing
//! CRC-32C first, so mutations reach the consistency checks behind the checksum.

use rand::RngExt;

use crate::engine::{Outcome, Target};
use crate::mutate::Mutator;

pub struct ReplayTarget;

/// Recomputes the trailing checksum over everything before it.
pub fn fix_crc(snapshot: &mut [u8]) {
    if snapshot.len() >= 4 {
        let body = snapshot.len() - 4;
        let crc = crc32c::crc32c(&snapshot[..body]);
        snapshot[body..].copy_from_slice(&crc.to_le_bytes());
    }
}

/// A field of the snapshot layout (see crates/replay/src/snapshot.rs): offset and width.
fn fields(s: &[u8]) -> Vec<(usize, usize)> {
    let u64_at = |o: usize| {
        s.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    };
    // magic, version, capacity, num_envs, obs_len, n_step, encoding, gamma, has_per,
    // alpha, beta0, eps, max_priority
    let mut out = vec![
        (0, 8),
        (8, 4),
        (12, 8),
        (20, 8),
        (28, 8),
        (36, 8),
        (44, 1),
        (45, 4),
        (49, 1),
        (50, 8),
        (58, 8),
        (66, 8),
        (74, 8),
    ];
    let (Some(cap), Some(envs), Some(obs_len)) = (u64_at(12), u64_at(20), u64_at(28)) else {
        return out;
    };
    let (bits, per) = (s.get(44) == Some(&1), s.get(49) == Some(&1));
    if envs == 0 || envs > 64 || cap > 1 << 20 || obs_len > 1 << 10 {
        return out;
    }
    let (cap, envs, obs_len) = (cap as usize, envs as usize, obs_len as usize);
    let mut at = 82;
    for _ in 0..envs {
        out.extend([(at, 8), (at + 8, 1), (at + 9, 8)]);
        at += 17;
    }
    let total = cap.div_ceil(envs) * envs;
    out.push((at, 8));
    at += 8;
    let frame_bytes = if bits {
        obs_len.div_ceil(8)
    } else {
        obs_len * 4
    };
    let width = if bits { 1 } else { 4 };
    let region = |start: usize, count: usize, w: usize, out: &mut Vec<(usize, usize)>| {
        for i in 0..count.min(4096) {
            out.push((start + i * w, w));
        }
        start + count * w
    };
    at = region(at, total * frame_bytes / width, width, &mut out);
    at = region(at, total, 4, &mut out); // actions
    at = region(at, total, 4, &mut out); // rewards
    at = region(at, total, 1, &mut out); // flags
    if per {
        region(at, total, 8, &mut out); // priority leaves
    }
    out.retain(|&(o, w)| o + w <= s.len());
    out
}

/// An edge value for a field of `width` bytes.
fn edge(m: &mut Mutator, old: &[u8]) -> Vec<u8> {
    match old.len() {
        1 => vec![[0, 1, 2, 3, 5, 8, 9, 11, 13, 15, 16, 255][m.below(12)]],
        4 => {
            let f = [
                f32::NAN,
                f32::INFINITY,
                -1.0,
                0.0,
                -0.0,
                1.0,
                1.0000001,
                0.5,
                f32::MAX,
                f32::MIN_POSITIVE,
            ];
            let v = if m.chance(0.5) {
                f[m.below(f.len())].to_bits()
            } else {
                [0, 1, 2, 7, u32::MAX, 1 << 31][m.below(6)]
            };
            v.to_le_bytes().to_vec()
        }
        _ => {
            let old = u64::from_le_bytes(old.try_into().unwrap_or([0; 8]));
            let f = [
                f64::NAN,
                f64::INFINITY,
                0.0,
                -0.0,
                1e300,
                5e-324,
                -1.0,
                1.0,
                0.5,
            ];
            let v = match m.below(4) {
                0 => f[m.below(f.len())].to_bits(),
                1 => old.wrapping_add(m.rng.random_range(1..4)),
                2 => old.wrapping_sub(m.rng.random_range(1..4)),
                _ => [
                    0,
                    1,
                    2,
                    3,
                    1 << 32,
                    (1 << 32) + 1,
                    1 << 63,
                    u64::MAX,
                    u64::MAX / 2,
                    (u64::MAX / 2) + 1,
                ][m.below(10)],
            };
            v.to_le_bytes().to_vec()
        }
    }
}

impl Target for ReplayTarget {
    fn name(&self) -> &'static str {
        "replay"
    }

    fn seeds(&mut self) -> Vec<Vec<u8>> {
        crate::seeds::replay_snapshots()
            .into_iter()
            .flat_map(|s| [0u8, 1].map(|mode| [&[mode][..], &s].concat()))
            .collect()
    }

    fn mutate(&mut self, m: &mut Mutator, input: &[u8], other: &[u8]) -> Vec<u8> {
        let mut out = input.to_vec();
        if out.is_empty() {
            out.push(0);
        }
        let roll = m.below(100);
        if roll < 10 {
            out[0] ^= 1;
        } else if roll < 55 && out.len() > 1 + 82 {
            // Only fields inside the input: a short one (a truncated snapshot, or the marker
            // of a special checkpoint entry) would index past its end.
            let f: Vec<(usize, usize)> = fields(&out[1..])
                .into_iter()
                .filter(|&(o, w)| 1 + o + w <= out.len())
                .collect();
            for _ in 0..1 + m.below(3) {
                let (o, w) = f[m.below(f.len())];
                let v = edge(m, &out[1 + o..1 + o + w]);
                out[1 + o..1 + o + w].copy_from_slice(&v);
            }
            out[0] |= 1;
        } else {
            let mut body = out[1..].to_vec();
            m.mutate_bytes(&mut body, other.get(1..).unwrap_or(&[]));
            out.truncate(1);
            out.extend_from_slice(&body);
        }
        out
    }

    fn exec(&mut self, input: &[u8]) -> Outcome {
        let Some((&mode, snapshot)) = input.split_first() else {
            return Outcome::Rejected("empty input".into());
        };
        let mut bytes = snapshot.to_vec();
        if mode & 1 == 1 {
            fix_crc(&mut bytes);
        }
        let mut reader = bytes.as_slice();
        match sparq_replay::ReplayBuffer::read_from(&mut reader) {
            Err(e) => Outcome::Rejected(e.to_string()),
            Ok(mut buf) => {
                let consumed = &bytes[..bytes.len() - reader.len()];
                if let Some((key, detail)) = crate::resume::replay(&mut buf, consumed) {
                    return Outcome::Violation { key, detail };
                }
                let c = buf.config();
                Outcome::Accepted(format!(
                    "{:?} per={} n={} envs={} len>0={}",
                    c.encoding,
                    c.prioritized.is_some(),
                    c.n_step,
                    c.num_envs,
                    !buf.is_empty()
                ))
            }
        }
    }
}
