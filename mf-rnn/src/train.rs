//! Training with back-propagation through time, Adam and early stopping (paper Secs. IV-B and VI), prediction, and
//! saving.

pub mod sequence;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use candle_core::{DType, Device, Tensor, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use mf_core::rng::{derive_seed, rng_from_seed};
use mf_core::{Sequences, Targets};
use ndarray::Array2;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::hardware::{deploy, perturbed, read_states, TrainingNoise};
use crate::model::{final_states, outputs, Batch, Model, Params};
use crate::{RegressionLoss, RnnConfig, RnnError};

/// Series per chunk when predicting: bounds memory without affecting the numbers.
const PREDICT_CHUNK: usize = 512;

/// The output layer and loss, fixed by the targets. The paper gives a dense readout on the last state (Secs. IV-B
/// and VI); its activation and loss for each kind of target follow the authors' reference implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Head {
    /// Two classes: one logit, sigmoid + binary cross-entropy.
    Binary,
    /// `n_classes > 2`: one logit per class, softmax + cross-entropy.
    Multiclass {
        /// Number of classes.
        n_classes: usize,
    },
    /// Linear outputs with MSE (or MAE, see [`RegressionLoss`]).
    Regression {
        /// Number of outputs.
        n_outputs: usize,
    },
}

impl Head {
    fn for_targets(t: &Targets) -> Result<Self, RnnError> {
        match t {
            Targets::Classes { n_classes: 2, .. } => Ok(Head::Binary),
            Targets::Classes { n_classes, .. } if *n_classes > 2 => Ok(Head::Multiclass {
                n_classes: *n_classes,
            }),
            Targets::Classes { n_classes, .. } => Err(RnnError::Shape {
                what: "number of classes".into(),
                expected: "at least 2".into(),
                got: n_classes.to_string(),
            }),
            Targets::Values(v) if v.ncols() > 0 => Ok(Head::Regression {
                n_outputs: v.ncols(),
            }),
            Targets::Values(_) => Err(RnnError::Shape {
                what: "regression outputs".into(),
                expected: "at least 1".into(),
                got: "0".into(),
            }),
        }
    }

    fn n_outputs(&self) -> usize {
        match *self {
            Head::Binary => 1,
            Head::Multiclass { n_classes } => n_classes,
            Head::Regression { n_outputs } => n_outputs,
        }
    }
}

impl std::fmt::Display for Head {
    /// `2 classes`, `6 classes`, `1 regression output`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Head::Binary => f.write_str("2 classes"),
            Head::Multiclass { n_classes } => write!(f, "{n_classes} classes"),
            Head::Regression { n_outputs: 1 } => f.write_str("1 regression output"),
            Head::Regression { n_outputs } => write!(f, "{n_outputs} regression outputs"),
        }
    }
}

/// How far above its reference the training loss of the kept weights must end for training to count as
/// diverged (see [`Divergence`]).
pub const DIVERGENCE_FACTOR: f64 = 2.0;

/// Training that ended far above where it started: the training loss of the weights it returns is more than
/// [`DIVERGENCE_FACTOR`] times the larger of the loss at the start (the first mini-batch, before any update) and
/// the loss of the best constant prediction (the class frequencies, or the mean of the targets).
///
/// Its scores mean nothing: a learning rate far too large typically gives this (the loss explodes to 1e6 and
/// more, yet stays finite, so it is not an error). The reference is the larger of the two so that neither a
/// start already far above the constant predictor (targets far from zero) nor a lucky first batch flags a
/// training run that merely did not get far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Divergence {
    /// The training loss of the returned weights, on the whole training set.
    pub loss: f64,
    /// The loss of the first mini-batch, at the initial weights.
    pub start_loss: f64,
    /// The training loss of the best constant prediction.
    pub constant_loss: f64,
}

impl Divergence {
    /// Returns the divergence when `loss` ends more than [`DIVERGENCE_FACTOR`] times above the larger of
    /// `start_loss` and `constant_loss`.
    pub fn check(loss: f64, start_loss: f64, constant_loss: f64) -> Option<Divergence> {
        (loss > DIVERGENCE_FACTOR * start_loss.max(constant_loss)).then_some(Divergence {
            loss,
            start_loss,
            constant_loss,
        })
    }
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "training diverged: the final training loss {} is more than {DIVERGENCE_FACTOR} times the larger of \
             the starting loss {} and a constant prediction's {}",
            loss_text(self.loss),
            loss_text(self.start_loss),
            loss_text(self.constant_loss)
        )
    }
}

/// A loss as people read it: 4 decimals in the usual range, scientific notation far outside it.
fn loss_text(x: f64) -> String {
    if x != 0.0 && !(1e-3..1e5).contains(&x.abs()) {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

/// A configuration as people read it, for messages: `MF cell (dt 0.01, gamma 1, s 5), 100 units, lr 0.001,
/// batch 64, seed 0`.
fn describe(config: &RnnConfig) -> String {
    let cell = match &config.cell {
        crate::CellKind::Mf(c) => format!("MF cell (dt {}, gamma {}, s {})", c.dt, c.gamma, c.s),
        crate::CellKind::Tanh => "tanh cell".to_string(),
        crate::CellKind::LeakyEsn { alpha } => format!("leaky-ESN cell (alpha {alpha})"),
    };
    let lr = if (1e-4..1e6).contains(&config.lr) {
        config.lr.to_string()
    } else {
        format!("{:e}", config.lr)
    };
    let noise = if config.train_w_noise > 0.0 {
        format!(", train_w_noise {}", config.train_w_noise)
    } else {
        String::new()
    };
    format!(
        "{cell}, {} units, lr {lr}, batch {}{noise}, seed {}",
        config.n_units, config.batch_size, config.seed
    )
}

/// One finished epoch, reported to the progress callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainEvent {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's mini-batches (weighted by batch size); with hardware-aware training,
    /// the loss at each batch's perturbed weights, the one the optimiser follows.
    pub train_loss: f64,
    /// Loss on the validation set after the epoch; NaN when training without one ([`train_with`]).
    #[serde(with = "nan_as_null")]
    pub val_loss: f64,
    /// Validation accuracy (classification) or RMSE (regression) after the epoch; NaN without a validation set.
    #[serde(with = "nan_as_null")]
    pub val_metric: f64,
    /// With hardware-aware training ([`RnnConfig::train_w_noise`]) and no validation set: the loss of the exact
    /// weights on the whole training set after the epoch, which early stopping then watches instead of
    /// `train_loss`. None otherwise, and then left out of the serialised form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact_train_loss: Option<f64>,
    /// Whether this epoch has the lowest loss so far of what early stopping watches (the validation loss, or
    /// without a validation set the training loss, `exact_train_loss` when there is one).
    pub improved: bool,
    /// Time since training started.
    pub elapsed: Duration,
}

/// JSON has no NaN: a NaN is written as `null` and read back as NaN (serde_json would write `null` and then
/// refuse to read it as a number).
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_none()
        } else {
            s.serialize_f64(*v)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// What a trained model predicts for each series.
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    /// A class index per series.
    Classes(Vec<usize>),
    /// Values, `(n_series, n_outputs)`.
    Values(Array2<f64>),
}

/// A trained recurrent model. With a non-ideal [`RnnConfig::hardware`] it predicts ([`TrainedRnn::outputs`],
/// [`TrainedRnn::predict`], [`TrainedRnn::score`], [`TrainedRnn::stream`]) on its weights programmed into
/// devices, once, from the training seed; [`TrainedRnn::trained_weights`] are the weights as trained.
#[derive(Debug, Clone)]
pub struct TrainedRnn {
    config: RnnConfig,
    head: Head,
    model: Model,
    history: Vec<TrainEvent>,
    best_epoch: usize,
    divergence: Option<Divergence>,
    /// The parameters on the devices of [`RnnConfig::hardware`], programmed once when training ends (or the
    /// model is loaded); None while training and when the hardware is ideal, and then predictions use the
    /// trained parameters.
    deployed: Option<Params>,
}

/// What `model.json` holds next to `model.safetensors`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedMeta {
    config: RnnConfig,
    head: Head,
    n_inputs: usize,
    best_epoch: usize,
    history: Vec<TrainEvent>,
    /// Absent in models saved before divergence was checked, and when training did not diverge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    divergence: Option<Divergence>,
}

/// The device models run on: the first CUDA device when the `cuda` feature is on and one is present, else the CPU.
pub fn device() -> Device {
    #[cfg(feature = "cuda")]
    {
        if let Ok(d) = Device::cuda_if_available(0) {
            return d;
        }
    }
    Device::Cpu
}

fn check_data(
    seq: &Sequences,
    targets: &Targets,
    head: Head,
    n_inputs: usize,
    what: &str,
) -> Result<(), RnnError> {
    if seq.n_series() != targets.len() || seq.n_series() == 0 {
        return Err(RnnError::Shape {
            what: format!("{what} targets"),
            expected: format!("{} series (at least 1)", seq.n_series()),
            got: targets.len().to_string(),
        });
    }
    if seq.n_inputs() != n_inputs {
        return Err(RnnError::Shape {
            what: format!("{what} inputs"),
            expected: n_inputs.to_string(),
            got: seq.n_inputs().to_string(),
        });
    }
    if Head::for_targets(targets)? != head {
        return Err(RnnError::Shape {
            what: format!("{what} target kind"),
            expected: head.to_string(),
            got: Head::for_targets(targets)?.to_string(),
        });
    }
    match targets {
        Targets::Classes { labels, n_classes } => {
            if let Some(i) = labels.iter().position(|l| l >= n_classes) {
                return Err(RnnError::Target {
                    series: i,
                    reason: format!("label {} >= {n_classes}", labels[i]),
                });
            }
        }
        Targets::Values(v) => {
            if let Some(((i, _), _)) = v.indexed_iter().find(|(_, x)| !x.is_finite()) {
                return Err(RnnError::Target {
                    series: i,
                    reason: "non-finite value".into(),
                });
            }
        }
    }
    Ok(())
}

/// Target tensor for the rows `order` of a batch.
fn target_tensor(
    targets: &Targets,
    order: &[usize],
    head: Head,
    dev: &Device,
) -> Result<Tensor, RnnError> {
    Ok(match (targets, head) {
        (Targets::Classes { labels, .. }, Head::Binary) => {
            let v: Vec<f32> = order.iter().map(|&i| labels[i] as f32).collect();
            Tensor::from_vec(v, (order.len(), 1), dev)?
        }
        (Targets::Classes { labels, .. }, _) => {
            let v: Vec<u32> = order.iter().map(|&i| labels[i] as u32).collect();
            Tensor::from_vec(v, order.len(), dev)?
        }
        (Targets::Values(y), _) => {
            let d = y.ncols();
            let v: Vec<f32> = order
                .iter()
                .flat_map(|&i| y.row(i).to_vec())
                .map(|x| x as f32)
                .collect();
            Tensor::from_vec(v, (order.len(), d), dev)?
        }
    })
}

/// The mean loss of outputs `out` against `y` (see [`Head`] and [`RegressionLoss`]).
fn loss(out: &Tensor, y: &Tensor, head: Head, reg: RegressionLoss) -> Result<Tensor, RnnError> {
    Ok(match head {
        // Binary cross-entropy on logits in the overflow-free form max(z, 0) - z y + log(1 + exp(-|z|)).
        Head::Binary => {
            let soft = (out.abs()?.neg()?.exp()? + 1.0)?.log()?;
            ((out.relu()? - (out * y)?)? + soft)?.mean_all()?
        }
        Head::Multiclass { .. } => candle_nn::loss::cross_entropy(out, y)?,
        Head::Regression { n_outputs } => {
            let e2 = (out - y)?.sqr()?;
            match reg {
                RegressionLoss::Mse => e2.mean_all()?,
                RegressionLoss::Mae if n_outputs == 1 => (out - y)?.abs()?.mean_all()?,
                // A tiny floor keeps the square root's derivative finite at a zero error.
                RegressionLoss::Mae => (e2.mean(D::Minus1)? + 1e-12)?.sqrt()?.mean_all()?,
            }
        }
    })
}

/// The loss of one mini-batch at the parameters `p`, with `W_x` and `W_h` scaled by `multipliers` when given
/// (hardware-aware training): the loss whose gradient the optimiser follows.
fn batch_loss(
    config: &RnnConfig,
    head: Head,
    p: &Params,
    multipliers: Option<&[Tensor; 2]>,
    batch: &Batch,
    y: &Tensor,
) -> Result<Tensor, RnnError> {
    let out = match multipliers {
        Some(m) => outputs(&config.cell, &perturbed(p, m)?, batch)?,
        None => outputs(&config.cell, p, batch)?,
    };
    loss(&out, y, head, config.regression_loss)
}

/// Trains a model on `train` with early stopping on `val` (paper Sec. VI), calling `on_event` after each epoch.
///
/// `train` and `val` are `(series, targets)`; the targets decide the head: two classes give a sigmoid output with
/// binary cross-entropy, more classes softmax with cross-entropy, values a linear output with MSE or MAE.
/// The 80/20 split of a data set's training part into these two is the caller's.
pub fn train(
    config: &RnnConfig,
    train: (&Sequences, &Targets),
    val: (&Sequences, &Targets),
    on_event: &mut dyn FnMut(&TrainEvent),
) -> Result<TrainedRnn, RnnError> {
    train_cancellable(config, train, val, on_event, &AtomicBool::new(false))
}

/// [`train`] with a cancellation flag, checked before each epoch: once set, training stops with
/// [`RnnError::Cancelled`].
pub fn train_cancellable(
    config: &RnnConfig,
    train: (&Sequences, &Targets),
    val: (&Sequences, &Targets),
    on_event: &mut dyn FnMut(&TrainEvent),
    cancel: &AtomicBool,
) -> Result<TrainedRnn, RnnError> {
    train_with(config, train, Some(val), on_event, cancel)
}

/// [`train_cancellable`] with an optional validation set. Without one, early stopping watches the epoch's mean
/// training loss instead (Keras' `EarlyStopping(monitor='loss')`, as the authors' reference implementation does
/// for its final models), and each [`TrainEvent`] reports NaN for the validation loss and metric.
pub fn train_with(
    config: &RnnConfig,
    (seq, targets): (&Sequences, &Targets),
    val: Option<(&Sequences, &Targets)>,
    on_event: &mut dyn FnMut(&TrainEvent),
    cancel: &AtomicBool,
) -> Result<TrainedRnn, RnnError> {
    config.check()?;
    let head = Head::for_targets(targets)?;
    let n_inputs = seq.n_inputs();
    check_data(seq, targets, head, n_inputs, "training")?;
    if let Some((val_seq, val_targets)) = val {
        check_data(val_seq, val_targets, head, n_inputs, "validation")?;
    }
    let dev = device();
    let (mut trained, mut opt) = TrainedRnn::start(config, head, n_inputs, &dev)?;
    let frozen = config.reservoir.is_some_and(|r| r.frozen);

    let mut noise = TrainingNoise::new(config.train_w_noise, config.seed);
    let mut shuffle_rng = rng_from_seed(derive_seed(config.seed, 1));
    let mut order: Vec<usize> = (0..seq.n_series()).collect();
    let start = Instant::now();
    let mut stop = EarlyStop::default();
    // The loss of the first mini-batch, at the initial weights: where training starts.
    let mut start_loss = None;
    for epoch in 1..=config.max_epochs {
        if cancel.load(Ordering::Relaxed) {
            return Err(RnnError::Cancelled { epoch });
        }
        order.shuffle(&mut shuffle_rng);
        let mut total = 0.0;
        for chunk in order.chunks(config.batch_size) {
            let batch = Batch::new(seq, chunk, &dev)?;
            let y = target_tensor(targets, &batch.order, head, &dev)?;
            let mut p = trained.model.params();
            if frozen {
                // The optimiser leaves it alone; detached, the backward pass does not compute its gradient.
                p.recurrent = p.recurrent.detach();
            }
            let multipliers = match &mut noise {
                Some(n) => Some(n.draw(&p)?),
                None => None,
            };
            let l = batch_loss(config, head, &p, multipliers.as_ref(), &batch, &y)?;
            let lv = l.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            if !lv.is_finite() {
                return Err(RnnError::NonFiniteLoss {
                    which: "training",
                    epoch,
                    config: describe(config),
                });
            }
            if start_loss.is_none() {
                // Where training starts is the loss at the initial weights themselves, not at perturbed ones.
                start_loss = Some(match multipliers {
                    Some(_) => batch_loss(
                        config,
                        head,
                        &trained.model.params_detached(),
                        None,
                        &batch,
                        &y,
                    )?
                    .to_dtype(DType::F64)?
                    .to_scalar::<f64>()?,
                    None => lv,
                });
            }
            opt.backward_step(&l)?;
            total += lv * chunk.len() as f64;
        }
        let train_loss = total / seq.n_series() as f64;
        let (val_loss, val_metric) = match val {
            Some((val_seq, val_targets)) => trained.evaluate(val_seq, val_targets)?,
            None => (f64::NAN, f64::NAN),
        };
        if val.is_some() && !val_loss.is_finite() {
            return Err(RnnError::NonFiniteLoss {
                which: "validation",
                epoch,
                config: describe(config),
            });
        }
        // Hardware-aware training without a validation set watches the exact weights on the training set: the
        // noisy batch losses are not the model that is kept.
        let exact_train_loss = match (&noise, val) {
            (Some(_), None) => {
                let (l, _) = trained.evaluate(seq, targets)?;
                if !l.is_finite() {
                    return Err(RnnError::NonFiniteLoss {
                        which: "training",
                        epoch,
                        config: describe(config),
                    });
                }
                Some(l)
            }
            _ => None,
        };
        let watched = match (val, exact_train_loss) {
            (Some(_), _) => val_loss,
            (None, Some(exact)) => exact,
            (None, None) => train_loss,
        };
        let event = TrainEvent {
            epoch,
            train_loss,
            val_loss,
            val_metric,
            exact_train_loss,
            improved: false,
            elapsed: start.elapsed(),
        };
        if stop.end_epoch(&mut trained, watched, event, on_event)? {
            break;
        }
    }
    stop.finish(&trained)?;
    if let Some(start_loss) = start_loss {
        let (final_loss, _) = trained.evaluate(seq, targets)?;
        let constant = constant_loss(targets, head, config.regression_loss)?;
        trained.divergence = Divergence::check(final_loss, start_loss, constant);
    }
    trained.deploy()?;
    Ok(trained)
}

/// The loss on `targets` of the best constant prediction: the logits of the class frequencies (floored at 1e-12
/// so that an absent class gives a finite logit), or the mean of each output.
fn constant_loss(targets: &Targets, head: Head, reg: RegressionLoss) -> Result<f64, RnnError> {
    let dev = Device::Cpu;
    let n = targets.len();
    let row: Vec<f32> = match (targets, head) {
        (Targets::Classes { labels, n_classes }, _) => {
            let mut freq = vec![0.0f64; *n_classes];
            for &l in labels {
                freq[l] += 1.0 / n as f64;
            }
            let freq: Vec<f64> = freq.iter().map(|p| p.clamp(1e-12, 1.0 - 1e-12)).collect();
            match head {
                Head::Binary => vec![(freq[1] / freq[0]).ln() as f32],
                _ => freq.iter().map(|p| p.ln() as f32).collect(),
            }
        }
        (Targets::Values(v), _) => v
            .mean_axis(ndarray::Axis(0))
            .expect("at least one series: checked")
            .iter()
            .map(|&m| m as f32)
            .collect(),
    };
    let d = row.len();
    let out = Tensor::from_vec(row.repeat(n), (n, d), &dev)?;
    let all: Vec<usize> = (0..n).collect();
    let y = target_tensor(targets, &all, head, &dev)?;
    Ok(loss(&out, &y, head, reg)?
        .to_dtype(DType::F64)?
        .to_scalar::<f64>()?)
}

/// Early stopping's bookkeeping: the lowest loss watched so far, with the weights of its epoch when the
/// configuration restores them, and the epochs since it.
#[derive(Default)]
struct EarlyStop {
    best: Option<(f64, Vec<Tensor>)>,
    wait: usize,
}

impl EarlyStop {
    /// Records the loss `watched` after `epoch`; returns whether it is the lowest so far (then the model's best
    /// epoch, and its weights kept when `restore_best`).
    fn record(
        &mut self,
        trained: &mut TrainedRnn,
        watched: f64,
        epoch: usize,
    ) -> Result<bool, RnnError> {
        let improved = self.best.as_ref().is_none_or(|(b, _)| watched < *b);
        if improved {
            let snap = if trained.config.restore_best {
                trained.model.snapshot()?
            } else {
                Vec::new()
            };
            self.best = Some((watched, snap));
            trained.best_epoch = epoch;
            self.wait = 0;
        } else {
            self.wait += 1;
        }
        Ok(improved)
    }

    /// Ends an epoch: records `event` in the model's history, its `improved` set from the loss `watched`
    /// ([`EarlyStop::record`]), after telling `on_event`; returns whether patience has run out.
    fn end_epoch(
        &mut self,
        trained: &mut TrainedRnn,
        watched: f64,
        mut event: TrainEvent,
        on_event: &mut dyn FnMut(&TrainEvent),
    ) -> Result<bool, RnnError> {
        event.improved = self.record(trained, watched, event.epoch)?;
        on_event(&event);
        trained.history.push(event);
        Ok(self.wait >= trained.config.patience)
    }

    /// Puts the best epoch's weights back when the configuration restores them.
    fn finish(self, trained: &TrainedRnn) -> Result<(), RnnError> {
        if let (true, Some((_, snap))) = (trained.config.restore_best, &self.best) {
            trained.model.restore(snap)?;
        }
        Ok(())
    }
}

impl TrainedRnn {
    /// A model of `config` for `n_inputs` inputs and `head`, its weights drawn from the configuration's seed (and
    /// its reservoir start applied), untrained, with Adam over the weights it trains: every one but a frozen
    /// reservoir start's `recurrent_kernel` (var 1).
    fn start(
        config: &RnnConfig,
        head: Head,
        n_inputs: usize,
        dev: &Device,
    ) -> Result<(TrainedRnn, AdamW), RnnError> {
        let model = Model::new(
            config.cell,
            n_inputs,
            config.n_units,
            head.n_outputs(),
            config.seed,
            dev,
        )?;
        if let Some(start) = &config.reservoir {
            start.apply(&model, config.seed)?;
        }
        let frozen = config.reservoir.is_some_and(|r| r.frozen);
        let trained_vars = (0..model.vars.len())
            .filter(|&i| !(frozen && i == 1))
            .map(|i| model.vars[i].clone())
            .collect();
        let opt = AdamW::new(
            trained_vars,
            ParamsAdamW {
                lr: config.lr,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-7,
                weight_decay: 0.0,
            },
        )?;
        let trained = TrainedRnn {
            config: config.clone(),
            head,
            model,
            history: Vec::new(),
            best_epoch: 0,
            divergence: None,
            deployed: None,
        };
        Ok((trained, opt))
    }
}

impl TrainedRnn {
    /// Programs the trained parameters into the devices of the configuration's hardware, from the training seed.
    fn deploy(&mut self) -> Result<(), RnnError> {
        let hw = &self.config.hardware;
        self.deployed = if hw.is_ideal() {
            None
        } else {
            Some(deploy(hw, &self.model.params_detached(), self.config.seed)?)
        };
        Ok(())
    }

    /// The parameters predictions use: those on the devices when the hardware is not ideal, else the trained ones.
    pub(crate) fn params_in_use(&self) -> Params {
        self.deployed
            .clone()
            .unwrap_or_else(|| self.model.params_detached())
    }

    /// The configuration it was trained with.
    pub fn config(&self) -> &RnnConfig {
        &self.config
    }

    /// The output layer and loss.
    pub fn head(&self) -> Head {
        self.head
    }

    /// Every epoch's report, in order.
    pub fn history(&self) -> &[TrainEvent] {
        &self.history
    }

    /// The epoch (from 1) with the lowest validation loss (the lowest training loss when trained without a
    /// validation set).
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }

    /// Whether and how training diverged ([`Divergence`]): None when the training loss of the returned weights
    /// ended near or below where it started.
    pub fn divergence(&self) -> Option<Divergence> {
        self.divergence
    }

    /// Outputs (logits or values) for every series, `(n_series, n_outputs)` in input order, computed without
    /// recording a graph, on the devices of the configuration's hardware once training has ended.
    fn raw_outputs(&self, seq: &Sequences) -> Result<Array2<f32>, RnnError> {
        if seq.n_inputs() != self.model.n_inputs() {
            return Err(RnnError::Shape {
                what: "inputs".into(),
                expected: self.model.n_inputs().to_string(),
                got: seq.n_inputs().to_string(),
            });
        }
        let p: Params = self.params_in_use();
        let hw = &self.config.hardware;
        // The ADC reads states only once the model is deployed: never in training's own evaluations.
        let adc = self.deployed.is_some() && hw.adc_bits > 0;
        let dev = p.kernel.device().clone();
        let d = self.head.n_outputs();
        let mut out = Array2::<f32>::zeros((seq.n_series(), d));
        let all: Vec<usize> = (0..seq.n_series()).collect();
        for chunk in all.chunks(PREDICT_CHUNK) {
            let batch = Batch::new(seq, chunk, &dev)?;
            let o = if adc {
                let h = read_states(
                    hw,
                    &self.config.cell,
                    final_states(&self.config.cell, &p, &batch)?,
                )?;
                h.matmul(&p.ro_weight)?.broadcast_add(&p.ro_bias)?
            } else {
                outputs(&self.config.cell, &p, &batch)?
            };
            let o = o.to_vec2::<f32>()?;
            for (row, &i) in o.iter().zip(&batch.order) {
                out.row_mut(i).assign(&ndarray::ArrayView1::from(row));
            }
        }
        Ok(out)
    }

    fn predict_from(&self, out: &Array2<f32>) -> Prediction {
        match self.head {
            Head::Binary => Prediction::Classes(
                out.column(0)
                    .iter()
                    .map(|&z| usize::from(z > 0.0))
                    .collect(),
            ),
            Head::Multiclass { .. } => Prediction::Classes(
                out.rows()
                    .into_iter()
                    .map(|r| {
                        r.iter()
                            .enumerate()
                            .fold(
                                (0, f32::NEG_INFINITY),
                                |m, (i, &v)| if v > m.1 { (i, v) } else { m },
                            )
                            .0
                    })
                    .collect(),
            ),
            Head::Regression { .. } => Prediction::Values(out.mapv(f64::from)),
        }
    }

    /// Predicts every series: class indices for classification, `(n_series, n_outputs)` values for regression.
    pub fn predict(&self, seq: &Sequences) -> Result<Prediction, RnnError> {
        Ok(self.predict_from(&self.finite_outputs(seq)?))
    }

    /// Accuracy (classification) or RMSE (regression) on `(seq, targets)`.
    pub fn score(&self, seq: &Sequences, targets: &Targets) -> Result<f64, RnnError> {
        self.finite_outputs(seq)?;
        Ok(self.evaluate(seq, targets)?.1)
    }

    /// The outputs for `seq`, refused when one is not finite: a deployed model on extreme device noise (or
    /// weights that overflow) would otherwise turn NaN logits into class 0 or 1 and report an accuracy. Training
    /// evaluates through [`Self::raw_outputs`], where a non-finite output is a non-finite loss naming the epoch.
    fn finite_outputs(&self, seq: &Sequences) -> Result<Array2<f32>, RnnError> {
        let out = self.raw_outputs(seq)?;
        if let Some((i, _)) = out
            .rows()
            .into_iter()
            .enumerate()
            .find(|(_, r)| r.iter().any(|v| !v.is_finite()))
        {
            return Err(RnnError::NonFiniteOutput { series: i });
        }
        Ok(out)
    }

    /// The training loss and the metric on a data set.
    fn evaluate(&self, seq: &Sequences, targets: &Targets) -> Result<(f64, f64), RnnError> {
        check_data(seq, targets, self.head, self.model.n_inputs(), "evaluation")?;
        let out = self.raw_outputs(seq)?;
        let dev = Device::Cpu;
        let all: Vec<usize> = (0..seq.n_series()).collect();
        let o = Tensor::from_vec(out.iter().copied().collect::<Vec<f32>>(), out.dim(), &dev)?;
        let y = target_tensor(targets, &all, self.head, &dev)?;
        let l = loss(&o, &y, self.head, self.config.regression_loss)?
            .to_dtype(DType::F64)?
            .to_scalar::<f64>()?;
        let metric = match (self.predict_from(&out), targets) {
            (Prediction::Classes(p), Targets::Classes { labels, .. }) => {
                mf_core::seq::accuracy(&p, labels)
            }
            (Prediction::Values(p), Targets::Values(v)) => mf_core::seq::rmse(&p, v),
            _ => unreachable!("the head matches the targets: checked above"),
        };
        Ok((l, metric))
    }

    /// Saves the model in `dir` (created if absent): `model.safetensors` (the trained parameters `kernel`,
    /// `recurrent_kernel`, `bias`, `readout.weight`, `readout.bias`) and `model.json` (configuration, head,
    /// history). The configuration carries the hardware, so loading programs the same devices again.
    pub fn save(&self, dir: &Path) -> Result<(), RnnError> {
        std::fs::create_dir_all(dir).map_err(|source| RnnError::Io {
            path: dir.into(),
            source,
        })?;
        self.model.varmap.save(dir.join("model.safetensors"))?;
        let meta = SavedMeta {
            config: self.config.clone(),
            head: self.head,
            n_inputs: self.model.n_inputs(),
            best_epoch: self.best_epoch,
            history: self.history.clone(),
            divergence: self.divergence,
        };
        let path = dir.join("model.json");
        let json = serde_json::to_string_pretty(&meta).map_err(|source| RnnError::Json {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&path, json).map_err(|source| RnnError::Io { path, source })
    }

    /// Loads a model written by [`TrainedRnn::save`].
    pub fn load(dir: &Path) -> Result<Self, RnnError> {
        let path = dir.join("model.json");
        let text = std::fs::read_to_string(&path).map_err(|source| RnnError::Io {
            path: path.clone(),
            source,
        })?;
        let meta: SavedMeta =
            serde_json::from_str(&text).map_err(|source| RnnError::Json { path, source })?;
        meta.config.check()?;
        let c = &meta.config;
        let mut model = Model::new(
            c.cell,
            meta.n_inputs,
            c.n_units,
            meta.head.n_outputs(),
            c.seed,
            &device(),
        )?;
        model.varmap.load(dir.join("model.safetensors"))?;
        let mut loaded = Self {
            config: meta.config,
            head: meta.head,
            model,
            history: meta.history,
            best_epoch: meta.best_epoch,
            divergence: meta.divergence,
            deployed: None,
        };
        loaded.deploy()?;
        Ok(loaded)
    }

    /// The readout's outputs for every series, `(n_series, n_outputs)` in input order: one logit for two
    /// classes, one per class for more, or the regression's values.
    pub fn outputs(&self, seq: &Sequences) -> Result<Array2<f32>, RnnError> {
        self.finite_outputs(seq)
    }

    /// What [`TrainedRnn::predict`] predicts from outputs given by [`TrainedRnn::outputs`] (or by a stream).
    pub fn predict_outputs(&self, out: &Array2<f32>) -> Prediction {
        self.predict_from(out)
    }

    /// Values per time step the model takes.
    pub fn n_inputs(&self) -> usize {
        self.model.n_inputs()
    }

    /// The layer and readout, for the weights' arrays and the stream (`stream.rs`).
    pub(crate) fn model(&self) -> &Model {
        &self.model
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CellKind;
    use mf_core::fixtures::level_classes;
    use mf_core::MfCell;

    fn small(cell: CellKind) -> RnnConfig {
        let mut c = RnnConfig::new(cell)
            .n_units(8)
            .lr(0.05)
            .seed(3)
            .max_epochs(40);
        c.batch_size = 16;
        c.patience = 40;
        c
    }

    #[test]
    fn without_a_validation_set_early_stopping_watches_the_training_loss() {
        let (x, y) = level_classes(64, 6..=12, 1);
        let mut c = small(CellKind::Mf(MfCell::new(0.1, 0.8, 5.0)));
        c.max_epochs = 200;
        c.patience = 3;
        c.restore_best = false;
        let mut events = Vec::new();
        let m = train_with(
            &c,
            (&x, &y),
            None,
            &mut |e| events.push(e.clone()),
            &AtomicBool::new(false),
        )
        .unwrap();
        assert!(events
            .iter()
            .all(|e| e.val_loss.is_nan() && e.val_metric.is_nan()));
        // It stopped exactly `patience` epochs after the lowest training loss, and that epoch is `best_epoch`.
        let best = events
            .iter()
            .min_by(|a, b| a.train_loss.partial_cmp(&b.train_loss).unwrap())
            .unwrap()
            .epoch;
        assert_eq!(m.best_epoch(), best);
        if events.len() < c.max_epochs {
            assert_eq!(events.len(), best + c.patience);
        }
        // Improvement is strict, as in Keras: every epoch flagged improved has a lower loss than all before it.
        let mut low = f64::INFINITY;
        for e in &events {
            assert_eq!(e.improved, e.train_loss < low, "epoch {}", e.epoch);
            low = low.min(e.train_loss);
        }
    }

    #[test]
    fn training_learns_an_easy_task_and_reports_every_epoch() {
        let (x, y) = level_classes(64, 6..=12, 1);
        let (vx, vy) = level_classes(32, 6..=12, 2);
        for cell in [CellKind::Tanh, CellKind::Mf(MfCell::new(0.1, 0.8, 5.0))] {
            let mut seen = Vec::new();
            let m = train(&small(cell), (&x, &y), (&vx, &vy), &mut |e| {
                seen.push(e.epoch)
            })
            .unwrap();
            assert_eq!(seen, (1..=m.history().len()).collect::<Vec<_>>());
            let first = m.history()[0].train_loss;
            let last = m.history().last().unwrap().train_loss;
            assert!(last < first, "{cell:?}: loss {first} -> {last}");
            assert!(
                m.score(&vx, &vy).unwrap() >= 0.9,
                "{cell:?}: accuracy {}",
                m.score(&vx, &vy).unwrap()
            );
        }
    }

    #[test]
    fn best_weights_are_restored_and_last_ones_kept_on_request() {
        let (x, y) = level_classes(48, 6..=12, 4);
        let (vx, vy) = level_classes(16, 6..=12, 5);
        let mut cfg = small(CellKind::Tanh);
        cfg.max_epochs = 15;
        let best = train(&cfg, (&x, &y), (&vx, &vy), &mut |_| {}).unwrap();
        let (val_loss, _) = best.evaluate(&vx, &vy).unwrap();
        let min = best
            .history()
            .iter()
            .map(|e| e.val_loss)
            .fold(f64::INFINITY, f64::min);
        assert!((val_loss - min).abs() < 1e-6, "{val_loss} vs best {min}");
        cfg.restore_best = false;
        let last = train(&cfg, (&x, &y), (&vx, &vy), &mut |_| {}).unwrap();
        let (val_loss, _) = last.evaluate(&vx, &vy).unwrap();
        assert!((val_loss - last.history().last().unwrap().val_loss).abs() < 1e-6);
    }

    #[test]
    fn early_stopping_waits_exactly_patience_epochs_after_the_best() {
        let (x, y) = level_classes(32, 6..=12, 6);
        let (vx, vy) = level_classes(16, 6..=12, 7);
        let mut cfg = small(CellKind::Tanh);
        // A huge learning rate makes the validation loss stop improving quickly.
        cfg.lr = 0.5;
        cfg.patience = 3;
        cfg.max_epochs = 200;
        let m = train(&cfg, (&x, &y), (&vx, &vy), &mut |_| {}).unwrap();
        if m.history().len() < 200 {
            assert_eq!(m.history().len(), m.best_epoch() + 3);
        }
    }

    #[test]
    fn cancellation_stops_before_the_first_epoch() {
        let (x, y) = level_classes(8, 6..=12, 1);
        let flag = AtomicBool::new(true);
        let r = train_cancellable(
            &small(CellKind::Tanh),
            (&x, &y),
            (&x, &y),
            &mut |_| {},
            &flag,
        );
        assert!(matches!(r, Err(RnnError::Cancelled { epoch: 1 })));
    }

    #[test]
    fn non_finite_input_is_an_error_not_a_panic() {
        let (mut x, y) = level_classes(8, 6..=12, 1);
        x.x[[3, 0, 0]] = f32::NAN;
        let r = train(&small(CellKind::Tanh), (&x, &y), (&x, &y), &mut |_| {});
        assert!(matches!(
            r,
            Err(RnnError::NonFiniteInput { series: 3, step: 0 })
        ));
    }

    #[test]
    fn diverging_training_names_the_epoch_and_configuration() {
        let (x, _) = level_classes(16, 6..=12, 1);
        let y = Targets::Values(Array2::from_elem((16, 1), 1e30));
        let mut cfg = small(CellKind::Tanh);
        cfg.lr = 1e30;
        let err = train(&cfg, (&x, &y), (&x, &y), &mut |_| {}).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, RnnError::NonFiniteLoss { epoch: 1, .. }),
            "{msg}"
        );
        assert!(msg.contains("tanh cell, 8 units, lr 1e30"), "{msg}");
        assert!(!msg.contains("RnnConfig") && !msg.contains('{'), "{msg}");
    }

    #[test]
    fn messages_describe_configurations_and_heads_in_words() {
        let mut c = RnnConfig::new(CellKind::Mf(MfCell::new(0.01, 1.0, 5.0)));
        assert_eq!(
            describe(&c),
            "MF cell (dt 0.01, gamma 1, s 5), 100 units, lr 0.001, batch 64, seed 0"
        );
        c.lr = 1e6;
        assert!(describe(&c).contains("lr 1e6"), "{}", describe(&c));
        assert_eq!(Head::Multiclass { n_classes: 6 }.to_string(), "6 classes");
        assert_eq!(Head::Binary.to_string(), "2 classes");
        assert_eq!(
            Head::Regression { n_outputs: 1 }.to_string(),
            "1 regression output"
        );
    }

    #[test]
    fn a_learning_rate_far_too_large_is_reported_as_diverged() {
        let (x, y) = level_classes(64, 6..=12, 1);
        let (vx, vy) = level_classes(32, 6..=12, 2);
        for cell in [CellKind::Tanh, CellKind::Mf(MfCell::new(0.1, 0.8, 5.0))] {
            let mut cfg = small(cell);
            cfg.lr = 1e6;
            cfg.max_epochs = 10;
            let m = train(&cfg, (&x, &y), (&vx, &vy), &mut |_| {}).unwrap();
            let d = m
                .divergence()
                .unwrap_or_else(|| panic!("{cell:?}: not flagged, {:?}", m.history()));
            // Two balanced classes: the constant prediction's loss is ln 2.
            assert!((d.constant_loss - 2f64.ln()).abs() < 1e-4, "{d:?}");
            assert!(d.loss > 2.0 * d.start_loss.max(d.constant_loss), "{d:?}");
            assert!(
                d.to_string()
                    .starts_with("training diverged: the final training loss"),
                "{d}"
            );
            // A sensible learning rate on the same data is not flagged.
            let ok = train(&small(cell), (&x, &y), (&vx, &vy), &mut |_| {}).unwrap();
            assert_eq!(ok.divergence(), None, "{cell:?}");
        }
    }

    #[test]
    fn divergence_needs_the_loss_above_twice_both_references() {
        assert!(Divergence::check(4.1, 2.0, 1.0).is_some());
        assert!(Divergence::check(4.1, 1.0, 2.0).is_some());
        assert_eq!(Divergence::check(3.9, 2.0, 1.0), None);
        assert_eq!(Divergence::check(3.9, 1.0, 2.0), None);
        assert_eq!(Divergence::check(1.0, 1.0, 1.0), None);
        assert_eq!(loss_text(4.2295e6), "4.230e6");
        assert_eq!(loss_text(1.7918), "1.7918");
    }

    #[test]
    fn the_constant_prediction_loss_is_the_entropy_of_the_classes_or_the_variance() {
        // -(0.5 ln 0.5 + 2 * 0.25 ln 0.25)
        let y = Targets::Classes {
            labels: vec![0, 0, 1, 2],
            n_classes: 3,
        };
        let h = 0.5f64 * 2f64.ln() + 0.5 * 4f64.ln();
        let got = constant_loss(&y, Head::for_targets(&y).unwrap(), RegressionLoss::Mse).unwrap();
        assert!((got - h).abs() < 1e-5, "{got} vs {h}");
        // Binary: 1 of 4 positive.
        let y = Targets::Classes {
            labels: vec![0, 1, 0, 0],
            n_classes: 2,
        };
        let h = -(0.25f64 * 0.25f64.ln() + 0.75 * 0.75f64.ln());
        let got = constant_loss(&y, Head::Binary, RegressionLoss::Mse).unwrap();
        assert!((got - h).abs() < 1e-5, "{got} vs {h}");
        // A class absent from the targets still gives a finite loss.
        let y = Targets::Classes {
            labels: vec![0, 0, 0],
            n_classes: 3,
        };
        let got = constant_loss(&y, Head::for_targets(&y).unwrap(), RegressionLoss::Mse).unwrap();
        assert!(got.is_finite() && got < 1e-6, "{got}");
        // Regression: the population variance of the targets.
        let y = Targets::Values(Array2::from_shape_vec((4, 1), vec![1.0, 2.0, 3.0, 6.0]).unwrap());
        let got =
            constant_loss(&y, Head::Regression { n_outputs: 1 }, RegressionLoss::Mse).unwrap();
        assert!((got - 3.5).abs() < 1e-5, "{got}");
    }

    #[test]
    fn a_saved_model_predicts_the_same_numbers_bit_for_bit() {
        let (x, _) = level_classes(24, 6..=12, 8);
        let y3 = Targets::Classes {
            labels: (0..24).map(|i| i % 3).collect(),
            n_classes: 3,
        };
        let yv = Targets::Values(Array2::from_shape_fn((24, 2), |(i, j)| {
            (i + j) as f64 * 0.01
        }));
        for (cell, y) in [
            (CellKind::Mf(MfCell::new(0.1, 0.8, 5.0)), &y3),
            (CellKind::Tanh, &yv),
        ] {
            let mut cfg = small(cell);
            cfg.max_epochs = 3;
            let m = train(&cfg, (&x, y), (&x, y), &mut |_| {}).unwrap();
            let dir = tempfile::tempdir().unwrap();
            m.save(dir.path()).unwrap();
            let back = TrainedRnn::load(dir.path()).unwrap();
            assert_eq!(m.raw_outputs(&x).unwrap(), back.raw_outputs(&x).unwrap());
            assert_eq!(m.predict(&x).unwrap(), back.predict(&x).unwrap());
            assert_eq!(back.config(), &cfg);
            assert_eq!(back.divergence(), m.divergence());
        }
    }

    #[test]
    fn binary_loss_matches_the_textbook_formula() {
        let z = Tensor::new(&[[-30.0f32], [-0.5], [0.0], [2.0], [40.0]], &Device::Cpu).unwrap();
        let y = Tensor::new(&[[1.0f32], [0.0], [1.0], [1.0], [0.0]], &Device::Cpu).unwrap();
        let got = loss(&z, &y, Head::Binary, RegressionLoss::Mse)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap() as f64;
        let zs = [-30.0f64, -0.5, 0.0, 2.0, 40.0];
        let ys = [1.0f64, 0.0, 1.0, 1.0, 0.0];
        // -y ln(sigma) - (1 - y) ln(1 - sigma), with ln(sigma(z)) = -ln(1 + e^-z).
        let want = zs
            .iter()
            .zip(ys)
            .map(|(&z, y)| y * (1.0 + (-z).exp()).ln() + (1.0 - y) * (1.0 + z.exp()).ln())
            .sum::<f64>()
            / 5.0;
        assert!((got - want).abs() < 1e-5 * want, "{got} vs {want}");
    }

    #[test]
    fn mae_option_is_the_mean_absolute_error_for_one_output() {
        let o = Tensor::new(&[[1.0f32], [-2.0], [0.5]], &Device::Cpu).unwrap();
        let y = Tensor::new(&[[0.0f32], [1.0], [0.5]], &Device::Cpu).unwrap();
        let reg = Head::Regression { n_outputs: 1 };
        let mae = loss(&o, &y, reg, RegressionLoss::Mae)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let mse = loss(&o, &y, reg, RegressionLoss::Mse)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((mae - 4.0 / 3.0).abs() < 1e-6 && (mse - 10.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn trained_models_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<TrainedRnn>();
        check::<RnnConfig>();
    }
}

#[cfg(test)]
#[path = "train_hardware_tests.rs"]
mod hardware_tests;
