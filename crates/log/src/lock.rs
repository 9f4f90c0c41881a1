//! One owner per run directory: an exclusive `flock` on `<run>/.lock`, held for the life of the
//! process that trains the run. The OS drops the lock when that process exits, however it exits
//! (a SIGKILL included), so a stale lock file never blocks a resume; the file only records the
//! holder's PID for the message a second process gets.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::LogError;

/// The lock file's name inside a run directory.
pub const LOCK_FILE: &str = ".lock";

/// Holds the run directory's lock until dropped (or the process ends).
#[derive(Debug)]
pub struct RunLock {
    // Never read: the open file description *is* the lock.
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock of run directory `dir` without waiting; a live holder is named by PID.
    pub fn acquire(dir: &Path) -> Result<RunLock, LogError> {
        let path = dir.join(LOCK_FILE);
        // No truncation on open: the file may hold the live holder's PID, read below.
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| LogError::io("open lock file", &path, e))?;
        // SAFETY: flock on a file descriptor this function owns; no memory is involved.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::WouldBlock {
                return Err(LogError::io("lock", &path, e));
            }
            return Err(LogError::Locked {
                path: dir.to_owned(),
                pid: holder_pid(&mut file),
            });
        }
        let pid = format!("{}\n", std::process::id());
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(pid.as_bytes()))
            .map_err(|e| LogError::io("write lock file", &path, e))?;
        Ok(RunLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The PID a live holder wrote, if it has written it yet.
fn holder_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}
