//! Bits encoding, input validation and the storage-size bound.

mod common;

use common::*;
use sparq_replay::{ObsEncoding, ReplayBuffer, ReplayConfig, ReplayError};

fn bits_cfg(capacity: usize, num_envs: usize, obs_len: usize) -> ReplayConfig {
    ReplayConfig {
        encoding: ObsEncoding::Bits,
        ..cfg(capacity, num_envs, obs_len, 1, 0.99)
    }
}

/// Deterministic pseudo-random 0/1 observation, unique per `seed`.
fn plane(seed: u64, len: usize) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x & 1) as f32
        })
        .collect()
}

#[test]
fn bits_round_trip_exactly_for_minatar_shapes() {
    for obs_len in [400, 1000, 13] {
        let envs = 2;
        let mut b = ReplayBuffer::new(bits_cfg(40, envs, obs_len)).unwrap();
        let mut cur: Vec<Vec<f32>> = (0..envs).map(|e| plane(e as u64 + 1000, obs_len)).collect();
        let mut want = Vec::new();
        for t in 0..12u64 {
            let next: Vec<Vec<f32>> = (0..envs)
                .map(|e| plane(t * 10 + e as u64, obs_len))
                .collect();
            let done: Vec<bool> = (0..envs).map(|e| (t + e as u64) % 5 == 4).collect();
            b.add(
                &cur.concat(),
                &[1, 2],
                &[0.5, -0.5],
                &done,
                &[false; 2],
                &next.concat(),
            )
            .unwrap();
            for e in 0..envs {
                want.push((cur[e].clone(), next[e].clone()));
                cur[e] = if done[e] {
                    plane(t * 10 + e as u64 + 5000, obs_len)
                } else {
                    next[e].clone()
                };
            }
        }
        let got = collect(&b);
        assert_eq!(got.len(), want.len());
        for (o, n) in want {
            let r = &got[&key(&o)];
            assert_eq!(r.obs, o, "obs_len {obs_len}");
            assert_eq!(r.next_obs, n, "obs_len {obs_len}");
        }
    }
}

#[test]
fn bits_rejects_non_binary_and_stores_nothing() {
    let mut b = ReplayBuffer::new(bits_cfg(20, 2, 3)).unwrap();
    let ok = [0.0, 1.0, 1.0, 1.0, 0.0, 0.0];
    b.add(&ok, &[0, 0], &[1.0, 1.0], &[false; 2], &[false; 2], &ok)
        .unwrap();
    let before = collect(&b);
    let bad = [0.0, 1.0, 1.0, 1.0, 0.5, 0.0];
    let err = b
        .add(&ok, &[0, 0], &[1.0, 1.0], &[false; 2], &[false; 2], &bad)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ReplayError::NotBinary {
                env: 1,
                name: "next_obs",
                pos: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("not 0 or 1"));
    assert_eq!(
        collect(&b),
        before,
        "a rejected add must not change the buffer"
    );
    // The stream continues from the previous next_obs as if nothing happened.
    b.add(&ok, &[0, 0], &[1.0, 1.0], &[false; 2], &[false; 2], &ok)
        .unwrap();
    assert_eq!(b.len(), 4);
}

#[test]
fn add_validates_lengths_continuity_and_values() {
    let mut b = ReplayBuffer::new(cfg(20, 2, 2, 1, 0.9)).unwrap();
    let o = [1.0, 2.0, 3.0, 4.0];
    let e = b
        .add(&o[..3], &[0, 0], &[0.0; 2], &[false; 2], &[false; 2], &o)
        .unwrap_err();
    assert!(
        matches!(
            e,
            ReplayError::Length {
                name: "obs",
                got: 3,
                expected: 4
            }
        ),
        "{e}"
    );
    let e = b
        .add(&o, &[0], &[0.0; 2], &[false; 2], &[false; 2], &o)
        .unwrap_err();
    assert!(
        matches!(
            e,
            ReplayError::Length {
                name: "actions",
                ..
            }
        ),
        "{e}"
    );
    let e = b
        .add(&o, &[0, 0], &[0.0, f32::NAN], &[false; 2], &[false; 2], &o)
        .unwrap_err();
    assert!(
        matches!(
            e,
            ReplayError::NotFinite {
                env: 1,
                name: "rewards",
                ..
            }
        ),
        "{e}"
    );
    let e = b
        .add(&o, &[0, 1 << 40], &[0.0; 2], &[false; 2], &[false; 2], &o)
        .unwrap_err();
    assert!(matches!(e, ReplayError::ActionRange { env: 1, .. }), "{e}");

    let next = [5.0, 6.0, 7.0, 8.0];
    b.add(&o, &[0, 0], &[0.0; 2], &[false, true], &[false; 2], &next)
        .unwrap();
    // Env 0 continues, so its obs must be [5, 6]; env 1 ended, so any reset obs is fine.
    let wrong = [5.0, 6.5, 0.0, 0.0];
    let e = b
        .add(&wrong, &[0, 0], &[0.0; 2], &[false; 2], &[false; 2], &next)
        .unwrap_err();
    assert!(matches!(e, ReplayError::Discontinuity { env: 0 }), "{e}");
    b.add(
        &[5.0, 6.0, 0.0, 0.0],
        &[0, 0],
        &[0.0; 2],
        &[false; 2],
        &[false; 2],
        &next,
    )
    .unwrap();
    assert_eq!(b.len(), 4);
}

#[test]
fn config_validation_names_the_key() {
    let bad = [
        (
            ReplayConfig {
                num_envs: 0,
                ..cfg(10, 1, 1, 1, 0.9)
            },
            "num_envs",
        ),
        (
            ReplayConfig {
                obs_len: 0,
                ..cfg(10, 1, 1, 1, 0.9)
            },
            "obs_len",
        ),
        (cfg(10, 1, 1, 0, 0.9), "n_step"),
        (cfg(10, 4, 1, 3, 0.9), "capacity"),
        (cfg(10, 1, 1, 1, 1.5), "gamma"),
        (
            ReplayConfig {
                prioritized: per(-1.0, 1e-6),
                ..cfg(10, 1, 1, 1, 0.9)
            },
            "alpha",
        ),
        (
            ReplayConfig {
                prioritized: per(0.6, 0.0),
                ..cfg(10, 1, 1, 1, 0.9)
            },
            "eps",
        ),
    ];
    for (c, name) in bad {
        let e = ReplayBuffer::new(c).unwrap_err();
        assert!(
            matches!(e, ReplayError::Config(_)) && e.to_string().contains(name),
            "{e}"
        );
    }
}

#[test]
fn bytes_per_transition_for_minatar_observations() {
    for channels in [4usize, 10] {
        let obs_len = 10 * 10 * channels;
        let native = obs_len as f64; // the game's bool array: one byte per cell
        for prioritized in [None, per(0.6, 1e-6)] {
            let c = ReplayConfig {
                prioritized,
                ..bits_cfg(100_000, 8, obs_len)
            };
            let b = ReplayBuffer::new(c).unwrap();
            let bpt = b.bytes_per_transition();
            assert!(
                bpt <= 1.1 * native,
                "C={channels}: {bpt} bytes > 1.1 x {native}"
            );
            // Exactly: packed frame + action u32 + reward f32 + flags u8 (+ f64 tree, 2^k leaves).
            let tree = if prioritized.is_some() {
                2.0 * 131_072.0 * 8.0 / 100_000.0
            } else {
                0.0
            };
            let want = (obs_len / 8) as f64 + 9.0 + tree;
            assert!((bpt - want).abs() < 1e-9, "C={channels}: {bpt} != {want}");
        }
    }
    // F32 for CartPole: 16 bytes of obs + 9.
    let b = ReplayBuffer::new(cfg(1000, 4, 4, 3, 0.99)).unwrap();
    assert_eq!(b.bytes_per_transition(), 25.0);
}
