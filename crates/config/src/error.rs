//! The one error type of this crate; every variant displays as a single line.

use thiserror::Error;

/// Why a config could not be read, parsed, overridden or validated.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The config file is missing or unreadable.
    #[error("{path}: cannot read config file: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// The file is not valid TOML; `line`/`col` are 1-based (0 when the parser gave no position).
    #[error("{}", syntax_line(.origin, *.line, *.col, .message))]
    Syntax {
        origin: String,
        line: usize,
        col: usize,
        message: String,
    },

    /// A key has the wrong type, an unknown name or an unknown value; `key` is dotted (`agent.lr`),
    /// empty for an unknown section.
    #[error("{}", key_line(.origin, .key, .message))]
    Key {
        origin: String,
        key: String,
        message: String,
    },

    /// A `--set section.key=value` override is malformed or names an unknown/ill-typed key.
    #[error("override '{}': {}", one_line(.spec), one_line(.message))]
    Override { spec: String, message: String },

    /// A numeric value lies outside its allowed range.
    #[error("{key} = {value} is out of range: allowed {allowed}")]
    Range {
        key: String,
        value: String,
        allowed: String,
    },

    /// A value breaks a requirement that is not a plain range (`must be > 0 and finite`, ...).
    #[error("{key} = {value} {requirement}")]
    Invalid {
        key: String,
        value: String,
        requirement: String,
    },

    /// The `[prune]` section does not resolve against this run's training length.
    /// Transparent: its message is the whole line, so it must not also come back as a cause.
    #[error(transparent)]
    Prune(#[from] sparq_prune::PruneError),

    /// The resolved config could not be written as TOML.
    #[error("cannot write config as TOML: {0}")]
    Serialize(String),
}

fn syntax_line(origin: &str, line: usize, col: usize, message: &str) -> String {
    if line == 0 {
        format!("{origin}: {message}")
    } else {
        format!("{origin}:{line}:{col}: {message}")
    }
}

/// Keys and messages can quote user text (an unknown key may contain a newline): escaped, so the
/// error stays one line.
fn key_line(origin: &str, key: &str, message: &str) -> String {
    let message = one_line(message);
    if key.is_empty() {
        format!("{origin}: {message}")
    } else {
        format!("{origin}: {}: {message}", one_line(key))
    }
}

/// `s` with control characters (newlines included) escaped, other text as is.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
