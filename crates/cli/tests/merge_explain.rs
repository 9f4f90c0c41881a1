//! `sparq merge` and `sparq explain` end to end, on tiny CartPole runs trained for the test.

use std::path::{Path, PathBuf};
mod common;
use common::{fails, ok, tiny_run};

use serde_json::Value;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn merge_json(args: &[&str]) -> Value {
    let mut all = vec!["merge"];
    all.extend_from_slice(args);
    all.extend(["--episodes", "10", "--json"]);
    serde_json::from_str(&ok(&all)).unwrap()
}

#[test]
fn averaging_two_copies_of_a_policy_returns_it_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(dir.path(), "a", &[]);
    let out = dir.path().join("avg");
    let report = merge_json(&[s(&run), s(&run), "--method", "average", "--out", s(&out)]);
    let original = sparq::Policy::load(&run).unwrap();
    let merged = sparq::Policy::load(&out).unwrap();
    let (a, b) = (original.network().params(), merged.network().params());
    assert_eq!(a.len(), b.len());
    assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
    // Same policy, same episodes: same return as each member.
    assert_eq!(
        report["merged"]["eval"]["return_mean"],
        report["members"][0]["eval"]["return_mean"]
    );
    assert!(out.join("merge.json").is_file());
}

#[test]
fn an_ensemble_of_one_acts_as_that_policy() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(dir.path(), "a", &[]);
    let policy = sparq::Policy::load(&run).unwrap();
    for vote in ["mean-q", "majority"] {
        let out = dir.path().join(format!("ens-{vote}"));
        let report = merge_json(&[
            s(&run),
            "--method",
            "ensemble",
            "--vote",
            vote,
            "--out",
            s(&out),
        ]);
        let ensemble = sparq::Ensemble::load(&out).unwrap();
        // States off the greedy path too: a grid over CartPole's observation box.
        for i in 0..500 {
            let t = i as f32;
            let obs = [
                (t * 0.37).sin() * 2.0,
                (t * 0.11).cos() * 3.0,
                (t * 0.53).sin() * 0.2,
                (t * 0.29).cos() * 3.0,
            ];
            assert_eq!(
                ensemble.act(&obs).unwrap(),
                policy.act(&obs).unwrap(),
                "{vote} at {obs:?}"
            );
        }
        assert_eq!(
            report["merged"]["eval"]["return_mean"],
            report["members"][0]["eval"]["return_mean"]
        );
        // `sparq eval` reads the ensemble directory and reproduces the member's return.
        let seed = report["seed"].as_u64().unwrap().to_string();
        let eval = |p: &Path| -> Value {
            serde_json::from_str(&ok(&[
                "eval",
                s(p),
                "--episodes",
                "5",
                "--seed",
                &seed,
                "--json",
            ]))
            .unwrap()
        };
        assert_eq!(eval(&out)["eval"], eval(&run)["eval"]);
    }
}

#[test]
fn the_soup_is_never_worse_than_its_best_member() {
    let dir = tempfile::tempdir().unwrap();
    let runs: Vec<PathBuf> = (1..=3)
        .map(|k| tiny_run(dir.path(), &format!("s{k}"), &[&format!("run.seed={k}")]))
        .collect();
    let out = dir.path().join("soup");
    let mut args: Vec<&str> = runs.iter().map(|r| s(r)).collect();
    args.extend(["--method", "soup", "--out", s(&out)]);
    let report = merge_json(&args);
    let best = report["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["eval"]["return_mean"].as_f64().unwrap())
        .fold(f64::MIN, f64::max);
    let merged = report["merged"]["eval"]["return_mean"].as_f64().unwrap();
    assert!(merged >= best, "soup {merged} < best member {best}");
    // Every member was tried, the best first and kept.
    let steps = report["soup"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[0]["kept"], true);
    sparq::Policy::load(&out).unwrap();
}

#[test]
fn pruned_members_are_united_then_repruned_to_their_target() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(dir.path(), "a", &[]);
    // Two different random masks at 50 %.
    let pruned: Vec<PathBuf> = (1..=2)
        .map(|k| {
            let out = dir.path().join(format!("p{k}"));
            ok(&[
                "prune",
                s(&run),
                "--sparsities",
                "0.5",
                "--method",
                "random",
                "--seed",
                &k.to_string(),
                "--episodes",
                "2",
                "--out",
                s(&out),
            ]);
            out.join("s0.50")
        })
        .collect();
    let union = merge_json(&[
        s(&pruned[0]),
        s(&pruned[1]),
        "--method",
        "average",
        "--masks",
        "union",
        "--out",
        s(&dir.path().join("u")),
    ]);
    assert_eq!(union["merged"]["target_sparsity"], 0.5);
    assert_eq!(union["merged"]["target_met"], true);
    let measured = union["merged"]["sparsity"].as_f64().unwrap();
    assert!((measured - 0.5).abs() < 0.01, "{measured}");
    // The intersection of two independent 50 % masks is about 75 % sparse: already past the target.
    let inter = merge_json(&[
        s(&pruned[0]),
        s(&pruned[1]),
        "--method",
        "average",
        "--masks",
        "intersection",
        "--out",
        s(&dir.path().join("i")),
    ]);
    assert_eq!(inter["merged"]["target_met"], true);
    assert!(inter["merged"]["sparsity"].as_f64().unwrap() > 0.7);
}

#[test]
fn bad_merges_get_one_line_and_leave_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let a = tiny_run(dir.path(), "a", &[]);
    let narrow = tiny_run(dir.path(), "narrow", &["network.hidden=[16]"]);
    let car = tiny_run(dir.path(), "car", &["env.id=\"MountainCar-v0\""]);
    let out = dir.path().join("out");
    let line = fails(&[
        "merge",
        s(&a),
        s(&narrow),
        "--method",
        "average",
        "--out",
        s(&out),
    ]);
    assert!(line.contains("mismatched architectures"), "{line}");
    let line = fails(&[
        "merge",
        s(&a),
        s(&car),
        "--method",
        "ensemble",
        "--out",
        s(&out),
    ]);
    assert!(
        line.contains("one environment") && line.contains("MountainCar-v0"),
        "{line}"
    );
    let line = fails(&[
        "merge",
        s(&a),
        "--method",
        "average",
        "--target-sparsity",
        "1.5",
        "--out",
        s(&out),
    ]);
    assert!(
        line.contains("--target-sparsity") && line.contains("[0, 1)"),
        "{line}"
    );
    let line = fails(&["merge", s(&a), "--method", "blend", "--out", s(&out)]);
    assert!(line.contains("blend"), "{line}");
    assert!(!out.exists());
    // A non-empty --out is refused untouched.
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    let line = fails(&["merge", s(&a), "--method", "average", "--out", s(&out)]);
    assert!(line.contains("not empty"), "{line}");
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).unwrap(),
        "mine"
    );
    // No temporary directory is left behind by any of them.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn on_a_linear_q_network_gradient_times_input_is_exactly_w_times_x() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(dir.path(), "lin", &["network.hidden=[]"]);
    let out = dir.path().join("x");
    let report: Value = serde_json::from_str(&ok(&[
        "explain",
        s(&run),
        "--out",
        s(&out),
        "--episodes",
        "1",
        "--states",
        "20",
        "--frames",
        "4",
        "--json",
    ]))
    .unwrap();
    let policy = sparq::Policy::load(&run).unwrap();
    // No hidden layer: the only layer is `out`, weights [2][4] then biases [2].
    let w = policy.network().params();
    assert_eq!(w.len(), 2 * 4 + 2);
    let frames = report["policies"][0]["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 4);
    let f32s = |v: &Value| -> Vec<f32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    };
    for f in frames {
        let x = f32s(&f["obs"]);
        let a = f["action"].as_u64().unwrap() as usize;
        let row = &w[a * 4..a * 4 + 4];
        let maps: Vec<(String, Vec<f32>)> = f["maps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m[0].as_str().unwrap().to_string(), f32s(&m[1])))
            .collect();
        let map = |name: &str| &maps.iter().find(|(n, _)| n == name).unwrap().1;
        for i in 0..4 {
            assert_eq!(map("gradient")[i].to_bits(), row[i].to_bits());
            assert_eq!(
                map("gradient_input")[i].to_bits(),
                (row[i] * x[i]).to_bits()
            );
        }
        // Summed over features, gradient × input is w·x = Q(x, a) − b_a.
        let dot: f32 = map("gradient_input").iter().sum();
        let q = f32s(&f["q"])[a];
        assert!(
            (dot - (q - w[8 + a])).abs() < 1e-5,
            "{dot} vs {}",
            q - w[8 + a]
        );
    }
    // One layer to re-initialise: one sanity step.
    assert_eq!(report["policies"][0]["sanity"].as_array().unwrap().len(), 1);
    assert_eq!(
        &std::fs::read(out.join("saliency.png")).unwrap()[..4],
        b"\x89PNG"
    );
    assert!(out.join("explain.json").is_file());
}

#[test]
fn explain_compares_two_policies_on_the_same_states_and_refuses_two_environments() {
    let dir = tempfile::tempdir().unwrap();
    let a = tiny_run(dir.path(), "a", &[]);
    let b = tiny_run(dir.path(), "b", &["run.seed=2"]);
    let out = dir.path().join("x");
    let report: Value = serde_json::from_str(&ok(&[
        "explain",
        s(&a),
        "--compare",
        s(&b),
        "--out",
        s(&out),
        "--episodes",
        "1",
        "--states",
        "10",
        "--json",
    ]))
    .unwrap();
    let p = report["policies"].as_array().unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(p[0]["frames"][0]["obs"], p[1]["frames"][0]["obs"]);
    // Three layers: three cascading steps, each with four methods.
    let sanity = p[0]["sanity"].as_array().unwrap();
    assert_eq!(sanity.len(), 3);
    assert_eq!(sanity[0]["reinitialised"][0], "out");
    let car = tiny_run(dir.path(), "car", &["env.id=\"MountainCar-v0\""]);
    let line = fails(&["explain", s(&a), "--compare", s(&car), "--out", s(&out)]);
    assert!(line.contains("one environment"), "{line}");
    let line = fails(&["explain", s(&a), "--states", "0"]);
    assert!(line.contains("--states"), "{line}");
}

/// `sparq prune RUN --search dqn --budget 0.8` with 2 evaluation episodes per allocation.
fn search_json(run: &Path, out: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["prune", s(run), "--search", "dqn", "--budget", "0.8"];
    args.extend(["--search-eval-episodes", "2", "--out", s(out), "--json"]);
    args.extend(extra);
    serde_json::from_str(&ok(&args)).unwrap()
}

#[test]
fn the_allocation_search_meets_its_budget_and_writes_a_policy_eval_reads() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(dir.path(), "a", &[]);
    let out = dir.path().join("search");
    let report = search_json(&run, &out, &["--search-episodes", "30", "--episodes", "3"]);
    let rows = report["rows"].as_array().unwrap();
    let methods: Vec<&str> = rows.iter().map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(
        methods,
        [
            "uniform",
            "global",
            "erk",
            "search (best explored)",
            "search (greedy)"
        ]
    );
    for r in rows {
        let s = r["sparsity"].as_f64().unwrap();
        assert!(s >= 0.8 - 1e-3, "{}: {s}", r["method"]);
        assert_eq!(r["allocation"].as_array().unwrap().len(), 3);
    }
    // 30 training episodes, the trainer's final greedy one and the search's own greedy one.
    assert_eq!(report["search"]["episodes"], 32);
    assert!(report["search"]["evaluations"].as_u64().unwrap() >= 1);
    // The best explored allocation scored at least as well as every other tried, on the search's
    // own episodes; its policy is saved and `sparq eval` measures the same sparsity.
    let best = report["search"]["best_return"].as_f64().unwrap();
    assert!(best >= report["search"]["greedy_return"].as_f64().unwrap());
    let eval: Value =
        serde_json::from_str(&ok(&["eval", s(&out), "--episodes", "1", "--json"])).unwrap();
    let zeros = eval["params_total"].as_u64().unwrap() - eval["params_nonzero"].as_u64().unwrap();
    assert!(
        zeros as f64 >= 0.8 * (32.0 * 4.0 + 32.0 * 32.0 + 2.0 * 32.0) - 1.0,
        "{zeros}"
    );
}

#[test]
fn a_search_with_fine_tuning_scores_tuned_policies_that_keep_their_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(dir.path(), "a", &[]);
    let out = dir.path().join("search-ft");
    let report = search_json(
        &run,
        &out,
        &[
            "--search-episodes",
            "10",
            "--episodes",
            "2",
            "--finetune-steps",
            "50",
        ],
    );
    assert_eq!(report["finetune_steps"], 50);
    // The saved best allocation was fine-tuned: the weights it pruned are still zero, and the
    // ones it kept moved away from the source's.
    let (source, _) = sparq_runstate::load(&run).unwrap();
    let (best, _) = sparq_runstate::load(&out).unwrap();
    let w0 = source.tensor(sparq_runstate::PARAMS).unwrap();
    let w1 = best.tensor(sparq_runstate::PARAMS).unwrap();
    let weights = 32.0 * 4.0 + 32.0 * 32.0 + 2.0 * 32.0;
    let zeros = w1.iter().filter(|v| **v == 0.0).count();
    assert!(zeros as f64 >= 0.8 * weights - 1.0, "{zeros}");
    let moved = w0
        .iter()
        .zip(w1)
        .filter(|(a, b)| **b != 0.0 && a != b)
        .count();
    assert!(moved > 0, "fine-tuning left every kept weight as it was");
}

#[test]
fn bad_searches_get_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = tiny_run(dir.path(), "a", &[]);
    let out = dir.path().join("o");
    for budget in ["1.5", "0", "-0.2"] {
        let line = fails(&[
            "prune",
            s(&run),
            "--search",
            "dqn",
            "--budget",
            budget,
            "--out",
            s(&out),
        ]);
        assert!(
            line.contains("--budget") && line.contains("(0, 0.99]"),
            "{line}"
        );
    }
    let line = fails(&["prune", s(&run), "--search", "dqn", "--out", s(&out)]);
    assert!(line.contains("--budget"), "{line}");
    let line = fails(&[
        "prune",
        s(&run),
        "--search",
        "ppo",
        "--budget",
        "0.9",
        "--out",
        s(&out),
    ]);
    assert!(line.contains("ppo"), "{line}");
    assert!(!out.exists());
}
