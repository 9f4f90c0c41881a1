//! The stateful pruner over whole schedules: monotone masks, exact counts at every update,
//! static masks, reporting, and checkpoint round-trips.

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use sparq_prune::{
    Criterion, Granularity, LayerInfo, PruneError, PruneParams, Pruner, ScheduleKind, Scope,
    Scores, StepSpec,
};

fn net() -> Vec<LayerInfo> {
    vec![
        LayerInfo::new("fc0", [16, 8]),
        LayerInfo::new("fc1", [16, 16]),
        LayerInfo::output("out", [4, 16]),
    ]
}

fn params(schedule: ScheduleKind) -> PruneParams {
    PruneParams {
        schedule,
        start: StepSpec::Step(10),
        end: StepSpec::Step(50),
        frequency: 1,
        ..PruneParams::default()
    }
}

fn pruner(p: PruneParams) -> Pruner {
    Pruner::new(p.check(100).unwrap(), net(), 42).unwrap()
}

fn random_scores(layers: &[LayerInfo], rng: &mut Pcg64) -> Vec<Vec<f32>> {
    layers
        .iter()
        .map(|l| (0..l.numel()).map(|_| rng.random::<f32>()).collect())
        .collect()
}

/// Runs `steps` gradient steps with fresh random scores each step; returns the pruned count
/// after each step.
fn drive(p: &mut Pruner, steps: std::ops::Range<u64>, rng: &mut Pcg64) -> Vec<usize> {
    let mut counts = Vec::new();
    for step in steps {
        let s = random_scores(p.layers(), rng);
        let refs: Vec<&[f32]> = s.iter().map(Vec::as_slice).collect();
        let before: Vec<Vec<bool>> = (0..3)
            .map(|l| p.mask(l).map(<[bool]>::to_vec).unwrap_or_default())
            .collect();
        let updated = p.update(step, &Scores::rank(&refs)).unwrap();
        assert_eq!(updated.is_some(), p.is_update_step(step));
        for (l, old) in before.iter().enumerate() {
            let new = p.mask(l).unwrap_or_default();
            assert!(
                old.iter().zip(new).all(|(&o, &n)| o || !n),
                "step {step} layer {l}: a pruned weight came back"
            );
        }
        counts.push(p.report().pruned);
    }
    counts
}

#[test]
fn polynomial_global_is_monotone_and_exact_at_every_update() {
    let mut p = pruner(params(ScheduleKind::Polynomial));
    let total = 128 + 256 + 64;
    let mut rng = Pcg64::seed_from_u64(1);
    let counts = drive(&mut p, 0..100, &mut rng);
    for (step, &count) in counts.iter().enumerate() {
        let scheduled = p.config().target_at(step.clamp(10, 50) as u64);
        let expected = if step < 10 {
            0
        } else {
            (scheduled * total as f64).round() as usize
        };
        assert_eq!(count, expected, "step {step}");
    }
    assert_eq!(counts[99], 403); // round(0.9 · 448)
    assert_eq!(p.last_update_step(), Some(50));
    assert!((p.report().global - 403.0 / 448.0).abs() < 1e-12);
}

#[test]
fn layerwise_and_erk_follow_the_schedule_per_layer() {
    for scope in [Scope::Layerwise, Scope::Erk] {
        let mut p = pruner(PruneParams {
            scope,
            frequency: 7,
            ..params(ScheduleKind::Polynomial)
        });
        let mut rng = Pcg64::seed_from_u64(2);
        drive(&mut p, 0..100, &mut rng);
        let r = p.report();
        if scope == Scope::Layerwise {
            let expected = [115.0 / 128.0, 230.0 / 256.0, 58.0 / 64.0]; // round(0.9·n)/n
            for ((_, s), e) in r.layers.iter().zip(expected) {
                assert!((s - e).abs() < 1e-12, "{r:?}");
            }
        } else {
            assert!((r.pruned as f64 - 0.9 * 448.0).abs() <= 1.5, "{r:?}");
        }
    }
}

#[test]
fn iterative_prunes_the_same_fraction_of_survivors_each_round() {
    let p = PruneParams {
        target_sparsity: 0.875,
        rounds: 3,
        scope: Scope::Layerwise,
        ..params(ScheduleKind::Iterative)
    };
    let mut p = Pruner::new(
        p.check(100).unwrap(),
        vec![LayerInfo::new("a", [8, 100])],
        0,
    )
    .unwrap();
    let mut rng = Pcg64::seed_from_u64(3);
    let counts = drive(&mut p, 0..100, &mut rng);
    // Rounds at 10, 30, 50: 800 → 400 → 200 → 100 alive.
    assert_eq!(
        (
            counts[9], counts[10], counts[29], counts[30], counts[49], counts[50], counts[99]
        ),
        (0, 400, 400, 600, 600, 700, 700)
    );
}

#[test]
fn one_shot_prunes_once() {
    let mut p = pruner(params(ScheduleKind::OneShot));
    let mut rng = Pcg64::seed_from_u64(4);
    let counts = drive(&mut p, 0..100, &mut rng);
    assert_eq!((counts[9], counts[10], counts[99]), (0, 403, 403));
    assert_eq!(p.last_update_step(), Some(10));
}

#[test]
fn static_mask_exists_from_construction_and_never_changes() {
    let mut p = pruner(PruneParams {
        scope: Scope::Erk,
        ..params(ScheduleKind::Static)
    });
    assert!(!p.needs_scores());
    let initial: Vec<Vec<bool>> = (0..3).map(|l| p.mask(l).unwrap().to_vec()).collect();
    assert!((p.report().pruned as f64 - 0.9 * 448.0).abs() <= 1.5);
    assert_eq!(
        p.update(0, &Scores::default()).unwrap(),
        None,
        "the static mask is drawn at construction, not at an update"
    );
    assert_eq!(p.update(1, &Scores::default()).unwrap(), None);
    let mut rng = Pcg64::seed_from_u64(5);
    drive(&mut p, 1..100, &mut rng);
    for (l, m) in initial.iter().enumerate() {
        assert_eq!(p.mask(l).unwrap(), m.as_slice());
    }
    // The seed picks the mask.
    let other = Pruner::new(p.config().clone(), net(), 43).unwrap();
    assert_ne!(other.mask(1), p.mask(1));
}

#[test]
fn none_schedule_has_no_masks() {
    let mut p = pruner(params(ScheduleKind::None));
    assert_eq!(p.update(10, &Scores::default()).unwrap(), None);
    assert!((0..3).all(|l| p.mask(l).is_none() && p.mask_f32(l).is_none()));
    assert_eq!(p.active_params(), 448);
    assert_eq!(p.report().total, 0);
}

#[test]
fn include_exclude_and_unknown_layers() {
    let p = pruner(PruneParams {
        exclude: vec!["out".into()],
        ..params(ScheduleKind::OneShot)
    });
    assert!(p.is_prunable(0) && p.is_prunable(1) && !p.is_prunable(2));
    assert!(p.mask(2).is_none());
    let c = PruneParams {
        include: vec!["fc9".into()],
        ..params(ScheduleKind::OneShot)
    }
    .check(100)
    .unwrap();
    assert_eq!(
        Pruner::new(c, net(), 0).unwrap_err().to_string(),
        "prune.include: unknown layer 'fc9'; layers are: fc0, fc1, out"
    );
    let c = PruneParams {
        granularity: Granularity::Neuron,
        ..params(ScheduleKind::OneShot)
    }
    .check(100)
    .unwrap();
    let e = Pruner::new(c, vec![LayerInfo::output("out", [4, 16])], 0).unwrap_err();
    assert_eq!(
        e,
        PruneError::NoPrunableLayers {
            known: "out".into()
        }
    );
}

#[test]
fn neuron_pruner_exposes_unit_masks_and_counts_active_params() {
    let p = PruneParams {
        granularity: Granularity::Neuron,
        scope: Scope::Layerwise,
        target_sparsity: 0.5,
        ..params(ScheduleKind::OneShot)
    };
    let mut p = pruner(p);
    let mut rng = Pcg64::seed_from_u64(6);
    drive(&mut p, 0..11, &mut rng);
    let units = p.unit_mask(0).unwrap();
    assert_eq!(units.len(), 16);
    assert_eq!(units.iter().filter(|&&k| !k).count(), 8);
    for (u, &kept) in units.iter().enumerate() {
        assert!(
            p.mask(0).unwrap()[u * 8..(u + 1) * 8]
                .iter()
                .all(|&k| k == kept)
        );
    }
    assert!(p.unit_mask(2).is_none(), "the output layer keeps its units");
    assert_eq!(p.active_params(), 448 - 8 * 8 - 8 * 16);
    let f = p.mask_f32(0).unwrap();
    assert_eq!(f.iter().filter(|&&x| x == 0.0).count(), 64);
}

#[test]
fn scores_are_checked() {
    let mut p = pruner(params(ScheduleKind::OneShot));
    assert!(
        p.update(3, &Scores::default()).unwrap().is_none(),
        "off-schedule steps do not look at scores"
    );
    let e = p.update(10, &Scores::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "pruning scores given for 0 layers, but the pruner has 3"
    );
}

#[test]
fn state_round_trip_gives_identical_future_masks() {
    for criterion in [Criterion::Random, Criterion::Magnitude] {
        let mut a = pruner(PruneParams {
            criterion,
            frequency: 5,
            ..params(ScheduleKind::Polynomial)
        });
        let mut rng = Pcg64::seed_from_u64(7);
        drive(&mut a, 0..30, &mut rng);
        let json = serde_json::to_string(&a).unwrap();
        let mut b: Pruner = serde_json::from_str(&json).unwrap();
        assert_eq!(a, b);
        b.verify_layers(&net()).unwrap();
        // Same future scores → same future masks, including the RNG-driven random criterion.
        let (mut ra, mut rb) = (rng.clone(), rng);
        drive(&mut a, 30..100, &mut ra);
        drive(&mut b, 30..100, &mut rb);
        assert_eq!(a, b);
        assert_eq!(a.masks(), b.masks());
    }
}

#[test]
fn restored_state_is_checked_against_layers_and_itself() {
    let p = pruner(params(ScheduleKind::OneShot));
    let e = p.verify_layers(&[
        LayerInfo::new("fc0", [16, 8]),
        LayerInfo::new("fc1", [16, 32]),
        LayerInfo::output("out", [4, 16]),
    ]);
    assert_eq!(
        e.unwrap_err().to_string(),
        "pruner state does not match: layer 1 is 'fc1' [16, 16] in the pruner but 'fc1' [16, 32] in the network"
    );
    let json = serde_json::to_string(&p).unwrap();
    let wrong = json.replace("[16,16]", "[16,17]");
    assert_ne!(wrong, json);
    let e = serde_json::from_str::<Pruner>(&wrong)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("mask for layer 'fc1' has 256 entries, but the layer has 272 weights"),
        "{e}"
    );
}
