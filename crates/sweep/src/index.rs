//! The sweep directory on disk: `sweep.json` (the plan and each job's record), `runs/<id>/`,
//! `logs/<id>.log`; and where a job's run stands, read from its files, so that re-running a
//! sweep skips what finished and resumes what was killed.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Job, JobKind, Plan, SweepError};

/// The index's file name in the sweep directory.
pub const INDEX_FILE: &str = "sweep.json";
const FORMAT: &str = "sparq-sweep";
const VERSION: u32 = 1;

/// Where one job's run stands on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Finished: `summary.json` (training) or `prune.json` (pruning) exists.
    Done,
    /// Killed after a checkpoint: `sparq train --resume` continues it exactly.
    Resumable,
    /// Not started, or killed before anything resumable was written: (re)start from scratch.
    Fresh,
}

/// The state of `job`'s run under `sweep_dir`.
pub fn run_state(sweep_dir: &Path, job: &Job) -> RunState {
    let dir = sweep_dir.join(&job.dir);
    match job.kind {
        JobKind::Train { .. } if dir.join("summary.json").is_file() => RunState::Done,
        JobKind::Train { .. } if dir.join("checkpoints").join("latest").exists() => {
            RunState::Resumable
        }
        JobKind::Prune { .. } if dir.join("prune.json").is_file() => RunState::Done,
        _ => RunState::Fresh,
    }
}

/// A job's outcome as the sweep saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Pending,
    Running,
    Done,
    Failed,
}

/// What the sweep knows of one job beyond its run directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub status: JobStatus,
    /// Processes started for it, over every invocation of the sweep (restarts and resumes).
    pub attempts: u32,
    /// Wall seconds of its processes, summed over attempts.
    pub wall_s: f64,
    /// The last error line of the last failed attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Where the last attempt ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl JobRecord {
    pub fn pending() -> JobRecord {
        JobRecord {
            status: JobStatus::Pending,
            attempts: 0,
            wall_s: 0.0,
            error: None,
            host: None,
        }
    }

    /// `logs/<id>.json`, written by the process that ran the job (on any node).
    pub fn path(sweep_dir: &Path, id: &str) -> std::path::PathBuf {
        sweep_dir.join("logs").join(format!("{id}.json"))
    }

    /// The record left by earlier attempts, if any.
    pub fn read(sweep_dir: &Path, id: &str) -> Option<JobRecord> {
        let text = std::fs::read_to_string(Self::path(sweep_dir, id)).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn write(&self, sweep_dir: &Path, id: &str) -> Result<(), SweepError> {
        write_atomic(&Self::path(sweep_dir, id), &to_json(self)?)
    }
}

/// `sweep.json`: the plan that made the directory and the record of every job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Index {
    pub format: String,
    pub version: u32,
    /// The sweep file, as given.
    pub sweep_file: String,
    /// How the last invocation ran it (`local` or `ray`) and with how many jobs at once.
    pub backend: String,
    pub plan: Plan,
    pub records: BTreeMap<String, JobRecord>,
    /// Wall seconds of each invocation of `sparq sweep` on this directory.
    #[serde(default)]
    pub invocations_wall_s: Vec<f64>,
}

impl Index {
    pub fn new(sweep_file: &str, backend: &str, plan: Plan) -> Index {
        let records = plan
            .jobs
            .iter()
            .map(|j| (j.id.clone(), JobRecord::pending()))
            .collect();
        Index {
            format: FORMAT.into(),
            version: VERSION,
            sweep_file: sweep_file.into(),
            backend: backend.into(),
            plan,
            records,
            invocations_wall_s: Vec::new(),
        }
    }

    /// Reads `SWEEP_DIR/sweep.json`.
    pub fn read(sweep_dir: &Path) -> Result<Index, SweepError> {
        let path = sweep_dir.join(INDEX_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| SweepError::Io {
            what: "read the sweep index (is this a sweep directory?)".into(),
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let index: Index = serde_json::from_str(&text).map_err(|e| SweepError::Io {
            what: "parse the sweep index".into(),
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        if index.format != FORMAT || index.version != VERSION {
            return Err(SweepError::Mismatch(format!(
                "{}: format {} v{}, expected {FORMAT} v{VERSION}",
                path.display(),
                index.format,
                index.version
            )));
        }
        Ok(index)
    }

    /// Writes `SWEEP_DIR/sweep.json` atomically (a reader never sees half of it).
    pub fn write(&self, sweep_dir: &Path) -> Result<(), SweepError> {
        write_atomic(&sweep_dir.join(INDEX_FILE), &to_json(self)?)
    }

    /// Takes `plan` as this directory's plan when it keeps every job already planned here,
    /// unchanged: more seeds or more points grow a sweep, and its finished runs stay valid.
    /// Returns how many jobs were added. A plan that drops or changes a job is refused: runs
    /// of two different sweeps would mix in one report.
    pub fn grow_to(&mut self, plan: &Plan, sweep_dir: &Path) -> Result<usize, SweepError> {
        if let Some(changed) = self
            .plan
            .jobs
            .iter()
            .find(|old| plan.job(&old.id) != Some(*old))
        {
            let how = if plan.job(&changed.id).is_some() {
                "differs"
            } else {
                "is missing from the new plan"
            };
            return Err(SweepError::Mismatch(format!(
                "{}: holds a different sweep (job '{}' {how}); use another --out or remove it",
                sweep_dir.display(),
                changed.id
            )));
        }
        let added = plan.jobs.len() - self.plan.jobs.len();
        for job in &plan.jobs {
            self.records
                .entry(job.id.clone())
                .or_insert_with(JobRecord::pending);
        }
        self.plan = plan.clone();
        Ok(added)
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, SweepError> {
    serde_json::to_string_pretty(value).map_err(|e| SweepError::Io {
        what: "serialize".into(),
        path: "sweep index".into(),
        message: e.to_string(),
    })
}

/// Write to a temporary sibling, then rename: readers (the report, another node) see the old or
/// the new file, never a torn one.
fn write_atomic(path: &Path, text: &str) -> Result<(), SweepError> {
    let io = |what: &str, e: std::io::Error| SweepError::Io {
        what: what.into(),
        path: path.display().to_string(),
        message: e.to_string(),
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io("create directory", e))?;
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| io("write", e))?;
    std::fs::rename(&tmp, path).map_err(|e| io("rename into place", e))
}
