//! `vecenv`: `VecEnv::restore` (and through it every `Env::restore`) on mutated snapshots, then
//! stepping the restored environments and restoring their own snapshot again.
//!
//! Input: one byte choosing the registered environment restored into, then the snapshot JSON.

use sparq_envs::VecEnv;

use crate::engine::{Outcome, Target};
use crate::mutate::Mutator;
use crate::structured::mutate_json;

pub struct VecEnvTarget {
    ids: Vec<String>,
    envs: Vec<Option<VecEnv>>,
}

impl VecEnvTarget {
    pub fn new() -> Self {
        let ids = sparq_envs::registered_ids();
        let envs = ids.iter().map(|_| None).collect();
        VecEnvTarget { ids, envs }
    }
}

/// Steps taken after a successful restore: enough to cross MinAtar spawn timers.
const STEPS: usize = 40;

impl Target for VecEnvTarget {
    fn name(&self) -> &'static str {
        "vecenv"
    }

    fn seeds(&mut self) -> Vec<Vec<u8>> {
        crate::seeds::env_snapshots()
            .into_iter()
            .map(|(id, snap)| {
                let i = self
                    .ids
                    .iter()
                    .position(|k| *k == id)
                    .expect("seed ids are registered");
                [&[i as u8][..], &snap].concat()
            })
            .collect()
    }

    fn dictionary(&self) -> Vec<Vec<u8>> {
        [
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"",
            "null",
            "true",
            "false",
            "-1",
            "1e999",
            "18446744073709551615",
            "\"id\"",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain(self.ids.iter().map(|id| format!("\"{id}\"").into_bytes()))
        .collect()
    }

    fn mutate(&mut self, m: &mut Mutator, input: &[u8], other: &[u8]) -> Vec<u8> {
        let (&id, json) = input.split_first().unwrap_or((&0, &[]));
        let roll = m.below(100);
        if roll < 5 {
            return [&[m.below(self.ids.len()) as u8][..], json].concat();
        }
        if roll < 70
            && let Some(out) = mutate_json(m, json)
        {
            return [&[id][..], &out].concat();
        }
        let mut body = json.to_vec();
        m.mutate_bytes(&mut body, other.get(1..).unwrap_or(&[]));
        [&[id][..], &body].concat()
    }

    fn exec(&mut self, input: &[u8]) -> Outcome {
        let Some((&id, json)) = input.split_first() else {
            return Outcome::Rejected("empty input".into());
        };
        let i = usize::from(id) % self.ids.len();
        let env = self.envs[i].get_or_insert_with(|| crate::seeds::vec_env(&self.ids[i]));
        if let Err(e) = env.restore(json) {
            return Outcome::Rejected(e.to_string());
        }
        match crate::resume::vec_env(env, STEPS) {
            Err((key, detail)) => Outcome::Violation { key, detail },
            Ok(signature) => Outcome::Accepted(format!("{} {signature}", self.ids[i])),
        }
    }

    fn reset_after_panic(&mut self) {
        self.envs.iter_mut().for_each(|e| *e = None);
    }
}
