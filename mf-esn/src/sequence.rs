//! Reservoirs on one long signal with a target at every step, as reservoir computing runs them (the experiment
//! protocol of Lukosevicius, "A Practical Guide to Applying Echo State Networks", 2012): the reservoir is driven
//! from the zero state along the whole signal, a washout is dropped, and a linear readout maps every later state to
//! that step's target.
//!
//! - [`SequenceReservoir`]: a reservoir drawn from a seed exactly as [`crate::ReservoirValidParams::fit`] draws it
//!   (weights, programmed devices, neurons), driven step by step with its state carried along.
//! - [`NormalEquations`]: the ridge readout accumulated block by block, so that a signal of `10^6` steps never
//!   holds all its states: the sums of `x`, `y`, `x x'` and `x y'` over the rows seen, taken about a shift (the
//!   first block's mean) so that centring loses no precision, solved for the same unpenalised-intercept ridge as
//!   [`Ridge::fit_arrays`].
//! - [`Rls`]: the recursive-least-squares readout with a forgetting factor (gain `k = P x / (lambda_f + x' P x)`,
//!   `w <- w + k (y - w' x)`, `P <- (P - k x' P) / lambda_f`, from `P = I / alpha`; Haykin, *Adaptive Filter
//!   Theory*, ch. 10), which adapts while streaming. Its input is `[x, 1]`, so the bias is penalised like every
//!   weight; with `lambda_f = 1` it is the ridge solution with penalty `alpha` on every row seen (tested).
//! - [`memory_capacity`]: Jaeger's linear memory capacity (GMD Report 152, 2002) from states and the input.

mod saved;

pub use saved::SEQUENCE_FILE;

use faer::{Mat, Side};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, Slice};

use crate::ridge::Ridge;
use crate::{EsnError, ReadoutFit, ReservoirConfig, ReservoirValidParams};
use mf_core::devices::Run;
use mf_core::variation::Devices;
use mf_core::{CellKind, Weights};

/// A reservoir drawn for a signal of `n_inputs` channels, driven one step at a time: one layer, or a deep
/// reservoir's stack (each layer driven by the state of the one below, the readout reading every layer's state side
/// by side). Made by [`ReservoirValidParams::draw_for_sequence`] and [`crate::DeepConfig::draw_for_sequence`].
#[derive(Debug, Clone)]
pub struct SequenceReservoir {
    /// The configuration of every layer (a deep reservoir's layers share it).
    config: ReservoirConfig,
    weights: Vec<Weights<f32>>,
    devices: Vec<Devices>,
    /// Each layer's state, `(1, n_units)`.
    h: Vec<Array2<f32>>,
    /// Scratch of each layer: its pre-activation and its next state, so that a step allocates nothing.
    pre: Vec<Array2<f32>>,
    next: Vec<Array2<f32>>,
    /// The first layer's input, `(1, n_inputs)`.
    input: Array2<f32>,
    steps: usize,
    /// The vectorised one-vector step of `mf_core::harvest`, when it computes this reservoir's update: the paper's
    /// integrator (one Euler step) and ideal neurons. Otherwise the cell's own update runs.
    fast: Option<mf_core::harvest::VectorStep>,
}

impl ReservoirValidParams {
    /// The reservoir of this configuration for `n_inputs` input channels, drawn from `seed` as [`Self::fit`] draws
    /// it (the same weights, programmed devices and neuron constants), at the zero state; its neurons' cycle-to-cycle
    /// noise is the fitting run's, the signal being one series.
    pub fn draw_for_sequence(
        &self,
        n_inputs: usize,
        seed: u64,
    ) -> Result<SequenceReservoir, EsnError> {
        let cfg = self.config();
        let (weights, _, devices) = cfg.draw_reservoir(n_inputs, seed, Run::Fit)?;
        Ok(SequenceReservoir::new(
            cfg.clone(),
            vec![weights],
            vec![devices],
        ))
    }
}

impl crate::DeepConfig {
    /// The deep reservoir of this configuration for `n_inputs` input channels, every layer drawn from `seed` as
    /// [`crate::DeepConfig::fit`] draws it, at the zero state.
    pub fn draw_for_sequence(
        &self,
        n_inputs: usize,
        seed: u64,
    ) -> Result<SequenceReservoir, EsnError> {
        self.check()?;
        let weights = self.draw(n_inputs, seed)?;
        let units = self.draw_units(seed);
        let devices = self.devices(&units, seed, Run::Fit);
        Ok(SequenceReservoir::new(self.layer.clone(), weights, devices))
    }
}

impl SequenceReservoir {
    fn new(config: ReservoirConfig, weights: Vec<Weights<f32>>, devices: Vec<Devices>) -> Self {
        let h: Vec<Array2<f32>> = weights
            .iter()
            .map(|w| Array2::zeros((1, w.n_units())))
            .collect();
        let contiguous = weights.iter().all(|w| {
            w.w_in.as_slice().is_some()
                && w.w_rec.as_slice().is_some()
                && w.bias.as_slice().is_some()
        });
        let fast =
            (config.integrator.is_paper() && devices.iter().all(Devices::is_ideal) && contiguous)
                .then(|| mf_core::harvest::VectorStep::new(&config.cell));
        Self {
            fast,
            input: Array2::zeros((1, weights[0].n_inputs())),
            config,
            weights,
            devices,
            pre: h.clone(),
            next: h.clone(),
            h,
            steps: 0,
        }
    }

    /// Each layer's weights, the first layer's first.
    pub fn weights(&self) -> &[Weights<f32>] {
        &self.weights
    }

    /// Its configuration (every layer's).
    pub fn config(&self) -> &ReservoirConfig {
        &self.config
    }

    /// The readout's inputs: every layer's units.
    pub fn n_units(&self) -> usize {
        self.weights.iter().map(Weights::n_units).sum()
    }

    /// An empty readout fit for `n_outputs` targets, as the configuration's `readout` says: the ridge's normal
    /// equations, or recursive least squares from `P = I / lambda`.
    pub fn readout_fitter(&self, n_outputs: usize) -> Result<ReadoutFitter, EsnError> {
        let n = self.n_units();
        Ok(match self.config.readout {
            ReadoutFit::Ridge => ReadoutFitter::Ridge(NormalEquations::new(n, n_outputs)),
            ReadoutFit::Rls { forgetting } => {
                ReadoutFitter::Rls(Rls::new(n, n_outputs, self.config.lambda, forgetting)?)
            }
        })
    }

    /// The readout `fitter` has learnt, at the configuration's `lambda`, its coefficients quantised as the
    /// configuration's `readout_bits` asks (as [`ReservoirValidParams::fit`] does).
    pub fn finish_readout(&self, fitter: &ReadoutFitter) -> Result<Ridge, EsnError> {
        let ridge = match fitter {
            ReadoutFitter::Ridge(ne) => ne.solve(self.config.lambda)?,
            ReadoutFitter::Rls(rls) => rls.ridge(),
        };
        let mut readout = crate::Readout::Regressor(ridge);
        readout.quantise(self.config.hardware.readout_bits);
        match readout {
            crate::Readout::Regressor(r) => Ok(r),
            crate::Readout::Classifier(c) => Ok(c.ridge),
        }
    }

    /// Steps driven since the zero state.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The state as the readout reads it, in f64: every layer's side by side, through the ADC when the
    /// configuration has one (`adc_bits`).
    pub fn read(&self) -> Array1<f64> {
        let mut out = Array1::zeros(self.n_units());
        self.read_into(&mut out);
        out
    }

    /// [`Self::read`] into `out` (`n_units`), allocating nothing when the configuration has no ADC.
    fn read_into(&self, out: &mut Array1<f64>) {
        let mut at = 0;
        for h in &self.h {
            let n = h.len();
            let mut part = out.slice_axis_mut(Axis(0), Slice::from(at..at + n));
            if self.config.hardware.adc_bits == 0 {
                match (part.as_slice_mut(), h.as_slice()) {
                    (Some(o), Some(h)) => o.iter_mut().zip(h).for_each(|(o, &v)| *o = f64::from(v)),
                    _ => part
                        .iter_mut()
                        .zip(h.iter())
                        .for_each(|(o, &v)| *o = f64::from(v)),
                }
            } else {
                let mut h = h.clone();
                self.config
                    .hardware
                    .read_states(&self.config.cell, h.view_mut());
                part.iter_mut()
                    .zip(h.iter())
                    .for_each(|(o, &v)| *o = f64::from(v));
            }
            at += n;
        }
    }

    /// Advances by one step with input `x` (one value per channel). A sample of the wrong size is
    /// [`EsnError::Shape`]; a non-finite sample or state [`EsnError::NonFinite`] naming the step (from 1) and, in a
    /// deep reservoir, the layer. After an error the state is where it was.
    pub fn push(&mut self, x: &[f64]) -> Result<(), EsnError> {
        let d = self.weights[0].n_inputs();
        if x.len() != d {
            return Err(EsnError::Shape {
                what: format!("input of step {}", self.steps + 1),
                expected: d.to_string(),
                got: x.len().to_string(),
            });
        }
        if let Some(k) = x.iter().position(|v| !v.is_finite()) {
            return Err(EsnError::NonFinite {
                what: format!("input of step {} (channel {})", self.steps + 1, k + 1),
            });
        }
        self.input
            .iter_mut()
            .zip(x)
            .for_each(|(i, &v)| *i = v as f32);
        let layers = self.weights.len();
        // Each layer's next state goes to scratch, so that after an error the state is where it was.
        for l in 0..layers {
            if let Some(step) = &self.fast {
                let (below, here) = self.next.split_at_mut(l);
                let input = match below.last() {
                    Some(b) => b.as_slice().expect("a state of our own is contiguous"),
                    None => self
                        .input
                        .as_slice()
                        .expect("an input of our own is contiguous"),
                };
                let w = &self.weights[l];
                let next = here[0]
                    .as_slice_mut()
                    .expect("a state of our own is contiguous");
                next.copy_from_slice(
                    self.h[l]
                        .as_slice()
                        .expect("a state of our own is contiguous"),
                );
                step.step(
                    input,
                    w.w_in.as_slice().expect("checked at construction"),
                    w.w_rec.as_slice().expect("checked at construction"),
                    w.bias.as_slice().expect("checked at construction"),
                    next,
                    self.pre[l]
                        .as_slice_mut()
                        .expect("scratch of our own is contiguous"),
                );
                self.check_finite(l, layers)?;
                continue;
            }
            let input = if l == 0 {
                self.input.view()
            } else {
                self.next[l - 1].view()
            };
            crate::stream::pre_activation(
                &self.weights[l],
                input,
                self.h[l].view(),
                &mut self.pre[l],
            );
            self.next[l].assign(&self.h[l]);
            match &self.config.cell {
                CellKind::Mf(cell) if !self.devices[l].is_ideal() => crate::model::step_on_devices(
                    cell,
                    &self.devices[l],
                    self.pre[l].view(),
                    self.next[l].view_mut(),
                    0,
                    self.steps,
                ),
                cell => {
                    self.config
                        .integrator
                        .update(cell, self.pre[l].view(), self.next[l].view_mut())
                }
            }
            self.check_finite(l, layers)?;
        }
        std::mem::swap(&mut self.h, &mut self.next);
        self.steps += 1;
        Ok(())
    }

    /// An error naming the step (and the layer of a deep reservoir) when layer `l`'s next state is not finite.
    fn check_finite(&self, l: usize, layers: usize) -> Result<(), EsnError> {
        // The states are bounded (the cells' ranges), so their sum is finite exactly when each is.
        if self.next[l].sum().is_finite() {
            return Ok(());
        }
        let layer = if layers > 1 {
            format!(" of layer {}", l + 1)
        } else {
            String::new()
        };
        Err(EsnError::NonFinite {
            what: format!("reservoir state{layer} after step {}", self.steps + 1),
        })
    }

    /// Drives the reservoir along every row of `inputs` (`(n_steps, n_inputs)`), calling `on_state(t, state)` after
    /// each step with the step's index in `inputs` and the state as the readout reads it.
    pub fn drive(
        &mut self,
        inputs: ArrayView2<'_, f64>,
        mut on_state: impl FnMut(usize, ArrayView1<'_, f64>) -> Result<(), EsnError>,
    ) -> Result<(), EsnError> {
        let mut x = vec![0.0; inputs.ncols()];
        let mut state = Array1::zeros(self.n_units());
        for (t, row) in inputs.rows().into_iter().enumerate() {
            x.iter_mut().zip(row).for_each(|(x, &v)| *x = v);
            self.push(&x)?;
            self.read_into(&mut state);
            on_state(t, state.view())?;
        }
        Ok(())
    }
}

/// The normal equations of a ridge readout with an unpenalised intercept, accumulated over blocks of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalEquations {
    n: usize,
    /// The shift the sums are taken about: the first row block's means (`x`, then `y`).
    shift_x: Array1<f64>,
    shift_y: Array1<f64>,
    sum_x: Array1<f64>,
    sum_y: Array1<f64>,
    xx: Array2<f64>,
    xy: Array2<f64>,
}

impl NormalEquations {
    /// Empty sums for `n_features` inputs and `n_outputs` targets.
    pub fn new(n_features: usize, n_outputs: usize) -> Self {
        Self {
            n: 0,
            shift_x: Array1::zeros(n_features),
            shift_y: Array1::zeros(n_outputs),
            sum_x: Array1::zeros(n_features),
            sum_y: Array1::zeros(n_outputs),
            xx: Array2::zeros((n_features, n_features)),
            xy: Array2::zeros((n_features, n_outputs)),
        }
    }

    /// Rows added so far.
    pub fn rows(&self) -> usize {
        self.n
    }

    /// Adds the rows of `x` (`(n, n_features)`) with their targets `y` (`(n, n_outputs)`). Non-finite values are
    /// [`EsnError::NonFinite`] and leave the sums as they were.
    pub fn add(&mut self, x: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<(), EsnError> {
        let (p, q) = (self.sum_x.len(), self.sum_y.len());
        if x.ncols() != p || y.ncols() != q || x.nrows() != y.nrows() {
            return Err(EsnError::Shape {
                what: "rows of the readout's normal equations".into(),
                expected: format!("(n, {p}) states and (n, {q}) targets"),
                got: format!("{:?} and {:?}", x.dim(), y.dim()),
            });
        }
        if x.is_empty() && y.is_empty() {
            return Ok(());
        }
        if x.iter().chain(y.iter()).any(|v| !v.is_finite()) {
            return Err(EsnError::NonFinite {
                what: "readout rows".into(),
            });
        }
        if self.n == 0 && x.nrows() > 0 {
            self.shift_x = x.mean_axis(Axis(0)).expect("rows");
            self.shift_y = y.mean_axis(Axis(0)).expect("rows");
        }
        let xs = &x - &self.shift_x;
        let ys = &y - &self.shift_y;
        self.sum_x += &xs.sum_axis(Axis(0));
        self.sum_y += &ys.sum_axis(Axis(0));
        self.xx += &xs.t().dot(&xs);
        self.xy += &xs.t().dot(&ys);
        self.n += x.nrows();
        Ok(())
    }

    /// The ridge readout minimising `||Y - X W - 1 c'||^2 + lambda ||W||^2` over every row added, the intercept
    /// `c` unpenalised (as [`Ridge::fit_arrays`]). Solved by Cholesky of `X_c'X_c + lambda I`; a singular system
    /// (`lambda = 0` on dependent states) is [`EsnError::Numerical`].
    pub fn solve(&self, lambda: f64) -> Result<Ridge, EsnError> {
        crate::ridge::check_lambda(lambda)?;
        if self.n == 0 {
            return Err(EsnError::Targets(
                "the readout has no rows to fit: the training segment is empty".into(),
            ));
        }
        let n = self.n as f64;
        let (p, q) = (self.sum_x.len(), self.sum_y.len());
        let mx = &self.sum_x / n;
        let my = &self.sum_y / n;
        // Centred about the mean: X_c'X_c = S_xx - n m_x m_x', X_c'Y_c = S_xy - n m_x m_y'.
        let g = Mat::<f64>::from_fn(p, p, |i, j| {
            self.xx[[i, j]] - n * mx[i] * mx[j] + if i == j { lambda } else { 0.0 }
        });
        let rhs = Mat::<f64>::from_fn(p, q, |i, j| self.xy[[i, j]] - n * mx[i] * my[j]);
        let llt = g.llt(Side::Lower).map_err(|_| {
            EsnError::Numerical(format!(
                "the readout's normal equations are singular at lambda = {lambda}: raise lambda"
            ))
        })?;
        let sol = faer::prelude::Solve::solve(&llt, &rhs);
        let coef = Array2::from_shape_fn((p, q), |(i, j)| sol[(i, j)]);
        if coef.iter().any(|v| !v.is_finite()) {
            return Err(EsnError::NonFinite {
                what: "ridge coefficients".into(),
            });
        }
        let x_mean = &mx + &self.shift_x;
        let y_mean = &my + &self.shift_y;
        let intercept = &y_mean - &x_mean.dot(&coef);
        Ok(Ridge {
            coef,
            intercept,
            lambda,
        })
    }
}

/// A readout being fitted along a signal (made by [`SequenceReservoir::readout_fitter`]).
#[derive(Debug, Clone, PartialEq)]
pub enum ReadoutFitter {
    /// The ridge's normal equations, solved at the end.
    Ridge(NormalEquations),
    /// Recursive least squares, updated row by row.
    Rls(Rls),
}

impl ReadoutFitter {
    /// Adds the rows of `x` with their targets `y`, in time order.
    pub fn add(&mut self, x: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<(), EsnError> {
        match self {
            ReadoutFitter::Ridge(ne) => ne.add(x, y),
            ReadoutFitter::Rls(rls) => {
                if x.nrows() != y.nrows() {
                    return Err(EsnError::Shape {
                        what: "rows of the recursive least squares readout".into(),
                        expected: x.nrows().to_string(),
                        got: y.nrows().to_string(),
                    });
                }
                x.rows()
                    .into_iter()
                    .zip(y.rows())
                    .try_for_each(|(xr, yr)| rls.update(xr, yr))
            }
        }
    }
}

/// A recursive-least-squares readout: `y = W' [x, 1]`, updated with every row it is given.
#[derive(Debug, Clone, PartialEq)]
pub struct Rls {
    /// Weights, `(n_features + 1, n_outputs)`; the last row is the bias.
    w: Array2<f64>,
    /// The inverse correlation matrix `P`, `(n_features + 1)^2`.
    p: Array2<f64>,
    forgetting: f64,
    updates: usize,
}

impl Rls {
    /// A readout for `n_features` inputs and `n_outputs` targets at zero weights, `P = I / alpha`, with forgetting
    /// factor `forgetting` in `(0, 1]` (1 forgets nothing). `alpha > 0` is the ridge penalty it starts from.
    pub fn new(
        n_features: usize,
        n_outputs: usize,
        alpha: f64,
        forgetting: f64,
    ) -> Result<Self, EsnError> {
        if !(alpha > 0.0 && alpha.is_finite()) {
            return Err(EsnError::Param {
                name: "lambda",
                value: alpha,
                reason: "the recursive least squares readout starts from P = I / lambda: it must be positive",
            });
        }
        if !(forgetting > 0.0 && forgetting <= 1.0) {
            return Err(EsnError::Param {
                name: "forgetting",
                value: forgetting,
                reason: "must be in (0, 1] (1 forgets nothing)",
            });
        }
        let m = n_features + 1;
        Ok(Self {
            w: Array2::zeros((m, n_outputs)),
            p: Array2::eye(m) / alpha,
            forgetting,
            updates: 0,
        })
    }

    /// Rows it has learnt from.
    pub fn updates(&self) -> usize {
        self.updates
    }

    /// The prediction `W' [x, 1]` for one row `x`.
    pub fn predict(&self, x: ArrayView1<'_, f64>) -> Array1<f64> {
        let m = self.w.nrows();
        let mut y = self.w.row(m - 1).to_owned();
        y += &self.w.slice_axis(Axis(0), Slice::from(..m - 1)).t().dot(&x);
        y
    }

    /// Learns from one row `x` with its target `y`. Non-finite values are [`EsnError::NonFinite`] and change
    /// nothing.
    pub fn update(
        &mut self,
        x: ArrayView1<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<(), EsnError> {
        let m = self.w.nrows();
        if x.len() + 1 != m || y.len() != self.w.ncols() {
            return Err(EsnError::Shape {
                what: "recursive least squares row".into(),
                expected: format!("{} inputs and {} targets", m - 1, self.w.ncols()),
                got: format!("{} and {}", x.len(), y.len()),
            });
        }
        if x.iter().chain(y.iter()).any(|v| !v.is_finite()) {
            return Err(EsnError::NonFinite {
                what: "recursive least squares row".into(),
            });
        }
        let mut a = Array1::ones(m);
        a.slice_axis_mut(Axis(0), Slice::from(..m - 1)).assign(&x);
        let pa = self.p.dot(&a);
        let gain = &pa / (self.forgetting + a.dot(&pa));
        let err = &y - &self.w.t().dot(&a);
        // w <- w + k e',  P <- (P - k (P a)') / lambda_f  (P symmetric, so a' P = (P a)').
        self.w += &gain
            .view()
            .insert_axis(Axis(1))
            .dot(&err.view().insert_axis(Axis(0)));
        let kp = gain
            .view()
            .insert_axis(Axis(1))
            .dot(&pa.view().insert_axis(Axis(0)));
        self.p = (&self.p - &kp) / self.forgetting;
        self.updates += 1;
        Ok(())
    }

    /// The weights, `(n_features + 1, n_outputs)`, the bias last.
    pub fn weights(&self) -> ArrayView2<'_, f64> {
        self.w.view()
    }

    /// The readout as a [`Ridge`] (coefficients and intercept), to predict like the closed-form one. Its
    /// `lambda` is the `alpha` it started from only in name: the bias is penalised too.
    pub fn ridge(&self) -> Ridge {
        let m = self.w.nrows();
        Ridge {
            coef: self.w.slice_axis(Axis(0), Slice::from(..m - 1)).to_owned(),
            intercept: self.w.row(m - 1).to_owned(),
            lambda: f64::NAN,
        }
    }
}

/// Jaeger's linear memory capacity (GMD Report 152, 2002) of a reservoir from its states driven by the i.i.d.
/// input `u`: for each delay `k = 1..=max_delay` a linear readout, fitted by `fit` on the `train` rows (states,
/// then the delayed inputs as targets; e.g. [`NormalEquations`]), reproduces `u(t - k)`, and `MC_k` is the squared correlation of its output with `u(t - k)` over the `test` rows.
/// `states` is `(T, N)`, `u` has `T` values, and both row ranges must start at or after `max_delay`. Returns the
/// curve `MC_1..MC_max_delay`.
pub fn memory_capacity(
    states: ArrayView2<'_, f64>,
    u: &[f64],
    train: std::ops::Range<usize>,
    test: std::ops::Range<usize>,
    max_delay: usize,
    fit: impl FnOnce(ArrayView2<'_, f64>, ArrayView2<'_, f64>) -> Result<Ridge, EsnError>,
) -> Result<Vec<f64>, EsnError> {
    let t = states.nrows();
    if u.len() != t
        || train.start < max_delay
        || test.start < max_delay
        || train.end > t
        || test.end > t
    {
        return Err(EsnError::Shape {
            what: "memory capacity rows".into(),
            expected: format!("{t} input values and segments after the first {max_delay} steps"),
            got: format!("{} values, train {train:?}, test {test:?}", u.len()),
        });
    }
    let delayed = |rows: std::ops::Range<usize>| {
        Array2::from_shape_fn((rows.len(), max_delay), |(i, k)| {
            u[rows.start + i - (k + 1)]
        })
    };
    let readout = fit(
        states.slice_axis(Axis(0), Slice::from(train.clone())),
        delayed(train).view(),
    )?;
    let y_hat = readout.decision(&states.slice_axis(Axis(0), Slice::from(test.clone())));
    let y = delayed(test);
    Ok((0..max_delay)
        .map(|k| squared_correlation(y_hat.column(k), y.column(k)))
        .collect())
}

/// The squared Pearson correlation of `a` and `b`; 0 when either is constant.
pub fn squared_correlation(a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.sum() / n, b.sum() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b.iter()) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 || sbb == 0.0 {
        0.0
    } else {
        sab * sab / (saa * sbb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Esn, MfEsn};
    use linfa::ParamGuard;
    use mf_core::rng::rng_from_seed;
    use rand::Rng;

    fn rows(n: usize, p: usize, q: usize, seed: u64) -> (Array2<f64>, Array2<f64>) {
        let mut r = rng_from_seed(seed);
        let x = Array2::from_shape_fn((n, p), |_| 3.0 + r.random_range(-1.0..1.0));
        let w = Array2::from_shape_fn((p, q), |_| r.random_range(-1.0..1.0));
        let y = x.dot(&w) + 0.1 * Array2::from_shape_fn((n, q), |_| r.random_range(-1.0..1.0));
        (x, y)
    }

    fn close(a: &Array2<f64>, b: &Array2<f64>, tol: f64) -> bool {
        a.iter()
            .zip(b.iter())
            .all(|(x, y)| (x - y).abs() <= tol * (1.0 + y.abs()))
    }

    #[test]
    fn blockwise_normal_equations_give_the_ridge_of_all_rows_at_once() {
        let (x, y) = rows(500, 12, 3, 1);
        for lambda in [1e-3, 1.0] {
            let whole = Ridge::fit_arrays(x.view(), y.view(), lambda).unwrap();
            let mut ne = NormalEquations::new(12, 3);
            for start in (0..500).step_by(77) {
                let end = (start + 77).min(500);
                ne.add(
                    x.slice_axis(Axis(0), Slice::from(start..end)),
                    y.slice_axis(Axis(0), Slice::from(start..end)),
                )
                .unwrap();
            }
            assert_eq!(ne.rows(), 500);
            let blocks = ne.solve(lambda).unwrap();
            assert!(close(&blocks.coef, &whole.coef, 1e-9), "lambda {lambda}");
            let bi = blocks.intercept.clone().insert_axis(Axis(0));
            let wi = whole.intercept.clone().insert_axis(Axis(0));
            assert!(close(&bi, &wi, 1e-9));
        }
        assert!(NormalEquations::new(2, 1).solve(1.0).is_err());
    }

    #[test]
    fn rls_without_forgetting_from_p_equal_i_over_alpha_is_the_ridge_with_a_penalised_bias() {
        let (x, y) = rows(300, 6, 2, 2);
        let alpha = 0.5;
        let mut rls = Rls::new(6, 2, alpha, 1.0).unwrap();
        for (xr, yr) in x.rows().into_iter().zip(y.rows()) {
            rls.update(xr, yr).unwrap();
        }
        // The closed form on A = [X, 1]: (A'A + alpha I) w = A'Y, solved independently here.
        let a = ndarray::concatenate![Axis(1), x, Array2::ones((300, 1))];
        let g = a.t().dot(&a) + Array2::<f64>::eye(7) * alpha;
        let rhs = a.t().dot(&y);
        let gm = Mat::<f64>::from_fn(7, 7, |i, j| g[[i, j]]);
        let rm = Mat::<f64>::from_fn(7, 2, |i, j| rhs[[i, j]]);
        let sol = faer::prelude::Solve::solve(&gm.partial_piv_lu(), &rm);
        let want = Array2::from_shape_fn((7, 2), |(i, j)| sol[(i, j)]);
        assert!(
            close(&rls.weights().to_owned(), &want, 1e-7),
            "{:?}\n{want:?}",
            rls.weights()
        );
        // Its prediction is the row's product with those weights.
        let p = rls.predict(x.row(0));
        let direct = a.row(0).dot(&want);
        assert!((p[0] - direct[0]).abs() < 1e-6);
        // Forgetting weighs recent rows more: it tracks a target that changes half way.
        let mut fast = Rls::new(1, 1, 1.0, 0.95).unwrap();
        let mut slow = Rls::new(1, 1, 1.0, 1.0).unwrap();
        for t in 0..400 {
            let xv = ndarray::arr1(&[(t as f64 * 0.3).sin()]);
            let gain = if t < 200 { 1.0 } else { -1.0 };
            let yv = ndarray::arr1(&[gain * xv[0]]);
            fast.update(xv.view(), yv.view()).unwrap();
            slow.update(xv.view(), yv.view()).unwrap();
        }
        assert!(
            (fast.weights()[[0, 0]] + 1.0).abs() < 0.05,
            "{}",
            fast.weights()[[0, 0]]
        );
        assert!(slow.weights()[[0, 0]].abs() < 0.5);
        assert!(Rls::new(1, 1, 0.0, 1.0).is_err() && Rls::new(1, 1, 1.0, 1.5).is_err());
    }

    /// A readout fit by the ridge's normal equations at `lambda`.
    fn ridge(
        lambda: f64,
    ) -> impl FnOnce(ArrayView2<'_, f64>, ArrayView2<'_, f64>) -> Result<Ridge, EsnError> {
        move |x, y| {
            let mut ne = NormalEquations::new(x.ncols(), y.ncols());
            ne.add(x, y)?;
            ne.solve(lambda)
        }
    }

    /// States of `params`'s reservoir drawn from `seed`, driven by `u`.
    fn driven(params: &ReservoirValidParams, u: &[f64], seed: u64) -> Array2<f64> {
        let mut r = params.draw_for_sequence(1, seed).unwrap();
        let mut states = Array2::zeros((u.len(), r.n_units()));
        let inputs = Array2::from_shape_fn((u.len(), 1), |(t, _)| u[t]);
        r.drive(inputs.view(), |t, h| {
            states.row_mut(t).assign(&h);
            Ok(())
        })
        .unwrap();
        states
    }

    #[test]
    fn a_linear_reservoir_remembers_close_to_n_and_one_without_input_weights_nothing() {
        let n = 20;
        let mut r = rng_from_seed(9);
        let u: Vec<f64> = (0..6000).map(|_| r.random_range(-0.5..0.5)).collect();
        // An ESN with alpha = 1 and a small input scaling is nearly linear: tanh(a) ~ a for |a| << 1.
        let linear = Esn::params()
            .n_units(n)
            .alpha(1.0)
            .omega(0.01)
            .beta(0.0)
            .rho(0.95)
            .lambda(1e-12)
            .check()
            .unwrap();
        let states = driven(&linear, &u, 3);
        let mc = memory_capacity(
            states.view(),
            &u,
            100..4000,
            4000..6000,
            2 * n,
            ridge(1e-12),
        )
        .unwrap();
        let total: f64 = mc.iter().sum();
        assert!(
            total > 0.8 * n as f64 && total <= n as f64 + 1.0,
            "MC {total}: {mc:?}"
        );
        assert!(mc[0] > 0.95, "{mc:?}");
        // No input weights: the states carry nothing of u.
        let deaf = Esn::params().n_units(n).omega(0.0).check().unwrap();
        let states = driven(&deaf, &u, 3);
        let mc =
            memory_capacity(states.view(), &u, 100..4000, 4000..6000, 2 * n, ridge(1e-6)).unwrap();
        assert!(mc.iter().sum::<f64>() < 0.05, "{mc:?}");
    }

    #[test]
    fn the_configured_readout_decides_the_fitter_and_series_refuse_rls() {
        let rls = Esn::params()
            .n_units(8)
            .lambda(0.5)
            .readout(ReadoutFit::Rls { forgetting: 1.0 })
            .check()
            .unwrap();
        let r = rls.draw_for_sequence(1, 2).unwrap();
        let (x, y) = rows(50, 8, 1, 5);
        let mut fitter = r.readout_fitter(1).unwrap();
        fitter.add(x.view(), y.view()).unwrap();
        let mut direct = Rls::new(8, 1, 0.5, 1.0).unwrap();
        for (xr, yr) in x.rows().into_iter().zip(y.rows()) {
            direct.update(xr, yr).unwrap();
        }
        let got = r.finish_readout(&fitter).unwrap();
        assert_eq!(got.coef, direct.ridge().coef);
        assert_eq!(got.intercept, direct.ridge().intercept);
        // Ridge by default.
        let plain = Esn::params().n_units(8).check().unwrap();
        let f = plain
            .draw_for_sequence(1, 2)
            .unwrap()
            .readout_fitter(1)
            .unwrap();
        assert!(matches!(f, ReadoutFitter::Ridge(_)));
        // A data set of separate series has no time order to fit along.
        let (sx, sy) = mf_core::fixtures::sine_classes(6, 5..=8, 1);
        let e = rls.fit(&sx, &sy, 0).unwrap_err().to_string();
        assert!(e.contains("readout") && e.contains("sequence tasks"), "{e}");
        for bad in [0.0, 1.5] {
            let p = Esn::params().readout(ReadoutFit::Rls { forgetting: bad });
            assert!(p.check().is_err(), "{bad}");
        }
    }

    /// The sequence path runs the batch harvest's vectorised update (`mf_core::harvest::VectorStep`), the
    /// streams the cell's own: the same states to f32 rounding.
    fn close_states(got: &[f64], want: &[f64], step: usize) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-5 * w.abs() + 1e-9,
                "step {step}: {g} vs {w}"
            );
        }
    }

    #[test]
    fn a_deep_sequence_reservoir_steps_as_the_fitted_deep_models_stream() {
        use mf_core::Recurrent;
        let mut deep = crate::DeepConfig::mf_esn(3);
        deep.layer.n_units = 7;
        let (x, y) = mf_core::fixtures::sine_classes(6, 5..=8, 1);
        let fitted = deep.fit(&x, &y, 4).unwrap();
        let mut r = deep.draw_for_sequence(1, 4).unwrap();
        assert_eq!((r.weights().len(), r.n_units()), (3, 21));
        let mut s = fitted.stream();
        for t in 0..30 {
            let v = (t as f64 * 0.3).sin();
            r.push(&[v]).unwrap();
            s.push(&[v as f32]).unwrap();
            let want: Vec<f64> = s.state().iter().map(|&v| f64::from(v)).collect();
            close_states(&r.read().to_vec(), &want, t);
        }
    }

    #[test]
    fn the_sequence_reservoir_steps_as_the_fitted_reservoirs_stream() {
        use mf_core::Recurrent;
        let params = MfEsn::params().n_units(15).dt(0.1).check().unwrap();
        let u: Vec<f64> = (0..40).map(|t| (t as f64 * 0.2).sin()).collect();
        let states = driven(&params, &u, 4);
        // The fitted model of the same seed has the same weights; its stream runs the same steps.
        let (x, y) = mf_core::fixtures::sine_classes(6, 5..=8, 1);
        let fitted = params.fit(&x, &y, 4).unwrap();
        let mut s = fitted.stream();
        for (t, &v) in u.iter().enumerate() {
            s.push(&[v as f32]).unwrap();
            let h = s.state().mapv(f64::from);
            close_states(&states.row(t).to_vec(), &h.to_vec(), t);
        }
        let mut r = params.draw_for_sequence(1, 4).unwrap();
        assert!(r.push(&[f64::NAN]).is_err() && r.steps() == 0);
        assert!(r.push(&[1.0, 2.0]).is_err());
    }
}
