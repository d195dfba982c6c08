//! Sequence tasks as reservoir computing runs them (one long signal, a target at every step; SPEC of the
//! project, section 9): NARMA-10, Mackey-Glass one-step prediction, Lorenz-63 closed-loop generation and the linear
//! memory capacity, each with its standard metric.
//!
//! Protocol (Lukosevicius, "A Practical Guide to Applying Echo State Networks", 2012): the reservoir is driven from
//! the zero state along the whole signal; the washout is dropped; the ridge readout is fitted on the training and
//! validation segments together (accumulated block by block, `mf_esn::sequence::NormalEquations`), and scored on
//! the test segment that follows them. Segments are contiguous in time, never shuffled. The signal is generated
//! from [`crate::tasks::GENERATED_SEED`], the same for every trial; trial `i`'s reservoir is drawn from
//! `derive_seed(seed, i)`.
//!
//! The trained models (MF-RNN, RNN, hybrid MF-RNN) run the same tasks on the same segments: trained by truncated
//! back-propagation through time over windows of the rows a reservoir's readout would be fitted on
//! (`mf_rnn::train_on_signal`), stopping early on the validation segment during selection and on the training
//! loss in the final trials, then driven from the zero state along the signal as the reservoirs are. The memory
//! capacity trains one output per delay. Closed-loop forecasts and saved sequence models remain the reservoirs'.

use std::ops::Range;
use std::time::Instant;

use mf_core::rng::derive_seed;
use mf_data::{Segments, Signal};
use mf_esn::sequence::{memory_capacity, ReadoutFitter, SequenceReservoir};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::Serialize;

use crate::grid::{Grid, Params};
use crate::job::{JobProgress, JobStep, Stage};
use crate::models::{CancelToken, Configured, ModelKind, TrialContext, TrialEvent};
use crate::normalise::Normalise;
use crate::single::ModelRequest;
use crate::tasks::GENERATED_SEED;
use crate::{protocol, LabError, Metric, ResultExt};

/// A sequence task: its name (as `--dataset` takes it), the signal, the segments and the metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceTask {
    /// NARMA-10 (Atiya and Parlos 2000; Jaeger 2003): input `u(t) ~ U[0, 0.5]`, target the NARMA-10 output; NRMSE.
    Narma10,
    /// Mackey-Glass with `tau = 17`, squashed by `tanh(x - 1)` (Jaeger 2001): one-step prediction; NRMSE.
    MackeyGlass,
    /// Lorenz-63, each variable z-scored: teacher-forced fit, then closed-loop generation from the start of the
    /// test segment; valid prediction time in Lyapunov times (Pathak et al. 2018).
    Lorenz,
    /// Linear memory capacity (Jaeger 2002): i.i.d. `u(t) ~ U(-0.5, 0.5)`, delays `1..=2N`; `MC = sum MC_k`.
    MemoryCapacity,
    /// A signal of the user's own ([`SequenceData::Signal`]): next-step prediction of its target columns; NRMSE.
    NextStep,
}

/// Every sequence task: the name `--dataset` takes and a one-line description.
pub const SEQUENCE_TASKS: [(&str, &str); 4] = [
    (
        "narma10",
        "NARMA-10, 4200 steps (washout 200, train 2000, validation 1000, test 1000); NRMSE",
    ),
    (
        "mackey-glass",
        "Mackey-Glass tau 17, tanh(x - 1), one-step prediction, 5100 steps (100, 3000, 1000, 1000); NRMSE",
    ),
    (
        "lorenz",
        "Lorenz-63 sampled every 0.02, z-scored, closed-loop generation over the test segment, 6100 steps \
         (100, 4000, 1000, 1000); valid prediction time in Lyapunov times",
    ),
    (
        "memory-capacity",
        "linear memory capacity, u ~ U(-0.5, 0.5), delays 1..2N, washout max(100, 2N), train 4000, \
         validation 1000, test 5000; MC",
    ),
];

/// The error threshold of the valid prediction time (Pathak et al., PRL 120, 024102, 2018; Vlachas et al. 2020).
pub const VPT_THRESHOLD: f64 = 0.4;

impl SequenceTask {
    /// The task named `name` (case-insensitive), when it is one.
    pub fn from_name(name: &str) -> Option<SequenceTask> {
        let task = match name.to_ascii_lowercase().as_str() {
            "narma10" => SequenceTask::Narma10,
            "mackey-glass" => SequenceTask::MackeyGlass,
            "lorenz" => SequenceTask::Lorenz,
            "memory-capacity" => SequenceTask::MemoryCapacity,
            _ => return None,
        };
        Some(task)
    }

    /// Its name, as `--dataset` takes it.
    pub fn name(self) -> &'static str {
        match self {
            SequenceTask::Narma10 => SEQUENCE_TASKS[0].0,
            SequenceTask::MackeyGlass => SEQUENCE_TASKS[1].0,
            SequenceTask::Lorenz => SEQUENCE_TASKS[2].0,
            SequenceTask::MemoryCapacity => SEQUENCE_TASKS[3].0,
            SequenceTask::NextStep => "signal",
        }
    }

    /// Its metric (`nrmse`, `vpt` or `mc` in reports).
    pub fn metric(self) -> Metric {
        match self {
            SequenceTask::Narma10 | SequenceTask::MackeyGlass | SequenceTask::NextStep => {
                Metric::Nrmse
            }
            SequenceTask::Lorenz => Metric::Vpt,
            SequenceTask::MemoryCapacity => Metric::Mc,
        }
    }

    /// Whether a larger score is better.
    pub fn higher_is_better(self) -> bool {
        self.metric().higher_is_better()
    }

    /// The signal and its segments, for a reservoir of `n_units` units (the memory capacity's washout covers its
    /// `2N` delays).
    pub fn signal(self, n_units: usize) -> Result<(Signal, Segments), LabError> {
        let data = |e: mf_data::DataError| LabError::Data(e);
        let (signal, counts) = match self {
            SequenceTask::Narma10 => (
                mf_data::narma10(4200, GENERATED_SEED).map_err(data)?,
                (200, 2000, 1000, 1000),
            ),
            SequenceTask::MackeyGlass => (
                mf_data::mackey_glass(5100, GENERATED_SEED).map_err(data)?,
                (100, 3000, 1000, 1000),
            ),
            SequenceTask::Lorenz => (
                mf_data::lorenz63(6100, GENERATED_SEED).map_err(data)?,
                (100, 4000, 1000, 1000),
            ),
            SequenceTask::NextStep => {
                return Err(LabError::InvalidParams(
                    "a next-step task runs on a signal of the user's own (`--dataset FILE --target COLUMN`)".into(),
                ))
            }
            SequenceTask::MemoryCapacity => {
                let washout = (2 * n_units).max(100);
                (
                    mf_data::memory_capacity_input(washout + 10_000, GENERATED_SEED)
                        .map_err(data)?,
                    (washout, 4000, 1000, 5000),
                )
            }
        };
        let (w, tr, va, te) = counts;
        let segments =
            Segments::from_counts(signal.len(), w, tr, va, te).map_err(LabError::Data)?;
        Ok((signal, segments))
    }
}

/// What a sequence run drives its reservoirs along: a generated task, or a signal of the user's own.
#[derive(Debug, Clone, PartialEq)]
pub enum SequenceData {
    /// A generated task, its signal made for the reservoir's size.
    Task(SequenceTask),
    /// A signal of the user's own (`mf_data::load_signal`): next-step prediction, scored by NRMSE.
    Signal {
        /// The signal.
        signal: Box<Signal>,
        /// Its segments.
        segments: Segments,
        /// The z-scoring it went through (`--normalise zscore`), when it did.
        scaling: Option<SignalScaling>,
    },
}

/// How a signal of one's own was z-scored: each input and each target channel's mean and standard deviation over
/// the training segment. A target that is an input channel one step later has that channel's.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalScaling {
    /// Each input channel's mean.
    pub input_mean: Vec<f64>,
    /// Each input channel's standard deviation.
    pub input_std: Vec<f64>,
    /// Each target channel's mean.
    pub target_mean: Vec<f64>,
    /// Each target channel's standard deviation.
    pub target_std: Vec<f64>,
}

impl From<SequenceTask> for SequenceData {
    fn from(task: SequenceTask) -> Self {
        SequenceData::Task(task)
    }
}

impl SequenceData {
    /// The user's signal at `path`, predicting the columns `targets` one step ahead, split into the default
    /// segments (`mf_data::Segments::default_for`). With [`Normalise::Zscore`] every channel of the inputs and the
    /// targets is z-scored with its mean and standard deviation over the training segment.
    pub fn from_file(
        path: &std::path::Path,
        targets: &[String],
        normalise: Normalise,
    ) -> Result<SequenceData, LabError> {
        let signal = mf_data::load_signal(path, targets)?;
        let segments = Segments::default_for(signal.len())?;
        let (signal, scaling) = match normalise {
            Normalise::None => (signal, None),
            Normalise::Zscore => {
                let (signal, scaling) = zscore(signal, segments.train())?;
                (signal, Some(scaling))
            }
        };
        Ok(SequenceData::Signal {
            signal: Box::new(signal),
            segments,
            scaling,
        })
    }

    /// What `--dataset DATASET [--target COLUMN ...] [--normalise ...]` names, when it is a sequence run: a
    /// signal of the user's own when `targets` are given ([`Self::from_file`]), a generated task by its name, or
    /// `None` for a series data set. A generated task comes normalised as its definition says, so `normalise`
    /// other than `none` is refused for it rather than ignored.
    pub fn from_dataset(
        dataset: &str,
        targets: &[String],
        normalise: Normalise,
    ) -> Result<Option<SequenceData>, LabError> {
        if !targets.is_empty() {
            return Self::from_file(std::path::Path::new(dataset), targets, normalise).map(Some);
        }
        let Some(task) = SequenceTask::from_name(dataset) else {
            return Ok(None);
        };
        if normalise != Normalise::None {
            return Err(generated_tasks_normalised());
        }
        Ok(Some(SequenceData::Task(task)))
    }

    /// How it is scored.
    pub fn task(&self) -> SequenceTask {
        match self {
            SequenceData::Task(t) => *t,
            SequenceData::Signal { .. } => SequenceTask::NextStep,
        }
    }

    /// Its name in reports.
    pub fn name(&self) -> String {
        match self {
            SequenceData::Task(t) => t.name().to_string(),
            SequenceData::Signal { signal, .. } => signal.name().to_string(),
        }
    }

    /// The z-scoring of a signal of one's own, when it had one.
    pub fn scaling(&self) -> Option<&SignalScaling> {
        match self {
            SequenceData::Signal { scaling, .. } => scaling.as_ref(),
            SequenceData::Task(_) => None,
        }
    }

    /// The signal and segments for a reservoir of `n_units` units.
    pub(crate) fn load(&self, n_units: usize) -> Result<(Signal, Segments), LabError> {
        match self {
            SequenceData::Task(t) => t.signal(n_units),
            SequenceData::Signal {
                signal, segments, ..
            } => Ok(((**signal).clone(), *segments)),
        }
    }
}

/// Why `--normalise` is refused for a generated sequence task.
pub(crate) fn generated_tasks_normalised() -> LabError {
    LabError::InvalidParams(
        "the generated sequence tasks come normalised as their definitions say (--normalise applies to series \
         data sets and to a signal of your own)"
            .into(),
    )
}

/// `signal` with every input and target channel z-scored by its statistics over the rows of `train`, and those
/// statistics; a channel constant there is refused.
fn zscore(signal: Signal, train: Range<usize>) -> Result<(Signal, SignalScaling), LabError> {
    let name = signal.name().to_string();
    let source = format!(
        "{}; z-scored with the training segment's statistics",
        signal.source()
    );
    let (mut inputs, mut targets) = signal.into_parts();
    let stats = |col: ndarray::ArrayView1<'_, f64>, what: &str, j: usize| {
        let seg = col.slice_axis(Axis(0), train.clone().into());
        let mean = seg.mean().unwrap_or(0.0);
        let sd = seg
            .mapv(|v| (v - mean) * (v - mean))
            .mean()
            .unwrap_or(0.0)
            .sqrt();
        if sd > 0.0 {
            Ok((mean, sd))
        } else {
            Err(LabError::InvalidData(format!(
                "{name}: {what} channel {} is constant over the training segment, so it cannot be z-scored",
                j + 1
            )))
        }
    };
    let n = inputs.nrows();
    let input_stats = inputs
        .columns()
        .into_iter()
        .enumerate()
        .map(|(k, c)| stats(c, "input", k))
        .collect::<Result<Vec<_>, _>>()?;
    // A target that is an input channel one step later is scaled as that channel, so that a generated value can
    // be fed back as the next input.
    let target_stats = targets
        .columns()
        .into_iter()
        .enumerate()
        .map(|(j, c)| {
            let same = inputs.columns().into_iter().position(|i| {
                i.slice_axis(Axis(0), (1..n).into()) == c.slice_axis(Axis(0), (0..n - 1).into())
            });
            match same {
                Some(k) => Ok(input_stats[k]),
                None => stats(c, "target", j),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (m, st) in [(&mut inputs, &input_stats), (&mut targets, &target_stats)] {
        for (mut col, &(mean, sd)) in m.columns_mut().into_iter().zip(st.iter()) {
            col.mapv_inplace(|v| (v - mean) / sd);
        }
    }
    let split = |st: &[(f64, f64)]| -> (Vec<f64>, Vec<f64>) { st.iter().copied().unzip() };
    let (input_mean, input_std) = split(&input_stats);
    let (target_mean, target_std) = split(&target_stats);
    Ok((
        Signal::new(name, source, inputs, targets)?,
        SignalScaling {
            input_mean,
            input_std,
            target_mean,
            target_std,
        },
    ))
}

/// What a run of fresh reservoirs on a sequence task found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequenceReport {
    /// The task's name.
    pub dataset: String,
    /// Model id.
    pub model: String,
    /// `nrmse`, `vpt` or `mc`.
    pub metric: Metric,
    /// Whether a larger score is better.
    pub higher_is_better: bool,
    /// Mean test score over the trials.
    pub mean: f64,
    /// Population standard deviation of the test scores.
    pub std: f64,
    /// Test score of each trial.
    pub per_trial: Vec<f64>,
    /// Memory capacity: the mean curve `MC_1..MC_2N` over the trials.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub curve: Vec<f64>,
    /// Every hyper-parameter.
    pub config: serde_json::Value,
    /// How the signal was generated.
    pub signal: String,
    /// The segments, in steps: washout, train, validation, test.
    pub segments: [usize; 4],
    /// The run's seed.
    pub seed: u64,
    /// Seconds in all.
    pub wall_s: f64,
    /// With a grid: how the configuration scored above was selected on the validation segment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
}

/// Model selection on the validation segment: every configuration of a grid, each over `draws` reservoirs fitted
/// on the training segment alone and scored on the validation segment that follows it; the first strictly best
/// mean (in grid order) is selected. The final trials then fit on training and validation and score on test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selection {
    /// The grid's axes, in nesting order.
    pub grid: Vec<(String, Vec<f64>)>,
    /// Reservoirs per configuration.
    pub draws: usize,
    /// Each configuration's hyper-parameters (the grid's) and its mean validation score.
    pub scores: Vec<(Params, f64)>,
    /// The selected configuration's hyper-parameters (the grid's).
    pub selected: Params,
}

/// Stream tag of the reservoirs drawn for model selection, apart from the final trials'.
const SELECTION_STREAM: u64 = 0x5345_4c45_4354; // "SELECT"

/// Selects a configuration of `grid` (over `req`'s own `--set` values, which the grid may not repeat) on the
/// validation segment of `task` (see [`Selection`]), then runs `trials` fresh reservoirs of it as
/// [`run_sequence`] does.
pub fn select_and_run(
    req: &ModelRequest,
    data: impl Into<SequenceData>,
    grid: &Grid,
    draws: usize,
    trials: usize,
    cancel: &CancelToken,
) -> Result<SequenceReport, LabError> {
    select_and_run_with(req, data, grid, draws, trials, &|_, _| {}, cancel)
}

/// [`select_and_run`], a trained model's epochs reported to `on_event` with the final trial's number (from 1),
/// or `None` during selection.
#[allow(clippy::too_many_arguments)]
pub fn select_and_run_with(
    req: &ModelRequest,
    data: impl Into<SequenceData>,
    grid: &Grid,
    draws: usize,
    trials: usize,
    on_event: &dyn Fn(Option<usize>, TrialEvent),
    cancel: &CancelToken,
) -> Result<SequenceReport, LabError> {
    crate::memory::check_repeats("--draws", draws)?;
    let start = Instant::now();
    let data = data.into();
    let task = data.task();
    if let Some((k, _)) = grid.axes().iter().find(|(k, _)| req.set.contains_key(k)) {
        return Err(LabError::InvalidParams(format!(
            "{k} is both set and searched: give it with --set or in the grid, not both"
        )));
    }
    let better = |a: f64, b: f64| {
        !a.is_nan()
            && (b.is_nan()
                || if task.higher_is_better() {
                    a > b
                } else {
                    a < b
                })
    };
    let mut scores = Vec::new();
    let mut best: Option<(Params, f64)> = None;
    // The signal depends on the units the readout reads (the memory capacity's washout) only: it is generated
    // again only when a configuration changes them.
    let mut loaded: Option<(usize, Signal, Segments)> = None;
    for point in grid.configs() {
        let mut r = req.clone();
        r.set.extend(point.clone());
        let (model, n_units) = sequence_model(&r)?;
        if loaded.as_ref().is_none_or(|(n, ..)| *n != n_units) {
            let (signal, segments) = data.load(n_units)?;
            loaded = Some((n_units, signal, segments));
        }
        let (_, signal, segments) = loaded.as_ref().expect("loaded above");
        let mut total = 0.0;
        for d in 0..draws {
            cancel.check()?;
            let seed = derive_seed(derive_seed(req.seed, SELECTION_STREAM), d as u64);
            let score = model_trial(
                model.as_ref(),
                task,
                signal,
                segments.train(),
                segments.validation(),
                Some(segments.validation()),
                seed,
                &|e| on_event(None, e),
                cancel,
            )
            .map(|t| t.score)
            // A configuration whose reservoir or readout fails is never selected.
            .unwrap_or(f64::NAN);
            total += score;
        }
        let mean = total / draws as f64;
        if best.as_ref().is_none_or(|(_, b)| better(mean, *b)) {
            best = Some((point.clone(), mean));
        }
        scores.push((point, mean));
    }
    let (selected, value) = best.expect("a grid has at least one configuration");
    if value.is_nan() {
        return Err(LabError::InvalidData(format!(
            "every configuration of the grid failed on the validation segment of {}",
            data.name()
        )));
    }
    let mut final_req = req.clone();
    final_req.set.extend(selected.clone());
    let mut report = run_sequence_with(&final_req, data, trials, on_event, cancel)?;
    report.selection = Some(Selection {
        grid: grid.axes().to_vec(),
        draws,
        scores,
        selected,
    });
    report.wall_s = start.elapsed().as_secs_f64();
    Ok(report)
}

/// The configuration of `req` with the units its readout reads, refused with the reason for models that do not
/// run sequence tasks.
pub(crate) fn sequence_model(req: &ModelRequest) -> Result<(Box<dyn Configured>, usize), LabError> {
    let configured = req.configure()?;
    match configured.sequence_units() {
        Some(n) => Ok((configured, n)),
        None => Err(LabError::InvalidParams(format!(
            "{} does not run sequence tasks (these do: {})",
            req.model,
            sequence_models().join(", ")
        ))),
    }
}

/// One trial's score and, for the memory capacity, its curve.
struct TrialResult {
    score: f64,
    curve: Vec<f64>,
}

/// Runs `trials` fresh reservoirs of `req` on the sequence task `task`: trial `i` draws its reservoir from
/// `derive_seed(req.seed, i)`; a trained model (MF-RNN, RNN, hybrid) trains from that seed instead (see the
/// module's text).
pub fn run_sequence(
    req: &ModelRequest,
    data: impl Into<SequenceData>,
    trials: usize,
    cancel: &CancelToken,
) -> Result<SequenceReport, LabError> {
    run_sequence_with(req, data, trials, &|_, _| {}, cancel)
}

/// [`run_sequence`], a trained model's epochs reported to `on_event` with the trial's number (from 1).
pub fn run_sequence_with(
    req: &ModelRequest,
    data: impl Into<SequenceData>,
    trials: usize,
    on_event: &dyn Fn(Option<usize>, TrialEvent),
    cancel: &CancelToken,
) -> Result<SequenceReport, LabError> {
    crate::memory::check_repeats("--trials", trials)?;
    let start = Instant::now();
    let data = data.into();
    let task = data.task();
    let (configured, n_units) = sequence_model(req)?;
    if req.normalise != Normalise::None && matches!(data, SequenceData::Task(_)) {
        return Err(generated_tasks_normalised());
    }
    let (signal, segments) = data.load(n_units)?;
    let results = (0..trials)
        .map(|i| {
            cancel.check()?;
            let seed = derive_seed(req.seed, i as u64);
            let fit = segments.train().start..segments.validation().end;
            model_trial(
                configured.as_ref(),
                task,
                &signal,
                fit,
                segments.test(),
                None,
                seed,
                &|e| on_event(Some(i + 1), e),
                cancel,
            )
            .context_with(|| format!("{} on {}, trial {}", req.model, data.name(), i + 1))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let per_trial: Vec<f64> = results.iter().map(|r| r.score).collect();
    let curve = if task == SequenceTask::MemoryCapacity {
        let k = results[0].curve.len();
        (0..k)
            .map(|j| results.iter().map(|r| r.curve[j]).sum::<f64>() / results.len() as f64)
            .collect()
    } else {
        Vec::new()
    };
    Ok(SequenceReport {
        dataset: data.name(),
        model: req.model.id().to_string(),
        metric: task.metric(),
        higher_is_better: task.higher_is_better(),
        mean: protocol::mean(&per_trial),
        std: protocol::pop_std(&per_trial),
        per_trial,
        curve,
        config: configured.to_json(),
        signal: signal.source().to_string(),
        segments: [
            segments.washout().len(),
            segments.train().len(),
            segments.validation().len(),
            segments.test().len(),
        ],
        seed: req.seed,
        wall_s: start.elapsed().as_secs_f64(),
        selection: None,
    })
}

/// The scores of a sweep's job on a sequence task, one per seed: each seed draws a reservoir of `model` with
/// `params`; in [`Stage::Validation`] its readout is fitted on the training segment and scored on the validation
/// segment (as [`select_and_run`]'s selection does), in [`Stage::Final`] fitted on training and validation and
/// scored on test (as [`run_sequence`] does). `progress` hears each draw start.
pub(crate) fn job_scores(
    model: ModelKind,
    params: &Params,
    task: SequenceTask,
    stage: Stage,
    seeds: &[u64],
    progress: &dyn Fn(JobProgress),
    cancel: &CancelToken,
) -> Result<Vec<f64>, LabError> {
    let configured = model.model().configure(params)?;
    let n_units = configured.sequence_units().ok_or_else(|| {
        LabError::InvalidParams(format!(
            "{model} does not run sequence tasks (these do: {})",
            sequence_models().join(", ")
        ))
    })?;
    let (signal, segments) = task.signal(n_units)?;
    let (fit, scored) = match stage {
        Stage::Validation => (segments.train(), segments.validation()),
        Stage::Final => (
            segments.train().start..segments.validation().end,
            segments.test(),
        ),
    };
    let n = seeds.len();
    seeds
        .iter()
        .enumerate()
        .map(|(i, &seed)| {
            cancel.check()?;
            progress(JobProgress {
                fraction: i as f64 / n as f64,
                step: JobStep::Draw {
                    index: i + 1,
                    of: n,
                },
            });
            let stop_on = (stage == Stage::Validation).then(|| scored.clone());
            let score = model_trial(
                configured.as_ref(),
                task,
                &signal,
                fit.clone(),
                scored.clone(),
                stop_on,
                seed,
                &|_| {},
                cancel,
            )
            .context_with(|| format!("draw {}/{n} (seed {seed})", i + 1))?
            .score;
            if score.is_finite() {
                Ok(score)
            } else {
                Err(LabError::InvalidData(format!(
                    "draw {}/{n} (seed {seed}): the score is {score}",
                    i + 1
                )))
            }
        })
        .collect()
}

/// The registered models that run sequence tasks: the reservoir models and the trained ones.
pub fn sequence_models() -> Vec<&'static str> {
    models_where(|c| c.sequence_units().is_some())
}

/// The registered models that run sequence tasks with a reservoir and a fitted readout, as closed-loop
/// forecasts and saved sequence models need.
pub fn reservoir_models() -> Vec<&'static str> {
    models_where(|c| c.sequence_units().is_some() && !c.trains_on_signals())
}

/// The registered models whose default configuration satisfies `keep`.
fn models_where(keep: impl Fn(&dyn Configured) -> bool) -> Vec<&'static str> {
    ModelKind::all()
        .iter()
        .filter(|m| {
            m.model()
                .configure(&Default::default())
                .is_ok_and(|c| keep(c.as_ref()))
        })
        .map(|m| m.id())
        .collect()
}

/// One trial of `configured` from `seed` on `task`: fitted on the rows `fit` and scored on the rows `scored`. A
/// reservoir model draws its reservoir from `seed` and fits its readout ([`trial`]); a trained model trains from
/// `seed` by truncated back-propagation through time, stopping early on the rows `stop_on` when given and on
/// its training loss otherwise ([`trained_trial`]).
#[allow(clippy::too_many_arguments)]
fn model_trial(
    configured: &dyn Configured,
    task: SequenceTask,
    signal: &Signal,
    fit: Range<usize>,
    scored: Range<usize>,
    stop_on: Option<Range<usize>>,
    seed: u64,
    on_event: &dyn Fn(TrialEvent),
    cancel: &CancelToken,
) -> Result<TrialResult, LabError> {
    if configured.trains_on_signals() {
        let ctx = TrialContext { on_event, cancel };
        trained_trial(configured, task, signal, fit, scored, stop_on, seed, &ctx)
    } else {
        let mut reservoir = configured.draw_sequence(signal.n_inputs(), seed)?;
        trial(task, &mut reservoir, signal, fit, scored)
    }
}

/// [`model_trial`] of a trained model. The memory capacity trains one output per delay `k = 1..=2N` (the
/// targets `u(t - k)`) and sums the squared correlations of each with its target over `scored`; Lorenz-63 drives
/// the trained model teacher-forced up to `scored` and then feeds its output back, as [`trial`] does.
#[allow(clippy::too_many_arguments)]
fn trained_trial(
    configured: &dyn Configured,
    task: SequenceTask,
    signal: &Signal,
    fit: Range<usize>,
    scored: Range<usize>,
    stop_on: Option<Range<usize>>,
    seed: u64,
    ctx: &TrialContext<'_>,
) -> Result<TrialResult, LabError> {
    let inputs = signal.inputs();
    let end = scored.end;
    match task {
        SequenceTask::MemoryCapacity => {
            let u: Vec<f64> = inputs.column(0).to_vec();
            let max_delay = 2 * configured.sequence_units().unwrap_or(0);
            if fit.start < max_delay || scored.start < max_delay {
                return Err(LabError::InvalidData(format!(
                    "the memory capacity's rows must start after its {max_delay} delays"
                )));
            }
            // Rows before the first `max_delay` have no past input (NaN); they are never fitted or scored.
            let delayed =
                mf_data::delayed_targets(&u, max_delay).mapv(|v| if v.is_nan() { 0.0 } else { v });
            let model = configured.train_on_signal(
                inputs.view(),
                delayed.view(),
                fit,
                stop_on,
                seed,
                ctx,
            )?;
            let out = model.outputs_along(inputs.slice_axis(Axis(0), (0..end).into()))?;
            let rows = |a: ArrayView2<'_, f64>, k: usize| {
                a.slice_axis(Axis(0), scored.clone().into())
                    .column(k)
                    .to_owned()
            };
            let curve: Vec<f64> = (0..max_delay)
                .map(|k| {
                    mf_esn::sequence::squared_correlation(
                        rows(out.view(), k).view(),
                        rows(delayed.view(), k).view(),
                    )
                })
                .collect();
            Ok(TrialResult {
                score: curve.iter().sum(),
                curve,
            })
        }
        SequenceTask::Narma10 | SequenceTask::MackeyGlass | SequenceTask::NextStep => {
            let model = configured.train_on_signal(
                inputs.view(),
                signal.targets().view(),
                fit,
                stop_on,
                seed,
                ctx,
            )?;
            let out = model.outputs_along(inputs.slice_axis(Axis(0), (0..end).into()))?;
            let score = mf_data::nrmse(
                out.slice_axis(Axis(0), scored.clone().into()),
                signal.targets().slice_axis(Axis(0), scored.into()),
            )
            .map_err(LabError::Data)?;
            Ok(TrialResult {
                score,
                curve: Vec::new(),
            })
        }
        SequenceTask::Lorenz => {
            use mf_core::Recurrent;
            let targets = signal.targets();
            let model = configured.train_on_signal(
                inputs.view(),
                targets.view(),
                fit,
                stop_on,
                seed,
                ctx,
            )?;
            let mut stream = model.stream()?;
            let to32 = |row: ndarray::ArrayView1<'_, f64>| {
                row.iter().map(|&v| v as f32).collect::<Vec<_>>()
            };
            for row in inputs.slice_axis(Axis(0), (0..scored.start).into()).rows() {
                stream.push(&to32(row))?;
            }
            let truth = targets.slice_axis(Axis(0), (scored.start - 1..scored.end - 1).into());
            let steps = valid_steps(truth, |fed| {
                if let Some(y) = fed {
                    let y: Vec<f32> = y.iter().map(|&v| v as f32).collect();
                    stream.push(&y)?;
                }
                Ok(stream.outputs().mapv(f64::from))
            })?;
            Ok(TrialResult {
                score: lyapunov_times(steps as f64),
                curve: Vec::new(),
            })
        }
    }
}

/// Rows the readout's normal equations take at once.
const BLOCK: usize = 256;

/// Drives `reservoir` along `signal` and scores it on `task`.
fn trial(
    task: SequenceTask,
    reservoir: &mut SequenceReservoir,
    signal: &Signal,
    fit: Range<usize>,
    test: Range<usize>,
) -> Result<TrialResult, LabError> {
    match task {
        SequenceTask::MemoryCapacity => {
            let u: Vec<f64> = signal.inputs().column(0).to_vec();
            let end = test.end;
            let mut states = Array2::zeros((end, reservoir.n_units()));
            reservoir.drive(
                signal.inputs().slice_axis(Axis(0), (0..end).into()),
                |t, h| {
                    states.row_mut(t).assign(&h);
                    Ok(())
                },
            )?;
            let max_delay = 2 * reservoir.n_units();
            let curve = memory_capacity(states.view(), &u[..end], fit, test, max_delay, |x, y| {
                let mut fitter = reservoir.readout_fitter(y.ncols())?;
                fitter.add(x, y)?;
                reservoir.finish_readout(&fitter)
            })?;
            Ok(TrialResult {
                score: curve.iter().sum(),
                curve,
            })
        }
        SequenceTask::Narma10 | SequenceTask::MackeyGlass | SequenceTask::NextStep => {
            let readout = teacher_forced_readout(reservoir, signal, &fit, test.start)?;
            let (_, score) =
                one_step_predictions(reservoir, &readout, signal, test.clone(), test.len())?;
            Ok(TrialResult {
                score,
                curve: Vec::new(),
            })
        }
        SequenceTask::Lorenz => {
            let readout = teacher_forced_readout(reservoir, signal, &fit, test.start)?;
            let targets = signal.targets();
            // Closed loop: the prediction of the next sample is the next input. The error is normalised by the
            // root mean squared norm of the true signal over the test segment.
            let truth = targets.slice_axis(Axis(0), (test.start - 1..test.end - 1).into());
            let steps = valid_steps(truth, |fed| {
                if let Some(y) = fed {
                    reservoir.push(&y.to_vec())?;
                }
                Ok(readout
                    .decision(&reservoir.read().insert_axis(Axis(0)))
                    .row(0)
                    .to_owned())
            })?;
            Ok(TrialResult {
                score: lyapunov_times(steps as f64),
                curve: Vec::new(),
            })
        }
    }
}

/// The steps of closed-loop generation whose prediction stays within [`VPT_THRESHOLD`] of the rows of `truth`, in
/// order, the error normalised by their root mean squared norm: `advance(None)` gives the first prediction, and
/// `advance(Some(y))` feeds the prediction `y` back as the next input and gives the next one.
fn valid_steps(
    truth: ArrayView2<'_, f64>,
    mut advance: impl FnMut(Option<&Array1<f64>>) -> Result<Array1<f64>, LabError>,
) -> Result<usize, LabError> {
    let norm = rms_norm(truth);
    let mut y = advance(None)?;
    for (k, true_row) in truth.rows().into_iter().enumerate() {
        let err = (&y - &true_row).mapv(|v| v * v).sum().sqrt() / norm;
        if !err.is_finite() || err > VPT_THRESHOLD {
            return Ok(k);
        }
        y = advance(Some(&y))?;
    }
    Ok(truth.nrows())
}

/// The root mean squared norm of the rows of `y`, `sqrt(<||y||^2>)`: what a closed loop's error is normalised by
/// in the valid prediction time.
pub(crate) fn rms_norm(y: ArrayView2<'_, f64>) -> f64 {
    (y.rows().into_iter().map(|r| r.dot(&r)).sum::<f64>() / y.nrows() as f64).sqrt()
}

/// `steps` samples of Lorenz-63 in Lyapunov times (sample spacing times the largest Lyapunov exponent).
fn lyapunov_times(steps: f64) -> f64 {
    steps * mf_data::sequence::LORENZ63_SAMPLE_DT * mf_data::sequence::LORENZ63_LYAPUNOV_EXPONENT
}

/// Closed-loop starting points of [`forecast`] by default: Jaeger (2001, Sec. 6.4) averages over 100.
pub const FORECAST_STARTS: usize = 100;

/// What closed-loop generation from a teacher-forced reservoir found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastReport {
    /// The task's name.
    pub dataset: String,
    /// Model id.
    pub model: String,
    /// `nrmse@H` (Mackey-Glass: the NRMSE of the generated value `H` steps after the switch, over every start,
    /// normalised by the signal's variance; Jaeger's NRMSE84 at `H = 84`) or `vpt` (Lorenz-63: the mean valid
    /// prediction time in Lyapunov times, capped at the horizon).
    pub metric: String,
    /// Whether a larger value is better.
    pub higher_is_better: bool,
    /// The metric over every start.
    pub value: f64,
    /// Steps generated after each switch.
    pub horizon: usize,
    /// Starting points: evenly spaced through the test segment.
    pub starts: Vec<usize>,
    /// The first start's true continuation, `horizon` rows of the signal's channels.
    pub truth: Vec<Vec<f64>>,
    /// The first start's generated continuation.
    pub generated: Vec<Vec<f64>>,
    /// Every hyper-parameter.
    pub config: serde_json::Value,
    /// How the signal was generated.
    pub signal: String,
    /// The reservoir's seed.
    pub seed: u64,
    /// Seconds in all.
    pub wall_s: f64,
}

/// Fits one reservoir of `req` (drawn from `req.seed`) teacher-forced on the train and validation segments of
/// `task`, then from each of `n_starts` points evenly spaced through the test segment (the reservoir teacher-forced
/// up to it) feeds its own output back as the next input for `horizon` steps. The tasks whose input is their
/// target one step ahead generate: Mackey-Glass and Lorenz-63.
pub fn forecast(
    req: &ModelRequest,
    data: impl Into<SequenceData>,
    horizon: usize,
    n_starts: usize,
    cancel: &CancelToken,
) -> Result<ForecastReport, LabError> {
    let start = Instant::now();
    let data = data.into();
    let task = data.task();
    let generates = match &data {
        SequenceData::Task(t) => matches!(t, SequenceTask::MackeyGlass | SequenceTask::Lorenz),
        // The output can be fed back only when every input channel is predicted, in the same order.
        SequenceData::Signal { signal, .. } => crate::sequence_model::feeds_back(signal),
    };
    if !generates {
        return Err(LabError::InvalidParams(format!(
            "{} cannot be generated in closed loop: its input is not its target one step ahead (mackey-glass, \
             lorenz and a signal whose targets are all its channels are)",
            data.name()
        )));
    }
    let (configured, n_units) = sequence_model(req)?;
    let (signal, segments) = data.load(n_units)?;
    let test = segments.test();
    if horizon == 0 || n_starts == 0 || horizon + n_starts > test.len() + 1 {
        return Err(LabError::InvalidParams(format!(
            "--horizon {horizon} with {n_starts} starts does not fit the {} steps of the test segment (horizon \
             and starts must be at least 1, horizon + starts at most {})",
            test.len(),
            test.len() + 1
        )));
    }
    let mut reservoir = configured.draw_sequence(signal.n_inputs(), req.seed)?;
    let fit: Range<usize> = segments.train().start..segments.validation().end;
    let readout = teacher_forced_readout(&mut reservoir, &signal, &fit, test.start)?;
    // Starts evenly spaced so that every continuation stays inside the test segment.
    let span = test.len() + 1 - horizon;
    let starts: Vec<usize> = (0..n_starts)
        .map(|i| test.start + i * span / n_starts)
        .collect();
    let targets = signal.targets();
    let inputs = signal.inputs();
    let q = signal.n_outputs();
    let mut at = test.start;
    let (mut truth0, mut gen0) = (Vec::new(), Vec::new());
    let mut errors_at_h = Vec::new();
    let mut vpts = Vec::new();
    let norm = rms_norm(targets.slice_axis(Axis(0), test.clone().into()));
    let variance = {
        let y = targets.slice_axis(Axis(0), test.clone().into());
        let m = y.mean().unwrap_or(0.0);
        y.mapv(|v| (v - m) * (v - m)).mean().unwrap_or(0.0)
    };
    for (k, &s) in starts.iter().enumerate() {
        cancel.check()?;
        // Teacher forcing up to the start: the state after input row s - 1 predicts target row s - 1 = input s.
        reservoir.drive(inputs.slice_axis(Axis(0), (at..s).into()), |_, _| Ok(()))?;
        at = s;
        let mut generator = reservoir.clone();
        let mut y = readout.decision(&generator.read().insert_axis(Axis(0)));
        let mut valid = None;
        for h in 0..horizon {
            let truth = targets.row(s - 1 + h);
            if k == 0 {
                truth0.push(truth.to_vec());
                gen0.push(y.row(0).to_vec());
            }
            let err = (&y.row(0) - &truth).mapv(|v| v * v).sum().sqrt() / norm;
            if valid.is_none() && (err.is_nan() || err > VPT_THRESHOLD) {
                valid = Some(h);
            }
            if h + 1 == horizon {
                errors_at_h.push((&y.row(0) - &truth).mapv(|v| v * v).sum() / q as f64);
                break;
            }
            if !y.iter().all(|v| v.is_finite()) {
                return Err(LabError::InvalidData(format!(
                    "the generated signal stopped being finite {h} steps after the switch at step {s}"
                )));
            }
            generator.push(&y.row(0).to_vec())?;
            y = readout.decision(&generator.read().insert_axis(Axis(0)));
        }
        vpts.push(valid.unwrap_or(horizon) as f64);
    }
    let (metric, value, higher) = match task {
        SequenceTask::Lorenz => (
            "vpt".to_string(),
            lyapunov_times(protocol::mean(&vpts)),
            true,
        ),
        _ => (
            format!("nrmse@{horizon}"),
            (protocol::mean(&errors_at_h) / variance).sqrt(),
            false,
        ),
    };
    Ok(ForecastReport {
        dataset: data.name(),
        model: req.model.id().to_string(),
        metric,
        higher_is_better: higher,
        value,
        horizon,
        starts,
        truth: truth0,
        generated: gen0,
        config: configured.to_json(),
        signal: signal.source().to_string(),
        seed: req.seed,
        wall_s: start.elapsed().as_secs_f64(),
    })
}

/// An error naming the first non-finite value of `rows` as `{what} i, channel j` (from 1), as a user counts them.
pub(crate) fn all_finite(rows: ArrayView2<'_, f64>, what: &str) -> Result<(), LabError> {
    match rows.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((i, j), v)) => Err(LabError::InvalidData(format!(
            "{what} {}, channel {}: {v} is not finite",
            i + 1,
            j + 1
        ))),
        None => Ok(()),
    }
}

/// What [`export_sequence`] writes beside its arrays: enough to recompute the predictions and the metric.
#[derive(Debug, Clone, Serialize)]
struct SequenceExport<'a> {
    dataset: String,
    model: &'a str,
    seed: u64,
    /// Every hyper-parameter (the cell's among them).
    config: serde_json::Value,
    signal: &'a str,
    /// Row ranges `[start, end)` of `inputs.npy` and `targets.npy`.
    washout: [usize; 2],
    train: [usize; 2],
    validation: [usize; 2],
    test: [usize; 2],
    /// The readout was fitted on the train and validation rows; `test_pred.npy` holds its one-step predictions on
    /// the test rows, teacher-forced.
    metric: Metric,
    test_score: f64,
    files: Vec<String>,
}

/// Fits one reservoir of `req` (drawn from `req.seed`; a trained model is trained from it on the same rows, its
/// trained `w_in`, `w_rec`, `bias` and readout written in f32) on a one-step sequence task (NARMA-10, Mackey-Glass, a
/// signal of one's own) as `mf run`'s first trial does, and writes into `out`: `inputs.npy` `(T, d)` and
/// `targets.npy` `(T, q)` (f64), the reservoir `w_in.npy` `(d, N)`, `w_rec.npy` `(N, N)`, `bias.npy` `(N,)` (f32),
/// the readout `readout_w.npy` `(N, q)` and `readout_b.npy` `(q,)` (f64), the test predictions `test_pred.npy`
/// `(test, q)` (f64), and `config.json` (segments, metric and score, every hyper-parameter). A directory that
/// already holds files is refused unless `replace` (then an earlier export's files are removed first).
pub fn export_sequence(
    req: &ModelRequest,
    data: impl Into<SequenceData>,
    out: &std::path::Path,
    replace: bool,
) -> Result<Vec<std::path::PathBuf>, LabError> {
    use crate::model_export::{prepare, write};
    let data = data.into();
    let task = data.task();
    if !matches!(
        task,
        SequenceTask::Narma10 | SequenceTask::MackeyGlass | SequenceTask::NextStep
    ) {
        return Err(LabError::InvalidParams(format!(
            "mf export writes the one-step sequence tasks (narma10, mackey-glass, a signal of your own); {} is \
             scored {}",
            data.name(),
            match task {
                SequenceTask::Lorenz => "in closed loop (mf forecast writes its continuations)",
                _ => "by 2N readouts at once",
            }
        )));
    }
    let (configured, n_units) = sequence_model(req)?;
    let (signal, segments) = data.load(n_units)?;
    let fit: Range<usize> = segments.train().start..segments.validation().end;
    let test = segments.test();
    let mut files: Vec<String> = vec!["inputs.npy".into(), "targets.npy".into()];
    let (pred, score) = if configured.trains_on_signals() {
        // A trained model: trained on the training and validation rows (stopping on its training loss), then
        // driven from the zero state along the signal.
        let quiet = |_: TrialEvent| {};
        let ctx = TrialContext {
            on_event: &quiet,
            cancel: &CancelToken::new(),
        };
        let model = configured.train_on_signal(
            signal.inputs().view(),
            signal.targets().view(),
            fit.clone(),
            None,
            req.seed,
            &ctx,
        )?;
        let outs =
            model.outputs_along(signal.inputs().slice_axis(Axis(0), (0..test.end).into()))?;
        let pred = outs.slice_axis(Axis(0), test.clone().into()).to_owned();
        let truth = signal.targets().slice_axis(Axis(0), test.clone().into());
        let score = mf_data::nrmse(pred.view(), truth).map_err(LabError::Data)?;
        let w = model.weights()?;
        prepare(out, replace)?;
        write(out, "w_in.npy", &w.layer.w_in)?;
        write(out, "w_rec.npy", &w.layer.w_rec)?;
        write(out, "bias.npy", &w.layer.bias)?;
        write(out, "readout_w.npy", &w.readout_weight)?;
        write(out, "readout_b.npy", &w.readout_bias)?;
        files.extend(["w_in", "w_rec", "bias"].map(|f| format!("{f}.npy")));
        (pred, score)
    } else {
        let mut reservoir = configured.draw_sequence(signal.n_inputs(), req.seed)?;
        let readout = teacher_forced_readout(&mut reservoir, &signal, &fit, test.start)?;
        let (pred, score) =
            one_step_predictions(&mut reservoir, &readout, &signal, test.clone(), test.len())?;
        prepare(out, replace)?;
        // A deep reservoir's layer 1 is `w_in.npy`, ...; layer l > 1 is `layer{l}_w_in.npy`, ... (as `mf export`
        // of a series model writes them).
        for (l, w) in reservoir.weights().iter().enumerate() {
            let prefix = if l == 0 {
                String::new()
            } else {
                format!("layer{}_", l + 1)
            };
            write(out, &format!("{prefix}w_in.npy"), &w.w_in)?;
            write(out, &format!("{prefix}w_rec.npy"), &w.w_rec)?;
            write(out, &format!("{prefix}bias.npy"), &w.bias)?;
            files.extend(["w_in", "w_rec", "bias"].map(|f| format!("{prefix}{f}.npy")));
        }
        write(out, "readout_w.npy", &readout.coef)?;
        write(out, "readout_b.npy", &readout.intercept)?;
        (pred, score)
    };
    write(out, "inputs.npy", signal.inputs())?;
    write(out, "targets.npy", signal.targets())?;
    write(out, "test_pred.npy", &pred)?;
    files.extend(["readout_w", "readout_b", "test_pred"].map(|f| format!("{f}.npy")));
    files.push("config.json".into());
    let range = |r: Range<usize>| [r.start, r.end];
    let desc = SequenceExport {
        dataset: data.name(),
        model: req.model.id(),
        seed: req.seed,
        config: configured.to_json(),
        signal: signal.source(),
        washout: range(segments.washout()),
        train: range(segments.train()),
        validation: range(segments.validation()),
        test: range(test),
        metric: task.metric(),
        test_score: score,
        files: files.clone(),
    };
    let path = out.join("config.json");
    let json = serde_json::to_string_pretty(&desc).expect("an export description serialises");
    std::fs::write(&path, json).map_err(|source| LabError::Io { path, source })?;
    Ok(files.iter().map(|f| out.join(f)).collect())
}

/// Drives `reservoir` along the input rows `rows` of `signal` from where it is, and returns the readout's one-step
/// predictions at the first `scored` of them, `(scored, q)`, with their NRMSE against the targets there.
pub(crate) fn one_step_predictions(
    reservoir: &mut SequenceReservoir,
    readout: &mf_esn::Ridge,
    signal: &Signal,
    rows: Range<usize>,
    scored: usize,
) -> Result<(Array2<f64>, f64), LabError> {
    let mut pred = Array2::zeros((scored, signal.n_outputs()));
    reservoir.drive(
        signal.inputs().slice_axis(Axis(0), rows.clone().into()),
        |k, h| {
            if k < scored {
                pred.row_mut(k)
                    .assign(&readout.decision(&h.insert_axis(Axis(0))).row(0));
            }
            Ok(())
        },
    )?;
    let truth = signal
        .targets()
        .slice_axis(Axis(0), (rows.start..rows.start + scored).into());
    let score = mf_data::nrmse(pred.view(), truth).map_err(LabError::Data)?;
    Ok((pred, score))
}

/// Drives `reservoir` over the first `until` steps of `signal` and fits its readout on the rows of `fit`
/// ([`BLOCK`] rows at a time; the ridge's normal equations or recursive least squares, as the configuration's
/// `readout` says), the readout's hardware applied.
fn teacher_forced_readout(
    reservoir: &mut SequenceReservoir,
    signal: &Signal,
    fit: &Range<usize>,
    until: usize,
) -> Result<mf_esn::Ridge, LabError> {
    let fitter = teacher_forced_fitter(reservoir, signal, fit, until)?;
    Ok(reservoir.finish_readout(&fitter)?)
}

/// [`teacher_forced_readout`]'s fit before it is solved, for a forecaster that goes on learning.
pub(crate) fn teacher_forced_fitter(
    reservoir: &mut SequenceReservoir,
    signal: &Signal,
    fit: &Range<usize>,
    until: usize,
) -> Result<ReadoutFitter, LabError> {
    let q = signal.n_outputs();
    let n = reservoir.n_units();
    let targets = signal.targets();
    let mut fitter = reservoir.readout_fitter(q)?;
    let mut rows_x = Array2::zeros((0, n));
    let mut rows_y = Array2::zeros((0, q));
    reservoir.drive(
        signal.inputs().slice_axis(Axis(0), (0..until).into()),
        |t, h| {
            if fit.contains(&t) {
                rows_x.push_row(h).expect("one row of n_units");
                rows_y
                    .push_row(targets.row(t))
                    .expect("one row of the targets");
                if rows_x.nrows() == BLOCK || t + 1 == fit.end {
                    fitter.add(rows_x.view(), rows_y.view())?;
                    rows_x = Array2::zeros((0, n));
                    rows_y = Array2::zeros((0, q));
                }
            }
            Ok(())
        },
    )?;
    Ok(fitter)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::normalise::Normalise;
    use crate::training::TrainingProtocol;

    pub(crate) fn req(model: ModelKind, set: &[(&str, f64)]) -> ModelRequest {
        ModelRequest {
            model,
            dataset: String::new(),
            preset: false,
            set: set.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            seed: 7,
            protocol: TrainingProtocol::Reference,
            normalise: Normalise::None,
        }
    }

    fn run(model: ModelKind, task: SequenceTask, set: &[(&str, f64)]) -> SequenceReport {
        run_sequence(&req(model, set), task, 2, &CancelToken::new()).unwrap()
    }

    /// A 100-unit ESN in the regime the NARMA-10 literature uses (no leak, small input scaling, a weak ridge).
    pub(crate) const TUNED_ESN: [(&str, f64); 4] = [
        ("alpha", 1.0),
        ("omega", 0.1),
        ("rho", 0.9),
        ("lambda", 1e-8),
    ];

    #[test]
    fn a_100_unit_esn_scores_narma10_in_the_range_the_literature_reports() {
        let r = run(ModelKind::Esn, SequenceTask::Narma10, &TUNED_ESN);
        assert_eq!((r.metric, r.higher_is_better), (Metric::Nrmse, false));
        // 100-unit ESNs are usually reported at NRMSE 0.2-0.4 (Jaeger 2003; Lukosevicius 2012).
        assert!((0.15..0.4).contains(&r.mean), "{r:?}");
        assert_eq!(r.segments, [200, 2000, 1000, 1000]);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["metric"], "nrmse");
    }

    #[test]
    fn no_reservoir_remembers_more_than_its_units_and_a_leak_forgets() {
        for (m, set) in [
            (ModelKind::Esn, &TUNED_ESN[..]),
            (ModelKind::Esn, &[][..]),
            (ModelKind::MfEsn, &[][..]),
        ] {
            let mut set = set.to_vec();
            set.push(("n_units", 30.0));
            let r = run(m, SequenceTask::MemoryCapacity, &set);
            assert_eq!(r.curve.len(), 60);
            assert!(r.mean > 0.0 && r.mean <= 30.0, "{m}: {}", r.mean);
            assert!(
                r.curve.iter().all(|v| (0.0..=1.0).contains(v)),
                "{:?}",
                r.curve
            );
            assert_eq!(r.segments[0], 100, "the washout covers the 2N delays");
        }
        let tuned = run(ModelKind::Esn, SequenceTask::MemoryCapacity, &TUNED_ESN);
        let leaky = run(ModelKind::Esn, SequenceTask::MemoryCapacity, &[]);
        assert!(
            tuned.curve[0] > 0.99 && leaky.curve[0] < tuned.curve[0],
            "{:?}",
            leaky.curve
        );
    }

    #[test]
    fn closed_loop_and_one_step_tasks_score_and_seeds_draw_other_reservoirs() {
        let mg = run(ModelKind::Esn, SequenceTask::MackeyGlass, &TUNED_ESN);
        assert!(mg.mean < 0.1, "{mg:?}");
        assert_ne!(mg.per_trial[0], mg.per_trial[1]);
        let lorenz = run(ModelKind::Esn, SequenceTask::Lorenz, &TUNED_ESN);
        assert_eq!(lorenz.metric, Metric::Vpt);
        assert!(lorenz.mean > 0.0, "{lorenz:?}");
        // The same request gives the same numbers.
        assert_eq!(
            run(ModelKind::Esn, SequenceTask::Lorenz, &TUNED_ESN).per_trial,
            lorenz.per_trial
        );
    }

    #[test]
    fn selection_on_the_validation_segment_keeps_the_best_configuration_and_runs_it_on_test() {
        let grid = Grid::new(vec![("omega".into(), vec![20.0, 0.1])]).unwrap();
        let set = [
            ("alpha", 1.0),
            ("rho", 0.9),
            ("lambda", 1e-8),
            ("n_units", 50.0),
        ];
        let r = select_and_run(
            &req(ModelKind::Esn, &set),
            SequenceTask::Narma10,
            &grid,
            2,
            2,
            &CancelToken::new(),
        )
        .unwrap();
        let sel = r.selection.as_ref().unwrap();
        assert_eq!(sel.selected["omega"], 0.1, "{sel:?}");
        assert_eq!(sel.scores.len(), 2);
        assert!(sel.scores[1].1 < sel.scores[0].1, "{sel:?}");
        // The final trials are the plain run of the selected configuration.
        let mut plain = set.to_vec();
        plain.push(("omega", 0.1));
        assert_eq!(
            run(ModelKind::Esn, SequenceTask::Narma10, &plain).per_trial,
            r.per_trial
        );
        let e = select_and_run(
            &req(ModelKind::Esn, &[("omega", 1.0)]),
            SequenceTask::Narma10,
            &grid,
            1,
            1,
            &CancelToken::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("omega is both set and searched"), "{e}");
    }

    #[test]
    fn a_recursive_least_squares_readout_takes_effect_and_is_close_to_the_ridge_without_forgetting()
    {
        let set = [
            ("alpha", 1.0),
            ("omega", 0.1),
            ("rho", 0.9),
            ("lambda", 1e-4),
            ("n_units", 40.0),
        ];
        let ridge = run(ModelKind::Esn, SequenceTask::Narma10, &set);
        let mut rls_set = set.to_vec();
        rls_set.push(("readout", 1.0));
        let rls = run(ModelKind::Esn, SequenceTask::Narma10, &rls_set);
        assert_ne!(rls.per_trial, ridge.per_trial);
        assert!(
            (rls.mean - ridge.mean).abs() < 0.05,
            "{} {}",
            rls.mean,
            ridge.mean
        );
        assert_eq!(rls.config["readout"]["kind"], "rls");
        // Forgetting weighs the last rows of the training segment only: a strong one scores worse.
        rls_set.push(("forgetting", 0.9));
        let forgetful = run(ModelKind::Esn, SequenceTask::Narma10, &rls_set);
        assert!(forgetful.mean > rls.mean, "{} {}", forgetful.mean, rls.mean);
        // A forgetting factor without rls, and rls on separate series, are refused.
        let e = ModelKind::Esn
            .model()
            .configure(&[("forgetting".to_string(), 0.9)].into_iter().collect())
            .unwrap_err()
            .to_string();
        assert!(e.contains("applies to readout = rls only"), "{e}");
    }

    /// A CSV signal in `dir`: a time column, two smooth channels and a constant one.
    pub(crate) fn own_signal(dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("sig.csv");
        let mut text = String::from("time,a,b,c\n");
        let mut b = 0.0;
        for t in 0..2000 {
            let a = (0.05 * t as f64).sin() + 0.3 * (0.13 * t as f64).sin();
            b = 0.8 * b + 0.2 * a;
            text.push_str(&format!("{t},{a},{b},1\n"));
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// [`own_signal`] at `path` without its constant channel, as `dir/two.csv` (z-scoring refuses that channel).
    pub(crate) fn without_constant_channel(
        dir: &std::path::Path,
        path: &std::path::Path,
    ) -> std::path::PathBuf {
        let two = dir.join("two.csv");
        std::fs::write(
            &two,
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n")
                .collect::<String>(),
        )
        .unwrap();
        two
    }

    #[test]
    fn a_signal_of_ones_own_runs_by_path_normalised_on_its_training_segment() {
        let dir = tempfile::tempdir().unwrap();
        let path = own_signal(dir.path());
        let data = SequenceData::from_file(&path, &["b".into()], Normalise::None).unwrap();
        let r = run_sequence(
            &req(ModelKind::Esn, &TUNED_ESN),
            data,
            2,
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!((r.dataset.as_str(), r.metric), ("sig", Metric::Nrmse));
        assert!(r.mean < 0.1, "{r:?}");
        assert_eq!(r.segments, [100, 1139, 380, 380]);
        // The constant channel cannot be z-scored.
        let e = SequenceData::from_file(&path, &["b".into()], Normalise::Zscore)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("input channel 3 is constant over the training segment"),
            "{e}"
        );
        // Z-scored, a signal whose targets are all its channels still generates in closed loop; one predicting a
        // single channel does not.
        let two = without_constant_channel(dir.path(), &path);
        let all =
            SequenceData::from_file(&two, &["a".into(), "b".into()], Normalise::Zscore).unwrap();
        let f = forecast(
            &req(ModelKind::Esn, &TUNED_ESN),
            all,
            10,
            5,
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(f.metric, "nrmse@10");
        let one = SequenceData::from_file(&two, &["b".into()], Normalise::Zscore).unwrap();
        assert!(forecast(
            &req(ModelKind::Esn, &TUNED_ESN),
            one,
            10,
            5,
            &CancelToken::new()
        )
        .is_err());
    }

    /// Recomputes an export's test predictions and NRMSE in numpy from its files alone (leaky ESN or RNN cell).
    const NUMPY_RECOMPUTE: &str = r#"
import json, sys
import numpy as np
d = sys.argv[1]
c = json.load(open(f"{d}/config.json"))
load = lambda n: np.load(f"{d}/{n}.npy")
u, y = load("inputs").astype(np.float32), load("targets")
w_in, w_rec, b = load("w_in"), load("w_rec"), load("bias")
rw, rb = load("readout_w"), load("readout_b")
# The leaky ESN's leak; a trained RNN's tanh cell is the leak-free case.
alpha = np.float32(c["config"]["cell"].get("alpha", 1.0))
h = np.zeros(w_rec.shape[0], np.float32)
t0, t1 = c["test"]
preds = []
for t in range(t1):
    h = (np.float32(1) - alpha) * h + alpha * np.tanh(u[t] @ w_in + h @ w_rec + b)
    if t >= t0:
        preds.append(h.astype(np.float64) @ rw + rb)
p = np.array(preds)
yt = y[t0:t1]
nrmse = float(np.mean(np.sqrt(np.mean((p - yt) ** 2, axis=0) / np.var(yt, axis=0))))
print(json.dumps({"max_diff": float(np.max(np.abs(p - load("test_pred")))), "nrmse": nrmse,
                  "score": c["test_score"], "rows": int(u.shape[0])}))
"#;

    #[test]
    fn a_sequence_export_recomputed_in_numpy_gives_the_same_predictions_and_metric() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("export");
        let r = req(
            ModelKind::Esn,
            &[("n_units", 30.0), ("alpha", 0.5), ("omega", 0.2)],
        );
        let files = export_sequence(&r, SequenceTask::Narma10, &out, false).unwrap();
        assert_eq!(files.len(), 9);
        let cfg: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(cfg["test"], serde_json::json!([3200, 4200]));
        assert_eq!(cfg["metric"], "nrmse");
        let e = export_sequence(&r, SequenceTask::Narma10, &out, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not empty"), "{e}");
        let e = export_sequence(&r, SequenceTask::Lorenz, &dir.path().join("l"), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("closed loop"), "{e}");
        let have_numpy = std::process::Command::new("python3")
            .args(["-c", "import numpy"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !have_numpy {
            eprintln!("skipping the numpy recomputation: python3 with numpy is not available");
            return;
        }
        let o = std::process::Command::new("python3")
            .args(["-c", NUMPY_RECOMPUTE])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(got["rows"], 4200);
        // f32 states in both, numpy's tanh against ours: the predictions agree far below the signal's scale.
        assert!(got["max_diff"].as_f64().unwrap() < 1e-4, "{got}");
        let (a, b) = (
            got["nrmse"].as_f64().unwrap(),
            got["score"].as_f64().unwrap(),
        );
        assert!((a - b).abs() < 1e-4 * b, "{got}");
        // A trained RNN's export: its trained weights and readout, recomputed the same way.
        let rnn_out = dir.path().join("rnn");
        let rnn = req(
            ModelKind::Rnn,
            &[("n_units", 12.0), ("max_epochs", 5.0), ("lr", 0.01)],
        );
        let files = export_sequence(&rnn, SequenceTask::Narma10, &rnn_out, false).unwrap();
        assert_eq!(files.len(), 9);
        let o = std::process::Command::new("python3")
            .args(["-c", NUMPY_RECOMPUTE])
            .arg(&rnn_out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(got["max_diff"].as_f64().unwrap() < 1e-4, "{got}");
        let (a, b) = (
            got["nrmse"].as_f64().unwrap(),
            got["score"].as_f64().unwrap(),
        );
        assert!((a - b).abs() < 1e-4 * b, "{got}");
    }

    #[test]
    fn a_deep_mf_esn_runs_sequence_tasks_its_readout_reading_every_layer() {
        let deep: ModelKind = "deep-mf-esn".parse().unwrap();
        let set = [("n_units", 15.0), ("layers", 2.0), ("dt", 0.1)];
        let mc = run(deep, SequenceTask::MemoryCapacity, &set);
        // 2 layers of 15 units: the readout reads 30, and the delays run to 60.
        assert_eq!(mc.curve.len(), 60);
        assert!(mc.mean > 0.0 && mc.mean <= 30.0, "{}", mc.mean);
        let narma = run(deep, SequenceTask::Narma10, &set);
        assert!(narma.mean.is_finite() && narma.mean > 0.0);
        // One layer is the MF-ESN's reservoir of the same seed.
        let one = run(
            deep,
            SequenceTask::Narma10,
            &[("n_units", 15.0), ("layers", 1.0), ("dt", 0.1)],
        );
        let mf = run(
            ModelKind::MfEsn,
            SequenceTask::Narma10,
            &[("n_units", 15.0), ("dt", 0.1)],
        );
        assert_eq!(one.per_trial, mf.per_trial);
    }

    /// A trained RNN runs NARMA-10 (truncated back-propagation through time on the training segment, early
    /// stopping on the training loss in the final trials) and the memory capacity; on NARMA-10 it beats the
    /// best constant (NRMSE below 1), and no delay's squared correlation exceeds 1.
    #[test]
    fn a_trained_rnn_runs_sequence_tasks_and_series_options_are_refused() {
        let small = [
            ("n_units", 12.0),
            ("max_epochs", 20.0),
            ("lr", 0.01),
            ("batch_size", 16.0),
        ];
        let r = run_sequence(
            &req(ModelKind::Rnn, &small),
            SequenceTask::Narma10,
            1,
            &CancelToken::new(),
        )
        .unwrap();
        assert!(r.mean > 0.0 && r.mean < 1.0, "{r:?}");
        let mc = run_sequence(
            &req(ModelKind::MfRnn, &small),
            SequenceTask::MemoryCapacity,
            1,
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(mc.curve.len(), 24);
        assert!(mc.curve.iter().all(|c| (0.0..=1.0).contains(c)), "{mc:?}");
        assert!(mc.mean <= 12.0);
        // Closed-loop generation and exports are the reservoirs'.
        let e = forecast(
            &req(ModelKind::Rnn, &small),
            SequenceTask::MackeyGlass,
            10,
            5,
            &CancelToken::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("built for reservoir models"), "{e}");
        let mut r = req(ModelKind::Esn, &[]);
        r.normalise = Normalise::Zscore;
        assert!(run_sequence(&r, SequenceTask::Narma10, 1, &CancelToken::new()).is_err());
        assert_eq!(
            SequenceTask::from_name("Lorenz"),
            Some(SequenceTask::Lorenz)
        );
        assert_eq!(SequenceTask::from_name("narma10-windows"), None);
        // What a command's --dataset names: a task, a series data set, or a task with --normalise, refused.
        assert_eq!(
            SequenceData::from_dataset("lorenz", &[], Normalise::None).unwrap(),
            Some(SequenceData::Task(SequenceTask::Lorenz))
        );
        assert_eq!(
            SequenceData::from_dataset("GunPoint", &[], Normalise::Zscore).unwrap(),
            None
        );
        let e = SequenceData::from_dataset("mackey-glass", &[], Normalise::Zscore)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("come normalised as their definitions say"),
            "{e}"
        );
        for (name, _) in SEQUENCE_TASKS {
            assert_eq!(SequenceTask::from_name(name).unwrap().name(), name);
        }
    }
}

#[cfg(test)]
mod forecast_tests {
    use super::*;
    use crate::normalise::Normalise;
    use crate::training::TrainingProtocol;

    fn req(set: &[(&str, f64)]) -> ModelRequest {
        ModelRequest {
            model: ModelKind::Esn,
            dataset: String::new(),
            preset: false,
            set: set.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            seed: 3,
            protocol: TrainingProtocol::Reference,
            normalise: Normalise::None,
        }
    }

    const TUNED: [(&str, f64); 4] = [
        ("alpha", 1.0),
        ("omega", 0.1),
        ("rho", 0.9),
        ("lambda", 1e-8),
    ];

    #[test]
    fn the_first_generated_value_is_the_teacher_forced_prediction_and_errors_grow_with_the_horizon()
    {
        let cancel = CancelToken::new();
        let one = forecast(&req(&TUNED), SequenceTask::MackeyGlass, 1, 20, &cancel).unwrap();
        let long = forecast(&req(&TUNED), SequenceTask::MackeyGlass, 84, 20, &cancel).unwrap();
        assert_eq!(
            (one.metric.as_str(), long.metric.as_str()),
            ("nrmse@1", "nrmse@84")
        );
        // Both start from the same teacher-forced state: the first generated values agree bit for bit.
        assert_eq!(one.generated[0], long.generated[0]);
        assert_eq!(one.truth[0], long.truth[0]);
        assert!(
            long.value.is_finite() && long.value > one.value,
            "{} {}",
            one.value,
            long.value
        );
        assert_eq!((long.truth.len(), long.generated.len()), (84, 84));
        // The one-step error from the reservoir's own teacher-forced prediction is the one-step task's scale.
        assert!(one.value < 0.1, "{}", one.value);
        let lorenz = forecast(&req(&TUNED), SequenceTask::Lorenz, 500, 5, &cancel).unwrap();
        assert_eq!(lorenz.metric, "vpt");
        assert!(
            lorenz.value > 0.0 && lorenz.value <= 500.0 * 0.02 * 0.906,
            "{}",
            lorenz.value
        );
    }

    #[test]
    fn tasks_that_cannot_generate_and_horizons_beyond_the_test_segment_are_refused() {
        let cancel = CancelToken::new();
        let e = forecast(&req(&[]), SequenceTask::Narma10, 10, 1, &cancel)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot be generated in closed loop"), "{e}");
        let e = forecast(&req(&[]), SequenceTask::MackeyGlass, 1000, 100, &cancel)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("does not fit the 1000 steps of the test segment"),
            "{e}"
        );
        assert!(forecast(&req(&[]), SequenceTask::MackeyGlass, 0, 1, &cancel).is_err());
    }
}
