//! Training with back-propagation through time, Adam and early stopping (paper Secs. IV-B and VI), prediction, and
//! saving.

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

use crate::model::{outputs, Batch, Model, Params};
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

/// One finished epoch, reported to the progress callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainEvent {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's mini-batches (weighted by batch size).
    pub train_loss: f64,
    /// Loss on the validation set after the epoch.
    pub val_loss: f64,
    /// Validation accuracy (classification) or RMSE (regression) after the epoch.
    pub val_metric: f64,
    /// Whether this epoch has the lowest validation loss so far.
    pub improved: bool,
    /// Time since training started.
    pub elapsed: Duration,
}

/// What a trained model predicts for each series.
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    /// A class index per series.
    Classes(Vec<usize>),
    /// Values, `(n_series, n_outputs)`.
    Values(Array2<f64>),
}

/// A trained recurrent model.
#[derive(Debug, Clone)]
pub struct TrainedRnn {
    config: RnnConfig,
    head: Head,
    model: Model,
    history: Vec<TrainEvent>,
    best_epoch: usize,
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
            expected: format!("{head:?}"),
            got: format!("{:?}", Head::for_targets(targets)?),
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
    (seq, targets): (&Sequences, &Targets),
    (val_seq, val_targets): (&Sequences, &Targets),
    on_event: &mut dyn FnMut(&TrainEvent),
    cancel: &AtomicBool,
) -> Result<TrainedRnn, RnnError> {
    config.check()?;
    let head = Head::for_targets(targets)?;
    let n_inputs = seq.n_inputs();
    check_data(seq, targets, head, n_inputs, "training")?;
    check_data(val_seq, val_targets, head, n_inputs, "validation")?;
    let dev = device();
    let model = Model::new(
        config.cell,
        n_inputs,
        config.n_units,
        head.n_outputs(),
        config.seed,
        &dev,
    )?;
    let params = ParamsAdamW {
        lr: config.lr,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-7,
        weight_decay: 0.0,
    };
    let mut opt = AdamW::new(model.vars.to_vec(), params)?;
    let mut trained = TrainedRnn {
        config: config.clone(),
        head,
        model,
        history: Vec::new(),
        best_epoch: 0,
    };

    let mut shuffle_rng = rng_from_seed(derive_seed(config.seed, 1));
    let mut order: Vec<usize> = (0..seq.n_series()).collect();
    let start = Instant::now();
    let mut best: Option<(f64, Vec<Tensor>)> = None;
    let mut wait = 0;
    for epoch in 1..=config.max_epochs {
        if cancel.load(Ordering::Relaxed) {
            return Err(RnnError::Cancelled { epoch });
        }
        order.shuffle(&mut shuffle_rng);
        let mut total = 0.0;
        for chunk in order.chunks(config.batch_size) {
            let batch = Batch::new(seq, chunk, &dev)?;
            let y = target_tensor(targets, &batch.order, head, &dev)?;
            let out = outputs(&config.cell, &trained.model.params(), &batch)?;
            let l = loss(&out, &y, head, config.regression_loss)?;
            let lv = l.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            if !lv.is_finite() {
                return Err(RnnError::NonFiniteLoss {
                    which: "training",
                    epoch,
                    config: format!("{config:?}"),
                });
            }
            opt.backward_step(&l)?;
            total += lv * chunk.len() as f64;
        }
        let train_loss = total / seq.n_series() as f64;
        let (val_loss, val_metric) = trained.evaluate(val_seq, val_targets)?;
        if !val_loss.is_finite() {
            return Err(RnnError::NonFiniteLoss {
                which: "validation",
                epoch,
                config: format!("{config:?}"),
            });
        }
        let improved = best.as_ref().is_none_or(|(b, _)| val_loss < *b);
        if improved {
            let snap = if config.restore_best {
                trained.model.snapshot()?
            } else {
                Vec::new()
            };
            best = Some((val_loss, snap));
            trained.best_epoch = epoch;
            wait = 0;
        } else {
            wait += 1;
        }
        let event = TrainEvent {
            epoch,
            train_loss,
            val_loss,
            val_metric,
            improved,
            elapsed: start.elapsed(),
        };
        on_event(&event);
        trained.history.push(event);
        if wait >= config.patience {
            break;
        }
    }
    if let (true, Some((_, snap))) = (config.restore_best, &best) {
        trained.model.restore(snap)?;
    }
    Ok(trained)
}

impl TrainedRnn {
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

    /// The epoch (from 1) with the lowest validation loss.
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }

    /// Outputs (logits or values) for every series, `(n_series, n_outputs)` in input order, computed without
    /// recording a graph.
    fn raw_outputs(&self, seq: &Sequences) -> Result<Array2<f32>, RnnError> {
        if seq.n_inputs() != self.model.n_inputs() {
            return Err(RnnError::Shape {
                what: "inputs".into(),
                expected: self.model.n_inputs().to_string(),
                got: seq.n_inputs().to_string(),
            });
        }
        let p: Params = self.model.params_detached();
        let dev = p.kernel.device().clone();
        let d = self.head.n_outputs();
        let mut out = Array2::<f32>::zeros((seq.n_series(), d));
        let all: Vec<usize> = (0..seq.n_series()).collect();
        for chunk in all.chunks(PREDICT_CHUNK) {
            let batch = Batch::new(seq, chunk, &dev)?;
            let o = outputs(&self.config.cell, &p, &batch)?.to_vec2::<f32>()?;
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
        Ok(self.predict_from(&self.raw_outputs(seq)?))
    }

    /// Accuracy (classification) or RMSE (regression) on `(seq, targets)`.
    pub fn score(&self, seq: &Sequences, targets: &Targets) -> Result<f64, RnnError> {
        Ok(self.evaluate(seq, targets)?.1)
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

    /// Saves the model in `dir` (created if absent): `model.safetensors` (parameters `kernel`,
    /// `recurrent_kernel`, `bias`, `readout.weight`, `readout.bias`) and `model.json` (configuration, head,
    /// history).
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
        Ok(Self {
            config: meta.config,
            head: meta.head,
            model,
            history: meta.history,
            best_epoch: meta.best_epoch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RnnCell;
    use mf_core::MfCell;
    use ndarray::Array3;

    /// Two classes told apart by the sign of a noisy constant level, with unequal lengths.
    fn toy(n: usize, seed: u64) -> (Sequences, Targets) {
        use rand::Rng;
        let mut rng = rng_from_seed(seed);
        let mut x = Array3::<f32>::from_elem((n, 12, 1), f32::NAN);
        let mut labels = Vec::new();
        let mut lengths = Vec::new();
        for i in 0..n {
            let label = i % 2;
            let len = rng.random_range(6..=12);
            for t in 0..len {
                x[[i, t, 0]] =
                    if label == 1 { 1.0 } else { -1.0 } + 0.3 * rng.random_range(-1.0f32..1.0);
            }
            labels.push(label);
            lengths.push(len);
        }
        (
            Sequences::new(x, lengths).unwrap(),
            Targets::Classes {
                labels,
                n_classes: 2,
            },
        )
    }

    fn small(cell: RnnCell) -> RnnConfig {
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
    fn training_learns_an_easy_task_and_reports_every_epoch() {
        let (x, y) = toy(64, 1);
        let (vx, vy) = toy(32, 2);
        for cell in [RnnCell::Tanh, RnnCell::Mf(MfCell::new(0.1, 0.8, 5.0))] {
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
        let (x, y) = toy(48, 4);
        let (vx, vy) = toy(16, 5);
        let mut cfg = small(RnnCell::Tanh);
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
        let (x, y) = toy(32, 6);
        let (vx, vy) = toy(16, 7);
        let mut cfg = small(RnnCell::Tanh);
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
        let (x, y) = toy(8, 1);
        let flag = AtomicBool::new(true);
        let r = train_cancellable(
            &small(RnnCell::Tanh),
            (&x, &y),
            (&x, &y),
            &mut |_| {},
            &flag,
        );
        assert!(matches!(r, Err(RnnError::Cancelled { epoch: 1 })));
    }

    #[test]
    fn non_finite_input_is_an_error_not_a_panic() {
        let (mut x, y) = toy(8, 1);
        x.x[[3, 0, 0]] = f32::NAN;
        let r = train(&small(RnnCell::Tanh), (&x, &y), (&x, &y), &mut |_| {});
        assert!(matches!(
            r,
            Err(RnnError::NonFiniteInput { series: 3, step: 0 })
        ));
    }

    #[test]
    fn diverging_training_names_the_epoch_and_configuration() {
        let (x, _) = toy(16, 1);
        let y = Targets::Values(Array2::from_elem((16, 1), 1e30));
        let mut cfg = small(RnnCell::Tanh);
        cfg.lr = 1e30;
        let err = train(&cfg, (&x, &y), (&x, &y), &mut |_| {}).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, RnnError::NonFiniteLoss { epoch: 1, .. }),
            "{msg}"
        );
        assert!(msg.contains("lr: 1e30"), "{msg}");
    }

    #[test]
    fn a_saved_model_predicts_the_same_numbers_bit_for_bit() {
        let (x, _) = toy(24, 8);
        let y3 = Targets::Classes {
            labels: (0..24).map(|i| i % 3).collect(),
            n_classes: 3,
        };
        let yv = Targets::Values(Array2::from_shape_fn((24, 2), |(i, j)| {
            (i + j) as f64 * 0.01
        }));
        for (cell, y) in [
            (RnnCell::Mf(MfCell::new(0.1, 0.8, 5.0)), &y3),
            (RnnCell::Tanh, &yv),
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
