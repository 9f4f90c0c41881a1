//! Every config shipped in configs/ loads and passes check(), and each pruned twin
//! (`*_gmp90.toml`) is its dense twin plus a `[prune]` section and nothing else. Sweep files
//! (configs/sweeps/) are not configs; the sweep crate's tests check them.

use std::path::{Path, PathBuf};

use sparq_config::Config;

fn configs() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                if !p.ends_with("sweeps") {
                    walk(&p, out);
                }
            } else if p.extension().is_some_and(|e| e == "toml") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs"),
        &mut out,
    );
    out.sort();
    out
}

#[test]
fn every_shipped_config_checks() {
    let all = configs();
    assert!(
        all.len() >= 4,
        "configs/ should hold the shipped experiments"
    );
    for path in all {
        let cfg = Config::load(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
        cfg.check()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

#[test]
fn pruned_twins_differ_only_in_prune() {
    let mut pairs = 0;
    for pruned in configs()
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with("_gmp90.toml"))
    {
        let name = pruned.to_string_lossy().replace("_gmp90.toml", "");
        let dense = [format!("{name}.toml"), format!("{name}_dense.toml")]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{} has no dense twin", pruned.display()));
        let (mut p, d) = (
            Config::load(&pruned, &[]).unwrap(),
            Config::load(&dense, &[]).unwrap(),
        );
        assert_ne!(p.prune, d.prune, "{} prunes nothing", pruned.display());
        p.prune = d.prune.clone();
        assert_eq!(
            p,
            d,
            "{} differs from {} outside [prune]",
            pruned.display(),
            dense.display()
        );
        pairs += 1;
    }
    assert!(pairs >= 2);
}
