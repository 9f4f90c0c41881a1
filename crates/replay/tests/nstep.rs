//! n-step returns and discounts against hand computation, episode ends, wrap-around, multi-env.

mod common;

use common::*;
use sparq_replay::{Batch, ReplayBuffer};

/// Expected (obs, return, discount, next_obs) for single-value observations.
fn expect(got: &std::collections::BTreeMap<Vec<u32>, Row>, want: &[(f32, f32, f32, f32)]) {
    assert_eq!(
        got.len(),
        want.len(),
        "valid transitions: {:?}",
        got.keys().collect::<Vec<_>>()
    );
    for &(o, ret, disc, next) in want {
        let r = got
            .get(&key(&[o]))
            .unwrap_or_else(|| panic!("transition from obs {o} missing"));
        assert!(close(r.ret, ret), "obs {o}: return {} != {ret}", r.ret);
        assert!(
            close(r.discount, disc),
            "obs {o}: discount {} != {disc}",
            r.discount
        );
        assert_eq!(r.next_obs, vec![next], "obs {o}: next_obs");
        assert_eq!(r.action, o as i64, "obs {o}: action");
    }
}

#[test]
fn n_step_returns_across_termination_truncation_and_open_episode() {
    let mut b = ReplayBuffer::new(cfg(100, 1, 1, 3, 0.5)).unwrap();
    // Episode A terminates after 4 steps; final obs 100.
    step1(&mut b, 0.0, 0, 1.0, false, false, 1.0);
    step1(&mut b, 1.0, 1, 2.0, false, false, 2.0);
    step1(&mut b, 2.0, 2, 4.0, false, false, 3.0);
    step1(&mut b, 3.0, 3, 8.0, true, false, 100.0);
    // Episode B is truncated after 3 steps; final obs 200.
    step1(&mut b, 10.0, 10, 1.0, false, false, 11.0);
    step1(&mut b, 11.0, 11, 2.0, false, false, 12.0);
    step1(&mut b, 12.0, 12, 4.0, false, true, 200.0);
    // Episode C is still running: 2 < n steps, nothing of it is complete yet.
    step1(&mut b, 20.0, 20, 1.0, false, false, 21.0);
    step1(&mut b, 21.0, 21, 2.0, false, false, 22.0);

    // γ = 0.5. A: [0] 1 + .5·2 + .25·4 = 3, window full (γ^3); [1] 2 + .5·4 + .25·8 = 6 but the
    // third step terminates → 0; [2], [3]: n exceeds what is left of the episode, cut at its end.
    // B: truncation bootstraps from the final obs with γ^k, k = reward terms.
    expect(
        &collect(&b),
        &[
            (0.0, 3.0, 0.125, 3.0),
            (1.0, 6.0, 0.0, 100.0),
            (2.0, 8.0, 0.0, 100.0),
            (3.0, 8.0, 0.0, 100.0),
            (10.0, 3.0, 0.125, 200.0),
            (11.0, 4.0, 0.25, 200.0),
            (12.0, 4.0, 0.5, 200.0),
        ],
    );
    step1(&mut b, 22.0, 22, 4.0, false, false, 23.0);
    let got = collect(&b);
    assert_eq!(b.len(), 8);
    let r = &got[&key(&[20.0])];
    assert!(close(r.ret, 3.0) && close(r.discount, 0.125) && r.next_obs == vec![23.0]);
}

#[test]
fn one_step_ring_wraps_and_invalidates_overwritten_frames() {
    // 4 frames, n = 1, γ = 0.9.
    let mut b = ReplayBuffer::new(cfg(4, 1, 1, 1, 0.9)).unwrap();
    step1(&mut b, 0.0, 0, 1.0, false, false, 1.0);
    step1(&mut b, 1.0, 1, 2.0, false, false, 2.0);
    step1(&mut b, 2.0, 2, 3.0, false, false, 3.0);
    expect(
        &collect(&b),
        &[
            (0.0, 1.0, 0.9, 1.0),
            (1.0, 2.0, 0.9, 2.0),
            (2.0, 3.0, 0.9, 3.0),
        ],
    );
    // Frame [4] lands in slot 0 over [0]; [3]'s next obs is read across the wrap.
    step1(&mut b, 3.0, 3, 4.0, false, false, 4.0);
    expect(
        &collect(&b),
        &[
            (1.0, 2.0, 0.9, 2.0),
            (2.0, 3.0, 0.9, 3.0),
            (3.0, 4.0, 0.9, 4.0),
        ],
    );
    // Termination: final obs 99 overwrites [1].
    step1(&mut b, 4.0, 4, 5.0, true, false, 99.0);
    expect(
        &collect(&b),
        &[
            (2.0, 3.0, 0.9, 3.0),
            (3.0, 4.0, 0.9, 4.0),
            (4.0, 5.0, 0.0, 99.0),
        ],
    );
    // Reset obs 50 and its next obs take two frames, overwriting [2] and [3].
    step1(&mut b, 50.0, 50, 6.0, false, false, 51.0);
    expect(
        &collect(&b),
        &[(4.0, 5.0, 0.0, 99.0), (50.0, 6.0, 0.9, 51.0)],
    );
    assert_eq!(b.len(), 2);
}

#[test]
fn n_step_window_never_spans_an_overwritten_frame() {
    // 3 frames per env is the minimum for n = 2.
    let mut b = ReplayBuffer::new(cfg(3, 1, 1, 2, 0.5)).unwrap();
    step1(&mut b, 0.0, 0, 1.0, false, false, 1.0);
    assert_eq!(b.len(), 0);
    step1(&mut b, 1.0, 1, 2.0, false, false, 2.0);
    expect(&collect(&b), &[(0.0, 2.0, 0.25, 2.0)]);
    // [3] overwrites [0]: [0]'s transition is gone, [1] (next obs [3] in slot 0) appears.
    step1(&mut b, 2.0, 2, 4.0, false, false, 3.0);
    expect(&collect(&b), &[(1.0, 4.0, 0.25, 3.0)]);
    for t in 3..50 {
        let t = t as f32;
        step1(&mut b, t, t as usize, 1.0, false, false, t + 1.0);
        let got = collect(&b);
        assert_eq!(got.len(), 1);
        let r = &got[&key(&[t - 1.0])];
        assert_eq!(r.next_obs, vec![t + 1.0]);
    }
}

/// A frame: its obs and, if a transition starts there, (action, reward, terminated, truncated).
type Frame = (f32, Option<(usize, f32, bool, bool)>);
/// (obs, action, return, discount, next_obs) of one expected transition.
type Expected = (Vec<f32>, i64, f32, f32, Vec<f32>);

/// Naive reference: the whole history of every env, transitions with their full windows.
struct Model {
    n: usize,
    gamma: f32,
    frames_per_env: usize,
    /// Per env: frames in order (obs, Some((action, reward, term, trunc)) if a transition starts).
    hist: Vec<Vec<Frame>>,
}

impl Model {
    fn valid(&self) -> Vec<Expected> {
        let mut out = Vec::new();
        for (e, h) in self.hist.iter().enumerate() {
            let oldest = h.len().saturating_sub(self.frames_per_env);
            for i in oldest..h.len() {
                let Some((a, ..)) = h[i].1 else { continue };
                let (mut ret, mut k, mut disc) = (0.0f32, 0usize, None);
                while k < self.n {
                    let Some((_, r, term, trunc)) = h.get(i + k).and_then(|f| f.1) else {
                        break;
                    };
                    ret += self.gamma.powi(k as i32) * r;
                    k += 1;
                    if term {
                        disc = Some(0.0);
                        break;
                    }
                    if trunc {
                        break;
                    }
                }
                let ended = h[i + k - 1].1.is_some_and(|t| t.2 || t.3);
                if k < self.n && !ended {
                    continue; // window incomplete: episode still running
                }
                let disc = disc.unwrap_or(self.gamma.powi(k as i32));
                out.push((
                    vec![e as f32, h[i].0],
                    a as i64,
                    ret,
                    disc,
                    vec![e as f32, h[i + k].0],
                ));
            }
        }
        out
    }
}

#[test]
fn multi_env_streams_match_naive_model_through_many_wraps() {
    let (envs, n, gamma) = (3, 3, 0.9f32);
    let mut b = ReplayBuffer::new(cfg(3 * 12, envs, 2, n, gamma)).unwrap();
    let mut model = Model {
        n,
        gamma,
        frames_per_env: 12,
        hist: vec![Vec::new(); envs],
    };
    // Deterministic pseudo-random episode ends and rewards; obs = [env, unique counter].
    let mut counter = 0.0f32;
    let mut cur: Vec<f32> = (0..envs)
        .map(|_| {
            counter += 1.0;
            counter
        })
        .collect();
    let mut fresh = vec![true; envs];
    for t in 0..200u64 {
        let mut obs = Vec::new();
        let mut next = Vec::new();
        let (mut acts, mut rews, mut terms, mut truncs) = (vec![], vec![], vec![], vec![]);
        for e in 0..envs {
            let h = (t * 7919 + e as u64 * 104729) % 97;
            let term = h % 11 == 0;
            let trunc = !term && h % 13 == 0;
            counter += 1.0;
            let nxt = counter;
            let (a, r) = ((h % 5) as usize, (h % 7) as f32 - 3.0);
            obs.extend([e as f32, cur[e]]);
            next.extend([e as f32, nxt]);
            acts.push(a);
            rews.push(r);
            terms.push(term);
            truncs.push(trunc);
            let hist = &mut model.hist[e];
            if fresh[e] {
                hist.push((cur[e], None));
            }
            hist.last_mut().unwrap().1 = Some((a, r, term, trunc));
            hist.push((nxt, None));
            fresh[e] = term || trunc;
            cur[e] = if fresh[e] {
                counter += 1.0;
                counter
            } else {
                nxt
            };
        }
        b.add(&obs, &acts, &rews, &terms, &truncs, &next).unwrap();
        if t % 17 == 0 || t > 190 {
            let want = model.valid();
            let got = collect(&b);
            assert_eq!(got.len(), want.len(), "step {t}");
            for (o, a, ret, disc, nxt) in want {
                let r = &got[&key(&o)];
                assert_eq!(r.obs[0], r.next_obs[0], "env streams mixed");
                assert_eq!((r.action, &r.next_obs), (a, &nxt), "step {t} obs {o:?}");
                assert!(
                    close(r.ret, ret) && close(r.discount, disc),
                    "step {t} obs {o:?}: {r:?}"
                );
            }
        }
    }
}

#[test]
fn sampling_is_uniform_over_valid_transitions_only() {
    // Short episodes leave final-obs frames (invalid) between valid ones.
    let mut b = ReplayBuffer::new(cfg(1000, 1, 1, 1, 0.9)).unwrap();
    let mut o = 0.0;
    for t in 0..30 {
        let done = t % 3 == 2;
        step1(&mut b, o, t, 0.0, done, false, o + 1.0);
        o += if done { 1000.0 } else { 1.0 };
    }
    assert_eq!(b.len(), 30);
    let mut rng = <rand_pcg::Pcg64 as rand::SeedableRng>::seed_from_u64(3);
    let mut batch = Batch::new(30, 1);
    let mut counts = std::collections::BTreeMap::<usize, u64>::new();
    let draws = 30_000;
    for _ in 0..draws / 30 {
        b.sample(30, 1.0, &mut rng, &mut batch).unwrap();
        for &i in &batch.indices {
            *counts.entry(i).or_default() += 1;
        }
        assert!(batch.weights.iter().all(|&w| w == 1.0));
    }
    assert_eq!(counts.len(), 30, "only the 30 valid slots are drawn");
    let e = draws as f64 / 30.0;
    let chi2: f64 = counts.values().map(|&c| (c as f64 - e).powi(2) / e).sum();
    // 29 degrees of freedom: P(chi2 > 58.3) = 0.001.
    assert!(chi2 < 58.3, "chi2 = {chi2}");
}

#[test]
fn exact_fallback_when_almost_every_slot_is_pending() {
    // n = 1000: after 1001 steps of one running episode only the first transition is complete.
    let mut b = ReplayBuffer::new(cfg(2000, 1, 1, 1000, 0.999)).unwrap();
    for t in 0..1001 {
        step1(&mut b, t as f32, t, 1.0, false, false, t as f32 + 1.0);
    }
    assert_eq!(b.len(), 2);
    let mut rng = <rand_pcg::Pcg64 as rand::SeedableRng>::seed_from_u64(1);
    let mut batch = Batch::new(2, 1);
    for _ in 0..20 {
        b.sample(2, 1.0, &mut rng, &mut batch).unwrap();
        assert!(batch.obs.iter().all(|&o| o == 0.0 || o == 1.0));
    }
    let want = (1.0 - 0.999f32.powi(1000)) / (1.0 - 0.999);
    let r = &collect(&b)[&key(&[0.0])];
    assert!((r.ret - want).abs() < 1e-2, "{} vs {want}", r.ret);
    assert_eq!(r.next_obs, vec![1000.0]);
}

#[test]
fn batches_are_drawn_with_replacement_once_one_window_is_complete() {
    // n = 3: nothing is sampleable until the third step of the episode; then a batch of 8 is
    // eight draws of the one complete transition (SB3 likewise samples 64 from 4 stored).
    let mut b = ReplayBuffer::new(cfg(100, 1, 1, 3, 0.5)).unwrap();
    let mut rng = <rand_pcg::Pcg64 as rand::SeedableRng>::seed_from_u64(5);
    let mut batch = Batch::new(8, 1);
    for t in 0..2 {
        step1(&mut b, t as f32, t, 1.0, false, false, t as f32 + 1.0);
        assert!(!b.can_sample(8));
        let err = b.sample(8, 1.0, &mut rng, &mut batch).unwrap_err();
        assert!(err.to_string().contains("no valid transition"), "{err}");
    }
    step1(&mut b, 2.0, 2, 1.0, false, false, 3.0);
    assert_eq!(b.len(), 1);
    assert!(b.can_sample(8));
    b.sample(8, 1.0, &mut rng, &mut batch).unwrap();
    assert!(batch.obs.iter().all(|&o| o == 0.0), "{:?}", batch.obs);
    assert!(batch.next_obs.iter().all(|&o| o == 3.0));
}
