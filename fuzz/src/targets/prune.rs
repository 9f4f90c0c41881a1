//! `prune`: `serde_json::from_slice::<Pruner>` (the pruner state in a checkpoint's `meta.json`)
//! on mutated JSON, then everything the trainer and `sparq prune` do with a restored pruner.

use sparq_prune::Pruner;

use crate::engine::{Outcome, Target};
use crate::mutate::Mutator;
use crate::structured::mutate_json;

pub struct PruneTarget;

impl Target for PruneTarget {
    fn name(&self) -> &'static str {
        "prune"
    }

    fn seeds(&mut self) -> Vec<Vec<u8>> {
        crate::seeds::pruners()
            .iter()
            .filter_map(|p| serde_json::to_vec(p).ok())
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
            "null",
            "true",
            "false",
            "-1",
            "0.0",
            "1e999",
            "18446744073709551615",
            "\"fc0\"",
            "\"out\"",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect()
    }

    fn mutate(&mut self, m: &mut Mutator, input: &[u8], other: &[u8]) -> Vec<u8> {
        if m.chance(0.7)
            && let Some(out) = mutate_json(m, input)
        {
            return out;
        }
        let mut out = input.to_vec();
        m.mutate_bytes(&mut out, other);
        out
    }

    fn exec(&mut self, input: &[u8]) -> Outcome {
        match serde_json::from_slice::<Pruner>(input) {
            Err(e) => Outcome::Rejected(e.to_string()),
            Ok(p) => match crate::resume::pruner(&p) {
                Some((key, detail)) => Outcome::Violation { key, detail },
                None => {
                    let c = p.config();
                    Outcome::Accepted(format!(
                        "{} {} {} {} {:?}",
                        c.schedule(),
                        c.scope(),
                        c.criterion(),
                        c.granularity(),
                        p.last_update_step().map(|s| s.min(2))
                    ))
                }
            },
        }
    }
}
