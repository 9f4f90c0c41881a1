//! configs/reference.toml documents every key with its default: keep it in step with the code.

use sparq_config::Config;
use std::path::PathBuf;
use toml::{Table, Value};

fn reference_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs/reference.toml")
}

#[test]
fn reference_config_equals_the_defaults() {
    let c = Config::load(&reference_path(), &[]).unwrap();
    assert_eq!(c, Config::default());
    c.check().unwrap();
}

/// Dotted paths of every key in a table, tables included.
fn keys(table: &Table, prefix: &str, out: &mut Vec<String>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if let Value::Table(t) = v {
            keys(t, &path, out);
        }
        out.push(path);
    }
}

#[test]
fn reference_config_lists_every_key_explicitly() {
    let text = std::fs::read_to_string(reference_path()).unwrap();
    let reference: Table = text.parse().unwrap();
    let defaults: Table = Config::default().to_toml_string().unwrap().parse().unwrap();
    let (mut want, mut have) = (Vec::new(), Vec::new());
    keys(&defaults, "", &mut want);
    keys(&reference, "", &mut have);
    want.sort();
    have.sort();
    assert_eq!(have, want);
    // Every key line carries a comment saying what it means.
    for line in text.lines().filter(|l| l.contains(" = ")) {
        assert!(line.contains('#'), "undocumented key: {line}");
    }
}
