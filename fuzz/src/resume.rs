//! What a resumed run does with restored state, so that state a reader ACCEPTS is also exercised:
//! a reader that lets through a state which later panics is as much a bug as one that panics.
//! Each function returns a violation (key, detail) when a property fails.

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use sparq_envs::VecEnv;
use sparq_prune::{Pruner, Scores};
use sparq_replay::{Batch, ObsEncoding, ReplayBuffer};

pub type Violation = (String, String);

fn violation(key: &str, detail: String) -> Option<Violation> {
    Some((key.to_string(), detail))
}

/// Re-serialises, samples, updates priorities and adds a transition to a restored buffer.
/// `consumed` are the snapshot bytes `read_from` read.
pub fn replay(buf: &mut ReplayBuffer, consumed: &[u8]) -> Option<Violation> {
    let mut again = Vec::new();
    if let Err(e) = buf.write_to(&mut again) {
        return violation("restored replay buffer cannot be written", e.to_string());
    }
    // A uniform buffer's snapshot still has room for PER parameters, which are read, ignored
    // and written back as zeros: compare with those bytes zeroed (and the CRC redone).
    let mut expected = consumed.to_vec();
    if buf.config().prioritized.is_none() && expected.len() >= 78 {
        expected[50..74].fill(0);
        crate::targets::replay::fix_crc(&mut expected);
    }
    if again != expected {
        let at = again
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(again.len().min(expected.len()));
        let show = |b: &[u8]| {
            b.get(at..(at + 8).min(b.len()))
                .map(|s| format!("{s:02x?}"))
                .unwrap_or_default()
        };
        return violation(
            "replay snapshot round trip changes bytes",
            format!(
                "{} bytes read, {} written, first difference at byte {at}: read {} wrote {}",
                expected.len(),
                again.len(),
                show(&expected),
                show(&again)
            ),
        );
    }
    let mut rng = Pcg64::seed_from_u64(1);
    let ol = buf.config().obs_len;
    for batch_size in [1, 7, buf.len()] {
        if !buf.can_sample(batch_size) {
            continue;
        }
        let mut batch = Batch::new(batch_size, ol);
        if let Err(e) = buf.sample(batch_size, 0.5, &mut rng, &mut batch) {
            return violation("restored replay buffer cannot sample", e.to_string());
        }
        let td: Vec<f32> = batch
            .indices
            .iter()
            .map(|&i| i as f32 * 0.1 - 1.0)
            .collect();
        if let Err(e) = buf.update_priorities(&batch.indices, &td) {
            return violation(
                "restored replay buffer rejects its own batch's priorities",
                e.to_string(),
            );
        }
    }
    // Envs whose episode is closed accept any observation; open ones report a discontinuity.
    let n = buf.config().num_envs;
    let obs = vec![0.0; n * ol];
    let next = vec![
        if buf.config().encoding == ObsEncoding::Bits {
            1.0
        } else {
            0.5
        };
        n * ol
    ];
    let _ = buf.add(
        &obs,
        &vec![1; n],
        &vec![0.25; n],
        &vec![false; n],
        &vec![true; n],
        &next,
    );
    if buf.can_sample(1) {
        let mut batch = Batch::new(1, ol);
        if let Err(e) = buf.sample(1, 1.0, &mut rng, &mut batch) {
            return violation("replay buffer cannot sample after add", e.to_string());
        }
    }
    None
}

/// Steps a restored `VecEnv` with random actions, then checks its snapshot restores again.
/// `Ok` carries a coarse behaviour signature (episode ends seen) for corpus feedback.
pub fn vec_env(env: &mut VecEnv, steps: usize) -> Result<String, Violation> {
    let mut rng = Pcg64::seed_from_u64(2);
    let n = env.num_envs();
    let again = match env.snapshot() {
        Ok(s) => s,
        Err(e) => return Err(("restored VecEnv cannot snapshot".into(), e.to_string())),
    };
    let (mut dones, mut started) = (0, true);
    for _ in 0..steps {
        let actions: Vec<usize> = (0..n)
            .map(|_| rng.random_range(0..env.num_actions()))
            .collect();
        match env.step(&actions) {
            Ok(s) => dones += (0..n).filter(|&i| s.done(i)).count(),
            Err(_) => {
                started = false; // not started: `step` refuses, as it should
                break;
            }
        }
    }
    if let Err(e) = env.restore(&again) {
        return Err((
            "VecEnv snapshot of a restored VecEnv does not restore".into(),
            e.to_string(),
        ));
    }
    Ok(format!("started={started} dones={}", dones.min(4)))
}

/// Everything the trainer and `sparq prune` ask of a restored pruner, plus its serde round trip.
pub fn pruner(p: &Pruner) -> Option<Violation> {
    let text = match serde_json::to_vec(p) {
        Ok(t) => t,
        Err(e) => return violation("restored pruner cannot be serialised", e.to_string()),
    };
    match serde_json::from_slice::<Pruner>(&text) {
        Ok(back) if &back == p => {}
        Ok(back) => {
            let (a, b) = (format!("{p:?}"), format!("{back:?}"));
            let at = a
                .bytes()
                .zip(b.bytes())
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            let from = at.saturating_sub(60);
            let detail = format!(
                "before …{}… after …{}…",
                &a[from..(at + 40).min(a.len())],
                &b[from..(at + 40).min(b.len())]
            );
            return violation("pruner serde round trip changes it", detail);
        }
        Err(e) => return violation("serialised pruner does not deserialise", e.to_string()),
    }
    if let Err(e) = p.verify_layers(p.layers()) {
        return violation("pruner rejects its own layers", e.to_string());
    }
    std::hint::black_box((
        p.report(),
        p.active_params(),
        p.last_update_step(),
        p.needs_scores(),
        p.config().describe(),
    ));
    for l in 0..p.layers().len() + 1 {
        std::hint::black_box((
            p.mask(l).map(<[bool]>::len),
            p.mask_f32(l).map(|m| m.len()),
            p.unit_mask(l),
            p.is_prunable(l),
        ));
    }
    // Updates need one score per weight of each prunable layer: skip absurdly large nets.
    let prunable_weights: usize = (0..p.layers().len())
        .filter(|&l| p.is_prunable(l))
        .map(|l| p.layers()[l].numel())
        .sum();
    if prunable_weights > 1 << 20 {
        return None;
    }
    let mut rng = Pcg64::seed_from_u64(3);
    let scores: Vec<Vec<f32>> = (0..p.layers().len())
        .map(|l| {
            if p.is_prunable(l) {
                (0..p.layers()[l].numel()).map(|_| rng.random()).collect()
            } else {
                Vec::new()
            }
        })
        .collect();
    let refs: Vec<&[f32]> = scores.iter().map(Vec::as_slice).collect();
    let mut p = p.clone();
    let c = p.config().clone();
    let from = p.last_update_step().map_or(0, |s| s.saturating_add(1));
    let mut step = Some(from);
    for _ in 0..4 {
        let Some(s) = step.and_then(|s| c.next_update_step(s)) else {
            break;
        };
        if let Err(e) = p.update(s, &Scores { rank: &refs, grow: &refs }) {
            return violation("restored pruner fails an update", e.to_string());
        }
        step = s.checked_add(1);
    }
    None
}
