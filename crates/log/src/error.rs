//! The one error type of this crate: every variant names the file it is about.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// An operating-system error while doing `op` ("create", "write", "read", ...) on `path`.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A record whose length or data checksum does not match: the file is damaged.
    #[error("corrupt event file {}: {what} at byte {offset}", path.display())]
    Corrupt {
        path: PathBuf,
        offset: u64,
        what: &'static str,
    },
    /// The file ends inside a record (typically a crash mid-write); everything before
    /// `offset` is intact, so a caller resuming a run may truncate the file there.
    #[error("event file {} ends inside a record that starts at byte {offset}", path.display())]
    Truncated { path: PathBuf, offset: u64 },
    /// A record whose checksums are fine but whose bytes are not a `tensorflow.Event`.
    #[error("event file {}: record at byte {offset} is not a valid Event: {source}", path.display())]
    Decode {
        path: PathBuf,
        offset: u64,
        #[source]
        source: prost::DecodeError,
    },
    /// `RunDir::create` on a directory that already holds a run.
    #[error("run directory {} already holds a run ({found} exists); pick a new run name or resume it", path.display())]
    RunExists { path: PathBuf, found: String },
    /// `RunDir::create` on a directory that holds other things than a run.
    #[error("{} is not empty ({found} is there) and holds no run; give --run-dir a new or empty directory", path.display())]
    NotEmpty { path: PathBuf, found: String },
    /// Another live process holds the run directory's lock.
    #[error("run directory {} is in use by {}; wait for it to finish or stop it", path.display(), holder(*pid))]
    Locked { path: PathBuf, pid: Option<u32> },
    /// `RunDir::open` on a directory that holds no run.
    #[error("{} is not a sparq run directory (no config.toml)", path.display())]
    NotARun { path: PathBuf },
    /// summary.json that cannot be parsed, or a summary that cannot be written as JSON.
    #[error("invalid summary {}: {detail}", path.display())]
    Summary { path: PathBuf, detail: String },
}

impl LogError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LogError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

fn holder(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("sparq process {pid}"),
        None => "another sparq process".to_owned(),
    }
}
