//! Writes TensorBoard event files: buffered, flushed every few seconds and on drop, every I/O
//! error returned with the file's name.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prost::Message;

use crate::LogError;
use crate::histogram::histogram_of;
use crate::proto::{Event, HistogramProto, SessionLog, SessionStatus, Summary, SummaryValue};
use crate::proto::{event::What, summary_value::Kind};
use crate::record::write_record;

/// The version TensorBoard expects in the first record; version 2 enables restart handling.
pub const FILE_VERSION: &str = "brain.Event:2";
/// How often buffered events are handed to the OS unless set otherwise (TensorBoard itself
/// polls every 5 s).
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(5);
const BUFFER_BYTES: usize = 64 * 1024;

/// Appends events to one new `events.out.tfevents.*` file.
pub struct EventWriter {
    path: PathBuf,
    out: BufWriter<File>,
    /// Set by `close`, so drop does not flush a second time.
    closed: bool,
    /// A write failed and the caller got the error.
    failed: bool,
    flush_interval: Duration,
    last_flush: Instant,
    scratch: Vec<u8>,
}

impl EventWriter {
    /// Creates `dir` if needed and a new event file in it, named
    /// `events.out.tfevents.<unix_secs>.<hostname>.<pid>.<counter, 4 digits>`, and writes the
    /// file-version record. Never overwrites an existing file.
    pub fn create(dir: &Path) -> Result<EventWriter, LogError> {
        std::fs::create_dir_all(dir).map_err(|e| LogError::io("create directory", dir, e))?;
        // Distinguishes writers created by one process within one second; zero-padded so that
        // name order is creation order (TensorBoard reads a directory's files in name order).
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "events.out.tfevents.{}.{}.{}.{:04}",
            unix_now().as_secs(),
            hostname(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = dir.join(name);
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| LogError::io("create", &path, e))?;
        let mut writer = EventWriter {
            path,
            out: BufWriter::with_capacity(BUFFER_BYTES, file),
            closed: false,
            failed: false,
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            last_flush: Instant::now(),
            scratch: Vec::new(),
        };
        writer.write_event(0, What::FileVersion(FILE_VERSION.to_owned()))?;
        // Make the file valid on disk at once, and surface a full disk now rather than later.
        writer.flush()?;
        Ok(writer)
    }

    /// Sets how long events may sit in the buffer before being handed to the OS.
    pub fn with_flush_interval(mut self, interval: Duration) -> EventWriter {
        self.flush_interval = interval;
        self
    }

    /// The event file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Logs one scalar. TensorBoard stores scalars as f32, so `value` is rounded to f32.
    pub fn add_scalar(&mut self, tag: &str, value: f64, step: i64) -> Result<(), LogError> {
        self.add_scalars(&[(tag, value)], step)
    }

    /// Logs several scalars at one step in a single record.
    pub fn add_scalars(&mut self, values: &[(&str, f64)], step: i64) -> Result<(), LogError> {
        let value = values
            .iter()
            .map(|&(tag, v)| SummaryValue {
                tag: tag.to_owned(),
                kind: Some(Kind::SimpleValue(v as f32)),
            })
            .collect();
        self.write_event(step, What::Summary(Summary { value }))
    }

    /// Logs a histogram of the finite entries of `values` (see [`histogram_of`]).
    pub fn add_histogram(&mut self, tag: &str, values: &[f32], step: i64) -> Result<(), LogError> {
        self.add_histogram_proto(tag, histogram_of(values), step)
    }

    /// Logs a histogram built elsewhere.
    pub fn add_histogram_proto(
        &mut self,
        tag: &str,
        histogram: HistogramProto,
        step: i64,
    ) -> Result<(), LogError> {
        let value = vec![SummaryValue {
            tag: tag.to_owned(),
            kind: Some(Kind::Histo(histogram)),
        }];
        self.write_event(step, What::Summary(Summary { value }))
    }

    /// Records that the run (re)starts at `step`: TensorBoard then discards events at or after
    /// `step` written before this record, so a run resumed from a checkpoint shows no duplicates.
    pub fn mark_restart(&mut self, step: i64) -> Result<(), LogError> {
        let log = SessionLog {
            status: SessionStatus::Start as i32,
            ..Default::default()
        };
        self.write_event(step, What::SessionLog(log))
    }

    /// Hands buffered events to the OS (visible to TensorBoard, not yet forced to disk).
    pub fn flush(&mut self) -> Result<(), LogError> {
        self.last_flush = Instant::now();
        let flushed = self.out.flush();
        // The error goes to the caller once; a later drop does not repeat it as a warning
        // (a full disk used to print a warning and then the error).
        self.failed |= flushed.is_err();
        flushed.map_err(|e| LogError::io("write", &self.path, e))
    }

    /// Flushes and forces the file to disk, e.g. before writing a checkpoint that refers to it.
    pub fn sync(&mut self) -> Result<(), LogError> {
        self.flush()?;
        self.out
            .get_ref()
            .sync_data()
            .map_err(|e| LogError::io("sync", &self.path, e))
    }

    /// Flushes, syncs and closes the file, reporting any error (drop can only ignore them).
    pub fn close(mut self) -> Result<(), LogError> {
        self.closed = true;
        self.sync()
    }

    fn write_event(&mut self, step: i64, what: What) -> Result<(), LogError> {
        let event = Event {
            wall_time: unix_now().as_secs_f64(),
            step,
            what: Some(what),
        };
        self.scratch.clear();
        event
            .encode(&mut self.scratch)
            .expect("a Vec grows as needed, so encoding cannot run out of space");
        let written = write_record(&mut self.out, &self.scratch);
        self.failed |= written.is_err();
        written.map_err(|e| LogError::io("write", &self.path, e))?;
        if self.last_flush.elapsed() >= self.flush_interval {
            self.flush()?;
        }
        Ok(())
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        if self.closed || self.failed {
            return;
        }
        if let Err(e) = self.flush() {
            // Drop cannot return the error; say so without risking a panic on a closed stderr.
            let _ = writeln!(std::io::stderr(), "warning: {e}");
        }
    }
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// The host name, reduced to characters safe in a file name.
fn hostname() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let clean: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "localhost".to_owned()
    } else {
        clean
    }
}
