//! Mask computation: exact counts, one global threshold, ERK allocation, neuron granularity,
//! layer selection and tie-breaking.

use rand::SeedableRng;
use rand_pcg::Pcg64;
use sparq_prune::{
    Criterion, Granularity, LayerInfo, Mask, MaskSpec, PruneError, Scope, compute_masks,
    erk_densities, select_layers,
};

fn net() -> Vec<LayerInfo> {
    vec![
        LayerInfo::new("fc0", [8, 4]),
        LayerInfo::new("fc1", [6, 8]),
        LayerInfo::output("out", [2, 6]),
    ]
}

/// Distinct scores, interleaved across layers so the global threshold is not layer-aligned.
fn scores(layers: &[LayerInfo]) -> Vec<Vec<f32>> {
    let mut k = 0u32;
    layers
        .iter()
        .map(|l| {
            (0..l.numel())
                .map(|_| {
                    k += 1;
                    (u64::from(k) * 7919 % 1_000_003) as f32
                })
                .collect()
        })
        .collect()
}

fn spec(sparsity: f64, scope: Scope) -> MaskSpec {
    MaskSpec {
        sparsity,
        scope,
        criterion: Criterion::Magnitude,
        granularity: Granularity::Weight,
    }
}

fn run(
    layers: &[LayerInfo],
    s: &[Vec<f32>],
    spec: &MaskSpec,
) -> Result<Vec<Option<Mask>>, PruneError> {
    let refs: Vec<&[f32]> = s.iter().map(Vec::as_slice).collect();
    compute_masks(
        layers,
        &vec![true; layers.len()],
        &refs,
        spec,
        None,
        &mut Pcg64::seed_from_u64(0),
    )
}

fn pruned(m: &Option<Mask>) -> usize {
    m.as_ref().map_or(0, Mask::pruned)
}

#[test]
fn layerwise_prunes_round_s_n_in_every_layer() {
    let layers = net();
    let s = scores(&layers);
    let masks = run(&layers, &s, &spec(0.3, Scope::Layerwise)).unwrap();
    // round(0.3·32) = 10, round(0.3·48) = 14, round(0.3·12) = 4 (3.6 rounds up).
    assert_eq!(
        masks.iter().map(pruned).collect::<Vec<_>>(),
        vec![10, 14, 4]
    );
    // Within each layer, exactly the smallest scores went.
    for (m, sc) in masks.iter().zip(&s) {
        let m = m.as_ref().unwrap();
        let max_pruned = (0..m.len())
            .filter(|&i| !m.is_kept(i))
            .map(|i| sc[i])
            .fold(f32::MIN, f32::max);
        let min_kept = (0..m.len())
            .filter(|&i| m.is_kept(i))
            .map(|i| sc[i])
            .fold(f32::MAX, f32::min);
        assert!(max_pruned < min_kept);
    }
}

#[test]
fn global_prunes_round_s_total_below_one_threshold() {
    let layers = net();
    let s = scores(&layers);
    let masks = run(&layers, &s, &spec(0.5, Scope::Global)).unwrap();
    assert_eq!(masks.iter().map(pruned).sum::<usize>(), 46); // round(0.5·92)
    let all: Vec<(f32, bool)> = masks
        .iter()
        .zip(&s)
        .flat_map(|(m, sc)| {
            sc.iter()
                .zip(m.as_ref().unwrap().as_slice())
                .map(|(&x, &k)| (x, k))
        })
        .collect();
    let max_pruned = all
        .iter()
        .filter(|(_, k)| !k)
        .map(|(x, _)| *x)
        .fold(f32::MIN, f32::max);
    let min_kept = all
        .iter()
        .filter(|(_, k)| *k)
        .map(|(x, _)| *x)
        .fold(f32::MAX, f32::min);
    assert!(max_pruned < min_kept, "{max_pruned} vs {min_kept}");
}

#[test]
fn ties_go_to_the_lower_layer_then_lower_index() {
    let layers = net();
    let flat: Vec<Vec<f32>> = layers.iter().map(|l| vec![1.0; l.numel()]).collect();
    let masks = run(&layers, &flat, &spec(0.5, Scope::Global)).unwrap();
    // 46 pruned: all 32 of fc0, then the first 14 of fc1.
    assert_eq!(pruned(&masks[0]), 32);
    let fc1 = masks[1].as_ref().unwrap().as_slice();
    assert!(fc1[..14].iter().all(|k| !k) && fc1[14..].iter().all(|&k| k));
    assert_eq!(pruned(&masks[2]), 0);
    let masks = run(&layers, &flat, &spec(0.25, Scope::Layerwise)).unwrap();
    assert!(
        masks[0].as_ref().unwrap().as_slice()[..8]
            .iter()
            .all(|k| !k)
    );
    assert!(
        masks[0].as_ref().unwrap().as_slice()[8..]
            .iter()
            .all(|&k| k)
    );
}

#[test]
fn erk_matches_a_hand_computed_two_layer_case() {
    // A [4, 2]: r = 6/8 = 0.75, n = 8; B [10, 10]: r = 20/100 = 0.2, n = 100; keep 54 of 108.
    // ε = 54/(6 + 20) → ε·r_A = 1.56 > 1, so A is dense; then ε = (54 − 8)/20 = 2.3, d_B = 0.46.
    let d = erk_densities(&[&[4, 2], &[10, 10]], 0.5);
    assert_eq!(d[0], 1.0);
    assert!((d[1] - 0.46).abs() < 1e-12);
    let layers = vec![LayerInfo::new("a", [4, 2]), LayerInfo::new("b", [10, 10])];
    let masks = run(&layers, &scores(&layers), &spec(0.5, Scope::Erk)).unwrap();
    assert_eq!((pruned(&masks[0]), pruned(&masks[1])), (0, 54));

    // No clamping: A [10, 10] r = 0.2, B [20, 20] r = 0.1; keep 100 of 500 → ε = 100/60,
    // d_A = 1/3, d_B = 1/6 → pruned round(66.67) = 67 and round(333.33) = 333: 400 in all.
    let d = erk_densities(&[&[10, 10], &[20, 20]], 0.8);
    assert!((d[0] - 1.0 / 3.0).abs() < 1e-12 && (d[1] - 1.0 / 6.0).abs() < 1e-12);
    let layers = vec![LayerInfo::new("a", [10, 10]), LayerInfo::new("b", [20, 20])];
    let masks = run(&layers, &scores(&layers), &spec(0.8, Scope::Erk)).unwrap();
    assert_eq!((pruned(&masks[0]), pruned(&masks[1])), (67, 333));
}

#[test]
fn erk_on_a_conv_net_hits_the_target_within_one_weight_per_layer() {
    // Nature-DQN shapes.
    let layers = vec![
        LayerInfo::new("conv0", [32, 4, 8, 8]),
        LayerInfo::new("conv1", [64, 32, 4, 4]),
        LayerInfo::new("conv2", [64, 64, 3, 3]),
        LayerInfo::new("fc", [512, 3136]),
        LayerInfo::output("out", [18, 512]),
    ];
    let total: usize = layers.iter().map(LayerInfo::numel).sum();
    for target in [0.5, 0.8, 0.9, 0.95, 0.99] {
        let masks = run(&layers, &scores(&layers), &spec(target, Scope::Erk)).unwrap();
        let got = masks.iter().map(pruned).sum::<usize>() as f64;
        assert!(
            (got - target * total as f64).abs() <= layers.len() as f64 / 2.0,
            "target {target}: {got}"
        );
        // Smaller layers are kept denser: the huge fc layer is the sparsest.
        let sparsity: Vec<f64> = masks
            .iter()
            .map(|m| m.as_ref().unwrap().sparsity())
            .collect();
        assert!(
            sparsity[3] >= sparsity.iter().cloned().fold(0.0, f64::max) - 1e-9,
            "{sparsity:?}"
        );
    }
}

#[test]
fn neuron_granularity_prunes_whole_rows_by_l2_norm() {
    // Row 0 has L2 norm 2 (L1 4), row 1 L2 2.1 (L1 2.1), rows 2 and 3 are large.
    let layers = vec![
        LayerInfo::new("h", [4, 4]),
        LayerInfo::output("out", [3, 4]),
    ];
    let h = vec![
        1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 2.1, 5.0, 5.0, 5.0, 5.0, 9.0, 9.0, 9.0, 9.0,
    ];
    let s = [h, vec![0.0; 12]];
    let refs: Vec<&[f32]> = s.iter().map(Vec::as_slice).collect();
    let spec = MaskSpec {
        granularity: Granularity::Neuron,
        ..spec(0.25, Scope::Layerwise)
    };
    let prunable = select_layers(&layers, &[], &[], Granularity::Neuron).unwrap();
    assert_eq!(prunable, vec![true, false]); // the output layer is never neuron-pruned
    let masks = compute_masks(
        &layers,
        &prunable,
        &refs,
        &spec,
        None,
        &mut Pcg64::seed_from_u64(0),
    )
    .unwrap();
    let h = masks[0].as_ref().unwrap().as_slice();
    assert!(
        h[..4].iter().all(|k| !k),
        "row 0 (smallest L2 norm) pruned whole"
    );
    assert!(h[4..].iter().all(|&k| k));
    assert!(masks[1].is_none());
}

#[test]
fn neuron_pruning_always_leaves_a_unit_per_layer() {
    let layers = vec![LayerInfo::new("a", [2, 3]), LayerInfo::new("b", [10, 3])];
    let s = scores(&layers);
    let refs: Vec<&[f32]> = s.iter().map(Vec::as_slice).collect();
    for scope in [Scope::Layerwise, Scope::Global, Scope::Erk] {
        let spec = MaskSpec {
            granularity: Granularity::Neuron,
            ..spec(0.95, scope)
        };
        let masks = compute_masks(
            &layers,
            &[true, true],
            &refs,
            &spec,
            None,
            &mut Pcg64::seed_from_u64(0),
        )
        .unwrap();
        for m in masks.iter().flatten() {
            let rows: Vec<bool> = m
                .as_slice()
                .chunks(3)
                .map(|r| r.iter().any(|&k| k))
                .collect();
            assert_eq!(
                rows.iter().filter(|&&k| k).count(),
                1,
                "{scope:?}: one unit left"
            );
            assert!(
                m.as_slice().chunks(3).all(|r| r.iter().all(|&k| k == r[0])),
                "whole rows"
            );
        }
    }
    // Global: round(0.5·12) = 6 units; caps do not bind here, so the count is exact.
    let spec = MaskSpec {
        granularity: Granularity::Neuron,
        ..spec(0.5, Scope::Global)
    };
    let masks = compute_masks(
        &layers,
        &[true, true],
        &refs,
        &spec,
        None,
        &mut Pcg64::seed_from_u64(0),
    )
    .unwrap();
    assert_eq!(masks.iter().map(pruned).sum::<usize>(), 6 * 3);
}

#[test]
fn previously_pruned_weights_stay_pruned_even_with_high_scores() {
    let layers = vec![LayerInfo::new("a", [1, 10])];
    let first = vec![(0..10).map(|i| i as f32).collect::<Vec<f32>>()];
    let masks = run(&layers, &first, &spec(0.3, Scope::Layerwise)).unwrap();
    assert_eq!(masks[0].as_ref().unwrap().as_slice()[..3], [false; 3]);
    // Now the pruned weights have the highest scores; they still stay gone and 2 more go.
    let second: Vec<f32> = (0..10).map(|i| 100.0 - i as f32).collect();
    let m2 = compute_masks(
        &layers,
        &[true],
        &[&second],
        &spec(0.5, Scope::Layerwise),
        Some(&masks),
        &mut Pcg64::seed_from_u64(0),
    )
    .unwrap();
    let keep = m2[0].as_ref().unwrap().as_slice();
    assert_eq!(
        keep,
        [
            false, false, false, true, true, true, true, true, false, false
        ]
    );
    // A lower sparsity than already reached never un-prunes.
    let m3 = compute_masks(
        &layers,
        &[true],
        &[&second],
        &spec(0.1, Scope::Layerwise),
        Some(&m2),
        &mut Pcg64::seed_from_u64(0),
    )
    .unwrap();
    assert_eq!(m3, m2);
}

#[test]
fn random_criterion_ignores_scores_and_is_seeded() {
    let layers = net();
    let spec = MaskSpec {
        criterion: Criterion::Random,
        ..spec(0.5, Scope::Layerwise)
    };
    let prunable = vec![true; 3];
    let a = compute_masks(
        &layers,
        &prunable,
        &[],
        &spec,
        None,
        &mut Pcg64::seed_from_u64(7),
    )
    .unwrap();
    let b = compute_masks(
        &layers,
        &prunable,
        &[],
        &spec,
        None,
        &mut Pcg64::seed_from_u64(7),
    )
    .unwrap();
    let c = compute_masks(
        &layers,
        &prunable,
        &[],
        &spec,
        None,
        &mut Pcg64::seed_from_u64(8),
    )
    .unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.iter().map(pruned).collect::<Vec<_>>(), vec![16, 24, 6]);
}

#[test]
fn include_and_exclude_select_layers() {
    let layers = net();
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        select_layers(&layers, &[], &[], Granularity::Weight).unwrap(),
        vec![true, true, true]
    );
    assert_eq!(
        select_layers(&layers, &names(&["fc1"]), &[], Granularity::Weight).unwrap(),
        vec![false, true, false]
    );
    assert_eq!(
        select_layers(&layers, &[], &names(&["out"]), Granularity::Weight).unwrap(),
        vec![true, true, false]
    );
    let e = select_layers(&layers, &names(&["fc9"]), &[], Granularity::Weight).unwrap_err();
    assert_eq!(
        e.to_string(),
        "prune.include: unknown layer 'fc9'; layers are: fc0, fc1, out"
    );
    let e = select_layers(&layers, &[], &names(&["fc2"]), Granularity::Weight).unwrap_err();
    assert_eq!(
        e.to_string(),
        "prune.exclude: unknown layer 'fc2'; layers are: fc0, fc1, out"
    );
    let e = select_layers(&layers, &names(&["out"]), &[], Granularity::Neuron).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("prune.include: layer 'out' is not neuron-prunable"),
        "{e}"
    );
    // Only prunable layers get masks.
    let s = scores(&layers);
    let refs: Vec<&[f32]> = s.iter().map(Vec::as_slice).collect();
    let masks = compute_masks(
        &layers,
        &[false, true, false],
        &refs,
        &spec(0.5, Scope::Global),
        None,
        &mut Pcg64::seed_from_u64(0),
    )
    .unwrap();
    assert!(masks[0].is_none() && masks[2].is_none());
    assert_eq!(pruned(&masks[1]), 24);
}

#[test]
fn bad_inputs_are_rejected_with_one_line_errors() {
    let layers = net();
    let s = scores(&layers);
    let e = run(&layers, &s, &spec(1.0, Scope::Global)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "sparsity = 1 is out of range: allowed [0, 1)"
    );
    let short: Vec<&[f32]> = vec![&s[0], &s[1][..5], &s[2]];
    let e = compute_masks(
        &layers,
        &[true; 3],
        &short,
        &spec(0.5, Scope::Global),
        None,
        &mut Pcg64::seed_from_u64(0),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "pruning scores for layer 'fc1' have 5 entries, but the layer has 48 weights"
    );
    let e = compute_masks(
        &layers,
        &[true; 3],
        &[&s[0]],
        &spec(0.5, Scope::Global),
        None,
        &mut Pcg64::seed_from_u64(0),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "pruning scores given for 1 layers, but the pruner has 3"
    );
    let mut nan = s.clone();
    nan[2][3] = f32::NAN;
    assert_eq!(
        run(&layers, &nan, &spec(0.5, Scope::Global))
            .unwrap_err()
            .to_string(),
        "pruning score for layer 'out' is NaN at weight index 3"
    );
    let dup = vec![LayerInfo::new("a", [2, 2]), LayerInfo::new("a", [2, 2])];
    assert!(
        run(&dup, &scores(&dup), &spec(0.5, Scope::Global))
            .unwrap_err()
            .to_string()
            .contains("appears twice")
    );
    let empty = vec![LayerInfo::new("a", [0, 2])];
    assert!(
        run(&empty, &[vec![]], &spec(0.5, Scope::Global))
            .unwrap_err()
            .to_string()
            .starts_with("layer 'a': shape [0, 2]")
    );
}

#[test]
fn mask_packs_to_words_and_back() {
    let keep: Vec<bool> = (0..130).map(|i| i % 3 != 0).collect();
    let m = Mask::from_keep(keep);
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(serde_json::from_str::<Mask>(&json).unwrap(), m);
    assert!(json.contains("\"len\":130"));
    let mut buf = vec![7.0f32; 130];
    m.write_f32(&mut buf).unwrap();
    assert_eq!(buf, m.to_f32());
    assert_eq!(buf[..4], [0.0, 1.0, 1.0, 0.0]);
    assert!(m.write_f32(&mut [0.0; 3]).is_err());
    // Bits set past the end are corruption.
    let bad = r#"{"len":2,"keep_bits":[7]}"#;
    assert!(
        serde_json::from_str::<Mask>(bad)
            .unwrap_err()
            .to_string()
            .contains("past its end")
    );
}
