//! Fitted models behind the seam: what a [`super::Configured`] model becomes once fitted, for every family.
//!
//! A [`FittedModel`] predicts, scores, streams one time step at a time, saves its arrays and describes them for
//! export; [`super::Model::load`] reads one back. `SavedModel`, trials, `mf fit`, `mf predict` and `mf export`
//! all go through these traits, so a new model family implements them once and is fitted, saved, loaded,
//! predicted, streamed and exported everywhere.

use std::fmt;
use std::path::{Path, PathBuf};

use mf_core::integrate::Integrator;
use mf_core::{CellKind, Physics, Recurrent, Sequences, Targets};
use mf_esn::{FittedDeep, FittedReservoir, Readout};
use mf_rnn::{Head, TrainedRnn};
use ndarray::{Array1, Array2, ArrayD, Axis};

use crate::saved::Predictions;
use crate::spec::Metric;
use crate::tasks::Part;
use crate::LabError;

/// How a trained model's training went: epochs trained, the best epoch, and why its scores mean nothing when
/// training diverged.
#[derive(Debug, Clone, PartialEq)]
pub struct Training {
    /// Epochs trained and the epoch of the lowest validation loss.
    pub epochs: (usize, usize),
    /// Why the model's scores mean nothing, when its training diverged.
    pub diverged: Option<String>,
}

/// One array of an exported model.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportArray {
    /// Weights and states as the model holds them.
    F32(ArrayD<f32>),
    /// Ridge readouts, device constants, Jacobians, regression targets.
    F64(ArrayD<f64>),
    /// Class indices and lengths.
    I64(ArrayD<i64>),
}

/// How `out = h @ readout_w + readout_b` becomes the prediction, as `mf export`'s `config.json` states it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReadoutInfo {
    /// `ridge-classifier`, `ridge`, `binary-logit`, `softmax-logits` or `linear`.
    pub kind: &'static str,
    /// The rule, in words a hardware mapping script can follow.
    pub rule: &'static str,
}

/// The model-specific part of an export: the weights, the readout and its rule, the states and device constants
/// where the model has them, the Jacobian where it is defined, and notes on what was left out and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelArrays {
    /// The weights and the readout: file stems (`w_in`) and arrays, in the order they are written.
    pub weights: Vec<(String, ExportArray)>,
    /// The last states of the training and test series and each neuron's device constants, where the model has
    /// them, in the order they are written.
    pub states: Vec<(String, ExportArray)>,
    /// The Jacobian of the cell at the last step of the first training series, where it is one cell's.
    pub jacobian: Option<Array2<f64>>,
    /// The readout's rule.
    pub readout: ReadoutInfo,
    /// What was left out, and why (printed by `mf export`).
    pub notes: Vec<String>,
}

/// Why a model directory's weights could not be read: the file (when one is to blame) and the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    /// The file at fault, as a full path; None when the directory as a whole is.
    pub path: Option<PathBuf>,
    /// What is wrong with it.
    pub reason: String,
}

/// A fitted model of any family.
pub trait FittedModel: fmt::Debug + Send + Sync {
    /// Every hyper-parameter, as the model crate serialises its configuration.
    fn config_json(&self) -> serde_json::Value;
    /// Values per time step the model takes.
    fn n_inputs(&self) -> usize;
    /// The device constants of its MF cell; None for leaky-ESN and tanh cells.
    fn physics(&self) -> Option<Physics>;
    /// Trainable models: how training went; None for reservoirs.
    fn training(&self) -> Option<Training>;
    /// Why the model's scores mean nothing, when they do: a diverged training, or a reservoir whose states left
    /// the cell's physical range.
    fn divergence(&self) -> Option<String> {
        self.training().and_then(|t| t.diverged)
    }
    /// Predictions for every series of `seqs` (already scaled), with the scores of each of `n_classes` classes.
    fn predict(&self, seqs: &Sequences, n_classes: usize) -> Result<Predictions, LabError>;
    /// The features its ridge readout reads for every series of `seqs` (already scaled), `(n_series,
    /// n_features)`: the reservoir's last states as the readout sees them (through the ADC when there is one).
    /// None for a model whose readout is trained with the rest of it (MF-RNN, RNN).
    fn features(&self, _seqs: &Sequences) -> Result<Option<Array2<f64>>, LabError> {
        Ok(None)
    }
    /// Accuracy or RMSE on `seqs`, as the model crate scores itself.
    fn score(&self, seqs: &Sequences, targets: &Targets) -> Result<f64, LabError>;
    /// Writes the model crate's files into `dir`.
    fn save(&self, dir: &Path) -> Result<(), LabError>;
    /// A stream at the zero state.
    fn stream(&self) -> Result<Box<dyn FittedStream + '_>, LabError>;
    /// Whether the readout predicts `metric` with `n_classes` classes or `n_outputs` outputs.
    fn fits_task(&self, metric: Metric, n_classes: usize, n_outputs: usize) -> bool;
    /// The model's own arrays for `mf export`, with states (where it has them) of `train` and `test`.
    fn arrays(&self, train: &Part, test: &Part) -> Result<ModelArrays, LabError>;
}

/// A fitted model advanced one time step at a time.
pub trait FittedStream {
    /// Advances by one sample (already scaled); on error the stream is where it was.
    fn push(&mut self, x: &[f32]) -> Result<(), String>;
    /// Samples pushed since the start or the last reset.
    fn steps(&self) -> usize;
    /// What the model predicts for the samples pushed so far, with the scores of `n_classes` classes.
    fn predict(&self, n_classes: usize) -> Predictions;
    /// Back to the zero state, for the next series.
    fn reset(&mut self);
}

fn f32d<D: ndarray::Dimension>(a: ndarray::Array<f32, D>) -> ExportArray {
    ExportArray::F32(a.into_dyn())
}

fn f64d<D: ndarray::Dimension>(a: ndarray::Array<f64, D>) -> ExportArray {
    ExportArray::F64(a.into_dyn())
}

/// A ridge readout's predictions on features `x` `(n_series, n_features)`, with the scores of every one of
/// `n_classes` classes: the decision value of a class's `+1/-1` code, minus infinity for a class absent from
/// training (the readout never predicts it).
fn ridge_predictions(readout: &Readout, x: &Array2<f64>, n_classes: usize) -> Predictions {
    match (readout, readout.predict(x)) {
        (Readout::Classifier(c), mf_esn::Prediction::Classes(classes)) => {
            let d = c.decision(x);
            let mut scores = Array2::from_elem((x.nrows(), n_classes), f64::NEG_INFINITY);
            if c.classes.len() == 2 {
                // One column, positive for the second class: the two-column `+1/-1` fit would give the column
                // and its negation.
                scores
                    .column_mut(c.classes[0])
                    .assign(&d.column(0).mapv(|v| -v));
                scores.column_mut(c.classes[1]).assign(&d.column(0));
            } else {
                for (k, &class) in c.classes.iter().enumerate() {
                    scores.column_mut(class).assign(&d.column(k));
                }
            }
            Predictions::Classes { classes, scores }
        }
        (_, mf_esn::Prediction::Values(v)) => Predictions::Values(v),
        (_, mf_esn::Prediction::Classes(_)) => unreachable!("only a classifier predicts classes"),
    }
}

/// Whether a ridge readout predicts the task.
fn ridge_fits(readout: &Readout, metric: Metric, n_classes: usize, n_outputs: usize) -> bool {
    match (metric, readout) {
        (Metric::Accuracy, Readout::Classifier(c)) => c.classes.iter().all(|&c| c < n_classes),
        (Metric::Rmse, Readout::Regressor(r)) => r.intercept.len() == n_outputs,
        _ => false,
    }
}

/// A ridge readout's arrays and rule.
fn ridge_arrays(readout: &Readout, out: &mut Vec<(String, ExportArray)>) -> ReadoutInfo {
    match readout {
        Readout::Classifier(c) => {
            out.push(("readout_w".into(), f64d(c.ridge.coef.clone())));
            out.push(("readout_b".into(), f64d(c.ridge.intercept.clone())));
            let seen: Array1<i64> = c.classes.iter().map(|&c| c as i64).collect();
            out.push(("readout_classes".into(), ExportArray::I64(seen.into_dyn())));
            ReadoutInfo {
                kind: "ridge-classifier",
                rule:
                    "s = readout_classes; one seen class: s[0]; two: s[1] if out[0] > 0 else s[0]; \
                       more: s[argmax(out)], the first maximum",
            }
        }
        Readout::Regressor(r) => {
            out.push(("readout_w".into(), f64d(r.coef.clone())));
            out.push(("readout_b".into(), f64d(r.intercept.clone())));
            ReadoutInfo {
                kind: "ridge",
                rule: "the values out",
            }
        }
    }
}

/// The Jacobian of the MF cell, advanced by `integrator`, at the last step of series 0 of `part`, in f64: the
/// state before the last step is computed by stepping the f64 cell from zero.
pub fn last_step_jacobian(
    cell: &mf_core::MfCell,
    integrator: &Integrator,
    weights: &mf_core::Weights<f64>,
    part: &Part,
) -> Result<Array2<f64>, LabError> {
    let len = part.seqs.lengths[0];
    let x = part.seqs.series(0).mapv(f64::from);
    let mut h = Array1::<f64>::zeros(weights.n_units());
    for t in 0..len - 1 {
        h = mf_core::stability::step_with(cell, integrator, weights, h.view(), x.row(t))?;
    }
    Ok(mf_core::stability::jacobian_with(
        cell,
        integrator,
        weights,
        h.view(),
        x.row(len - 1),
    )?)
}

/// Why a reservoir of `cell` whose readout reads `states` (the training series' last states) is no model: an MF
/// state is a memristor's normalised conductance (paper eq. 9) and belongs in `[0, 1]`; a state outside it (up to
/// f32 rounding), or not finite, means the cell ran unstable (Lemma V.1 does not hold at this `dt`, `gamma` or
/// device spread) and the readout fits numbers that grew without bound.
fn states_out_of_range(cell: &CellKind, states: &Array2<f32>) -> Option<String> {
    let CellKind::Mf(_) = cell else {
        return None;
    };
    const SLACK: f32 = 1e-5;
    let mut worst: Option<f32> = None;
    for &v in states {
        if !v.is_finite() {
            worst = Some(v);
            break;
        }
        let outside = !(-SLACK..=1.0 + SLACK).contains(&v);
        if outside && worst.is_none_or(|w| v.abs() > w.abs()) {
            worst = Some(v);
        }
    }
    let worst = worst?;
    Some(format!(
        "the reservoir diverged: an MF state reached {worst:e}, outside [0, 1] where a normalised conductance \
         belongs (the cell is unstable at this dt, gamma or device spread; Lemma V.1); try a smaller dt"
    ))
}

const DEVICE_NOTE: &str =
    "jacobian.npy left out: with d2d_sigma or c2c_sigma the neurons are not the nominal \
                           cell whose Jacobian it would hold";

/// The Jacobian of a single-layer model and the note on why it is left out, when it is.
fn jacobian(
    cell: &CellKind,
    integrator: &Integrator,
    nominal_neurons: bool,
    weights: &mf_core::Weights<f32>,
    train: &Part,
) -> Result<(Option<Array2<f64>>, Vec<String>), LabError> {
    Ok(match (cell, nominal_neurons) {
        (CellKind::Mf(_), false) => (None, vec![DEVICE_NOTE.into()]),
        (CellKind::Mf(cell), true) => (
            Some(last_step_jacobian(
                cell,
                integrator,
                &weights.to_f64(),
                train,
            )?),
            Vec::new(),
        ),
        _ => (None, Vec::new()),
    })
}

/// Each neuron's own device constants as arrays `{prefix}kp0`, ...
fn unit_arrays(
    units: &mf_core::variation::UnitPhysics,
    prefix: &str,
    out: &mut Vec<(String, ExportArray)>,
) {
    for (name, v) in [
        ("kp0", &units.kp0),
        ("kd0", &units.kd0),
        ("eta_p", &units.eta_p),
        ("eta_d", &units.eta_d),
    ] {
        out.push((format!("{prefix}{name}"), f64d(Array1::from(v.clone()))));
    }
}

fn weight_arrays(w: &mf_core::Weights<f32>, prefix: &str, out: &mut Vec<(String, ExportArray)>) {
    out.push((format!("{prefix}w_in"), f32d(w.w_in.clone())));
    out.push((format!("{prefix}w_rec"), f32d(w.w_rec.clone())));
    out.push((format!("{prefix}bias"), f32d(w.bias.clone())));
}

/// MF-ESN and ESN: one reservoir and its ridge readout.
#[derive(Debug, Clone)]
pub(crate) struct ReservoirFitted(pub FittedReservoir);

impl FittedModel for ReservoirFitted {
    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(self.0.config()).expect("a reservoir configuration serialises")
    }
    fn n_inputs(&self) -> usize {
        self.0.n_inputs()
    }
    fn physics(&self) -> Option<Physics> {
        match &self.0.config().cell {
            CellKind::Mf(c) => Some(c.physics),
            _ => None,
        }
    }
    fn training(&self) -> Option<Training> {
        None
    }
    fn divergence(&self) -> Option<String> {
        states_out_of_range(&self.0.config().cell, self.0.train_states())
    }
    fn predict(&self, seqs: &Sequences, n_classes: usize) -> Result<Predictions, LabError> {
        let x = self.0.states(seqs)?.mapv(f64::from);
        Ok(ridge_predictions(self.0.readout(), &x, n_classes))
    }
    fn features(&self, seqs: &Sequences) -> Result<Option<Array2<f64>>, LabError> {
        Ok(Some(self.0.states(seqs)?.mapv(f64::from)))
    }
    fn score(&self, seqs: &Sequences, targets: &Targets) -> Result<f64, LabError> {
        Ok(self.0.score(seqs, targets)?)
    }
    fn save(&self, dir: &Path) -> Result<(), LabError> {
        Ok(self.0.save(dir)?)
    }
    fn stream(&self) -> Result<Box<dyn FittedStream + '_>, LabError> {
        Ok(Box::new(Streamed {
            stream: self.0.stream(),
            model: &self.0,
            predict: |s, m, n_classes| {
                let mut h = s.state().to_owned().insert_axis(Axis(0));
                let c = m.config();
                c.hardware.read_states(&c.cell, h.view_mut());
                ridge_predictions(m.readout(), &h.mapv(f64::from), n_classes)
            },
        }))
    }
    fn fits_task(&self, metric: Metric, n_classes: usize, n_outputs: usize) -> bool {
        ridge_fits(self.0.readout(), metric, n_classes, n_outputs)
    }
    fn arrays(&self, train: &Part, test: &Part) -> Result<ModelArrays, LabError> {
        let f = &self.0;
        let mut weights = Vec::new();
        weight_arrays(f.weights(), "", &mut weights);
        let readout = ridge_arrays(f.readout(), &mut weights);
        let mut states = vec![
            ("train_states".into(), f32d(f.train_states().clone())),
            ("test_states".into(), f32d(f.states(&test.seqs)?)),
        ];
        if let Some(u) = f.unit_physics() {
            unit_arrays(u, "unit_", &mut states);
        }
        let c = f.config();
        let (jacobian, notes) = jacobian(
            &c.cell,
            &c.integrator,
            c.hardware.neurons_ideal(),
            f.weights(),
            train,
        )?;
        Ok(ModelArrays {
            weights,
            states,
            jacobian,
            readout,
            notes,
        })
    }
}

/// Deep MF-ESN: stacked reservoirs read out together.
#[derive(Debug, Clone)]
pub(crate) struct DeepFitted(pub FittedDeep);

impl FittedModel for DeepFitted {
    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(self.0.config()).expect("a deep configuration serialises")
    }
    fn n_inputs(&self) -> usize {
        self.0.weights()[0].n_inputs()
    }
    fn physics(&self) -> Option<Physics> {
        match &self.0.config().layer.cell {
            CellKind::Mf(c) => Some(c.physics),
            _ => None,
        }
    }
    fn training(&self) -> Option<Training> {
        None
    }
    fn divergence(&self) -> Option<String> {
        states_out_of_range(&self.0.config().layer.cell, self.0.train_states())
    }
    fn predict(&self, seqs: &Sequences, n_classes: usize) -> Result<Predictions, LabError> {
        let x = self.0.states(seqs)?.mapv(f64::from);
        Ok(ridge_predictions(self.0.readout(), &x, n_classes))
    }
    fn features(&self, seqs: &Sequences) -> Result<Option<Array2<f64>>, LabError> {
        Ok(Some(self.0.states(seqs)?.mapv(f64::from)))
    }
    fn score(&self, seqs: &Sequences, targets: &Targets) -> Result<f64, LabError> {
        Ok(self.0.score(seqs, targets)?)
    }
    fn save(&self, dir: &Path) -> Result<(), LabError> {
        Ok(self.0.save(dir)?)
    }
    fn stream(&self) -> Result<Box<dyn FittedStream + '_>, LabError> {
        Ok(Box::new(Streamed {
            stream: self.0.stream(),
            model: &self.0,
            predict: |s, m, n_classes| {
                let x = s.state().mapv(f64::from).insert_axis(Axis(0));
                ridge_predictions(m.readout(), &x, n_classes)
            },
        }))
    }
    fn fits_task(&self, metric: Metric, n_classes: usize, n_outputs: usize) -> bool {
        ridge_fits(self.0.readout(), metric, n_classes, n_outputs)
    }
    /// Layer 1's weights as `w_in`, `w_rec`, `bias` (the names of a single reservoir), layer `l > 1`'s as
    /// `layer{l}_w_in`, ...; the states are every layer's side by side; no Jacobian (the stack's is not one
    /// cell's).
    fn arrays(&self, _train: &Part, test: &Part) -> Result<ModelArrays, LabError> {
        let f = &self.0;
        let mut weights = Vec::new();
        for (l, w) in f.weights().iter().enumerate() {
            let prefix = if l == 0 {
                String::new()
            } else {
                format!("layer{}_", l + 1)
            };
            weight_arrays(w, &prefix, &mut weights);
        }
        let readout = ridge_arrays(f.readout(), &mut weights);
        let mut states = vec![
            ("train_states".into(), f32d(f.train_states().clone())),
            ("test_states".into(), f32d(f.states(&test.seqs)?)),
        ];
        for (l, u) in f.unit_physics().iter().enumerate() {
            if let Some(u) = u {
                unit_arrays(u, &format!("layer{}_unit_", l + 1), &mut states);
            }
        }
        Ok(ModelArrays {
            weights,
            states,
            jacobian: None,
            readout,
            notes: vec![
                "jacobian.npy left out: a deep reservoir's state is a stack of layers, not one cell".into(),
            ],
        })
    }
}

/// MF-RNN, RNN and the hybrid MF-RNN: a trained layer and its head.
#[derive(Debug, Clone)]
pub(crate) struct RnnFitted(pub TrainedRnn);

/// A trained model's predictions from its outputs `out` `(n_series, n_outputs)`, with class probabilities.
fn rnn_predictions(model: &TrainedRnn, out: &Array2<f32>) -> Predictions {
    match model.predict_outputs(out) {
        mf_rnn::Prediction::Classes(classes) => {
            let scores = match model.head() {
                Head::Binary => {
                    let mut s = Array2::zeros((out.nrows(), 2));
                    for (i, &z) in out.column(0).iter().enumerate() {
                        let p = 1.0 / (1.0 + (-f64::from(z)).exp());
                        s[[i, 0]] = 1.0 - p;
                        s[[i, 1]] = p;
                    }
                    s
                }
                _ => {
                    let mut s = out.mapv(f64::from);
                    for mut row in s.rows_mut() {
                        let max = row.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                        row.mapv_inplace(|v| (v - max).exp());
                        let sum = row.sum();
                        row.mapv_inplace(|v| v / sum);
                    }
                    s
                }
            };
            Predictions::Classes { classes, scores }
        }
        mf_rnn::Prediction::Values(v) => Predictions::Values(v),
    }
}

impl FittedModel for RnnFitted {
    fn config_json(&self) -> serde_json::Value {
        serde_json::to_value(self.0.config()).expect("a training configuration serialises")
    }
    fn n_inputs(&self) -> usize {
        self.0.n_inputs()
    }
    fn physics(&self) -> Option<Physics> {
        match self.0.config().cell {
            CellKind::Mf(c) => Some(c.physics),
            _ => None,
        }
    }
    fn training(&self) -> Option<Training> {
        Some(Training {
            epochs: (self.0.history().len(), self.0.best_epoch()),
            diverged: self
                .0
                .divergence()
                .map(|d| format!("{d}; try a smaller lr")),
        })
    }
    fn predict(&self, seqs: &Sequences, _n_classes: usize) -> Result<Predictions, LabError> {
        Ok(rnn_predictions(&self.0, &self.0.outputs(seqs)?))
    }
    fn score(&self, seqs: &Sequences, targets: &Targets) -> Result<f64, LabError> {
        Ok(self.0.score(seqs, targets)?)
    }
    fn save(&self, dir: &Path) -> Result<(), LabError> {
        Ok(self.0.save(dir)?)
    }
    fn stream(&self) -> Result<Box<dyn FittedStream + '_>, LabError> {
        Ok(Box::new(Streamed {
            stream: self.0.stream()?,
            model: &self.0,
            predict: |s, m, _| rnn_predictions(m, &s.outputs().insert_axis(Axis(0))),
        }))
    }
    fn fits_task(&self, metric: Metric, n_classes: usize, n_outputs: usize) -> bool {
        match self.0.head() {
            Head::Binary => metric == Metric::Accuracy && n_classes == 2,
            Head::Multiclass { n_classes: n } => metric == Metric::Accuracy && n_classes == n,
            Head::Regression { n_outputs: n } => metric == Metric::Rmse && n_outputs == n,
        }
    }
    fn arrays(&self, train: &Part, _test: &Part) -> Result<ModelArrays, LabError> {
        let w = self.0.weights()?;
        let mut weights = Vec::new();
        weight_arrays(&w.layer, "", &mut weights);
        weights.push(("readout_w".into(), f32d(w.readout_weight.clone())));
        weights.push(("readout_b".into(), f32d(w.readout_bias.clone())));
        let readout = match self.0.head() {
            Head::Binary => ReadoutInfo {
                kind: "binary-logit",
                rule:
                    "class 1 if out[0] > 0 else class 0 (probability of class 1: sigmoid(out[0]))",
            },
            Head::Multiclass { .. } => ReadoutInfo {
                kind: "softmax-logits",
                rule: "argmax(out), the first maximum (probabilities: softmax(out))",
            },
            Head::Regression { .. } => ReadoutInfo {
                kind: "linear",
                rule: "the values out",
            },
        };
        let (jacobian, notes) = jacobian(
            &self.0.config().cell,
            &Integrator::default(),
            true,
            &w.layer,
            train,
        )?;
        Ok(ModelArrays {
            weights,
            states: Vec::new(),
            jacobian,
            readout,
            notes,
        })
    }
}

/// A model crate's stream with the readout that turns its state into predictions.
struct Streamed<'a, S, M: ?Sized> {
    stream: S,
    model: &'a M,
    predict: fn(&S, &M, usize) -> Predictions,
}

impl<S, M: ?Sized> FittedStream for Streamed<'_, S, M>
where
    S: Recurrent,
    S::Error: fmt::Display,
{
    fn push(&mut self, x: &[f32]) -> Result<(), String> {
        self.stream.push(x).map_err(|e| e.to_string())
    }
    fn steps(&self) -> usize {
        self.stream.steps()
    }
    fn predict(&self, n_classes: usize) -> Predictions {
        (self.predict)(&self.stream, self.model, n_classes)
    }
    fn reset(&mut self) {
        self.stream.reset()
    }
}

/// The model crates' load errors as a [`LoadError`] naming the file.
pub(crate) fn esn_load_error(e: mf_esn::EsnError) -> LoadError {
    match e {
        mf_esn::EsnError::Io { path, source } => LoadError {
            path: Some(path),
            reason: io_reason(&source),
        },
        mf_esn::EsnError::Saved { path, reason } => LoadError {
            path: Some(path),
            reason,
        },
        e => LoadError {
            path: None,
            reason: e.to_string(),
        },
    }
}

pub(crate) fn rnn_load_error(e: mf_rnn::RnnError, dir: &Path) -> LoadError {
    match e {
        mf_rnn::RnnError::Io { path, source } => LoadError {
            path: Some(path),
            reason: io_reason(&source),
        },
        mf_rnn::RnnError::Json { path, source } => LoadError {
            path: Some(path),
            reason: format!("malformed ({source})"),
        },
        e => LoadError {
            path: Some(dir.join("model.safetensors")),
            reason: format!("cannot be read ({e})"),
        },
    }
}

fn io_reason(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        "missing".into()
    } else {
        format!("cannot be read ({e})")
    }
}
