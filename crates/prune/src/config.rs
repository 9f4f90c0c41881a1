//! Validation of the raw `[prune]` section and the checked [`PruneConfig`] it resolves to.

use serde::{Deserialize, Serialize};

use crate::error::PruneError;
use crate::params::{Criterion, DropSchedule, Granularity, PruneParams, ScheduleKind, Scope};
use crate::step::StepSpec;

/// A validated pruning configuration with its start and end resolved to absolute gradient
/// steps. Only [`PruneParams::check`] makes one (deserialising re-runs the same check).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ConfigRepr", into = "ConfigRepr")]
pub struct PruneConfig {
    params: PruneParams,
    total_gradient_steps: u64,
    start_step: u64,
    end_step: u64,
}

/// Serialised form: the raw section plus the run length it was resolved against; the resolved
/// steps are written for readers of checkpoints and verified on load.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigRepr {
    params: PruneParams,
    total_gradient_steps: u64,
    start_step: u64,
    end_step: u64,
}

impl From<PruneConfig> for ConfigRepr {
    fn from(c: PruneConfig) -> Self {
        ConfigRepr {
            params: c.params,
            total_gradient_steps: c.total_gradient_steps,
            start_step: c.start_step,
            end_step: c.end_step,
        }
    }
}

impl TryFrom<ConfigRepr> for PruneConfig {
    type Error = PruneError;

    fn try_from(r: ConfigRepr) -> Result<Self, PruneError> {
        let config = r.params.check(r.total_gradient_steps)?;
        if (config.start_step, config.end_step) != (r.start_step, r.end_step) {
            return Err(PruneError::state(format!(
                "saved steps {}..{} differ from the ones the saved parameters resolve to ({}..{})",
                r.start_step, r.end_step, config.start_step, config.end_step
            )));
        }
        Ok(config)
    }
}

/// "prune.end (0.1 → gradient step 500)" or "prune.end (gradient step 500)".
fn show(key: &str, spec: StepSpec, step: u64) -> String {
    match spec {
        StepSpec::Fraction(f) => format!("{key} ({f:?} → gradient step {step})"),
        StepSpec::Step(_) => format!("{key} (gradient step {step})"),
    }
}

fn check_fraction(key: &str, spec: StepSpec) -> Result<(), PruneError> {
    match spec {
        StepSpec::Fraction(f) if !(0.0..=1.0).contains(&f) => Err(PruneError::out_of_range(
            key,
            format!("{f:?}"),
            "[0, 1] as a fraction of training, or an integer gradient step",
        )),
        _ => Ok(()),
    }
}

impl PruneParams {
    /// Validates every field and resolves `start`/`end` against the run's total number of
    /// gradient steps (optimizer updates, not environment steps).
    pub fn check(&self, total_gradient_steps: u64) -> Result<PruneConfig, PruneError> {
        let p = self;
        if !(0.0..1.0).contains(&p.target_sparsity) {
            return Err(PruneError::out_of_range(
                "prune.target_sparsity",
                p.target_sparsity,
                "[0, 1)",
            ));
        }
        if !(0.0..=p.target_sparsity).contains(&p.initial_sparsity) {
            return Err(PruneError::out_of_range(
                "prune.initial_sparsity",
                p.initial_sparsity,
                format!("[0, prune.target_sparsity = {}]", p.target_sparsity),
            ));
        }
        if p.frequency < 1 {
            return Err(PruneError::out_of_range(
                "prune.frequency",
                p.frequency,
                "≥ 1",
            ));
        }
        if !(p.power.is_finite() && p.power > 0.0) {
            return Err(PruneError::out_of_range(
                "prune.power",
                p.power,
                "> 0 (finite)",
            ));
        }
        if p.rounds < 1 {
            return Err(PruneError::out_of_range("prune.rounds", p.rounds, "≥ 1"));
        }
        check_fraction("prune.start", p.start)?;
        check_fraction("prune.end", p.end)?;
        if let Some(layer) = p.include.iter().find(|l| p.exclude.contains(l)) {
            return Err(PruneError::IncludedAndExcluded {
                layer: layer.clone(),
            });
        }

        let start_step = p.start.resolve(total_gradient_steps);
        let end_step = p.end.resolve(total_gradient_steps);
        let start = show("prune.start", p.start, start_step);
        let end = show("prune.end", p.end, end_step);
        let within_run = |what: &str, step: u64| {
            if step > total_gradient_steps {
                Err(PruneError::BeyondRun {
                    what: what.to_string(),
                    total: total_gradient_steps,
                })
            } else {
                Ok(())
            }
        };
        let end_after_start = || {
            if end_step <= start_step {
                Err(PruneError::EndNotAfterStart {
                    start: start.clone(),
                    end: end.clone(),
                })
            } else {
                Ok(())
            }
        };

        if !matches!(
            p.schedule,
            ScheduleKind::Polynomial | ScheduleKind::Ste | ScheduleKind::None
        ) && p.initial_sparsity != 0.0
        {
            return Err(PruneError::InitialSparsityUnused {
                value: p.initial_sparsity,
                schedule: p.schedule.to_string(),
            });
        }
        if matches!(
            p.schedule,
            ScheduleKind::Set | ScheduleKind::Rigl | ScheduleKind::Ste
        ) {
            check_sparse_training(p)?;
        }
        match p.schedule {
            ScheduleKind::None | ScheduleKind::Static => {}
            ScheduleKind::OneShot => within_run(&start, start_step)?,
            ScheduleKind::Polynomial
            | ScheduleKind::Set
            | ScheduleKind::Rigl
            | ScheduleKind::Ste => {
                within_run(&start, start_step)?;
                within_run(&end, end_step)?;
                end_after_start()?;
            }
            ScheduleKind::Iterative => {
                within_run(&start, start_step)?;
                if p.rounds > 1 {
                    within_run(&end, end_step)?;
                    end_after_start()?;
                    let needed = u64::from(p.rounds) - 1;
                    if end_step - start_step < needed {
                        return Err(PruneError::TooFewStepsForRounds {
                            rounds: p.rounds,
                            needed,
                            start: start_step,
                            end: end_step,
                        });
                    }
                }
            }
        }
        Ok(PruneConfig {
            params: p.clone(),
            total_gradient_steps,
            start_step,
            end_step,
        })
    }
}

/// What SET, RigL and STE accept besides the common keys: they rank weights by magnitude within
/// each layer (at a per-layer sparsity from a uniform or ERK allocation), one weight at a time.
fn check_sparse_training(p: &PruneParams) -> Result<(), PruneError> {
    let schedule = p.schedule;
    if p.scope == Scope::Global {
        return Err(PruneError::NotForSchedule {
            setting: "prune.scope = \"global\"".into(),
            schedule: schedule.to_string(),
            allowed: "scope = \"layerwise\" (uniform) or \"erk\"".into(),
        });
    }
    if p.criterion != Criterion::Magnitude {
        return Err(PruneError::NotForSchedule {
            setting: format!("prune.criterion = \"{}\"", p.criterion),
            schedule: schedule.to_string(),
            allowed: "criterion = \"magnitude\"".into(),
        });
    }
    if p.granularity != Granularity::Weight {
        return Err(PruneError::NotForSchedule {
            setting: format!("prune.granularity = \"{}\"", p.granularity),
            schedule: schedule.to_string(),
            allowed: "granularity = \"weight\"".into(),
        });
    }
    if !(p.drop_fraction > 0.0 && p.drop_fraction <= 1.0) {
        return Err(PruneError::out_of_range(
            "prune.drop_fraction",
            p.drop_fraction,
            "(0, 1]",
        ));
    }
    Ok(())
}

impl PruneConfig {
    /// The raw parameters this configuration was checked from.
    pub fn params(&self) -> &PruneParams {
        &self.params
    }
    /// The run length (gradient steps) that fractions were resolved against.
    pub fn total_gradient_steps(&self) -> u64 {
        self.total_gradient_steps
    }
    /// `prune.start` as an absolute gradient step.
    pub fn start_step(&self) -> u64 {
        self.start_step
    }
    /// `prune.end` as an absolute gradient step.
    pub fn end_step(&self) -> u64 {
        self.end_step
    }
    pub fn schedule(&self) -> ScheduleKind {
        self.params.schedule
    }
    pub fn target_sparsity(&self) -> f64 {
        self.params.target_sparsity
    }
    pub fn initial_sparsity(&self) -> f64 {
        self.params.initial_sparsity
    }
    pub fn frequency(&self) -> u64 {
        self.params.frequency
    }
    pub fn power(&self) -> f64 {
        self.params.power
    }
    pub fn rounds(&self) -> u32 {
        self.params.rounds
    }
    pub fn scope(&self) -> Scope {
        self.params.scope
    }
    /// The criterion actually used: `static` always draws a random mask (there is nothing to
    /// rank at initialisation), whatever `prune.criterion` says.
    pub fn criterion(&self) -> Criterion {
        match self.params.schedule {
            ScheduleKind::Static => Criterion::Random,
            _ => self.params.criterion,
        }
    }
    /// set, rigl: the fraction of each layer's active weights rewired at an update.
    pub fn drop_fraction(&self) -> f64 {
        self.params.drop_fraction
    }
    pub fn drop_schedule(&self) -> DropSchedule {
        self.params.drop_schedule
    }
    pub fn granularity(&self) -> Granularity {
        self.params.granularity
    }
    pub fn include(&self) -> &[String] {
        &self.params.include
    }
    pub fn exclude(&self) -> &[String] {
        &self.params.exclude
    }
    /// Whether any mask ever changes.
    pub fn is_enabled(&self) -> bool {
        self.params.schedule != ScheduleKind::None
    }

    /// One line for logs, e.g. "polynomial 0.00→0.90 over gradient steps 1200..4800 every 100,
    /// global magnitude".
    pub fn describe(&self) -> String {
        let p = &self.params;
        let (t0, t1, s) = (self.start_step, self.end_step, p.target_sparsity);
        let what = match p.schedule {
            ScheduleKind::None => return "no pruning".to_string(),
            ScheduleKind::Polynomial => format!(
                "polynomial {:.2}→{s:.2} over gradient steps {t0}..{t1} every {}, power {}",
                p.initial_sparsity, p.frequency, p.power
            ),
            ScheduleKind::OneShot => format!("one_shot {s:.2} at gradient step {t0}"),
            ScheduleKind::Iterative if p.rounds == 1 => {
                format!("iterative 1 round to {s:.2} at gradient step {t0}")
            }
            ScheduleKind::Iterative => format!(
                "iterative {} rounds to {s:.2} ({:.1}% of survivors each) over gradient steps {t0}..{t1}",
                p.rounds,
                100.0 * self.iterative_fraction()
            ),
            ScheduleKind::Static => format!("static {s:.2} from initialisation"),
            ScheduleKind::Set | ScheduleKind::Rigl => format!(
                "{} {s:.2} from initialisation, rewiring {} {} of each layer's weights every {} gradient steps over {t0}..{t1}",
                p.schedule, p.drop_schedule, p.drop_fraction, p.frequency
            ),
            ScheduleKind::Ste => format!(
                "ste {:.2}→{s:.2} over gradient steps {t0}..{t1}, power {}, top-k every gradient step",
                p.initial_sparsity, p.power
            ),
        };
        let mut line = format!("{what}, {} {}", p.scope, self.criterion());
        if p.granularity == Granularity::Neuron {
            line.push_str(" per neuron");
        }
        if !p.include.is_empty() {
            line.push_str(&format!(", only {}", p.include.join(", ")));
        }
        if !p.exclude.is_empty() {
            line.push_str(&format!(", except {}", p.exclude.join(", ")));
        }
        line
    }
}
