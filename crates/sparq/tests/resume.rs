//! Resuming equals never stopping: a run checkpointed and resumed at any step, interrupted
//! through its stop flag, or killed before its first checkpoint ends with the same weights,
//! optimizer state and evaluation as the uninterrupted run.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use sparq::{Config, Interrupted, RunOptions, Summary, Trainer};

/// A short but real CartPole run: learning, pruning, target syncs and checkpoints all happen.
fn config() -> sparq::CheckedConfig {
    let overrides: Vec<String> = [
        "run.total_steps=3000",
        "agent.learning_starts=500",
        "agent.train_freq=4",
        "agent.gradient_steps=2",
        "agent.target_update_interval=50",
        "network.hidden=[32,32]",
        "log.eval_interval=1000",
        "log.eval_episodes=3",
        "log.final_eval_episodes=5",
        "log.checkpoint_interval=1000",
        "prune.schedule=\"polynomial\"",
        "prune.target_sparsity=0.8",
        "prune.frequency=20",
    ]
    .map(String::from)
    .to_vec();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/cartpole_dqn.toml");
    Config::load(&path, &overrides).unwrap().check().unwrap()
}

fn options(dir: &Path) -> RunOptions {
    RunOptions {
        run_dir: Some(dir.to_owned()),
        ..RunOptions::default()
    }
}

/// Every tensor of the run's final checkpoint (weights, target, mask, optimizer moments).
fn final_state(dir: &Path) -> Vec<(String, Vec<f32>)> {
    let (cp, _) = sparq_runstate::load(dir).unwrap();
    assert_eq!(cp.meta.env_steps, 3000);
    cp.tensors
}

/// The uninterrupted run every test compares with, trained once per test process (in cargo's
/// scratch directory for integration tests).
fn whole() -> &'static (PathBuf, Summary) {
    static WHOLE: OnceLock<(PathBuf, Summary)> = OnceLock::new();
    WHOLE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("resume-whole");
        let _ = std::fs::remove_dir_all(&dir);
        let summary = Trainer::new(config(), options(&dir))
            .unwrap()
            .run()
            .unwrap();
        (dir, summary)
    })
}

/// `dir`'s run ended exactly as the uninterrupted one did.
fn same_as_whole(dir: &Path, s: &Summary) {
    let (whole_dir, whole) = whole();
    assert!(
        final_state(whole_dir) == final_state(dir),
        "final tensors differ"
    );
    assert_eq!(whole.eval, s.eval);
    assert_eq!(whole.evals.len(), s.evals.len());
    assert_eq!(whole.sparsity, s.sparsity);
}

#[test]
fn resume_after_a_checkpoint_at_any_step_equals_the_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(whole().1.sparsity.global > 0.75, "{:?}", whole().1.sparsity);

    // Off the checkpoint interval on purpose, mid-round and mid-pruning.
    for stop_at in [1, 777, 2001] {
        let dir = tmp.path().join(format!("cut-{stop_at}"));
        let mut t = Trainer::new(config(), options(&dir)).unwrap();
        t.train_for(stop_at).unwrap();
        t.checkpoint().unwrap();
        drop(t); // as if killed right after the checkpoint
        let s = Trainer::resume(&dir, RunOptions::default())
            .unwrap()
            .run()
            .unwrap();
        same_as_whole(&dir, &s);
    }
}

#[test]
fn the_stop_flag_checkpoints_and_resume_finishes_exactly() {
    let tmp = tempfile::tempdir().unwrap();

    let dir = tmp.path().join("stopped");
    let stop = Arc::new(AtomicBool::new(false));
    let mut t = Trainer::new(
        config(),
        RunOptions {
            stop: Some(stop.clone()),
            ..options(&dir)
        },
    )
    .unwrap();
    // Raised from inside the run, as a signal handler would, after the 40th episode.
    let mut episodes = 0;
    let flag = stop.clone();
    t.on_event(move |e| {
        if matches!(e, sparq::Event::Episode { .. }) {
            episodes += 1;
            if episodes == 40 {
                flag.store(true, Ordering::SeqCst);
            }
        }
    });
    let err = t.run().unwrap_err();
    let interrupted = err
        .downcast_ref::<Interrupted>()
        .expect("an Interrupted error");
    assert!(interrupted.env_steps > 0 && interrupted.env_steps < 3000);
    assert!(interrupted.checkpoint.is_dir());
    assert!(err.to_string().contains("sparq train --resume"), "{err}");
    assert!(!dir.join("summary.json").exists());

    let s = Trainer::resume(&dir, RunOptions::default())
        .unwrap()
        .run()
        .unwrap();
    same_as_whole(&dir, &s);
}

#[test]
fn a_run_killed_before_its_first_checkpoint_resumes_from_step_zero() {
    let tmp = tempfile::tempdir().unwrap();

    let dir = tmp.path().join("early");
    let mut t = Trainer::new(config(), options(&dir)).unwrap();
    t.train_for(300).unwrap(); // no checkpoint yet
    drop(t);
    assert!(
        sparq_checkpoint::list(&dir.join("checkpoints"))
            .unwrap()
            .is_empty()
    );
    let s = Trainer::resume(&dir, RunOptions::default())
        .unwrap()
        .run()
        .unwrap();
    same_as_whole(&dir, &s);
}

#[test]
fn resume_refuses_a_finished_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("done");
    Trainer::new(config(), options(&dir))
        .unwrap()
        .run()
        .unwrap();
    let err = Trainer::resume(&dir, RunOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("this run finished"), "{err}");
}
