//! The layout of one training run on disk:
//! `<run>/config.toml`, `<run>/events.out.tfevents.*`, `<run>/checkpoints/`, `<run>/summary.json`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::summary::Summary;
use crate::{EventWriter, LogError, RunLock, event_files, write_atomic};

pub const CONFIG_FILE: &str = "config.toml";
pub const SUMMARY_FILE: &str = "summary.json";
pub const CHECKPOINTS_DIR: &str = "checkpoints";

/// A run directory: its path, and for the process that trains it the directory's lock.
///
/// The lock ([`RunLock`], an OS `flock` on `<run>/.lock`) is shared by clones and released when
/// the last clone is dropped or the process ends, so a trainer that keeps its `RunDir` for the
/// whole run is the directory's one owner; a second `train` or `--resume` on it is refused with
/// the holder's PID, and a killed process leaves no stale lock.
#[derive(Clone, Debug)]
pub struct RunDir {
    root: PathBuf,
    lock: Option<Arc<RunLock>>,
}

impl PartialEq for RunDir {
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root
    }
}

impl Eq for RunDir {}

impl RunDir {
    /// Creates a fresh run directory (and its parents and `checkpoints/`) and locks it. Refuses
    /// one that another process holds, or that already holds a run (a config.toml, summary.json
    /// or event file), and proves the location writable now, so a typo'd or read-only path
    /// fails before training starts rather than at the first checkpoint. The lock is taken
    /// before the check, so of two concurrent creates exactly one proceeds (as long as the
    /// winner writes its config.toml while it holds the returned `RunDir`).
    pub fn create(path: &Path) -> Result<RunDir, LogError> {
        std::fs::create_dir_all(path).map_err(|e| LogError::io("create directory", path, e))?;
        let mut run = RunDir {
            root: path.to_owned(),
            lock: None,
        };
        probe_writable(path)?;
        // Before anything stays in it: a directory of other things is not a run's (one holding
        // a run is refused below, under the lock).
        if run.existing_run_file()?.is_none() {
            if let Some(found) = run.foreign_entry()? {
                return Err(LogError::NotEmpty {
                    path: path.to_owned(),
                    found,
                });
            }
        }
        run.lock = Some(Arc::new(RunLock::acquire(path)?));
        if let Some(found) = run.existing_run_file()? {
            return Err(LogError::RunExists {
                path: path.to_owned(),
                found,
            });
        }
        let checkpoints = run.checkpoints_dir();
        std::fs::create_dir_all(&checkpoints)
            .map_err(|e| LogError::io("create directory", &checkpoints, e))?;
        Ok(run)
    }

    /// Opens an existing run (one with a config.toml) to resume it: like [`RunDir::open`], and
    /// takes the run's lock, so a run that is still live in another process is refused (naming
    /// its PID) and cannot be resumed twice at once.
    pub fn open_for_resume(path: &Path) -> Result<RunDir, LogError> {
        let mut run = RunDir::open(path)?;
        run.lock = Some(Arc::new(RunLock::acquire(path)?));
        Ok(run)
    }

    /// Opens an existing run (one with a config.toml) to read it, without its lock.
    pub fn open(path: &Path) -> Result<RunDir, LogError> {
        let run = RunDir {
            root: path.to_owned(),
            lock: None,
        };
        if !path.is_dir() {
            let e = std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory");
            return Err(LogError::io("open run directory", path, e));
        }
        if !run.config_path().is_file() {
            return Err(LogError::NotARun {
                path: path.to_owned(),
            });
        }
        Ok(run)
    }

    /// The lock this process holds on the run, if it opened the run to write it.
    pub fn lock(&self) -> Option<&RunLock> {
        self.lock.as_deref()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    pub fn summary_path(&self) -> PathBuf {
        self.root.join(SUMMARY_FILE)
    }

    pub fn checkpoints_dir(&self) -> PathBuf {
        self.root.join(CHECKPOINTS_DIR)
    }

    /// The run's event files, oldest first (a resumed run has one per session).
    pub fn event_files(&self) -> Result<Vec<PathBuf>, LogError> {
        event_files(&self.root)
    }

    /// Starts a new event file in the run directory.
    pub fn event_writer(&self) -> Result<EventWriter, LogError> {
        EventWriter::create(&self.root)
    }

    /// Writes config.toml atomically.
    pub fn write_config(&self, toml: &str) -> Result<(), LogError> {
        write_atomic(&self.config_path(), toml.as_bytes())
    }

    /// Writes summary.json atomically; refuses NaN or infinite figures, which JSON cannot hold.
    pub fn write_summary(&self, summary: &Summary) -> Result<(), LogError> {
        let path = self.summary_path();
        if let Some(field) = summary.non_finite_field() {
            return Err(LogError::Summary {
                path,
                detail: format!("{field} is not a finite number"),
            });
        }
        let mut json = serde_json::to_vec_pretty(summary).map_err(|e| LogError::Summary {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        json.push(b'\n');
        write_atomic(&path, &json)
    }

    /// Reads summary.json.
    pub fn read_summary(&self) -> Result<Summary, LogError> {
        let path = self.summary_path();
        let bytes = std::fs::read(&path).map_err(|e| LogError::io("read", &path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| LogError::Summary {
            path,
            detail: e.to_string(),
        })
    }

    /// The name of a file showing that a run already lives here, if any.
    fn existing_run_file(&self) -> Result<Option<String>, LogError> {
        for name in [CONFIG_FILE, SUMMARY_FILE] {
            if self.root.join(name).exists() {
                return Ok(Some(name.to_owned()));
            }
        }
        let events = self.event_files()?;
        Ok(events
            .first()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned()))
    }
}

impl RunDir {
    /// A visible entry that no run start leaves behind (an empty `checkpoints/` is one it does;
    /// hidden ones are its lock, write probes and atomic writes under way), so a run is never
    /// written into a directory of other things.
    fn foreign_entry(&self) -> Result<Option<String>, LogError> {
        let entries =
            std::fs::read_dir(&self.root).map_err(|e| LogError::io("read", &self.root, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| LogError::io("read", &self.root, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let empty_dir = |p: &Path| std::fs::read_dir(p).is_ok_and(|mut d| d.next().is_none());
            let ours =
                name.starts_with('.') || (name == CHECKPOINTS_DIR && empty_dir(&entry.path()));
            if !ours {
                return Ok(Some(name));
            }
        }
        Ok(None)
    }
}

/// Creates, writes and removes a small file in `dir`.
fn probe_writable(dir: &Path) -> Result<(), LogError> {
    // Unique per call, not only per process: two threads may create runs at once.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let probe = dir.join(format!(
        ".sparq-write-probe.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let fail = |e| LogError::io("write in", dir, e);
    let mut file = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(fail)?;
    let written = file.write_all(b"probe");
    drop(file);
    let removed = std::fs::remove_file(&probe);
    written.and(removed).map_err(fail)
}
