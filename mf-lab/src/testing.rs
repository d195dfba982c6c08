//! Deterministic fake evaluators and small specs, for tests of the run queue and of code built on it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::job::{name_hash, Evaluator, Job, JobError, JobOutcome, JobProgress, JobStep, Stage};
use crate::models::CancelToken;
use crate::spec::{Metric, ModelKind, Spec};

/// Two data sets (one classification, one regression), all four models, small grids.
pub fn small_spec() -> Spec {
    Spec::from_toml(
        r#"
datasets = ["SyntheticControl", "FloodModeling1"]
models = ["esn", "mf-esn", "rnn", "mf-rnn"]
seed = 3
draws = 3
trials = 2
[grid.mf-esn]
omega = [0.1, 1]
dt = [0.1, 0.01]
[grid.esn]
alpha = [0.1, 0.5, 1]
[grid.mf-rnn]
lr = [0.001, 0.01]
gamma = [0.5, 1]
"#,
    )
    .expect("valid spec")
}

/// Scores that are a pure function of the job: a per-configuration quality, quantised to eighths so that
/// ties occur, plus a per-seed perturbation.
#[derive(Debug, Default)]
pub struct FakeEvaluator {
    pub calls: AtomicUsize,
    /// Validation jobs of this configuration fail with an error.
    pub fail_config: Option<usize>,
    /// Validation jobs of this configuration panic.
    pub panic_config: Option<usize>,
    /// Validation jobs of this configuration return NaN.
    pub nan_config: Option<usize>,
    /// Time each job sleeps, to keep a sweep running long enough to be interrupted.
    pub delay: Duration,
}

impl FakeEvaluator {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn metric(dataset: &str) -> Metric {
        if dataset.starts_with("Flood") {
            Metric::Rmse
        } else {
            Metric::Accuracy
        }
    }

    pub fn score(dataset: &str, model: ModelKind, config: usize, seed: u64) -> f64 {
        let q = name_hash(&format!("{dataset}/{}/{config}", model.id())) % 8;
        let noise = (seed % 4) as f64 / 64.0;
        q as f64 / 8.0 + noise
    }

    /// The configuration the protocol must select, by brute force over the grid.
    pub fn best_config(spec: &Spec, dataset: &str, model: ModelKind) -> usize {
        let metric = Self::metric(dataset);
        let mut best = 0;
        let mut best_mean = f64::NAN;
        for c in 0..spec.grid_for(model).len() {
            let job = Job::validation(spec, dataset, model, c).unwrap();
            let m = job
                .seeds
                .iter()
                .map(|&s| Self::score(dataset, model, c, s))
                .sum::<f64>()
                / job.seeds.len() as f64;
            let better = if metric.higher_is_better() {
                m > best_mean
            } else {
                m < best_mean
            };
            if c == 0 || better {
                best = c;
                best_mean = m;
            }
        }
        best
    }
}

impl Evaluator for FakeEvaluator {
    fn evaluate(
        &self,
        job: &Job,
        progress: &dyn Fn(JobProgress),
        _cancel: &CancelToken,
    ) -> Result<JobOutcome, JobError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        let k = &job.key;
        let validation = k.stage == Stage::Validation;
        if validation && self.fail_config == Some(k.config) {
            return Err(JobError::new("configured failure"));
        }
        if validation && self.panic_config == Some(k.config) {
            panic!("configured panic");
        }
        let mut scores = Vec::new();
        for (i, &seed) in job.seeds.iter().enumerate() {
            progress(JobProgress {
                fraction: i as f64 / job.seeds.len() as f64,
                step: JobStep::Draw {
                    index: i + 1,
                    of: job.seeds.len(),
                },
            });
            scores.push(Self::score(&k.dataset, k.model, k.config, seed));
        }
        if validation && self.nan_config == Some(k.config) {
            scores[0] = f64::NAN;
        }
        Ok(JobOutcome {
            scores,
            metric: Self::metric(&k.dataset),
            wall: Duration::from_millis(k.config as u64),
            diverged: Vec::new(),
        })
    }
}
