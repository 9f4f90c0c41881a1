//! Helpers shared by the `sparq` binary's end-to-end tests.
#![allow(dead_code)] // each test file uses a part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `sparq` binary built for these tests.
pub fn sparq(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sparq"))
        .args(args)
        .output()
        .expect("the sparq binary runs")
}

/// A path in the repository, as a string for command lines.
pub fn repo_file(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// The one stderr line of a failed command: exactly one line, no panic, no internal error.
pub fn one_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "expected failure; stderr: {err}");
    let lines: Vec<_> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("internal error") && !err.contains("backtrace"),
        "{err}"
    );
    lines[0].to_string()
}

/// Runs `sparq` expecting success; returns its stdout.
pub fn ok(args: &[&str]) -> String {
    let out = sparq(args);
    assert!(
        out.status.success(),
        "sparq {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `sparq` expecting failure; returns its one stderr line.
pub fn fails(args: &[&str]) -> String {
    one_line(&sparq(args))
}

/// The dense CartPole config the short test runs start from.
pub const CONFIG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../configs/cartpole_dqn.toml"
);

/// A 2000-step CartPole run with a [32, 32] network, plus `extra` overrides.
pub fn tiny_run(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let run = dir.join(name);
    let mut args = vec![
        "train",
        CONFIG,
        "--run-dir",
        run.to_str().unwrap(),
        "--set",
        "run.total_steps=2000",
        "--set",
        "agent.learning_starts=500",
        "--set",
        "network.hidden=[32,32]",
        "--set",
        "run.device=\"cpu\"",
        "--set",
        "log.final_eval_episodes=5",
    ];
    for e in extra {
        args.extend(["--set", e]);
    }
    ok(&args);
    run
}
