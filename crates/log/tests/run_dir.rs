//! Run directory layout, refusal to reuse a run, and summary.json.

use sparq_log::{EvalStats, EventWriter, LogError, RunDir, SparsityReport, Summary};

fn summary() -> Summary {
    Summary {
        env_steps: 1000,
        wall_s: 2.0,
        sps: 500.0,
        eval: EvalStats::from_returns(&[1.0, 3.0]).unwrap(),
        sparsity: SparsityReport::from_weights([("fc1", &[0.0, 1.0, 2.0, 3.0][..], true)]),
        evals: Vec::new(),
        best: None,
    }
}

#[test]
fn create_makes_layout_and_parents() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("runs/cartpole/seed0");
    let run = RunDir::create(&root).unwrap();
    assert!(run.checkpoints_dir().is_dir());
    assert_eq!(run.config_path(), root.join("config.toml"));
    assert_eq!(run.summary_path(), root.join("summary.json"));
    assert_eq!(run.root(), root);
    // The write probe leaves nothing behind; the lock file stays (it holds no lock once the
    // process is gone).
    let mut names: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, vec![".lock", "checkpoints"]);
}

#[test]
fn create_refuses_an_existing_run() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("run");
    drop(RunDir::create(&root).unwrap());
    // An empty leftover directory is fine to reuse.
    let run = RunDir::create(&root).unwrap();
    run.write_config("seed = 1\n").unwrap();
    let config_path = run.config_path();
    drop(run);
    let err = RunDir::create(&root).unwrap_err();
    assert!(matches!(&err, LogError::RunExists { found, .. } if found == "config.toml"));
    let msg = err.to_string();
    assert!(msg.contains("already holds a run") && msg.contains("run") && !msg.contains('\n'));
    assert_eq!(std::fs::read_to_string(config_path).unwrap(), "seed = 1\n");

    let other = tmp.path().join("other");
    let run2 = RunDir::create(&other).unwrap();
    run2.write_summary(&summary()).unwrap();
    drop(run2);
    let err = RunDir::create(&other).unwrap_err();
    assert!(matches!(err, LogError::RunExists { found, .. } if found == "summary.json"));

    let third = tmp.path().join("third");
    drop(EventWriter::create(&third).unwrap());
    let err = RunDir::create(&third).unwrap_err();
    assert!(matches!(err, LogError::RunExists { found, .. } if found.contains("tfevents")));
}

#[test]
fn create_reports_unusable_locations() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, b"").unwrap();
    let msg = RunDir::create(&file.join("run")).unwrap_err().to_string();
    assert!(msg.starts_with("cannot create directory"), "{msg}");
}

#[cfg(target_os = "linux")]
#[test]
fn create_probes_writability() {
    // procfs refuses new files even for root, which ignores permission bits.
    let msg = RunDir::create(std::path::Path::new("/proc/self"))
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("cannot write in /proc/self"), "{msg}");
}

#[test]
fn open_needs_a_config() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("run");
    let run = RunDir::create(&root).unwrap();
    let err = RunDir::open(&root).unwrap_err();
    assert!(matches!(err, LogError::NotARun { .. }), "{err}");
    run.write_config("x = 1\n").unwrap();
    assert_eq!(RunDir::open(&root).unwrap(), run);
    let missing = RunDir::open(&tmp.path().join("nope"))
        .unwrap_err()
        .to_string();
    assert!(
        missing.starts_with("cannot open run directory"),
        "{missing}"
    );
}

#[test]
fn summary_round_trips_and_rejects_nan() {
    let tmp = tempfile::tempdir().unwrap();
    let run = RunDir::create(&tmp.path().join("run")).unwrap();
    run.write_summary(&summary()).unwrap();
    assert_eq!(run.read_summary().unwrap(), summary());
    let mut bad = summary();
    bad.sps = f64::NAN;
    let msg = run.write_summary(&bad).unwrap_err().to_string();
    assert!(
        msg.contains("summary.json") && msg.contains("sps is not a finite number"),
        "{msg}"
    );
    // The earlier, valid summary is untouched.
    assert_eq!(run.read_summary().unwrap(), summary());
}

#[test]
fn event_files_are_listed_oldest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let run = RunDir::create(&tmp.path().join("run")).unwrap();
    let a = run.event_writer().unwrap().path().to_owned();
    let b = run.event_writer().unwrap().path().to_owned();
    assert_eq!(run.event_files().unwrap(), vec![a, b]);
}

#[test]
fn create_refuses_a_directory_of_other_things_but_not_an_empty_or_abandoned_one() {
    let tmp = tempfile::tempdir().unwrap();
    let other = tmp.path().join("photos");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("cat.jpg"), b"x").unwrap();
    let err = sparq_log::RunDir::create(&other).unwrap_err().to_string();
    assert!(err.contains("not empty (cat.jpg is there)"), "{err}");
    assert_eq!(
        std::fs::read_dir(&other).unwrap().count(),
        1,
        "nothing written into it"
    );

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    drop(sparq_log::RunDir::create(&empty).unwrap());
    // What a start killed before its config.toml leaves (lock, empty checkpoints/) is reusable.
    sparq_log::RunDir::create(&empty).unwrap();
}

#[test]
fn summaries_written_before_the_sparsity_counts_still_read() {
    // A real run's summary.json (cartpole_gmp sweep, 90 % GMP, seed 1) from before `sparsity`
    // had `pruned` and `total`: `sparq report` must keep reading such sweeps.
    let text = include_str!("fixtures/summary_before_counts.json");
    let s: Summary = serde_json::from_str(text).unwrap();
    assert_eq!(s.sparsity.global, 0.900002981870229);
    assert_eq!(s.sparsity.layers["fc1"], 0.9038238525390625);
    assert_eq!((s.sparsity.pruned, s.sparsity.total), (0, 0));
    assert_eq!(s.eval.return_mean, 499.74);
    // Written back, it keeps every figure it had.
    let again: serde_json::Value = serde_json::to_value(&s).unwrap();
    let old: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(again["sparsity"]["layers"], old["sparsity"]["layers"]);
    assert_eq!(again["evals"], old["evals"]);
}
