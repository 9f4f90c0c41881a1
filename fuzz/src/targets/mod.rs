//! One module per reader under test.

pub mod checkpoint;
pub mod config;
pub mod prune;
pub mod replay;
pub mod vecenv;
