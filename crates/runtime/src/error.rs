//! The runtime's one error type: a kind (mapped to C error codes) and a one-line message.

use std::fmt;

/// What went wrong, coarse enough to be a C error code (see `include/sparq_runtime.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ErrorKind {
    /// A null pointer or otherwise unusable argument (C ABI only).
    InvalidArgument = 1,
    /// The file could not be read.
    Io = 2,
    /// Not a policy file, truncated, corrupted (checksum), or inconsistent contents.
    Format = 3,
    /// A policy file of a format version this runtime does not read.
    Version = 4,
    /// An observation buffer whose length is not a positive multiple of the observation length.
    ObsLength = 5,
    /// An output buffer of the wrong length.
    OutputLength = 6,
    /// A bug: a panic caught at the C boundary.
    Internal = 7,
}

/// An error of the runtime; displays as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    pub(crate) fn format(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Format, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
