//! Jobs, their deterministic seeds, and the [`Evaluator`] trait that runs them.
//!
//! A validation job scores one configuration of one model on one data set (fit on the fit part of the training
//! split, scored on the validation part) over all its draws; a final job trains `trials` fresh models of the
//! selected configuration on the whole training split and scores them on the test split (paper Sec. VI).

use std::fmt;
use std::time::Duration;

use mf_core::rng::derive_seed;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::models::{CancelToken, ModelKind};
use crate::normalise::Normalise;
use crate::spec::{Metric, Params, Spec};
use crate::training::TrainingProtocol;

/// The two stages of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Model selection: fit on 80% of the training split, score on the other 20%.
    Validation,
    /// Assessment of the selected configuration: fit on the training split, score on the test split.
    Final,
}

/// What identifies a job in the store. Final jobs carry the index of the configuration they assess.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JobKey {
    /// Validation or final.
    pub stage: Stage,
    /// Data set name as written in the spec.
    pub dataset: String,
    /// Model family.
    pub model: ModelKind,
    /// Index of the configuration in the model's grid order.
    pub config: usize,
}

impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.stage {
            Stage::Validation => "val",
            Stage::Final => "final",
        };
        write!(
            f,
            "{stage} {} {} #{}",
            self.dataset,
            self.model.id(),
            self.config
        )
    }
}

/// One unit of work handed to an [`Evaluator`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Stage, data set, model and configuration index.
    pub key: JobKey,
    /// The configuration's hyper-parameters (names as in the grid: `omega`, `beta`, `rho`, `gamma`, `s`, `dt`,
    /// `alpha`, `lr`). A hyper-parameter absent here (a spec grid may leave one out) takes the model's default.
    pub params: Params,
    /// One seed per model to build: per reservoir draw (validation of reservoir models: `draws` seeds; of
    /// trainable models: 1) or per trial (final: `trials` seeds). The evaluator returns one score per seed,
    /// in this order.
    pub seeds: Vec<u64>,
    /// Seed of the fit/validation split of the data set's training split; the same for every job on that data
    /// set, so all models and configurations see the same split.
    pub split_seed: u64,
    /// Fraction of the training split held out for validation (spec `val_fraction`).
    pub val_fraction: f64,
    /// Recurrent units (spec `n_units`).
    pub n_units: usize,
    /// Maximum epochs of trainable models; None leaves the model's default.
    pub max_epochs: Option<usize>,
    /// Trainable models: how they stop early and which weights they keep (spec `protocol`); None for
    /// reservoirs, which it does not affect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<TrainingProtocol>,
    /// Input normalisation (spec `normalise`), fitted on the series the job's models are fitted on. It is part
    /// of the spec's hash, so jobs with and without it are recorded in different stores; absent from the job's
    /// serialisation when `none`.
    #[serde(default, skip_serializing_if = "Normalise::is_none")]
    pub normalise: Normalise,
}

impl Job {
    /// The hyper-parameters the job's models are configured with: [`Job::params`], with the spec's `n_units`
    /// where the grid does not set it and, for trainable models, the spec's `max_epochs` when it has one
    /// ([`effective_params`]).
    pub fn effective_params(&self) -> Params {
        effective_params(&self.params, self.key.model, self.n_units, self.max_epochs)
    }
}

/// `params` as a model of `model` is configured in a sweep: a grid axis `n_units` wins over the spec's size
/// `n_units`, and the spec's `max_epochs` (when set) over the grid's for trainable models.
pub fn effective_params(
    params: &Params,
    model: ModelKind,
    n_units: usize,
    max_epochs: Option<usize>,
) -> Params {
    let mut p = params.clone();
    p.entry("n_units".into()).or_insert(n_units as f64);
    if let (Some(e), false) = (max_epochs, model.is_reservoir()) {
        p.insert("max_epochs".into(), e as f64);
    }
    p
}

/// A progress report from inside a running job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobProgress {
    /// Fraction of the job done, in `[0, 1]`.
    pub fraction: f64,
    /// What happened.
    pub step: JobStep,
}

/// The steps a job reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JobStep {
    /// Draw or trial `index` (from 1) of `of` is starting.
    Draw {
        /// 1-based.
        index: usize,
        /// Draws or trials in the job.
        of: usize,
    },
    /// A trainable model finished an epoch.
    Epoch {
        /// Trial or draw, from 1.
        trial: usize,
        /// Epoch, from 1.
        epoch: usize,
        /// Mean training loss of the epoch.
        train_loss: f64,
        /// Loss on the early-stopping part.
        val_loss: f64,
        /// Accuracy or RMSE on the early-stopping part.
        val_metric: f64,
    },
}

impl fmt::Display for JobStep {
    /// `draw 2/5`, or `epoch 140 loss=0.2310 val=0.8740`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobStep::Draw { index, of } => write!(f, "draw {index}/{of}"),
            JobStep::Epoch {
                epoch,
                train_loss,
                val_metric,
                ..
            } => write!(f, "epoch {epoch} loss={train_loss:.4} val={val_metric:.4}"),
        }
    }
}

/// Why a job did not produce scores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    /// What went wrong, as stored with the failed job.
    pub message: String,
    /// Whether the job stopped because its cancel token was set (such a job is not stored).
    pub cancelled: bool,
}

impl JobError {
    /// A failure with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            cancelled: false,
        }
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What an evaluator returns for a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobOutcome {
    /// One score per seed of the job, in the order of [`Job::seeds`].
    pub scores: Vec<f64>,
    /// What the scores measure.
    pub metric: Metric,
    /// Wall-clock time the job took.
    pub wall: Duration,
    /// Indices (into [`JobOutcome::scores`]) of the trials whose training diverged: their scores mean nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diverged: Vec<usize>,
}

/// Trains and scores models. Implemented by the model glue over real data, and by fakes in tests.
///
/// An `Err` marks the job as failed (its message is stored) and the sweep continues with the other jobs,
/// unless the error says the job was cancelled through `cancel`. `progress` may be called any number of times
/// from the calling thread.
pub trait Evaluator: Send + Sync {
    /// Runs `job`, returning one score per seed; stops early once `cancel` is set.
    fn evaluate(
        &self,
        job: &Job,
        progress: &dyn Fn(JobProgress),
        cancel: &CancelToken,
    ) -> Result<JobOutcome, JobError>;

    /// A digest of the data that jobs on `dataset` are computed on (a SHA-256 in hex), stored with each result
    /// so that merging results computed on different data fails; None (the default) when the evaluator cannot
    /// tell. Called after a job on `dataset` succeeded.
    fn data_fingerprint(&self, dataset: &str) -> Option<String> {
        let _ = dataset;
        None
    }
}

/// A 64-bit stable hash of a name (first 8 bytes of its SHA-256, big endian): independent of the platform, the
/// compiler and the order in which names are met.
pub fn name_hash(name: &str) -> u64 {
    let d = Sha256::digest(name.as_bytes());
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

// Stream tags keeping split, validation and final seeds apart.
const SPLIT_STREAM: u64 = 0x0053_504c_4954; // "SPLIT" in ASCII
const VALIDATION_STREAM: u64 = 1;
const FINAL_STREAM: u64 = 2;

/// The seed of the fit/validation split of `dataset`: `derive_seed(derive_seed(seed, name_hash(dataset)), SPLIT)`.
pub fn split_seed(spec_seed: u64, dataset: &str) -> u64 {
    derive_seed(derive_seed(spec_seed, name_hash(dataset)), SPLIT_STREAM)
}

/// The seed of draw (validation) or trial (final) `index` of configuration `config` of `model` on `dataset`:
/// a chain of [`derive_seed`] over the spec seed, the hashes of the data set and model names, the stage, the
/// configuration and the index. It depends on nothing else, in particular not on execution order.
pub fn job_seed(
    spec_seed: u64,
    dataset: &str,
    model: ModelKind,
    stage: Stage,
    config: usize,
    index: usize,
) -> u64 {
    let pair = derive_seed(
        derive_seed(spec_seed, name_hash(dataset)),
        name_hash(model.id()),
    );
    let stage_tag = match stage {
        Stage::Validation => VALIDATION_STREAM,
        Stage::Final => FINAL_STREAM,
    };
    derive_seed(
        derive_seed(derive_seed(pair, stage_tag), config as u64),
        index as u64,
    )
}

impl Job {
    /// The validation job of configuration `config` of `model` on `dataset`, or None past the grid's end.
    pub fn validation(spec: &Spec, dataset: &str, model: ModelKind, config: usize) -> Option<Job> {
        let params = spec.grid_for(model).config(config)?;
        let n = spec.draws_for(model);
        Some(Self::build(
            spec,
            Stage::Validation,
            dataset,
            model,
            config,
            params,
            n,
        ))
    }

    /// The final job assessing configuration `config` of `model` on `dataset`, or None past the grid's end.
    pub fn final_of(spec: &Spec, dataset: &str, model: ModelKind, config: usize) -> Option<Job> {
        let params = spec.grid_for(model).config(config)?;
        Some(Self::build(
            spec,
            Stage::Final,
            dataset,
            model,
            config,
            params,
            spec.trials,
        ))
    }

    fn build(
        spec: &Spec,
        stage: Stage,
        dataset: &str,
        model: ModelKind,
        config: usize,
        params: Params,
        n_seeds: usize,
    ) -> Job {
        Job {
            key: JobKey {
                stage,
                dataset: dataset.to_string(),
                model,
                config,
            },
            params,
            seeds: (0..n_seeds)
                .map(|i| job_seed(spec.seed, dataset, model, stage, config, i))
                .collect(),
            split_seed: split_seed(spec.seed, dataset),
            val_fraction: spec.val_fraction,
            n_units: spec.n_units,
            max_epochs: spec.max_epochs,
            protocol: (!model.is_reservoir()).then(|| spec.training_protocol()),
            normalise: spec.normalise,
        }
    }
}

/// Every validation job of `spec`, in canonical order: data sets as listed, then models as listed, then grid
/// order. Sharding slices this list (see [`crate::shard`]).
pub fn validation_jobs(spec: &Spec) -> Vec<Job> {
    let mut jobs = Vec::new();
    for dataset in &spec.datasets {
        for &model in &spec.models {
            let n = spec.grid_for(model).len();
            jobs.extend((0..n).filter_map(|c| Job::validation(spec, dataset, model, c)));
        }
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        let mut s = Spec::new(vec!["A".into(), "B".into()]);
        s.seed = 11;
        s
    }

    #[test]
    fn trial_seeds_are_distinct_from_each_other_and_from_validation_draws() {
        let s = spec();
        let fin = Job::final_of(&s, "A", ModelKind::Esn, 3).unwrap();
        let mut all: Vec<u64> = fin.seeds.clone();
        for c in 0..s.grid_for(ModelKind::Esn).len() {
            all.extend(Job::validation(&s, "A", ModelKind::Esn, c).unwrap().seeds);
        }
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "a seed was reused between draws or trials");
    }

    #[test]
    fn adding_trials_keeps_the_earlier_trial_seeds() {
        let mut s = spec();
        let five = Job::final_of(&s, "A", ModelKind::MfRnn, 0).unwrap().seeds;
        s.trials = 8;
        let eight = Job::final_of(&s, "A", ModelKind::MfRnn, 0).unwrap().seeds;
        assert_eq!(&eight[..5], &five[..]);
    }

    #[test]
    fn seeds_depend_on_names_not_on_list_positions() {
        let s = spec();
        let mut reordered = spec();
        reordered.datasets.reverse();
        reordered.models.reverse();
        for m in ModelKind::TABLE_ORDER {
            assert_eq!(
                Job::validation(&s, "B", m, 1).unwrap(),
                Job::validation(&reordered, "B", m, 1).unwrap()
            );
        }
        // The split is shared by every model of a data set and differs between data sets.
        let a = Job::validation(&s, "A", ModelKind::Esn, 0).unwrap();
        let a2 = Job::final_of(&s, "A", ModelKind::Rnn, 1).unwrap();
        let b = Job::validation(&s, "B", ModelKind::Esn, 0).unwrap();
        assert_eq!(a.split_seed, a2.split_seed);
        assert_ne!(a.split_seed, b.split_seed);
        // Same configuration on two data sets, or two models, never shares reservoir seeds.
        assert_ne!(a.seeds, b.seeds);
        assert_ne!(
            a.seeds,
            Job::validation(&s, "A", ModelKind::MfEsn, 0).unwrap().seeds
        );
    }

    #[test]
    fn draws_apply_to_reservoir_models_only() {
        let s = spec();
        assert_eq!(
            Job::validation(&s, "A", ModelKind::MfEsn, 0)
                .unwrap()
                .seeds
                .len(),
            5
        );
        assert_eq!(
            Job::validation(&s, "A", ModelKind::MfRnn, 0)
                .unwrap()
                .seeds
                .len(),
            1
        );
        assert_eq!(
            Job::final_of(&s, "A", ModelKind::Rnn, 0)
                .unwrap()
                .seeds
                .len(),
            5
        );
        assert!(Job::validation(&s, "A", ModelKind::Rnn, 2).is_none());
    }

    #[test]
    fn validation_jobs_follow_dataset_model_grid_order() {
        let mut s = spec();
        s.models = vec![ModelKind::Rnn, ModelKind::MfRnn];
        let jobs = validation_jobs(&s);
        assert_eq!(jobs.len(), 2 * (2 + 48));
        assert_eq!(jobs[0].key.dataset, "A");
        assert_eq!(jobs[0].key.model, ModelKind::Rnn);
        assert_eq!(jobs[1].key.config, 1);
        assert_eq!(jobs[2].key.model, ModelKind::MfRnn);
        assert_eq!(jobs[50].key.dataset, "B");
    }
}
