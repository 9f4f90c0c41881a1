//! `checkpoint`: `sparq_checkpoint::load` on a mutated run directory (`checkpoints/latest`,
//! `MANIFEST`, `meta.json`, `tensors.safetensors`, `envs.json`, `replay.bin`), then the rest of a
//! resume on what it accepted: the stored config, the pruner, the env and replay blobs.
//!
//! Input (an "image"): magic, seed index, reseal mode, then `(u16 name len, name, u32 len, data)`
//! per file, names relative to the run directory. Reseal modes: 0 none (the oracle: a load that
//! succeeds must give exactly the seed's content, and no checkpoint file may differ); 1 rebuild
//! the MANIFEST from the files; 2 recompute only its seal line (keeps mutated entry lines).
//!
//! A file whose data is [`SPECIAL`] + a kind is made as that kind instead of a regular file: a
//! FIFO, a device, or a symlink (to `/dev/zero`, out of the run, into a loop, to a sibling). The
//! oracle: a checkpoint that reads one (other than a symlink to a sibling) must not load, and
//! the load must answer within a second rather than hang on the FIFO or read `/dev/zero` forever.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::RngExt;
use sparq_checkpoint::{Loaded, Manifest};

use crate::engine::{Outcome, Target};
use crate::mutate::Mutator;
use crate::seeds::{CheckpointSeed, FuzzMeta};
use crate::structured::mutate_json;

const MAGIC: &[u8; 8] = b"SPQCKIM1";

/// Marks a file's data as a special entry; the kind follows (see [`SPECIAL_KINDS`]).
const SPECIAL: &[u8] = b"\0sparq-fuzz-special:";
/// What a special entry can be.
const SPECIAL_KINDS: [&str; 7] = [
    "fifo",
    "device",
    "link:/dev/zero",
    "link:/dev/null",
    "link:outside",
    "link:loop",
    "link:sibling",
];

/// The kind of a special entry's data, if it is one.
fn special(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data.strip_prefix(SPECIAL)?).ok()
}

/// Creates the special entry `kind` at `path` (nothing there yet); `outside` is a regular file
/// outside the run directory.
fn make_special(path: &Path, kind: &str, outside: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::symlink;
    let c_path = || {
        std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).map_err(std::io::Error::other)
    };
    let made = |rc: i32| {
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    match kind {
        // SAFETY: a valid NUL-terminated path.
        "fifo" => made(unsafe { libc::mkfifo(c_path()?.as_ptr(), 0o600) }),
        // /dev/null's numbers; without CAP_MKNOD a symlink to it stands in.
        "device" => {
            // SAFETY: a valid NUL-terminated path.
            let rc = unsafe {
                libc::mknod(
                    c_path()?.as_ptr(),
                    libc::S_IFCHR | 0o600,
                    libc::makedev(1, 3),
                )
            };
            made(rc).or_else(|_| symlink("/dev/null", path))
        }
        "link:outside" => symlink(outside, path),
        "link:loop" => symlink(path.file_name().unwrap_or_default(), path),
        "link:sibling" => symlink("meta.json", path),
        other => symlink(other.strip_prefix("link:").unwrap_or("/dev/null"), path),
    }
}

pub struct Image {
    pub seed: u8,
    pub reseal: u8,
    pub files: Vec<(String, Vec<u8>)>,
}

impl Image {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend([self.seed, self.reseal]);
        for (name, data) in &self.files {
            out.extend((name.len() as u16).to_le_bytes());
            out.extend(name.as_bytes());
            out.extend((data.len() as u32).to_le_bytes());
            out.extend(data);
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Image> {
        let rest = bytes.strip_prefix(MAGIC)?;
        let (&seed, rest) = rest.split_first()?;
        let (&reseal, mut rest) = rest.split_first()?;
        let mut files = Vec::new();
        while !rest.is_empty() {
            let n = u16::from_le_bytes(rest.get(..2)?.try_into().ok()?) as usize;
            let name = std::str::from_utf8(rest.get(2..2 + n)?).ok()?.to_string();
            rest = &rest[2 + n..];
            let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
            files.push((name, rest.get(4..4 + len)?.to_vec()));
            rest = &rest[4 + len..];
        }
        Some(Image {
            seed,
            reseal,
            files,
        })
    }

    /// The checkpoint directory's prefix (`checkpoints/<name>/`), from the first MANIFEST.
    fn checkpoint_prefix(&self) -> Option<String> {
        self.files
            .iter()
            .find_map(|(n, _)| n.strip_suffix("MANIFEST").map(str::to_string))
    }
}

/// `MANIFEST` text with a correct seal over whatever body it has.
fn reseal_text(text: &[u8]) -> Vec<u8> {
    let body_end = text
        .strip_suffix(b"\n")
        .unwrap_or(text)
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let body = &text[..body_end];
    let mut out = body.to_vec();
    out.extend(format!("seal {:08x}\n", crc32c::crc32c(body)).as_bytes());
    out
}

/// Applies the image's reseal mode.
fn resealed(img: &Image) -> Vec<(String, Vec<u8>)> {
    let mut files = img.files.clone();
    let Some(prefix) = img.checkpoint_prefix() else {
        return files;
    };
    let manifest_name = format!("{prefix}MANIFEST");
    match img.reseal {
        1 => {
            let mut manifest = Manifest::default();
            for (name, data) in &files {
                if let Some(file) = name.strip_prefix(&prefix)
                    && file != "MANIFEST"
                    && !file.contains('/')
                {
                    manifest.add(file, data);
                }
            }
            let text = manifest.render().into_bytes();
            files
                .iter_mut()
                .filter(|(n, _)| *n == manifest_name)
                .for_each(|(_, d)| *d = text.clone());
        }
        2 => files
            .iter_mut()
            .filter(|(n, _)| *n == manifest_name)
            .for_each(|(_, d)| *d = reseal_text(d)),
        _ => {}
    }
    files
}

/// What a load gave, comparable across loads.
#[derive(PartialEq, Debug)]
struct Content {
    meta: serde_json::Value,
    tensors: Vec<(String, Vec<u32>)>,
    blobs: BTreeMap<String, Vec<u8>>,
}

fn content(cp: &Loaded<FuzzMeta>) -> Content {
    Content {
        meta: serde_json::to_value(&cp.meta).unwrap_or(serde_json::Value::Null),
        tensors: cp
            .tensors
            .iter()
            .map(|(n, v)| (n.clone(), v.iter().map(|x| x.to_bits()).collect()))
            .collect(),
        blobs: cp.blobs.clone(),
    }
}

pub struct CheckpointTarget {
    seeds: Vec<CheckpointSeed>,
    pristine: Vec<Content>,
    dir: tempfile::TempDir,
    /// Files now on disk under `dir` (so an exec rewrites only what changed).
    on_disk: BTreeMap<String, Vec<u8>>,
    envs: BTreeMap<String, sparq_envs::VecEnv>,
}

impl CheckpointTarget {
    pub fn new() -> std::io::Result<Self> {
        let seeds = crate::seeds::checkpoints()?;
        let mut t = CheckpointTarget {
            seeds: Vec::new(),
            pristine: Vec::new(),
            dir: crate::engine::scratch_dir()?,
            on_disk: BTreeMap::new(),
            envs: BTreeMap::new(),
        };
        for seed in &seeds {
            t.sync(&seed.files)?;
            let cp =
                sparq_checkpoint::load::<FuzzMeta>(&t.root()).map_err(std::io::Error::other)?;
            t.pristine.push(content(&cp));
        }
        t.seeds = seeds;
        Ok(t)
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// Makes the run directory hold exactly `files`.
    fn sync(&mut self, files: &[(String, Vec<u8>)]) -> std::io::Result<()> {
        let root = self.root();
        let wanted: BTreeMap<&str, &[u8]> = files
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        let stale: Vec<String> = self
            .on_disk
            .keys()
            .filter(|k| !wanted.contains_key(k.as_str()))
            .cloned()
            .collect();
        for name in stale {
            let _ = std::fs::remove_file(root.join(&name));
            self.on_disk.remove(&name);
        }
        for (name, data) in wanted {
            if self.on_disk.get(name).is_some_and(|d| d == data) {
                continue;
            }
            let path = root.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            // Writing through what was a special entry would block on a FIFO or write to a
            // device: it goes first.
            if self
                .on_disk
                .remove(name)
                .is_some_and(|d| special(&d).is_some())
            {
                std::fs::remove_file(&path)?;
            }
            match special(data) {
                Some(kind) => {
                    let _ = std::fs::remove_file(&path);
                    make_special(&path, kind, &self.outside())?;
                }
                None => std::fs::write(&path, data)?,
            }
            self.on_disk.insert(name.to_string(), data.to_vec());
        }
        Ok(())
    }

    /// A regular file outside the run directory, for symlinks that leave it.
    fn outside(&self) -> PathBuf {
        let p = self.dir.path().join("outside.bin");
        if !p.exists() {
            let _ = std::fs::write(&p, b"outside the run directory");
        }
        p
    }

    /// The resume steps after a successful load (libtorch-free ones).
    fn resume(&mut self, cp: &Loaded<FuzzMeta>) -> Option<(String, String)> {
        if let Ok(c) = sparq_config::Config::from_toml_str(&cp.meta.config, "meta.json config", &[])
        {
            let _ = c.check();
        }
        if let Some(p) = &cp.meta.pruner
            && let Some(v) = crate::resume::pruner(p)
        {
            return Some(v);
        }
        if let Some(blob) = cp.blobs.get("envs.json")
            && sparq_envs::registered_ids().contains(&cp.meta.env_id)
        {
            let env = self
                .envs
                .entry(cp.meta.env_id.clone())
                .or_insert_with(|| crate::seeds::vec_env(&cp.meta.env_id));
            if env.restore(blob).is_ok()
                && let Err(v) = crate::resume::vec_env(env, 20)
            {
                return Some(v);
            }
        }
        if let Some(blob) = cp.blobs.get("replay.bin") {
            let mut reader = blob.as_slice();
            if let Ok(mut buf) = sparq_replay::ReplayBuffer::read_from(&mut reader) {
                let consumed = &blob[..blob.len() - reader.len()];
                return crate::resume::replay(&mut buf, consumed);
            }
        }
        None
    }
}

/// A replacement for a MANIFEST entry line's name, size or CRC.
fn manifest_edit(m: &mut Mutator, line: &str) -> String {
    let parts: Vec<&str> = line.splitn(3, ' ').collect();
    let [crc, size, name] = parts[..] else {
        return line.to_string();
    };
    let names = [
        "..",
        ".",
        "MANIFEST",
        "meta.json",
        "tensors.safetensors",
        "envs.json",
        "replay.bin",
        "",
        " ",
        "latest",
        "missing",
        "a b",
        "\u{1F600}",
        "x\u{0}y",
        "\\",
        "-",
    ];
    let sizes = [
        "0",
        "1",
        "18446744073709551615",
        "18446744073709551616",
        "-1",
        "+5",
        "",
        "4294967296",
        "00",
        " 1",
    ];
    let crcs = [
        "00000000",
        "ffffffff",
        "+0000000",
        "FFFFFFFF",
        "0",
        "",
        "100000000",
        "-1",
    ];
    match m.below(4) {
        0 => format!("{crc} {size} {}", names[m.below(names.len())]),
        1 => format!("{crc} {} {name}", sizes[m.below(sizes.len())]),
        2 => format!("{} {size} {name}", crcs[m.below(crcs.len())]),
        _ => format!(
            "{crc} {} {name}",
            size.parse::<u64>()
                .map_or(0, |s| s.wrapping_add(m.rng.random_range(1..3)))
        ),
    }
}

impl Target for CheckpointTarget {
    fn name(&self) -> &'static str {
        "checkpoint"
    }

    fn seeds(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for (i, s) in self.seeds.iter().enumerate() {
            for reseal in [0, 1] {
                out.push(
                    Image {
                        seed: i as u8,
                        reseal,
                        files: s.files.clone(),
                    }
                    .encode(),
                );
            }
        }
        out
    }

    fn dictionary(&self) -> Vec<Vec<u8>> {
        [
            "sparq-checkpoint 1\n",
            "seal ",
            "\n",
            " ",
            "{",
            "}",
            "[",
            "]",
            "\"",
            ":",
            ",",
            "null",
            "1e999",
            "-1",
            "18446744073709551615",
            "F32",
            "F64",
            "\"dtype\"",
            "\"shape\"",
            "\"data_offsets\"",
            "__metadata__",
            "\0sparq-fuzz-special:fifo",
            "\0sparq-fuzz-special:link:/dev/zero",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect()
    }

    fn mutate(&mut self, m: &mut Mutator, input: &[u8], other: &[u8]) -> Vec<u8> {
        let Some(mut img) = Image::decode(input) else {
            return input.to_vec();
        };
        if m.chance(0.15) {
            img.reseal = [0, 0, 1, 1, 2][m.below(5)];
        }
        if img.files.is_empty() {
            return img.encode();
        }
        let i = m.below(img.files.len());
        let roll = m.below(100);
        let (name, data) = &mut img.files[i];
        if m.chance(0.04) {
            let kind = SPECIAL_KINDS[m.below(SPECIAL_KINDS.len())];
            *data = [SPECIAL, kind.as_bytes()].concat();
        } else if roll < 4 {
            img.files.remove(i);
        } else if roll < 7 {
            let copy = (format!("{name}.copy"), data.clone());
            img.files.push(copy);
        } else if roll < 10 {
            let j = m.below(img.files.len());
            let d = img.files[j].1.clone();
            img.files[i].1 = d;
        } else if roll < 15 && name.ends_with("latest") {
            let names = [
                "",
                "..",
                ".",
                "/",
                "step_0000001200/",
                "MANIFEST",
                "checkpoints",
                "step_0000001201",
                "\n",
                "step_0000001200\n\n",
            ];
            *data = names[m.below(names.len())].as_bytes().to_vec();
        } else if roll < 30 && name.ends_with("MANIFEST") {
            let text = String::from_utf8_lossy(data).into_owned();
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            if lines.len() > 2 {
                let k = 1 + m.below(lines.len() - 2);
                match m.below(4) {
                    0 => lines.remove(k).len(),
                    1 => {
                        let l = lines[k].clone();
                        lines.insert(k, l);
                        0
                    }
                    _ => {
                        lines[k] = manifest_edit(m, &lines[k]);
                        0
                    }
                };
            }
            *data = (lines.join("\n") + "\n").into_bytes();
            img.reseal = 2;
        } else if roll < 55 && (name.ends_with(".json")) {
            if let Some(out) = mutate_json(m, data) {
                *data = out;
            }
        } else if roll < 65 && name.ends_with("replay.bin") && special(data).is_none() {
            let mut r = [&[1u8][..], data].concat();
            r = crate::targets::replay::ReplayTarget.mutate(m, &r, &[]);
            let mut snap = r[1..].to_vec();
            if r[0] & 1 == 1 {
                crate::targets::replay::fix_crc(&mut snap);
            }
            *data = snap;
        } else {
            let splice = Image::decode(other)
                .and_then(|o| o.files.into_iter().find(|(n, _)| n == name))
                .map(|(_, d)| d)
                .unwrap_or_default();
            m.mutate_bytes(data, &splice);
        }
        img.encode()
    }

    fn exec(&mut self, input: &[u8]) -> Outcome {
        let Some(img) = Image::decode(input) else {
            return Outcome::Rejected("not a checkpoint image".into());
        };
        if img.files.iter().any(|(n, _)| {
            n.is_empty()
                || n.starts_with('/')
                || n.split('/').any(|s| s == ".." || s == "." || s.is_empty())
        }) {
            return Outcome::Rejected("image names a file outside the run directory".into());
        }
        let files = resealed(&img);
        if let Err(e) = self.sync(&files) {
            // A name the file system refuses (e.g. a file where a directory must be).
            self.on_disk.clear();
            let _ = std::fs::remove_dir_all(self.root());
            return Outcome::Rejected(format!("harness: {e}"));
        }
        let started = std::time::Instant::now();
        let loaded = sparq_checkpoint::load::<FuzzMeta>(&self.root());
        let has_special = files.iter().any(|(_, d)| special(d).is_some());
        if has_special && started.elapsed() > std::time::Duration::from_secs(1) {
            return Outcome::Violation {
                key: "slow load of a checkpoint with a FIFO, device or symlink".into(),
                detail: format!("{:?}", started.elapsed()),
            };
        }
        let cp = match loaded {
            Err(e) => return Outcome::Rejected(e.to_string()),
            Ok(cp) => cp,
        };
        if let Some(v) = special_read(&files, &cp, &self.root()) {
            return Outcome::Violation {
                key: "checkpoint loaded through a FIFO, device or escaping symlink".into(),
                detail: v,
            };
        }
        let seed = usize::from(img.seed) % self.seeds.len();
        if img.reseal == 0 {
            let (got, want) = (content(&cp), &self.pristine[seed]);
            if &got != want {
                let what = if got.meta != want.meta {
                    format!("meta.json: {} vs {}", got.meta, want.meta)
                } else if got.tensors != want.tensors {
                    "tensors".to_string()
                } else {
                    let diff = got
                        .blobs
                        .iter()
                        .find(|(k, v)| want.blobs.get(*k) != Some(v))
                        .map(|(k, v)| {
                            let w = &want.blobs[k];
                            let at = v
                                .iter()
                                .zip(w)
                                .position(|(a, b)| a != b)
                                .unwrap_or(v.len().min(w.len()));
                            format!(
                                "{k} differs at byte {at} ({} vs {} bytes)",
                                v.len(),
                                w.len()
                            )
                        });
                    format!("blobs: {diff:?}")
                };
                return Outcome::Violation {
                    key: "damaged checkpoint loaded with different content".into(),
                    detail: format!("seed {seed}: {what}"),
                };
            }
            if let Some(v) = changed_file(&self.seeds[seed].files, &files, &cp.path, &self.root()) {
                return Outcome::Violation {
                    key: "changed checkpoint file accepted".into(),
                    detail: v,
                };
            }
        }
        if let Some((key, detail)) = self.resume(&cp) {
            return Outcome::Violation { key, detail };
        }
        Outcome::Accepted(format!("reseal={} blobs={}", img.reseal, cp.blobs.len()))
    }

    fn reset_after_panic(&mut self) {
        self.envs.clear();
    }
}

/// A special entry (other than a symlink to a sibling) among the files the load read: its
/// MANIFEST, meta.json, tensors and blobs.
fn special_read(files: &[(String, Vec<u8>)], cp: &Loaded<FuzzMeta>, root: &Path) -> Option<String> {
    let prefix = cp.path.strip_prefix(root).ok()?.to_str()?.to_string() + "/";
    let read: Vec<&str> = ["MANIFEST", "meta.json", "tensors.safetensors"]
        .into_iter()
        .chain(cp.blobs.keys().map(String::as_str))
        .collect();
    files.iter().find_map(|(n, d)| {
        let kind = special(d).filter(|k| *k != "link:sibling")?;
        let file = n.strip_prefix(&prefix)?;
        read.contains(&file).then(|| format!("{n} is {kind}"))
    })
}

/// A file of the loaded checkpoint directory whose bytes differ from the seed's, if any.
fn changed_file(
    seed: &[(String, Vec<u8>)],
    now: &[(String, Vec<u8>)],
    cp: &Path,
    root: &Path,
) -> Option<String> {
    let prefix = cp.strip_prefix(root).ok()?.to_str()?.to_string() + "/";
    let original: BTreeMap<&str, &[u8]> = seed
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    now.iter()
        .filter(|(n, _)| n.starts_with(&prefix))
        .find(|(n, d)| original.get(n.as_str()).is_some_and(|o| o != d))
        .map(|(n, d)| {
            let o = original[n.as_str()];
            let at = o
                .iter()
                .zip(d.iter())
                .position(|(a, b)| a != b)
                .unwrap_or(o.len().min(d.len()));
            format!(
                "{n}: byte {at} changed ({} -> {} bytes), still loads",
                o.len(),
                d.len()
            )
        })
}
