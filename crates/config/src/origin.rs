//! Where a config's values came from — its file, and the `--set` overrides applied on top — so a
//! range error can name the file, or the `--set` that gave the bad value (issue 17).

use crate::ConfigError;

/// The file and overrides a [`crate::Config`] was loaded from; empty for one built in code.
///
/// Not part of the experiment: every two origins compare equal, so a config read back from a
/// run directory equals the one that was written.
#[derive(Clone, Debug, Default)]
pub(crate) struct Origin {
    file: Option<String>,
    /// `(dotted key, the override as written)`, in the order applied.
    sets: Vec<(String, String)>,
}

impl PartialEq for Origin {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Origin {
    pub fn new(file: &str, sets: Vec<(String, String)>) -> Origin {
        Origin {
            file: Some(file.to_owned()),
            sets,
        }
    }

    /// `error` with where its value came from: the last `--set` of its key (or of the list its
    /// key indexes), else the file; unchanged for a config built in code.
    pub fn locate(&self, error: ConfigError) -> ConfigError {
        if let Some(key) = error.key() {
            let set = self.sets.iter().rev().find(|(k, _)| {
                key == k
                    || key
                        .strip_prefix(k.as_str())
                        .is_some_and(|r| r.starts_with('['))
            });
            if let Some((k, spec)) = set {
                return ConfigError::Located {
                    at: format!("--set {}", crate::error::clip(spec)),
                    exact_key: key == k,
                    error: Box::new(error),
                };
            }
        }
        match &self.file {
            Some(file) => ConfigError::Located {
                at: file.clone(),
                exact_key: false,
                error: Box::new(error),
            },
            None => error,
        }
    }
}
