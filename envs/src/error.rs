//! The crate's error type: every fallible call returns `Result<_, EnvError>`.

/// What went wrong, in one line naming the environment and the allowed values.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("unknown environment id '{id}'; known ids: {known}")]
    UnknownId {
        id: String,
        /// Comma-separated list of every registered id.
        known: String,
    },

    #[error("{env}: invalid state, expected {expected} values, got {got}")]
    StateLength {
        env: String,
        expected: usize,
        got: usize,
    },

    #[error("{env}: invalid state, value at index {index} is {value}, not finite")]
    NonFiniteState {
        env: String,
        index: usize,
        value: f64,
    },

    #[error("{env}: action {action} out of range, allowed 0..{num_actions}")]
    ActionOutOfRange {
        env: String,
        action: usize,
        num_actions: usize,
    },

    #[error("{env}: expected {expected} actions (one per environment), got {got}")]
    ActionCount {
        env: String,
        expected: usize,
        got: usize,
    },

    #[error("{env}: num_envs must be at least 1, got {got}")]
    NumEnvs { env: String, got: usize },

    #[error("{env}: step called before the first reset")]
    NotReset { env: String },

    #[error("{env}: snapshot error: {reason}")]
    Snapshot { env: String, reason: String },

    #[error("cannot register environment '{id}': {why}")]
    Register { id: String, why: String },

    #[error("{env}: {what}")]
    Worker { env: String, what: String },

    #[error("{env}: {operation} is not supported")]
    Unsupported {
        env: String,
        /// The operation refused, e.g. `set_state`.
        operation: &'static str,
    },
}

impl EnvError {
    /// Checks `action` against `0..num_actions` (the `Env` trait's `step` cannot return errors,
    /// so callers holding user input validate with this first).
    pub fn check_action(env: &str, action: usize, num_actions: usize) -> Result<(), EnvError> {
        if action < num_actions {
            Ok(())
        } else {
            Err(EnvError::ActionOutOfRange {
                env: env.to_string(),
                action,
                num_actions,
            })
        }
    }

    /// A snapshot error for `env` with a one-line `reason`.
    pub fn snapshot(env: &str, reason: impl std::fmt::Display) -> EnvError {
        EnvError::Snapshot {
            env: env.to_string(),
            reason: reason.to_string().replace('\n', " "),
        }
    }
}
