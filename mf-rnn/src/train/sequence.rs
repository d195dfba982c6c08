//! Training on one long signal with a target at every step, by truncated back-propagation through time over
//! windows (Williams & Peng 1990; the usual practice for recurrent networks on NARMA and Mackey-Glass): the rows
//! to fit on are cut into consecutive windows of [`Windows::length`] steps. Each window starts from the state the
//! model reaches at its first step when driven from the zero state along the signal (recomputed with the current
//! weights at the start of every epoch, and not differentiated: the truncation), so that training sees the states
//! the model runs in, not a transient from zero. The first [`Windows::warmup`] steps of a window are not in the
//! loss, and the loss is the mean error of the readout's output at every later step. Consecutive windows' scored steps tile the rows to fit on
//! (a window's warm-up reads the steps before them). Windows are shuffled each epoch (seeded) and taken
//! [`RnnConfig::batch_size`] at a time by Adam, with early stopping on the validation rows when given: the model
//! is driven from the zero state along the whole signal up to their end, without truncation, as it predicts.
//!
//! The trained model is a [`TrainedRnn`] with a regression head: [`TrainedRnn::outputs_along`] drives it along a
//! signal and gives every step's outputs, and [`TrainedRnn::stream`] one step at a time.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::Optimizer;
use mf_core::rng::{derive_seed, rng_from_seed};
use mf_core::Recurrent;
use ndarray::{Array2, ArrayView2};
use rand::seq::SliceRandom;

use super::{describe, loss, EarlyStop, Head, TrainEvent, TrainedRnn};
use crate::cell::fused_supported;
use crate::model::cell_step;
use crate::{CellKind, RnnConfig, RnnError};

/// How the rows to fit on are cut for truncated back-propagation through time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// Steps of each window, warm-up included.
    pub length: usize,
    /// Steps at the start of each window that only settle the state.
    pub warmup: usize,
}

impl Default for Windows {
    /// Windows of 50 steps, the first 10 of them warm-up.
    fn default() -> Self {
        Windows {
            length: 50,
            warmup: 10,
        }
    }
}

/// The first step of each window over the rows `fit` (see the module's text): scored steps `start + warmup ..
/// start + length` tile `fit`, the last window ending at `fit.end`.
fn window_starts(fit: &Range<usize>, w: Windows) -> Vec<usize> {
    let scored = w.length - w.warmup;
    let mut starts = Vec::new();
    let mut at = fit.start;
    while at + scored < fit.end {
        starts.push(at - w.warmup);
        at += scored;
    }
    starts.push(fit.end - w.length);
    starts
}

/// Trains a model of `config` to predict `targets` (`(T, q)`) from `inputs` (`(T, d)`), row `t` of both being
/// step `t` of one signal, on the rows `fit`, with early stopping on the rows `val` when given (see the module's
/// text). `fit` must leave `windows.warmup` steps before it and hold at least one window's scored steps.
/// `on_event` hears every epoch.
#[allow(clippy::too_many_arguments)]
pub fn train_on_signal(
    config: &RnnConfig,
    inputs: ArrayView2<'_, f64>,
    targets: ArrayView2<'_, f64>,
    fit: Range<usize>,
    val: Option<Range<usize>>,
    windows: Windows,
    on_event: &mut dyn FnMut(&TrainEvent),
    cancel: &AtomicBool,
) -> Result<TrainedRnn, RnnError> {
    config.check()?;
    let (t_len, d, q) = (inputs.nrows(), inputs.ncols(), targets.ncols());
    let shape = |what: &str, expected: String, got: String| RnnError::Shape {
        what: what.into(),
        expected,
        got,
    };
    if targets.nrows() != t_len || d == 0 || q == 0 {
        return Err(shape(
            "a signal's inputs and targets",
            format!("({t_len}, d >= 1) and ({t_len}, q >= 1)"),
            format!("{:?} and {:?}", inputs.dim(), targets.dim()),
        ));
    }
    if windows.warmup >= windows.length {
        return Err(shape(
            "windows",
            "a warm-up shorter than the window".into(),
            format!("warm-up {} of {}", windows.warmup, windows.length),
        ));
    }
    if fit.start < windows.warmup || fit.end > t_len || fit.len() < windows.length - windows.warmup
    {
        return Err(shape(
            "rows to fit on",
            format!(
                "at least {} rows after the first {} steps, inside the signal's {t_len}",
                windows.length - windows.warmup,
                windows.warmup
            ),
            format!("{fit:?}"),
        ));
    }
    if let Some(v) = &val {
        if v.end > t_len || v.is_empty() {
            return Err(shape(
                "validation rows",
                format!("a non-empty range inside the signal's {t_len} steps"),
                format!("{v:?}"),
            ));
        }
    }
    if config.train_w_noise > 0.0 {
        return Err(RnnError::Config {
            name: "train_w_noise",
            value: config.train_w_noise,
            reason: "hardware-aware training is not built for sequence tasks: leave it at 0",
        });
    }
    if let Some(i) = inputs.iter().position(|v| !v.is_finite()) {
        return Err(RnnError::NonFiniteInput {
            series: 0,
            step: i / d,
        });
    }
    if let Some(i) = targets.iter().position(|v| !v.is_finite()) {
        return Err(RnnError::Target {
            series: 0,
            reason: format!("the target of step {} is not finite", i / q + 1),
        });
    }
    let head = Head::Regression { n_outputs: q };
    let dev = Device::Cpu;
    let (mut trained, mut opt) = TrainedRnn::start(config, head, d, &dev)?;
    let frozen = config.reservoir.is_some_and(|r| r.frozen);
    let x32: Vec<f32> = inputs.iter().map(|&v| v as f32).collect();
    let y32: Vec<f32> = targets.iter().map(|&v| v as f32).collect();
    let mut order = window_starts(&fit, windows);
    let scored = windows.length - windows.warmup;
    let mut rng = rng_from_seed(derive_seed(config.seed, 1));
    let start = Instant::now();
    let mut stop = EarlyStop::default();
    let mut start_loss = None;
    for epoch in 1..=config.max_epochs {
        if cancel.load(Ordering::Relaxed) {
            return Err(RnnError::Cancelled { epoch });
        }
        order.shuffle(&mut rng);
        let before = trained.states_before(inputs.slice(ndarray::s![..fit.end, ..]))?;
        let mut total = 0.0;
        for chunk in order.chunks(config.batch_size) {
            let b = chunk.len();
            let h0: Vec<f32> = chunk.iter().flat_map(|&s| before.row(s).to_vec()).collect();
            let h0 = Tensor::from_vec(h0, (b, config.n_units), &dev)?;
            // Step-major: rows `t * b .. (t + 1) * b` are step `t` of each window of the chunk.
            let mut xs = Vec::with_capacity(windows.length * b * d);
            let mut ys = Vec::with_capacity(scored * b * q);
            for t in 0..windows.length {
                for &s in chunk {
                    xs.extend_from_slice(&x32[(s + t) * d..(s + t + 1) * d]);
                    if t >= windows.warmup {
                        ys.extend_from_slice(&y32[(s + t) * q..(s + t + 1) * q]);
                    }
                }
            }
            let x = Tensor::from_vec(xs, (windows.length * b, d), &dev)?;
            let y = Tensor::from_vec(ys, (scored * b, q), &dev)?;
            let mut p = trained.model.params();
            if frozen {
                p.recurrent = p.recurrent.detach();
            }
            let out = window_outputs(&config.cell, &p, &x, &h0, windows)?;
            let l = loss(&out, &y, head, config.regression_loss)?;
            let lv = l.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            if !lv.is_finite() {
                return Err(RnnError::NonFiniteLoss {
                    which: "training",
                    epoch,
                    config: describe(config),
                });
            }
            start_loss.get_or_insert(lv);
            opt.backward_step(&l)?;
            total += lv * b as f64;
        }
        let train_loss = total / order.len() as f64;
        let (val_loss, val_metric) = match &val {
            Some(v) => {
                let out = trained.outputs_along(inputs.slice(ndarray::s![..v.end, ..]))?;
                let l = rows_loss(&out, targets, v.clone(), config);
                if !l.is_finite() {
                    return Err(RnnError::NonFiniteLoss {
                        which: "validation",
                        epoch,
                        config: describe(config),
                    });
                }
                (l, rows_loss(&out, targets, v.clone(), &mse(config)).sqrt())
            }
            None => (f64::NAN, f64::NAN),
        };
        let watched = if val.is_some() { val_loss } else { train_loss };
        let event = TrainEvent {
            epoch,
            train_loss,
            val_loss,
            val_metric,
            exact_train_loss: None,
            improved: false,
            elapsed: start.elapsed(),
        };
        if stop.end_epoch(&mut trained, watched, event, on_event)? {
            break;
        }
    }
    stop.finish(&trained)?;
    if let Some(start_loss) = start_loss {
        // Against the best constant prediction on the rows fitted on: each output's mean there.
        let out = trained.outputs_along(inputs.slice(ndarray::s![..fit.end, ..]))?;
        let final_loss = rows_loss(&out, targets, fit.clone(), config);
        let rows = targets.slice(ndarray::s![fit.clone(), ..]);
        let mean = rows.mean_axis(ndarray::Axis(0)).expect("rows to fit on");
        let constant = Array2::from_shape_fn(rows.dim(), |(_, j)| mean[j]);
        let constant = rows_loss(&constant, rows, 0..rows.nrows(), config);
        trained.divergence = super::Divergence::check(final_loss, start_loss, constant);
    }
    trained.deploy()?;
    Ok(trained)
}

/// The readout's outputs at the scored steps of `b` windows run from the states `h0` (`(b, n_units)`, not
/// differentiated), step-major (`(scored * b, q)`), from their inputs `x` (`(length * b, d)`, step-major): the
/// forward pass that training differentiates.
fn window_outputs(
    cell: &CellKind,
    p: &crate::model::Params,
    x: &Tensor,
    h0: &Tensor,
    windows: Windows,
) -> Result<Tensor, RnnError> {
    let b = h0.dim(0)?;
    let pre_x = x.matmul(&p.kernel)?.broadcast_add(&p.bias)?;
    let mut h = h0.detach();
    let mut kept = Vec::with_capacity(windows.length - windows.warmup);
    let fused = fused_supported(&p.recurrent);
    for t in 0..windows.length {
        let pre = (pre_x.narrow(0, t * b, b)? + h.matmul(&p.recurrent)?)?;
        h = cell_step(cell, &pre, &h, fused)?;
        if t >= windows.warmup {
            kept.push(h.clone());
        }
    }
    Ok(Tensor::cat(&kept, 0)?
        .matmul(&p.ro_weight)?
        .broadcast_add(&p.ro_bias)?)
}

/// `config` with the mean squared error as its loss.
fn mse(config: &RnnConfig) -> RnnConfig {
    let mut c = config.clone();
    c.regression_loss = crate::RegressionLoss::Mse;
    c
}

/// The training loss of `config` (MSE or MAE, as [`RnnConfig::regression_loss`]) of `out` against `targets` on
/// `rows`, in f64.
fn rows_loss(
    out: &Array2<f64>,
    targets: ArrayView2<'_, f64>,
    rows: Range<usize>,
    config: &RnnConfig,
) -> f64 {
    let q = targets.ncols();
    let n = rows.len() as f64;
    match config.regression_loss {
        crate::RegressionLoss::Mse => {
            rows.map(|t| {
                (0..q)
                    .map(|j| (out[[t, j]] - targets[[t, j]]).powi(2))
                    .sum::<f64>()
            })
            .sum::<f64>()
                / (n * q as f64)
        }
        crate::RegressionLoss::Mae if q == 1 => {
            rows.map(|t| (out[[t, 0]] - targets[[t, 0]]).abs())
                .sum::<f64>()
                / n
        }
        crate::RegressionLoss::Mae => {
            rows.map(|t| {
                ((0..q)
                    .map(|j| (out[[t, j]] - targets[[t, j]]).powi(2))
                    .sum::<f64>()
                    / q as f64
                    + 1e-12)
                    .sqrt()
            })
            .sum::<f64>()
                / n
        }
    }
}

impl TrainedRnn {
    /// The state before each step of `inputs` (`(T, n_units)`; row 0 is the zero state), driven from the zero
    /// state as [`TrainedRnn::stream`] drives it.
    fn states_before(&self, inputs: ArrayView2<'_, f64>) -> Result<Array2<f32>, RnnError> {
        let mut s = self.stream()?;
        let mut out = Array2::zeros((inputs.nrows(), s.state().len()));
        let mut x = vec![0.0f32; inputs.ncols()];
        for (t, row) in inputs.rows().into_iter().enumerate() {
            out.row_mut(t).assign(&s.state());
            x.iter_mut().zip(row).for_each(|(x, &v)| *x = v as f32);
            s.push(&x)?;
        }
        Ok(out)
    }

    /// The outputs at every step of `inputs` (`(T, n_inputs)`, one signal), driven from the zero state without
    /// truncation: `(T, n_outputs)`, in f64 (computed in f32 as [`TrainedRnn::stream`] computes them).
    pub fn outputs_along(&self, inputs: ArrayView2<'_, f64>) -> Result<Array2<f64>, RnnError> {
        let mut s = self.stream()?;
        let q = s.outputs().len();
        let mut out = Array2::zeros((inputs.nrows(), q));
        let mut x = vec![0.0f32; inputs.ncols()];
        for (t, row) in inputs.rows().into_iter().enumerate() {
            x.iter_mut().zip(row).for_each(|(x, &v)| *x = v as f32);
            s.push(&x)?;
            out.row_mut(t)
                .iter_mut()
                .zip(s.outputs())
                .for_each(|(o, v)| *o = f64::from(v));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mf_core::MfCell;

    #[test]
    fn scored_steps_tile_the_rows_to_fit_on() {
        let w = Windows {
            length: 10,
            warmup: 3,
        };
        let fit = 5..30;
        let starts = window_starts(&fit, w);
        let mut covered = vec![0; 30];
        for s in &starts {
            covered[s + 3..s + 10].iter_mut().for_each(|c| *c += 1);
        }
        assert!(covered[..5].iter().all(|&c| c == 0));
        assert!(covered[5..30].iter().all(|&c| c >= 1), "{covered:?}");
        assert_eq!(*starts.last().unwrap(), 20);
        assert_eq!(starts[0], 2);
    }

    /// A delay line: the target is the input three steps earlier. Both cells learn it beyond the best constant
    /// (the tanh cell to a fifth of its error, the slower MF cell to 60%), early stopping keeps the best
    /// validation epoch, and the window forward pass that training differentiates gives the stream's outputs.
    #[test]
    fn a_delay_is_learnt_and_the_windows_agree_with_the_stream() {
        let t = 1200;
        let mut r = rng_from_seed(5);
        let u: Vec<f64> = (0..t)
            .map(|_| rand::Rng::random_range(&mut r, -0.5..0.5))
            .collect();
        let inputs = Array2::from_shape_fn((t, 1), |(i, _)| u[i]);
        let targets = Array2::from_shape_fn((t, 1), |(i, _)| if i >= 3 { u[i - 3] } else { 0.0 });
        for cell in [CellKind::Tanh, CellKind::Mf(MfCell::new(0.1, 0.5, 5.0))] {
            let config = RnnConfig::new(cell)
                .n_units(20)
                .lr(0.01)
                .seed(1)
                .max_epochs(60);
            let mut events = Vec::new();
            let m = train_on_signal(
                &config,
                inputs.view(),
                targets.view(),
                20..800,
                Some(800..1000),
                Windows::default(),
                &mut |e| events.push(e.clone()),
                &AtomicBool::new(false),
            )
            .unwrap();
            let out = m.outputs_along(inputs.view()).unwrap();
            let test = rows_loss(&out, targets.view(), 1000..1200, &config);
            // The best constant (zero) has MSE var(u) = 1/12.
            let bound = if cell == CellKind::Tanh { 0.2 } else { 0.6 };
            assert!(test < bound / 12.0, "{cell:?}: test MSE {test}");
            // The window at 300, through the training forward pass from the state the model reaches there, and
            // through the stream along the whole signal.
            let w = Windows::default();
            let xs: Vec<f32> = (300..300 + w.length).map(|i| u[i] as f32).collect();
            let x = Tensor::from_vec(xs, (w.length, 1), &Device::Cpu).unwrap();
            let before = m.states_before(inputs.view()).unwrap();
            let h0 = Tensor::from_vec(before.row(300).to_vec(), (1, 20), &Device::Cpu).unwrap();
            let batch = window_outputs(&config.cell, &m.model().params_detached(), &x, &h0, w)
                .unwrap()
                .to_vec2::<f32>()
                .unwrap();
            for (k, row) in batch.iter().enumerate() {
                let want = out[[300 + w.warmup + k, 0]];
                assert!(
                    (f64::from(row[0]) - want).abs() < 1e-5,
                    "{k}: {} vs {want}",
                    row[0]
                );
            }
            let best = events
                .iter()
                .min_by(|a, b| a.val_loss.total_cmp(&b.val_loss))
                .unwrap();
            assert_eq!(m.best_epoch(), best.epoch);
            assert!(m.divergence().is_none());
        }
    }

    #[test]
    fn bad_rows_and_options_are_refused() {
        let x = Array2::zeros((100, 1));
        let config = RnnConfig::new(CellKind::Tanh).n_units(4).max_epochs(1);
        let run = |fit: Range<usize>, val: Option<Range<usize>>, w: Windows, c: &RnnConfig| {
            train_on_signal(
                c,
                x.view(),
                x.view(),
                fit,
                val,
                w,
                &mut |_| {},
                &AtomicBool::new(false),
            )
            .map(|_| ())
            .unwrap_err()
            .to_string()
        };
        let w = Windows::default();
        assert!(run(5..90, None, w, &config).contains("rows to fit on"));
        assert!(run(10..30, None, w, &config).contains("rows to fit on"));
        assert!(run(10..90, Some(90..120), w, &config).contains("validation rows"));
        let bad = Windows {
            length: 5,
            warmup: 5,
        };
        assert!(run(10..90, None, bad, &config).contains("warm-up"));
        let mut noisy = config.clone();
        noisy.train_w_noise = 0.1;
        assert!(run(10..90, None, w, &noisy).contains("train_w_noise"));
    }
}
