//! What is not a regular file inside a checkpoint (a FIFO, a device, a symlink out of the
//! checkpoint, a symlink loop) is refused in one line at once, never read without bound (issue 18).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sparq_checkpoint::{CheckpointError, load, resolve, save};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Meta {
    env_steps: u64,
}

fn sample(dir: &Path, steps: u64) -> PathBuf {
    save(
        dir,
        &format!("step_{steps:010}"),
        &Meta { env_steps: steps },
        &[("params".to_string(), vec![1.0, 2.0])],
        &[("replay.bin", b"replay-bytes")],
        0,
    )
    .unwrap()
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Loads on another thread so a hang fails the test instead of blocking it forever.
fn load_within_a_second(path: &Path) -> Result<(), String> {
    let path = path.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(load::<Meta>(&path).map(|_| ()).map_err(|e| e.to_string()));
    });
    let start = Instant::now();
    let got = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("load hung on an odd file");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "load took {:?}",
        start.elapsed()
    );
    got
}

fn one_line(e: &str) {
    assert!(!e.contains('\n'), "{e}");
}

#[test]
fn a_fifo_in_place_of_any_file_is_refused_at_once() {
    for file in ["tensors.safetensors", "meta.json", "MANIFEST", "replay.bin"] {
        let tmp = tempfile::tempdir().unwrap();
        let cp = sample(tmp.path(), 10);
        fs::remove_file(cp.join(file)).unwrap();
        mkfifo(&cp.join(file));
        let err = load_within_a_second(&cp).expect_err(file);
        one_line(&err);
        assert!(
            err.contains(file) && err.contains("not a regular file"),
            "{err}"
        );
    }
}

#[test]
fn a_fifo_as_latest_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    sample(tmp.path(), 10);
    fs::remove_file(tmp.path().join("latest")).unwrap();
    mkfifo(&tmp.path().join("latest"));
    let err = load_within_a_second(tmp.path()).unwrap_err();
    one_line(&err);
    assert!(
        err.contains("latest") && err.contains("not a regular file"),
        "{err}"
    );
}

#[test]
fn a_symlink_to_dev_zero_is_refused_without_reading_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cp = sample(tmp.path(), 10);
    fs::remove_file(cp.join("tensors.safetensors")).unwrap();
    symlink("/dev/zero", cp.join("tensors.safetensors")).unwrap();
    let err = load_within_a_second(&cp).unwrap_err();
    one_line(&err);
    assert!(err.contains("tensors.safetensors"), "{err}");
}

#[test]
fn a_device_node_in_the_checkpoint_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cp = sample(tmp.path(), 10);
    let f = cp.join("replay.bin");
    fs::remove_file(&f).unwrap();
    let c = std::ffi::CString::new(f.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path. /dev/null's numbers (1, 3); needs CAP_MKNOD.
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 3)) };
    if made != 0 {
        // Unprivileged: a symlink to a device is refused as leaving the checkpoint instead.
        symlink("/dev/null", &f).unwrap();
    }
    let err = load_within_a_second(&cp).unwrap_err();
    let refused =
        err.contains("not a regular file (a device)") || err.contains("leaves the checkpoint");
    assert!(err.contains("replay.bin") && refused, "{err}");
}

#[test]
fn a_symlink_that_leaves_the_checkpoint_is_refused_one_inside_is_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let cp = sample(tmp.path(), 10);
    let outside = tmp.path().join("outside.bin");
    fs::copy(cp.join("replay.bin"), &outside).unwrap();
    fs::remove_file(cp.join("replay.bin")).unwrap();
    symlink(&outside, cp.join("replay.bin")).unwrap();
    let err = load_within_a_second(&cp).unwrap_err();
    assert!(
        err.contains("replay.bin") && err.contains("leaves the checkpoint"),
        "{err}"
    );

    fs::remove_file(cp.join("replay.bin")).unwrap();
    fs::rename(&outside, cp.join("replay.real")).unwrap();
    symlink("replay.real", cp.join("replay.bin")).unwrap();
    load_within_a_second(&cp).unwrap();
}

#[test]
fn a_file_longer_than_its_manifest_size_is_not_read_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let cp = sample(tmp.path(), 10);
    let f = cp.join("replay.bin");
    fs::write(&f, vec![7u8; 1 << 20]).unwrap();
    let err = load_within_a_second(&cp).unwrap_err();
    assert!(
        err.contains("replay.bin") && err.contains("MANIFEST says 12"),
        "{err}"
    );
}

#[test]
fn a_symlink_loop_is_reported_as_a_loop() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    symlink(&b, &a).unwrap();
    symlink(&a, &b).unwrap();
    let err = resolve(&a).unwrap_err().to_string();
    assert!(
        err.to_lowercase().contains("symbolic links") && !err.contains("no such file"),
        "{err}"
    );
    let cp = sample(&tmp.path().join("cps"), 10);
    fs::remove_file(cp.join("meta.json")).unwrap();
    symlink(cp.join("meta.json"), cp.join("meta.json")).unwrap();
    let err = load_within_a_second(&cp).unwrap_err();
    assert!(err.to_lowercase().contains("symbolic links"), "{err}");
}

#[test]
fn an_oversized_manifest_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cp = sample(tmp.path(), 10);
    fs::write(cp.join("MANIFEST"), vec![b'a'; 8 << 20]).unwrap();
    let err = load::<Meta>(&cp).unwrap_err();
    assert!(
        matches!(
            err,
            CheckpointError::Corrupted { .. } | CheckpointError::Invalid { .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("MANIFEST holds at most"), "{err}");
}
