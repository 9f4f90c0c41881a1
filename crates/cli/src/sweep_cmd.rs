//! `sparq sweep SWEEP.toml`: every (point, seed) of a sweep file as its own `sparq train` (or
//! `sparq prune`) process, N at a time on this machine or as tasks on a Ray cluster, into one
//! sweep directory with an index (`sweep.json`). Re-running is safe: finished runs are skipped,
//! killed ones resumed from their last checkpoint. See docs/sweep.md.
//!
//! A run is a child process rather than a call into the training code: a crash or a kill stays
//! inside one run, and the Ray backend runs exactly what the local one runs (`sparq sweep-job`).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use sparq_sweep::{Index, Job, JobKind, JobRecord, JobStatus, Plan, RunState, run_state};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// Child processes on this machine, `--jobs` at a time.
    Local,
    /// One task per run on an existing Ray cluster (`--address`); needs a shared filesystem.
    Ray,
}

#[derive(clap::Args)]
pub struct SweepArgs {
    /// The sweep file (docs/sweep.md).
    sweep: PathBuf,
    /// Runs at once on the local backend (default: the number of cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Sweep directory (default: sweeps/<sweep name>).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Backend::Local)]
    backend: Backend,
    /// The Ray cluster to join (`ray start --head` prints it), e.g. 127.0.0.1:6379.
    #[arg(long, required_if_eq("backend", "ray"))]
    address: Option<String>,
    /// Ray: times a failed or lost task is retried.
    #[arg(long, default_value_t = 2)]
    max_retries: u32,
    /// Check the sweep file and every point's config, print the jobs, run nothing.
    #[arg(long)]
    dry_run: bool,
}

/// `sparq sweep-job SWEEP_DIR ID`: runs one job of a sweep directory (what a Ray task executes).
#[derive(clap::Args)]
pub struct JobArgs {
    sweep_dir: PathBuf,
    id: String,
}

pub fn run(args: SweepArgs) -> Result<()> {
    let started = Instant::now();
    let plan = Plan::from_file(&args.sweep)?;
    if args.dry_run {
        for j in &plan.jobs {
            println!("{}\t{}\t{}", j.id, j.group, command_line(j));
        }
        eprintln!(
            "sparq: {} jobs; every point's config checks out",
            plan.jobs.len()
        );
        return Ok(());
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("sweeps").join(&plan.name));
    std::fs::create_dir_all(&out).with_context(|| format!("create {}", out.display()))?;
    let _lock = lock(&out)?;
    let backend = match args.backend {
        Backend::Local => "local",
        Backend::Ray => "ray",
    };
    let mut grown = false;
    let mut index = match Index::read(&out) {
        Ok(mut index) => {
            let added = index.grow_to(&plan, &out)?;
            if added > 0 {
                eprintln!(
                    "sparq: {}: the sweep grows by {added} jobs; its finished runs are kept",
                    out.display()
                );
                index.sweep_file = args.sweep.display().to_string();
                grown = true;
            }
            index.backend = backend.into();
            index
        }
        Err(_) if !out.join(sparq_sweep::INDEX_FILE).exists() => {
            Index::new(&args.sweep.display().to_string(), backend, plan.clone())
        }
        Err(e) => return Err(e.into()),
    };
    // The directory's record of its sweep file: the file that planned its jobs last.
    let record_copy = out.join("sweep.toml");
    if grown || !record_copy.exists() {
        std::fs::copy(&args.sweep, &record_copy)
            .with_context(|| format!("copy the sweep file to {}", record_copy.display()))?;
    }
    refresh(&mut index, &out);
    index.write(&out)?;

    let todo: Vec<usize> = (0..plan.jobs.len())
        .filter(|&i| run_state(&out, &plan.jobs[i]) != RunState::Done)
        .collect();
    let skipped = plan.jobs.len() - todo.len();
    let jobs_at_once = args
        .jobs
        .map(|n| n as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    eprintln!(
        "sparq: sweep {} ({} jobs: {} finished before, {} to run) into {} on {}",
        plan.name,
        plan.jobs.len(),
        skipped,
        todo.len(),
        out.display(),
        match args.backend {
            Backend::Local => format!("{jobs_at_once} local slots"),
            Backend::Ray => format!("Ray at {}", args.address.as_deref().unwrap_or("?")),
        }
    );
    if args.backend == Backend::Local
        && let Some(note) = gpu_sharing_note(&plan, jobs_at_once, gpu_visible())
    {
        eprintln!("sparq: {note}");
    }
    let status = Status::new(&plan, &out);
    match args.backend {
        Backend::Local => run_local(&plan, &out, jobs_at_once, &status)?,
        Backend::Ray => run_ray(
            &plan,
            &out,
            args.address.as_deref().unwrap_or(""),
            args.max_retries,
            &status,
        )?,
    }
    refresh(&mut index, &out);
    index
        .invocations_wall_s
        .push(started.elapsed().as_secs_f64());
    index.write(&out)?;

    let failed: Vec<&Job> = plan
        .jobs
        .iter()
        .filter(|j| index.records.get(&j.id).map(|r| r.status) != Some(JobStatus::Done))
        .collect();
    eprintln!(
        "sparq: sweep {}: {} of {} runs done in {:.1} s; index {}; next: sparq report {}",
        plan.name,
        plan.jobs.len() - failed.len(),
        plan.jobs.len(),
        started.elapsed().as_secs_f64(),
        out.join(sparq_sweep::INDEX_FILE).display(),
        out.display()
    );
    if let Some(first) = failed.first() {
        let error = index
            .records
            .get(&first.id)
            .and_then(|r| r.error.clone())
            .unwrap_or_else(|| "did not finish".into());
        bail!(
            "{} of {} runs failed (logs in {}); first: {}: {error}",
            failed.len(),
            plan.jobs.len(),
            out.join("logs").display(),
            first.id
        );
    }
    Ok(())
}

/// `sparq sweep-job`: one job, from the index on disk; exit status 0 only if it finished.
pub fn run_job_cmd(args: JobArgs) -> Result<()> {
    let index = Index::read(&args.sweep_dir)?;
    let job = index
        .plan
        .job(&args.id)
        .with_context(|| format!("{}: no job '{}'", args.sweep_dir.display(), args.id))?;
    let exe = std::env::current_exe().context("locate the sparq binary")?;
    match run_job(&args.sweep_dir, job, &exe)? {
        JobStatus::Done => Ok(()),
        _ => {
            let error = JobRecord::read(&args.sweep_dir, &job.id)
                .and_then(|r| r.error)
                .unwrap_or_default();
            bail!("{}: {error}", job.id)
        }
    }
}

/// Runs `job` to the end (fresh, resumed or skipped if finished) as a child `sparq` process,
/// appends its output to `logs/<id>.log` and updates `logs/<id>.json`.
fn run_job(sweep_dir: &Path, job: &Job, exe: &Path) -> Result<JobStatus> {
    let state = run_state(sweep_dir, job);
    if state == RunState::Done {
        return Ok(JobStatus::Done);
    }
    let run = sweep_dir.join(&job.dir);
    if state == RunState::Fresh && run.exists() {
        // Killed before its first checkpoint (or a pruning killed midway): nothing to resume.
        std::fs::remove_dir_all(&run).with_context(|| format!("remove {}", run.display()))?;
    }
    let mut cmd = Command::new(exe);
    match (&job.kind, state) {
        (JobKind::Train { .. }, RunState::Resumable) => {
            cmd.arg("train").arg("--resume").arg(&run);
        }
        (JobKind::Train { config, overrides }, _) => {
            cmd.arg("train").arg(config);
            for o in sparq_sweep::RUN_DEFAULTS
                .iter()
                .map(|s| s.to_string())
                .chain(overrides.iter().cloned())
            {
                cmd.arg("--set").arg(o);
            }
            cmd.arg("--seed")
                .arg(job.seed.to_string())
                .arg("--run-dir")
                .arg(&run);
        }
        (
            JobKind::Prune {
                sparsities,
                finetune_steps,
                method,
                episodes,
            },
            _,
        ) => {
            let from = job.after.as_deref().unwrap_or_default();
            let from_dir = sweep_dir.join("runs").join(from);
            let list: Vec<String> = sparsities.iter().map(|s| s.to_string()).collect();
            cmd.arg("prune")
                .arg(&from_dir)
                .arg("--sparsities")
                .arg(list.join(","))
                .arg("--finetune-steps")
                .arg(finetune_steps.to_string())
                .arg("--method")
                .arg(method)
                .arg("--seed")
                .arg(job.seed.to_string())
                .arg("--out")
                .arg(&run);
            if let Some(n) = episodes {
                cmd.arg("--episodes").arg(n.to_string());
            }
        }
    }
    let log_path = sweep_dir.join("logs").join(format!("{}.log", job.id));
    std::fs::create_dir_all(sweep_dir.join("logs")).context("create the logs directory")?;
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("open {}", log_path.display()))?;
    let attempt_start = log.metadata().map(|m| m.len()).unwrap_or(0);
    writeln!(log, "== sparq sweep: {} on {}: {:?}", job.id, host(), cmd)
        .with_context(|| format!("write {}", log_path.display()))?;
    let err_log = log.try_clone().context("duplicate the log handle")?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err_log));
    die_with_parent(&mut cmd);
    // Recorded before it starts, so an attempt killed with the sweep still counts.
    let mut record = JobRecord::read(sweep_dir, &job.id).unwrap_or_else(JobRecord::pending);
    record.attempts += 1;
    record.status = JobStatus::Running;
    record.host = Some(host());
    record.write(sweep_dir, &job.id)?;
    let t0 = Instant::now();
    let exit = cmd
        .status()
        .with_context(|| format!("start {}", exe.display()))?;
    let wall = t0.elapsed().as_secs_f64();

    record.wall_s += wall;
    if exit.success() && run_state(sweep_dir, job) == RunState::Done {
        record.status = JobStatus::Done;
        record.error = None;
    } else {
        record.status = JobStatus::Failed;
        record.error = Some(
            last_error_line(&log_path, attempt_start)
                .unwrap_or_else(|| format!("exited with {exit}")),
        );
    }
    record.write(sweep_dir, &job.id)?;
    Ok(record.status)
}

/// The children of a killed sweep must not outlive it: a re-run would find them still writing.
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The last non-empty line the attempt wrote (its error, as sparq prints errors in one line).
fn last_error_line(log: &Path, from: u64) -> Option<String> {
    let text = std::fs::read(log).ok()?;
    let text = String::from_utf8_lossy(text.get(from as usize..)?).into_owned();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .rev()
        .find(|l| l.starts_with("sparq: ") && !l.starts_with("sparq: done"))
        .or(lines.last())
        .map(|l| l.to_string())
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// One `sparq sweep` per directory at a time (an exclusive `flock` on `.lock`), released when
/// the process ends however it ends.
fn lock(dir: &Path) -> Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let path = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("open {}", path.display()))?;
    // SAFETY: flock on a file descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        bail!(
            "{}: another sparq sweep is running on this directory",
            dir.display()
        );
    }
    Ok(file)
}

/// The index's records from the runs and job records on disk.
fn refresh(index: &mut Index, dir: &Path) {
    for job in &index.plan.jobs {
        let mut record = JobRecord::read(dir, &job.id).unwrap_or_else(JobRecord::pending);
        if run_state(dir, job) == RunState::Done {
            record.status = JobStatus::Done;
        } else if record.status != JobStatus::Failed {
            record.status = JobStatus::Pending;
        }
        index.records.insert(job.id.clone(), record);
    }
}

/// Whether this process can see an NVIDIA GPU (the driver's control device, not hidden by
/// `CUDA_VISIBLE_DEVICES`). A hint only: the runs themselves decide by loading libtorch's CUDA.
fn gpu_visible() -> bool {
    let hidden = std::env::var("CUDA_VISIBLE_DEVICES").is_ok_and(|v| v.is_empty() || v == "-1");
    !hidden && Path::new("/dev/nvidiactl").exists()
}

/// A warning when runs started at once would share one GPU: `run.device = "auto"` sends every
/// run there, and small networks then take turns on it (benchmarks/gpu.md: 12 MinAtar runs at
/// once ran at 80 env-steps/s each, against 404 on CPU cores).
fn gpu_sharing_note(plan: &Plan, jobs_at_once: usize, gpu: bool) -> Option<String> {
    if jobs_at_once < 2 || !gpu {
        return None;
    }
    let on_gpu = plan
        .jobs
        .iter()
        .filter(|j| match &j.kind {
            JobKind::Train { config, overrides } => sparq_config::Config::load(config, overrides)
                .is_ok_and(|c| c.run.device != sparq_config::Device::Cpu),
            JobKind::Prune { .. } => false,
        })
        .count();
    (on_gpu > 1).then(|| {
        format!(
            "{on_gpu} runs may use the GPU ({jobs_at_once} at once): concurrent runs of small \
             networks share it badly (benchmarks/gpu.md); set \"run.device\" = \"cpu\" in the \
             sweep's [set] to run them on the CPU cores"
        )
    })
}

/// What `sparq sweep --dry-run` prints for a job.
fn command_line(job: &Job) -> String {
    match &job.kind {
        JobKind::Train { config, overrides } => format!(
            "sparq train {} {}--seed {}",
            config.display(),
            overrides
                .iter()
                .map(|o| format!("--set '{o}' "))
                .collect::<String>(),
            job.seed
        ),
        JobKind::Prune {
            sparsities,
            finetune_steps,
            ..
        } => format!(
            "sparq prune runs/{} --sparsities {:?} --finetune-steps {finetune_steps}",
            job.after.as_deref().unwrap_or_default(),
            sparsities
        ),
    }
}

/// Live counts on stderr: a line per finished (or failed) run, with an ETA.
struct Status {
    inner: Mutex<StatusInner>,
    total: usize,
}

struct StatusInner {
    done: usize,
    failed: usize,
    running: usize,
    started: Instant,
    finished_here: usize,
}

impl Status {
    fn new(plan: &Plan, dir: &Path) -> Status {
        let done = plan
            .jobs
            .iter()
            .filter(|j| run_state(dir, j) == RunState::Done)
            .count();
        Status {
            inner: Mutex::new(StatusInner {
                done,
                failed: 0,
                running: 0,
                started: Instant::now(),
                finished_here: 0,
            }),
            total: plan.jobs.len(),
        }
    }

    fn started(&self) {
        if let Ok(mut s) = self.inner.lock() {
            s.running += 1;
        }
    }

    fn finished(&self, job: &Job, status: JobStatus, error: Option<&str>) {
        let Ok(mut s) = self.inner.lock() else {
            return;
        };
        s.running = s.running.saturating_sub(1);
        s.finished_here += 1;
        match status {
            JobStatus::Done => s.done += 1,
            _ => s.failed += 1,
        }
        let left = self.total - s.done - s.failed;
        // Runs finish at the rate seen so far in this invocation.
        let per_run = s.started.elapsed().as_secs_f64() / s.finished_here as f64;
        let eta = if left == 0 {
            "0s".to_string()
        } else {
            duration(per_run * left as f64)
        };
        let what = match status {
            JobStatus::Done => "done".to_string(),
            _ => format!("FAILED: {}", error.unwrap_or("did not finish")),
        };
        eprintln!(
            "sparq: sweep [{}/{}] {} {what} | done {} running {} failed {} pending {} | ETA {eta}",
            s.done + s.failed,
            self.total,
            job.id,
            s.done,
            s.running,
            s.failed,
            left.saturating_sub(s.running),
        );
    }
}

fn duration(s: f64) -> String {
    let s = s.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// The local backend: `slots` worker threads take the first job whose dependency finished.
fn run_local(plan: &Plan, dir: &Path, slots: usize, status: &Status) -> Result<()> {
    let exe = std::env::current_exe().context("locate the sparq binary")?;
    let states: Vec<JobStatus> = plan
        .jobs
        .iter()
        .map(|j| match run_state(dir, j) {
            RunState::Done => JobStatus::Done,
            _ => JobStatus::Pending,
        })
        .collect();
    let shared = Arc::new((Mutex::new(states), Condvar::new()));
    let by_id: std::collections::HashMap<&str, usize> = plan
        .jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.id.as_str(), i))
        .collect();
    std::thread::scope(|scope| -> Result<()> {
        let mut handles = Vec::new();
        for _ in 0..slots {
            let shared = Arc::clone(&shared);
            let exe = &exe;
            let by_id = &by_id;
            handles.push(scope.spawn(move || -> Result<()> {
                loop {
                    let (lock, cv) = &*shared;
                    let mut states = lock.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                    let next = loop {
                        let mut blocked = false;
                        let mut pick = None;
                        for (i, job) in plan.jobs.iter().enumerate() {
                            if states[i] != JobStatus::Pending {
                                continue;
                            }
                            let dep = job.after.as_deref().and_then(|d| by_id.get(d).copied());
                            match dep.map(|d| states[d]) {
                                None | Some(JobStatus::Done) => {
                                    pick = Some(i);
                                    break;
                                }
                                Some(JobStatus::Failed) => {
                                    states[i] = JobStatus::Failed;
                                    let error = format!(
                                        "not run: {} failed",
                                        plan.jobs[dep.unwrap_or(i)].id
                                    );
                                    let mut record = JobRecord::read(dir, &job.id)
                                        .unwrap_or_else(JobRecord::pending);
                                    record.status = JobStatus::Failed;
                                    record.error = Some(error.clone());
                                    record.write(dir, &job.id)?;
                                    status.started();
                                    status.finished(job, JobStatus::Failed, Some(&error));
                                }
                                _ => blocked = true,
                            }
                        }
                        match pick {
                            Some(i) => break Some(i),
                            None if blocked => {
                                states =
                                    cv.wait(states).map_err(|_| anyhow::anyhow!("poisoned"))?;
                            }
                            None => break None,
                        }
                    };
                    let Some(i) = next else {
                        cv.notify_all();
                        return Ok(());
                    };
                    states[i] = JobStatus::Running;
                    drop(states);
                    let job = &plan.jobs[i];
                    status.started();
                    let result = run_job(dir, job, exe);
                    let (outcome, error) = match &result {
                        Ok(s) => (*s, JobRecord::read(dir, &job.id).and_then(|r| r.error)),
                        Err(e) => (JobStatus::Failed, Some(format!("{e:#}"))),
                    };
                    if let Err(e) = &result {
                        // The job could not even start (e.g. disk full): recorded, not fatal.
                        let mut record =
                            JobRecord::read(dir, &job.id).unwrap_or_else(JobRecord::pending);
                        record.status = JobStatus::Failed;
                        record.error = Some(format!("{e:#}"));
                        let _ = record.write(dir, &job.id);
                    }
                    status.finished(job, outcome, error.as_deref());
                    let mut states = lock.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                    states[i] = outcome;
                    cv.notify_all();
                }
            }));
        }
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a sweep worker panicked"))??;
        }
        Ok(())
    })
}

/// The Ray backend: `scripts/lib/ray_sweep.py` (in the pinned `ray` venv) submits one task per
/// unfinished job, each `sparq sweep-job DIR ID` on whichever node Ray picks, and prints one JSON
/// line per finished task, which feeds the status.
fn run_ray(plan: &Plan, dir: &Path, address: &str, retries: u32, status: &Status) -> Result<()> {
    let exe = std::env::current_exe().context("locate the sparq binary")?;
    let repo = repo_root();
    let dir_abs = std::fs::canonicalize(dir).with_context(|| dir.display().to_string())?;
    let ids: Vec<&str> = plan
        .jobs
        .iter()
        .filter(|j| run_state(dir, j) != RunState::Done)
        .map(|j| j.id.as_str())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let mut child = Command::new(repo.join("scripts").join("py"))
        .arg("ray")
        .arg(repo.join("scripts").join("lib").join("ray_sweep.py"))
        .arg("--address")
        .arg(address)
        .arg("--sparq")
        .arg(std::env::var_os("SPARQ_RAY_EXE").map_or(exe.clone(), PathBuf::from))
        .arg("--sweep-dir")
        .arg(&dir_abs)
        .arg("--max-retries")
        .arg(retries.to_string())
        .arg("--ids")
        .arg(ids.join(","))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("start the Ray driver under {}", repo.display()))?;
    let stdout = child.stdout.take().context("the Ray driver's output")?;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.context("read the Ray driver's output")?;
        let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
            eprintln!("{line}");
            continue;
        };
        let id = event["id"].as_str().unwrap_or_default();
        let Some(job) = plan.job(id) else { continue };
        match event["event"].as_str() {
            Some("submitted") => status.started(),
            Some("finished") => {
                let ok = event["ok"].as_bool() == Some(true);
                let error = event["error"].as_str();
                status.finished(
                    job,
                    if ok {
                        JobStatus::Done
                    } else {
                        JobStatus::Failed
                    },
                    error,
                );
                if !ok && let Some(error) = error {
                    // The task's own record may be missing if its node was lost.
                    let mut record = JobRecord::read(dir, id).unwrap_or_else(JobRecord::pending);
                    if record.status != JobStatus::Failed {
                        record.status = JobStatus::Failed;
                        record.error = Some(error.to_owned());
                        record.write(dir, id)?;
                    }
                }
            }
            _ => {}
        }
    }
    let exit = child.wait().context("wait for the Ray driver")?;
    if !exit.success() {
        bail!("the Ray driver failed ({exit}); see the lines above");
    }
    Ok(())
}

/// The checkout this binary was built from (its `scripts/`), unless `SPARQ_REPO` names another.
fn repo_root() -> PathBuf {
    std::env::var_os("SPARQ_REPO").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
        PathBuf::from,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three seeds of the CartPole config, with `set` added to the sweep's [set].
    fn plan(set: &str) -> Plan {
        let dir = tempfile::tempdir().unwrap();
        let config = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../configs/cartpole_dqn.toml"
        );
        let file = dir.path().join("s.toml");
        let text =
            format!("config = {config:?}\nseeds = 3\n[set]\n{set}\n[[points]]\nname = \"a\"\n");
        std::fs::write(&file, text).unwrap();
        Plan::from_file(&file).unwrap()
    }

    #[test]
    fn runs_that_would_share_a_gpu_get_a_note_and_cpu_runs_do_not() {
        let auto = plan("");
        let note = gpu_sharing_note(&auto, 2, true).expect("a note");
        assert!(
            note.starts_with("3 runs may use the GPU (2 at once)"),
            "{note}"
        );
        assert!(gpu_sharing_note(&auto, 2, false).is_none());
        assert!(gpu_sharing_note(&auto, 1, true).is_none());
        let cpu = plan("\"run.device\" = \"cpu\"");
        assert!(gpu_sharing_note(&cpu, 2, true).is_none());
    }
}
