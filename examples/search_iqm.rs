//! IQM with 95 % stratified-bootstrap CIs (the `sparq-stats` crate, as rliable) of each
//! allocation's greedy return over several `sparq prune --search dqn` results, one per source
//! policy: `cargo run --example search_iqm -- OUT1/search.json OUT2/search.json ...`.

use anyhow::{Context, Result, bail};
use sparq_stats::{Aggregate, Scores, interval_estimates};

fn main() -> Result<()> {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        bail!("usage: search_iqm SEARCH_JSON...");
    }
    // method → one return per source policy, in file order; plus the search's evaluation time.
    let mut methods: Vec<(String, Vec<f64>)> = Vec::new();
    let (mut eval_s, mut total_s, mut evaluations) = (Vec::new(), Vec::new(), Vec::new());
    for f in &files {
        let text = std::fs::read_to_string(f).with_context(|| f.clone())?;
        let v: serde_json::Value = serde_json::from_str(&text).with_context(|| f.clone())?;
        let rows = v["rows"]
            .as_array()
            .with_context(|| format!("{f}: no rows"))?;
        let mut dense = vec![("dense".to_string(), v["dense"]["return_mean"].as_f64())];
        dense.extend(rows.iter().map(|r| {
            (
                r["method"].as_str().unwrap_or("?").to_string(),
                r["eval"]["return_mean"].as_f64(),
            )
        }));
        for (name, ret) in dense {
            let ret = ret.with_context(|| format!("{f}: {name} has no return"))?;
            match methods.iter_mut().find(|(n, _)| *n == name) {
                Some((_, v)) => v.push(ret),
                None => methods.push((name, vec![ret])),
            }
        }
        eval_s.push(v["search"]["eval_seconds"].as_f64().unwrap_or(f64::NAN));
        total_s.push(v["search"]["total_seconds"].as_f64().unwrap_or(f64::NAN));
        evaluations.push(v["search"]["evaluations"].as_u64().unwrap_or(0));
    }
    println!("{} source policies", files.len());
    println!(
        "{:<24} {:>8} {:>18}   returns",
        "allocation", "IQM", "95% CI"
    );
    for (name, returns) in &methods {
        let scores = Scores::from_tasks(vec![returns.clone()]).context("non-finite returns")?;
        let est = interval_estimates(&scores, &[Aggregate::Iqm], 2000, 0.95, 0);
        let r: Vec<String> = returns.iter().map(|x| format!("{x:.1}")).collect();
        println!(
            "{name:<24} {:>8.1} [{:>7.1}, {:>7.1}]   {}",
            est[0].point,
            est[0].lo,
            est[0].hi,
            r.join(" ")
        );
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "search time per policy: {:.1} s, of it {:.1} s evaluating allocations ({:.1} distinct evaluations)",
        mean(&total_s),
        mean(&eval_s),
        evaluations.iter().sum::<u64>() as f64 / evaluations.len() as f64
    );
    Ok(())
}
