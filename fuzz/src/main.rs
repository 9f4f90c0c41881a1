//! `sparq-fuzz`: mutation-based fuzzing of sparq's readers on stable Rust (no libFuzzer).
//!
//! Without `--worker` it supervises: each target runs in its own child process, so an abort
//! (stack overflow, failed allocation) or a hang is caught too and its input saved, and the
//! summary gives executions, distinct errors, panics and property violations per target.

mod engine;
mod json;
mod mutate;
mod resume;
mod seeds;
mod structured;
mod targets;

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use clap::Parser;

use engine::{CrashDir, Limits, Outcome, Target};

/// Targets and their share of `--seconds`.
const TARGETS: [(&str, f64); 5] = [
    ("config", 3.0),
    ("checkpoint", 3.0),
    ("replay", 1.5),
    ("vecenv", 1.5),
    ("prune", 1.0),
];

#[derive(Parser)]
#[command(about = "Fuzz sparq's config loader and checkpoint readers; exits non-zero on any panic")]
struct Args {
    /// Total seconds, split over the targets by weight (config 3, checkpoint 3, replay 1.5,
    /// vecenv 1.5, prune 1); with one `--target`, all of it.
    #[arg(long)]
    seconds: Option<f64>,
    /// Executions per target (instead of, or as well as, `--seconds`).
    #[arg(long)]
    iterations: Option<u64>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Only these targets (config, checkpoint, replay, vecenv, prune); repeatable.
    #[arg(long)]
    target: Vec<String>,
    /// Where failing inputs are saved.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/crashes"))]
    crash_dir: PathBuf,
    /// Seconds between progress lines.
    #[arg(long, default_value_t = 30)]
    progress: u64,
    /// Runs one saved input of TARGET once and reports what it does: `--replay TARGET FILE`.
    #[arg(long, num_args = 2, value_names = ["TARGET", "FILE"])]
    replay: Option<Vec<String>>,
    /// Shrinks a failing input of TARGET (same panic location or violation); writes FILE.min.
    #[arg(long, num_args = 2, value_names = ["TARGET", "FILE"])]
    minimize: Option<Vec<String>>,
    /// Writes every target's seed corpus into DIR (one file per seed) and exits.
    #[arg(long, value_name = "DIR")]
    dump_seeds: Option<PathBuf>,
    /// Internal: run one target in this process.
    #[arg(long, hide = true)]
    worker: bool,
}

fn make_target(name: &str) -> Result<Box<dyn Target>, String> {
    let configs = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../configs"));
    Ok(match name {
        "config" => {
            Box::new(targets::config::ConfigTarget::new(configs).map_err(|e| e.to_string())?)
        }
        "checkpoint" => {
            Box::new(targets::checkpoint::CheckpointTarget::new().map_err(|e| e.to_string())?)
        }
        "replay" => Box::new(targets::replay::ReplayTarget),
        "vecenv" => Box::new(targets::vecenv::VecEnvTarget::new()),
        "prune" => Box::new(targets::prune::PruneTarget),
        other => {
            return Err(format!(
                "unknown target '{other}' (known: config, checkpoint, replay, vecenv, prune)"
            ));
        }
    })
}

/// The failure an input causes: a panic location or a violation key.
fn failure_of(t: &mut dyn Target, input: &[u8]) -> Option<String> {
    match engine::guarded(|| t.exec(input)) {
        Err((loc, _)) => Some(format!("panic at {loc}")),
        Ok(Outcome::Violation { key, .. }) => Some(format!("violation: {key}")),
        Ok(_) => None,
    }
}

fn replay(target: &str, file: &str) -> Result<ExitCode, String> {
    let mut t = make_target(target)?;
    let input = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    match engine::guarded(|| t.exec(&input)) {
        Err((loc, msg)) => {
            println!("PANIC at {loc}: {msg}");
            Ok(ExitCode::from(1))
        }
        Ok(Outcome::Violation { key, detail }) => {
            println!("VIOLATION {key}: {detail}");
            Ok(ExitCode::from(2))
        }
        Ok(Outcome::Rejected(e)) => {
            println!("rejected: {e}");
            Ok(ExitCode::SUCCESS)
        }
        Ok(Outcome::Accepted(s)) => {
            println!("accepted: {s}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn minimize(target: &str, file: &str) -> Result<ExitCode, String> {
    let mut t = make_target(target)?;
    let input = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let Some(want) = failure_of(t.as_mut(), &input) else {
        return Err(format!("{file} does not fail on target {target}"));
    };
    let small = engine::minimise(&input, |trial| {
        failure_of(t.as_mut(), trial).as_deref() == Some(want.as_str())
    });
    let out = format!("{file}.min");
    std::fs::write(&out, &small).map_err(|e| format!("{out}: {e}"))?;
    println!("{want}\n{} -> {} bytes: {out}", input.len(), small.len());
    Ok(ExitCode::SUCCESS)
}

fn dump_seeds(dir: &std::path::Path) -> Result<ExitCode, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    for (name, _) in TARGETS {
        let mut t = make_target(name)?;
        for (i, seed) in t.seeds().iter().enumerate() {
            std::fs::write(dir.join(format!("{name}-{i:02}.bin")), seed)
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs one target in this process and prints its summary lines.
fn worker(args: &Args) -> Result<ExitCode, String> {
    let [name] = args.target.as_slice() else {
        return Err("--worker needs exactly one --target".into());
    };
    let mut t = make_target(name)?;
    let crashes = CrashDir {
        dir: args.crash_dir.clone(),
    };
    engine::spawn_watchdog(t.name(), args.crash_dir.clone(), Duration::from_secs(30));
    let limits = Limits {
        seconds: args.seconds,
        iterations: args.iterations,
        seed: args.seed,
    };
    let s = engine::run(
        t.as_mut(),
        &limits,
        &crashes,
        Duration::from_secs(args.progress),
    )
    .map_err(|e| e.to_string())?;
    println!(
        "SUMMARY {name} execs={} seconds={:.3} rate={:.1} accepted={} rejected={} distinct_errors={} distinct_accepts={} panics={} violations={}",
        s.execs,
        s.seconds,
        s.execs as f64 / s.seconds.max(1e-9),
        s.accepted,
        s.rejected,
        s.distinct_errors.len(),
        s.distinct_accepts.len(),
        s.panics,
        s.violations
    );
    for (key, (count, note, path)) in &s.failures {
        // Keys and notes can hold fuzzed text: keep the summary readable.
        let key: String = key.chars().take(120).collect();
        let first: String = note
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        println!(
            "FAILURE {name} x{count} {key}\n    {first}\n    input: {}",
            path.display()
        );
    }
    Ok(ExitCode::from(if s.panics > 0 {
        1
    } else if s.violations > 0 {
        2
    } else {
        0
    }))
}

struct Row {
    name: String,
    fields: Vec<(String, String)>,
    status: String,
}

/// Runs each target in a child process; returns the process exit code.
fn supervise(args: &Args) -> Result<ExitCode, String> {
    let chosen: Vec<(&str, f64)> = if args.target.is_empty() {
        TARGETS.to_vec()
    } else {
        args.target
            .iter()
            .map(|t| {
                TARGETS
                    .iter()
                    .find(|(n, _)| n == t)
                    .copied()
                    .ok_or(format!("unknown target '{t}'"))
            })
            .collect::<Result<_, _>>()?
    };
    if args.seconds.is_none() && args.iterations.is_none() {
        return Err("give --seconds N and/or --iterations N".into());
    }
    let total_weight: f64 = chosen.iter().map(|(_, w)| w).sum();
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let mut worst = 0u8;
    for (k, (name, weight)) in chosen.iter().enumerate() {
        let mut cmd = Command::new(&exe);
        cmd.args([
            "--worker",
            "--target",
            name,
            "--seed",
            &(args.seed + k as u64).to_string(),
            "--progress",
            &args.progress.to_string(),
        ]);
        cmd.arg("--crash-dir").arg(&args.crash_dir);
        if let Some(s) = args.seconds {
            cmd.args(["--seconds", &format!("{:.3}", s * weight / total_weight)]);
        }
        if let Some(n) = args.iterations {
            cmd.args(["--iterations", &n.to_string()]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut row = Row {
            name: name.to_string(),
            fields: Vec::new(),
            status: String::new(),
        };
        if let Some(out) = child.stdout.take() {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("SUMMARY ") {
                    row.fields = rest
                        .split(' ')
                        .skip(1)
                        .filter_map(|kv| kv.split_once('='))
                        .map(|(k, v)| (k.into(), v.into()))
                        .collect();
                } else {
                    println!("{line}");
                }
            }
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        row.status = match status.code() {
            Some(0) => "ok".into(),
            Some(1) => "PANICS".into(),
            Some(2) => "VIOLATIONS".into(),
            Some(3) => "HANG".into(),
            Some(c) => format!("exit {c}"),
            None => {
                // Killed by a signal (abort: stack overflow, allocation failure): keep the input.
                let crashes = CrashDir {
                    dir: args.crash_dir.clone(),
                };
                let input = std::fs::read(crashes.inflight(name)).unwrap_or_default();
                let saved = crashes
                    .save(
                        name,
                        "abort",
                        &input,
                        &format!("{name}: worker died: {status}"),
                    )
                    .map_err(|e| e.to_string())?;
                println!("ABORT {name}: {status}; input saved to {}", saved.display());
                "ABORT".into()
            }
        };
        // Panics, aborts and hangs outrank violations.
        worst = worst.max(match row.status.as_str() {
            "ok" => 0,
            "VIOLATIONS" => 1,
            _ => 2,
        });
        rows.push(row);
    }
    println!(
        "\n{:<11} {:>10} {:>8} {:>9} {:>9} {:>8} {:>7} {:>10}  status",
        "target", "execs", "seconds", "execs/s", "accepted", "errors", "panics", "violations"
    );
    let mut total_execs = 0u64;
    let mut total_secs = 0f64;
    for r in &rows {
        let f = |k: &str| {
            r.fields
                .iter()
                .find(|(n, _)| n == k)
                .map_or("-".to_string(), |(_, v)| v.clone())
        };
        total_execs += f("execs").parse::<u64>().unwrap_or(0);
        total_secs += f("seconds").parse::<f64>().unwrap_or(0.0);
        println!(
            "{:<11} {:>10} {:>8} {:>9} {:>9} {:>8} {:>7} {:>10}  {}",
            r.name,
            f("execs"),
            f("seconds"),
            f("rate"),
            f("accepted"),
            f("distinct_errors"),
            f("panics"),
            f("violations"),
            r.status
        );
    }
    println!(
        "{:<11} {:>10} {:>8.1} {:>9.1}",
        "total",
        total_execs,
        total_secs,
        total_execs as f64 / total_secs.max(1e-9)
    );
    Ok(ExitCode::from([0, 2, 1][usize::from(worst)]))
}

fn main() -> ExitCode {
    let args = Args::parse();
    engine::install_panic_hook();
    let result = if let Some(dir) = &args.dump_seeds {
        dump_seeds(dir)
    } else if let Some(r) = &args.replay {
        replay(&r[0], &r[1])
    } else if let Some(m) = &args.minimize {
        minimize(&m[0], &m[1])
    } else if args.worker {
        worker(&args)
    } else {
        supervise(&args)
    };
    result.unwrap_or_else(|e| {
        eprintln!("sparq-fuzz: {e}");
        ExitCode::from(64)
    })
}
