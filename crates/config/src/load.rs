//! Reading a config: file -> TOML table -> overrides -> typed [`Config`], with one-line errors
//! that name the file (and line/col) or the dotted key.

use crate::error::clip;
use crate::origin::Origin;
use crate::overrides::Override;
use crate::{Config, ConfigError};
use serde_path_to_error::Segment;
use sparq_params::ParamError;
use std::path::Path;
use toml::Table;

impl Config {
    /// Reads `path`, applies `overrides` (`section.key=value`, in order) and deserializes.
    /// No range checks: call [`Config::check`] for those.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let text = read_config(path).map_err(|source| ConfigError::Io {
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
        let mut config = deserialize(table, origin, &overrides)?;
        let sets = overrides
            .iter()
            .map(|o| (o.path.join("."), o.spec.clone()))
            .collect();
        config.origin = Origin::new(origin, sets);
        Ok(config)
    }

    /// The fully resolved config, every key with its value: what a run directory stores.
    /// [`Config::from_toml_str`] on it gives back an equal config.
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        toml::to_string_pretty(self).map_err(|e| ConfigError::Serialize(one_line(&e.to_string())))
    }
}

/// Largest config file read: real configs are a few KB, and `/dev/zero` must not be read forever.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads a config file: a regular file only (opened without blocking, so a FIFO is refused at
/// once instead of waiting for a writer), at most [`MAX_CONFIG_BYTES`].
fn read_config(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    let t = meta.file_type();
    if !t.is_file() {
        let kind = if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else {
            "not a plain file"
        };
        let msg = format!("not a regular file ({kind})");
        return Err(Error::new(ErrorKind::InvalidInput, msg));
    }
    let too_large = || {
        let msg = format!("larger than the {MAX_CONFIG_BYTES} bytes a config may hold");
        Error::new(ErrorKind::InvalidData, msg)
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|_| Error::new(ErrorKind::InvalidData, "not UTF-8 text"))
}

fn parse_table(text: &str, origin: &str) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|e| {
        let (line, col) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        if e.message().contains("too large") {
            if let Some(err) = integer_too_large(text, line, &format!("{origin}:{line}:{col}")) {
                return err;
            }
        }
        ConfigError::Syntax {
            origin: origin.to_owned(),
            line,
            col,
            message: one_line(e.message()),
        }
    })
}

/// TOML integers are i64: a larger one fails to parse, with no key named. Name the key (from
/// the line and the table header above it) and its range; `run.seed` may be quoted instead.
fn integer_too_large(text: &str, line: usize, at: &str) -> Option<ConfigError> {
    let lines: Vec<&str> = text.lines().collect();
    let (key, value) = lines.get(line.checked_sub(1)?)?.split_once('=')?;
    let key = key.trim().trim_matches('"');
    let value = value.trim().split([' ', '\t', '#', ',']).next()?;
    let section = lines[..line - 1].iter().rev().find_map(|l| {
        let l = l.trim();
        l.strip_prefix('[')?.strip_suffix(']').map(str::trim)
    });
    let key = match section {
        Some(section) => format!("{section}.{key}"),
        None => key.to_owned(),
    };
    let error = if key == "run.seed" {
        ParamError::Invalid {
            key,
            value: clip(value),
            requirement: format!(
                "is above TOML's integer range (at most {}); quote it, seed = \"{}\", for the full u64 range",
                i64::MAX,
                clip(value)
            ),
        }
    } else {
        ParamError::Range {
            allowed: crate::check::allowed_range(&key),
            key: clip(&key),
            value: clip(value),
        }
    };
    Some(ConfigError::Located {
        at: at.to_owned(),
        exact_key: false,
        error: Box::new(error.into()),
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
    if let Some(value) = digits_too_large(&raw) {
        // A u64 above i64::MAX reaches serde as a string (TOML cannot hold it as an integer).
        let key = dotted(&key);
        let error = ParamError::Range {
            allowed: crate::check::allowed_range(&key),
            key,
            value,
        };
        let located = overrides
            .iter()
            .rev()
            .find(|o| o.path.join(".") == error.key())
            .map(|o| (format!("--set {}", clip(&o.spec)), true));
        let (at, exact_key) = located.unwrap_or_else(|| (origin.to_owned(), false));
        return Err(ConfigError::Located {
            at,
            exact_key,
            error: Box::new(error.into()),
        });
    }
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
    let name = clip(name);
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let known = if known.is_empty() {
        "none".to_owned()
    } else {
        known.join(", ")
    };
    Some((name.to_owned(), known))
}

/// The digits of serde's `invalid type: string "18446744073709551615", expected u64`: an
/// unsigned integer given where TOML could only keep it as a string.
fn digits_too_large(message: &str) -> Option<String> {
    let rest = message.strip_prefix("invalid type: string \"")?;
    let (digits, expected) = rest.split_once('"')?;
    let unsigned = [", expected u64", ", expected u32", ", expected usize"];
    let is_number = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    (is_number && unsigned.contains(&expected)).then(|| clip(digits))
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
