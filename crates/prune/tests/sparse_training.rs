//! Sparse training through the one pruner API: SET and RigL rewire at constant sparsity with equal
//! drop and grow counts, only at their update steps; STE recomputes its top-k every step; the
//! initial masks follow the uniform or ERK allocation; the state round-trips mid-run.

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use sparq_prune::{
    DropSchedule, LayerInfo, MaskChanges, PruneParams, Pruner, ScheduleKind, Scope, Scores,
    StepSpec, erk_densities,
};

fn net() -> Vec<LayerInfo> {
    vec![
        LayerInfo::new("fc0", [64, 4]),
        LayerInfo::new("fc1", [64, 64]),
        LayerInfo::output("out", [2, 64]),
    ]
}

fn params(schedule: ScheduleKind) -> PruneParams {
    PruneParams {
        schedule,
        target_sparsity: 0.9,
        start: StepSpec::Step(0),
        end: StepSpec::Step(800),
        frequency: 100,
        scope: Scope::Layerwise,
        ..PruneParams::default()
    }
}

fn pruner(p: PruneParams) -> Pruner {
    Pruner::new(p.check(1000).unwrap(), net(), 7).unwrap()
}

fn masks(p: &Pruner) -> Vec<Vec<bool>> {
    (0..3).map(|l| p.mask(l).unwrap().to_vec()).collect()
}

fn kept(p: &Pruner) -> Vec<usize> {
    masks(p)
        .iter()
        .map(|m| m.iter().filter(|&&k| k).count())
        .collect()
}

fn random(rng: &mut Pcg64) -> Vec<Vec<f32>> {
    net()
        .iter()
        .map(|l| (0..l.numel()).map(|_| rng.random::<f32>()).collect())
        .collect()
}

/// Drives `p` over gradient steps `steps` with random magnitudes and gradients; returns the
/// changes of each update, checking on the way what must hold at every step.
fn drive(p: &mut Pruner, steps: std::ops::Range<u64>, rng: &mut Pcg64) -> Vec<(u64, MaskChanges)> {
    let mut updates = Vec::new();
    for step in steps {
        let (rank, grow) = (random(rng), random(rng));
        let rank: Vec<&[f32]> = rank.iter().map(Vec::as_slice).collect();
        let grow: Vec<&[f32]> = grow.iter().map(Vec::as_slice).collect();
        let (before, count_before) = (masks(p), kept(p));
        let change = p
            .update(
                step,
                &Scores {
                    rank: &rank,
                    grow: &grow,
                },
            )
            .unwrap();
        assert_eq!(change.is_some(), p.is_update_step(step), "step {step}");
        assert_eq!(kept(p), count_before, "step {step}: sparsity changed");
        match change {
            Some(c) => {
                assert_eq!(
                    c.dropped, c.grown,
                    "step {step}: drop and grow counts differ"
                );
                let moved: usize = before
                    .iter()
                    .zip(masks(p))
                    .map(|(b, a)| b.iter().zip(&a).filter(|(x, y)| x != y).count())
                    .sum();
                assert_eq!(moved as u64, c.dropped + c.grown, "step {step}");
                updates.push((step, c));
            }
            None => assert_eq!(masks(p), before, "step {step}: masks changed off schedule"),
        }
    }
    updates
}

#[test]
fn set_and_rigl_rewire_at_constant_sparsity_only_on_their_steps() {
    for schedule in [ScheduleKind::Set, ScheduleKind::Rigl] {
        let mut p = pruner(params(schedule));
        // Layerwise (uniform): round(0.1 · n) kept in every layer from construction on.
        assert_eq!(kept(&p), vec![26, 410, 13], "{schedule}");
        let mut rng = Pcg64::seed_from_u64(1);
        let updates = drive(&mut p, 0..1000, &mut rng);
        let steps: Vec<u64> = updates.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            steps,
            (1..=8).map(|k| k * 100).collect::<Vec<_>>(),
            "{schedule}"
        );
        // Cosine decay of 0.3 over 0..800: 0.3/2 · (1 + cos(π/8)) of the 410 active in fc1 at
        // step 100, nothing at step 800.
        let at_100 = ((0.15 * (1.0 + (std::f64::consts::PI / 8.0).cos())) * 410.0).round();
        let first = updates[0].1;
        assert_eq!(
            first.dropped,
            at_100 as u64
                + (0.15 * (1.0 + (std::f64::consts::PI / 8.0).cos()) * 26.0).round() as u64
                + (0.15 * (1.0 + (std::f64::consts::PI / 8.0).cos()) * 13.0).round() as u64,
            "{schedule}"
        );
        assert_eq!(
            updates[7].1.dropped, 0,
            "{schedule}: cosine reaches 0 at the end"
        );
        let total = updates
            .iter()
            .fold(MaskChanges::default(), |mut a, (_, c)| {
                a += *c;
                a
            });
        assert_eq!(p.take_changes(), total);
        assert_eq!(
            p.take_changes(),
            MaskChanges::default(),
            "taking resets the count"
        );
    }
}

#[test]
fn rigl_grows_where_the_gradient_is_largest_and_set_at_random() {
    let mut p = pruner(PruneParams {
        drop_schedule: DropSchedule::Constant,
        ..params(ScheduleKind::Rigl)
    });
    let before = masks(&p);
    let rank: Vec<Vec<f32>> = net()
        .iter()
        .map(|l| (0..l.numel()).map(|i| i as f32).collect())
        .collect();
    // The gradient is largest on the highest inactive indices.
    let grow = rank.clone();
    let rank_refs: Vec<&[f32]> = rank.iter().map(Vec::as_slice).collect();
    let grow_refs: Vec<&[f32]> = grow.iter().map(Vec::as_slice).collect();
    let change = p
        .update(
            100,
            &Scores {
                rank: &rank_refs,
                grow: &grow_refs,
            },
        )
        .unwrap()
        .unwrap();
    let after = masks(&p);
    for l in 0..3 {
        let active: Vec<usize> = (0..before[l].len()).filter(|&i| before[l][i]).collect();
        let inactive: Vec<usize> = (0..before[l].len()).filter(|&i| !before[l][i]).collect();
        let n = (0.3 * active.len() as f64).round() as usize;
        // Dropped: the n lowest active indices (smallest magnitude); grown: the n highest
        // inactive ones (largest gradient).
        for &i in &active[..n] {
            assert!(!after[l][i], "layer {l}: weight {i} should be dropped");
        }
        for &i in &inactive[inactive.len() - n..] {
            assert!(after[l][i], "layer {l}: weight {i} should be grown");
        }
    }
    assert_eq!(change.dropped, change.grown);

    // SET's initial mask and growth come from the pruner's seed.
    let other = Pruner::new(params(ScheduleKind::Set).check(1000).unwrap(), net(), 8).unwrap();
    assert_ne!(masks(&other), masks(&pruner(params(ScheduleKind::Set))));
}

#[test]
fn erk_initial_masks_follow_the_erk_allocation() {
    let p = pruner(PruneParams {
        scope: Scope::Erk,
        ..params(ScheduleKind::Rigl)
    });
    let shapes: Vec<&[usize]> = vec![&[64, 4], &[64, 64], &[2, 64]];
    let densities = erk_densities(&shapes, 0.9);
    for ((k, d), l) in kept(&p).iter().zip(&densities).zip(net()) {
        let expected = l.numel() as f64 * d;
        assert!(
            (*k as f64 - expected).abs() <= 1.0,
            "{}: {k} kept, ERK says {expected}",
            l.name
        );
    }
    // Small layers are denser than the big one under ERK.
    let s = p.report();
    assert!(s.layers["fc1"] > s.layers["fc0"] && (s.global - 0.9).abs() < 0.01);
}

#[test]
fn ste_recomputes_its_top_k_every_step_and_can_bring_weights_back() {
    let mut p = pruner(PruneParams {
        start: StepSpec::Step(0),
        end: StepSpec::Step(10),
        ..params(ScheduleKind::Ste)
    });
    let mut rng = Pcg64::seed_from_u64(4);
    let mut came_back = false;
    for step in 0..20 {
        assert!(p.is_update_step(step));
        let rank = random(&mut rng);
        let refs: Vec<&[f32]> = rank.iter().map(Vec::as_slice).collect();
        let before = masks(&p);
        p.update(step, &Scores::rank(&refs)).unwrap().unwrap();
        // Exactly the top-k of this step's scores per layer.
        let target = p.config().target_at(step);
        for (l, (m, s)) in masks(&p).iter().zip(&rank).enumerate() {
            let k = s.len() - (target * s.len() as f64).round() as usize;
            let mut sorted = s.clone();
            sorted.sort_by(|a, b| b.total_cmp(a));
            let threshold = if k == 0 { f32::INFINITY } else { sorted[k - 1] };
            let expected: Vec<bool> = s.iter().map(|&x| x >= threshold).collect();
            assert_eq!(m, &expected, "step {step} layer {l}");
            came_back |= before[l].iter().zip(m).any(|(&b, &a)| !b && a);
        }
    }
    assert!(
        came_back,
        "under STE a pruned weight returns when its magnitude grows"
    );
}

#[test]
fn state_round_trips_mid_run() {
    let mut a = pruner(params(ScheduleKind::Rigl));
    let mut rng = Pcg64::seed_from_u64(9);
    drive(&mut a, 0..350, &mut rng);
    let saved = serde_json::to_string(&a).unwrap();
    let mut b: Pruner = serde_json::from_str(&saved).unwrap();
    assert_eq!(a, b);
    let (mut ra, mut rb) = (rng.clone(), rng);
    let ca = drive(&mut a, 350..1000, &mut ra);
    let cb = drive(&mut b, 350..1000, &mut rb);
    assert_eq!(ca, cb);
    assert_eq!(a, b);
    assert_eq!(a.take_changes(), b.take_changes());
}

#[test]
fn bad_settings_get_one_line() {
    let cases = [
        (
            PruneParams {
                scope: Scope::Global,
                ..params(ScheduleKind::Rigl)
            },
            "prune.scope = \"global\" does not apply to schedule = \"rigl\": use scope = \"layerwise\" (uniform) or \"erk\"",
        ),
        (
            PruneParams {
                criterion: sparq_prune::Criterion::Saliency,
                ..params(ScheduleKind::Set)
            },
            "prune.criterion = \"saliency\" does not apply to schedule = \"set\": use criterion = \"magnitude\"",
        ),
        (
            PruneParams {
                granularity: sparq_prune::Granularity::Neuron,
                ..params(ScheduleKind::Ste)
            },
            "prune.granularity = \"neuron\" does not apply to schedule = \"ste\": use granularity = \"weight\"",
        ),
        (
            PruneParams {
                drop_fraction: 0.0,
                ..params(ScheduleKind::Set)
            },
            "prune.drop_fraction = 0 is out of range: allowed (0, 1]",
        ),
        (
            PruneParams {
                initial_sparsity: 0.5,
                ..params(ScheduleKind::Rigl)
            },
            "prune.initial_sparsity = 0.5 only applies to schedule = \"polynomial\" or \"ste\" (schedule is \"rigl\"); set it to 0",
        ),
    ];
    for (p, expected) in cases {
        assert_eq!(p.check(1000).unwrap_err().to_string(), expected);
    }
}

#[test]
fn rigl_refuses_missing_gradients() {
    let mut p = pruner(params(ScheduleKind::Rigl));
    let mut rng = Pcg64::seed_from_u64(2);
    let rank = random(&mut rng);
    let refs: Vec<&[f32]> = rank.iter().map(Vec::as_slice).collect();
    let e = p.update(100, &Scores::rank(&refs)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "pruning scores given for 0 layers, but the pruner has 3"
    );
}
