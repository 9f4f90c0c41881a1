//! The `sparq` command line: argument parsing and printing over the [`sparq`] library. A
//! program that registers its own environments ([`sparq::register_env`]) and then calls
//! [`main`] gets every `sparq` command for them too.

mod compress;
mod env_cmd;
mod error_line;
mod eval;
mod explain_cmd;
mod export_cmd;
mod merge_cmd;
mod plot;
mod prune_cmd;
mod report_cmd;
mod report_plot;
mod sweep_cmd;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sparq",
    version,
    about = "Deep RL with pruning built in: train, evaluate and prune DQN agents"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train an agent from a TOML config; writes a run directory.
    Train(train::TrainArgs),
    /// Evaluate a trained policy (a run directory or a checkpoint) greedily.
    Eval(eval::EvalArgs),
    /// Prune a trained policy one-shot at several sparsities, optionally fine-tune, and evaluate.
    Prune(prune_cmd::PruneArgs),
    /// Saliency maps of a policy's greedy Q-value, figures, and the re-initialisation sanity check.
    Explain(explain_cmd::ExplainArgs),
    /// Merge policies of one environment: weight average, greedy soup, or ensemble.
    Merge(merge_cmd::MergeArgs),
    /// Export a policy: for deployment (--format policy|onnx) or, neuron-pruned, as a smaller dense network (--compact).
    Export(export_cmd::ExportArgs),
    /// Run a sweep file (configs × overrides × seeds) locally or on a Ray cluster.
    Sweep(sweep_cmd::SweepArgs),
    /// Per-group IQM, mean, median and optimality gap with bootstrap CIs, tables and plots.
    Report(report_cmd::ReportArgs),
    /// Run one job of a sweep directory (what each Ray task executes).
    #[command(hide = true)]
    SweepJob(sweep_cmd::JobArgs),
    /// Inspect, replay and benchmark environments.
    #[command(subcommand)]
    Env(env_cmd::EnvCommand),
}

/// Runs the `sparq` command with the process's arguments; returns the exit code.
pub fn main() -> ExitCode {
    main_with(std::env::args())
}

/// Runs the `sparq` command with `args` (the first is the program's name, as in `std::env::args`).
pub fn main_with<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    // `sparq eval ... | head` should end quietly, as other command-line tools do, rather than
    // fail writing to a closed pipe.
    // SAFETY: setting a signal's disposition before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // A bug must still end in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "sparq: internal error: {}{at} (please report this)",
            msg.lines().next().unwrap_or("")
        );
    }));
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let result = match cli.command {
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Prune(args) => prune_cmd::run(args),
        Command::Export(args) => export_cmd::run(args),
        Command::Merge(args) => merge_cmd::run(args),
        Command::Explain(args) => explain_cmd::run(args),
        Command::Env(cmd) => env_cmd::run(cmd),
        Command::Sweep(args) => sweep_cmd::run(args),
        Command::Report(args) => report_cmd::run(args),
        Command::SweepJob(args) => sweep_cmd::run_job_cmd(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sparq: {}", error_line::error_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// Help and version go out as clap writes them; a bad argument becomes one line (clap's first
/// paragraph, without its usage block), so every bad input reads the same.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    // clap's first paragraph: the error and, e.g., the possible values; then usage and tips.
    let text = e.to_string();
    let first: Vec<&str> = text
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty())
        .collect();
    eprintln!(
        "sparq: {} (see --help)",
        first.join(" ").trim_start_matches("error: ")
    );
    ExitCode::from(2)
}
