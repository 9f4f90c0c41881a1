//! Closed-form schedule tables: target sparsity and update steps.

use sparq_prune::{PruneConfig, PruneParams, ScheduleKind, StepSpec};

fn config(schedule: ScheduleKind, f: impl FnOnce(&mut PruneParams)) -> PruneConfig {
    let mut p = PruneParams {
        schedule,
        start: StepSpec::Step(1000),
        end: StepSpec::Step(5000),
        ..PruneParams::default()
    };
    f(&mut p);
    p.check(10_000).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn polynomial_matches_hand_computed_values() {
    // s_t = 0.9 + (0 − 0.9)(1 − (t − 1000)/4000)^3
    let c = config(ScheduleKind::Polynomial, |_| {});
    for (step, expected) in [
        (0, 0.0),
        (999, 0.0),
        (1000, 0.0),
        (2000, 0.9 - 0.9 * 0.421875), // (3/4)^3
        (3000, 0.7875),               // 0.9 − 0.9/8
        (4000, 0.8859375),            // 0.9 − 0.9/64
        (5000, 0.9),
        (9999, 0.9),
    ] {
        assert!(
            close(c.target_at(step), expected),
            "step {step}: {} vs {expected}",
            c.target_at(step)
        );
    }
    // Nonzero initial sparsity and power 1 (linear): halfway is the midpoint.
    let c = config(ScheduleKind::Polynomial, |p| {
        p.initial_sparsity = 0.5;
        p.power = 1.0;
    });
    assert!(close(c.target_at(500), 0.5));
    assert!(close(c.target_at(3000), 0.7));
    let c = config(ScheduleKind::Polynomial, |p| p.initial_sparsity = 0.5);
    assert!(close(c.target_at(3000), 0.9 - 0.4 / 8.0));
}

#[test]
fn polynomial_updates_on_the_frequency_grid_and_exactly_at_the_end() {
    let c = config(ScheduleKind::Polynomial, |p| p.frequency = 1500);
    assert_eq!(
        c.update_steps().collect::<Vec<_>>(),
        vec![1000, 2500, 4000, 5000]
    );
    assert!(c.is_update_step(2500) && c.is_update_step(5000));
    assert!(!c.is_update_step(2499) && !c.is_update_step(6500) && !c.is_update_step(0));
    // When the grid lands on the end, it is not repeated.
    let c = config(ScheduleKind::Polynomial, |p| p.frequency = 1000);
    assert_eq!(
        c.update_steps().collect::<Vec<_>>(),
        vec![1000, 2000, 3000, 4000, 5000]
    );
    assert_eq!(c.next_update_step(5001), None);
    assert_eq!(c.next_update_step(1001), Some(2000));
    // A frequency longer than the whole window still reaches the target at the end.
    let c = config(ScheduleKind::Polynomial, |p| p.frequency = 1_000_000);
    assert_eq!(c.update_steps().collect::<Vec<_>>(), vec![1000, 5000]);
    let c = config(ScheduleKind::Polynomial, |p| p.frequency = u64::MAX);
    assert_eq!(c.update_steps().collect::<Vec<_>>(), vec![1000, 5000]);
}

#[test]
fn one_shot_prunes_once_at_start() {
    let c = config(ScheduleKind::OneShot, |_| {});
    assert_eq!(c.update_steps().collect::<Vec<_>>(), vec![1000]);
    assert_eq!(
        (c.target_at(999), c.target_at(1000), c.target_at(9000)),
        (0.0, 0.9, 0.9)
    );
}

#[test]
fn iterative_rounds_prune_the_same_fraction_of_survivors() {
    // target 0.875 in 3 rounds: p = 1 − 0.125^(1/3) = 0.5 → 0.5, 0.75, 0.875.
    let c = config(ScheduleKind::Iterative, |p| {
        p.target_sparsity = 0.875;
        p.rounds = 3;
        p.end = StepSpec::Step(2001);
    });
    assert!(close(c.iterative_fraction(), 0.5));
    // Round r at 1000 + ⌊r·1001/2⌋.
    assert_eq!(c.update_steps().collect::<Vec<_>>(), vec![1000, 1500, 2001]);
    let table = [
        (999, 0.0),
        (1000, 0.5),
        (1499, 0.5),
        (1500, 0.75),
        (2000, 0.75),
        (2001, 0.875),
        (9000, 0.875),
    ];
    for (step, expected) in table {
        assert!(
            close(c.target_at(step), expected),
            "step {step}: {}",
            c.target_at(step)
        );
    }
    // 5 rounds to 0.9 over 1000..5000: every 1000 steps, survivors shrink by the same factor.
    let c = config(ScheduleKind::Iterative, |_| {});
    assert_eq!(
        c.update_steps().collect::<Vec<_>>(),
        vec![1000, 2000, 3000, 4000, 5000]
    );
    let p = 1.0 - 0.1f64.powf(0.2);
    for r in 1..=5 {
        let alive_before = 1.0 - c.target_at(1000 * r as u64 - 1);
        let alive_after = 1.0 - c.target_at(1000 * r as u64);
        assert!(close(1.0 - alive_after / alive_before, p), "round {r}");
    }
    assert_eq!(c.target_at(5000), 0.9);
}

#[test]
fn iterative_single_round_and_tight_spacing() {
    let c = config(ScheduleKind::Iterative, |p| p.rounds = 1);
    assert_eq!(c.update_steps().collect::<Vec<_>>(), vec![1000]);
    assert_eq!((c.target_at(999), c.target_at(1000)), (0.0, 0.9));
    let c = config(ScheduleKind::Iterative, |p| {
        p.rounds = 4;
        p.end = StepSpec::Step(1003);
    });
    assert_eq!(
        c.update_steps().collect::<Vec<_>>(),
        vec![1000, 1001, 1002, 1003]
    );
}

#[test]
fn static_and_none() {
    let c = config(ScheduleKind::Static, |_| {});
    assert_eq!(
        c.update_steps().count(),
        0,
        "the static mask is drawn at initialisation"
    );
    assert_eq!((c.target_at(0), c.target_at(7777)), (0.9, 0.9));
    let c = config(ScheduleKind::None, |_| {});
    assert_eq!(c.update_steps().count(), 0);
    assert_eq!(c.target_at(3000), 0.0);
    assert!(!c.is_enabled());
}

#[test]
fn update_steps_agree_with_the_definition_by_brute_force() {
    for (freq, t0, t1) in [(1, 3, 9), (3, 0, 10), (4, 2, 14), (7, 5, 6)] {
        let c = config(ScheduleKind::Polynomial, |p| {
            p.frequency = freq;
            p.start = StepSpec::Step(t0);
            p.end = StepSpec::Step(t1);
        });
        let brute: Vec<u64> = (0..40)
            .filter(|&t| t >= t0 && t <= t1 && ((t - t0) % freq == 0 || t == t1))
            .collect();
        assert_eq!(c.update_steps().collect::<Vec<_>>(), brute);
    }
    for (rounds, t0, t1) in [(2, 0, 1), (3, 4, 11), (6, 1, 30), (7, 0, 6)] {
        let c = config(ScheduleKind::Iterative, |p| {
            p.rounds = rounds;
            p.start = StepSpec::Step(t0);
            p.end = StepSpec::Step(t1);
        });
        let brute: Vec<u64> = (0..rounds as u64)
            .map(|r| t0 + r * (t1 - t0) / (rounds as u64 - 1))
            .collect();
        assert_eq!(c.update_steps().collect::<Vec<_>>(), brute);
        // target_at steps up exactly at the round steps and nowhere else.
        for t in 1..40 {
            assert_eq!(
                c.target_at(t) != c.target_at(t - 1),
                brute.contains(&t),
                "rounds {rounds} t {t}"
            );
        }
    }
}
