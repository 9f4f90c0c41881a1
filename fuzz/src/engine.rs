//! The fuzzing loop of one target: pick a corpus entry, mutate it, run it under `catch_unwind`,
//! record panics (message and location from a panic hook) and oracle violations, keep inputs that
//! produced a new outcome as a cheap stand-in for coverage feedback.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_pcg::Pcg64;

use crate::mutate::Mutator;

/// What one execution of a target gave.
pub enum Outcome {
    /// The reader accepted the input; the string summarises what it read (feedback key).
    Accepted(String),
    /// The reader returned an error: the expected answer to damaged input.
    Rejected(String),
    /// No panic, but a property the harness checks failed (e.g. a corrupted checkpoint loaded
    /// with different content, a config that does not survive its own TOML round trip); `key`
    /// names the property (failures are grouped by it), `detail` this instance.
    Violation { key: String, detail: String },
}

/// One thing sparq reads from disk, with its seeds and its mutations.
pub trait Target {
    fn name(&self) -> &'static str;
    /// Valid inputs made the way sparq makes them.
    fn seeds(&mut self) -> Vec<Vec<u8>>;
    /// Tokens for the byte mutator's dictionary.
    fn dictionary(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }
    /// A mutant of `input`; `other` is a second corpus entry (for splicing).
    fn mutate(&mut self, m: &mut Mutator, input: &[u8], other: &[u8]) -> Vec<u8>;
    fn exec(&mut self, input: &[u8]) -> Outcome;
    /// Rebuilds any state a panic may have left half-updated.
    fn reset_after_panic(&mut self) {}
}

/// Collapses digits so errors differing only in numbers count as one kind.
pub fn normalise(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(120));
    let mut last_digit = false;
    for c in message.chars().take(160) {
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('#');
            }
            last_digit = true;
        } else {
            out.push(c);
            last_digit = false;
        }
    }
    out
}

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Records panics instead of printing them (the summary reports them).
pub fn install_panic_hook() {
    panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "<non-string panic payload>".into());
        let location = info.location().map_or("<unknown>".into(), |l| {
            format!("{}:{}:{}", l.file(), l.line(), l.column())
        });
        if let Ok(mut slot) = LAST_PANIC.lock() {
            *slot = Some(format!("{location}\t{payload}"));
        }
    }));
}

/// Runs `f`, turning a panic into `Err((location, message))`.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, (String, String)> {
    if let Ok(mut slot) = LAST_PANIC.lock() {
        *slot = None;
    }
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|_| {
        let text = LAST_PANIC
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .unwrap_or_else(|| "<unknown>\t<no message>".into());
        let (loc, msg) = text.split_once('\t').unwrap_or((&text, ""));
        (loc.to_string(), msg.to_string())
    })
}

/// A temporary directory, in memory (`/dev/shm`) where there is one: targets write files per exec.
pub fn scratch_dir() -> std::io::Result<tempfile::TempDir> {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::Builder::new()
            .prefix("sparq-fuzz-")
            .tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
}

pub fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Where failing inputs go, and the in-flight copy that survives an abort.
pub struct CrashDir {
    pub dir: PathBuf,
}

impl CrashDir {
    pub fn inflight(&self, target: &str) -> PathBuf {
        self.dir.join(format!(".inflight-{target}"))
    }

    /// Saves `input` with a `.txt` note; returns the input's path.
    pub fn save(
        &self,
        target: &str,
        kind: &str,
        input: &[u8],
        note: &str,
    ) -> std::io::Result<PathBuf> {
        fs::create_dir_all(&self.dir)?;
        let path = self
            .dir
            .join(format!("{target}-{kind}-{:016x}.bin", fnv(input)));
        fs::write(&path, input)?;
        fs::write(
            path.with_extension("txt"),
            format!(
                "{note}\nreplay: scripts/dev/fuzz --replay {target} {}\n",
                path.display()
            ),
        )?;
        Ok(path)
    }
}

/// Per-target counters for the summary line.
#[derive(Default)]
pub struct Stats {
    pub execs: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub panics: u64,
    pub violations: u64,
    pub distinct_errors: BTreeSet<String>,
    pub distinct_accepts: BTreeSet<String>,
    /// Panic or violation location -> (count, first message, saved input).
    pub failures: BTreeMap<String, (u64, String, PathBuf)>,
    pub seconds: f64,
}

pub struct Limits {
    pub seconds: Option<f64>,
    pub iterations: Option<u64>,
    pub seed: u64,
}

/// Executions so far, watched by the hang detector.
pub static EXECS: AtomicU64 = AtomicU64::new(0);

/// Aborts the process (after saving the in-flight input as a hang) when one execution runs
/// longer than `limit`.
pub fn spawn_watchdog(target: &'static str, crashes: PathBuf, limit: Duration) {
    std::thread::spawn(move || {
        let (mut last, mut since) = (EXECS.load(Ordering::Relaxed), Instant::now());
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let now = EXECS.load(Ordering::Relaxed);
            if now != last {
                (last, since) = (now, Instant::now());
            } else if since.elapsed() > limit {
                let dir = CrashDir { dir: crashes };
                let input = fs::read(dir.inflight(target)).unwrap_or_default();
                let note = format!("{target}: one execution ran longer than {limit:?} (hang)");
                let saved = dir.save(target, "hang", &input, &note);
                eprintln!("{note}; input saved to {saved:?}");
                std::process::exit(3);
            }
        }
    });
}

/// Fuzzes `t` until the time or iteration limit; failing inputs go to `crashes`.
pub fn run(
    t: &mut dyn Target,
    limits: &Limits,
    crashes: &CrashDir,
    progress_every: Duration,
) -> std::io::Result<Stats> {
    fs::create_dir_all(&crashes.dir)?;
    let inflight = File::create(crashes.inflight(t.name()))?;
    let mut m = Mutator {
        rng: Pcg64::seed_from_u64(limits.seed),
        dict: t.dictionary(),
    };
    let mut corpus = t.seeds();
    assert!(!corpus.is_empty(), "target {} has no seeds", t.name());
    let seeds = corpus.len();
    let mut stats = Stats::default();
    let start = Instant::now();
    let mut next_progress = progress_every;
    const MAX_CORPUS: usize = 4096;

    loop {
        let elapsed = start.elapsed();
        if limits.seconds.is_some_and(|s| elapsed.as_secs_f64() >= s)
            || limits.iterations.is_some_and(|n| stats.execs >= n)
        {
            break;
        }
        if elapsed >= next_progress {
            eprintln!(
                "[{}] {:.0}s {} execs ({:.0}/s), corpus {}, errors {}, panics {}, violations {}",
                t.name(),
                elapsed.as_secs_f64(),
                stats.execs,
                stats.execs as f64 / elapsed.as_secs_f64(),
                corpus.len(),
                stats.distinct_errors.len(),
                stats.panics,
                stats.violations
            );
            next_progress += progress_every;
        }
        // Seeds stay likelier parents: most bugs sit a few mutations away from valid input.
        let parent = if m.chance(0.25) {
            m.below(seeds)
        } else {
            m.below(corpus.len())
        };
        let other = m.below(corpus.len());
        let input = t.mutate(&mut m, &corpus[parent], &corpus[other]);
        // Write, then shrink: truncating to zero would make ext4 flush on every exec.
        inflight.write_all_at(&input, 0)?;
        inflight.set_len(input.len() as u64)?;

        let result = guarded(|| t.exec(&input));
        stats.execs += 1;
        EXECS.store(stats.execs, Ordering::Relaxed);
        let new_key = match result {
            Ok(Outcome::Accepted(shape)) => {
                stats.accepted += 1;
                stats.distinct_accepts.insert(shape)
            }
            Ok(Outcome::Rejected(msg)) => {
                stats.rejected += 1;
                stats.distinct_errors.insert(normalise(&msg))
            }
            Ok(Outcome::Violation { key, detail }) => {
                stats.violations += 1;
                let note = format!("violation: {key}: {detail}");
                record(
                    &mut stats,
                    crashes,
                    t.name(),
                    "violation",
                    &input,
                    key,
                    &note,
                )?;
                false
            }
            Err((location, message)) => {
                stats.panics += 1;
                t.reset_after_panic();
                let note = format!("panicked at {location}: {message}");
                record(
                    &mut stats,
                    crashes,
                    t.name(),
                    "panic",
                    &input,
                    location,
                    &note,
                )?;
                false
            }
        };
        if new_key {
            if corpus.len() < MAX_CORPUS {
                corpus.push(input);
            } else {
                let i = seeds + m.below(MAX_CORPUS - seeds);
                corpus[i] = input;
            }
        }
    }
    stats.seconds = start.elapsed().as_secs_f64();
    drop(inflight);
    let _ = fs::remove_file(crashes.inflight(t.name()));
    Ok(stats)
}

/// Counts a failure under `key`, saving its first few inputs.
fn record(
    stats: &mut Stats,
    crashes: &CrashDir,
    target: &str,
    kind: &str,
    input: &[u8],
    key: String,
    note: &str,
) -> std::io::Result<()> {
    let entry = stats
        .failures
        .entry(key)
        .or_insert((0, note.to_string(), PathBuf::new()));
    entry.0 += 1;
    if entry.0 <= 3 {
        let path = crashes.save(target, kind, input, note)?;
        if entry.0 == 1 {
            entry.2 = path;
        }
    }
    Ok(())
}

/// Delta-debugging minimiser: removes chunks, then zeroes bytes, keeping the input only while
/// `fails` still reproduces the same failure.
pub fn minimise(input: &[u8], mut fails: impl FnMut(&[u8]) -> bool) -> Vec<u8> {
    let mut best = input.to_vec();
    let mut chunk = best.len().max(1).next_power_of_two();
    while chunk >= 1 {
        let mut i = 0;
        while i < best.len() {
            let mut trial = best.clone();
            trial.drain(i..(i + chunk).min(trial.len()));
            if fails(&trial) {
                best = trial;
            } else {
                i += chunk;
            }
        }
        chunk /= 2;
    }
    for i in 0..best.len() {
        for simpler in [b'0', 0] {
            if best[i] != simpler {
                let mut trial = best.clone();
                trial[i] = simpler;
                if fails(&trial) {
                    best = trial;
                    break;
                }
            }
        }
    }
    best
}
