//! `--set section.key=value` overrides, applied to the parsed TOML table before deserialization.

use crate::ConfigError;
use toml::{Table, Value};

/// The sections a key path may start with (the fields of [`crate::Config`]).
pub(crate) const SECTIONS: [&str; 6] = ["run", "env", "agent", "network", "prune", "log"];

/// One parsed override: the dotted key split into segments, and its value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Override {
    /// The override as the user wrote it, for error messages.
    pub spec: String,
    pub path: Vec<String>,
    pub value: Value,
}

impl Override {
    /// Parses `section.key[.subkey...]=value`. The value is read as a TOML value
    /// (`[64, 64]`, `1e-3`, `true`, `"x"`); anything that is not valid TOML is taken as a plain
    /// string, so `env.id=Acrobot-v1` works unquoted.
    pub fn parse(spec: &str) -> Result<Self, ConfigError> {
        let err = |message: String| ConfigError::Override {
            spec: spec.to_owned(),
            message,
        };
        let (key, raw) = spec
            .split_once('=')
            .ok_or_else(|| err("expected section.key=value (no '=')".to_owned()))?;
        let path: Vec<String> = key.trim().split('.').map(str::to_owned).collect();
        if path.len() < 2 {
            return Err(err(format!(
                "key '{}' needs a section, as in agent.lr=1e-3 (sections: {})",
                crate::error::clip(key.trim()),
                SECTIONS.join(", ")
            )));
        }
        if let Some(bad) = path.iter().find(|s| !is_bare_key(s)) {
            return Err(err(format!(
                "'{}' is not a key name (letters, digits, '_' and '-' only)",
                crate::error::clip(bad)
            )));
        }
        if !SECTIONS.contains(&path[0].as_str()) {
            return Err(err(format!(
                "unknown section '{}' (known: {})",
                crate::error::clip(&path[0]),
                SECTIONS.join(", ")
            )));
        }
        let raw = raw.trim();
        let value = raw
            .parse::<Value>()
            .unwrap_or_else(|_| Value::String(raw.to_owned()));
        Ok(Self {
            spec: spec.to_owned(),
            path,
            value,
        })
    }

    /// Sets the value in `root`, creating missing tables on the way.
    pub fn apply(&self, root: &mut Table) -> Result<(), ConfigError> {
        let (last, parents) = self
            .path
            .split_last()
            .expect("parse guarantees at least two segments");
        let mut table = root;
        for (depth, segment) in parents.iter().enumerate() {
            let entry = table
                .entry(segment.clone())
                .or_insert_with(|| Value::Table(Table::new()));
            table = match entry {
                Value::Table(t) => t,
                other => {
                    return Err(ConfigError::Override {
                        spec: self.spec.clone(),
                        message: format!(
                            "'{}' is a {}, not a table",
                            self.path[..=depth].join("."),
                            other.type_str()
                        ),
                    });
                }
            };
        }
        table.insert(last.clone(), self.value.clone());
        Ok(())
    }

    /// Whether an error at dotted `key` was caused by this override: the key is this override's
    /// path or a prefix of it naming at least `section.key`.
    pub fn explains(&self, key: &[String]) -> bool {
        key.len() >= 2 && self.path.starts_with(key)
    }
}

fn is_bare_key(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
