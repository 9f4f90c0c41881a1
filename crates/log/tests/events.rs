//! Event files: what the writer puts down, the reader gets back, checksums included.

use std::path::Path;

use sparq_log::proto::{SessionStatus, event::What};
use sparq_log::{EventWriter, LogError, event_files, histogram_of, read_events};

fn only_file(dir: &Path) -> std::path::PathBuf {
    let files = event_files(dir).unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap()
}

#[test]
fn scalars_and_histograms_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let weights: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) / 100.0).collect();
    let mut w = EventWriter::create(dir.path()).unwrap();
    for step in 0..5i64 {
        w.add_scalar("train/loss", 1.0 / (step + 1) as f64, step * 100)
            .unwrap();
        w.add_scalars(&[("a", step as f64), ("b", -0.0)], step * 100)
            .unwrap();
    }
    w.add_histogram("weights/fc1", &weights, 400).unwrap();
    let path = w.path().to_owned();
    w.close().unwrap();

    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let parts: Vec<&str> = name.split('.').collect();
    assert!(name.starts_with("events.out.tfevents."), "{name}");
    assert_eq!(parts[parts.len() - 2], std::process::id().to_string());
    assert_eq!(only_file(dir.path()), path);

    let events = read_events(&path).unwrap();
    assert_eq!(events.len(), 1 + 10 + 1);
    assert_eq!(events[0].file_version(), Some("brain.Event:2"));
    assert!(events.iter().all(|e| e.wall_time > 1.6e9));
    let losses: Vec<(i64, f32)> = events
        .iter()
        .filter_map(|e| e.scalar("train/loss").map(|v| (e.step, v)))
        .collect();
    let expected: Vec<(i64, f32)> = (0..5).map(|s| (s * 100, 1.0 / (s + 1) as f32)).collect();
    assert_eq!(losses, expected);
    // A zero scalar is present (the oneof keeps it), not silently dropped.
    let b: Vec<f32> = events.iter().filter_map(|e| e.scalar("b")).collect();
    assert_eq!(b.len(), 5);
    let a3 = events
        .iter()
        .find(|e| e.step == 300 && e.scalar("a").is_some());
    assert_eq!(a3.and_then(|e| e.scalar("a")), Some(3.0));

    let last = events.last().unwrap();
    assert_eq!(last.step, 400);
    let h = last.histogram("weights/fc1").unwrap();
    assert_eq!(h, &histogram_of(&weights));
    assert_eq!((h.num, h.min, h.max), (1000.0, -5.0, f64::from(4.99f32)));
    assert_eq!(h.bucket.iter().sum::<f64>(), 1000.0);
}

#[test]
fn flipped_byte_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = EventWriter::create(dir.path()).unwrap();
    w.add_scalar("x", 1.5, 1).unwrap();
    let path = w.path().to_owned();
    w.close().unwrap();
    let good = std::fs::read(&path).unwrap();
    let first_len = 16 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    // Flip a bit in the second record's payload (its last byte before the data CRC).
    let mut bad = good.clone();
    bad[good.len() - 5] ^= 0x40;
    std::fs::write(&path, &bad).unwrap();
    match read_events(&path) {
        Err(LogError::Corrupt { offset, what, .. }) => {
            assert_eq!(offset, first_len as u64);
            assert_eq!(what, "data checksum mismatch");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // Cutting the file mid-record reports where the intact prefix ends.
    std::fs::write(&path, &good[..good.len() - 3]).unwrap();
    match read_events(&path) {
        Err(LogError::Truncated { offset, .. }) => assert_eq!(offset, first_len as u64),
        other => panic!("expected Truncated, got {other:?}"),
    }
    let msg = read_events(&path).unwrap_err().to_string();
    assert!(
        msg.contains(&*path.to_string_lossy()) && !msg.contains('\n'),
        "{msg}"
    );
}

#[test]
fn drop_flushes_buffered_events() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut w = EventWriter::create(dir.path()).unwrap();
        for step in 0..100 {
            w.add_scalar("x", step as f64, step).unwrap();
        }
    }
    let events = read_events(&only_file(dir.path())).unwrap();
    assert_eq!(events.len(), 101);
    assert_eq!(events[100].scalar("x"), Some(99.0));
}

#[test]
fn writers_never_share_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = EventWriter::create(dir.path()).unwrap();
    let b = EventWriter::create(dir.path()).unwrap();
    assert_ne!(a.path(), b.path());
    assert_eq!(event_files(dir.path()).unwrap().len(), 2);
}

#[test]
fn restart_marker_is_a_session_start_at_its_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = EventWriter::create(dir.path()).unwrap();
    w.mark_restart(5000).unwrap();
    let path = w.path().to_owned();
    drop(w);
    let events = read_events(&path).unwrap();
    assert_eq!(events[1].step, 5000);
    assert_eq!(events[1].session_status(), Some(SessionStatus::Start));
    assert!(matches!(events[1].what, Some(What::SessionLog(_))));
}

#[test]
fn unwritable_location_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"").unwrap();
    let err = EventWriter::create(&file.join("run"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("cannot create directory") && err.contains("plain-file/run"),
        "{err}"
    );
}

#[test]
fn truncate_after_keeps_the_prefix_up_to_a_step_and_drops_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = sparq_log::EventWriter::create(dir.path()).unwrap();
    for step in [10, 20, 30, 40] {
        w.add_scalar("a", step as f64, step).unwrap();
    }
    let path = w.path().to_path_buf();
    w.close().unwrap();
    // A torn record at the end, as a SIGKILL mid-write leaves it.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&[9, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(sparq_log::truncate_after(&path, 20).unwrap(), 2);
    let steps: Vec<i64> = sparq_log::read_events(&path)
        .unwrap()
        .iter()
        .filter(|e| e.scalar("a").is_some())
        .map(|e| e.step)
        .collect();
    assert_eq!(steps, [10, 20]);
    // Idempotent, and cutting before every scalar keeps the header.
    assert_eq!(sparq_log::truncate_after(&path, 20).unwrap(), 0);
    assert_eq!(sparq_log::truncate_after(&path, 0).unwrap(), 2);
    let events = sparq_log::read_events(&path).unwrap();
    assert_eq!(events.len(), 1);
    assert!(events[0].file_version().is_some());
}
