//! `sparq train`: arguments in, [`sparq::Trainer`] runs, one line out. Ctrl-C (SIGINT) or SIGTERM
//! ends the run at the next env step with a checkpoint and the command that resumes it; a
//! second one exits at once (the last complete checkpoint stays good).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use anyhow::{Result, bail};
use sparq::{Interrupted, RunOptions, Trainer};

#[derive(clap::Args)]
pub struct TrainArgs {
    /// The experiment's TOML config.
    #[arg(required_unless_present = "resume")]
    config: Option<PathBuf>,
    /// Override a config value: `section.key=value`, the value parsed as TOML (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Run directory (default: runs/<config name>-s<seed>-<UTC time>).
    #[arg(long, conflicts_with = "resume")]
    run_dir: Option<PathBuf>,
    /// Shorthand for `--set run.seed=N`.
    #[arg(long, conflicts_with = "resume")]
    seed: Option<u64>,
    /// Continue an interrupted run from its latest checkpoint, exactly where it was, under the
    /// config it recorded (so --set cannot be combined with it).
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["config", "set"])]
    resume: Option<PathBuf>,
    /// With --resume: continue from this checkpoint of the run instead of the one `latest`
    /// names; `newest` is the newest complete one (for when `latest` is unusable).
    #[arg(long, value_name = "newest|CHECKPOINT_DIR", requires = "resume")]
    checkpoint: Option<String>,
}

/// The checkpoint a `--checkpoint` value names for the run at `run`.
pub fn chosen_checkpoint(run: &std::path::Path, value: &str) -> Result<PathBuf> {
    Ok(match value {
        "newest" => sparq_checkpoint::resolve_newest(run)?,
        dir => PathBuf::from(dir),
    })
}

/// Raised by the first SIGINT/SIGTERM; the trainer checkpoints and stops at the next step.
static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();

extern "C" fn on_signal(_: libc::c_int) {
    let Some(stop) = STOP.get() else { return };
    if stop.swap(true, Ordering::SeqCst) {
        // Second signal: leave now. Checkpoints are renamed into place whole, so the last
        // complete one is still good; async-signal-safe calls only.
        const MSG: &[u8] =
            b"\nsparq: second interrupt: exiting now; the last complete checkpoint is kept\n";
        // SAFETY: write(2) and _exit(2) are async-signal-safe.
        unsafe {
            libc::write(2, MSG.as_ptr().cast(), MSG.len());
            libc::_exit(130);
        }
    }
}

fn install_signal_handlers() -> Arc<AtomicBool> {
    let flag = STOP
        .get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone();
    // SAFETY: the handler only touches an atomic and async-signal-safe calls.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    flag
}

pub fn run(args: TrainArgs) -> Result<()> {
    let checkpoint = match (&args.resume, &args.checkpoint) {
        (Some(run), Some(value)) => Some(chosen_checkpoint(run, value)?),
        _ => None,
    };
    let options = RunOptions {
        run_dir: args.run_dir.clone(),
        name: None,
        progress: true,
        stop: Some(install_signal_handlers()),
        checkpoint,
    };
    let trainer = match (&args.resume, &args.config) {
        (Some(dir), _) => Trainer::resume(dir, options)?,
        (None, Some(config)) => {
            let mut overrides = args.set.clone();
            if let Some(seed) = args.seed {
                overrides.push(format!("run.seed={seed}"));
            }
            Trainer::from_file(config, &overrides, options)?
        }
        (None, None) => bail!("give a CONFIG to train, or --resume RUN_DIR"),
    };
    let run_dir = trainer.run_dir().to_owned();
    let summary = match trainer.run() {
        Ok(summary) => summary,
        Err(e) => {
            if let Some(i) = e.downcast_ref::<Interrupted>() {
                eprintln!("\nsparq: {i}");
                std::process::exit(130);
            }
            return Err(e);
        }
    };
    println!(
        "sparq: done: {} env steps in {:.1} s ({:.0} steps/s); greedy return {:.2} ± {:.2} over {} episodes; sparsity {:.4}; {}",
        summary.env_steps,
        summary.wall_s,
        summary.sps,
        summary.eval.return_mean,
        summary.eval.return_std,
        summary.eval.episodes,
        summary.sparsity.global,
        run_dir.join(sparq_log::SUMMARY_FILE).display()
    );
    Ok(())
}
