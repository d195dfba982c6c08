//! Model selection and final summaries (paper Sec. VI).
//!
//! A configuration's validation score is the mean of its per-draw scores. The selected configuration is the
//! first one, in grid order, that is strictly better than every configuration before it: ties keep the earlier
//! configuration. Final results are the mean and population standard deviation over the trials.

use std::collections::BTreeMap;

use crate::job::{JobKey, Stage};
use crate::spec::{Metric, ModelKind, Params, Spec};
use crate::store::{Outcome, Record};

/// Mean of `xs` (NaN for an empty slice).
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Population standard deviation of `xs` (divides by `n`, as numpy's default; NaN for an empty slice).
pub fn pop_std(xs: &[f64]) -> f64 {
    let m = mean(xs);
    (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64).sqrt()
}

/// The index and score of the first strictly best entry of `scores`, taken in the order given (grid order);
/// None when `scores` is empty. NaN scores are never selected over a number.
pub fn first_best(
    metric: Metric,
    scores: impl IntoIterator<Item = (usize, f64)>,
) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for (i, s) in scores {
        match best {
            Some((_, b)) if !metric.strictly_better(s, b) => {}
            _ => best = Some((i, s)),
        }
    }
    best
}

/// The configuration chosen for one (data set, model) pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Index of the configuration in grid order.
    pub config: usize,
    /// Its hyper-parameters.
    pub params: Params,
    /// Its validation score (mean over draws).
    pub score: f64,
    /// What the score measures.
    pub metric: Metric,
}

/// Where model selection of a pair stands, given the records found so far.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectionState {
    /// Some validation jobs have no record yet.
    Incomplete {
        /// How many validation records are missing.
        missing: usize,
    },
    /// Every validation job failed, or the successful ones disagree on the metric: nothing can be selected.
    Unselectable {
        /// Why.
        reason: String,
    },
    /// The selection.
    Selected(Selection),
}

/// Model selection for `model` on `dataset` from the validation records in `records`. Failed configurations are
/// skipped; a pair is selectable once every configuration has a record and at least one succeeded.
pub fn select(
    spec: &Spec,
    records: &BTreeMap<JobKey, Record>,
    dataset: &str,
    model: ModelKind,
) -> SelectionState {
    let grid = spec.grid_for(model);
    let mut scored = Vec::new();
    let mut missing = 0;
    let mut failures = Vec::new();
    let mut metric = None;
    for config in 0..grid.len() {
        let key = JobKey {
            stage: Stage::Validation,
            dataset: dataset.to_string(),
            model,
            config,
        };
        match records.get(&key).map(|r| &r.outcome) {
            None => missing += 1,
            Some(Outcome::Failed { message }) => failures.push(format!("#{config}: {message}")),
            // A configuration some of whose trials diverged has scores that mean nothing: never selected.
            Some(Outcome::Done {
                scores, diverged, ..
            }) if !diverged.is_empty() => failures.push(format!(
                "#{config}: diverged in {} of {} trials",
                diverged.len(),
                scores.len()
            )),
            Some(Outcome::Done {
                metric: m, scores, ..
            }) => {
                if metric.is_some_and(|prev| prev != *m) {
                    return SelectionState::Unselectable {
                        reason: format!(
                            "configurations report different metrics ({m} at #{config})"
                        ),
                    };
                }
                metric = Some(*m);
                scored.push((config, mean(scores)));
            }
        }
    }
    if missing > 0 {
        return SelectionState::Incomplete { missing };
    }
    let Some(metric) = metric else {
        return SelectionState::Unselectable {
            reason: format!(
                "all {} configurations failed (first: {})",
                failures.len(),
                failures.first().map(String::as_str).unwrap_or("none")
            ),
        };
    };
    let (config, score) = first_best(metric, scored).expect("at least one scored configuration");
    SelectionState::Selected(Selection {
        config,
        params: grid.config(config).expect("index in range"),
        score,
        metric,
    })
}

/// Mean and population standard deviation of a final job's trial scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Mean over trials.
    pub mean: f64,
    /// Population standard deviation over trials.
    pub std: f64,
    /// Number of trials.
    pub n: usize,
    /// What the scores measure.
    pub metric: Metric,
}

impl Summary {
    /// The summary of `scores`.
    pub fn of(metric: Metric, scores: &[f64]) -> Summary {
        Summary {
            mean: mean(scores),
            std: pop_std(scores),
            n: scores.len(),
            metric,
        }
    }
}

/// The final result of one pair: its selected configuration and the summary of its trials.
#[derive(Debug, Clone, PartialEq)]
pub struct FinalResult {
    /// Selected configuration index in grid order.
    pub config: usize,
    /// Selected hyper-parameters.
    pub params: Params,
    /// Mean and standard deviation over trials, or the failure message of the final job.
    pub summary: Result<Summary, String>,
}

/// The final result of `model` on `dataset` in `records`: the final record of the configuration that
/// [`select`] picks from the same records, if both exist.
pub fn final_result(
    spec: &Spec,
    records: &BTreeMap<JobKey, Record>,
    dataset: &str,
    model: ModelKind,
) -> Option<FinalResult> {
    let SelectionState::Selected(sel) = select(spec, records, dataset, model) else {
        return None;
    };
    let key = JobKey {
        stage: Stage::Final,
        dataset: dataset.to_string(),
        model,
        config: sel.config,
    };
    let rec = records.get(&key)?;
    Some(FinalResult {
        config: sel.config,
        params: rec.params.clone(),
        summary: match &rec.outcome {
            Outcome::Done { metric, scores, .. } => Ok(Summary::of(*metric, scores)),
            Outcome::Failed { message } => Err(message.clone()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Job;

    fn record(
        spec: &Spec,
        dataset: &str,
        model: ModelKind,
        config: usize,
        outcome: Outcome,
    ) -> Record {
        let job = Job::validation(spec, dataset, model, config).unwrap();
        Record::new(&job, outcome, 0.0)
    }

    fn done(metric: Metric, scores: &[f64]) -> Outcome {
        Outcome::Done {
            metric,
            scores: scores.to_vec(),
            diverged: Vec::new(),
        }
    }

    fn spec_with_grid(lr: &[f64]) -> Spec {
        Spec::from_toml(&format!(
            "datasets = [\"D\"]\nmodels = [\"esn\"]\ndraws = 2\n[grid.esn]\nlambda = {lr:?}"
        ))
        .unwrap()
    }

    fn check(metric: Metric, per_config: &[&[f64]]) -> SelectionState {
        let spec = spec_with_grid(
            &(0..per_config.len())
                .map(|i| i as f64 + 1.0)
                .collect::<Vec<_>>(),
        );
        let records = per_config
            .iter()
            .enumerate()
            .map(|(c, s)| {
                let r = record(&spec, "D", ModelKind::Esn, c, done(metric, s));
                (r.key.clone(), r)
            })
            .collect();
        select(&spec, &records, "D", ModelKind::Esn)
    }

    fn selected(state: SelectionState) -> (usize, f64) {
        match state {
            SelectionState::Selected(s) => (s.config, s.score),
            other => panic!("expected a selection, got {other:?}"),
        }
    }

    #[test]
    fn ties_keep_the_configuration_earlier_in_grid_order() {
        // Means: 0.5, 0.75, 0.75, 0.25 -> configurations 1 and 2 tie, 1 comes first.
        let s = check(
            Metric::Accuracy,
            &[&[0.5, 0.5], &[0.5, 1.0], &[1.0, 0.5], &[0.25, 0.25]],
        );
        assert_eq!(selected(s), (1, 0.75));
    }

    #[test]
    fn accuracy_selects_the_highest_and_rmse_the_lowest_mean() {
        let scores: &[&[f64]] = &[&[0.3, 0.5], &[0.9, 0.7], &[0.1, 0.2]];
        assert_eq!(selected(check(Metric::Accuracy, scores)).0, 1);
        assert_eq!(selected(check(Metric::Rmse, scores)).0, 2);
    }

    #[test]
    fn selection_uses_the_mean_over_draws_not_the_best_draw() {
        // Configuration 0 has the single best draw but the worse mean.
        let s = check(Metric::Accuracy, &[&[1.0, 0.0], &[0.6, 0.6]]);
        assert_eq!(selected(s), (1, 0.6));
    }

    #[test]
    fn failed_and_non_finite_configurations_are_not_selected() {
        let spec = spec_with_grid(&[1.0, 2.0, 3.0]);
        let mut records = BTreeMap::new();
        for (c, o) in [
            (
                0,
                Outcome::Failed {
                    message: "diverged".into(),
                },
            ),
            (1, done(Metric::Rmse, &[f64::NAN, 0.1])),
            (2, done(Metric::Rmse, &[0.4, 0.4])),
        ] {
            let r = record(&spec, "D", ModelKind::Esn, c, o);
            records.insert(r.key.clone(), r);
        }
        assert_eq!(
            selected(select(&spec, &records, "D", ModelKind::Esn)),
            (2, 0.4)
        );
    }

    #[test]
    fn a_configuration_with_a_diverged_trial_is_not_selected() {
        let spec = spec_with_grid(&[1.0, 2.0]);
        let mut records = BTreeMap::new();
        let mut best_but_diverged = done(Metric::Accuracy, &[0.9, 0.95]);
        if let Outcome::Done { diverged, .. } = &mut best_but_diverged {
            diverged.push(1);
        }
        for (c, o) in [
            (0, best_but_diverged),
            (1, done(Metric::Accuracy, &[0.5, 0.75])),
        ] {
            let r = record(&spec, "D", ModelKind::Esn, c, o);
            records.insert(r.key.clone(), r);
        }
        assert_eq!(
            selected(select(&spec, &records, "D", ModelKind::Esn)),
            (1, 0.625)
        );
        // When every configuration diverged there is nothing to select, and the reason says so.
        records.retain(|k, _| k.config == 0);
        let spec = spec_with_grid(&[1.0]);
        match select(&spec, &records, "D", ModelKind::Esn) {
            SelectionState::Unselectable { reason } => {
                assert!(reason.contains("#0: diverged in 1 of 2 trials"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn selection_waits_for_every_configuration() {
        let spec = spec_with_grid(&[1.0, 2.0, 3.0]);
        let r = record(
            &spec,
            "D",
            ModelKind::Esn,
            1,
            done(Metric::Accuracy, &[1.0, 1.0]),
        );
        let records = BTreeMap::from([(r.key.clone(), r)]);
        assert_eq!(
            select(&spec, &records, "D", ModelKind::Esn),
            SelectionState::Incomplete { missing: 2 }
        );
    }

    #[test]
    fn all_failed_is_unselectable() {
        let spec = spec_with_grid(&[1.0]);
        let r = record(
            &spec,
            "D",
            ModelKind::Esn,
            0,
            Outcome::Failed {
                message: "x".into(),
            },
        );
        let records = BTreeMap::from([(r.key.clone(), r)]);
        assert!(matches!(
            select(&spec, &records, "D", ModelKind::Esn),
            SelectionState::Unselectable { .. }
        ));
    }

    #[test]
    fn population_std_matches_the_closed_form() {
        // Values 1..=4: mean 2.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, / 4 -> 1.25.
        assert_eq!(mean(&[1.0, 2.0, 3.0, 4.0]), 2.5);
        assert!((pop_std(&[1.0, 2.0, 3.0, 4.0]) - 1.25f64.sqrt()).abs() < 1e-15);
        assert_eq!(pop_std(&[3.0]), 0.0);
    }

    #[test]
    fn first_best_of_nothing_is_none() {
        assert_eq!(first_best(Metric::Accuracy, []), None);
        assert_eq!(
            first_best(Metric::Rmse, [(0, f64::NAN), (1, 0.5)]),
            Some((1, 0.5))
        );
    }
}
