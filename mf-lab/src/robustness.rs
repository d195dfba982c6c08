//! Robustness curves (`mf robustness`): how a model's test score moves as one hyper-parameter (a hardware
//! non-ideality such as `w_noise` or `adc_bits`, the MF neurons' `d2d_sigma` or `c2c_sigma`, or any other) takes
//! a list of values, over repeated draws. An axis is any hyper-parameter of every model asked for
//! (`Model::param_names`); each value is checked by the model's `configure` before anything is fitted.
//!
//! For every model and value, `draws` fresh models (draw `i` from seed `derive_seed(seed, i)`, the seeds of
//! `mf run --trials draws --seed seed`) fit on the training split and are scored on the test split. Every value
//! uses the same seeds, so a curve compares the same reservoirs programmed differently, not other reservoirs.
//!
//! A value can be one a model accepts but cannot be scored at (a device spread so wide that the states overflow):
//! the (model, value) whose draw fails is recorded as a [`FailedLevel`] with the reason, and the curve goes on
//! with the next one, so that the levels computed are kept. Only a cancellation stops the whole run.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use mf_core::rng::derive_seed;
use serde::Serialize;

use crate::eval::run_trials;
use crate::job::JobProgress;
use crate::models::{CancelToken, TrialData};
use crate::protocol;
use crate::single::ModelRequest;
use crate::spec::{Metric, ModelKind, Params};
use crate::tasks::{load_dataset, Task};
use crate::training::TrainingProtocol;
use crate::{LabError, ResultExt};

/// What a robustness curve varies, on which models and data.
#[derive(Debug, Clone, PartialEq)]
pub struct RobustnessRequest {
    /// The models, one curve each.
    pub models: Vec<ModelKind>,
    /// A data set in the data directory, or a generated set.
    pub dataset: String,
    /// Start from the paper's selection for the data set (Tables V-VIII) instead of the models' defaults.
    pub preset: bool,
    /// Hyper-parameters set over the preset or defaults, for every point.
    pub set: Params,
    /// The hyper-parameter varied (`w_noise`, `adc_bits`, ...); it overrides `set` and the preset.
    pub param: String,
    /// Its values, in the order of the curve.
    pub values: Vec<f64>,
    /// Fresh models per model and value.
    pub draws: usize,
    /// Draw `i` uses seed `derive_seed(seed, i)`.
    pub seed: u64,
    /// How trainable models stop early (reservoirs ignore it).
    pub protocol: TrainingProtocol,
}

impl RobustnessRequest {
    /// The request of one point of the curve: `model` with `param = value`.
    pub fn point(&self, model: ModelKind, value: f64) -> ModelRequest {
        let mut set = self.set.clone();
        set.insert(self.param.clone(), value);
        ModelRequest {
            model,
            dataset: self.dataset.clone(),
            preset: self.preset,
            set,
            seed: self.seed,
            protocol: self.protocol,
            normalise: Default::default(),
        }
    }

    /// The seeds of the draws, `derive_seed(seed, i)`.
    pub fn seeds(&self) -> Vec<u64> {
        (0..self.draws as u64)
            .map(|i| derive_seed(self.seed, i))
            .collect()
    }
}

/// One fitted and scored model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Model id.
    pub model: String,
    /// The hyper-parameter varied.
    pub param: String,
    /// Its value.
    pub value: f64,
    /// Draw index, from 0.
    pub draw: usize,
    /// The seed the model was built from.
    pub seed: u64,
    /// Test accuracy or RMSE.
    pub score: f64,
}

/// The draws of one model at one value, summarised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Level {
    /// Model id.
    pub model: String,
    /// The hyper-parameter varied.
    pub param: String,
    /// Its value.
    pub value: f64,
    /// Number of draws.
    pub n: usize,
    /// Mean test score.
    pub mean: f64,
    /// Population standard deviation of the test scores.
    pub std: f64,
    /// Lowest test score.
    pub min: f64,
    /// Highest test score.
    pub max: f64,
}

/// A model at a value that has no score: fitting or scoring one of its draws failed (non-finite states, say).
/// The draws scored before the failure are left out with it: the mean of the draws that happened to survive
/// would show the level better than it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedLevel {
    /// Model id.
    pub model: String,
    /// The hyper-parameter varied.
    pub param: String,
    /// Its value.
    pub value: f64,
    /// Why, naming the draw and its seed: `trial 1/5 (seed 42): non-finite values in reservoir state ...`.
    pub reason: String,
}

/// A robustness curve per model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Robustness {
    /// Data set name.
    pub dataset: String,
    /// `accuracy` or `rmse` on a series data set; `nrmse`, `mc` or `vpt` on a sequence task.
    pub metric: Metric,
    /// The hyper-parameter varied.
    pub param: String,
    /// The model ids, in the order asked for.
    pub models: Vec<String>,
    /// The values, in the order asked for.
    pub values: Vec<f64>,
    /// Every draw of the levels scored, by model, then value, then draw.
    pub points: Vec<Point>,
    /// One line per model and value scored, in the same order.
    pub levels: Vec<Level>,
    /// The models and values that failed, in the same order; they are in neither `points` nor `levels`.
    pub failed: Vec<FailedLevel>,
    /// Seconds in all, loading included.
    pub wall_s: f64,
}

/// Runs the curves of `req` on data from `data_dir`. Every configuration is checked before anything is fitted,
/// so a value a model refuses is an error at once; a (model, value) that fails while it is fitted or scored is
/// a [`FailedLevel`] of the result, and the run goes on. A cancellation is an error. `on_point` hears each scored
/// draw (also those of a level that fails at a later draw), `progress` each draw's start within its
/// (model, value).
pub fn run_robustness(
    req: &RobustnessRequest,
    data_dir: &Path,
    progress: &dyn Fn(&Point, JobProgress),
    on_point: &mut dyn FnMut(&Point),
    cancel: &CancelToken,
) -> Result<Robustness, LabError> {
    if req.models.is_empty() {
        return Err(LabError::InvalidParams("no model given".into()));
    }
    if req.values.is_empty() {
        return Err(LabError::InvalidParams(format!(
            "no value given for {}",
            req.param
        )));
    }
    crate::memory::check_repeats("--draws", req.draws)?;
    // A value given twice would be computed twice and drawn as two points at one place.
    if let Some((first, again)) = crate::grid::first_repeat(&req.values) {
        return Err(LabError::InvalidParams(format!(
            "{} = {} is given twice (values {} and {})",
            req.param,
            req.values[again],
            first + 1,
            again + 1
        )));
    }
    let start = Instant::now();
    let mut configs = Vec::with_capacity(req.models.len() * req.values.len());
    for &model in &req.models {
        for &value in &req.values {
            let config = req
                .point(model, value)
                .configure()
                .context_with(|| format!("{model} with {} = {value}", req.param))?;
            configs.push((model, value, config));
        }
    }
    let mut curves = Curves::new(req);
    if let Some(task) = crate::sequence::SequenceTask::from_name(&req.dataset) {
        // Each (model, value) is `run_sequence`'s `draws` fresh reservoirs (draw `i` from
        // `derive_seed(seed, i)`, as on a series data set), scored on the test segment.
        for (model, value, _) in configs {
            let result =
                crate::sequence::run_sequence(&req.point(model, value), task, req.draws, cancel)
                    .map(|r| r.per_trial);
            if let Ok(scores) = &result {
                for (i, &s) in scores.iter().enumerate() {
                    on_point(&curves.point(model, value, i, s));
                }
            }
            curves.end(model, value, result, cancel)?;
        }
        return Ok(curves.finish(task.name(), task.metric(), start));
    }
    let ds = load_dataset(data_dir, &req.dataset)?;
    let task = Task::from_dataset(&ds)?;
    let data = TrialData {
        train: &task.train,
        val: None,
        eval: task.test()?,
        protocol: req.protocol,
    };
    for (model, value, config) in configs {
        let result = run_trials(
            config.as_ref(),
            &data,
            &curves.seeds,
            &|p| {
                let draw = match p.step {
                    crate::job::JobStep::Draw { index, .. } => index - 1,
                    crate::job::JobStep::Epoch { trial, .. } => trial - 1,
                };
                progress(&curves.point(model, value, draw, f64::NAN), p)
            },
            &mut |i, t| on_point(&curves.point(model, value, i, t.score)),
            cancel,
        )
        .map(|scores| scores.iter().map(|t| t.score).collect());
        curves.end(model, value, result, cancel)?;
    }
    Ok(curves.finish(&task.name, task.metric, start))
}

/// The points, levels and failures of the curves, recorded as each (model, value) ends.
struct Curves<'a> {
    req: &'a RobustnessRequest,
    seeds: Vec<u64>,
    points: Vec<Point>,
    levels: Vec<Level>,
    failed: Vec<FailedLevel>,
}

impl<'a> Curves<'a> {
    fn new(req: &'a RobustnessRequest) -> Self {
        Curves {
            req,
            seeds: req.seeds(),
            points: Vec::new(),
            levels: Vec::new(),
            failed: Vec::new(),
        }
    }

    /// Draw `draw` of `model` at `value`, scored `score`.
    fn point(&self, model: ModelKind, value: f64, draw: usize, score: f64) -> Point {
        Point {
            model: model.id().to_string(),
            param: self.req.param.clone(),
            value,
            draw,
            seed: self.seeds[draw],
            score,
        }
    }

    /// Records the end of `model` at `value`: its draws' scores as its points and level, or why it failed. A
    /// cancellation is the run's error, not a failed level.
    fn end(
        &mut self,
        model: ModelKind,
        value: f64,
        result: Result<Vec<f64>, LabError>,
        cancel: &CancelToken,
    ) -> Result<(), LabError> {
        let req = self.req;
        let scores = match result {
            Ok(scores) => scores,
            Err(e) if e.is_cancelled() || cancel.is_cancelled() => {
                return Err(e).context_with(|| {
                    format!("{model} on {} with {} = {value}", req.dataset, req.param)
                })
            }
            Err(e) => {
                self.failed.push(FailedLevel {
                    model: model.id().to_string(),
                    param: req.param.clone(),
                    value,
                    reason: e.to_string(),
                });
                return Ok(());
            }
        };
        let points: Vec<Point> = (0..scores.len())
            .map(|i| self.point(model, value, i, scores[i]))
            .collect();
        self.points.extend(points);
        self.levels.push(Level {
            model: model.id().to_string(),
            param: req.param.clone(),
            value,
            n: scores.len(),
            mean: protocol::mean(&scores),
            std: protocol::pop_std(&scores),
            min: scores.iter().copied().fold(f64::INFINITY, f64::min),
            max: scores.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        });
        Ok(())
    }

    fn finish(self, dataset: &str, metric: Metric, start: Instant) -> Robustness {
        Robustness {
            dataset: dataset.to_string(),
            metric,
            param: self.req.param.clone(),
            models: self.req.models.iter().map(|m| m.id().to_string()).collect(),
            values: self.req.values.clone(),
            points: self.points,
            levels: self.levels,
            failed: self.failed,
            wall_s: start.elapsed().as_secs_f64(),
        }
    }
}

/// The columns of `robustness.csv` ([`Robustness::points_csv`]). Files written before levels could fail lack
/// `failed`.
pub const POINT_COLUMNS: [&str; 9] = [
    "dataset", "metric", "model", "param", "value", "draw", "seed", "score", "failed",
];

/// The columns of `robustness_summary.csv` ([`Robustness::levels_csv`]). Files written before levels could fail
/// lack `failed`.
pub const LEVEL_COLUMNS: [&str; 11] = [
    "dataset", "metric", "model", "param", "value", "n", "mean", "std", "min", "max", "failed",
];

impl Robustness {
    /// The curve's (model, value) pairs in order, each with its level or its failure.
    fn curve(&self) -> impl Iterator<Item = (&str, f64, Result<&Level, &FailedLevel>)> + '_ {
        self.models.iter().flat_map(move |model| {
            self.values.iter().filter_map(move |&value| {
                let at = |m: &str, v: f64| m == model && v == value;
                let result = match self.levels.iter().find(|l| at(&l.model, l.value)) {
                    Some(l) => Ok(l),
                    None => Err(self.failed.iter().find(|f| at(&f.model, f.value))?),
                };
                Some((model.as_str(), value, result))
            })
        })
    }

    /// The first five fields of a row of either file: `dataset,metric,model,param,value`.
    fn row_head(&self, model: &str, value: f64) -> [String; 5] {
        [
            self.dataset.clone(),
            self.metric.name().to_string(),
            model.to_string(),
            self.param.clone(),
            value.to_string(),
        ]
    }

    /// Every draw as CSV: `dataset,metric,model,param,value,draw,seed,score,failed`, one row per draw of a level
    /// scored (`failed` empty), and one row per level that failed, with only its reason in `failed`.
    pub fn points_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(POINT_COLUMNS).expect("CSV in memory");
        for (model, value, result) in self.curve() {
            match result {
                Ok(_) => {
                    for p in self
                        .points
                        .iter()
                        .filter(|p| p.model == model && p.value == value)
                    {
                        let tail = [p.draw.to_string(), p.seed.to_string(), p.score.to_string()];
                        w.write_record(
                            self.row_head(model, value)
                                .into_iter()
                                .chain(tail)
                                .chain([String::new()]),
                        )
                        .expect("CSV in memory");
                    }
                }
                Err(f) => {
                    let tail = [
                        String::new(),
                        String::new(),
                        String::new(),
                        f.reason.clone(),
                    ];
                    w.write_record(self.row_head(model, value).into_iter().chain(tail))
                        .expect("CSV in memory");
                }
            }
        }
        String::from_utf8(w.into_inner().expect("CSV in memory")).expect("CSV of UTF-8 fields")
    }

    /// One row per model and value as CSV: `dataset,metric,model,param,value,n,mean,std,min,max,failed`; a level
    /// that failed has `n` 0, no statistics and its reason in `failed`.
    pub fn levels_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(LEVEL_COLUMNS).expect("CSV in memory");
        for (model, value, result) in self.curve() {
            let tail = match result {
                Ok(l) => [
                    l.n.to_string(),
                    l.mean.to_string(),
                    l.std.to_string(),
                    l.min.to_string(),
                    l.max.to_string(),
                    String::new(),
                ],
                Err(f) => [
                    "0".to_string(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    f.reason.clone(),
                ],
            };
            w.write_record(self.row_head(model, value).into_iter().chain(tail))
                .expect("CSV in memory");
        }
        String::from_utf8(w.into_inner().expect("CSV in memory")).expect("CSV of UTF-8 fields")
    }

    /// Writes [`Robustness::points_csv`] to `dir/robustness.csv` and [`Robustness::levels_csv`] to
    /// `dir/robustness_summary.csv`, creating `dir`; returns both paths.
    pub fn write_csv(&self, dir: &Path) -> Result<[std::path::PathBuf; 2], LabError> {
        std::fs::create_dir_all(dir).map_err(|e| LabError::io(dir, e))?;
        let files = [
            (dir.join("robustness.csv"), self.points_csv()),
            (dir.join("robustness_summary.csv"), self.levels_csv()),
        ];
        for (path, text) in &files {
            std::fs::File::create(path)
                .and_then(|mut f| f.write_all(text.as_bytes()))
                .map_err(|e| LabError::io(path, e))?;
        }
        Ok(files.map(|(p, _)| p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::single::run_trials_on_test;

    fn req(models: &[ModelKind], param: &str, values: &[f64]) -> RobustnessRequest {
        RobustnessRequest {
            models: models.to_vec(),
            dataset: "synthetic-control".into(),
            preset: false,
            set: [("n_units".to_string(), 30.0)].into_iter().collect(),
            param: param.into(),
            values: values.to_vec(),
            draws: 2,
            seed: 9,
            protocol: TrainingProtocol::Reference,
        }
    }

    fn run(r: &RobustnessRequest) -> Result<Robustness, LabError> {
        run_robustness(
            r,
            Path::new("/nonexistent"),
            &|_, _| {},
            &mut |_| {},
            &CancelToken::new(),
        )
    }

    #[test]
    fn a_value_given_twice_is_refused_before_anything_runs() {
        let e = run(&req(&[ModelKind::MfEsn], "w_noise", &[0.0, 0.1, 0.0]))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "w_noise = 0 is given twice (values 1 and 3)");
    }

    #[test]
    fn each_point_is_the_score_of_mf_run_with_the_value_set() {
        let r = req(&[ModelKind::MfEsn, ModelKind::Esn], "w_noise", &[0.0, 0.2]);
        let mut heard = Vec::new();
        let out = run_robustness(
            &r,
            Path::new("/nonexistent"),
            &|_, _| {},
            &mut |p| heard.push(p.clone()),
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(out.points.len(), 8);
        assert_eq!(heard, out.points);
        assert_eq!(out.levels.len(), 4);
        assert_eq!(out.metric, Metric::Accuracy);
        for (k, level) in out.levels.iter().enumerate() {
            let model: ModelKind = level.model.parse().unwrap();
            let run = run_trials_on_test(
                &r.point(model, level.value),
                2,
                Path::new("/nonexistent"),
                &|_| {},
                &mut |_, _, _| {},
                &CancelToken::new(),
            )
            .unwrap();
            let draws: Vec<f64> = out.points[2 * k..2 * k + 2]
                .iter()
                .map(|p| p.score)
                .collect();
            assert_eq!(draws, run.per_trial);
            assert_eq!((level.mean, level.std), (run.mean, run.std));
            assert_eq!(level.n, 2);
            assert!(level.min <= level.mean && level.mean <= level.max);
        }
        // Noise-free and noisy programming of the same reservoirs: the draws' seeds repeat across values.
        assert_eq!(out.points[0].seed, out.points[2].seed);
        assert_eq!(out.points[0].seed, derive_seed(9, 0));
        assert_eq!(run(&r).unwrap().points, out.points);
    }

    #[test]
    fn the_csv_files_hold_every_draw_and_every_level() {
        let out = run(&req(&[ModelKind::Esn], "adc_bits", &[2.0, 0.0])).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let [points, levels] = out.write_csv(dir.path()).unwrap();
        let text = std::fs::read_to_string(points).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "dataset,metric,model,param,value,draw,seed,score,failed"
        );
        assert_eq!(lines.len(), 5);
        assert!(
            lines[1].starts_with("synthetic-control,accuracy,esn,adc_bits,2,0,"),
            "{}",
            lines[1]
        );
        let text = std::fs::read_to_string(levels).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "dataset,metric,model,param,value,n,mean,std,min,max,failed"
        );
        assert_eq!(lines.len(), 3);
        assert!(lines[2].starts_with("synthetic-control,accuracy,esn,adc_bits,0,2,"));
    }

    #[test]
    fn a_level_that_fails_is_recorded_with_its_reason_and_the_other_levels_are_kept() {
        // A device-to-device spread of 500% is accepted by configure, but the neurons' states overflow.
        let r = req(&[ModelKind::MfEsn], "d2d_sigma", &[0.0, 5.0, 0.05]);
        let out = run(&r).unwrap();
        let values: Vec<f64> = out.levels.iter().map(|l| l.value).collect();
        assert_eq!(values, [0.0, 0.05]);
        assert_eq!(out.points.len(), 4);
        assert!(out.points.iter().all(|p| p.value != 5.0));
        let [f] = &out.failed[..] else {
            panic!("{:?}", out.failed)
        };
        assert_eq!(
            (f.model.as_str(), f.param.as_str(), f.value),
            ("mf-esn", "d2d_sigma", 5.0)
        );
        let seed = derive_seed(9, 0);
        assert!(
            f.reason
                .starts_with(&format!("trial 1/2 (seed {seed}): non-finite values")),
            "{}",
            f.reason
        );
        // Both files carry the failed level in its place, with an empty score and the reason.
        let summary = out.levels_csv();
        let lines: Vec<&str> = summary.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[1].starts_with("synthetic-control,accuracy,mf-esn,d2d_sigma,0,2,"));
        assert!(lines[1].ends_with(','), "{}", lines[1]);
        assert_eq!(
            lines[2],
            format!(
                "synthetic-control,accuracy,mf-esn,d2d_sigma,5,0,,,,,{}",
                f.reason
            )
        );
        assert!(lines[3].starts_with("synthetic-control,accuracy,mf-esn,d2d_sigma,0.05,2,"));
        let draws = out.points_csv();
        let lines: Vec<&str> = draws.lines().collect();
        assert_eq!(lines.len(), 6);
        assert_eq!(
            lines[3],
            format!(
                "synthetic-control,accuracy,mf-esn,d2d_sigma,5,,,,{}",
                f.reason
            )
        );
        assert!(lines[4].starts_with("synthetic-control,accuracy,mf-esn,d2d_sigma,0.05,0,"));
    }

    #[test]
    fn the_draws_scored_before_a_level_fails_are_heard_but_left_out() {
        // With seed 0, the third draw at a spread of 20% overflows after two draws scored.
        let mut r = req(&[ModelKind::MfEsn], "d2d_sigma", &[0.2]);
        (r.seed, r.draws) = (0, 4);
        let mut heard = Vec::new();
        let out = run_robustness(
            &r,
            Path::new("/nonexistent"),
            &|_, _| {},
            &mut |p| heard.push(p.draw),
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(heard, [0, 1]);
        assert!(out.points.is_empty() && out.levels.is_empty());
        assert!(
            out.failed[0].reason.starts_with("trial 3/4 (seed "),
            "{:?}",
            out.failed
        );
    }

    #[test]
    fn a_cancelled_run_is_an_error_not_a_failed_level() {
        let cancel = CancelToken::new();
        cancel.cancel();
        let e = run_robustness(
            &req(&[ModelKind::MfEsn], "w_noise", &[0.0, 0.1]),
            Path::new("/nonexistent"),
            &|_, _| {},
            &mut |_| {},
            &cancel,
        )
        .unwrap_err();
        assert!(e.is_cancelled(), "{e}");
    }

    #[test]
    fn the_neurons_device_noise_is_an_axis_of_the_mf_esn_and_not_of_the_esn() {
        let r = req(&[ModelKind::MfEsn], "c2c_sigma", &[0.0, 0.3]);
        let out = run(&r).unwrap();
        assert_eq!(out.levels.len(), 2);
        // Each point is `mf run` with the value set, the same draws at every value.
        let run_one = |v: f64| {
            run_trials_on_test(
                &r.point(ModelKind::MfEsn, v),
                2,
                Path::new("/nonexistent"),
                &|_| {},
                &mut |_, _, _| {},
                &CancelToken::new(),
            )
            .unwrap()
        };
        assert_eq!(out.levels[1].mean, run_one(0.3).mean);
        assert_eq!(out.levels[0].mean, run_one(0.0).mean);
        assert_eq!(out.points[0].seed, out.points[2].seed);
        let e = run(&req(&[ModelKind::Esn], "d2d_sigma", &[0.1]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("d2d_sigma") && e.contains("tanh cell has no device"),
            "{e}"
        );
        let e = run(&req(&[ModelKind::MfEsn], "d2d_sigma", &[-0.1]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("MF-ESN with d2d_sigma = -0.1"), "{e}");
    }

    #[test]
    fn a_value_a_model_refuses_is_an_error_before_any_fit() {
        let e = run(&req(&[ModelKind::MfEsn], "w_bits", &[4.0, 2.5]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("MF-ESN with w_bits = 2.5") && e.contains("whole number"),
            "{e}"
        );
        let e = run(&req(&[ModelKind::Esn], "dt", &[0.1]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("has no hyper-parameter `dt`"), "{e}");
        let mut r = req(&[ModelKind::Esn], "w_noise", &[0.1]);
        r.draws = 0;
        assert!(run(&r).is_err());
        r.draws = 1;
        r.values.clear();
        assert!(run(&r).is_err());
    }

    #[test]
    fn a_curve_on_a_sequence_task_is_its_runs_draw_for_draw() {
        let req = RobustnessRequest {
            models: vec![ModelKind::Esn],
            dataset: "memory-capacity".into(),
            preset: false,
            set: [("n_units".to_string(), 10.0)].into_iter().collect(),
            param: "adc_bits".into(),
            values: vec![0.0, 3.0],
            draws: 2,
            seed: 5,
            protocol: TrainingProtocol::Reference,
        };
        let mut heard = 0;
        let out = run_robustness(
            &req,
            Path::new("/nonexistent"),
            &|_, _| {},
            &mut |_| heard += 1,
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!((out.metric, heard, out.levels.len()), (Metric::Mc, 4, 2));
        for level in &out.levels {
            let run = crate::sequence::run_sequence(
                &req.point(ModelKind::Esn, level.value),
                crate::sequence::SequenceTask::MemoryCapacity,
                2,
                &CancelToken::new(),
            )
            .unwrap();
            assert_eq!(level.mean, run.mean, "{}", level.value);
        }
        // A 3-bit ADC costs memory.
        assert!(out.levels[1].mean < out.levels[0].mean, "{:?}", out.levels);
        assert!(out
            .levels_csv()
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("memory-capacity,mc,esn,adc_bits,0,"));
    }
}
