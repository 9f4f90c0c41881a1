//! Property tests over random networks, sparsities and scores.

use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use sparq_prune::{
    Criterion, Granularity, LayerInfo, Mask, MaskSpec, PruneParams, Pruner, ScheduleKind, Scope,
    Scores, StepSpec, compute_masks, erk_densities,
};

fn shapes() -> impl Strategy<Value = Vec<Vec<usize>>> {
    prop::collection::vec(
        prop_oneof![
            prop::collection::vec(1usize..40, 2),
            prop::collection::vec(1usize..6, 4)
        ],
        1..5,
    )
}

fn layers_of(shapes: &[Vec<usize>]) -> Vec<LayerInfo> {
    shapes
        .iter()
        .enumerate()
        .map(|(i, s)| LayerInfo::new(format!("l{i}"), s.clone()))
        .collect()
}

/// Scores with deliberate ties (few distinct values).
fn scores_for(layers: &[LayerInfo], seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Pcg64::seed_from_u64(seed);
    layers
        .iter()
        .map(|l| {
            (0..l.numel())
                .map(|_| rng.random_range(0..20u32) as f32)
                .collect()
        })
        .collect()
}

fn masks(layers: &[LayerInfo], scores: &[Vec<f32>], spec: &MaskSpec) -> Vec<Option<Mask>> {
    let refs: Vec<&[f32]> = scores.iter().map(Vec::as_slice).collect();
    compute_masks(
        layers,
        &vec![true; layers.len()],
        &refs,
        spec,
        None,
        &mut Pcg64::seed_from_u64(0),
    )
    .unwrap()
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![
        Just(Scope::Global),
        Just(Scope::Layerwise),
        Just(Scope::Erk)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn weight_counts_are_exact(shapes in shapes(), s in 0.0f64..0.999, seed: u64) {
        let layers = layers_of(&shapes);
        let sc = scores_for(&layers, seed);
        let base = MaskSpec { sparsity: s, scope: Scope::Layerwise, criterion: Criterion::Magnitude, granularity: Granularity::Weight };
        let lw = masks(&layers, &sc, &base);
        for (l, m) in layers.iter().zip(&lw) {
            prop_assert_eq!(m.as_ref().unwrap().pruned(), (s * l.numel() as f64).round() as usize);
        }
        let gl = masks(&layers, &sc, &MaskSpec { scope: Scope::Global, ..base });
        let n: usize = layers.iter().map(LayerInfo::numel).sum();
        prop_assert_eq!(gl.iter().flatten().map(Mask::pruned).sum::<usize>(), (s * n as f64).round() as usize);
        // One threshold: nothing kept scores below anything pruned.
        let pairs: Vec<(f32, bool)> = gl.iter().zip(&sc)
            .flat_map(|(m, s)| s.iter().copied().zip(m.as_ref().unwrap().as_slice().iter().copied())).collect();
        let max_pruned = pairs.iter().filter(|p| !p.1).map(|p| p.0).fold(f32::MIN, f32::max);
        let min_kept = pairs.iter().filter(|p| p.1).map(|p| p.0).fold(f32::MAX, f32::min);
        prop_assert!(max_pruned <= min_kept);
    }

    #[test]
    fn erk_allocation_sums_to_the_target(shapes in shapes(), s in 0.0f64..0.999, seed: u64) {
        let layers = layers_of(&shapes);
        let refs: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
        let d = erk_densities(&refs, s);
        let n: Vec<f64> = layers.iter().map(|l| l.numel() as f64).collect();
        let total: f64 = n.iter().sum();
        prop_assert!(d.iter().all(|&x| (0.0..=1.0).contains(&x)));
        let kept: f64 = d.iter().zip(&n).map(|(d, n)| d * n).sum();
        prop_assert!((kept - (1.0 - s) * total).abs() < 1e-6 * total);
        // Among layers that are not dense, density is proportional to sum(shape)/numel.
        let ratio = |i: usize| shapes[i].iter().sum::<usize>() as f64 / n[i];
        let sparse: Vec<usize> = (0..d.len()).filter(|&i| d[i] < 1.0).collect();
        for w in sparse.windows(2) {
            prop_assert!((d[w[0]] / ratio(w[0]) - d[w[1]] / ratio(w[1])).abs() < 1e-9 * (1.0 + d[w[0]] / ratio(w[0])));
        }
        let spec = MaskSpec { sparsity: s, scope: Scope::Erk, criterion: Criterion::Magnitude, granularity: Granularity::Weight };
        let pruned = masks(&layers, &scores_for(&layers, seed), &spec).iter().flatten().map(Mask::pruned).sum::<usize>();
        prop_assert!((pruned as f64 - s * total).abs() <= 0.5 * layers.len() as f64 + 1e-9);
    }

    #[test]
    fn neuron_masks_are_whole_rows(shapes in shapes(), s in 0.0f64..0.999, seed: u64, scope in scope()) {
        let layers = layers_of(&shapes);
        let spec = MaskSpec { sparsity: s, scope, criterion: Criterion::Magnitude, granularity: Granularity::Neuron };
        let ms = masks(&layers, &scores_for(&layers, seed), &spec);
        let mut pruned_units = 0;
        for (l, m) in layers.iter().zip(&ms) {
            let rows: Vec<&[bool]> = m.as_ref().unwrap().as_slice().chunks(l.fan_in()).collect();
            prop_assert!(rows.iter().all(|r| r.iter().all(|&k| k == r[0])));
            prop_assert!(rows.iter().any(|r| r[0]), "a unit survives in every layer");
            pruned_units += rows.iter().filter(|r| !r[0]).count();
        }
        if scope == Scope::Layerwise {
            let expected: usize = layers.iter().map(|l| ((s * l.units() as f64).round() as usize).min(l.units() - 1)).sum();
            prop_assert_eq!(pruned_units, expected);
        }
    }

    #[test]
    fn schedules_never_unprune(
        shapes in shapes(),
        target in 0.0f64..0.99,
        scope in scope(),
        criterion in prop_oneof![Just(Criterion::Magnitude), Just(Criterion::Random), Just(Criterion::Saliency)],
        schedule in prop_oneof![Just(ScheduleKind::Polynomial), Just(ScheduleKind::Iterative)],
        neuron: bool,
        seed: u64,
    ) {
        let layers = layers_of(&shapes);
        let p = PruneParams {
            schedule, target_sparsity: target, scope, criterion,
            granularity: if neuron { Granularity::Neuron } else { Granularity::Weight },
            start: StepSpec::Step(2), end: StepSpec::Step(20), frequency: 3, rounds: 4,
            ..PruneParams::default()
        };
        let mut pruner = Pruner::new(p.check(30).unwrap(), layers.clone(), seed).unwrap();
        let mut last: Vec<Vec<bool>> = (0..layers.len()).map(|l| pruner.mask(l).unwrap().to_vec()).collect();
        let mut last_count = 0;
        for step in 0..30 {
            let sc = scores_for(&layers, seed ^ step);
            let refs: Vec<&[f32]> = sc.iter().map(Vec::as_slice).collect();
            pruner.update(step, &Scores::rank(&refs)).unwrap();
            for (l, old) in last.iter_mut().enumerate() {
                let new = pruner.mask(l).unwrap();
                prop_assert!(old.iter().zip(new).all(|(&o, &n)| o || !n));
                *old = new.to_vec();
            }
            let count = pruner.report().pruned;
            prop_assert!(count >= last_count);
            last_count = count;
        }
    }
}
