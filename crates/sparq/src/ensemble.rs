//! Several trained policies acting as one ([`Ensemble`]): by the mean of their Q-values or by a
//! majority vote of their greedy actions. On disk an ensemble is a directory holding
//! `ensemble.json` (the [`EnsembleManifest`]) and one checkpoint directory per member, so it
//! travels as one directory and `sparq eval` evaluates it like any policy.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sparq_policy::{Scratch, argmax};

use crate::Policy;
use crate::evaluate::{Greedy, evaluate_greedy};

/// The manifest's file name inside an ensemble directory.
pub const ENSEMBLE_FILE: &str = "ensemble.json";
/// What `format` says in every manifest this build writes.
pub const ENSEMBLE_FORMAT: &str = "sparq-ensemble";
/// The manifest version this build writes and reads.
pub const ENSEMBLE_VERSION: u32 = 1;

/// How the members' outputs become one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Vote {
    /// The action with the highest Q-value averaged over the members.
    MeanQ,
    /// The action most members choose greedily; a tie goes to the tied action with the highest
    /// mean Q (then the lowest index), so a vote never depends on member order.
    Majority,
}

impl std::fmt::Display for Vote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Vote::MeanQ => "mean-q",
            Vote::Majority => "majority",
        })
    }
}

/// `ensemble.json`: the members' checkpoint directories, relative to the ensemble directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleManifest {
    /// Always [`ENSEMBLE_FORMAT`].
    pub format: String,
    /// Always [`ENSEMBLE_VERSION`].
    pub version: u32,
    /// The environment every member was trained on.
    pub env_id: String,
    /// How the members vote.
    pub vote: Vote,
    /// Member checkpoints (or run directories), relative to the manifest's directory.
    pub members: Vec<String>,
}

/// Trained policies of one environment acting as one greedy policy.
#[derive(Debug, Clone)]
pub struct Ensemble {
    members: Vec<Policy>,
    vote: Vote,
}

/// Per-thread buffers of [`Ensemble::act_with`].
#[derive(Debug, Default)]
pub struct EnsembleScratch {
    scratch: Scratch,
    q: Vec<f32>,
    sum: Vec<f32>,
    votes: Vec<u32>,
}

impl Ensemble {
    /// Checks that the members share an environment (hence observations and actions).
    pub fn new(members: Vec<Policy>, vote: Vote) -> Result<Ensemble> {
        let Some(first) = members.first() else {
            bail!("an ensemble needs at least one member");
        };
        let (env, spec) = (&first.meta().env_id, first.network().spec());
        for (i, m) in members.iter().enumerate().skip(1) {
            if &m.meta().env_id != env {
                bail!(
                    "member {i} was trained on {}, member 0 on {env}: an ensemble needs one environment",
                    m.meta().env_id
                );
            }
            let s = m.network().spec();
            if s.obs != spec.obs || s.num_actions != spec.num_actions {
                bail!("member {i}'s observations or actions differ from member 0's");
            }
        }
        Ok(Ensemble { members, vote })
    }

    /// Whether `path` is an ensemble directory (holds `ensemble.json`).
    pub fn is_ensemble(path: &Path) -> bool {
        path.join(ENSEMBLE_FILE).is_file()
    }

    /// Loads an ensemble directory: its manifest, then every member.
    pub fn load(dir: &Path) -> Result<Ensemble> {
        let file = dir.join(ENSEMBLE_FILE);
        let text = std::fs::read_to_string(&file).with_context(|| file.display().to_string())?;
        let manifest: EnsembleManifest = serde_json::from_str(&text)
            .with_context(|| format!("{}: not an ensemble manifest", file.display()))?;
        if manifest.format != ENSEMBLE_FORMAT || manifest.version != ENSEMBLE_VERSION {
            bail!(
                "{}: format '{} v{}' is not supported (expected '{ENSEMBLE_FORMAT} v{ENSEMBLE_VERSION}')",
                file.display(),
                manifest.format,
                manifest.version
            );
        }
        let members = manifest
            .members
            .iter()
            .map(|m| Policy::load(&member_path(dir, m)?))
            .collect::<Result<Vec<_>>>()?;
        let ensemble = Ensemble::new(members, manifest.vote)?;
        if ensemble.env_id() != manifest.env_id {
            bail!(
                "{}: says env '{}' but its members were trained on '{}'",
                file.display(),
                manifest.env_id,
                ensemble.env_id()
            );
        }
        Ok(ensemble)
    }

    /// The members, in manifest order.
    pub fn members(&self) -> &[Policy] {
        &self.members
    }
    /// How the members vote.
    pub fn vote(&self) -> Vote {
        self.vote
    }
    /// The environment of every member.
    pub fn env_id(&self) -> &str {
        &self.members[0].meta().env_id
    }

    /// The ensemble's action for one observation, with caller-owned buffers.
    pub fn act_with(&self, obs: &[f32], s: &mut EnsembleScratch) -> usize {
        s.sum.clear();
        s.votes.clear();
        for m in &self.members {
            m.network().q_values(obs, &mut s.scratch, &mut s.q);
            if s.sum.is_empty() {
                s.sum.resize(s.q.len(), 0.0);
                s.votes.resize(s.q.len(), 0);
            }
            s.sum.iter_mut().zip(&s.q).for_each(|(a, q)| *a += q);
            s.votes[argmax(&s.q)] += 1;
        }
        match self.vote {
            // The sum ranks actions as the mean does, without a division that could round.
            Vote::MeanQ => argmax(&s.sum),
            Vote::Majority => {
                let most = s.votes.iter().copied().max().unwrap_or(0);
                let mut best: Option<usize> = None;
                for (a, &v) in s.votes.iter().enumerate() {
                    if v == most && best.is_none_or(|b| s.sum[a] > s.sum[b]) {
                        best = Some(a);
                    }
                }
                best.unwrap_or(0)
            }
        }
    }

    /// The ensemble's action for one observation.
    pub fn act(&self, obs: &[f32]) -> Result<usize> {
        let want = self.members[0].network().spec().obs.len();
        anyhow::ensure!(
            obs.len() == want,
            "observation has {} values, the ensemble takes {want}",
            obs.len()
        );
        Ok(self.act_with(obs, &mut EnsembleScratch::default()))
    }

    /// Greedy returns of `episodes` episodes (episode k: seed + k), as [`Policy::evaluate`].
    pub fn evaluate(&self, episodes: u32, seed: u64) -> Result<Vec<f64>> {
        evaluate_greedy(self, self.env_id(), episodes, seed)
    }
}

impl Greedy for Ensemble {
    type Scratch = EnsembleScratch;
    fn act_greedy(&self, obs: &[f32], scratch: &mut EnsembleScratch) -> usize {
        self.act_with(obs, scratch)
    }
}

/// A member's path: relative to the ensemble directory and inside it (a manifest must not send
/// the loader elsewhere on the machine).
fn member_path(dir: &Path, member: &str) -> Result<PathBuf> {
    let rel = Path::new(member);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        bail!(
            "{}: member '{member}' must be a relative path inside the ensemble directory",
            dir.join(ENSEMBLE_FILE).display()
        );
    }
    Ok(dir.join(rel))
}
