//! Reads event files back, checking every record's checksums.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use prost::Message;

use crate::LogError;
use crate::proto::Event;
use crate::record::{ReadRecord, read_record};

/// Reads every event of one event file, in order. Fails on the first damaged record
/// ([`LogError::Corrupt`]), a file that ends inside a record ([`LogError::Truncated`], whose
/// offset is the length of the intact prefix), or a record that does not decode as an Event.
pub fn read_events(path: &Path) -> Result<Vec<Event>, LogError> {
    let file = File::open(path).map_err(|e| LogError::io("open", path, e))?;
    let mut input = BufReader::new(file);
    let mut events = Vec::new();
    let mut offset = 0u64;
    loop {
        let record = read_record(&mut input).map_err(|e| LogError::io("read", path, e))?;
        let data = match record {
            ReadRecord::Data(data) => data,
            ReadRecord::Eof => return Ok(events),
            ReadRecord::Truncated => {
                return Err(LogError::Truncated {
                    path: path.to_owned(),
                    offset,
                });
            }
            ReadRecord::Corrupt(what) => {
                return Err(LogError::Corrupt {
                    path: path.to_owned(),
                    offset,
                    what,
                });
            }
        };
        let event = Event::decode(data.as_slice()).map_err(|source| LogError::Decode {
            path: path.to_owned(),
            offset,
            source,
        })?;
        events.push(event);
        offset += 16 + data.len() as u64;
    }
}

/// The event files in `dir` (names containing "tfevents", as TensorBoard matches them), sorted by
/// name, which orders them by creation time.
pub fn event_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, LogError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LogError::io("list", dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| LogError::io("list", dir, e))?;
        let is_events = entry.file_name().to_string_lossy().contains("tfevents");
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_events && is_file {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Cuts an event file back to the events logged at steps ≤ `step` (plus its file-version
/// header), dropping a torn last record too: what a resumed run does to the files of the session
/// it continues, so no step is logged twice. Returns the number of events dropped.
pub fn truncate_after(path: &Path, step: i64) -> Result<usize, LogError> {
    let file = File::open(path).map_err(|e| LogError::io("open", path, e))?;
    let mut input = BufReader::new(file);
    let (mut offset, mut keep_until, mut dropped) = (0u64, 0u64, 0usize);
    loop {
        let data = match read_record(&mut input).map_err(|e| LogError::io("read", path, e))? {
            ReadRecord::Data(data) => data,
            ReadRecord::Eof | ReadRecord::Truncated => break,
            ReadRecord::Corrupt(what) => {
                return Err(LogError::Corrupt {
                    path: path.to_owned(),
                    offset,
                    what,
                });
            }
        };
        let event = Event::decode(data.as_slice()).map_err(|source| LogError::Decode {
            path: path.to_owned(),
            offset,
            source,
        })?;
        offset += 16 + data.len() as u64;
        if event.file_version().is_some() || event.step <= step {
            if dropped == 0 {
                keep_until = offset;
            }
        } else {
            dropped += 1;
        }
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| LogError::io("open", path, e))?;
    file.set_len(keep_until)
        .map_err(|e| LogError::io("truncate", path, e))?;
    file.sync_all().map_err(|e| LogError::io("sync", path, e))?;
    Ok(dropped)
}
