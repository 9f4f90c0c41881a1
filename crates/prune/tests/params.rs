//! The `[prune]` section: TOML forms, defaults, and one-line validation errors.

use sparq_prune::{Criterion, Granularity, PruneParams, ScheduleKind, Scope, StepSpec};

fn parse(toml_text: &str) -> Result<PruneParams, toml::de::Error> {
    toml::from_str(toml_text)
}

fn err(p: &PruneParams, total: u64) -> String {
    p.check(total)
        .expect_err("parameters should be rejected")
        .to_string()
}

fn poly() -> PruneParams {
    PruneParams {
        schedule: ScheduleKind::Polynomial,
        ..PruneParams::default()
    }
}

#[test]
fn empty_section_gives_documented_defaults() {
    let p = parse("").unwrap();
    assert_eq!(p, PruneParams::default());
    assert_eq!(p.schedule, ScheduleKind::None);
    assert_eq!(p.target_sparsity, 0.9);
    assert_eq!(p.initial_sparsity, 0.0);
    assert_eq!(p.start, StepSpec::Fraction(0.2));
    assert_eq!(p.end, StepSpec::Fraction(0.8));
    assert_eq!((p.frequency, p.power, p.rounds), (1000, 3.0, 5));
    assert_eq!(
        (p.scope, p.criterion, p.granularity),
        (Scope::Global, Criterion::Magnitude, Granularity::Weight)
    );
    assert!(p.include.is_empty() && p.exclude.is_empty());
}

#[test]
fn enums_and_step_forms_parse_from_toml() {
    let p = parse(
        r#"
        schedule = "one_shot"
        scope = "erk"
        criterion = "saliency"
        granularity = "neuron"
        start = 0.25
        end = 20000
        exclude = ["out"]
        "#,
    )
    .unwrap();
    assert_eq!(p.schedule, ScheduleKind::OneShot);
    assert_eq!(p.scope, Scope::Erk);
    assert_eq!(p.criterion, Criterion::Saliency);
    assert_eq!(p.granularity, Granularity::Neuron);
    assert_eq!(p.start, StepSpec::Fraction(0.25));
    assert_eq!(p.end, StepSpec::Step(20000));
    assert_eq!(p.exclude, vec!["out".to_string()]);
    for (text, kind) in [
        ("none", ScheduleKind::None),
        ("polynomial", ScheduleKind::Polynomial),
        ("iterative", ScheduleKind::Iterative),
        ("static", ScheduleKind::Static),
    ] {
        assert_eq!(
            parse(&format!("schedule = \"{text}\"")).unwrap().schedule,
            kind
        );
    }
    assert_eq!(
        parse("scope = \"layerwise\"").unwrap().scope,
        Scope::Layerwise
    );
    assert_eq!(
        parse("criterion = \"random\"").unwrap().criterion,
        Criterion::Random
    );
    // 1.0 is a fraction (end of training), 1 is gradient step 1.
    assert_eq!(parse("end = 1.0").unwrap().end, StepSpec::Fraction(1.0));
    assert_eq!(parse("end = 1").unwrap().end, StepSpec::Step(1));
}

#[test]
fn serialises_back_with_the_same_step_forms() {
    let p = PruneParams {
        start: StepSpec::Fraction(0.1),
        end: StepSpec::Step(20000),
        ..poly()
    };
    let text = toml::to_string(&p).unwrap();
    assert!(text.contains("start = 0.1\n"), "{text}");
    assert!(text.contains("end = 20000\n"), "{text}");
    assert!(text.contains("schedule = \"polynomial\"\n"), "{text}");
    assert_eq!(parse(&text).unwrap(), p);
    let whole = PruneParams {
        end: StepSpec::Fraction(1.0),
        ..p
    };
    assert_eq!(parse(&toml::to_string(&whole).unwrap()).unwrap(), whole);
}

#[test]
fn unknown_keys_and_bad_values_fail_to_parse() {
    assert!(
        parse("target_sparsty = 0.5")
            .unwrap_err()
            .to_string()
            .contains("target_sparsty")
    );
    assert!(parse("schedule = \"cubic\"").is_err());
    let negative = parse("start = -5").unwrap_err().to_string();
    assert!(
        negative.contains("gradient step -5 is negative"),
        "{negative}"
    );
    assert!(
        parse("start = \"soon\"")
            .unwrap_err()
            .to_string()
            .contains("fraction of training")
    );
}

#[test]
fn check_resolves_fractions_and_absolute_steps() {
    let c = poly().check(5000).unwrap();
    assert_eq!((c.start_step(), c.end_step()), (1000, 4000));
    let c = PruneParams {
        start: StepSpec::Step(123),
        end: StepSpec::Fraction(1.0),
        ..poly()
    }
    .check(5000)
    .unwrap();
    assert_eq!((c.start_step(), c.end_step()), (123, 5000));
    // Fractions round to the nearest step: 0.2 × 7 = 1.4 → 1, 0.8 × 7 = 5.6 → 6.
    let c = poly().check(7).unwrap();
    assert_eq!((c.start_step(), c.end_step()), (1, 6));
}

#[test]
fn every_bad_input_has_a_one_line_error_naming_its_key() {
    let cases: Vec<(PruneParams, &str)> = vec![
        (
            PruneParams {
                target_sparsity: 1.2,
                ..poly()
            },
            "prune.target_sparsity = 1.2 is out of range: allowed [0, 1)",
        ),
        (
            PruneParams {
                target_sparsity: 1.0,
                ..poly()
            },
            "prune.target_sparsity = 1 is out of range: allowed [0, 1)",
        ),
        (
            PruneParams {
                target_sparsity: -0.1,
                ..poly()
            },
            "prune.target_sparsity = -0.1 is out of range: allowed [0, 1)",
        ),
        (
            PruneParams {
                target_sparsity: f64::NAN,
                ..poly()
            },
            "prune.target_sparsity = NaN is out of range: allowed [0, 1)",
        ),
        (
            PruneParams {
                initial_sparsity: 0.95,
                ..poly()
            },
            "prune.initial_sparsity = 0.95 is out of range: allowed [0, prune.target_sparsity = 0.9]",
        ),
        (
            PruneParams {
                initial_sparsity: -0.5,
                ..poly()
            },
            "prune.initial_sparsity = -0.5 is out of range: allowed [0, prune.target_sparsity = 0.9]",
        ),
        (
            PruneParams {
                frequency: 0,
                ..poly()
            },
            "prune.frequency = 0 is out of range: allowed ≥ 1",
        ),
        (
            PruneParams {
                power: 0.0,
                ..poly()
            },
            "prune.power = 0 is out of range: allowed > 0 (finite)",
        ),
        (
            PruneParams {
                power: f64::INFINITY,
                ..poly()
            },
            "prune.power = inf is out of range: allowed > 0 (finite)",
        ),
        (
            PruneParams {
                rounds: 0,
                ..poly()
            },
            "prune.rounds = 0 is out of range: allowed ≥ 1",
        ),
        (
            PruneParams {
                start: StepSpec::Fraction(1.5),
                ..poly()
            },
            "prune.start = 1.5 is out of range: allowed [0, 1] as a fraction of training, or an integer gradient step",
        ),
        (
            PruneParams {
                end: StepSpec::Fraction(-0.1),
                ..poly()
            },
            "prune.end = -0.1 is out of range: allowed [0, 1] as a fraction of training, or an integer gradient step",
        ),
        (
            PruneParams {
                end: StepSpec::Fraction(0.1),
                ..poly()
            },
            "prune.end (0.1 → gradient step 500) must be after prune.start (0.2 → gradient step 1000)",
        ),
        (
            PruneParams {
                end: StepSpec::Step(1000),
                ..poly()
            },
            "prune.end (gradient step 1000) must be after prune.start (0.2 → gradient step 1000)",
        ),
        (
            PruneParams {
                end: StepSpec::Step(6000),
                ..poly()
            },
            "prune.end (gradient step 6000) is beyond the run's 5000 gradient steps",
        ),
        (
            PruneParams {
                schedule: ScheduleKind::OneShot,
                start: StepSpec::Step(5001),
                ..poly()
            },
            "prune.start (gradient step 5001) is beyond the run's 5000 gradient steps",
        ),
        (
            PruneParams {
                schedule: ScheduleKind::Iterative,
                rounds: 5,
                start: StepSpec::Step(1000),
                end: StepSpec::Step(1003),
                ..poly()
            },
            "prune.rounds = 5 needs at least 4 gradient steps between prune.start (step 1000) and prune.end (step 1003)",
        ),
        (
            PruneParams {
                schedule: ScheduleKind::OneShot,
                initial_sparsity: 0.3,
                ..poly()
            },
            "prune.initial_sparsity = 0.3 only applies to schedule = \"polynomial\" or \"ste\" (schedule is \"one_shot\"); set it to 0",
        ),
        (
            PruneParams {
                include: vec!["fc0".into(), "fc1".into()],
                exclude: vec!["fc1".into()],
                ..poly()
            },
            "prune.include and prune.exclude both name layer 'fc1'",
        ),
    ];
    for (params, expected) in cases {
        let message = err(&params, 5000);
        assert_eq!(message, expected);
        assert!(!message.contains('\n'));
    }
}

#[test]
fn schedules_only_check_the_steps_they_use() {
    // One-shot ignores end, static and none ignore both.
    let late_start = StepSpec::Fraction(0.9);
    let one_shot = PruneParams {
        schedule: ScheduleKind::OneShot,
        start: late_start,
        ..poly()
    };
    assert_eq!(one_shot.check(5000).unwrap().start_step(), 4500);
    for schedule in [ScheduleKind::Static, ScheduleKind::None] {
        assert!(
            PruneParams {
                schedule,
                start: StepSpec::Step(10_000_000),
                ..poly()
            }
            .check(5000)
            .is_ok()
        );
    }
    // A single iterative round needs no end.
    let single = PruneParams {
        schedule: ScheduleKind::Iterative,
        rounds: 1,
        start: late_start,
        ..poly()
    };
    assert!(single.check(5000).is_ok());
    // Exactly rounds − 1 steps apart is enough.
    let tight = PruneParams {
        schedule: ScheduleKind::Iterative,
        rounds: 5,
        start: StepSpec::Step(1000),
        end: StepSpec::Step(1004),
        ..poly()
    };
    assert!(tight.check(5000).is_ok());
}

#[test]
fn describe_is_one_readable_line() {
    let p = PruneParams {
        frequency: 100,
        start: StepSpec::Step(1200),
        end: StepSpec::Step(4800),
        ..poly()
    };
    assert_eq!(
        p.check(6000).unwrap().describe(),
        "polynomial 0.00→0.90 over gradient steps 1200..4800 every 100, power 3, global magnitude"
    );
    let it = PruneParams {
        schedule: ScheduleKind::Iterative,
        target_sparsity: 0.875,
        rounds: 3,
        scope: Scope::Erk,
        ..p.clone()
    };
    assert_eq!(
        it.check(6000).unwrap().describe(),
        "iterative 3 rounds to 0.88 (50.0% of survivors each) over gradient steps 1200..4800, erk magnitude"
    );
    let st = PruneParams {
        schedule: ScheduleKind::Static,
        granularity: Granularity::Neuron,
        exclude: vec!["out".into()],
        ..p.clone()
    };
    assert_eq!(
        st.check(6000).unwrap().describe(),
        "static 0.90 from initialisation, global random per neuron, except out"
    );
    let os = PruneParams {
        schedule: ScheduleKind::OneShot,
        scope: Scope::Layerwise,
        include: vec!["fc0".into()],
        ..p.clone()
    };
    assert_eq!(
        os.check(6000).unwrap().describe(),
        "one_shot 0.90 at gradient step 1200, layerwise magnitude, only fc0"
    );
    assert_eq!(
        PruneParams::default().check(6000).unwrap().describe(),
        "no pruning"
    );
}

#[test]
fn config_serde_round_trip_and_tamper_check() {
    let c = PruneParams {
        end: StepSpec::Step(4000),
        ..poly()
    }
    .check(5000)
    .unwrap();
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(
        serde_json::from_str::<sparq_prune::PruneConfig>(&json).unwrap(),
        c
    );
    let tampered = json.replace("\"end_step\":4000", "\"end_step\":4001");
    assert_ne!(tampered, json);
    let e = serde_json::from_str::<sparq_prune::PruneConfig>(&tampered)
        .unwrap_err()
        .to_string();
    assert!(e.contains("differ"), "{e}");
    let invalid = json.replace("\"target_sparsity\":0.9", "\"target_sparsity\":1.5");
    assert!(
        serde_json::from_str::<sparq_prune::PruneConfig>(&invalid)
            .unwrap_err()
            .to_string()
            .contains("prune.target_sparsity")
    );
}

#[test]
fn the_docs_example_parses_and_describes_as_documented() {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/pruning.md"
    ))
    .unwrap();
    let block = docs
        .split("```toml\n[prune]\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let p = parse(block).unwrap();
    let line = p.check(250_000).unwrap().describe();
    assert_eq!(
        line,
        "polynomial 0.00→0.95 over gradient steps 50000..200000 every 1000, power 3, erk magnitude, except out"
    );
    assert!(
        docs.replace('\n', " ").contains(&line),
        "docs/pruning.md quotes a different start-up line"
    );
}
