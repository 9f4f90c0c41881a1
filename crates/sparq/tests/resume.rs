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

/// An image environment of the caller's own, with no snapshots: it trains (through the
/// convolutional network), checkpoints, and resumes from fresh episodes.
struct Lights {
    t: u32,
    lit: usize,
}

impl sparq::Env for Lights {
    fn obs_space(&self) -> sparq::ObsSpace {
        sparq::ObsSpace::Image {
            channels: 2,
            height: 5,
            width: 5,
        }
    }
    fn num_actions(&self) -> usize {
        2
    }
    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        self.t = 0;
        self.lit = seed.map_or(self.lit + 1, |s| s as usize) % 2;
        obs.fill(0.0);
        obs[self.lit * 25..(self.lit + 1) * 25].fill(1.0);
    }
    fn step(&mut self, action: usize, obs: &mut [f32]) -> sparq::Step {
        self.t += 1;
        let reward = if action == self.lit { 1.0 } else { 0.0 };
        self.reset(None, obs);
        self.t = 1;
        sparq::Step {
            reward,
            terminated: false,
            truncated: true,
        }
    }
}

#[test]
fn a_users_image_env_without_snapshots_trains_checkpoints_and_resumes() {
    sparq::register_env("Lights-v0", || Ok(Box::new(Lights { t: 0, lit: 0 }))).unwrap();
    let text = "[env]\nid = \"Lights-v0\"\n[run]\ntotal_steps = 1200\n[agent]\nlearning_starts = 200\n\
                [network]\nconv_channels = [4]\nhidden = [16]\n[log]\ncheckpoint_interval = 400\n\
                eval_interval = 0\nfinal_eval_episodes = 10\n";
    let config = || {
        Config::from_toml_str(text, "test", &[])
            .unwrap()
            .check()
            .unwrap()
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lights");
    let mut t = Trainer::new(config(), options(&dir)).unwrap();
    t.train_for(500).unwrap();
    drop(t); // killed after its checkpoint at step 400
    let (cp, _) = sparq_runstate::load(&dir).unwrap();
    assert_eq!(cp.meta.env_steps, 400);
    assert!(
        !cp.blobs.contains_key(sparq_runstate::ENVS_BLOB),
        "no environment snapshot"
    );
    assert!(
        cp.meta.net.conv_channels == vec![4],
        "an image gets the convolutional network"
    );
    let s = Trainer::resume(&dir, RunOptions::default())
        .unwrap()
        .run()
        .unwrap();
    assert_eq!(s.env_steps, 1200);
    assert_eq!(s.eval.episodes, 10);
}
