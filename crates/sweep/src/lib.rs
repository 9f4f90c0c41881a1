//! sparq's sweeps without libtorch: the sweep file (configs × overrides × seeds, named groups),
//! its expansion into checked jobs, where each job's run stands on disk, and the sweep index.
//! The `sparq sweep` command (crates/cli) runs the jobs; `sparq report` reads the index.
//!
//! ```no_run
//! # fn main() -> Result<(), sparq_sweep::SweepError> {
//! let plan = sparq_sweep::Plan::from_file(std::path::Path::new("configs/sweeps/smoke.toml"))?;
//! for job in &plan.jobs {
//!     println!("{} in {}", job.id, job.dir);
//! }
//! # Ok(())
//! # }
//! ```

mod index;
mod plan;
mod spec;

pub use index::{INDEX_FILE, Index, JobRecord, JobStatus, RunState, run_state};
pub use plan::{Job, JobKind, Plan, RUN_DEFAULTS, run_overrides};
pub use spec::{PointSpec, PruneSpec, ReportSpec, Seeds, SweepFile};

/// Why a sweep file, plan or index could not be used; every variant displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// Unreadable or unparsable sweep file (`origin` carries `:line:col` when known).
    #[error("{origin}: {message}")]
    File { origin: String, message: String },
    /// A key of the sweep file (or a point's config through it) is wrong.
    #[error("{origin}: {key}: {message}")]
    Key {
        origin: String,
        key: String,
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: cannot {what}: {message}")]
    Io {
        what: String,
        path: String,
        message: String,
    },
    /// The sweep directory holds a different sweep.
    #[error("{0}")]
    Mismatch(String),
}
