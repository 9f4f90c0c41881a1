//! Every bad input ends in one line that says its cause once, names the file or `--set` it came
//! from, and never hangs on what is not a regular file (issues 17 and 18).

use std::path::Path;
use std::process::{Command, Output};

fn sparq(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sparq"))
        .args(args)
        .output()
        .expect("the sparq binary runs")
}

fn repo_file(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// The one stderr line of a failed command.
fn one_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "expected failure; stderr: {err}");
    let lines: Vec<_> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
    lines[0].to_string()
}

fn assert_said_once(line: &str, part: &str) {
    assert_eq!(
        line.matches(part).count(),
        1,
        "'{part}' not said once: {line}"
    );
}

#[test]
fn os_errors_are_said_once() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing.toml");
    let line = one_line(&sparq(&["train", missing.to_str().unwrap()]));
    assert_said_once(&line, "os error 2");
    let line = one_line(&sparq(&["eval", tmp.path().join("nope").to_str().unwrap()]));
    assert_said_once(&line.to_lowercase(), "no such file or directory");
}

#[test]
fn prune_range_errors_are_said_once() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let line = one_line(&sparq(&[
        "train",
        &repo_file("configs/cartpole_dqn_gmp90.toml"),
        "--set",
        "prune.target_sparsity=2",
        "--run-dir",
        run.to_str().unwrap(),
    ]));
    assert_said_once(&line, "prune.target_sparsity = 2");
    assert!(!run.join("config.toml").exists());
}
