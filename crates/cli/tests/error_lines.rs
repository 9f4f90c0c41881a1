//! Every bad input ends in one line that says its cause once, names the file or `--set` it came
//! from, and never hangs on what is not a regular file (issues 17 and 18).

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{one_line, repo_file, sparq};

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
    assert_said_once(&line, "out of range: allowed [0, 1)");
    assert!(line.contains("--set prune.target_sparsity=2"), "{line}");
    assert!(!run.join("config.toml").exists());
}

#[test]
fn range_errors_name_the_config_file_or_the_set() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("x.toml");
    std::fs::write(&config, "[agent]\nlr = -0.0023\n").unwrap();
    let run = tmp.path().join("run");
    let line = one_line(&sparq(&[
        "train",
        config.to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
    ]));
    assert!(
        line.ends_with(&format!(
            "{}: agent.lr = -0.0023 must be > 0 and finite",
            config.display()
        )),
        "{line}"
    );
    let line = one_line(&sparq(&[
        "train",
        &repo_file("configs/cartpole_dqn.toml"),
        "--set",
        "agent.lr=-0.0023",
        "--run-dir",
        run.to_str().unwrap(),
    ]));
    assert!(
        line.ends_with("--set agent.lr=-0.0023: must be > 0 and finite"),
        "{line}"
    );
    assert!(!run.join("config.toml").exists());
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Runs sparq with a deadline: a command that hangs fails the test instead of blocking it.
fn sparq_within(secs: u64, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sparq"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed().as_secs() >= secs {
            child.kill().unwrap();
            panic!("sparq {args:?} hung");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_fifo_or_a_device_as_the_config_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("config.toml");
    mkfifo(&fifo);
    for config in [fifo.to_str().unwrap(), "/dev/zero"] {
        let run = tmp.path().join("run");
        let out = sparq_within(10, &["train", config, "--run-dir", run.to_str().unwrap()]);
        let line = one_line(&out);
        assert!(line.contains("not a regular file"), "{line}");
    }
}

#[test]
fn a_fifo_in_a_checkpoint_is_refused_at_once_by_eval() {
    let tmp = tempfile::tempdir().unwrap();
    let cp = tmp.path().join("cp");
    std::fs::create_dir(&cp).unwrap();
    mkfifo(&cp.join("MANIFEST"));
    let line = one_line(&sparq_within(10, &["eval", cp.to_str().unwrap()]));
    assert!(
        line.contains("MANIFEST") && line.contains("not a regular file"),
        "{line}"
    );
}

#[test]
fn env_bench_refuses_no_time_and_negative_time() {
    for seconds in ["0", "-1", "nan", "inf"] {
        let line = one_line(&sparq(&[
            "env",
            "bench",
            "--env",
            "CartPole-v1",
            "--seconds",
            seconds,
        ]));
        assert!(line.contains("--seconds"), "{line}");
    }
}

#[test]
fn a_bad_argument_is_one_line_too() {
    let line = one_line(&sparq(&["eval", "x", "--episodes", "0"]));
    assert!(
        line.contains("--episodes") && line.ends_with("(see --help)"),
        "{line}"
    );
}

#[test]
fn a_second_train_into_a_live_run_dir_is_refused_naming_its_pid() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let config = repo_file("configs/cartpole_dqn.toml");
    let mut first = Command::new(env!("CARGO_BIN_EXE_sparq"))
        .args(["train", &config, "--run-dir", run.to_str().unwrap()])
        .args([
            "--set",
            "run.total_steps=10000000",
            "--set",
            "log.eval_interval=0",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !run.join("config.toml").exists() {
        assert!(
            start.elapsed().as_secs() < 60,
            "the first train never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = sparq(&["train", &config, "--run-dir", run.to_str().unwrap()]);
    first.kill().unwrap();
    first.wait().unwrap();
    let line = one_line(&out);
    assert!(
        line.contains(&format!("in use by sparq process {}", first.id())),
        "{line}"
    );
}

/// Issue 18: under a memory limit (`ulimit -v`), a replay buffer or network that cannot fit is
/// refused in one line with its estimate before anything is allocated or written, never an abort.
#[test]
fn configs_beyond_the_memory_limit_are_refused_with_their_estimate() {
    let tmp = tempfile::tempdir().unwrap();
    let config = repo_file("configs/cartpole_dqn.toml");
    for (i, set) in [
        "agent.buffer_size=4294967296",
        "network.hidden=[20000,20000]",
    ]
    .iter()
    .enumerate()
    {
        let run = tmp.path().join(format!("run{i}"));
        let script = format!(
            "ulimit -v 8000000 && exec {} train {config} --set {set} --run-dir {}",
            env!("CARGO_BIN_EXE_sparq"),
            run.display()
        );
        let out = Command::new("sh").args(["-c", &script]).output().unwrap();
        let line = one_line(&out);
        assert!(
            line.contains("memory") && line.contains("GB"),
            "{set}: {line}"
        );
        assert!(!run.exists(), "{set}: nothing is written");
    }
}
