//! Fuzz-style properties of the checkpoint reader (the long-running fuzzer is `scripts/dev/fuzz`):
//! every change to a checkpoint file is caught, and arbitrary bytes in any file never panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use sparq_checkpoint::{Loaded, Manifest, load, save};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Meta {
    env_id: String,
    env_steps: u64,
    stats: (f32, f32, u64),
    layers: Vec<(String, Vec<usize>)>,
}

const NAME: &str = "step_0000001000";
const FILES: [&str; 5] = [
    "meta.json",
    "tensors.safetensors",
    "envs.json",
    "replay.bin",
    "MANIFEST",
];

/// A checkpoint shaped like the trainer's, saved once per test thread (saving fsyncs, which is
/// slow); each case starts from [`Fixture::reset`].
struct Fixture {
    tmp: tempfile::TempDir,
    dir: PathBuf,
    /// Every file of the run directory with its saved bytes.
    originals: Vec<(PathBuf, Vec<u8>)>,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let meta = Meta {
            env_id: "CartPole-v1".into(),
            env_steps: 1000,
            stats: (0.5, -1.25, 7),
            layers: vec![("fc0".into(), vec![8, 4]), ("out".into(), vec![2, 8])],
        };
        let tensors = vec![
            (
                "fc0.weight".to_string(),
                (0..32).map(|i| i as f32 * 0.25 - 3.0).collect(),
            ),
            (
                "out.weight".to_string(),
                (0..16).map(|i| (i as f32).sin()).collect(),
            ),
        ];
        let replay: Vec<u8> = (0..300u32).map(|i| (i * 7 % 251) as u8).collect();
        let blobs: [(&str, &[u8]); 2] = [
            ("envs.json", br#"{"id":"CartPole-v1","envs":[[1,2,3]]}"#),
            ("replay.bin", &replay),
        ];
        let dir = save(
            &tmp.path().join("checkpoints"),
            NAME,
            &meta,
            &tensors,
            &blobs,
            0,
        )
        .unwrap();
        let mut originals: Vec<(PathBuf, Vec<u8>)> = FILES
            .iter()
            .map(|f| (dir.join(f), std::fs::read(dir.join(f)).unwrap()))
            .collect();
        let latest = tmp.path().join("checkpoints/latest");
        originals.push((latest.clone(), std::fs::read(&latest).unwrap()));
        Fixture {
            tmp,
            dir,
            originals,
        }
    }

    /// Puts back every file a previous case changed.
    fn reset(&self) {
        for (path, bytes) in &self.originals {
            if std::fs::read(path).ok().as_ref() != Some(bytes) {
                // Remove, then create: rewriting in place would make ext4 flush on close.
                let _ = std::fs::remove_file(path);
                std::fs::write(path, bytes).unwrap();
            }
        }
    }

    fn root(&self) -> &Path {
        self.tmp.path()
    }
}

thread_local! {
    static FIXTURE: Fixture = Fixture::new();
}

/// Runs `f` on this thread's fixture, reset to the saved checkpoint.
fn with_fixture<T>(f: impl FnOnce(&Fixture) -> T) -> T {
    FIXTURE.with(|fx| {
        fx.reset();
        f(fx)
    })
}

#[derive(Debug, PartialEq)]
struct Content {
    meta: Meta,
    tensors: Vec<(String, Vec<u32>)>,
    blobs: BTreeMap<String, Vec<u8>>,
}

fn content(cp: Loaded<Meta>) -> Content {
    Content {
        meta: cp.meta,
        tensors: cp
            .tensors
            .into_iter()
            .map(|(n, v)| (n, v.into_iter().map(f32::to_bits).collect()))
            .collect(),
        blobs: cp.blobs,
    }
}

/// One byte-level change.
#[derive(Debug, Clone)]
enum Edit {
    Flip { at: usize, bit: u8 },
    Set { at: usize, value: u8 },
    Truncate { keep: usize },
    Append(Vec<u8>),
    Delete { at: usize, len: usize },
    Insert { at: usize, bytes: Vec<u8> },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Edit::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Edit::Set { at, value }),
        any::<usize>().prop_map(|keep| Edit::Truncate { keep }),
        prop::collection::vec(any::<u8>(), 1..16).prop_map(Edit::Append),
        (any::<usize>(), 1usize..32).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Edit::Insert { at, bytes }),
    ]
}

fn apply(bytes: &mut Vec<u8>, e: &Edit) {
    let n = bytes.len();
    match e {
        Edit::Flip { at, bit } if n > 0 => bytes[at % n] ^= 1 << bit,
        Edit::Set { at, value } if n > 0 => bytes[at % n] = *value,
        Edit::Truncate { keep } => bytes.truncate(keep % (n + 1)),
        Edit::Append(extra) => bytes.extend_from_slice(extra),
        Edit::Delete { at, len } if n > 0 => {
            let at = at % n;
            bytes.drain(at..(at + len).min(n));
        }
        Edit::Insert { at, bytes: b } => {
            let at = at % (n + 1);
            bytes.splice(at..at, b.iter().copied());
        }
        _ => {}
    }
}

fn rewrite(dir: &Path, file: &str, edits: &[Edit]) -> (Vec<u8>, Vec<u8>) {
    let path = dir.join(file);
    let original = std::fs::read(&path).unwrap();
    let mut bytes = original.clone();
    for e in edits {
        apply(&mut bytes, e);
    }
    write(&path, &bytes);
    (original, bytes)
}

fn write(path: &Path, bytes: &[u8]) {
    let _ = std::fs::remove_file(path);
    std::fs::write(path, bytes).unwrap();
}

/// A MANIFEST that matches the files as they are now (so parsing reaches the files' contents).
fn reseal(dir: &Path) {
    let mut m = Manifest::default();
    for file in &FILES[..4] {
        m.add(file, &std::fs::read(dir.join(file)).unwrap());
    }
    write(&dir.join("MANIFEST"), m.render().as_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any change to meta, tensors or a blob is detected: the load fails.
    #[test]
    fn changed_data_file_never_loads(file in 0usize..4, edits in prop::collection::vec(edit(), 1..4)) {
        with_fixture(|fx| {
            let (original, now) = rewrite(&fx.dir, FILES[file], &edits);
            let result = load::<Meta>(fx.root());
            if now == original {
                prop_assert!(result.is_ok());
            } else {
                prop_assert!(result.is_err(), "{} changed by {:?} and still loads", FILES[file], edits);
            }
            Ok(())
        })?;
    }

    /// A changed MANIFEST either fails to load or (when only the spelling of its seal changed)
    /// loads exactly the original content: never anything else.
    #[test]
    fn changed_manifest_never_loads_other_content(edits in prop::collection::vec(edit(), 1..4)) {
        with_fixture(|fx| {
            let before = content(load::<Meta>(fx.root()).unwrap());
            let (original, now) = rewrite(&fx.dir, "MANIFEST", &edits);
            if let Ok(cp) = load::<Meta>(fx.root()) {
                prop_assert_eq!(content(cp), before);
                prop_assert_eq!(Manifest::parse(&now), Manifest::parse(&original));
            }
            Ok(())
        })?;
    }

    /// Arbitrary bytes in place of any file, with the MANIFEST resealed to match, so the JSON and
    /// safetensors parsers behind the checksums see them: an error, never a panic.
    #[test]
    fn arbitrary_file_behind_a_valid_manifest_never_panics(file in 0usize..4, bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        with_fixture(|fx| {
            write(&fx.dir.join(FILES[file]), &bytes);
            reseal(&fx.dir);
            let _ = load::<Meta>(fx.root());
        });
    }

    /// Mutated meta JSON and safetensors header behind a valid MANIFEST: no panic.
    #[test]
    fn mutated_parsed_file_never_panics(file in 0usize..2, edits in prop::collection::vec(edit(), 1..6)) {
        with_fixture(|fx| {
            rewrite(&fx.dir, FILES[file], &edits);
            reseal(&fx.dir);
            let _ = load::<Meta>(fx.root());
        });
    }

    #[test]
    fn manifest_parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Manifest::parse(&bytes);
    }

    /// `checkpoints/latest` naming anything: an error or the real checkpoint, never a panic.
    #[test]
    fn any_latest_pointer_is_safe(text in "[ -~\n]{0,40}") {
        with_fixture(|fx| {
            write(&fx.root().join("checkpoints/latest"), text.as_bytes());
            if let Ok(cp) = load::<Meta>(fx.root()) {
                prop_assert_eq!(cp.path.file_name().and_then(|n| n.to_str()), Some(NAME));
            }
            Ok(())
        })?;
    }
}
