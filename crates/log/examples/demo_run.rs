//! Writes a small fake training run with every tag sparq logs, including a resume from a
//! checkpoint, so TensorBoard's reading of our files can be checked:
//!
//!   cargo run -p sparq-log --example demo_run -- /tmp/demo-run
//!   scripts/dev/check-tensorboard /tmp/demo-run --scalars train/loss ... --histograms weights/fc1

use std::path::PathBuf;

use sparq_log::{EvalStats, EventWriter, LogError, RunDir, SparsityReport, Summary};

const LAYERS: [(&str, usize); 3] = [("fc1", 4 * 64), ("fc2", 64 * 64), ("out", 64 * 2)];
/// Stand-in weights of every layer for the summary: half of them pruned.
const HALF_ZERO: [f32; 2] = [0.0, 1.0];

fn main() {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: demo_run RUN_DIR");
        std::process::exit(2);
    };
    if let Err(e) = run(dir) {
        eprintln!("demo_run: {e}");
        std::process::exit(1);
    }
}

fn run(dir: PathBuf) -> Result<(), LogError> {
    let run = RunDir::create(&dir)?;
    run.write_config("# demo run written by sparq-log's demo_run example\nseed = 0\n")?;
    // First session: steps 0..=6000, "crashes" after logging up to 6000.
    let mut w = run.event_writer()?;
    log_steps(&mut w, 0, 6000)?;
    w.close()?;
    // Resumed from the checkpoint at step 4000: TensorBoard must drop the first session's
    // events after 4000, so every tag still has strictly increasing steps.
    let mut w = run.event_writer()?;
    w.mark_restart(4000)?;
    log_steps(&mut w, 4000, 10_000)?;
    w.close()?;
    let returns = [180.0, 200.0, 195.5, 200.0];
    run.write_summary(&Summary {
        env_steps: 10_000,
        wall_s: 7.5,
        sps: 1333.3,
        eval: EvalStats::from_returns(&returns).expect("four returns"),
        sparsity: SparsityReport::from_weights(
            LAYERS.iter().map(|&(n, _)| (n, &HALF_ZERO[..], true)),
        ),
        evals: Vec::new(),
        best: None,
    })?;
    println!(
        "wrote {} event files to {}",
        run.event_files()?.len(),
        dir.display()
    );
    Ok(())
}

fn log_steps(w: &mut EventWriter, from: i64, to: i64) -> Result<(), LogError> {
    for step in (from..=to).step_by(500) {
        let t = step as f64 / 10_000.0;
        let sparsity = 0.5 * t.min(1.0);
        w.add_scalar("train/episode_return", 20.0 + 180.0 * t, step)?;
        w.add_scalar("train/episode_length", 20.0 + 180.0 * t, step)?;
        w.add_scalar("train/loss", 1.0 / (1.0 + 10.0 * t), step)?;
        w.add_scalar("train/q_mean", 10.0 * t, step)?;
        w.add_scalar("train/epsilon", (1.0 - t).max(0.05), step)?;
        w.add_scalar("perf/sps", 1300.0 + (step % 1000) as f64 / 10.0, step)?;
        w.add_scalar("prune/sparsity", sparsity, step)?;
        w.add_scalar("prune/target_sparsity", sparsity, step)?;
        w.add_scalar("prune/active_params", 4480.0 * (1.0 - sparsity), step)?;
        for (layer, n) in LAYERS {
            w.add_scalar(&format!("prune/sparsity/{layer}"), sparsity, step)?;
            if step % 2000 == 0 {
                // A spread that narrows and a block of exact zeros, as magnitude pruning leaves.
                let zeros = (n as f64 * sparsity) as usize;
                let weights: Vec<f32> = (0..n)
                    .map(|i| {
                        let x = ((i * 7919) % n) as f32 / n as f32 - 0.5;
                        if i < zeros {
                            0.0
                        } else {
                            x * (1.0 - 0.5 * t as f32)
                        }
                    })
                    .collect();
                w.add_histogram(&format!("weights/{layer}"), &weights, step)?;
            }
        }
        if step % 2500 == 0 {
            w.add_scalar("eval/return_mean", 20.0 + 180.0 * t, step)?;
        }
    }
    Ok(())
}
