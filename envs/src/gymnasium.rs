//! The Gymnasium bridge: `gymnasium:<id>` is any Gymnasium environment with a `Discrete` action
//! space and a `Box` observation space, run in a Python worker process (one per environment, so
//! a `VecEnv` of them steps in parallel through [`Env::step_async`]).
//!
//! The worker (`gymnasium_worker.py`, embedded) speaks a small binary protocol over its stdin and
//! stdout; observations cross as f32, exactly as Gymnasium's float32 `Box` holds them. A seeded
//! reset gives the environment's `np_random` the stream sparq's own environments draw for that
//! seed (numpy's PCG64 set to the state of `Pcg64::seed_from_u64`) rather than numpy's
//! `SeedSequence`, so a built-in environment and its Gymnasium twin give identical streams for
//! identical seeds and actions.
//! Which interpreter runs it, and which module it imports first (for environments the user
//! registers in Python), is set per process with [`set_worker`]: environments are built from an
//! id alone wherever they are needed (training, evaluation, restore).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, RwLock};

use crate::{Env, EnvError, ObsSpace, Step};

/// The id prefix that selects the bridge.
pub const PREFIX: &str = "gymnasium:";
const WORKER_SRC: &str = include_str!("gymnasium_worker.py");
/// Bytes of the worker's stderr kept for error messages.
const STDERR_TAIL: usize = 2000;

/// The interpreter and the module to import, for workers started from now on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSettings {
    /// Python interpreter (default `python3`): the user's, with gymnasium installed.
    pub python: String,
    /// A module imported before `gymnasium.make`, which can register the user's own classes.
    pub module: Option<String>,
}

static SETTINGS: RwLock<Option<WorkerSettings>> = RwLock::new(None);

/// Sets the interpreter and module for workers started from now on (the trainer does this from
/// `env.python` and `env.python_module`).
pub fn set_worker(settings: WorkerSettings) {
    *SETTINGS.write().unwrap_or_else(|e| e.into_inner()) = Some(settings);
}

fn settings() -> WorkerSettings {
    SETTINGS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or(WorkerSettings {
            python: "python3".into(),
            module: None,
        })
}

#[derive(serde::Deserialize)]
struct Hello {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    obs_shape: Vec<usize>,
    #[serde(default)]
    num_actions: usize,
    #[serde(default)]
    max_episode_steps: Option<u32>,
}

/// One Gymnasium environment in a Python worker process.
pub struct GymEnv {
    id: String,
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    stderr: Arc<Mutex<Vec<u8>>>,
    obs_space: ObsSpace,
    num_actions: usize,
    max_episode_steps: Option<u32>,
    buf: Vec<u8>,
    /// The first failure of a call that cannot return one (`reset`, `step`); reported by the
    /// next `step_async`.
    failed: Option<EnvError>,
}

impl GymEnv {
    /// Starts a worker for Gymnasium's `gym_id` and checks its spaces.
    pub fn spawn(gym_id: &str) -> Result<GymEnv, EnvError> {
        let id = format!("{PREFIX}{gym_id}");
        let s = settings();
        let fail = |what: String| EnvError::Worker {
            env: id.clone(),
            what,
        };
        let mut child = Command::new(&s.python)
            .args([
                "-u",
                "-c",
                WORKER_SRC,
                gym_id,
                s.module.as_deref().unwrap_or(""),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                fail(format!(
                    "cannot start the Python interpreter '{}' (env.python): {}",
                    s.python, e
                ))
            })?;
        let (Some(input), Some(output), Some(err)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            return Err(fail("the worker's pipes could not be opened".into()));
        };
        let stderr = Arc::new(Mutex::new(Vec::new()));
        drain_stderr(err, stderr.clone());
        let mut env = GymEnv {
            id: id.clone(),
            child,
            input,
            output: BufReader::new(output),
            stderr,
            obs_space: ObsSpace::Vector { dim: 0 },
            num_actions: 0,
            max_episode_steps: None,
            buf: Vec::new(),
            failed: None,
        };
        let mut line = String::new();
        let read = env.output.read_line(&mut line);
        if !matches!(read, Ok(n) if n > 0) {
            return Err(env.died("before it started"));
        }
        let hello: Hello = serde_json::from_str(&line)
            .map_err(|e| fail(format!("unexpected worker greeting ({e}): {}", line.trim())))?;
        if !hello.ok {
            let what = hello.error.unwrap_or_default();
            let hint = if what.contains("cannot import") {
                format!(
                    " (install gymnasium for '{}', e.g. `{} -m pip install gymnasium`, or set env.python)",
                    s.python, s.python
                )
            } else {
                String::new()
            };
            return Err(fail(format!("{what}{hint}")));
        }
        env.obs_space = match hello.obs_shape[..] {
            [dim] => ObsSpace::Vector { dim },
            [channels, height, width] => ObsSpace::Image {
                channels,
                height,
                width,
            },
            ref other => ObsSpace::Vector {
                dim: other.iter().product(),
            },
        };
        env.num_actions = hello.num_actions;
        env.max_episode_steps = hello.max_episode_steps;
        env.buf = vec![0; 4 * env.obs_space.len() + 10];
        Ok(env)
    }

    /// The error for a worker that stopped answering, with what it printed last.
    fn died(&mut self, when: &str) -> EnvError {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => format!(" ({status})"),
            _ => String::new(),
        };
        let tail = self.stderr.lock().map(|t| t.clone()).unwrap_or_default();
        let tail = String::from_utf8_lossy(&tail);
        let last = tail
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        EnvError::Worker {
            env: self.id.clone(),
            what: format!(
                "the Python worker exited {when}{status}{}",
                if last.is_empty() {
                    String::new()
                } else {
                    format!(": {}", last.trim())
                }
            ),
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if self
            .input
            .write_all(bytes)
            .and_then(|_| self.input.flush())
            .is_err()
        {
            return Err(self.died("mid-run"));
        }
        Ok(())
    }

    fn receive(&mut self, n: usize) -> Result<(), EnvError> {
        if self.output.read_exact(&mut self.buf[..n]).is_err() {
            return Err(self.died("mid-run"));
        }
        Ok(())
    }

    fn read_obs(&self, obs: &mut [f32]) {
        for (o, b) in obs.iter_mut().zip(self.buf.chunks_exact(4)) {
            *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
    }

    fn try_reset(&mut self, seed: Option<u64>, obs: &mut [f32]) -> Result<(), EnvError> {
        match seed {
            Some(seed) => {
                let (state, increment) = pcg_state(seed)?;
                let mut msg = [0u8; 33];
                msg[0] = b'P';
                msg[1..17].copy_from_slice(&state.to_le_bytes());
                msg[17..].copy_from_slice(&increment.to_le_bytes());
                self.send(&msg)?;
            }
            None => self.send(b"R")?,
        }
        self.receive(4 * obs.len())?;
        self.read_obs(obs);
        Ok(())
    }
}

impl Env for GymEnv {
    fn id(&self) -> &str {
        &self.id
    }
    fn obs_space(&self) -> ObsSpace {
        self.obs_space.clone()
    }
    fn num_actions(&self) -> usize {
        self.num_actions
    }
    fn max_episode_steps(&self) -> Option<u32> {
        self.max_episode_steps
    }

    fn reset(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        if let Err(e) = self.try_reset(seed, obs) {
            self.failed.get_or_insert(e);
        }
    }

    /// Steps and waits; a failure ends the episode here and is reported by the next call.
    fn step(&mut self, action: usize, obs: &mut [f32]) -> Step {
        match self
            .step_async(action)
            .and_then(|_| self.step_wait(action, obs))
        {
            Ok(step) => step,
            Err(e) => {
                self.failed.get_or_insert(e);
                Step {
                    reward: 0.0,
                    terminated: true,
                    truncated: false,
                }
            }
        }
    }

    fn step_async(&mut self, action: usize) -> Result<(), EnvError> {
        EnvError::check_action(&self.id, action, self.num_actions)?;
        let mut msg = [0u8; 5];
        msg[0] = b'S';
        msg[1..].copy_from_slice(&(action as u32).to_le_bytes());
        self.send(&msg)
    }

    fn step_wait(&mut self, _action: usize, obs: &mut [f32]) -> Result<Step, EnvError> {
        let n = 4 * obs.len();
        self.receive(n + 10)?;
        self.read_obs(obs);
        let tail = &self.buf[n..n + 10];
        let mut reward = [0u8; 8];
        reward.copy_from_slice(&tail[..8]);
        Ok(Step {
            reward: f64::from_le_bytes(reward) as f32,
            terminated: tail[8] != 0,
            truncated: tail[9] != 0,
        })
    }
}

impl Drop for GymEnv {
    fn drop(&mut self) {
        let _ = self.input.write_all(b"Q").and_then(|_| self.input.flush());
        // A worker that does not quit promptly is killed: a run never waits on Python to exit.
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The generator a built-in environment seeded with `seed` draws from (`Pcg64::seed_from_u64`),
/// as PCG64's (state, increment): the worker gives the Gymnasium environment's `np_random` the
/// same stream, so a built-in environment and its Gymnasium twin start every episode alike.
fn pcg_state(seed: u64) -> Result<(u128, u128), EnvError> {
    #[derive(serde::Deserialize)]
    struct Pcg {
        state: u128,
        increment: u128,
    }
    let rng = <rand_pcg::Pcg64 as rand::SeedableRng>::seed_from_u64(seed);
    let fail = |e: serde_json::Error| EnvError::snapshot("gymnasium", e);
    let pcg: Pcg = serde_json::to_string(&rng)
        .and_then(|json| serde_json::from_str(&json))
        .map_err(fail)?;
    Ok((pcg.state, pcg.increment))
}

/// Keeps the last [`STDERR_TAIL`] bytes the worker writes to stderr, so its pipe never fills.
fn drain_stderr(mut err: impl Read + Send + 'static, tail: Arc<Mutex<Vec<u8>>>) {
    std::thread::spawn(move || {
        let mut chunk = [0u8; 1024];
        while let Ok(n) = err.read(&mut chunk) {
            if n == 0 {
                break;
            }
            if let Ok(mut t) = tail.lock() {
                t.extend_from_slice(&chunk[..n]);
                let excess = t.len().saturating_sub(STDERR_TAIL);
                t.drain(..excess);
            }
        }
    });
}
