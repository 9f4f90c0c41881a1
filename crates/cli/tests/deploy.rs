//! `sparq export --format policy|onnx` and `sparq eval FILE` end to end on a tiny CartPole run:
//! the export is checked against libtorch before it is written, the policy file evaluates exactly
//! as its checkpoint does, and bad files give one line and a non-zero exit.

use std::path::Path;
mod common;
use common::{fails, ok, sparq};

use serde_json::Value;

const CONFIG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../configs/cartpole_dqn_gmp90.toml"
);

/// An explicit seed: a checkpoint defaults to its run's evaluation seeds, a policy file to 0.
fn eval_json(path: &Path) -> Value {
    serde_json::from_str(&ok(&[
        "eval",
        path.to_str().unwrap(),
        "--episodes",
        "5",
        "--seed",
        "0",
        "--json",
    ]))
    .unwrap()
}

#[test]
fn exported_policies_act_like_their_checkpoint_and_bad_files_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let run_s = run.to_str().unwrap();
    ok(&[
        "train",
        CONFIG,
        "--run-dir",
        run_s,
        "--set",
        "run.total_steps=3000",
        "--set",
        "agent.learning_starts=500",
        "--set",
        "network.hidden=[64,64]",
        "--set",
        "run.device=\"cpu\"",
        "--set",
        "prune.start=0.1",
        "--set",
        "prune.end=0.5",
        "--set",
        "prune.frequency=64",
        "--set",
        "log.final_eval_episodes=5",
    ]);
    let file = dir.path().join("p.sparq");
    let out = ok(&[
        "export",
        run_s,
        "--format",
        "policy",
        file.to_str().unwrap(),
        "--states",
        "3000",
    ]);
    assert!(out.contains("greedy action identical"), "{out}");
    // Against an f64 forward the file's f32 rounding stays far inside 1e-5.
    let own: f64 = out
        .split("of this file ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no f64 comparison in: {out}"));
    assert!(own < 1e-5, "{out}");
    let i8 = dir.path().join("p8.sparq");
    let out = ok(&[
        "export",
        run_s,
        "--format",
        "policy",
        "--int8",
        i8.to_str().unwrap(),
        "--states",
        "500",
    ]);
    assert!(out.contains("sparse-i8"), "{out}");
    let onnx = dir.path().join("p.onnx");
    ok(&[
        "export",
        run_s,
        "--format",
        "onnx",
        onnx.to_str().unwrap(),
        "--states",
        "10",
    ]);
    assert!(std::fs::metadata(&onnx).unwrap().len() > 1000);

    // Same returns as the checkpoint (same episodes, same greedy actions), kernels reported.
    let (cp, pf) = (eval_json(&run), eval_json(&file));
    assert_eq!(cp["eval"]["return_mean"], pf["eval"]["return_mean"]);
    let layers = pf["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    assert!(
        layers
            .iter()
            .any(|l| l["kernel"].as_str().unwrap().starts_with("sparse-f32")),
        "{pf}"
    );
    let text = ok(&["eval", file.to_str().unwrap(), "--episodes", "2"]);
    assert!(text.contains("kernel"), "{text}");

    // Bad files: truncated, corrupted, another version; one line each.
    let bytes = std::fs::read(&file).unwrap();
    let bad = dir.path().join("bad.sparq");
    std::fs::write(&bad, &bytes[..bytes.len() - 100]).unwrap();
    assert!(fails(&["eval", bad.to_str().unwrap()]).contains("truncated"));
    let mut c = bytes.clone();
    c[bytes.len() / 2] ^= 1;
    std::fs::write(&bad, &c).unwrap();
    assert!(fails(&["eval", bad.to_str().unwrap()]).contains("corrupted"));
    let mut v = bytes.clone();
    v[8] = 9;
    std::fs::write(&bad, &v).unwrap();
    assert!(fails(&["eval", bad.to_str().unwrap()]).contains("version 9"));

    // Usage errors (clap's own multi-line usage message).
    assert!(
        !sparq(&["export", run_s, "--format", "policy"])
            .status
            .success()
    );
    assert_eq!(
        fails(&["export", run_s]).trim_end(),
        "sparq: sparq export needs --compact OUT, or --format policy|onnx [--int8] OUT"
    );
}
