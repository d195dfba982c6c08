//! The [`Evaluator`] over the registered models, and the one loop that runs a configuration's trials: model
//! selection draws, final trials, and `mf run` all go through [`run_trials`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::job::{Evaluator, Job, JobError, JobOutcome, JobProgress, JobStep, Stage};
use crate::memory::{self, Available};
use crate::models::{
    CancelToken, Configured, DataShape, TrialContext, TrialData, TrialEvent, TrialScore,
};
use crate::sequence::SequenceTask;
use crate::tasks::{load_dataset, Part, Task};
use crate::{LabError, ResultExt};

/// Runs one trial per seed of `config` on `data`, in seed order, reporting each start and each epoch through
/// `progress` (the fraction counts trials done, and epochs within a trial against its epoch limit) and each
/// finished trial through `on_trial`. A trial whose score is not finite is an error naming it.
///
/// Before any trial, a configuration whose estimated memory ([`Configured::memory_bytes`]) exceeds the memory
/// available ([`Available::now`]) is refused with [`LabError::TooLarge`].
pub fn run_trials(
    config: &dyn Configured,
    data: &TrialData<'_>,
    seeds: &[u64],
    progress: &dyn Fn(JobProgress),
    on_trial: &mut dyn FnMut(usize, &TrialScore),
    cancel: &CancelToken,
) -> Result<Vec<TrialScore>, LabError> {
    let shape = DataShape::of(data);
    memory::check(config.memory_bytes(&shape), &Available::now(), &shape)?;
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

/// The indices of the trials whose training diverged.
pub fn diverged_indices(trials: &[TrialScore]) -> Vec<usize> {
    trials
        .iter()
        .enumerate()
        .filter(|(_, t)| t.diverged.is_some())
        .map(|(i, _)| i)
        .collect()
}

/// Runs jobs on real data (from a data directory) and the generated sets. Loaded data sets are cached.
#[derive(Debug)]
pub struct ModelEvaluator {
    data_dir: PathBuf,
    cache: Mutex<HashMap<String, Arc<Task>>>,
    fingerprints: Mutex<HashMap<String, String>>,
}

impl ModelEvaluator {
    /// An evaluator reading data sets from `data_dir`.
    pub fn new(data_dir: PathBuf) -> Self {
        ModelEvaluator {
            data_dir,
            cache: Mutex::new(HashMap::new()),
            fingerprints: Mutex::new(HashMap::new()),
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
    ) -> Result<Vec<TrialScore>, LabError> {
        let task = self.task(&job.key.dataset)?;
        let config = job.key.model.model().configure(&job.effective_params())?;
        let scores = match job.key.stage {
            Stage::Validation => {
                // The normalisation, if any, is fitted on the fit part alone.
                let (fit, val) =
                    task.fit_val_normalised(job.val_fraction, job.split_seed, job.normalise)?;
                let data = TrialData {
                    train: &fit,
                    val: Some(&val),
                    eval: &val,
                    protocol: job.protocol.unwrap_or_default(),
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
                let (task, _) = task.normalised(job.normalise)?;
                let data = TrialData {
                    train: &task.train,
                    val: None,
                    eval: task.test()?,
                    protocol: job.protocol.unwrap_or_default(),
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
        Ok(scores)
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
        if let Some(task) = SequenceTask::from_name(&job.key.dataset) {
            if job.normalise != crate::Normalise::None {
                return Err(fail(crate::sequence::generated_tasks_normalised()));
            }
            let scores = crate::sequence::job_scores(
                job.key.model,
                &job.effective_params(),
                task,
                job.key.stage,
                &job.seeds,
                progress,
                cancel,
            )
            .map_err(fail)?;
            return Ok(JobOutcome {
                scores,
                metric: task.metric(),
                wall: start.elapsed(),
                diverged: Vec::new(),
            });
        }
        let metric = self.task(&job.key.dataset).map_err(fail)?.metric;
        let trials = self.run_job(job, progress, cancel).map_err(fail)?;
        Ok(JobOutcome {
            scores: trials.iter().map(|t| t.score).collect(),
            metric,
            wall: start.elapsed(),
            diverged: diverged_indices(&trials),
        })
    }

    fn data_fingerprint(&self, dataset: &str) -> Option<String> {
        if let Some(f) = self.fingerprints.lock().expect("cache lock").get(dataset) {
            return Some(f.clone());
        }
        let f = fingerprint(self.task(dataset).ok()?.as_ref());
        self.fingerprints
            .lock()
            .expect("cache lock")
            .insert(dataset.to_string(), f.clone());
        Some(f)
    }
}

/// The SHA-256 (hex) of a task's arrays as the models see them: metric, class names, and per split the series
/// (shape, values, lengths) and the targets. Two data directories holding different files for one name give
/// different fingerprints.
pub fn fingerprint(task: &Task) -> String {
    use sha2::{Digest, Sha256};
    fn part(h: &mut Sha256, p: &Part) {
        for &n in p.seqs.x.shape() {
            h.update((n as u64).to_le_bytes());
        }
        for v in p.seqs.x.iter() {
            h.update(v.to_le_bytes());
        }
        for &l in &p.seqs.lengths {
            h.update((l as u64).to_le_bytes());
        }
        match &p.targets {
            mf_core::Targets::Classes { labels, n_classes } => {
                h.update(b"classes");
                h.update((*n_classes as u64).to_le_bytes());
                for &l in labels {
                    h.update((l as u64).to_le_bytes());
                }
            }
            mf_core::Targets::Values(v) => {
                h.update(b"values");
                for &n in v.shape() {
                    h.update((n as u64).to_le_bytes());
                }
                for x in v.iter() {
                    h.update(x.to_le_bytes());
                }
            }
        }
    }
    let mut h = Sha256::new();
    h.update(task.metric.to_string().as_bytes());
    for c in &task.classes {
        h.update((c.len() as u64).to_le_bytes());
        h.update(c.as_bytes());
    }
    h.update(b"train");
    part(&mut h, &task.train);
    if let Some(test) = &task.test {
        h.update(b"test");
        part(&mut h, test);
    }
    crate::spec::hex(&h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Metric, ModelKind, Params, Spec};
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

    /// A sweep's jobs on a sequence task score each seed's reservoir on the validation segment (fitted on the
    /// training segment) or on test (fitted on training and validation): checked against a second path, the
    /// reservoir's kept states and the batch ridge (`Ridge::fit_arrays`, not the normal equations).
    #[test]
    fn sequence_jobs_score_the_segments_the_protocol_names() {
        let mut spec = Spec::new(vec!["narma10".into(), "memory-capacity".into()]);
        spec.models = vec![ModelKind::Esn];
        spec.draws = 2;
        spec.trials = 2;
        spec.n_units = 20;
        spec.grid.insert(
            ModelKind::Esn,
            crate::Grid::new(vec![("lambda".into(), vec![1e-6, 1e-2])]).unwrap(),
        );
        spec.check().unwrap();
        let ev = ModelEvaluator::new(PathBuf::from("/nonexistent"));
        let (signal, segments) = SequenceTask::Narma10.signal(20).unwrap();
        for (stage, job) in [
            (
                Stage::Validation,
                Job::validation(&spec, "narma10", ModelKind::Esn, 1).unwrap(),
            ),
            (
                Stage::Final,
                Job::final_of(&spec, "narma10", ModelKind::Esn, 1).unwrap(),
            ),
        ] {
            let (out, notes) = notes_of(&ev, &job);
            assert_eq!(out.metric, Metric::Nrmse);
            assert_eq!(notes, vec!["draw 1/2", "draw 2/2"]);
            let (fit, scored) = match stage {
                Stage::Validation => (segments.train(), segments.validation()),
                Stage::Final => (
                    segments.train().start..segments.validation().end,
                    segments.test(),
                ),
            };
            let config = ModelKind::Esn
                .model()
                .configure(&job.effective_params())
                .unwrap();
            for (&seed, &score) in job.seeds.iter().zip(&out.scores) {
                let mut r = config.draw_sequence(1, seed).unwrap();
                let mut states = ndarray::Array2::zeros((scored.end, 20));
                r.drive(
                    signal
                        .inputs()
                        .slice_axis(ndarray::Axis(0), (0..scored.end).into()),
                    |t, h| {
                        states.row_mut(t).assign(&h);
                        Ok(())
                    },
                )
                .unwrap();
                let rows = |r: std::ops::Range<usize>| ndarray::Slice::from(r);
                let ridge = mf_esn::Ridge::fit_arrays(
                    states.slice_axis(ndarray::Axis(0), rows(fit.clone())),
                    signal
                        .targets()
                        .slice_axis(ndarray::Axis(0), rows(fit.clone())),
                    1e-2,
                )
                .unwrap();
                let pred = ridge.decision(
                    &states
                        .slice_axis(ndarray::Axis(0), rows(scored.clone()))
                        .to_owned(),
                );
                let want = mf_data::nrmse(
                    pred.view(),
                    signal
                        .targets()
                        .slice_axis(ndarray::Axis(0), rows(scored.clone())),
                )
                .unwrap();
                assert!(
                    (score - want).abs() <= 1e-6 * want,
                    "{stage:?}: {score} vs {want}"
                );
            }
        }
        // The memory capacity is scored as such, and no reservoir remembers more than its units.
        let job = Job::final_of(&spec, "memory-capacity", ModelKind::Esn, 0).unwrap();
        let out = notes_of(&ev, &job).0;
        assert_eq!(out.metric, Metric::Mc);
        assert!(
            out.scores.iter().all(|&mc| mc > 0.0 && mc <= 20.0),
            "{:?}",
            out.scores
        );
        // A trained model runs them too; a normalisation is refused before anything runs.
        spec.models.push(ModelKind::MfRnn);
        spec.check().unwrap();
        spec.models.pop();
        spec.normalise = crate::Normalise::Zscore;
        assert!(spec
            .check()
            .unwrap_err()
            .to_string()
            .contains("`normalise` applies"));
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
    fn a_job_too_large_for_memory_fails_alone_with_a_clear_message() {
        let mut spec = Spec::new(vec!["synthetic-control".into()]);
        spec.draws = 1;
        spec.n_units = 10_000_000;
        let ev = ModelEvaluator::new(PathBuf::from("/nonexistent"));
        let job = Job::validation(&spec, "synthetic-control", ModelKind::Esn, 0).unwrap();
        let err = ev.evaluate(&job, &|_| {}, &CancelToken::new()).unwrap_err();
        assert!(!err.cancelled);
        assert!(
            err.message
                .starts_with("val synthetic-control esn #0: the configuration needs about"),
            "{err}"
        );
        // The evaluator stays usable for the next job.
        spec.n_units = 10;
        let job = Job::validation(&spec, "synthetic-control", ModelKind::Esn, 0).unwrap();
        assert_eq!(notes_of(&ev, &job).0.scores.len(), 1);
    }

    #[test]
    fn a_diverged_training_is_reported_in_the_job_outcome() {
        let mut spec = Spec::new(vec!["synthetic-control".into()]);
        spec.n_units = 8;
        spec.max_epochs = Some(3);
        let ev = ModelEvaluator::new(PathBuf::from("/nonexistent"));
        let mut job = Job::validation(&spec, "synthetic-control", ModelKind::Rnn, 0).unwrap();
        assert!(notes_of(&ev, &job).0.diverged.is_empty());
        job.params.insert("lr".into(), 1e6);
        assert_eq!(notes_of(&ev, &job).0.diverged, [0]);
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
