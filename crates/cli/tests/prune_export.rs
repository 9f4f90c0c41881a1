//! `sparq prune` and `sparq export` end to end, on tiny CartPole runs trained for the test.

use std::path::Path;
mod common;
use common::{fails, ok, sparq, tiny_run};

use serde_json::Value;

/// Weights per layer of the [32, 32] CartPole network (4 inputs, 2 actions).
const LAYER_WEIGHTS: [(&str, usize); 3] = [("fc0", 32 * 4), ("fc1", 32 * 32), ("out", 2 * 32)];

fn eval_json(path: &Path) -> Value {
    serde_json::from_str(&ok(&[
        "eval",
        path.to_str().unwrap(),
        "--episodes",
        "3",
        "--json",
    ]))
    .unwrap()
}

#[test]
fn prune_writes_table_files_and_checkpoints_that_eval_reads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tiny_run(tmp.path(), "dense", &[]);
    let out = tmp.path().join("pruned");
    let stdout = ok(&[
        "prune",
        run.to_str().unwrap(),
        "--sparsities",
        "0.9,0.5",
        "--scope",
        "layerwise",
        "--episodes",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[1].contains("sparsity") && lines[1].contains("return mean ± std"),
        "{stdout}"
    );
    assert!(lines[2].trim_start().starts_with("dense"));
    assert!(
        lines[3].trim_start().starts_with("0.500") && lines[4].trim_start().starts_with("0.900")
    );

    let csv = std::fs::read_to_string(out.join("prune.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with("dense,0,"));
    let png = std::fs::read(out.join("prune.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("prune.json")).unwrap()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["dense"], true);
    assert_eq!(rows[0]["sparsity"], 0.0);

    for (row, target) in rows[1..].iter().zip([0.5, 0.9]) {
        assert_eq!(row["target_sparsity"], target);
        let cp = out.join(row["checkpoint"].as_str().unwrap());
        let dir = out.join(if target == 0.5 { "s0.50" } else { "s0.90" });
        assert!(cp.starts_with(&dir), "{}", cp.display());
        let e = eval_json(&dir);
        // Layerwise: every layer within one weight of the target.
        for (layer, n) in LAYER_WEIGHTS {
            let s = e["sparsity"]["layers"][layer].as_f64().unwrap();
            assert!(
                (s - target).abs() * n as f64 <= 1.0 + 1e-9,
                "{layer}: {s} vs {target}"
            );
        }
        assert_eq!(e["sparsity"]["global"], row["sparsity"]);
        assert_eq!(e["params_nonzero"], row["params_nonzero"]);
        assert_eq!(e["params_total"], rows[0]["params_total"]);
    }

    // The pruned checkpoints carry no replay buffer, which saliency needs.
    let err = fails(&[
        "prune",
        out.join("s0.50").to_str().unwrap(),
        "--method",
        "saliency",
        "--episodes",
        "1",
    ]);
    assert!(
        err.contains("--method saliency") && err.contains("replay"),
        "{err}"
    );
}

fn meta_of(checkpoint: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(checkpoint.join("meta.json")).unwrap()).unwrap()
}

#[test]
fn fine_tuning_makes_exactly_the_steps_asked_and_keeps_the_masks() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tiny_run(tmp.path(), "dense", &[]);
    let out = tmp.path().join("ft");
    let json = ok(&[
        "prune",
        run.to_str().unwrap(),
        "--sparsities",
        "0.8",
        "--finetune-steps",
        "300",
        "--episodes",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let report: Value = serde_json::from_str(&json).unwrap();
    let row = &report["rows"][1];
    let before = meta_of(&run.join("checkpoints").join("step_0000002000"));
    let after = meta_of(&out.join(row["checkpoint"].as_str().unwrap()));
    // 300 updates, not a multiple of gradient_steps = 128: the last round is cut short.
    assert_eq!(
        after["grad_steps"].as_u64().unwrap(),
        before["grad_steps"].as_u64().unwrap() + 300
    );
    assert!(after["env_steps"].as_u64().unwrap() > before["env_steps"].as_u64().unwrap());
    // Global magnitude: round(0.8 · 1216) weights pruned, and none of them regrew.
    let e = eval_json(&out.join("s0.80"));
    assert_eq!(e["sparsity"]["global"].as_f64().unwrap(), 973.0 / 1216.0);
    assert_eq!(row["sparsity"], e["sparsity"]["global"]);
}

#[test]
fn bad_sparsities_exit_non_zero_with_one_line_and_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tiny_run(tmp.path(), "dense", &[]);
    let out = tmp.path().join("out");
    for bad in ["1.0", "-0.1", "1.5", "abc", "0.5,,0.9", ""] {
        let err = fails(&[
            "prune",
            run.to_str().unwrap(),
            "--sparsities",
            bad,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(
            err.contains("--sparsities") && err.contains("[0, 1)"),
            "{bad}: {err}"
        );
        assert!(!out.exists(), "{bad}: output directory created");
    }
    // Unknown methods and scopes are clap's: it lists the allowed values.
    let out_m = sparq(&["prune", run.to_str().unwrap(), "--method", "taylor"]);
    assert!(!out_m.status.success());
    let err = String::from_utf8_lossy(&out_m.stderr);
    assert!(
        err.contains("magnitude") && err.contains("random") && err.contains("saliency"),
        "{err}"
    );
    let out_s = sparq(&["prune", run.to_str().unwrap(), "--scope", "local"]);
    assert!(!out_s.status.success());
    assert!(String::from_utf8_lossy(&out_s.stderr).contains("layerwise"));
}

#[test]
fn export_of_a_neuron_pruned_run_is_smaller_and_acts_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tiny_run(
        tmp.path(),
        "neuron",
        &[
            "prune.schedule=\"polynomial\"",
            "prune.granularity=\"neuron\"",
            "prune.target_sparsity=0.75",
        ],
    );
    let out = tmp.path().join("compact");
    let stdout = ok(&[
        "export",
        run.to_str().unwrap(),
        "--compact",
        out.to_str().unwrap(),
    ]);
    assert!(stdout.contains("greedy actions identical"), "{stdout}");
    assert!(stdout.contains("ns/call"), "{stdout}");

    let (big, small) = (eval_json(&run), eval_json(&out));
    let (n_big, n_small) = (
        big["params_total"].as_u64().unwrap(),
        small["params_total"].as_u64().unwrap(),
    );
    assert_eq!(n_big, 32 * 4 + 32 + 32 * 32 + 32 + 2 * 32 + 2);
    assert!(n_small < n_big / 4, "{n_small} vs {n_big}");
    // Same greedy actions everywhere they were checked, hence the same episodes.
    assert_eq!(big["eval"], small["eval"]);

    // 75 % of the 64 hidden units were pruned: 16 remain in total.
    let cp = std::fs::read_to_string(out.join("latest")).unwrap();
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join(cp.trim()).join("meta.json")).unwrap(),
    )
    .unwrap();
    let hidden: Vec<u64> = meta["net"]["hidden"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(hidden.iter().sum::<u64>(), 16, "{hidden:?}");
    let expected =
        4 * hidden[0] + hidden[0] + hidden[0] * hidden[1] + hidden[1] + 2 * hidden[1] + 2;
    assert_eq!(n_small, expected);
}

#[test]
fn export_of_a_dense_run_fails_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tiny_run(tmp.path(), "dense", &[]);
    let out = tmp.path().join("compact");
    let err = fails(&[
        "export",
        run.to_str().unwrap(),
        "--compact",
        out.to_str().unwrap(),
    ]);
    assert!(err.contains("no removable units"), "{err}");
    assert!(!out.exists());
}

#[test]
fn a_second_sweep_into_the_same_out_leaves_only_its_own_levels() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tiny_run(tmp.path(), "run", &[]);
    let out = tmp.path().join("sweep");
    let (run_s, out_s) = (run.to_str().unwrap(), out.to_str().unwrap());
    let sweep = |levels: &str| {
        ok(&[
            "prune",
            run_s,
            "--sparsities",
            levels,
            "--episodes",
            "2",
            "--out",
            out_s,
            "--json",
        ])
    };
    sweep("0.5,0.9");
    assert!(out.join("s0.50").is_dir() && out.join("s0.90").is_dir());
    sweep("0.8");
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["prune.csv", "prune.json", "prune.png", "s0.80"]);
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("prune.json")).unwrap()).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 2, "dense + 0.8");

    // A directory with files that are not a sweep's is refused and left alone.
    let foreign = tmp.path().join("mine");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), b"keep").unwrap();
    let line = fails(&[
        "prune",
        run_s,
        "--sparsities",
        "0.5",
        "--episodes",
        "2",
        "--out",
        foreign.to_str().unwrap(),
    ]);
    assert!(
        line.contains("notes.txt") && line.contains("did not write"),
        "{line}"
    );
    assert_eq!(std::fs::read(foreign.join("notes.txt")).unwrap(), b"keep");
}
