//! A rough size and duration of a sweep before it is queued, so that the form asks before starting hours of
//! work.
//!
//! # Cost model
//!
//! A trial (one fit and one score) costs `SECONDS_PER_STEP[model] x n_train x length` seconds, where `n_train`
//! and `length` (longest series) come from the catalog: fitting on the training split dominates both kinds
//! of model, a reservoir's harvest and ridge fit as a trainable model's epochs. A validation job runs
//! [`Spec::draws_for`] trials, a final job `spec.trials`. The sweep's estimate is the sum over its jobs.
//!
//! The constants were measured once, by hand, with the release build on the 2-core development machine,
//! 100 units, on the generated synthetic-control set (300 training series of 60 steps, 18 000 steps):
//! `mf sweep` of a 48-configuration MF-ESN grid and one MF-RNN configuration (`lr = 0.001`, default
//! patience) gave 0.054 s per MF-ESN validation job (5 draws) and 0.137 s per final job (5 trials), and
//! 2.9 s per MF-RNN validation job (1 trial) and 15.7 s per final job (5 trials); `mf run --trials 5` gave
//! ESN 0.06 s and `mf run --model rnn --trials 1` 1.73 s. Running two jobs side by side barely helped
//! (19.9 s of wall time for 21.3 s of jobs: each job already uses every core), so the sum of the jobs is
//! the estimate. Trainable models vary most: their epochs depend on the data and the configuration.

use std::time::Duration;

use mf_lab::{validation_jobs, ModelKind, Spec};

use super::data::DatasetSummary;

/// Training series-steps of the reference data set (synthetic-control: 300 series of 60 steps), used for a
/// data set missing from the catalog.
const REFERENCE_STEPS: f64 = 300.0 * 60.0;

/// Seconds per training series-step of one trial, by model (see the module documentation).
fn seconds_per_step(model: ModelKind) -> f64 {
    // MF-ESN: between 0.011 s (validation) and 0.027 s (final) per trial over 18 000 steps.
    // ESN: 0.012 s per trial. MF-RNN: 2.9-3.1 s per trial. RNN: 1.73 s per trial.
    if model == ModelKind::MfRnn {
        1.7e-4
    } else if model == ModelKind::Rnn {
        1.0e-4
    } else if model.is_reservoir() {
        1.0e-6
    } else {
        // A trainable model registered later: as costly as the MF-RNN until measured.
        1.7e-4
    }
}

/// How big a sweep is and roughly how long it takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Validation jobs (every configuration of every model on every data set).
    pub validation_jobs: usize,
    /// Final jobs (one per data set and model).
    pub final_jobs: usize,
    /// The estimated duration on a machine like the one measured.
    pub duration: Duration,
}

impl Estimate {
    /// Every job.
    pub fn jobs(&self) -> usize {
        self.validation_jobs + self.final_jobs
    }

    /// Long enough to ask first: more than [`LONG_RUN`] or more than [`MANY_JOBS`] jobs.
    pub fn is_long(&self) -> bool {
        self.duration > LONG_RUN || self.jobs() > MANY_JOBS
    }
}

/// A run estimated longer than this asks for confirmation.
pub const LONG_RUN: Duration = Duration::from_secs(10 * 60);

/// A run of more jobs than this asks for confirmation.
pub const MANY_JOBS: usize = 1000;

/// The size and rough duration of `spec` over the data sets of `catalog`.
pub fn estimate(spec: &Spec, catalog: &[DatasetSummary]) -> Estimate {
    let steps = |dataset: &str| {
        catalog
            .iter()
            .find(|d| d.name == dataset)
            .map_or(REFERENCE_STEPS, |d| (d.n_train * d.length.1) as f64)
    };
    let trial = |dataset: &str, model: ModelKind| seconds_per_step(model) * steps(dataset);
    let jobs = validation_jobs(spec);
    let mut seconds: f64 = jobs
        .iter()
        .map(|j| spec.draws_for(j.key.model) as f64 * trial(&j.key.dataset, j.key.model))
        .sum();
    for d in &spec.datasets {
        for &m in &spec.models {
            seconds += spec.trials as f64 * trial(d, m);
        }
    }
    Estimate {
        validation_jobs: jobs.len(),
        final_jobs: spec.datasets.len() * spec.models.len(),
        duration: Duration::from_secs_f64(seconds),
    }
}

/// A duration as people say it: `about 40 s`, `about 12 min`, `about 3 h 20 min`, `about 4 days`.
pub fn approx(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("about {s} s"),
        60..3600 => format!("about {} min", s.div_ceil(60)),
        3600..172_800 => format!("about {} h {} min", s / 3600, s / 60 % 60),
        _ => format!("about {} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synthetic_control() -> DatasetSummary {
        DatasetSummary {
            name: "SyntheticControl".into(),
            n_train: 300,
            n_test: 300,
            length: (60, 60),
            ..DatasetSummary::default()
        }
    }

    #[test]
    fn the_paper_grid_of_every_model_counts_table_iii_and_takes_minutes() {
        let spec = Spec::paper_grid(
            vec!["SyntheticControl".into()],
            ModelKind::TABLE_ORDER.to_vec(),
        )
        .unwrap();
        let e = estimate(&spec, &[synthetic_control()]);
        // Table III: 1152 + 240 + 48 + 2 configurations, then a final job per model.
        assert_eq!((e.validation_jobs, e.final_jobs), (1442, 4));
        assert!(e.is_long());
        let secs = e.duration.as_secs_f64();
        assert!((200.0..600.0).contains(&secs), "{secs}");
    }

    #[test]
    fn a_larger_data_set_takes_proportionally_longer_and_a_quick_grid_is_short() {
        let big = DatasetSummary {
            name: "Big".into(),
            n_train: 3000,
            length: (60, 600),
            ..DatasetSummary::default()
        };
        let models = vec![ModelKind::MfRnn];
        let small = estimate(
            &Spec::paper_grid(vec!["SyntheticControl".into()], models.clone()).unwrap(),
            &[synthetic_control()],
        );
        let large = estimate(
            &Spec::paper_grid(vec!["Big".into()], models.clone()).unwrap(),
            &[big],
        );
        let ratio = large.duration.as_secs_f64() / small.duration.as_secs_f64();
        assert!((ratio - 100.0).abs() < 1e-6, "{ratio}");
        assert!(large.is_long() && large.jobs() < MANY_JOBS);
        let quick = estimate(
            &Spec::quick(vec!["SyntheticControl".into()], models).unwrap(),
            &[synthetic_control()],
        );
        assert!(!quick.is_long(), "{quick:?}");
    }

    #[test]
    fn durations_read_as_words() {
        assert_eq!(approx(Duration::from_secs(40)), "about 40 s");
        assert_eq!(approx(Duration::from_secs(61)), "about 2 min");
        assert_eq!(
            approx(Duration::from_secs(3 * 3600 + 20 * 60)),
            "about 3 h 20 min"
        );
        assert_eq!(approx(Duration::from_secs(4 * 86_400)), "about 4 days");
    }
}
