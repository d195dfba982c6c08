//! The models behind the engine: hyper-parameters by name into model configurations, and the [`Evaluator`] that
//! trains and scores MF-ESN, ESN, MF-RNN and RNN on real or generated data.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use mf_core::rng::derive_seed;
use mf_core::{CellKind, MfCell};
use mf_esn::ReservoirConfig;
use mf_rnn::{RnnCell, RnnConfig, TrainEvent};

use crate::engine::{Evaluator, Job, JobOutcome, JobProgress, ModelKind, Params, Stage};
use crate::tasks::{load_dataset, Part, Task};

/// Stream tag of the per-trial early-stopping split of trainable models in the final stage.
const TRIAL_SPLIT_STREAM: u64 = 0x0054_5249_414c; // "TRIAL" in ASCII

/// Hyper-parameter names each model accepts (in `--set`, spec grids and presets).
pub fn param_names(model: ModelKind) -> &'static [&'static str] {
    match model {
        ModelKind::MfEsn => &[
            "omega", "beta", "rho", "gamma", "s", "dt", "lambda", "n_units",
        ],
        ModelKind::Esn => &["omega", "beta", "rho", "alpha", "lambda", "n_units"],
        ModelKind::MfRnn => &[
            "lr",
            "gamma",
            "s",
            "dt",
            "n_units",
            "max_epochs",
            "patience",
            "batch_size",
        ],
        ModelKind::Rnn => &["lr", "n_units", "max_epochs", "patience", "batch_size"],
    }
}

fn check_names(model: ModelKind, params: &Params) -> anyhow::Result<()> {
    let known = param_names(model);
    for (k, v) in params {
        if !known.contains(&k.as_str()) {
            bail!(
                "{} has no hyper-parameter `{k}` (it has: {})",
                model.id(),
                known.join(", ")
            );
        }
        if !v.is_finite() {
            bail!("hyper-parameter {k} = {v} is not finite");
        }
    }
    Ok(())
}

/// Sets `gamma`, `s` or `dt` of an MF cell; `cell` is None when the model's cell is not MF.
fn set_mf_param(cell: Option<&mut MfCell>, k: &str, v: f64) -> anyhow::Result<()> {
    let Some(cell) = cell else {
        bail!("{k} applies to the MF cell only");
    };
    match k {
        "gamma" => cell.gamma = v,
        "s" => cell.s = v,
        _ => cell.dt = v,
    }
    Ok(())
}

fn count(name: &str, v: f64) -> anyhow::Result<usize> {
    if v < 1.0 || v.fract() != 0.0 {
        bail!("{name} must be a positive whole number, not {v}");
    }
    Ok(v as usize)
}

/// The reservoir configuration of `model` (MF-ESN or ESN): `base` (a preset, or the model's defaults) with
/// `params` applied, then checked.
pub fn reservoir_config(
    model: ModelKind,
    base: Option<ReservoirConfig>,
    params: &Params,
) -> anyhow::Result<ReservoirConfig> {
    check_names(model, params)?;
    let mut c = match (model, base) {
        (_, Some(b)) => b,
        (ModelKind::MfEsn, None) => ReservoirConfig::mf_esn(),
        (ModelKind::Esn, None) => ReservoirConfig::esn(),
        _ => bail!("{} is not a reservoir model", model.id()),
    };
    for (k, &v) in params {
        match k.as_str() {
            "omega" => c.omega = v,
            "beta" => c.beta = v,
            "rho" => c.rho = v,
            "lambda" => c.lambda = v,
            "n_units" => c.n_units = count(k, v)?,
            "alpha" => c.cell = CellKind::LeakyEsn { alpha: v },
            "gamma" | "s" | "dt" => {
                let cell = match &mut c.cell {
                    CellKind::Mf(cell) => Some(cell),
                    _ => None,
                };
                set_mf_param(cell, k, v)?
            }
            _ => unreachable!("checked by check_names"),
        }
    }
    c.check().map_err(|e| anyhow!("{e}"))?;
    Ok(c)
}

/// The training configuration of `model` (MF-RNN or RNN): `base` (a preset, or the paper's defaults) with
/// `params` applied, then checked.
pub fn rnn_config(
    model: ModelKind,
    base: Option<RnnConfig>,
    params: &Params,
) -> anyhow::Result<RnnConfig> {
    check_names(model, params)?;
    let mut c = match (model, base) {
        (_, Some(b)) => b,
        (ModelKind::MfRnn, None) => RnnConfig::new(RnnCell::Mf(MfCell::new(0.01, 1.0, 5.0))),
        (ModelKind::Rnn, None) => RnnConfig::new(RnnCell::Tanh),
        _ => bail!("{} is not a trainable model", model.id()),
    };
    for (k, &v) in params {
        match k.as_str() {
            "lr" => c.lr = v,
            "n_units" => c.n_units = count(k, v)?,
            "max_epochs" => c.max_epochs = count(k, v)?,
            "patience" => c.patience = count(k, v)?,
            "batch_size" => c.batch_size = count(k, v)?,
            "gamma" | "s" | "dt" => {
                let cell = match &mut c.cell {
                    RnnCell::Mf(cell) => Some(cell),
                    RnnCell::Tanh => None,
                };
                set_mf_param(cell, k, v)?
            }
            _ => unreachable!("checked by check_names"),
        }
    }
    c.check().map_err(|e| anyhow!("{e}"))?;
    Ok(c)
}

/// Fits one reservoir on `fit` (drawn from `seed`) and scores it on `eval`.
pub fn reservoir_score(
    config: &ReservoirConfig,
    fit: &Part,
    eval: &Part,
    seed: u64,
) -> anyhow::Result<f64> {
    let params = config.clone().into_params()?;
    let model = params.fit(&fit.seqs, &fit.targets, seed)?;
    Ok(model.score(&eval.seqs, &eval.targets)?)
}

/// How one trained model did.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TrainedScore {
    /// Score on the evaluation part.
    pub score: f64,
    /// Epochs trained before early stopping (or the limit).
    pub epochs: usize,
    /// Epoch with the lowest validation loss.
    pub best_epoch: usize,
}

/// Trains one recurrent model on `fit` with early stopping on `val` (seed `seed`) and scores it on `eval`.
pub fn rnn_score(
    config: &RnnConfig,
    fit: &Part,
    val: &Part,
    eval: &Part,
    seed: u64,
    on_epoch: &mut dyn FnMut(&TrainEvent),
    cancel: &AtomicBool,
) -> anyhow::Result<TrainedScore> {
    let config = config.clone().seed(seed);
    let model = mf_rnn::train_cancellable(
        &config,
        (&fit.seqs, &fit.targets),
        (&val.seqs, &val.targets),
        on_epoch,
        cancel,
    )?;
    Ok(TrainedScore {
        score: model.score(&eval.seqs, &eval.targets)?,
        epochs: model.history().len(),
        best_epoch: model.best_epoch(),
    })
}

/// The trial split of trainable models in the final stage: 80/20 of the training split for early stopping,
/// seeded by the trial's seed.
pub fn trial_split(task: &Task, trial_seed: u64) -> (Part, Part) {
    task.fit_val(0.2, derive_seed(trial_seed, TRIAL_SPLIT_STREAM))
}

/// Runs engine jobs on real data (from a data directory) and the generated sets. Loaded data sets are cached.
#[derive(Debug)]
pub struct ModelEvaluator {
    data_dir: PathBuf,
    cache: Mutex<HashMap<String, Arc<Task>>>,
}

impl ModelEvaluator {
    /// An evaluator reading data sets from `data_dir`.
    pub fn new(data_dir: PathBuf) -> Self {
        ModelEvaluator {
            data_dir,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The task of data set `name`, loaded once.
    pub fn task(&self, name: &str) -> anyhow::Result<Arc<Task>> {
        if let Some(t) = self.cache.lock().expect("cache lock").get(name) {
            return Ok(t.clone());
        }
        let ds = load_dataset(&self.data_dir, name)?;
        let task = Arc::new(Task::from_dataset(&ds)?);
        self.cache
            .lock()
            .expect("cache lock")
            .insert(name.to_string(), task.clone());
        Ok(task)
    }

    fn run_job(&self, job: &Job, progress: &dyn Fn(JobProgress)) -> anyhow::Result<Vec<f64>> {
        let task = self.task(&job.key.dataset)?;
        let model = job.key.model;
        let n = job.seeds.len();
        let mut params = job.params.clone();
        params.insert("n_units".into(), job.n_units as f64);
        if let (Some(e), false) = (job.max_epochs, model.is_reservoir()) {
            params.insert("max_epochs".into(), e as f64);
        }
        let (fit_val, test) = match job.key.stage {
            Stage::Validation => (Some(task.fit_val(job.val_fraction, job.split_seed)), None),
            Stage::Final => (None, Some(task.test()?)),
        };
        let mut scores = Vec::with_capacity(n);
        if model.is_reservoir() {
            let config = reservoir_config(model, None, &params)?;
            for (i, &seed) in job.seeds.iter().enumerate() {
                progress(JobProgress {
                    fraction: i as f64 / n as f64,
                    message: format!("draw {}/{n}", i + 1),
                });
                let s = match (&fit_val, test) {
                    (Some((fit, val)), _) => reservoir_score(&config, fit, val, seed)?,
                    (None, Some(test)) => reservoir_score(&config, &task.train, test, seed)?,
                    _ => unreachable!(),
                };
                scores.push(s);
            }
        } else {
            let config = rnn_config(model, None, &params)?;
            let never = AtomicBool::new(false);
            let max_epochs = config.max_epochs as f64;
            for (i, &seed) in job.seeds.iter().enumerate() {
                let mut on_epoch = |e: &TrainEvent| {
                    progress(JobProgress {
                        fraction: ((i as f64 + e.epoch as f64 / max_epochs) / n as f64).min(1.0),
                        message: format!(
                            "epoch {} loss={:.4} val={:.4}",
                            e.epoch, e.train_loss, e.val_metric
                        ),
                    })
                };
                let s = match (&fit_val, test) {
                    (Some((fit, val)), _) => {
                        rnn_score(&config, fit, val, val, seed, &mut on_epoch, &never)?.score
                    }
                    (None, Some(test)) => {
                        let (fit, val) = trial_split(&task, seed);
                        rnn_score(&config, &fit, &val, test, seed, &mut on_epoch, &never)?.score
                    }
                    _ => unreachable!(),
                };
                scores.push(s);
            }
        }
        if let Some((i, s)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
            bail!("{}: score of seed {} is {s}", job.key, i + 1);
        }
        Ok(scores)
    }
}

impl Evaluator for ModelEvaluator {
    fn evaluate(&self, job: &Job, progress: &dyn Fn(JobProgress)) -> Result<JobOutcome, String> {
        let start = Instant::now();
        let metric = self
            .task(&job.key.dataset)
            .map_err(|e| format!("{e:#}"))?
            .metric;
        let scores = self
            .run_job(job, progress)
            .with_context(|| format!("{}", job.key))
            .map_err(|e| format!("{e:#}"))?;
        Ok(JobOutcome {
            scores,
            metric,
            wall: start.elapsed(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Spec;

    fn params(kv: &[(&str, f64)]) -> Params {
        kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn reservoir_parameters_land_in_the_right_fields() {
        let c = reservoir_config(
            ModelKind::MfEsn,
            None,
            &params(&[
                ("omega", 10.0),
                ("beta", 0.0),
                ("rho", 0.8),
                ("gamma", 0.5),
                ("s", 1.0),
                ("dt", 0.1),
            ]),
        )
        .unwrap();
        assert_eq!((c.omega, c.beta, c.rho), (10.0, 0.0, 0.8));
        assert_eq!(c.cell, CellKind::Mf(MfCell::new(0.1, 0.5, 1.0)));
        let e = reservoir_config(ModelKind::Esn, None, &params(&[("alpha", 0.3)])).unwrap();
        assert_eq!(e.cell, CellKind::LeakyEsn { alpha: 0.3 });
        assert_eq!(
            e,
            ReservoirConfig {
                cell: CellKind::LeakyEsn { alpha: 0.3 },
                ..ReservoirConfig::esn()
            }
        );
    }

    #[test]
    fn unknown_or_invalid_parameters_are_errors() {
        let e = reservoir_config(ModelKind::Esn, None, &params(&[("gamma", 0.5)])).unwrap_err();
        assert!(e.to_string().contains("no hyper-parameter `gamma`"), "{e}");
        assert!(reservoir_config(ModelKind::MfEsn, None, &params(&[("rho", -1.0)])).is_err());
        assert!(reservoir_config(ModelKind::MfEsn, None, &params(&[("n_units", 2.5)])).is_err());
        assert!(rnn_config(ModelKind::Rnn, None, &params(&[("dt", 0.1)])).is_err());
        assert!(rnn_config(ModelKind::MfRnn, None, &params(&[("gamma", 0.0)])).is_err());
        let r = rnn_config(
            ModelKind::MfRnn,
            None,
            &params(&[("lr", 0.01), ("max_epochs", 3.0)]),
        )
        .unwrap();
        assert_eq!((r.lr, r.max_epochs), (0.01, 3));
    }

    #[test]
    fn every_paper_grid_configuration_builds() {
        for model in ModelKind::TABLE_ORDER {
            for p in model.paper_grid().configs() {
                if model.is_reservoir() {
                    reservoir_config(model, None, &p).unwrap();
                } else {
                    rnn_config(model, None, &p).unwrap();
                }
            }
        }
    }

    #[test]
    fn validation_and_final_jobs_score_generated_data_reproducibly() {
        let mut spec = Spec::new(vec!["synthetic-control".into()]);
        spec.seed = 3;
        spec.draws = 2;
        spec.trials = 2;
        spec.n_units = 30;
        let ev = ModelEvaluator::new(PathBuf::from("/nonexistent"));
        let job = Job::validation(&spec, "synthetic-control", ModelKind::MfEsn, 0).unwrap();
        let notes = Mutex::new(Vec::new());
        let out = ev
            .evaluate(&job, &|p| notes.lock().unwrap().push(p.message))
            .unwrap();
        assert_eq!(out.scores.len(), 2);
        assert!(out.scores.iter().all(|s| (0.0..=1.0).contains(s)));
        assert_eq!(*notes.lock().unwrap(), vec!["draw 1/2", "draw 2/2"]);
        assert_eq!(ev.evaluate(&job, &|_| {}).unwrap().scores, out.scores);
        // The final job fits on the whole training split and scores on test: an independent path.
        let fin = Job::final_of(&spec, "synthetic-control", ModelKind::MfEsn, 0).unwrap();
        let task = ev.task("synthetic-control").unwrap();
        let config = reservoir_config(ModelKind::MfEsn, None, &{
            let mut p = fin.params.clone();
            p.insert("n_units".into(), 30.0);
            p
        })
        .unwrap();
        let direct =
            reservoir_score(&config, &task.train, task.test().unwrap(), fin.seeds[0]).unwrap();
        assert_eq!(ev.evaluate(&fin, &|_| {}).unwrap().scores[0], direct);
    }

    #[test]
    fn a_missing_data_set_fails_the_job_with_its_name() {
        let spec = Spec::new(vec!["NoSuchSet".into()]);
        let ev = ModelEvaluator::new(PathBuf::from("/nonexistent"));
        let job = Job::validation(&spec, "NoSuchSet", ModelKind::Esn, 0).unwrap();
        let err = ev.evaluate(&job, &|_| {}).unwrap_err();
        assert!(err.contains("NoSuchSet"), "{err}");
    }

    #[test]
    fn trainable_jobs_report_epochs() {
        let mut spec = Spec::new(vec!["synthetic-control".into()]);
        spec.n_units = 8;
        spec.max_epochs = Some(2);
        let ev = ModelEvaluator::new(PathBuf::from("/nonexistent"));
        let job = Job::validation(&spec, "synthetic-control", ModelKind::MfRnn, 0).unwrap();
        let notes = Mutex::new(Vec::new());
        let out = ev
            .evaluate(&job, &|p| notes.lock().unwrap().push(p.message))
            .unwrap();
        assert_eq!(out.scores.len(), 1);
        let notes = notes.lock().unwrap();
        assert_eq!(notes.len(), 2);
        assert!(notes[1].starts_with("epoch 2 loss="), "{}", notes[1]);
    }
}
