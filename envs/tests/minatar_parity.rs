//! Statistical parity with the reference `minatar` package: a uniform random policy over the
//! minimal action set must earn the same mean return and last the same mean length as in
//! `tests/fixtures/minatar/random_policy.json` (made by `scripts/dev/gen-minatar-reference`), within
//! 3 combined standard errors. The random streams differ from numpy's, so only statistics can
//! match here; `src/minatar/reference_tests.rs` checks frame-exact play on recorded draws.

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Fixture {
    games: BTreeMap<String, Stats>,
}

#[derive(Deserialize, Debug)]
struct Stats {
    episodes: usize,
    return_mean: f64,
    return_std: f64,
    length_mean: f64,
    length_std: f64,
}

/// Mean and sample standard deviation (ddof = 1, as the fixture's).
fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

fn random_policy(id: &str, episodes: usize, seed: u64) -> Stats {
    let mut env = sparq_envs::minatar::make(id).expect("registered");
    let mut obs = vec![0.0; env.obs_space().len()];
    let mut policy = Pcg64::seed_from_u64(seed + 1);
    let (mut returns, mut lengths) = (vec![], vec![]);
    env.reset(Some(seed), &mut obs);
    for e in 0..episodes {
        if e > 0 {
            env.reset(None, &mut obs);
        }
        let (mut ret, mut len) = (0.0, 0.0);
        loop {
            let step = env.step(policy.random_range(0..env.num_actions()), &mut obs);
            ret += step.reward as f64;
            len += 1.0;
            if step.done() {
                break;
            }
        }
        returns.push(ret);
        lengths.push(len);
    }
    let (return_mean, return_std) = mean_std(&returns);
    let (length_mean, length_std) = mean_std(&lengths);
    Stats {
        episodes,
        return_mean,
        return_std,
        length_mean,
        length_std,
    }
}

/// `(difference, combined standard error)` of two means.
fn gap(ours: (f64, f64, usize), reference: (f64, f64, usize)) -> (f64, f64) {
    let se = |(_, std, n): (f64, f64, usize)| std * std / n as f64;
    (ours.0 - reference.0, (se(ours) + se(reference)).sqrt())
}

#[test]
fn random_policy_matches_the_reference_statistics() {
    // SPARQ_MINATAR_REFERENCE can point at a larger run of the script (its random_policy.json).
    let default = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/minatar/random_policy.json"
    );
    let path = std::env::var("SPARQ_MINATAR_REFERENCE").unwrap_or_else(|_| default.to_string());
    let text = std::fs::read_to_string(&path).expect("random-policy fixture");
    let fixture: Fixture = serde_json::from_str(&text).expect("random-policy fixture parses");
    assert!(!fixture.games.is_empty(), "{path}: no games");
    let mut failures = vec![];
    for (id, reference) in &fixture.games {
        let ours = random_policy(id, reference.episodes, 2024);
        for (what, o, r) in [
            (
                "return",
                (ours.return_mean, ours.return_std),
                (reference.return_mean, reference.return_std),
            ),
            (
                "length",
                (ours.length_mean, ours.length_std),
                (reference.length_mean, reference.length_std),
            ),
        ] {
            let (diff, se) = gap((o.0, o.1, ours.episodes), (r.0, r.1, reference.episodes));
            let z = if se > 0.0 {
                diff / se
            } else if diff == 0.0 {
                0.0
            } else {
                f64::INFINITY
            };
            println!(
                "{id:26} {what}: ours {:8.3} ± {:6.3} (sd {:7.3}), reference {:8.3} ± {:6.3} (sd {:7.3}), z = {z:+.2}",
                o.0,
                o.1 / (ours.episodes as f64).sqrt(),
                o.1,
                r.0,
                r.1 / (reference.episodes as f64).sqrt(),
                r.1,
            );
            if diff.abs() > 3.0 * se {
                failures.push(format!(
                    "{id} mean {what}: {:.3} vs {:.3} (z = {z:.2})",
                    o.0, r.0
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "outside 3 standard errors: {failures:?}"
    );
}
