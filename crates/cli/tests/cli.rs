//! The `sparq` binary end to end: a short CartPole run, and one clear line for each bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{one_line, repo_file, sparq};

/// Fast settings for a tiny but real training run.
const QUICK: &[&str] = &[
    "--set",
    "run.total_steps=1500",
    "--set",
    "agent.learning_starts=500",
    "--set",
    "agent.train_freq=4",
    "--set",
    "agent.gradient_steps=1",
    "--set",
    "network.hidden=[32,32]",
    "--set",
    "log.eval_interval=500",
    "--set",
    "log.eval_episodes=2",
    "--set",
    "log.final_eval_episodes=5",
    "--set",
    "log.checkpoint_interval=500",
];

fn train(dir: &Path, extra: &[&str]) -> Output {
    let config = repo_file("configs/cartpole_dqn.toml");
    let run = dir.to_string_lossy().into_owned();
    let mut args = vec!["train", config.as_str(), "--run-dir", run.as_str()];
    args.extend_from_slice(QUICK);
    args.extend_from_slice(extra);
    sparq(&args)
}

#[test]
fn smoke_run_writes_a_complete_run_dir_that_eval_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = train(&run, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["config.toml", "summary.json", "checkpoints/latest"] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["env_steps"], 1500);
    assert_eq!(summary["eval"]["episodes"], 5);
    assert!(summary["sps"].as_f64().unwrap() > 0.0);
    assert_eq!(summary["sparsity"]["layers"].as_object().unwrap().len(), 3);
    // Checkpoints every 500 steps, the newest 3 kept; `latest` names the final one.
    let latest = std::fs::read_to_string(run.join("checkpoints/latest")).unwrap();
    assert_eq!(latest.trim(), "step_0000001500");

    let eval = sparq(&["eval", run.to_str().unwrap(), "--episodes", "3", "--json"]);
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(report["eval"]["episodes"], 3);
    // 4·32+32 + 32·32+32 + 32·2+2 parameters, all nonzero in a dense run.
    assert_eq!(report["params_total"], 1282);
    assert_eq!(report["params_nonzero"], 1282);
    assert_eq!(report["sparsity"]["global"], 0.0);
    // The resolved config loads back as a config.
    let again = sparq(&[
        "train",
        run.join("config.toml").to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
    ]);
    assert!(
        one_line(&again).contains("already"),
        "a second run must not reuse a finished run dir"
    );
}

#[test]
fn same_seed_same_results() {
    let tmp = tempfile::tempdir().unwrap();
    let summaries: Vec<serde_json::Value> = ["a", "b"]
        .iter()
        .map(|name| {
            let run = tmp.path().join(name);
            let out = train(&run, &["--seed", "7"]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap()
        })
        .collect();
    assert_eq!(summaries[0]["eval"], summaries[1]["eval"]);
    let weights = |n: &str| {
        std::fs::read(
            tmp.path()
                .join(n)
                .join("checkpoints/step_0000001500/tensors.safetensors"),
        )
        .unwrap()
    };
    assert_eq!(
        weights("a"),
        weights("b"),
        "same seed must give bit-identical weights on CPU"
    );
}

/// Each bad input: one line naming what is wrong, non-zero exit, and no run dir left behind.
#[test]
fn bad_inputs_get_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| -> PathBuf {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let cases: Vec<(PathBuf, Vec<&str>, Vec<&str>)> = vec![
        (
            tmp.path().join("missing.toml"),
            vec![],
            vec!["missing.toml"],
        ),
        (
            write("syntax.toml", "[agent]\ngamma = = 0.9\n"),
            vec![],
            vec!["syntax.toml:2:"],
        ),
        (
            write("unknown.toml", "[agent]\ngama = 0.9\n"),
            vec![],
            vec!["agent", "gama"],
        ),
        (
            write("type.toml", "[agent]\nbatch_size = \"big\"\n"),
            vec![],
            vec!["agent.batch_size"],
        ),
        (
            write("ok.toml", ""),
            vec!["--set", "agent.gamma=1.5"],
            vec!["agent.gamma", "[0, 1]"],
        ),
        (
            write("ok2.toml", ""),
            vec!["--set", "agent.batch_size=0"],
            vec!["agent.batch_size"],
        ),
        (
            write("ok3.toml", ""),
            vec!["--set", "agent.lr=-0.001"],
            vec!["agent.lr", "> 0"],
        ),
        (
            write("env.toml", "[env]\nid = \"CartPole-v9\"\n"),
            vec![],
            vec!["env.id", "CartPole-v9", "CartPole-v1"],
        ),
        (
            write("ok4.toml", ""),
            vec![
                "--set",
                "prune.schedule=\"polynomial\"",
                "--set",
                "prune.target_sparsity=1.0",
            ],
            vec!["prune.target_sparsity"],
        ),
        (
            write("ok5.toml", ""),
            vec![
                "--set",
                "prune.schedule=\"polynomial\"",
                "--set",
                "prune.include=[\"fc9\"]",
            ],
            vec!["prune.include", "fc9"],
        ),
        (
            write("ok6.toml", ""),
            vec!["--set", "nosuch.key=1"],
            vec!["nosuch"],
        ),
    ];
    for (i, (config, extra, needles)) in cases.iter().enumerate() {
        let run = tmp.path().join(format!("run{i}"));
        let mut args = vec![
            "train",
            config.to_str().unwrap(),
            "--run-dir",
            run.to_str().unwrap(),
        ];
        args.extend(extra.iter().copied());
        let line = one_line(&sparq(&args));
        for n in needles {
            assert!(line.contains(n), "case {i}: '{line}' should mention '{n}'");
        }
        assert!(
            !run.exists(),
            "case {i}: a run dir was created for a bad input"
        );
    }
}

#[test]
fn eval_refuses_what_is_not_a_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("weights.bin");
    std::fs::write(&junk, b"not a checkpoint").unwrap();
    for p in [
        junk.clone(),
        tmp.path().to_path_buf(),
        tmp.path().join("nope"),
    ] {
        let line = one_line(&sparq(&["eval", p.to_str().unwrap()]));
        assert!(
            line.contains(p.file_name().unwrap().to_str().unwrap()),
            "{line}"
        );
    }
    // A corrupted checkpoint is caught by its checksums.
    let run = tmp.path().join("run");
    assert!(train(&run, &[]).status.success());
    let cp = run.join("checkpoints/step_0000001500/tensors.safetensors");
    let mut bytes = std::fs::read(&cp).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&cp, bytes).unwrap();
    let line = one_line(&sparq(&["eval", run.to_str().unwrap()]));
    assert!(
        line.contains("corrupted") && line.contains("tensors.safetensors"),
        "{line}"
    );
}

#[test]
fn env_commands() {
    let list = sparq(&["env", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("CartPole-v1"));
    let line = one_line(&sparq(&[
        "env",
        "replay",
        "--env",
        "CartPole-v1",
        "--state=0,0,0",
        "--actions",
        "0",
    ]));
    assert!(line.contains("state"), "{line}");
    let line = one_line(&sparq(&[
        "env",
        "replay",
        "--env",
        "CartPole-v1",
        "--state=0,0,0,0",
        "--actions",
        "0,2",
    ]));
    assert!(
        line.contains("--actions") && line.contains("0..=1"),
        "{line}"
    );
    let line = one_line(&sparq(&[
        "env",
        "replay",
        "--env",
        "Pong",
        "--state=0",
        "--actions",
        "0",
    ]));
    assert!(
        line.contains("CartPole-v1"),
        "unknown ids list the known ones: {line}"
    );
    let ok = sparq(&[
        "env",
        "replay",
        "--env",
        "CartPole-v1",
        "--state=0,0,0.2,0",
        "--actions",
        "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0",
    ]);
    assert!(ok.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&ok.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = lines.last().unwrap();
    assert_eq!(
        last["terminated"], true,
        "pushing left from θ=0.2 must tip the pole past 12° within 22 steps"
    );
    assert!(lines.len() < 22);
}

#[test]
fn divergence_stops_the_run_and_keeps_the_last_good_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    // Adam's steps are about lr in size: lr = 1e38 overflows the weights within a few updates.
    let out = train(
        &run,
        &["--set", "agent.lr=1e38", "--set", "log.log_interval=100"],
    );
    assert!(!out.status.success());
    // A started run has printed progress; the error is its last line.
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().last().unwrap_or_default();
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        line.contains("diverged") && line.contains("not finite"),
        "{line}"
    );
    assert!(
        !run.join("summary.json").exists(),
        "a diverged run must not look finished"
    );
    let latest = std::fs::read_to_string(run.join("checkpoints/latest")).unwrap();
    assert_eq!(
        latest.trim(),
        "step_0000000500",
        "the checkpoint from before the divergence stays"
    );
    let eval = sparq(&["eval", run.to_str().unwrap(), "--episodes", "2", "--json"]);
    assert!(eval.status.success(), "the kept checkpoint is loadable");
}

#[test]
fn pruning_during_training_reaches_the_target_sparsity() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = train(
        &run,
        &[
            "--set",
            "prune.schedule=\"polynomial\"",
            "--set",
            "prune.target_sparsity=0.9",
            "--set",
            "prune.start=0.2",
            "--set",
            "prune.end=0.8",
            "--set",
            "prune.frequency=50",
            "--set",
            "prune.scope=\"layerwise\"",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let eval = sparq(&["eval", run.to_str().unwrap(), "--episodes", "2", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    // Layerwise: every layer within one weight of 90 % (fc0 has 128 weights, fc1 1024, out 64).
    for (layer, n) in [("fc0", 128.0), ("fc1", 1024.0), ("out", 64.0)] {
        let s = report["sparsity"]["layers"][layer].as_f64().unwrap();
        assert!((s - 0.9).abs() <= 1.0 / n + 1e-9, "{layer}: sparsity {s}");
    }
    let nonzero = report["params_nonzero"].as_u64().unwrap();
    assert!(
        nonzero < 1282 - 1000,
        "pruned weights are exact zeros in the checkpoint: {nonzero} nonzero"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    assert!((summary["sparsity"]["global"].as_f64().unwrap() - 0.9).abs() < 0.005);
}

/// Issue 18's repro: lr 1e30 without clipping, a checkpoint every 100 steps and no log or eval
/// check in between. No checkpoint may hold NaN, and the message names the one that is kept.
#[test]
fn nan_guard_never_writes_a_non_finite_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = train(
        &run,
        &[
            "--set",
            "agent.lr=1e30",
            "--set",
            "agent.max_grad_norm=0",
            "--set",
            "log.checkpoint_interval=100",
            "--set",
            "log.eval_interval=0",
            "--set",
            "log.log_interval=2000",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().last().unwrap_or_default();
    assert!(
        line.contains("diverged") && line.contains("not finite"),
        "{line}"
    );
    let latest = std::fs::read_to_string(run.join("checkpoints/latest")).unwrap();
    assert!(
        line.contains(latest.trim()),
        "the message names the kept checkpoint: {line}"
    );
    for cp in std::fs::read_dir(run.join("checkpoints")).unwrap() {
        let cp = cp.unwrap().path();
        if cp.is_dir() {
            let eval = sparq(&["eval", cp.to_str().unwrap(), "--episodes", "1", "--json"]);
            assert!(
                eval.status.success(),
                "{}: {}",
                cp.display(),
                String::from_utf8_lossy(&eval.stderr)
            );
        }
    }
    // With no checkpoint at all, the message says so instead of promising one.
    let run2 = tmp.path().join("run2");
    let out = train(
        &run2,
        &[
            "--set",
            "agent.lr=1e30",
            "--set",
            "agent.max_grad_norm=0",
            "--set",
            "log.checkpoint_interval=0",
            "--set",
            "log.eval_interval=0",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines()
            .last()
            .unwrap_or_default()
            .contains("no checkpoint was written"),
        "{err}"
    );
}

#[test]
fn resume_refuses_set_so_config_and_checkpoints_never_disagree() {
    let out = sparq(&["train", "--resume", "somewhere", "--set", "agent.lr=1"]);
    let line = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success());
    assert!(
        line.contains("--set") && line.contains("--resume"),
        "{line}"
    );
}

/// Ctrl-C: the run finishes its step, writes a checkpoint, names the resume command and exits
/// 130; `--resume` then ends exactly where the uninterrupted run ends.
#[test]
fn sigint_checkpoints_and_resume_finishes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let long = [
        "--set",
        "run.total_steps=6000",
        "--set",
        "log.checkpoint_interval=2000",
    ];
    let whole = tmp.path().join("whole");
    assert!(train(&whole, &long).status.success());

    let cut = tmp.path().join("cut");
    let config = repo_file("configs/cartpole_dqn.toml");
    let mut args = vec!["train", config.as_str(), "--run-dir", cut.to_str().unwrap()];
    args.extend_from_slice(QUICK);
    args.extend_from_slice(&long);
    let child = Command::new(env!("CARGO_BIN_EXE_sparq"))
        .args(&args)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Interrupt as soon as the run exists: the handler is installed before config.toml is
    // written, and a fixed wait let the whole 6000-step run finish first on an idle machine.
    while !cut.join("config.toml").exists() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    let line = err.lines().last().unwrap_or_default();
    assert!(
        line.contains(&format!(
            "resume with: sparq train --resume {}",
            cut.display()
        )),
        "{line}"
    );
    assert!(!cut.join("summary.json").exists());

    let resumed = sparq(&["train", "--resume", cut.to_str().unwrap()]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let last = "checkpoints/step_0000006000/tensors.safetensors";
    let (a, b) = (
        std::fs::read(whole.join(last)).unwrap(),
        std::fs::read(cut.join(last)).unwrap(),
    );
    assert!(
        a == b,
        "resumed weights differ from the uninterrupted run's"
    );
    let summary = |dir: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap()
    };
    assert_eq!(summary(&whole)["eval"], summary(&cut)["eval"]);
}

/// A full disk can leave `latest` empty beside complete checkpoints: eval and resume name the
/// newest complete one, and `--checkpoint newest` uses it.
#[test]
fn an_unusable_latest_falls_back_to_the_newest_complete_checkpoint_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = train(
        &run,
        &[
            "--set",
            "run.total_steps=3000",
            "--set",
            "log.checkpoint_interval=1000",
        ],
    );
    assert!(out.status.success());
    std::fs::remove_file(run.join("summary.json")).unwrap(); // as if killed after its last checkpoint
    std::fs::write(run.join("checkpoints/latest"), "").unwrap();
    let r = run.to_str().unwrap();
    let line = one_line(&sparq(&["eval", r, "--episodes", "1"]));
    assert!(
        line.contains("step_0000003000") && line.contains("--checkpoint newest"),
        "{line}"
    );
    let eval = sparq(&[
        "eval",
        r,
        "--checkpoint",
        "newest",
        "--episodes",
        "1",
        "--json",
    ]);
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    // The run's last step was checkpointed, so a resume from it only finishes the run.
    let resumed = sparq(&["train", "--resume", r, "--checkpoint", "newest"]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert!(run.join("summary.json").is_file());
}

#[test]
fn resume_of_a_live_run_is_refused_naming_its_pid() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("live");
    let config = repo_file("configs/cartpole_dqn.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sparq"))
        .args(["train", config.as_str(), "--run-dir", run.to_str().unwrap()])
        .args(QUICK)
        .args(["--set", "run.total_steps=200000"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    while !run.join("config.toml").exists() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = sparq(&["train", "--resume", run.to_str().unwrap()]);
    let _ = child.kill();
    let _ = child.wait();
    let line = one_line(&out);
    assert!(
        line.contains(&format!("in use by sparq process {}", child.id())),
        "{line}"
    );
    // Killed, it leaves no stale lock: the run can be opened for resuming.
    assert!(sparq_log::RunDir::open_for_resume(&run).is_ok());
}
