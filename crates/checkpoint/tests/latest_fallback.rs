//! When `checkpoints/latest` is unusable the error names the newest complete checkpoint, which
//! [`newest_complete`] returns; rotation never removes the last complete checkpoints (issue 18).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sparq_checkpoint::{CheckpointError, load, newest_complete, resolve, resolve_newest, save};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Meta {
    env_steps: u64,
}

fn save_step(cps: &Path, steps: u64, keep: usize) -> PathBuf {
    save(
        cps,
        &format!("step_{steps:010}"),
        &Meta { env_steps: steps },
        &[("params".to_string(), vec![steps as f32])],
        &[],
        keep,
    )
    .unwrap()
}

/// A run directory with complete checkpoints at steps 10 and 20 (and latest naming 20).
fn run_with_two() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let cps = tmp.path().join("checkpoints");
    save_step(&cps, 10, 0);
    save_step(&cps, 20, 0);
    (tmp, cps)
}

fn assert_names_newest(err: CheckpointError, newest: &Path) {
    let msg = err.to_string();
    assert!(
        matches!(&err, CheckpointError::LatestUnusable { newest: Some(n), .. } if n == newest),
        "{msg}"
    );
    assert!(
        msg.contains("latest is unusable")
            && msg.contains(&newest.display().to_string())
            && msg.contains("--checkpoint newest"),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
}

#[test]
fn a_missing_latest_names_the_newest_complete_checkpoint() {
    let (tmp, cps) = run_with_two();
    fs::remove_file(cps.join("latest")).unwrap();
    let err = resolve(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("(missing)"), "{err}");
    assert_names_newest(err, &cps.join("step_0000000020"));
    assert_names_newest(
        load::<Meta>(&cps).unwrap_err(),
        &cps.join("step_0000000020"),
    );
}

#[test]
fn an_empty_latest_after_a_full_disk_names_the_newest_complete_checkpoint() {
    let (tmp, cps) = run_with_two();
    // What a disk filling while `latest` is written leaves: an empty temporary, and an empty
    // `latest` where the filesystem truncated before the rename.
    fs::write(cps.join(".latest.tmp"), b"").unwrap();
    fs::write(cps.join("latest"), b"").unwrap();
    let err = resolve(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("(empty)"), "{err}");
    assert_names_newest(err, &cps.join("step_0000000020"));
}

#[test]
fn latest_naming_a_damaged_checkpoint_names_the_older_complete_one() {
    let (tmp, cps) = run_with_two();
    let damaged = cps.join("step_0000000020");
    fs::write(damaged.join("tensors.safetensors"), b"short").unwrap();
    let err = resolve(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("names 'step_0000000020'"), "{err}");
    assert_names_newest(err, &cps.join("step_0000000010"));

    fs::remove_file(damaged.join("MANIFEST")).unwrap();
    assert_names_newest(
        resolve(tmp.path()).unwrap_err(),
        &cps.join("step_0000000010"),
    );
}

#[test]
fn newest_complete_goes_by_step_and_skips_damaged_ones() {
    let (tmp, cps) = run_with_two();
    // Step 100 sorts before step 20 as text; by step it is the newest.
    save_step(&cps, 100, 0);
    fs::create_dir(cps.join("step_0000000200")).unwrap();
    fs::write(cps.join("step_0000000200/MANIFEST"), b"junk").unwrap();
    fs::rename(cps.join("step_0000000100"), cps.join("step_100")).unwrap();
    assert_eq!(newest_complete(&cps).unwrap(), Some(cps.join("step_100")));
    assert_eq!(resolve_newest(tmp.path()).unwrap(), cps.join("step_100"));
    assert_eq!(
        load::<Meta>(&resolve_newest(&cps).unwrap())
            .unwrap()
            .meta
            .env_steps,
        100
    );
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(newest_complete(empty.path()).unwrap(), None);
    assert!(matches!(
        resolve_newest(empty.path()).unwrap_err(),
        CheckpointError::NoCompleteCheckpoint(_)
    ));
}

#[test]
fn no_complete_checkpoint_at_all_is_said() {
    let tmp = tempfile::tempdir().unwrap();
    let cps = tmp.path().join("checkpoints");
    save_step(&cps, 10, 0);
    fs::write(cps.join("step_0000000010/meta.json"), b"{}").unwrap();
    let msg = resolve(tmp.path()).unwrap_err().to_string();
    assert!(msg.contains("no complete checkpoint remains"), "{msg}");
}

#[test]
fn rotation_never_counts_damaged_checkpoints_as_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let cps = tmp.path().join("checkpoints");
    save_step(&cps, 1, 2);
    // Two newer directories that look like checkpoints but are not complete.
    for s in [8, 9] {
        let d = cps.join(format!("step_{s:010}"));
        fs::create_dir(&d).unwrap();
        fs::write(d.join("MANIFEST"), b"sparq-checkpoint 3\n").unwrap();
    }
    save_step(&cps, 3, 2);
    assert!(
        cps.join("step_0000000001").is_dir(),
        "the older complete checkpoint was deleted to make room for damaged ones"
    );
    save_step(&cps, 4, 2);
    assert!(!cps.join("step_0000000001").exists());
    assert!(cps.join("step_0000000003").is_dir() && cps.join("step_0000000004").is_dir());
}
