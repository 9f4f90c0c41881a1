//! The docs check: every command README and docs/ show must still exist as shown. Each
//! `scripts/…` path is a file in the repo, each `configs/….toml` loads and passes `check()` (a
//! sweep file in `configs/sweeps/` expands with every point checked), and
//! each `sparq SUBCOMMAND --flag` names a subcommand and flags the binary accepts. A rename then
//! fails here instead of leaving a stale page.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// README, scripts/README.md and every page in docs/.
fn pages() -> Vec<(String, String)> {
    let mut paths = vec![root().join("README.md"), root().join("scripts/README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.strip_prefix(root()).unwrap().display().to_string(), text)
        })
        .collect()
}

/// Paths that docs show only inside example error messages.
const EXAMPLE_PATHS: &[&str] = &["configs/x.toml"];

/// Words of a page with the punctuation around them (backticks, brackets, commas) cut off.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_whitespace() || "`|()[]<>\"',;".contains(c))
        .map(|w| w.trim_end_matches([':', '.']))
        .filter(|w| !w.is_empty())
}

#[test]
fn every_script_and_config_the_docs_name_exists() {
    let mut missing = Vec::new();
    let mut configs = BTreeSet::new();
    for (page, text) in pages() {
        for w in words(&text) {
            // Placeholders (`configs/minatar/<game>_dqn.toml`) and globs are not paths.
            if w.contains('*') || w.contains('{') || w.contains("NAME") || w.ends_with('/') {
                continue;
            }
            let w = w.split('#').next().unwrap_or(w);
            if EXAMPLE_PATHS.iter().any(|e| w.starts_with(e)) {
                continue;
            }
            if (w.starts_with("scripts/") || w.starts_with("configs/")) && !root().join(w).exists()
            {
                missing.push(format!("{page}: {w}"));
            }
            if w.starts_with("configs/") && w.ends_with(".toml") && root().join(w).is_file() {
                configs.insert(w.to_owned());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named in the docs but not in the repo: {missing:#?}"
    );
    for c in &configs {
        // A sweep file is checked as one: it expands, and each point's config loads and checks.
        if c.starts_with("configs/sweeps/") {
            sparq_sweep::Plan::from_file(&root().join(c)).unwrap_or_else(|e| panic!("{c}: {e}"));
            continue;
        }
        let config =
            sparq_config::Config::load(&root().join(c), &[]).unwrap_or_else(|e| panic!("{c}: {e}"));
        config.check().unwrap_or_else(|e| panic!("{c}: {e}"));
    }
    assert!(configs.len() >= 5, "the docs show configs: {configs:?}");
}

/// `--help` of `sparq SUB`; for `env`, of all its subcommands (docs list them as `a | b`).
fn help(sub: &str, cache: &mut BTreeMap<String, Option<String>>) -> Option<String> {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sparq"))
            .args(args)
            .arg("--help")
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    cache
        .entry(sub.to_owned())
        .or_insert_with(|| match sub {
            "env" => Some(
                ["list", "replay", "rollout", "bench"]
                    .iter()
                    .filter_map(|inner| run(&["env", inner]))
                    .collect(),
            ),
            _ => run(&[sub]),
        })
        .clone()
}

#[test]
fn every_sparq_command_line_in_the_docs_parses() {
    let mut bad = Vec::new();
    let mut checked = 0;
    let mut cache = BTreeMap::new();
    for (page, text) in pages() {
        for line in text.lines() {
            let mut ws: Vec<&str> = words(line).collect();
            let Some(start) = ws
                .iter()
                .position(|w| *w == "sparq" || *w == "scripts/sparq")
            else {
                continue;
            };
            ws.drain(..=start);
            let Some(&sub) = ws.first() else { continue };
            if !sub.chars().all(|c| c.is_ascii_lowercase()) {
                continue; // prose ("sparq is …", "sparq's …") names no command
            }
            let Some(usage) = help(sub, &mut cache) else {
                if ["train", "eval", "prune", "export", "env"].contains(&sub) {
                    bad.push(format!("{page}: `sparq {sub}` is not a command"));
                }
                continue;
            };
            checked += 1;
            for flag in ws.iter().filter(|w| w.starts_with("--") && w.len() > 2) {
                let flag = flag.split('=').next().unwrap_or(flag);
                if !usage.contains(flag) {
                    bad.push(format!("{page}: `sparq {sub}` has no {flag}"));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
    assert!(checked >= 10, "only {checked} command lines found");
}
