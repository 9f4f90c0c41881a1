//! Whole-or-nothing file replacement.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::LogError;

/// Replaces `path` with `bytes` so that readers (and a crash) only ever see the old or the new
/// content: write a temporary file in the same directory, fsync it, rename it over `path`, then
/// fsync the directory so the rename itself is durable. The temporary file is removed on failure.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LogError> {
    let name = path.file_name().ok_or_else(|| {
        let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name");
        LogError::io("write", path, e)
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.tmp.{}.{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = write_synced(&tmp, bytes, path).and_then(|()| {
        std::fs::rename(&tmp, path).map_err(|e| LogError::io("rename into place", path, e))
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

/// Writes and syncs the temporary file; errors name the target, the file the user knows about.
fn write_synced(tmp: &Path, bytes: &[u8], target: &Path) -> Result<(), LogError> {
    let mut file = File::options()
        .write(true)
        .create_new(true)
        .open(tmp)
        .map_err(|e| LogError::io("create", target, e))?;
    file.write_all(bytes)
        .map_err(|e| LogError::io("write", target, e))?;
    file.sync_all().map_err(|e| LogError::io("sync", target, e))
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| LogError::io("sync directory", dir, e))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), LogError> {
    // Directories cannot be opened as files here; the rename is as durable as the OS makes it.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp."))
            .collect()
    }

    #[test]
    fn creates_then_replaces_whole_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.json");
        write_atomic(&path, b"first version, long content").unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"first version, long content"
        );
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn failed_rename_keeps_target_and_removes_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory cannot be replaced by a file: the rename fails after the write.
        let target = dir.path().join("taken");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep"), b"x").unwrap();
        let err = write_atomic(&target, b"new").unwrap_err();
        assert!(err.to_string().contains("taken"), "{err}");
        assert!(target.join("keep").is_file());
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/config.toml");
        let err = write_atomic(&path, b"x").unwrap_err().to_string();
        assert!(
            err.starts_with("cannot create ") && err.contains("dir/config.toml"),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }
}
