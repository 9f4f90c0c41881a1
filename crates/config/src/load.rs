//! Reading a config: file -> TOML table -> overrides -> typed [`Config`], with one-line errors
//! that name the file (and line/col) or the dotted key.

use crate::overrides::Override;
use crate::{Config, ConfigError};
use serde_path_to_error::Segment;
use std::path::Path;
use toml::Table;

impl Config {
    /// Reads `path`, applies `overrides` (`section.key=value`, in order) and deserializes.
    /// No range checks: call [`Config::check`] for those.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: origin.clone(),
            source,
        })?;
        Self::from_toml_str(&text, &origin, overrides)
    }

    /// Like [`Config::load`] on text already read; `origin` names it in error messages.
    pub fn from_toml_str(
        text: &str,
        origin: &str,
        overrides: &[String],
    ) -> Result<Config, ConfigError> {
        let mut table = parse_table(text, origin)?;
        let overrides = overrides
            .iter()
            .map(|spec| Override::parse(spec))
            .collect::<Result<Vec<_>, _>>()?;
        for o in &overrides {
            o.apply(&mut table)?;
        }
        deserialize(table, origin, &overrides)
    }

    /// The fully resolved config, every key with its value: what a run directory stores.
    /// [`Config::from_toml_str`] on it gives back an equal config.
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        toml::to_string_pretty(self).map_err(|e| ConfigError::Serialize(one_line(&e.to_string())))
    }
}

fn parse_table(text: &str, origin: &str) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|e| {
        let (line, col) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        ConfigError::Syntax {
            origin: origin.to_owned(),
            line,
            col,
            message: one_line(e.message()),
        }
    })
}

/// 1-based line and column (in chars) of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn deserialize(table: Table, origin: &str, overrides: &[Override]) -> Result<Config, ConfigError> {
    let err = match serde_path_to_error::deserialize::<_, Config>(table) {
        Ok(config) => return Ok(config),
        Err(err) => err,
    };
    let mut key: Vec<String> = err
        .path()
        .iter()
        .filter_map(|segment| match segment {
            Segment::Map { key } => Some(key.clone()),
            Segment::Seq { index } => Some(format!("[{index}]")),
            Segment::Enum { variant } => Some(variant.clone()),
            Segment::Unknown => None,
        })
        .collect();
    let raw = one_line(err.inner().message());
    let (message, unknown_key) = match parse_unknown(&raw, "unknown field `") {
        Some((name, known)) => {
            // serde_path_to_error's path already ends in the unknown key; `[..len - 1]` below
            // names the table holding it.
            if key.last() != Some(&name) {
                key.push(name.clone());
            }
            let what = if key.len() == 1 { "section" } else { "key" };
            let message = format!("unknown {what} '{name}' (known: {known})");
            (message, true)
        }
        None => match parse_unknown(&raw, "unknown variant `") {
            Some((name, known)) => (format!("unknown value '{name}' (allowed: {known})"), false),
            None => (raw, false),
        },
    };
    // For an unknown key the message names the table holding it, not the key itself.
    let shown = if unknown_key {
        dotted(&key[..key.len() - 1])
    } else {
        dotted(&key)
    };
    match overrides.iter().rev().find(|o| o.explains(&key)) {
        Some(o) => Err(ConfigError::Override {
            spec: o.spec.clone(),
            message: format!("{shown}: {message}"),
        }),
        None => Err(ConfigError::Key {
            origin: origin.to_owned(),
            key: shown,
            message,
        }),
    }
}

/// Splits serde's "unknown field `x`, expected one of `a`, `b`" (or "unknown variant ...") into
/// the name and the comma-separated known names.
fn parse_unknown(message: &str, prefix: &str) -> Option<(String, String)> {
    let rest = message.strip_prefix(prefix)?;
    let (name, expected) = rest.split_once('`')?;
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let known = if known.is_empty() {
        "none".to_owned()
    } else {
        known.join(", ")
    };
    Some((name.to_owned(), known))
}

/// `["network", "hidden", "[1]"]` -> `network.hidden[1]`.
fn dotted(key: &[String]) -> String {
    let mut out = String::new();
    for segment in key {
        if !out.is_empty() && !segment.starts_with('[') {
            out.push('.');
        }
        out.push_str(segment);
    }
    out
}

/// Parser and serde messages are one line in practice; join any extra lines defensively.
fn one_line(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.join("; ")
}
