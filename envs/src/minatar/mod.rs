//! MinAtar games (placeholder until the games land; the registry lists none yet).
use crate::Env;

/// Registered ids, e.g. `MinAtar/Breakout-v1`.
pub const IDS: &[&str] = &[];

/// Builds the game registered as `id`, or `None` if no MinAtar game has that id.
pub fn make(_id: &str) -> Option<Box<dyn Env>> {
    None
}
