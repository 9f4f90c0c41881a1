//! The up-front memory estimate of a run, and the memory available to it now, so that a config
//! that cannot fit is refused by `check()` with the estimate, not aborted by the allocator hours
//! later (issue 18). The estimate follows the replay buffer's compact layout (`sparq-replay`) and
//! the Q-network's layer table (`NetSpec::layout` in the agent), recomputed here without libtorch.

use sparq_envs::{EnvSpec, ObsSpace};

use crate::Config;

/// Bytes a run holds at its peak, by part (each saturating, so absurd configs stay comparable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Q-network parameters (weights and biases), a count, not bytes.
    pub params: u64,
    /// The replay buffer at full capacity: one frame per slot, action, reward, flags, sum tree.
    pub replay: u64,
    /// Online and target networks, two optimizer moments, the gradient and the mask (f32 each),
    /// and one batch's activations.
    pub network: u64,
    /// What a checkpoint holds in memory while it is written or read: the replay snapshot (when
    /// `log.save_replay`) and the host copies of the network state with their encoding.
    pub checkpoint_copy: u64,
}

impl MemoryEstimate {
    pub fn total(&self) -> u64 {
        self.replay
            .saturating_add(self.network)
            .saturating_add(self.checkpoint_copy)
    }
}

impl std::fmt::Display for MemoryEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (replay {}, networks and optimizer {}, checkpoint copy {})",
            bytes(self.total()),
            bytes(self.replay),
            bytes(self.network),
            bytes(self.checkpoint_copy)
        )
    }
}

/// `1234567` -> `1.2 MB` (decimal units, as `free -h --si` and the figures).
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// f32 copies of the parameter vector a learner holds: online, target, two optimizer moments,
/// gradient, mask.
const NETWORK_COPIES: u64 = 6;
/// f32 copies a checkpoint makes: online, target, two moments, mask on the host, then encoded.
const CHECKPOINT_COPIES: u64 = 5 * 2;

impl Config {
    /// The memory estimate of this config on environment `env` (see [`MemoryEstimate`]).
    pub fn memory_estimate(&self, env: &EnvSpec) -> MemoryEstimate {
        let (params, units) = self.network_size(env);
        let a = &self.agent;
        let num_envs = self.env.num_envs.max(1) as u64;
        let slots = (a.buffer_size as u64)
            .div_ceil(num_envs)
            .saturating_mul(num_envs);
        let frame = match env.obs_space {
            ObsSpace::Binary { .. } => (env.obs_space.len() as u64).div_ceil(8),
            ObsSpace::Vector { .. } | ObsSpace::Image { .. } => {
                (env.obs_space.len() as u64).saturating_mul(4)
            }
        };
        // Per slot: frame, u32 action, f32 reward, u8 flags.
        let per_slot = frame.saturating_add(4 + 4 + 1);
        let tree = if a.prioritized {
            slots.max(1).next_power_of_two().saturating_mul(2 * 8)
        } else {
            0
        };
        let replay = slots.saturating_mul(per_slot).saturating_add(tree);
        // The snapshot stores every slot and, prioritized, one f64 leaf per slot.
        let snapshot = slots.saturating_mul(per_slot + if a.prioritized { 8 } else { 0 });
        // Forward and backward of the online net, forward of the target (f32 activations).
        let activations = (a.batch_size as u64)
            .saturating_mul(units)
            .saturating_mul(4 * 3);
        let network = params
            .saturating_mul(NETWORK_COPIES * 4)
            .saturating_add(activations);
        let state = params.saturating_mul(CHECKPOINT_COPIES * 4);
        let checkpoint_copy = if self.log.save_replay {
            snapshot.saturating_add(state)
        } else {
            state
        };
        MemoryEstimate {
            params,
            replay,
            network,
            checkpoint_copy,
        }
    }

    /// Parameters, and output units summed over layers, of the Q-network the agent builds for
    /// `env` (its `NetSpec::layout`: 3×3 stride-1 convolutions for image-like observations, then
    /// the hidden layers, then one output head or dueling value and advantage heads).
    fn network_size(&self, env: &EnvSpec) -> (u64, u64) {
        let (mut params, mut units) = (0u64, 0u64);
        let mut layer = |outputs: u64, weights: u64, out_units: u64| {
            params = params.saturating_add(weights).saturating_add(outputs);
            units = units.saturating_add(out_units);
        };
        let mut features = match env.obs_space.planes() {
            None => env.obs_space.len() as u64,
            Some((channels, height, width)) => {
                let (mut c, mut h, mut w) = (channels as u64, height as u64, width as u64);
                for out in self.network.scaled_conv_channels() {
                    let out = out as u64;
                    (h, w) = (h.saturating_sub(2), w.saturating_sub(2));
                    let outputs = out.saturating_mul(h).saturating_mul(w);
                    layer(out, out.saturating_mul(c).saturating_mul(9), outputs);
                    c = out;
                }
                c.saturating_mul(h).saturating_mul(w)
            }
        };
        for h in self.network.scaled_hidden() {
            let h = h as u64;
            layer(h, h.saturating_mul(features), h);
            features = h;
        }
        let actions = env.num_actions as u64;
        if self.agent.dueling {
            layer(1, features, 1);
        }
        layer(actions, actions.saturating_mul(features), actions);
        (params, units)
    }
}

/// The memory this process can still take, and what limits it: the least of MemAvailable
/// (/proc/meminfo), the cgroup's memory.max less its usage, and `ulimit -v` less the address
/// space already mapped. `None` where none of them can be read.
pub fn available_memory() -> Option<(u64, &'static str)> {
    let mut limits: Vec<(u64, &'static str)> = Vec::new();
    if let Some(kb) = proc_kb("/proc/meminfo", "MemAvailable:") {
        limits.push((kb.saturating_mul(1024), "MemAvailable"));
    }
    if let Some(free) = cgroup_free() {
        limits.push((free, "the cgroup's memory.max"));
    }
    // SAFETY: getrlimit writes one struct that lives on this stack frame.
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut rl) } == 0
        && rl.rlim_cur != libc::RLIM_INFINITY
    {
        let mapped = proc_kb("/proc/self/status", "VmSize:").unwrap_or(0);
        #[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not on every unix
        let free = (rl.rlim_cur as u64).saturating_sub(mapped.saturating_mul(1024));
        limits.push((free, "ulimit -v"));
    }
    limits.into_iter().min_by_key(|(b, _)| *b)
}

/// The kB figure of the line starting with `key` in a /proc file.
fn proc_kb(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// cgroup v2: memory.max less memory.current for this process's cgroup, when limited.
fn cgroup_free() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = std::path::Path::new("/sys/fs/cgroup").join(rel.trim_start_matches('/'));
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let max: u64 = read("memory.max")?.trim().parse().ok()?; // "max" = unlimited
    let current: u64 = read("memory.current")?.trim().parse().ok()?;
    Some(max.saturating_sub(current))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_shown_in_decimal_units() {
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(2_300_000_000), "2.3 GB");
        assert_eq!(bytes(u64::MAX), "18446.7 PB");
    }

    #[test]
    fn dueling_minatar_counts_conv_and_both_heads() {
        let mut c = Config::default();
        c.env.id = "MinAtar/Breakout-v1".into();
        c.network.conv_channels = vec![16];
        c.network.hidden = vec![128];
        c.agent.dueling = true;
        let spec = sparq_envs::spec(&c.env.id).unwrap();
        let (channels, height, width) = spec.obs_space.planes().expect("MinAtar has planes");
        let a = spec.num_actions;
        let flat = 16 * (height - 2) * (width - 2);
        let want = (16 * channels * 9 + 16) + (128 * flat + 128) + (128 + 1) + (a * 128 + a);
        assert_eq!(c.memory_estimate(&spec).params, want as u64);
    }
}
