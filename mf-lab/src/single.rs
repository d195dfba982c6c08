//! One model on one data set over fresh trials, as `mf run` does it: the configuration from the paper's preset
//! and overrides, trained on the whole training split and scored on the test split.

use std::path::Path;
use std::time::Instant;

use mf_core::rng::derive_seed;
use serde::Serialize;

use crate::eval::{diverged_indices, run_trials};
use crate::job::JobProgress;
use crate::models::{CancelToken, Configured, TrialData, TrialScore};
use crate::normalise::Normalise;
use crate::paper::{self, PaperScore};
use crate::protocol;
use crate::spec::{Metric, ModelKind, Params};
use crate::tasks::{is_generated, load_dataset, Task};
use crate::training::TrainingProtocol;
use crate::{LabError, ResultExt};

/// A model on a data set with its hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    /// The model.
    pub model: ModelKind,
    /// A data set in the data directory, or a generated set.
    pub dataset: String,
    /// Start from the paper's selection for the data set (Tables V-VIII) instead of the model's defaults.
    pub preset: bool,
    /// Hyper-parameters set over the preset or defaults.
    pub set: Params,
    /// Seed of every random draw.
    pub seed: u64,
    /// How a trainable model stops early and which weights it keeps (reservoirs ignore it).
    pub protocol: TrainingProtocol,
    /// Input normalisation, fitted on the training split and applied to it and to the test split (and, for a
    /// saved model, to every series it is given). Default [`Normalise::None`].
    pub normalise: Normalise,
}

impl ModelRequest {
    /// The hyper-parameters: the paper's preset (when asked), then `set` over it.
    pub fn params(&self) -> Result<Params, LabError> {
        let mut params = if self.preset {
            self.model.model().preset(&self.dataset).ok_or_else(|| {
                LabError::InvalidParams(format!(
                    "the paper has no {} preset for {} (it has: {})",
                    self.model,
                    self.dataset,
                    paper::datasets().join(", ")
                ))
            })?
        } else {
            Params::new()
        };
        params.extend(self.set.iter().map(|(k, v)| (k.clone(), *v)));
        Ok(params)
    }

    /// The checked configuration.
    pub fn configure(&self) -> Result<Box<dyn Configured>, LabError> {
        self.model.model().configure(&self.params()?)
    }
}

/// What a run of fresh trials found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// Data set name.
    pub dataset: String,
    /// Model id (`mf-esn`, `esn`, `mf-rnn`, `rnn`).
    pub model: String,
    /// `accuracy` or `rmse`.
    pub metric: Metric,
    /// Mean test score over the trials.
    pub mean: f64,
    /// Population standard deviation of the test scores.
    pub std: f64,
    /// Test score of each trial.
    pub per_trial: Vec<f64>,
    /// Every hyper-parameter.
    pub config: serde_json::Value,
    /// The run's seed.
    pub seed: u64,
    /// Seconds spent loading the data.
    pub load_s: f64,
    /// Seconds in all, loading included.
    pub wall_s: f64,
    /// The paper's Table IV entry, when there is one.
    pub paper: Option<Published>,
    /// Trainable models: epochs trained and the best epoch, per trial.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub epochs: Vec<(usize, usize)>,
    /// Trainable models: the training protocol the trials followed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<TrainingProtocol>,
    /// Indices (into `per_trial`) of the trials whose training diverged: their scores mean nothing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diverged: Vec<usize>,
    /// What the user should know about the result, one sentence each (`trial 1/5: training diverged: ...`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The input normalisation the trials used; absent when `none`.
    #[serde(skip_serializing_if = "Normalise::is_none")]
    pub normalise: Normalise,
}

/// A published mean and standard deviation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Published {
    /// Mean over 5 runs.
    pub mean: f64,
    /// Standard deviation over 5 runs.
    pub std: f64,
}

impl From<PaperScore> for Published {
    fn from(p: PaperScore) -> Self {
        Published {
            mean: p.mean,
            std: p.std,
        }
    }
}

/// Trains `trials` fresh models of `req` (trial `i` from seed `derive_seed(req.seed, i)`) on the training split
/// of its data set from `data_dir` and scores each on the test split. `progress` hears each trial start and
/// epoch, `on_trial` each finished trial with the task's metric.
pub fn run_trials_on_test(
    req: &ModelRequest,
    trials: usize,
    data_dir: &Path,
    progress: &dyn Fn(JobProgress),
    on_trial: &mut dyn FnMut(usize, Metric, &TrialScore),
    cancel: &CancelToken,
) -> Result<RunReport, LabError> {
    crate::memory::check_repeats("--trials", trials)?;
    let start = Instant::now();
    let config = req.configure()?;
    let ds = load_dataset(data_dir, &req.dataset)?;
    // Data under a paper set's name that differ from its Table I entry are not the paper's: its score does not
    // apply. (A generated set follows a paper set's process but is other data: no published number applies
    // either.)
    let differences = match mf_data::paper_dataset(&req.dataset) {
        Some(info) if !is_generated(&req.dataset) => {
            mf_data::data_differences(&info, &mf_data::Shape::of(&ds))
        }
        _ => Vec::new(),
    };
    let task = Task::from_dataset(&ds)?;
    let (task, _) = task.normalised(req.normalise)?;
    let load_s = start.elapsed().as_secs_f64();
    let data = TrialData {
        train: &task.train,
        val: None,
        eval: task.test()?,
        protocol: req.protocol,
    };
    let seeds: Vec<u64> = (0..trials)
        .map(|i| derive_seed(req.seed, i as u64))
        .collect();
    let metric = task.metric;
    let scores = run_trials(
        config.as_ref(),
        &data,
        &seeds,
        progress,
        &mut |i, t| on_trial(i, metric, t),
        cancel,
    )
    .context_with(|| format!("{} on {}", req.model, req.dataset))?;
    let per_trial: Vec<f64> = scores.iter().map(|t| t.score).collect();
    Ok(RunReport {
        dataset: req.dataset.clone(),
        model: req.model.id().to_string(),
        metric,
        mean: protocol::mean(&per_trial),
        std: protocol::pop_std(&per_trial),
        per_trial,
        config: {
            // The protocol decides which weights a trainable model keeps: report what the trials did.
            let mut json = config.to_json();
            if let Some(restore) = json.get_mut("restore_best") {
                *restore = req.protocol.restores_best().into();
            }
            json
        },
        protocol: (!req.model.is_reservoir()).then_some(req.protocol),
        seed: req.seed,
        load_s,
        wall_s: start.elapsed().as_secs_f64(),
        paper: (!is_generated(&req.dataset) && differences.is_empty())
            .then(|| paper::table_iv(&req.dataset, req.model))
            .flatten()
            .map(Published::from),
        epochs: scores.iter().filter_map(|t| t.epochs).collect(),
        diverged: diverged_indices(&scores),
        // What the data set says of itself (a class only in the test split, which no model can predict), then
        // each diverged trial.
        warnings: (!differences.is_empty())
            .then(|| {
                format!(
                    "{}: these data differ from the paper's Table I ({}), so the paper's score is left out",
                    req.dataset,
                    differences.join("; ")
                )
            })
            .into_iter()
            .chain(
                ds.warnings()
                    .into_iter()
                    .map(|w| format!("{}: {w}", req.dataset)),
            )
            .chain(scores.iter().enumerate().filter_map(|(i, t)| {
                let why = t.diverged.as_ref()?;
                Some(format!("trial {}/{trials}: {why}", i + 1))
            }))
            .collect(),
        normalise: req.normalise,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(model: ModelKind, set: &[(&str, f64)]) -> ModelRequest {
        ModelRequest {
            model,
            dataset: "synthetic-control".into(),
            preset: false,
            set: set.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            seed: 4,
            protocol: TrainingProtocol::Reference,
            normalise: Normalise::None,
        }
    }

    /// `run_trials_on_test` of `r` on the generated data sets (no data directory).
    fn try_run(r: &ModelRequest, trials: usize) -> Result<RunReport, LabError> {
        run_trials_on_test(
            r,
            trials,
            Path::new("/nonexistent"),
            &|_| {},
            &mut |_, _, _| {},
            &CancelToken::new(),
        )
    }

    fn run(r: &ModelRequest, trials: usize) -> RunReport {
        try_run(r, trials).unwrap()
    }

    #[test]
    fn an_mf_reservoir_whose_states_leave_the_unit_interval_is_flagged_as_diverged() {
        // dt = 1 makes the MF step overshoot: the states grow far outside [0, 1] (dt = 5 overflows to an error).
        let a = run(&req(ModelKind::MfEsn, &[("n_units", 20.0), ("dt", 1.0)]), 2);
        assert_eq!(a.diverged, [0, 1], "{a:?}");
        assert!(
            a.warnings[0].starts_with("trial 1/2: the reservoir diverged: an MF state reached"),
            "{:?}",
            a.warnings
        );
        // The same reservoir at the paper's steps stays in range, and the leaky ESN is never flagged.
        for (m, set) in [
            (ModelKind::MfEsn, &[("n_units", 20.0), ("dt", 0.1)][..]),
            (ModelKind::Esn, &[("n_units", 20.0)][..]),
        ] {
            let ok = run(&req(m, set), 2);
            assert!(
                ok.diverged.is_empty() && ok.warnings.is_empty(),
                "{m}: {ok:?}"
            );
        }
    }

    #[test]
    fn a_trial_count_typed_with_too_many_zeros_is_refused_before_anything_is_reserved() {
        let r = req(ModelKind::Esn, &[("n_units", 4.0)]);
        for n in [0, 100_001, 100_000_000_000] {
            let e = try_run(&r, n).unwrap_err().to_string();
            assert_eq!(
                e,
                format!("--trials must be from 1 to 100000, not {n} (each is a fresh model)")
            );
        }
    }

    #[test]
    fn a_class_only_in_the_test_split_is_warned_about_in_the_report() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("Tiny");
        std::fs::create_dir(&sub).unwrap();
        let rows = |labels: &[&str]| {
            labels
                .iter()
                .enumerate()
                .map(|(i, l)| format!("{l}\t{}\t{}\t0.5\n", i as f64 * 0.1, 1.0 - i as f64 * 0.2))
                .collect::<String>()
        };
        std::fs::write(sub.join("Tiny_TRAIN.tsv"), rows(&["1", "2", "1", "2"])).unwrap();
        std::fs::write(sub.join("Tiny_TEST.tsv"), rows(&["1", "3"])).unwrap();
        let mut r = req(ModelKind::Esn, &[("n_units", 4.0)]);
        r.dataset = "Tiny".into();
        let a = run_trials_on_test(
            &r,
            1,
            dir.path(),
            &|_| {},
            &mut |_, _, _| {},
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(
            a.warnings,
            ["Tiny: 1 class only in the test split, never in the training split: 3"]
        );
    }

    #[test]
    fn data_under_a_paper_name_that_differ_from_table_i_get_no_paper_score_and_a_warning() {
        let run_on = |dir: &Path| {
            let mut r = req(ModelKind::Esn, &[("n_units", 4.0)]);
            r.dataset = "Coffee".into();
            run_trials_on_test(&r, 1, dir, &|_| {}, &mut |_, _, _| {}, &CancelToken::new()).unwrap()
        };
        // Four series of length 3 named Coffee: Table I says 28 + 28 series of 286 steps.
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("Coffee");
        std::fs::create_dir(&sub).unwrap();
        let rows = "0\t0.1\t0.2\t0.3\n1\t0.9\t0.8\t0.7\n0\t0.2\t0.1\t0.3\n1\t0.7\t0.9\t0.8\n";
        std::fs::write(sub.join("Coffee_TRAIN.tsv"), rows).unwrap();
        std::fs::write(sub.join("Coffee_TEST.tsv"), rows).unwrap();
        let a = run_on(dir.path());
        assert!(a.paper.is_none(), "{:?}", a.paper);
        assert!(
            a.warnings[0].starts_with("Coffee: these data differ from the paper's Table I (train series 4 on disk, paper says 28")
                && a.warnings[0].ends_with("so the paper's score is left out"),
            "{:?}",
            a.warnings
        );
        // The paper's own Coffee keeps its published number.
        if let Some(real) = std::env::var_os("MF_DATA_DIR").map(std::path::PathBuf::from) {
            if real.join("Coffee").is_dir() {
                let a = run_on(&real);
                assert!(a.paper.is_some());
                assert!(
                    a.warnings.iter().all(|w| !w.contains("differ")),
                    "{:?}",
                    a.warnings
                );
            }
        }
    }

    #[test]
    fn a_trained_model_whose_outputs_overflow_is_an_error_not_an_accuracy() {
        for m in [ModelKind::MfRnn, ModelKind::Rnn] {
            let r = req(
                m,
                &[("n_units", 8.0), ("max_epochs", 2.0), ("w_noise", 1e300)],
            );
            let e = try_run(&r, 1).unwrap_err().to_string();
            assert!(
                e.contains("is not finite") && e.contains("series"),
                "{m}: {e}"
            );
            // The same model without the noise scores.
            run(&req(m, &[("n_units", 8.0), ("max_epochs", 2.0)]), 1);
        }
    }

    #[test]
    fn runs_are_reproducible_and_match_mf_esn_trials() {
        let r = req(ModelKind::MfEsn, &[("n_units", 40.0)]);
        let a = run(&r, 2);
        assert_eq!(a.per_trial, run(&r, 2).per_trial);
        // mf-esn's own trial loop, from the same seeds, is an independent path to the same numbers.
        let task = Task::from_dataset(&load_dataset(Path::new("."), "synthetic-control").unwrap())
            .unwrap();
        let rc = r
            .configure()
            .unwrap()
            .as_any()
            .downcast_ref::<mf_esn::ReservoirConfig>()
            .unwrap()
            .clone();
        let test = task.test().unwrap();
        let t = mf_esn::run_trials(
            &rc,
            &task.train.seqs,
            &task.train.targets,
            &test.seqs,
            &test.targets,
            2,
            4,
        )
        .unwrap();
        assert_eq!(a.per_trial, t.per_trial);
        assert!(a.paper.is_none(), "generated data has no published number");
    }

    #[test]
    fn presets_come_from_the_paper_and_set_overrides_them() {
        let mut r = req(ModelKind::Esn, &[("alpha", 0.5)]);
        r.dataset = "ecg5000".into();
        r.preset = true;
        let p = r.params().unwrap();
        assert_eq!(p["alpha"], 0.5);
        assert_eq!(p["rho"], 0.99);
        let rc = r
            .configure()
            .unwrap()
            .as_any()
            .downcast_ref::<mf_esn::ReservoirConfig>()
            .unwrap()
            .clone();
        assert_eq!(
            rc.scalings.omega,
            mf_esn::presets::esn("ECG5000").unwrap().scalings.omega
        );
        r.dataset = "NoSuchSet".into();
        assert!(r
            .params()
            .unwrap_err()
            .to_string()
            .contains("no ESN preset for NoSuchSet"));
    }

    #[test]
    fn a_diverged_training_is_flagged_and_warned_about_in_the_report() {
        let r = req(
            ModelKind::Rnn,
            &[("n_units", 8.0), ("max_epochs", 3.0), ("lr", 1e6)],
        );
        let a = run(&r, 2);
        assert_eq!(a.diverged, [0, 1], "{a:?}");
        assert_eq!(a.warnings.len(), 2);
        assert!(
            a.warnings[1].starts_with("trial 2/2: training diverged: the final training loss"),
            "{}",
            a.warnings[1]
        );
        assert!(
            a.warnings[1].ends_with("; try a smaller lr"),
            "{}",
            a.warnings[1]
        );
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["diverged"], serde_json::json!([0, 1]));
        // A sensible run carries neither field.
        let ok = run(
            &req(ModelKind::Rnn, &[("n_units", 8.0), ("max_epochs", 2.0)]),
            1,
        );
        assert!(ok.diverged.is_empty() && ok.warnings.is_empty());
        let json = serde_json::to_value(&ok).unwrap();
        assert!(json.get("diverged").is_none() && json.get("warnings").is_none());
    }

    #[test]
    fn a_configuration_too_large_for_memory_is_refused_before_allocating() {
        for model in [ModelKind::MfEsn, ModelKind::MfRnn] {
            let r = req(model, &[("n_units", 1e7)]);
            let e = run_trials_on_test(
                &r,
                1,
                Path::new("/nonexistent"),
                &|_| {},
                &mut |_, _, _| {},
                &CancelToken::new(),
            )
            .unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains("the configuration needs about")
                    && msg.contains("of memory for 300 series of up to 60 steps")
                    && msg.ends_with("; lower n_units"),
                "{msg}"
            );
        }
    }

    #[test]
    fn trainable_models_run_through_the_same_loop() {
        let r = req(ModelKind::Rnn, &[("n_units", 8.0), ("max_epochs", 2.0)]);
        let a = run(&r, 1);
        assert_eq!(a.epochs.len(), 1);
        assert_eq!(a.epochs[0].0, 2);
    }
}
