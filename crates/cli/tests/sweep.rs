//! `sparq sweep` and `sparq report` end to end on configs/sweeps/smoke.toml: a sweep killed with
//! SIGKILL mid-way and run again ends with the same results as an uninterrupted one; bad sweep
//! files fail in one line before anything is written; the report reads the sweep.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn sweep(out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sparq"))
        .arg("sweep")
        .arg(repo_file("configs/sweeps/smoke.toml"))
        .args(["--jobs", "2", "--out"])
        .arg(out)
        .output()
        .expect("the sparq binary runs")
}

/// Each run's final weights (the latest checkpoint's tensors), final and periodic evaluations.
fn results(sweep_dir: &Path) -> Vec<(String, Vec<u8>, String)> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(sweep_dir.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    runs.iter()
        .map(|run| {
            let latest = std::fs::read_to_string(run.join("checkpoints/latest")).unwrap();
            let weights = std::fs::read(
                run.join("checkpoints")
                    .join(latest.trim())
                    .join("tensors.safetensors"),
            )
            .unwrap();
            let summary: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap())
                    .unwrap();
            let evals: Vec<&serde_json::Value> = summary["evals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| &e["return_mean"])
                .collect();
            let numbers = format!("{} {:?} {}", summary["eval"], evals, summary["sparsity"]);
            (
                run.file_name().unwrap().to_string_lossy().into_owned(),
                weights,
                numbers,
            )
        })
        .collect()
}

#[test]
fn killed_sweep_rerun_gives_the_results_of_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    let out = sweep(&whole);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Kill once a run has finished and another has a checkpoint but no summary: the re-run must
    // skip the first, resume the second and start the rest.
    let killed = dir.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sparq"))
        .arg("sweep")
        .arg(repo_file("configs/sweeps/smoke.toml"))
        .args(["--jobs", "2", "--out"])
        .arg(&killed)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let mid_run = loop {
        let runs: Vec<PathBuf> = std::fs::read_dir(killed.join("runs"))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        let done = runs
            .iter()
            .filter(|r| r.join("summary.json").exists())
            .count();
        let resumable = runs
            .iter()
            .find(|r| r.join("checkpoints/latest").exists() && !r.join("summary.json").exists());
        if done >= 1 && resumable.is_some() {
            break resumable.cloned();
        }
        if child.try_wait().unwrap().is_some() || t0.elapsed() > Duration::from_secs(600) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let mid_run = mid_run.expect("the sweep was killed with a run mid-way");
    // Its children die with it (PR_SET_PDEATHSIG): the run stops changing.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !mid_run.join("summary.json").exists(),
        "a run outlived the killed sweep"
    );

    let out = sweep(&killed);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("0 finished before"), "{stderr}");
    assert_eq!(results(&killed), results(&whole));
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(killed.join("sweep.json")).unwrap()).unwrap();
    let resumed = index["records"][mid_run.file_name().unwrap().to_str().unwrap()]["attempts"]
        .as_u64()
        .unwrap();
    assert_eq!(resumed, 2, "the mid-way run ran in two processes");

    // A third run has nothing left to do.
    let out = sweep(&killed);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("6 finished before, 0 to run"), "{stderr}");

    // The report reads it: every group has all three seeds.
    let out = Command::new(env!("CARGO_BIN_EXE_sparq"))
        .arg("report")
        .arg(&killed)
        .args(["--json", "--reps", "1000"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    for g in groups {
        assert_eq!(g["runs"], 3);
        for k in ["iqm", "mean", "median"] {
            let (lo, p, hi) = (
                g[k]["lo"].as_f64().unwrap(),
                g[k]["point"].as_f64().unwrap(),
                g[k]["hi"].as_f64().unwrap(),
            );
            assert!(lo <= p && p <= hi, "{k}: {lo} {p} {hi}");
        }
    }
    for png in [
        "return_vs_sparsity.png",
        "learning_curves.png",
        "performance_profile.png",
    ] {
        assert!(killed.join("report").join(png).is_file(), "{png}");
    }

    // --env keeps one environment's runs: all of them here, none of another.
    let report_env = |env: &str| {
        Command::new(env!("CARGO_BIN_EXE_sparq"))
            .arg("report")
            .arg(&killed)
            .args(["--json", "--reps", "1000", "--env", env, "--out"])
            .arg(killed.join("report-env"))
            .output()
            .unwrap()
    };
    let out = report_env("CartPole-v1");
    let same: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(same["groups"], report["groups"]);
    let out = report_env("Acrobot-v1");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--env Acrobot-v1") && stderr.contains("CartPole-v1"),
        "{stderr}"
    );
}

#[test]
fn bad_sweep_files_fail_in_one_line_naming_the_key_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let config = repo_file("configs/cartpole_dqn.toml");
    let cases = [
        (
            "seeds = 2\nseed_count = 3\n[grid]\nagent.lr = [1e-3]\n",
            "seed_count",
        ),
        ("seeds = 2\n[grid]\nagent.lr = []\n", "grid.agent.lr"),
        (
            "seeds = 2\n[grid]\nagent.learning_rate = [1e-3]\n",
            "learning_rate",
        ),
        ("seeds = 0\n[grid]\nagent.lr = [1e-3]\n", "seeds"),
    ];
    for (body, key) in cases {
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, format!("config = \"{}\"\n{body}", config.display())).unwrap();
        let out_dir = dir.path().join("out");
        let out = Command::new(env!("CARGO_BIN_EXE_sparq"))
            .arg("sweep")
            .arg(&file)
            .arg("--out")
            .arg(&out_dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{body}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(key), "'{key}' not in {stderr}");
        assert!(!out_dir.exists(), "{body}: wrote {}", out_dir.display());
    }
}

#[test]
fn a_sweep_file_with_more_seeds_grows_the_directory_and_keeps_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let smoke = std::fs::read_to_string(repo_file("configs/sweeps/smoke.toml")).unwrap();
    let config = repo_file("configs/cartpole_dqn_gmp90.toml");
    let sweep_file = |seeds: u32| {
        let body = smoke
            .replace("seeds = 3", &format!("seeds = {seeds}"))
            .replace(
                "\"../cartpole_dqn_gmp90.toml\"",
                &format!("\"{}\"", config.display()),
            )
            .replace(
                "\"log.checkpoint_interval\" = 500",
                "\"log.checkpoint_interval\" = 1000",
            )
            .replace("\"run.total_steps\" = 2000", "\"run.total_steps\" = 1000");
        let file = dir.path().join(format!("s{seeds}.toml"));
        std::fs::write(&file, body).unwrap();
        file
    };
    let out_dir = dir.path().join("out");
    let run = |file: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_sparq"))
            .arg("sweep")
            .arg(file)
            .args(["--jobs", "2", "--out"])
            .arg(&out_dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        stderr
    };
    run(&sweep_file(1));
    let summary = out_dir.join("runs/dense-s1/summary.json");
    let first = std::fs::read(&summary).unwrap();
    let modified = std::fs::metadata(&summary).unwrap().modified().unwrap();

    let stderr = run(&sweep_file(2));
    assert!(stderr.contains("grows by 2 jobs"), "{stderr}");
    assert!(stderr.contains("2 finished before, 2 to run"), "{stderr}");
    assert!(out_dir.join("runs/gmp50-s2/summary.json").is_file());
    assert_eq!(std::fs::read(&summary).unwrap(), first);
    assert_eq!(
        std::fs::metadata(&summary).unwrap().modified().unwrap(),
        modified
    );
    let record = std::fs::read_to_string(out_dir.join("sweep.toml")).unwrap();
    assert!(
        record.contains("seeds = 2"),
        "the record copy is the grown file"
    );

    // Fewer seeds would drop jobs: refused in one line, nothing run.
    let out = Command::new(env!("CARGO_BIN_EXE_sparq"))
        .arg("sweep")
        .arg(sweep_file(1))
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("job 'dense-s2' is missing"), "{stderr}");
}
