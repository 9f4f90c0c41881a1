use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sparq_checkpoint::{CheckpointError, list, load, resolve, save};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Meta {
    env_steps: u64,
    label: String,
}

fn sample(dir: &Path, name: &str, steps: u64) -> std::path::PathBuf {
    let meta = Meta {
        env_steps: steps,
        label: "x".into(),
    };
    let tensors = vec![
        ("params".to_string(), vec![1.0, -2.5, 3.25]),
        ("mask".to_string(), vec![1.0, 0.0, 1.0]),
    ];
    save(
        dir,
        name,
        &meta,
        &tensors,
        &[("replay.bin", b"replay-bytes")],
        0,
    )
    .unwrap()
}

#[test]
fn round_trip_and_latest() {
    let tmp = tempfile::tempdir().unwrap();
    let cps = tmp.path().join("checkpoints");
    sample(&cps, "step_0000000100", 100);
    let p2 = sample(&cps, "step_0000000200", 200);
    // A run dir, the checkpoints dir and the checkpoint itself all resolve to the newest.
    for p in [tmp.path(), cps.as_path(), p2.as_path()] {
        assert_eq!(resolve(p).unwrap(), p2);
    }
    let loaded = load::<Meta>(tmp.path()).unwrap();
    assert_eq!(
        loaded.meta,
        Meta {
            env_steps: 200,
            label: "x".into()
        }
    );
    assert_eq!(loaded.tensor("params").unwrap(), &[1.0, -2.5, 3.25]);
    assert_eq!(loaded.tensor("mask").unwrap(), &[1.0, 0.0, 1.0]);
    assert_eq!(loaded.blobs["replay.bin"], b"replay-bytes");
    assert_eq!(list(&cps).unwrap().len(), 2);
}

#[test]
fn keeps_only_newest() {
    let tmp = tempfile::tempdir().unwrap();
    let aside = sparq_checkpoint::save_aside(
        tmp.path(),
        "best",
        &Meta {
            env_steps: 0,
            label: String::new(),
        },
        &[],
        &[],
    )
    .unwrap();
    for s in 1..=5u64 {
        let meta = Meta {
            env_steps: s,
            label: String::new(),
        };
        save(
            tmp.path(),
            &format!("step_{s:010}"),
            &meta,
            &[("p".into(), vec![s as f32])],
            &[],
            2,
        )
        .unwrap();
    }
    let names: Vec<_> = list(tmp.path())
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["best", "step_0000000004", "step_0000000005"],
        "rotation leaves checkpoints kept aside alone"
    );
    assert_eq!(
        resolve(tmp.path()).unwrap(),
        tmp.path().join("step_0000000005"),
        "save_aside does not move latest"
    );
    assert_eq!(load::<Meta>(&aside).unwrap().meta.env_steps, 0);
}

#[test]
fn every_flipped_byte_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let cp = sample(tmp.path(), "step_0000000001", 1);
    for entry in fs::read_dir(&cp).unwrap() {
        let file = entry.unwrap().path();
        let original = fs::read(&file).unwrap();
        for i in 0..original.len() {
            let mut bytes = original.clone();
            bytes[i] ^= 0x01;
            fs::write(&file, &bytes).unwrap();
            let err =
                load::<Meta>(&cp).expect_err(&format!("flip at {}:{i} not caught", file.display()));
            assert!(matches!(err, CheckpointError::Corrupted { .. }), "{err}");
        }
        fs::write(&file, &original).unwrap();
    }
    assert!(load::<Meta>(&cp).is_ok());
}

#[test]
fn truncation_and_missing_files_are_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let cp = sample(tmp.path(), "a", 1);
    let t = cp.join("tensors.safetensors");
    let bytes = fs::read(&t).unwrap();
    fs::write(&t, &bytes[..bytes.len() - 4]).unwrap();
    let msg = load::<Meta>(&cp).unwrap_err().to_string();
    assert!(
        msg.contains("truncated") && msg.contains("tensors.safetensors"),
        "{msg}"
    );
    fs::remove_file(&t).unwrap();
    assert!(load::<Meta>(&cp).is_err());
}

#[test]
fn not_a_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let err = load::<Meta>(tmp.path()).unwrap_err();
    assert!(matches!(err, CheckpointError::NotACheckpoint(_)), "{err}");
    let f = tmp.path().join("weights.bin");
    fs::write(&f, b"hello").unwrap();
    assert!(matches!(
        load::<Meta>(&f).unwrap_err(),
        CheckpointError::NotACheckpoint(_)
    ));
    assert!(
        load::<Meta>(&tmp.path().join("missing"))
            .unwrap_err()
            .to_string()
            .to_lowercase()
            .contains("no such file")
    );
}

#[test]
fn an_interrupted_save_leaves_the_previous_checkpoint_in_charge() {
    let tmp = tempfile::tempdir().unwrap();
    let good = sample(tmp.path(), "step_0000000001", 1);
    // A crash mid-save leaves only a hidden temporary directory behind.
    let partial = tmp.path().join(".tmp-step_0000000002-999");
    fs::create_dir(&partial).unwrap();
    fs::write(partial.join("meta.json"), b"{").unwrap();
    assert_eq!(resolve(tmp.path()).unwrap(), good);
    assert_eq!(list(tmp.path()).unwrap(), vec![good.clone()]);
    assert_eq!(sparq_checkpoint::remove_partial(tmp.path()).unwrap(), 1);
    assert!(!partial.exists() && good.exists());
}

#[test]
fn a_blob_ending_in_its_own_crc_cannot_be_swapped_for_another_of_the_same_size() {
    // The replay snapshot ends in its own CRC32C; CRCs are linear, so a CRC over such a blob
    // depends on its length alone. The manifest must still tell two of them apart.
    let blob = |data: &[u8]| {
        let mut v = data.to_vec();
        v.extend_from_slice(&crc32c::crc32c(data).to_le_bytes());
        v
    };
    let tmp = tempfile::tempdir().unwrap();
    let meta = Meta {
        env_steps: 1,
        label: String::new(),
    };
    let cp = save(
        tmp.path(),
        "a",
        &meta,
        &[],
        &[("replay.bin", &blob(b"original"))],
        0,
    )
    .unwrap();
    std::fs::write(cp.join("replay.bin"), blob(b"tampered")).unwrap();
    let err = load::<Meta>(&cp).unwrap_err();
    assert!(matches!(err, CheckpointError::Corrupted { .. }), "{err}");
}

#[test]
fn another_format_version_is_named_not_called_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    let p = sample(tmp.path(), "step_0000000100", 100);
    let manifest = p.join("MANIFEST");
    let text = fs::read_to_string(&manifest).unwrap();
    let header = format!("sparq-checkpoint {}\n", sparq_checkpoint::FORMAT);
    assert!(text.starts_with(&header), "{text}");
    // An older sparq's MANIFEST: its own version, sealed as that version sealed it.
    let body = text[..text.rfind("seal ").unwrap()].replacen(&header, "sparq-checkpoint 1\n", 1);
    fs::write(
        &manifest,
        format!("{body}seal {:08x}\n", crc32c::crc32c(body.as_bytes())),
    )
    .unwrap();
    let err = load::<Meta>(&p).unwrap_err();
    assert!(
        matches!(err, CheckpointError::Unsupported { ref found, .. } if found == "1"),
        "{err:?}"
    );
    assert!(
        err.to_string().ends_with(
            "checkpoint format 1 was written by another sparq version; this one reads format 3"
        ),
        "{err}"
    );
}
