//! Snapshot → restore reproduces the buffer; damaged input is an error, not a panic.

mod common;

use common::*;
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use sparq_replay::{Batch, ObsEncoding, ReplayBuffer, ReplayConfig, ReplayError};

/// Steps every env once with pseudo-random data derived from `t`.
fn drive(b: &mut ReplayBuffer, cur: &mut Vec<f32>, t: u64, rng: &mut Pcg64) {
    let (envs, ol) = (b.config().num_envs, b.config().obs_len);
    let bits = b.config().encoding == ObsEncoding::Bits;
    let val = |rng: &mut Pcg64| {
        if bits {
            rng.random_range(0..2) as f32
        } else {
            rng.random::<f32>()
        }
    };
    let next: Vec<f32> = (0..envs * ol).map(|_| val(rng)).collect();
    let acts: Vec<usize> = (0..envs).map(|_| rng.random_range(0..6)).collect();
    let rews: Vec<f32> = (0..envs).map(|_| rng.random_range(-1.0..1.0)).collect();
    let term: Vec<bool> = (0..envs).map(|_| rng.random_bool(0.05)).collect();
    let trunc: Vec<bool> = (0..envs).map(|_| rng.random_bool(0.03)).collect();
    b.add(cur, &acts, &rews, &term, &trunc, &next).unwrap();
    *cur = next;
    for e in 0..envs {
        if term[e] || trunc[e] {
            for v in &mut cur[e * ol..(e + 1) * ol] {
                *v = val(rng);
            }
        }
    }
    let _ = t;
}

fn built(encoding: ObsEncoding, prioritized: bool) -> (ReplayBuffer, Vec<f32>, Pcg64) {
    let c = ReplayConfig {
        encoding,
        prioritized: if prioritized { per(0.6, 1e-3) } else { None },
        ..cfg(90, 3, 5, 3, 0.95)
    };
    let mut b = ReplayBuffer::new(c).unwrap();
    let mut rng = Pcg64::seed_from_u64(21);
    let mut cur = vec![0.0; 15];
    for t in 0..70 {
        drive(&mut b, &mut cur, t, &mut rng); // wraps the 30-frame rings twice
    }
    if prioritized {
        let mut batch = Batch::new(16, 5);
        b.sample(16, 0.5, &mut rng, &mut batch).unwrap();
        let td: Vec<f32> = (0..16).map(|i| i as f32 * 0.3 - 2.0).collect();
        b.update_priorities(&batch.indices, &td).unwrap();
    }
    (b, cur, rng)
}

fn snapshot(b: &ReplayBuffer) -> Vec<u8> {
    let mut bytes = Vec::new();
    b.write_to(&mut bytes).unwrap();
    bytes
}

#[test]
fn restore_gives_identical_subsequent_samples() {
    for encoding in [ObsEncoding::F32, ObsEncoding::Bits] {
        for prioritized in [false, true] {
            let (mut a, cur, rng) = built(encoding, prioritized);
            let bytes = snapshot(&a);
            let mut b = ReplayBuffer::read_from(&mut bytes.as_slice()).unwrap();
            assert_eq!((b.len(), b.max_priority()), (a.len(), a.max_priority()));
            assert_eq!(snapshot(&b), bytes, "re-serialising gives the same bytes");
            let (mut ra, mut rb) = (rng.clone(), rng);
            let (mut ca, mut cb) = (cur.clone(), cur);
            let (mut ba, mut bb) = (Batch::new(32, 5), Batch::new(32, 5));
            for t in 0..40 {
                a.sample(32, 0.7, &mut ra, &mut ba).unwrap();
                b.sample(32, 0.7, &mut rb, &mut bb).unwrap();
                assert_eq!(ba, bb, "{encoding:?} prioritized={prioritized} round {t}");
                let td: Vec<f32> = ba.returns.iter().map(|r| r * 0.5).collect();
                a.update_priorities(&ba.indices, &td).unwrap();
                b.update_priorities(&bb.indices, &td).unwrap();
                drive(&mut a, &mut ca, t, &mut ra);
                drive(&mut b, &mut cb, t, &mut rb);
            }
        }
    }
}

#[test]
fn reads_exactly_its_own_bytes() {
    let (a, ..) = built(ObsEncoding::Bits, true);
    let (b, ..) = built(ObsEncoding::F32, false);
    let mut stream = snapshot(&a);
    stream.extend(snapshot(&b));
    stream.extend(b"tail");
    let mut r = stream.as_slice();
    assert_eq!(
        snapshot(&ReplayBuffer::read_from(&mut r).unwrap()),
        snapshot(&a)
    );
    assert_eq!(
        snapshot(&ReplayBuffer::read_from(&mut r).unwrap()),
        snapshot(&b)
    );
    assert_eq!(r, b"tail");
}

#[test]
fn garbage_truncation_and_bit_flips_are_errors() {
    let mut rng = Pcg64::seed_from_u64(8);
    for len in [0, 1, 7, 8, 100, 10_000] {
        let junk: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        assert!(ReplayBuffer::read_from(&mut junk.as_slice()).is_err());
    }
    let (b, ..) = built(ObsEncoding::F32, true);
    let bytes = snapshot(&b);
    // Every truncation.
    for cut in 0..bytes.len() {
        let e = ReplayBuffer::read_from(&mut &bytes[..cut]).unwrap_err();
        assert!(matches!(e, ReplayError::Corrupt(_)), "cut {cut}: {e}");
    }
    // Every single-byte corruption (CRC-32C detects all bursts up to 32 bits).
    let mut damaged = bytes.clone();
    for i in 0..bytes.len() {
        damaged[i] ^= 0x5a;
        assert!(
            ReplayBuffer::read_from(&mut damaged.as_slice()).is_err(),
            "flip at {i}"
        );
        damaged[i] = bytes[i];
    }
    // Wrong magic and version say so.
    let mut m = bytes.clone();
    m[0] = b'X';
    let e = ReplayBuffer::read_from(&mut m.as_slice()).unwrap_err();
    assert!(e.to_string().contains("magic"), "{e}");
}

#[test]
fn consistent_checksum_but_inconsistent_content_is_rejected() {
    // Rewrite one flag byte and fix the checksum: the consistency checks must catch it.
    let (b, ..) = built(ObsEncoding::F32, true);
    let bytes = snapshot(&b);
    let total = b.capacity();
    // flags come right before the f64 leaves and the 4-byte CRC.
    let flags_at = bytes.len() - 4 - total * 8 - total;
    for bad_flag in [0x10u8, 0x08, 0x02 | 0x04 | 0x01] {
        let mut m = bytes.clone();
        m[flags_at] = bad_flag;
        let n = m.len();
        let crc = crc32c(&m[..n - 4]);
        m[n - 4..].copy_from_slice(&crc.to_le_bytes());
        let e = ReplayBuffer::read_from(&mut m.as_slice()).unwrap_err();
        assert!(matches!(e, ReplayError::Corrupt(_)), "{e}");
    }
}

/// Bitwise CRC-32C (Castagnoli, reflected 0x82F63B78), independent of the crate's.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn any_single_byte_edit_with_valid_checksum_never_panics() {
    // Hand-edited files pass the CRC; each must either load into a usable buffer or be rejected.
    for prioritized in [false, true] {
        let (b, cur, rng) = built(ObsEncoding::F32, prioritized);
        let bytes = snapshot(&b);
        let (mut loaded, mut rejected, mut added) = (0, 0, 0);
        for i in 0..bytes.len() - 4 {
            for v in [0x00, 0xff, bytes[i] ^ 1, bytes[i] ^ 0x80] {
                let mut m = bytes.clone();
                m[i] = v;
                let n = m.len();
                let crc = crc32c(&m[..n - 4]);
                m[n - 4..].copy_from_slice(&crc.to_le_bytes());
                let Ok(mut r) = ReplayBuffer::read_from(&mut m.as_slice()) else {
                    rejected += 1;
                    continue;
                };
                loaded += 1;
                let (mut rng, mut cur) = (rng.clone(), cur.clone());
                let mut batch = Batch::new(8, 5);
                for t in 0..4 {
                    if r.can_sample(8) {
                        r.sample(8, 0.5, &mut rng, &mut batch).unwrap();
                        r.update_priorities(&batch.indices, &batch.returns).unwrap();
                    }
                    if r.config().obs_len == 5 && r.config().num_envs == 3 {
                        let next: Vec<f32> = (0..15).map(|k| (t * 15 + k) as f32).collect();
                        let done = [t % 2 == 1, false, true];
                        let res = r.add(&cur, &[1; 3], &[0.5; 3], &done, &[false; 3], &next);
                        if res.is_ok() {
                            cur = next;
                            added += 1;
                        }
                    }
                }
            }
        }
        assert!(
            loaded > 0 && rejected > 0 && added > 0,
            "{loaded} {rejected} {added}"
        );
    }
}
