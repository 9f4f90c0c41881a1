//! Checkpoint directories that are either complete and verified, or not there at all.
//!
//! A checkpoint is a directory `checkpoints/<name>/` holding `meta.json`, `tensors.safetensors`,
//! optional blobs (replay buffer, environment snapshots) and a `MANIFEST` listing each file's size
//! and SHA-256, itself sealed by a CRC32C of its own text. It is written under a temporary name, every
//! file fsynced, then renamed into place; `checkpoints/latest` names the newest complete one and
//! is replaced atomically. Loading verifies every byte before anything is parsed, so a truncated
//! or corrupted checkpoint is reported, never loaded.

mod manifest;
mod read;

use read::{MAX_LATEST_BYTES, MAX_MANIFEST_BYTES, read_bounded};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde::{Serialize, de::DeserializeOwned};

pub use manifest::Manifest;

const META: &str = "meta.json";
const TENSORS: &str = "tensors.safetensors";
const MANIFEST: &str = "MANIFEST";
const LATEST: &str = "latest";

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not a sparq checkpoint or run directory (no MANIFEST, no checkpoints/latest)")]
    NotACheckpoint(PathBuf),
    /// `checkpoints/latest` is missing, unreadable or names an incomplete checkpoint; `newest`
    /// is the newest complete one, which the user may pass explicitly.
    #[error("{}", latest_unusable(.latest, .why, .newest.as_deref()))]
    LatestUnusable {
        latest: PathBuf,
        why: String,
        newest: Option<PathBuf>,
    },
    #[error("{0} holds no complete checkpoint")]
    NoCompleteCheckpoint(PathBuf),
    #[error("{path}: checkpoint is corrupted: {what}")]
    Corrupted { path: PathBuf, what: String },
    #[error(
        "{path}: checkpoint format {found} was written by another sparq version; this one reads format {FORMAT}"
    )]
    Unsupported { path: PathBuf, found: String },
    #[error("{path}: {what}")]
    Invalid { path: PathBuf, what: String },
}

fn latest_unusable(latest: &Path, why: &str, newest: Option<&Path>) -> String {
    match newest {
        Some(newest) => format!(
            "{} is unusable ({why}); the newest complete checkpoint is {}: pass it explicitly or use --checkpoint newest",
            latest.display(),
            newest.display()
        ),
        None => format!(
            "{} is unusable ({why}) and no complete checkpoint remains",
            latest.display()
        ),
    }
}

/// The checkpoint format this build writes and reads (the MANIFEST's first line).
pub const FORMAT: u32 = 3;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A verified checkpoint in memory.
#[derive(Debug)]
pub struct Loaded<M> {
    pub path: PathBuf,
    pub meta: M,
    /// Flat f32 tensors by name.
    pub tensors: Vec<(String, Vec<f32>)>,
    pub blobs: BTreeMap<String, Vec<u8>>,
}

impl<M> Loaded<M> {
    pub fn tensor(&self, name: &str) -> Option<&[f32]> {
        self.tensors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let mut f = File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

fn sync_dir(dir: &Path) -> Result<(), CheckpointError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

fn encode_tensors(path: &Path, tensors: &[(String, Vec<f32>)]) -> Result<Vec<u8>, CheckpointError> {
    let views = tensors
        .iter()
        .map(|(name, v)| {
            let bytes: &[u8] = bytemuck_f32(v);
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![v.len()], bytes)
                .map(|t| (name.clone(), t))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CheckpointError::Invalid {
            path: path.to_path_buf(),
            what: e.to_string(),
        })?;
    safetensors::serialize(views, None).map_err(|e| CheckpointError::Invalid {
        path: path.to_path_buf(),
        what: e.to_string(),
    })
}

/// The bytes of an f32 slice (little-endian on every platform libtorch supports).
fn bytemuck_f32(v: &[f32]) -> &[u8] {
    // SAFETY: f32 has no padding and any byte pattern is a valid u8; the length is exact.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

/// Writes checkpoint `name` into `checkpoints_dir` atomically and points `latest` at it; then
/// removes all but the newest `keep` checkpoints (0 keeps all). Returns the checkpoint's path.
pub fn save<M: Serialize>(
    checkpoints_dir: &Path,
    name: &str,
    meta: &M,
    tensors: &[(String, Vec<f32>)],
    blobs: &[(&str, &[u8])],
    keep: usize,
) -> Result<PathBuf, CheckpointError> {
    let final_dir = save_aside(checkpoints_dir, name, meta, tensors, blobs)?;
    let latest_tmp = checkpoints_dir.join(format!(".{LATEST}.tmp"));
    write_synced(&latest_tmp, format!("{name}\n").as_bytes())?;
    fs::rename(&latest_tmp, checkpoints_dir.join(LATEST)).map_err(io(checkpoints_dir))?;
    sync_dir(checkpoints_dir)?;
    if keep > 0 {
        prune_old(checkpoints_dir, name, keep)?;
    }
    Ok(final_dir)
}

/// Writes checkpoint `name` atomically (replacing one of that name) without touching `latest` or
/// the rotation of `step_*` checkpoints: for a checkpoint kept aside, such as the best policy.
pub fn save_aside<M: Serialize>(
    checkpoints_dir: &Path,
    name: &str,
    meta: &M,
    tensors: &[(String, Vec<f32>)],
    blobs: &[(&str, &[u8])],
) -> Result<PathBuf, CheckpointError> {
    fs::create_dir_all(checkpoints_dir).map_err(io(checkpoints_dir))?;
    let final_dir = checkpoints_dir.join(name);
    let tmp = checkpoints_dir.join(format!(".tmp-{name}-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    fs::create_dir(&tmp).map_err(io(&tmp))?;

    let meta_bytes = serde_json::to_vec_pretty(meta).map_err(|e| CheckpointError::Invalid {
        path: tmp.join(META),
        what: e.to_string(),
    })?;
    let tensor_bytes = encode_tensors(&tmp.join(TENSORS), tensors)?;
    let mut manifest = Manifest::default();
    let mut files: Vec<(&str, &[u8])> = vec![(META, &meta_bytes), (TENSORS, &tensor_bytes)];
    files.extend_from_slice(blobs);
    for (file, bytes) in &files {
        if *file == MANIFEST || file.contains('/') || file.starts_with('.') {
            return Err(CheckpointError::Invalid {
                path: tmp.join(file),
                what: "reserved or nested blob name".into(),
            });
        }
        write_synced(&tmp.join(file), bytes)?;
        manifest.add(file, bytes);
    }
    write_synced(&tmp.join(MANIFEST), manifest.render().as_bytes())?;
    sync_dir(&tmp)?;

    if final_dir.exists() {
        // Replacing a same-named checkpoint: the old one goes first, so there is a moment with
        // neither; `latest` never points at a name being replaced (step names are unique).
        fs::remove_dir_all(&final_dir).map_err(io(&final_dir))?;
    }
    fs::rename(&tmp, &final_dir).map_err(io(&final_dir))?;
    sync_dir(checkpoints_dir)?;
    Ok(final_dir)
}

/// Removes what interrupted saves left behind (hidden `.tmp-*` directories and files).
pub fn remove_partial(checkpoints_dir: &Path) -> Result<usize, CheckpointError> {
    let rd = match fs::read_dir(checkpoints_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io(checkpoints_dir)(e)),
    };
    let mut removed = 0;
    for entry in rd {
        let p = entry.map_err(io(checkpoints_dir))?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with(".tmp-") || name == format!(".{LATEST}.tmp") {
            if p.is_dir() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            }
            .map_err(io(&p))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Complete checkpoints in `checkpoints_dir`, oldest first (names sort by step).
pub fn list(checkpoints_dir: &Path) -> Result<Vec<PathBuf>, CheckpointError> {
    let mut out = Vec::new();
    let rd = match fs::read_dir(checkpoints_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(checkpoints_dir)(e)),
    };
    for entry in rd {
        let p = entry.map_err(io(checkpoints_dir))?.path();
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_none_or(|n| n.starts_with('.'));
        if !hidden && p.join(MANIFEST).is_file() {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// Keeps the newest `keep` complete `step_*` checkpoints (by step) and removes older complete
/// ones; `newest` (the one just written) is never removed. Only complete checkpoints count
/// towards `keep`, so a damaged newer directory can never cause the last good one to go; damaged
/// ones are left for the user to look at. Others (e.g. `best`) stay.
fn prune_old(checkpoints_dir: &Path, newest: &str, keep: usize) -> Result<(), CheckpointError> {
    let complete: Vec<(u64, PathBuf)> = steps(checkpoints_dir)?
        .into_iter()
        .filter(|(_, p)| check_complete(p).is_ok())
        .collect();
    let excess = complete.len().saturating_sub(keep);
    for (_, p) in complete.into_iter().take(excess) {
        if p.file_name().and_then(|n| n.to_str()) != Some(newest) {
            fs::remove_dir_all(&p).map_err(io(&p))?;
        }
    }
    Ok(())
}

/// The `step_<n>` directories of `checkpoints_dir`, complete or not, by step.
fn steps(checkpoints_dir: &Path) -> Result<Vec<(u64, PathBuf)>, CheckpointError> {
    let rd = match fs::read_dir(checkpoints_dir) {
        Ok(rd) => rd,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            return Ok(Vec::new());
        }
        Err(e) => return Err(io(checkpoints_dir)(e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(io(checkpoints_dir))?;
        let step = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_prefix("step_"))
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u64>().ok());
        if let Some(step) = step {
            out.push((step, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Why the checkpoint directory `dir` is not complete: its MANIFEST must be a regular file that
/// parses under its seal, in this build's format, and every file it lists must be a regular file
/// of the listed size. Cheap (no hashing): [`load`] verifies every byte.
fn check_complete(dir: &Path) -> Result<(), Incomplete> {
    let manifest_path = dir.join(MANIFEST);
    let text = read_bounded(
        &manifest_path,
        MAX_MANIFEST_BYTES,
        "a MANIFEST holds at most",
        Some(dir),
    )
    .map_err(|e| Incomplete::Damaged(reason(&e)))?;
    if Manifest::foreign_format(&text).is_some() {
        return Err(Incomplete::ForeignFormat);
    }
    let manifest = Manifest::parse(&text).map_err(Incomplete::Damaged)?;
    for entry in manifest.entries() {
        let p = dir.join(&entry.name);
        let why = match fs::metadata(&p) {
            Ok(m) if m.is_file() && m.len() == entry.size => continue,
            Ok(_) => "is not the regular file of the size its MANIFEST lists".to_string(),
            Err(e) => e.to_string(),
        };
        return Err(Incomplete::Damaged(format!("{}: {why}", entry.name)));
    }
    Ok(())
}

/// Why [`check_complete`] refused a checkpoint.
enum Incomplete {
    /// Sealed by another sparq version: complete, but [`load`] refuses it by name.
    ForeignFormat,
    Damaged(String),
}

/// An error's text without the path it names (the caller's message names it).
fn reason(e: &CheckpointError) -> String {
    match e {
        CheckpointError::Io { source, .. } => source.to_string(),
        CheckpointError::Corrupted { what, .. } | CheckpointError::Invalid { what, .. } => {
            what.clone()
        }
        other => other.to_string(),
    }
}

/// The newest complete `step_*` checkpoint in `checkpoints_dir` (by step, whatever `latest`
/// says), if any: what eval and `--resume` fall back to when `latest` is unusable and the user
/// asks for it (`--checkpoint newest`).
pub fn newest_complete(checkpoints_dir: &Path) -> Result<Option<PathBuf>, CheckpointError> {
    Ok(steps(checkpoints_dir)?
        .into_iter()
        .rev()
        .map(|(_, p)| p)
        .find(|p| check_complete(p).is_ok()))
}

/// [`newest_complete`] for what a user passes: a run directory or its `checkpoints/`.
pub fn resolve_newest(path: &Path) -> Result<PathBuf, CheckpointError> {
    fs::metadata(path).map_err(io(path))?;
    for dir in [path.join("checkpoints"), path.to_path_buf()] {
        if let Some(cp) = newest_complete(&dir)? {
            return Ok(cp);
        }
    }
    Err(CheckpointError::NoCompleteCheckpoint(path.to_path_buf()))
}

/// The checkpoint directory meant by `path`: a checkpoint itself, or a run directory (its
/// `checkpoints/latest`), or a `checkpoints/` directory. When `latest` is missing, unreadable or
/// names a checkpoint that is not complete, the error names the newest complete one.
pub fn resolve(path: &Path) -> Result<PathBuf, CheckpointError> {
    // metadata, not exists(): a symlink loop is reported as one (ELOOP), not as "not found".
    fs::metadata(path).map_err(io(path))?;
    // Anything named MANIFEST makes this a checkpoint; load then says what is wrong with it.
    if fs::symlink_metadata(path.join(MANIFEST)).is_ok() {
        return Ok(path.to_path_buf());
    }
    let candidates = [path.join("checkpoints"), path.to_path_buf()];
    for dir in &candidates {
        let latest = dir.join(LATEST);
        if fs::symlink_metadata(&latest).is_err() {
            continue;
        }
        return match read_latest(dir, &latest) {
            Ok(cp) => Ok(cp),
            Err(why) => Err(CheckpointError::LatestUnusable {
                latest,
                why,
                newest: newest_complete(dir)?,
            }),
        };
    }
    for dir in &candidates {
        if let Some(newest) = newest_complete(dir)? {
            return Err(CheckpointError::LatestUnusable {
                latest: dir.join(LATEST),
                why: "missing".into(),
                newest: Some(newest),
            });
        }
    }
    Err(CheckpointError::NotACheckpoint(path.to_path_buf()))
}

/// The checkpoint `latest` names, or why it names none usable.
fn read_latest(dir: &Path, latest: &Path) -> Result<PathBuf, String> {
    let bytes = read_bounded(latest, MAX_LATEST_BYTES, "latest holds at most", None)
        .map_err(|e| reason(&e))?;
    let text = String::from_utf8_lossy(&bytes);
    let name = text.trim();
    if name.is_empty() {
        return Err("empty".into());
    }
    if name.contains('/') || name.starts_with('.') || name.contains('\n') {
        return Err(format!(
            "names '{}', not a checkpoint name",
            name.escape_default()
        ));
    }
    let cp = dir.join(name);
    match check_complete(&cp) {
        // Another sparq's checkpoint is complete: load names its format.
        Ok(()) | Err(Incomplete::ForeignFormat) => Ok(cp),
        Err(Incomplete::Damaged(why)) => Err(format!(
            "names '{name}', which is not a complete checkpoint: {why}"
        )),
    }
}

/// Reads and verifies the checkpoint at `dir` (see [`resolve`] for what `dir` may be).
pub fn load<M: DeserializeOwned>(path: &Path) -> Result<Loaded<M>, CheckpointError> {
    let dir = resolve(path)?;
    let manifest_path = dir.join(MANIFEST);
    let text = read_bounded(
        &manifest_path,
        MAX_MANIFEST_BYTES,
        "a MANIFEST holds at most",
        Some(&dir),
    )?;
    if let Some(found) = Manifest::foreign_format(&text) {
        return Err(CheckpointError::Unsupported {
            path: manifest_path,
            found,
        });
    }
    let manifest = Manifest::parse(&text).map_err(|what| CheckpointError::Corrupted {
        path: manifest_path.clone(),
        what,
    })?;
    let mut contents = BTreeMap::new();
    for entry in manifest.entries() {
        let p = dir.join(&entry.name);
        let bytes = read_bounded(&p, entry.size, "the MANIFEST says", Some(&dir))?;
        entry
            .verify(&bytes)
            .map_err(|what| CheckpointError::Corrupted {
                path: p.clone(),
                what,
            })?;
        contents.insert(entry.name.clone(), bytes);
    }
    let bad = |file: &str, what: String| CheckpointError::Corrupted {
        path: dir.join(file),
        what,
    };
    let meta_bytes = contents
        .remove(META)
        .ok_or_else(|| bad(META, "missing from MANIFEST".into()))?;
    let meta = serde_json::from_slice(&meta_bytes).map_err(|e| bad(META, e.to_string()))?;
    let tensor_bytes = contents
        .remove(TENSORS)
        .ok_or_else(|| bad(TENSORS, "missing from MANIFEST".into()))?;
    let st = safetensors::SafeTensors::deserialize(&tensor_bytes)
        .map_err(|e| bad(TENSORS, e.to_string()))?;
    let mut tensors = Vec::new();
    for (name, view) in st.tensors() {
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(bad(
                TENSORS,
                format!("tensor '{name}' is {:?}, expected F32", view.dtype()),
            ));
        }
        let v = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        tensors.push((name, v));
    }
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Loaded {
        path: dir,
        meta,
        tensors,
        blobs: contents,
    })
}
