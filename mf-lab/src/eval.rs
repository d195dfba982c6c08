//! The [`Evaluator`] over the registered models, and the one loop that runs a configuration's trials: model
//! selection draws, final trials, and `mf run` all go through [`run_trials`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::job::{Evaluator, Job, JobError, JobOutcome, JobProgress, JobStep, Stage};
use crate::models::{CancelToken, Configured, TrialContext, TrialData, TrialEvent, TrialScore};
use crate::tasks::{load_dataset, Task};
use crate::{LabError, ResultExt};

/// Runs one trial per seed of `config` on `data`, in seed order, reporting each start and each epoch through
/// `progress` (the fraction counts trials done, and epochs within a trial against its epoch limit) and each
/// finished trial through `on_trial`. A trial whose score is not finite is an error naming it.
pub fn run_trials(
    config: &dyn Configured,
    data: &TrialData<'_>,
    seeds: &[u64],
    progress: &dyn Fn(JobProgress),
    on_trial: &mut dyn FnMut(usize, &TrialScore),
    cancel: &CancelToken,
) -> Result<Vec<TrialScore>, LabError> {
    let n = seeds.len();
    let mut scores = Vec::with_capacity(n);
    for (i, &seed) in seeds.iter().enumerate() {
        progress(JobProgress {
            fraction: i as f64 / n as f64,
            step: JobStep::Draw {
                index: i + 1,
                of: n,
            },
        });
        let on_event = |e: TrialEvent| match e {
            TrialEvent::Epoch {
                epoch,
                max_epochs,
                train_loss,
                val_loss,
                val_metric,
            } => progress(JobProgress {
                fraction: ((i as f64 + epoch as f64 / max_epochs as f64) / n as f64).min(1.0),
                step: JobStep::Epoch {
                    trial: i + 1,
                    epoch,
                    train_loss,
                    val_loss,
                    val_metric,
                },
            }),
        };
        let ctx = TrialContext {
            on_event: &on_event,
            cancel,
        };
        let t = config
            .trial(data, seed, &ctx)
            .context_with(|| format!("trial {}/{n} (seed {seed})", i + 1))?;
        if !t.score.is_finite() {
            return Err(LabError::InvalidData(format!(
                "trial {}/{n} (seed {seed}): the score is {}",
                i + 1,
                t.score
            )));
        }
        on_trial(i, &t);
        scores.push(t);
    }
    Ok(scores)
}

/// Runs jobs on real data (from a data directory) and the generated sets. Loaded data sets are cached.
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
    pub fn task(&self, name: &str) -> Result<Arc<Task>, LabError> {
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

    fn run_job(
        &self,
        job: &Job,
        progress: &dyn Fn(JobProgress),
        cancel: &CancelToken,
    ) -> Result<Vec<f64>, LabError> {
        let task = self.task(&job.key.dataset)?;
        let model = job.key.model;
        let mut params = job.params.clone();
        // A grid axis `n_units` wins over the spec's size for every model.
        params.entry("n_units".into()).or_insert(job.n_units as f64);
        if let (Some(e), false) = (job.max_epochs, model.is_reservoir()) {
            params.insert("max_epochs".into(), e as f64);
        }
        let config = model.model().configure(&params)?;
        let scores = match job.key.stage {
            Stage::Validation => {
                let (fit, val) = task.fit_val(job.val_fraction, job.split_seed);
                let data = TrialData {
                    train: &fit,
                    val: Some(&val),
                    eval: &val,
                };
                run_trials(
                    config.as_ref(),
                    &data,
                    &job.seeds,
                    progress,
                    &mut |_, _| {},
                    cancel,
                )?
            }
            Stage::Final => {
                let data = TrialData {
                    train: &task.train,
                    val: None,
                    eval: task.test()?,
                };
                run_trials(
                    config.as_ref(),
                    &data,
                    &job.seeds,
                    progress,
                    &mut |_, _| {},
                    cancel,
                )?
            }
        };
        Ok(scores.into_iter().map(|t| t.score).collect())
    }
}

impl Evaluator for ModelEvaluator {
    fn evaluate(
        &self,
        job: &Job,
        progress: &dyn Fn(JobProgress),
        cancel: &CancelToken,
    ) -> Result<JobOutcome, JobError> {
        let start = Instant::now();
        let fail = |e: LabError| JobError {
            cancelled: e.is_cancelled(),
            message: format!("{}: {e}", job.key),
        };
        let metric = self.task(&job.key.dataset).map_err(fail)?.metric;
        let scores = self.run_job(job, progress, cancel).map_err(fail)?;
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
    use crate::spec::{ModelKind, Params, Spec};
    use std::time::Duration;

    fn params(kv: &[(&str, f64)]) -> Params {
        kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn notes_of(ev: &ModelEvaluator, job: &Job) -> (JobOutcome, Vec<String>) {
        let notes = Mutex::new(Vec::new());
        let out = ev
            .evaluate(
                job,
                &|p| notes.lock().unwrap().push(p.step.to_string()),
                &CancelToken::new(),
            )
            .unwrap();
        (out, notes.into_inner().unwrap())
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
        let (out, notes) = notes_of(&ev, &job);
        assert_eq!(out.scores.len(), 2);
        assert!(out.scores.iter().all(|s| (0.0..=1.0).contains(s)));
        assert_eq!(notes, vec!["draw 1/2", "draw 2/2"]);
        assert_eq!(notes_of(&ev, &job).0.scores, out.scores);
        // The final job fits on the whole training split and scores on test: an independent path through
        // mf-esn's own API.
        let fin = Job::final_of(&spec, "synthetic-control", ModelKind::MfEsn, 0).unwrap();
        let task = ev.task("synthetic-control").unwrap();
        let mut p = fin.params.clone();
        p.insert("n_units".into(), 30.0);
        let config = ModelKind::MfEsn.model().configure(&p).unwrap();
        let rc = config
            .as_any()
            .downcast_ref::<mf_esn::ReservoirConfig>()
            .unwrap();
        let test = task.test().unwrap();
        let direct = rc
            .clone()
            .into_params()
            .unwrap()
            .fit(&task.train.seqs, &task.train.targets, fin.seeds[0])
            .unwrap()
            .score(&test.seqs, &test.targets)
            .unwrap();
        assert_eq!(notes_of(&ev, &fin).0.scores[0], direct);
    }

    #[test]
    fn a_grid_axis_n_units_takes_effect() {
        let mut spec = Spec::new(vec!["synthetic-control".into()]);
        spec.draws = 1;
        spec.grid.insert(
            ModelKind::Esn,
            crate::Grid::new(vec![("n_units".into(), vec![1.0, 40.0])]).unwrap(),
        );
        let ev = ModelEvaluator::new(PathBuf::from("/nonexistent"));
        let one = notes_of(
            &ev,
            &Job::validation(&spec, "synthetic-control", ModelKind::Esn, 0).unwrap(),
        )
        .0;
        let forty = notes_of(
            &ev,
            &Job::validation(&spec, "synthetic-control", ModelKind::Esn, 1).unwrap(),
        )
        .0;
        assert_ne!(one.scores, forty.scores);
    }

    #[test]
    fn a_missing_data_set_fails_the_job_with_its_name() {
        let spec = Spec::new(vec!["NoSuchSet".into()]);
        let ev = ModelEvaluator::new(PathBuf::from("/nonexistent"));
        let job = Job::validation(&spec, "NoSuchSet", ModelKind::Esn, 0).unwrap();
        let err = ev.evaluate(&job, &|_| {}, &CancelToken::new()).unwrap_err();
        assert!(err.message.contains("NoSuchSet"), "{err}");
        assert!(!err.cancelled);
    }

    #[test]
    fn trainable_jobs_report_typed_epochs() {
        let mut spec = Spec::new(vec!["synthetic-control".into()]);
        spec.n_units = 8;
        spec.max_epochs = Some(2);
        let ev = ModelEvaluator::new(PathBuf::from("/nonexistent"));
        let job = Job::validation(&spec, "synthetic-control", ModelKind::MfRnn, 0).unwrap();
        let steps = Mutex::new(Vec::new());
        let out = ev
            .evaluate(
                &job,
                &|p| steps.lock().unwrap().push(p.step),
                &CancelToken::new(),
            )
            .unwrap();
        assert_eq!(out.scores.len(), 1);
        let steps = steps.into_inner().unwrap();
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[0], JobStep::Draw { index: 1, of: 1 });
        assert!(
            matches!(steps[2], JobStep::Epoch { trial: 1, epoch: 2, train_loss, .. } if train_loss.is_finite())
        );
    }

    #[test]
    fn cancelling_stops_a_training_job_within_a_second() {
        let mut spec = Spec::new(vec!["synthetic-control".into()]);
        spec.n_units = 20;
        spec.max_epochs = Some(100_000);
        let ev = ModelEvaluator::new(PathBuf::from("/nonexistent"));
        ev.task("synthetic-control").unwrap();
        let job = Job::validation(&spec, "synthetic-control", ModelKind::MfRnn, 0).unwrap();
        let mut job = job;
        job.params.insert("patience".into(), 100_000.0);
        let cancel = CancelToken::new();
        let epochs = std::sync::atomic::AtomicUsize::new(0);
        let cancelled_at = Mutex::new(None::<Instant>);
        let result = std::thread::scope(|s| {
            let worker = s.spawn(|| {
                ev.evaluate(
                    &job,
                    &|p| {
                        if matches!(p.step, JobStep::Epoch { .. }) {
                            epochs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    },
                    &cancel,
                )
            });
            while epochs.load(std::sync::atomic::Ordering::SeqCst) < 3 {
                std::thread::sleep(Duration::from_millis(5));
            }
            *cancelled_at.lock().unwrap() = Some(Instant::now());
            cancel.cancel();
            let r = worker.join().unwrap();
            (r, cancelled_at.lock().unwrap().unwrap().elapsed())
        });
        let (r, after) = result;
        let err = r.unwrap_err();
        assert!(err.cancelled, "{err}");
        assert!(
            after < Duration::from_secs(1),
            "stopped {after:?} after the cancel"
        );
    }

    #[test]
    fn configure_refuses_unknown_or_invalid_parameters() {
        let e = ModelKind::Esn
            .model()
            .configure(&params(&[("gamma", 0.5)]))
            .unwrap_err();
        assert!(e.to_string().contains("no hyper-parameter `gamma`"), "{e}");
        assert!(ModelKind::MfEsn
            .model()
            .configure(&params(&[("rho", -1.0)]))
            .is_err());
        assert!(ModelKind::MfEsn
            .model()
            .configure(&params(&[("n_units", 2.5)]))
            .is_err());
        assert!(ModelKind::Rnn
            .model()
            .configure(&params(&[("dt", 0.1)]))
            .is_err());
        assert!(ModelKind::MfRnn
            .model()
            .configure(&params(&[("gamma", 0.0)]))
            .is_err());
    }
}
