//! When masks change and to which sparsity. All steps are gradient steps.

use crate::config::PruneConfig;
use crate::params::ScheduleKind;

impl PruneConfig {
    /// The scheduled sparsity at gradient step `step`. Masks follow it only at update steps
    /// (see [`PruneConfig::is_update_step`]), so between them this may run ahead of the masks.
    ///
    /// * polynomial: s_i before t0, s_f + (s_i − s_f)(1 − (t − t0)/(t1 − t0))^power on
    ///   [t0, t1], s_f after t1;
    /// * one_shot: 0 before t0, s_f from t0;
    /// * iterative: 0 before the first round, 1 − (1 − p)^r after r rounds (exactly s_f after
    ///   the last), with p = 1 − (1 − s_f)^(1/rounds);
    /// * static, set, rigl: s_f from step 0 (set and rigl move weights, never the count);
    /// * ste: as polynomial; none: 0.
    pub fn target_at(&self, step: u64) -> f64 {
        let (t0, t1) = (self.start_step(), self.end_step());
        let (si, sf) = (self.initial_sparsity(), self.target_sparsity());
        match self.schedule() {
            ScheduleKind::None => 0.0,
            ScheduleKind::Static | ScheduleKind::Set | ScheduleKind::Rigl => sf,
            ScheduleKind::OneShot => {
                if step >= t0 {
                    sf
                } else {
                    0.0
                }
            }
            ScheduleKind::Polynomial | ScheduleKind::Ste => {
                if step <= t0 {
                    si
                } else if step >= t1 {
                    sf
                } else {
                    let progress = (step - t0) as f64 / (t1 - t0) as f64;
                    sf + (si - sf) * (1.0 - progress).powf(self.power())
                }
            }
            ScheduleKind::Iterative => {
                let done = self.rounds_done(step);
                if done >= self.rounds() {
                    sf
                } else {
                    1.0 - (1.0 - self.iterative_fraction()).powi(done as i32)
                }
            }
        }
    }

    /// Whether masks are recomputed at gradient step `step`.
    pub fn is_update_step(&self, step: u64) -> bool {
        self.next_update_step(step) == Some(step)
    }

    /// The first mask-update step at or after `from`, or `None` once the schedule is over.
    ///
    /// polynomial: t0 + k·frequency ≤ t1 and t1 itself; one_shot: t0; iterative: round r at
    /// t0 + ⌊r·(t1 − t0)/(rounds − 1)⌋ (t0 if rounds = 1); set, rigl: t0 + k·frequency ≤ t1,
    /// step 0 excepted (their mask is drawn at initialisation, not at an update); ste: every
    /// step from t0 to the end of the run; static, none: never (static's mask is drawn at
    /// initialisation too).
    pub fn next_update_step(&self, from: u64) -> Option<u64> {
        let (t0, t1) = (self.start_step(), self.end_step());
        match self.schedule() {
            ScheduleKind::None | ScheduleKind::Static => None,
            ScheduleKind::Ste => Some(from.max(t0)).filter(|&s| s <= self.total_gradient_steps()),
            ScheduleKind::Set | ScheduleKind::Rigl => {
                let from = from.max(t0).max(1);
                let f = self.frequency();
                let k = (from - t0).div_ceil(f);
                k.checked_mul(f)
                    .filter(|&kf| kf <= t1 - t0)
                    .map(|kf| t0 + kf)
            }
            ScheduleKind::OneShot => (from <= t0).then_some(t0),
            ScheduleKind::Polynomial => {
                if from <= t0 {
                    Some(t0)
                } else if from > t1 {
                    None
                } else {
                    let f = self.frequency();
                    let k = (from - t0).div_ceil(f);
                    // The last update is t1 itself even when it is off the frequency grid.
                    match k.checked_mul(f) {
                        Some(kf) if kf <= t1 - t0 => Some(t0 + kf),
                        _ => Some(t1),
                    }
                }
            }
            ScheduleKind::Iterative => {
                if from <= t0 {
                    return Some(t0);
                }
                let rounds = self.rounds();
                if rounds == 1 {
                    return None;
                }
                // round_step(r) ≥ from  ⇔  r·(t1 − t0)/(R − 1) ≥ from − t0 (integers).
                let span = u128::from(t1 - t0);
                let r = (u128::from(from - t0) * u128::from(rounds - 1)).div_ceil(span);
                (r < u128::from(rounds)).then(|| self.round_step(r as u32))
            }
        }
    }

    /// set, rigl: the fraction of each layer's active weights rewired at gradient step `step`:
    /// `drop_fraction`, or under the cosine schedule
    /// drop_fraction/2 · (1 + cos(π·(step − t0)/(t1 − t0))) (Evci et al. 2020).
    pub fn drop_fraction_at(&self, step: u64) -> f64 {
        let f = self.drop_fraction();
        match self.drop_schedule() {
            crate::DropSchedule::Constant => f,
            crate::DropSchedule::Cosine => {
                let (t0, t1) = (self.start_step(), self.end_step());
                let progress = if t1 > t0 {
                    (step.clamp(t0, t1) - t0) as f64 / (t1 - t0) as f64
                } else {
                    1.0
                };
                f / 2.0 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }

    /// All mask-update steps in order.
    pub fn update_steps(&self) -> impl Iterator<Item = u64> + '_ {
        std::iter::successors(self.next_update_step(0), move |&s| {
            s.checked_add(1).and_then(|n| self.next_update_step(n))
        })
    }

    /// The gradient step of iterative round `round` (0-based).
    pub fn round_step(&self, round: u32) -> u64 {
        let rounds = self.rounds();
        if rounds <= 1 {
            return self.start_step();
        }
        let span = u128::from(self.end_step() - self.start_step());
        let offset = u128::from(round) * span / u128::from(rounds - 1);
        // offset ≤ span when round < rounds, so it fits in u64.
        self.start_step() + offset as u64
    }

    /// The fraction p of surviving weights each iterative round removes:
    /// p = 1 − (1 − target)^(1/rounds).
    pub fn iterative_fraction(&self) -> f64 {
        1.0 - (1.0 - self.target_sparsity()).powf(1.0 / f64::from(self.rounds()))
    }

    /// Number of iterative rounds whose step is ≤ `step` (round steps increase with r).
    fn rounds_done(&self, step: u64) -> u32 {
        let (mut lo, mut hi) = (0u32, self.rounds());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.round_step(mid) <= step {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}
