//! Logging for sparq runs: TensorBoard event files written and read by our own small TFRecord +
//! protobuf code, the run-directory layout with atomic writes, summary.json, progress output,
//! and the `[log]` config section ([`LogConfig`]).

mod atomic;
mod error;
pub mod histogram;
mod lock;
mod params;
pub mod progress;
pub mod proto;
mod reader;
mod record;
mod run_dir;
mod summary;
mod writer;

pub use atomic::write_atomic;
pub use error::LogError;
pub use histogram::histogram_of;
pub use lock::{LOCK_FILE, RunLock};
pub use params::LogConfig;
pub use progress::{Progress, ProgressMode, ProgressStats};
pub use proto::Event;
pub use reader::{event_files, read_events, truncate_after};
pub use record::masked_crc32c;
pub use run_dir::{CHECKPOINTS_DIR, CONFIG_FILE, RunDir, SUMMARY_FILE};
pub use sparq_prune::SparsityReport;
pub use summary::{EvalPoint, EvalStats, Summary};
pub use writer::{DEFAULT_FLUSH_INTERVAL, EventWriter, FILE_VERSION};
