//! Dynamic sparse training's mask update (SET, RigL): within one layer, drop the weakest active
//! connections and grow as many inactive ones, so the layer's sparsity never changes.

use rand::{Rng, RngExt};

use crate::error::PruneError;
use crate::select::order_bits;

/// Connections removed and added by one or more mask updates: equal counts for SET and RigL,
/// none grown for gradual schedules, either way for STE's moving top-k.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MaskChanges {
    pub updates: u64,
    pub dropped: u64,
    pub grown: u64,
}

impl std::ops::AddAssign for MaskChanges {
    fn add_assign(&mut self, other: MaskChanges) {
        self.updates += other.updates;
        self.dropped += other.dropped;
        self.grown += other.grown;
    }
}

/// Rewires one layer's `keep` mask in place: drops the `round(fraction · active)` active weights
/// with the smallest `magnitude` and grows as many among the weights that were inactive before
/// this call: those with the largest `grow` score (RigL), or uniformly at random when `grow` is
/// `None` (SET). A connection just dropped is never regrown in the same update, so every grown
/// weight was zero before and the counts are exactly equal. Ties go to the lower index.
pub(crate) fn rewire_layer<R: Rng + ?Sized>(
    layer: &str,
    keep: &mut [bool],
    magnitude: &[f32],
    grow: Option<&[f32]>,
    fraction: f64,
    rng: &mut R,
) -> Result<MaskChanges, PruneError> {
    let active: Vec<u32> = (0..keep.len() as u32)
        .filter(|&i| keep[i as usize])
        .collect();
    let inactive: Vec<u32> = (0..keep.len() as u32)
        .filter(|&i| !keep[i as usize])
        .collect();
    let n = ((fraction * active.len() as f64).round() as usize).min(inactive.len());
    if n == 0 {
        return Ok(MaskChanges::default());
    }
    let score_key = |scores: &[f32], i: u32| -> Result<u64, PruneError> {
        let x = scores[i as usize];
        if x.is_nan() {
            return Err(PruneError::NanScore {
                layer: layer.to_string(),
                index: i as usize,
            });
        }
        Ok(u64::from(order_bits(x)) << 32 | u64::from(i))
    };

    let mut drop_keys = active
        .iter()
        .map(|&i| score_key(magnitude, i))
        .collect::<Result<Vec<_>, _>>()?;
    let dropped = smallest(&mut drop_keys, n);

    let grown: Vec<u32> = match grow {
        // Largest gradient first: rank by the negated score.
        Some(g) => {
            let mut keys = inactive
                .iter()
                .map(|&i| {
                    score_key(g, i).map(|k| {
                        let bits = (k >> 32) as u32;
                        u64::from(!bits) << 32 | u64::from(i)
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            smallest(&mut keys, n)
        }
        None => {
            // A partial Fisher–Yates shuffle: the first n of a uniform random permutation.
            let mut pool = inactive;
            for j in 0..n {
                let k = rng.random_range(j..pool.len());
                pool.swap(j, k);
            }
            pool.truncate(n);
            pool
        }
    };
    for i in dropped {
        keep[i as usize] = false;
    }
    for i in grown {
        keep[i as usize] = true;
    }
    Ok(MaskChanges {
        updates: 0,
        dropped: n as u64,
        grown: n as u64,
    })
}

/// The indices (low 32 bits) of the `n` smallest keys.
fn smallest(keys: &mut [u64], n: usize) -> Vec<u32> {
    if n < keys.len() {
        keys.select_nth_unstable(n);
    }
    keys[..n]
        .iter()
        .map(|&k| (k & 0xFFFF_FFFF) as u32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64;

    #[test]
    fn rigl_drops_the_smallest_and_grows_the_largest_gradients() {
        // Active: 0, 1, 2, 3; inactive: 4, 5, 6, 7.
        let mut keep = vec![true, true, true, true, false, false, false, false];
        let magnitude = [0.5, 0.1, 0.9, 0.2, 0.0, 0.0, 0.0, 0.0];
        let grad = [9.0, 9.0, 9.0, 9.0, 0.3, 0.8, 0.1, 0.7];
        let mut rng = Pcg64::seed_from_u64(0);
        let change = rewire_layer("fc", &mut keep, &magnitude, Some(&grad), 0.5, &mut rng).unwrap();
        assert_eq!(
            change,
            MaskChanges {
                updates: 0,
                dropped: 2,
                grown: 2
            }
        );
        assert_eq!(keep, [true, false, true, false, false, true, false, true]);
    }

    #[test]
    fn set_grows_only_among_the_previously_inactive() {
        let mut rng = Pcg64::seed_from_u64(3);
        for _ in 0..50 {
            let mut keep: Vec<bool> = (0..40).map(|i| i % 4 == 0).collect();
            let before = keep.clone();
            let magnitude: Vec<f32> = (0..40).map(|i| i as f32).collect();
            let change = rewire_layer("fc", &mut keep, &magnitude, None, 0.3, &mut rng).unwrap();
            // 10 active, 3 rewired: the three smallest (0, 4, 8) go.
            assert_eq!(
                change,
                MaskChanges {
                    updates: 0,
                    dropped: 3,
                    grown: 3
                }
            );
            assert!(!keep[0] && !keep[4] && !keep[8]);
            let grown: Vec<usize> = (0..40).filter(|&i| keep[i] && !before[i]).collect();
            assert_eq!(grown.len(), 3);
            assert!(grown.iter().all(|&i| !before[i]));
            assert_eq!(keep.iter().filter(|&&k| k).count(), 10);
        }
    }

    #[test]
    fn never_grows_more_than_there_is_room_for() {
        let mut keep = vec![true, true, true, false];
        let mut rng = Pcg64::seed_from_u64(0);
        let change =
            rewire_layer("fc", &mut keep, &[1.0, 2.0, 3.0, 0.0], None, 1.0, &mut rng).unwrap();
        assert_eq!(
            change,
            MaskChanges {
                updates: 0,
                dropped: 1,
                grown: 1
            }
        );
        assert_eq!(keep, [false, true, true, true]);
    }

    #[test]
    fn nan_gradients_are_refused() {
        let mut keep = vec![true, false];
        let mut rng = Pcg64::seed_from_u64(0);
        let e = rewire_layer(
            "fc1",
            &mut keep,
            &[1.0, 0.0],
            Some(&[0.0, f32::NAN]),
            1.0,
            &mut rng,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "pruning score for layer 'fc1' is NaN at weight index 1"
        );
    }
}
