//! Bounded reads of the files a checkpoint names: regular files only, opened without blocking
//! (a FIFO would otherwise hang the reader), never more bytes than the caller expects (a symlink
//! to `/dev/zero` would otherwise take all memory), and no symlink out of the checkpoint.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::CheckpointError;

/// Largest MANIFEST read: a line per file is under 100 bytes, so this is thousands of files.
pub(crate) const MAX_MANIFEST_BYTES: u64 = 1 << 20;
/// Largest `latest` read: it holds one checkpoint name.
pub(crate) const MAX_LATEST_BYTES: u64 = 4096;

fn io(path: &Path, source: std::io::Error) -> CheckpointError {
    CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn refuse(path: &Path, what: impl Into<String>) -> CheckpointError {
    CheckpointError::Invalid {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

/// Reads the regular file `path`, at most `max` bytes; a longer file is an error that says so,
/// naming `limit` (who set the bound: "the MANIFEST says", "a MANIFEST may hold"). When `within`
/// is given, a symlink is followed only if it resolves inside that directory.
pub(crate) fn read_bounded(
    path: &Path,
    max: u64,
    limit: &str,
    within: Option<&Path>,
) -> Result<Vec<u8>, CheckpointError> {
    let link = std::fs::symlink_metadata(path).map_err(|e| io(path, e))?;
    if let (true, Some(dir)) = (link.file_type().is_symlink(), within) {
        // canonicalize reports a loop as ELOOP, so the message says so.
        let target = std::fs::canonicalize(path).map_err(|e| io(path, e))?;
        let dir = std::fs::canonicalize(dir).map_err(|e| io(dir, e))?;
        if !target.starts_with(&dir) {
            return Err(refuse(
                path,
                format!(
                    "is a symlink to {}, which leaves the checkpoint",
                    target.display()
                ),
            ));
        }
    }
    // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one;
    // the type check on the open file (not the path) then refuses it, race-free.
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| io(path, e))?;
    let meta = file.metadata().map_err(|e| io(path, e))?;
    if !meta.file_type().is_file() {
        return Err(refuse(
            path,
            format!("is not a regular file ({})", kind(&meta)),
        ));
    }
    if meta.len() > max {
        return Err(too_large(path, meta.len(), max, limit));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // One byte more than allowed tells a file that grew since the stat from one that fits.
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io(path, e))?;
    if bytes.len() as u64 > max {
        return Err(too_large(path, bytes.len() as u64, max, limit));
    }
    Ok(bytes)
}

fn too_large(path: &Path, len: u64, max: u64, limit: &str) -> CheckpointError {
    CheckpointError::Corrupted {
        path: PathBuf::from(path),
        what: format!("size {len} bytes or more, {limit} {max}"),
    }
}

fn kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a plain file"
    }
}
