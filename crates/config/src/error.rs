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
    #[error("override '{}': {}", one_line(&clip(.spec)), one_line(.message))]
    Override { spec: String, message: String },

    /// A value outside its allowed range, or breaking a requirement (`must be > 0 and finite`),
    /// found by the check of its section. Transparent: its message is the whole line.
    #[error(transparent)]
    Param(#[from] sparq_params::ParamError),

    /// The `[prune]` section does not resolve against this run's training length.
    /// Transparent: its message is the whole line, so it must not also come back as a cause.
    #[error(transparent)]
    Prune(#[from] sparq_prune::PruneError),

    /// The resolved config could not be written as TOML.
    #[error("cannot write config as TOML: {0}")]
    Serialize(String),

    /// The run would need more memory than the machine has available now.
    #[error(
        "estimated memory {estimate} exceeds the {available} available ({limit}); {advice}, or set run.allow_large_memory = true"
    )]
    Memory {
        estimate: String,
        available: String,
        limit: String,
        advice: String,
    },

    /// A `check` error with where its value came from: `FILE: key = value ...`, or, when
    /// `exact_key`, `--set key=value: requirement` (the override already shows key and value).
    #[error("{}", located_line(.at, *.exact_key, .error))]
    Located {
        at: String,
        exact_key: bool,
        error: Box<ConfigError>,
    },
}

impl ConfigError {
    /// The error without where its value came from (`check` names the file or `--set`).
    pub fn unlocated(&self) -> &ConfigError {
        match self {
            ConfigError::Located { error, .. } => error,
            other => other,
        }
    }

    /// The dotted key a range or requirement error is about.
    pub(crate) fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Param(e) => Some(e.key()),
            ConfigError::Prune(sparq_prune::PruneError::OutOfRange { key, .. }) => Some(key),
            _ => None,
        }
    }

    /// What is wrong with the value, without `key = value` (for a `--set` that shows both).
    fn detail(&self) -> Option<String> {
        match self {
            ConfigError::Param(e) => Some(e.detail()),
            ConfigError::Prune(sparq_prune::PruneError::OutOfRange { allowed, .. }) => {
                Some(format!("out of range: allowed {allowed}"))
            }
            _ => None,
        }
    }
}

fn located_line(at: &str, exact_key: bool, error: &ConfigError) -> String {
    match error.detail().filter(|_| exact_key) {
        Some(detail) => format!("{at}: {detail}"),
        None => format!("{at}: {error}"),
    }
}

/// Longest user text echoed in a message: an unknown 10 MB key must not become a 10 MB line.
const ECHO_MAX_CHARS: usize = 64;

/// `s`, cut to its first [`ECHO_MAX_CHARS`] characters plus "…" when longer.
pub(crate) fn clip(s: &str) -> String {
    match s.char_indices().nth(ECHO_MAX_CHARS) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
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
        format!("{origin}: {}: {message}", one_line(&clip(key)))
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
