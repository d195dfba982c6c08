//! Time-series *processing* tasks as reservoir computing runs them: one long input signal with a
//! target at every step, cut into contiguous washout, training, validation and test segments
//! (never shuffled), and scored by the normalised root mean square error.
//!
//! The definitions follow section 9 of the workspace SPEC and the sources cited on each item:
//! NARMA-10 (Atiya and Parlos 2000; Jaeger 2003), Mackey-Glass with `tau = 17` (Jaeger, GMD Report
//! 148, 2001), Lorenz-63 (valid prediction time as in Pathak et al. 2018 and Vlachas et al. 2020),
//! linear memory capacity (Jaeger, GMD Report 152, 2002) and NRMSE (Lukosevicius, "A Practical
//! Guide to Applying Echo State Networks", 2012).
//!
//! Every random draw comes from `ChaCha8Rng::seed_from_u64(seed)`, as everywhere in this crate, so
//! a seed fixes the signal; the generator's parameters and the seed are written into
//! [`Signal::source`].
//!
//! A long signal of your own (CSV, Parquet or Arrow IPC, one row per step and one column per
//! channel) becomes a next-step prediction task with [`load_signal`].
//!
//! ```
//! use mf_data::sequence::{narma10, nrmse, Segments};
//!
//! let signal = narma10(1_000, 7)?;
//! let seg = Segments::default_for(signal.len())?; // washout 100, then 60/20/20
//! let (_u, y) = signal.segment(seg.test())?;
//! assert_eq!(nrmse(y, y)?, 0.0);
//! # Ok::<(), mf_data::DataError>(())
//! ```

use std::ops::Range;

use ndarray::{Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::DataError;

mod load;

pub use load::{load_signal, SIGNAL_EXTENSIONS, TIME_COLUMNS};

fn param(name: &'static str, msg: impl Into<String>) -> DataError {
    DataError::Param {
        name,
        msg: msg.into(),
    }
}

/// One long signal for a sequence processing task: an input and a target at every step.
///
/// Row `t` of [`Signal::inputs`] is what the model sees at step `t`; row `t` of
/// [`Signal::targets`] is what it should output after seeing the inputs up to and including step
/// `t`. Both have the same number of rows (steps) `T > 0` and every value is finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    name: String,
    source: String,
    inputs: Array2<f64>,
    targets: Array2<f64>,
}

impl Signal {
    /// Checks and wraps a signal. `inputs` is `(n_steps, n_inputs)` with `n_inputs >= 1`;
    /// `targets` is `(n_steps, n_outputs)`, where `n_outputs` may be 0 for a signal whose targets
    /// are derived later (as [`memory_capacity_input`]'s are). `name` names the task, `source`
    /// says what generated it (parameters and seed).
    ///
    /// Fails on zero steps, zero input channels, different step counts, or a non-finite value
    /// ([`DataError::NonFinite`] names the part, step and channel of the first one).
    pub fn new(
        name: impl Into<String>,
        source: impl Into<String>,
        inputs: Array2<f64>,
        targets: Array2<f64>,
    ) -> Result<Signal, DataError> {
        let name = name.into();
        let (n_steps, n_inputs) = inputs.dim();
        if n_steps == 0 {
            return Err(param("inputs", format!("signal {name} has no steps")));
        }
        if n_inputs == 0 {
            return Err(param(
                "inputs",
                format!("signal {name} has no input channel"),
            ));
        }
        if targets.nrows() != n_steps {
            return Err(param(
                "targets",
                format!(
                    "signal {name} has {n_steps} input steps but {} target steps",
                    targets.nrows()
                ),
            ));
        }
        for (part, a) in [("inputs", &inputs), ("targets", &targets)] {
            if let Some(((step, channel), &value)) = a.indexed_iter().find(|(_, v)| !v.is_finite())
            {
                return Err(DataError::NonFinite {
                    name,
                    part,
                    step,
                    channel,
                    value,
                });
            }
        }
        Ok(Signal {
            name,
            source: source.into(),
            inputs,
            targets,
        })
    }

    /// The task's name (`"narma10"`, `"mackey-glass"`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What generated the signal, with its parameters and seed.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The inputs, `(n_steps, n_inputs)`.
    pub fn inputs(&self) -> &Array2<f64> {
        &self.inputs
    }

    /// The targets, `(n_steps, n_outputs)`; row `t` is the output wanted after input row `t`.
    pub fn targets(&self) -> &Array2<f64> {
        &self.targets
    }

    /// The number of steps `T` (always at least 1).
    pub fn len(&self) -> usize {
        self.inputs.nrows()
    }

    /// Always false: a signal has at least one step.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The number of input channels.
    pub fn n_inputs(&self) -> usize {
        self.inputs.ncols()
    }

    /// The number of target channels (0 for [`memory_capacity_input`]).
    pub fn n_outputs(&self) -> usize {
        self.targets.ncols()
    }

    /// The rows `range` of the inputs and of the targets, e.g. `signal.segment(seg.train())`.
    /// Fails if the range is reversed or runs past the end.
    pub fn segment(
        &self,
        range: Range<usize>,
    ) -> Result<(ArrayView2<'_, f64>, ArrayView2<'_, f64>), DataError> {
        if range.start > range.end || range.end > self.len() {
            return Err(param(
                "range",
                format!(
                    "rows {}..{} do not lie within the {} steps of signal {}",
                    range.start,
                    range.end,
                    self.len(),
                    self.name
                ),
            ));
        }
        let rows = ndarray::Slice::from(range);
        Ok((
            self.inputs.slice_axis(Axis(0), rows),
            self.targets.slice_axis(Axis(0), rows),
        ))
    }

    /// Consumes the signal, returning `(inputs, targets)`.
    pub fn into_parts(self) -> (Array2<f64>, Array2<f64>) {
        (self.inputs, self.targets)
    }
}

/// Steps dropped before training by [`Segments::default_for`]: the reservoir is driven from a zero
/// state and its first states still remember it (SPEC section 9: commonly 100-1000 steps).
pub const DEFAULT_WASHOUT: usize = 100;
/// Share of the steps after the washout that [`Segments::default_for`] gives to training.
pub const DEFAULT_TRAIN_FRACTION: f64 = 0.6;
/// Share of the steps after the washout that [`Segments::default_for`] gives to validation; the
/// test segment gets the remaining 0.2.
pub const DEFAULT_VALIDATION_FRACTION: f64 = 0.2;
/// The fewest steps a training, validation or test segment may have: two, the fewest with a
/// variance for [`nrmse`].
pub const MIN_SEGMENT_STEPS: usize = 2;

/// A split of `n_steps` steps into contiguous segments, in time order: washout, train,
/// validation, test (SPEC section 9, after Lukosevicius 2012). Nothing is shuffled: each segment
/// starts where the previous one ends. Steps after the test segment, if any, are unused.
///
/// The washout may be empty; train, validation and test have at least [`MIN_SEGMENT_STEPS`]
/// steps each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    n_steps: usize,
    washout: usize,
    train: usize,
    validation: usize,
    test: usize,
}

impl Segments {
    /// Segments of the given lengths, in order from step 0; their sum must not exceed `n_steps`
    /// (the remainder at the end is left unused). Fails if train, validation or test is shorter
    /// than [`MIN_SEGMENT_STEPS`] or the segments do not fit.
    pub fn from_counts(
        n_steps: usize,
        washout: usize,
        train: usize,
        validation: usize,
        test: usize,
    ) -> Result<Segments, DataError> {
        for (name, len) in [("train", train), ("validation", validation), ("test", test)] {
            if len < MIN_SEGMENT_STEPS {
                return Err(param(
                    name,
                    format!("segment of {len} steps is too short (at least {MIN_SEGMENT_STEPS})"),
                ));
            }
        }
        let total = [washout, train, validation, test]
            .iter()
            .try_fold(0usize, |acc, &n| acc.checked_add(n));
        match total {
            Some(total) if total <= n_steps => Ok(Segments {
                n_steps,
                washout,
                train,
                validation,
                test,
            }),
            _ => Err(param(
                "n_steps",
                format!(
                    "washout {washout} + train {train} + validation {validation} + test {test} \
                     steps exceed the {n_steps} steps of the signal"
                ),
            )),
        }
    }

    /// Drops `washout` steps, then gives `round(rest * train)` steps to training,
    /// `round(rest * validation)` to validation and the remainder to test, where
    /// `rest = n_steps - washout`. The fractions must be positive and finite with
    /// `train + validation < 1`; the segments must be at least [`MIN_SEGMENT_STEPS`] long.
    pub fn from_fractions(
        n_steps: usize,
        washout: usize,
        train: f64,
        validation: f64,
    ) -> Result<Segments, DataError> {
        for (name, f) in [("train", train), ("validation", validation)] {
            if !(f.is_finite() && f > 0.0 && f < 1.0) {
                return Err(param(name, format!("fraction {f} is not in (0, 1)")));
            }
        }
        if train + validation >= 1.0 {
            return Err(param(
                "validation",
                format!("train {train} + validation {validation} leave nothing to test"),
            ));
        }
        let rest = n_steps.checked_sub(washout).ok_or_else(|| {
            param(
                "washout",
                format!("washout of {washout} steps exceeds the {n_steps} steps of the signal"),
            )
        })?;
        let n_train = (rest as f64 * train).round() as usize;
        let n_val = (rest as f64 * validation).round() as usize;
        let n_test = rest.saturating_sub(n_train + n_val);
        Self::from_counts(n_steps, washout, n_train, n_val, n_test)
    }

    /// The house default: a washout of [`DEFAULT_WASHOUT`] (100) steps, then 60% / 20% / 20% of
    /// the rest for train / validation / test (see [`Segments::from_fractions`] for rounding).
    /// Needs at least 110 steps.
    pub fn default_for(n_steps: usize) -> Result<Segments, DataError> {
        Self::from_fractions(
            n_steps,
            DEFAULT_WASHOUT,
            DEFAULT_TRAIN_FRACTION,
            DEFAULT_VALIDATION_FRACTION,
        )
    }

    /// The number of steps of the signal this split is for.
    pub fn n_steps(&self) -> usize {
        self.n_steps
    }

    /// The dropped steps at the start, `0..washout`.
    pub fn washout(&self) -> Range<usize> {
        0..self.washout
    }

    /// The training steps, right after the washout.
    pub fn train(&self) -> Range<usize> {
        let start = self.washout;
        start..start + self.train
    }

    /// The validation steps, right after training.
    pub fn validation(&self) -> Range<usize> {
        let start = self.train().end;
        start..start + self.validation
    }

    /// The test steps, right after validation.
    pub fn test(&self) -> Range<usize> {
        let start = self.validation().end;
        start..start + self.test
    }
}

// ---------------------------------------------------------------------------------------------
// NARMA-10
// ---------------------------------------------------------------------------------------------

/// Steps of NARMA-10 run from `y = 0` and discarded before the returned signal starts.
pub const NARMA10_TRANSIENT: usize = 200;
/// Once `y(t) > 14` the NARMA-10 recursion has diverged for certain: every `y` is non-negative
/// (all terms are, from `y = 0` with `u >= 0`), so the sum of the last ten outputs is at least
/// `y(t)` and `y(t+1) >= 0.3 y(t) + 0.05 y(t)^2 + 0.1 > y(t)`, and the growth only speeds up.
pub const NARMA10_DIVERGENCE_BOUND: f64 = 14.0;
/// How many input draws [`narma10`] tries (the first plus redraws) before giving up.
pub const NARMA10_MAX_DRAWS: usize = 16;

/// One NARMA-10 draw from ChaCha8 stream `stream` of `seed`: `Ok((u, y))` with `y[t] = y(t+1)`,
/// or `Err(step)`, the step of the returned signal (0 if still in the transient) whose new `y`
/// exceeded [`NARMA10_DIVERGENCE_BOUND`] or was not finite.
fn narma10_draw(n: usize, seed: u64, stream: u64) -> Result<(Vec<f64>, Vec<f64>), usize> {
    let total = n + NARMA10_TRANSIENT;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    let u: Vec<f64> = (0..total).map(|_| rng.random_range(0.0..0.5)).collect();
    // ys[t] holds y(t); y(0..=9) = 0, as u(t - 9) only exists from t = 9 on.
    let mut ys = vec![0.0; total + 1];
    for t in 9..total {
        let sum: f64 = ys[t - 9..=t].iter().sum();
        let next = 0.3 * ys[t] + 0.05 * ys[t] * sum + 1.5 * u[t - 9] * u[t] + 0.1;
        if !(next.is_finite() && next <= NARMA10_DIVERGENCE_BOUND) {
            return Err(t.saturating_sub(NARMA10_TRANSIENT));
        }
        ys[t + 1] = next;
    }
    Ok((
        u[NARMA10_TRANSIENT..].to_vec(),
        ys[NARMA10_TRANSIENT + 1..].to_vec(),
    ))
}

/// NARMA-10 (Atiya and Parlos, IEEE TNN 2000; Jaeger, NIPS 2003; SPEC section 9): input
/// `u(t) ~ U[0, 0.5)` i.i.d. and target `y` from
/// `y(t+1) = 0.3 y(t) + 0.05 y(t) sum_{i=0..9} y(t-i) + 1.5 u(t-9) u(t) + 0.1`,
/// started from `y = 0`, with the first [`NARMA10_TRANSIENT`] (200) steps discarded.
///
/// Alignment: row `t` holds input `u(t)` and target `y(t+1)`, the output the model should give
/// after seeing `u` up to and including `u(t)` (the recursion's new term `1.5 u(t-9) u(t)` uses
/// the current input). Shapes `(n_steps, 1)` and `(n_steps, 1)`.
///
/// Divergence: the recursion blows up for some input draws. A draw whose `y` exceeds
/// [`NARMA10_DIVERGENCE_BOUND`] (14, beyond which divergence is certain) or becomes non-finite is
/// thrown away whole, never clipped, and the inputs are drawn again from the next ChaCha8 stream
/// of the same seed (`ChaCha8Rng::seed_from_u64(seed)` with `set_stream(k)` for draw `k`; draw 0
/// is the plain seeded generator, so a signal that needs no redraw equals
/// [`crate::generate::narma10_series`] with the same seed). [`Signal::source`] records the
/// draw used. After [`NARMA10_MAX_DRAWS`] diverging draws it fails with
/// [`DataError::Diverged`].
pub fn narma10(n_steps: usize, seed: u64) -> Result<Signal, DataError> {
    if n_steps == 0 {
        return Err(param("n_steps", "need at least one step"));
    }
    let mut last_step = 0;
    for draw in 0..NARMA10_MAX_DRAWS {
        match narma10_draw(n_steps, seed, draw as u64) {
            Ok((u, y)) => {
                let source = format!(
                    "narma10: u ~ U[0, 0.5), y(t+1) = 0.3 y(t) + 0.05 y(t) sum_{{i=0..9}} y(t-i) \
                     + 1.5 u(t-9) u(t) + 0.1 from y = 0, {NARMA10_TRANSIENT} transient steps \
                     dropped; row t: input u(t), target y(t+1); seed {seed}, ChaCha8 stream \
                     {draw} ({draw} diverging draws redrawn)"
                );
                return Signal::new(
                    "narma10",
                    source,
                    Array2::from_shape_vec((n_steps, 1), u).expect("n_steps values"),
                    Array2::from_shape_vec((n_steps, 1), y).expect("n_steps values"),
                );
            }
            Err(step) => last_step = step,
        }
    }
    Err(DataError::Diverged {
        name: "narma10",
        seed,
        attempts: NARMA10_MAX_DRAWS,
        step: last_step,
    })
}

// ---------------------------------------------------------------------------------------------
// Mackey-Glass
// ---------------------------------------------------------------------------------------------

/// The Mackey-Glass delay, in time units.
pub const MACKEY_GLASS_TAU: usize = 17;
/// Integration steps per time unit of [`mackey_glass`]: RK4 with step `h = 0.01`.
pub const MACKEY_GLASS_STEPS_PER_UNIT: usize = 100;
/// Time units integrated and discarded before [`mackey_glass`]'s first sample.
pub const MACKEY_GLASS_TRANSIENT: usize = 1000;

/// The Mackey-Glass right-hand side `0.2 xd / (1 + xd^10) - 0.1 x`, `xd = x(t - tau)`.
fn mg_rhs(x: f64, xd: f64) -> f64 {
    0.2 * xd / (1.0 + xd.powi(10)) - 0.1 * x
}

/// The raw (unsquashed) Mackey-Glass samples `x(T0 + j)`, `j = 0..n`, `T0` the transient; see
/// [`mackey_glass`].
fn mackey_glass_raw(n: usize, seed: u64) -> Vec<f64> {
    const SUB: usize = MACKEY_GLASS_STEPS_PER_UNIT;
    const D: usize = MACKEY_GLASS_TAU * SUB; // the delay in integration steps
    let h = 1.0 / SUB as f64;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Ring buffers of the last D + 1 grid values and their derivatives: node m sits in slot
    // m mod (D + 1). The history on [-tau, 0] is 1.2 + U(-0.1, 0.1) per node, joined by cubic
    // Hermite pieces with zero slope at its nodes.
    let mut xs: Vec<f64> = (0..=D).map(|_| 1.2 + rng.random_range(-0.1..0.1)).collect();
    let mut fs = vec![0.0; D + 1];
    // Drawn in time order, node -D + i sits at index i; rotating by one puts it in its slot
    // (i + 1) mod (D + 1), and node 0 in slot 0.
    xs.rotate_right(1);
    fs[0] = mg_rhs(xs[0], xs[1]);
    let total = (MACKEY_GLASS_TRANSIENT + n) * SUB;
    let mut out = Vec::with_capacity(n);
    for step in 0..total {
        // Nodes: n = step (now), n - D (delayed now), n - D + 1 (delayed at the end of the step).
        let now = step % (D + 1);
        let d0 = (step + 1) % (D + 1); // slot of node step - D
        let d1 = (step + 2) % (D + 1); // slot of node step - D + 1
        let (x, xd0, xd1) = (xs[now], xs[d0], xs[d1]);
        // The delayed value at the half step from the cubic Hermite interpolant through the two
        // delayed nodes: fourth-order accurate, as RK4 needs.
        let xdm = 0.5 * (xd0 + xd1) + h / 8.0 * (fs[d0] - fs[d1]);
        let k1 = mg_rhs(x, xd0);
        let k2 = mg_rhs(x + 0.5 * h * k1, xdm);
        let k3 = mg_rhs(x + 0.5 * h * k2, xdm);
        let k4 = mg_rhs(x + h * k3, xd1);
        let next = x + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
        // Node step + 1 overwrites node step - D, no longer needed; its derivative uses node
        // step + 1 - D, which is still held.
        xs[d0] = next;
        fs[d0] = mg_rhs(next, xd1);
        if (step + 1) % SUB == 0 && step + 1 >= MACKEY_GLASS_TRANSIENT * SUB && out.len() < n {
            out.push(next);
        }
    }
    out
}

/// Mackey-Glass one-step prediction (Mackey and Glass 1977; the task of Jaeger, GMD Report 148,
/// 2001, Sec. 6.4; SPEC section 9): `dx/dt = 0.2 x(t - tau) / (1 + x(t - tau)^10) - 0.1 x(t)`
/// with `tau = 17`.
///
/// Integration: classical RK4 with step `h = 0.01` ([`MACKEY_GLASS_STEPS_PER_UNIT`]), the delay
/// being exactly 1700 steps; the delayed value at a half step comes from the cubic Hermite
/// interpolant of the two neighbouring stored nodes and their derivatives, which keeps the
/// scheme fourth-order. The initial history on `[-17, 0]` is `1.2 + U(-0.1, 0.1)` at every node
/// (drawn from the seed). The first [`MACKEY_GLASS_TRANSIENT`] (1000) time units are discarded;
/// then `x` is sampled every time unit.
///
/// Squash: as Jaeger (2001) does, the signal is `s(t) = tanh(x(t) - 1)`, which maps the attractor
/// (about `[0.2, 1.4]`) into about `(-0.7, 0.4)`.
///
/// Task: row `t` holds input `s(t)` and target `s(t + 1)` (one time unit ahead); shapes
/// `(n_steps, 1)` and `(n_steps, 1)`.
///
/// [`crate::generate::mackey_glass_series`] (kept for the windowed tasks) uses forward Euler with
/// step 0.1, whose error of order `h` is far larger than RK4's at 0.01; this generator does not
/// reuse it so that the samples satisfy the delay equation to integrator precision.
pub fn mackey_glass(n_steps: usize, seed: u64) -> Result<Signal, DataError> {
    if n_steps == 0 {
        return Err(param("n_steps", "need at least one step"));
    }
    let s: Vec<f64> = mackey_glass_raw(n_steps + 1, seed)
        .into_iter()
        .map(|x| (x - 1.0).tanh())
        .collect();
    let source = format!(
        "mackey-glass: dx/dt = 0.2 x(t-17) / (1 + x(t-17)^10) - 0.1 x(t), RK4 h = 0.01 with \
         cubic Hermite delay interpolation, history 1.2 + U(-0.1, 0.1), \
         {MACKEY_GLASS_TRANSIENT} time units dropped, sampled every time unit, squashed by \
         tanh(x - 1); row t: input s(t), target s(t+1); seed {seed}"
    );
    Signal::new(
        "mackey-glass",
        source,
        Array2::from_shape_vec((n_steps, 1), s[..n_steps].to_vec()).expect("n_steps values"),
        Array2::from_shape_vec((n_steps, 1), s[1..].to_vec()).expect("n_steps values"),
    )
}

// ---------------------------------------------------------------------------------------------
// Lorenz-63
// ---------------------------------------------------------------------------------------------

/// Lorenz-63 integration step (RK4).
pub const LORENZ63_H: f64 = 0.01;
/// Model time between two samples of [`lorenz63`] (two RK4 steps): multiply a number of steps
/// by this, then by [`LORENZ63_LYAPUNOV_EXPONENT`], to get Lyapunov times.
pub const LORENZ63_SAMPLE_DT: f64 = 0.02;
/// The largest Lyapunov exponent of Lorenz-63 at the standard parameters, 0.906 per time unit
/// (SPEC section 9; Pathak et al., PRL 120, 024102, 2018; Vlachas et al., Neural Networks 2020).
pub const LORENZ63_LYAPUNOV_EXPONENT: f64 = 0.906;
/// Model time integrated and discarded before [`lorenz63`]'s first sample.
pub const LORENZ63_TRANSIENT: f64 = 50.0;
const LORENZ63_STEPS_PER_SAMPLE: usize = 2;
const LORENZ63_TRANSIENT_STEPS: usize = 5000;

/// The Lorenz-63 vector field with `sigma = 10`, `rho = 28`, `beta = 8/3`.
fn lorenz_rhs([x, y, z]: [f64; 3]) -> [f64; 3] {
    [10.0 * (y - x), x * (28.0 - z) - y, x * y - 8.0 / 3.0 * z]
}

/// The raw Lorenz-63 samples (before normalisation), `n` of them; see [`lorenz63`].
fn lorenz63_raw(n: usize, seed: u64) -> Vec<[f64; 3]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = [
        rng.random_range(-10.0..10.0),
        rng.random_range(-10.0..10.0),
        rng.random_range(10.0..40.0),
    ];
    let axpy =
        |a: [f64; 3], k: f64, b: [f64; 3]| [a[0] + k * b[0], a[1] + k * b[1], a[2] + k * b[2]];
    let h = LORENZ63_H;
    let step = |s: [f64; 3]| {
        let k1 = lorenz_rhs(s);
        let k2 = lorenz_rhs(axpy(s, 0.5 * h, k1));
        let k3 = lorenz_rhs(axpy(s, 0.5 * h, k2));
        let k4 = lorenz_rhs(axpy(s, h, k3));
        std::array::from_fn(|i| s[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
    };
    for _ in 0..LORENZ63_TRANSIENT_STEPS {
        s = step(s);
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(s);
        for _ in 0..LORENZ63_STEPS_PER_SAMPLE {
            s = step(s);
        }
    }
    out
}

/// Lorenz-63 one-step prediction (Lorenz 1963; SPEC section 9):
/// `dx/dt = 10 (y - x)`, `dy/dt = x (28 - z) - y`, `dz/dt = x y - 8/3 z`.
///
/// Integration: RK4 with step [`LORENZ63_H`] (0.01), sampled every [`LORENZ63_SAMPLE_DT`] (0.02)
/// time units, from an initial point drawn from the seed uniformly in
/// `[-10, 10) x [-10, 10) x [10, 40)`, after discarding a transient of [`LORENZ63_TRANSIENT`]
/// (50) time units.
///
/// Normalisation: each variable is z-scored, `(v - mean) / std`, with the mean and population
/// standard deviation (divided by the count) of that variable over the `n_steps + 1` generated
/// samples; the values are written into [`Signal::source`].
///
/// Task: row `t` holds input `(x, y, z)(t)` and target `(x, y, z)(t + 1)`, one sample (0.02 time
/// units) ahead; shapes `(n_steps, 3)` and `(n_steps, 3)`. For the valid prediction time use
/// [`LORENZ63_SAMPLE_DT`] and [`LORENZ63_LYAPUNOV_EXPONENT`].
pub fn lorenz63(n_steps: usize, seed: u64) -> Result<Signal, DataError> {
    if n_steps == 0 {
        return Err(param("n_steps", "need at least one step"));
    }
    let raw = lorenz63_raw(n_steps + 1, seed);
    let n = raw.len() as f64;
    let mut z = Array2::from_shape_fn((raw.len(), 3), |(t, i)| raw[t][i]);
    let mut stats = Vec::with_capacity(3);
    for mut col in z.columns_mut() {
        let mean = col.sum() / n;
        let std = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        if std == 0.0 || !std.is_finite() {
            return Err(param(
                "n_steps",
                "need at least two distinct samples to normalise",
            ));
        }
        col.mapv_inplace(|v| (v - mean) / std);
        stats.push((mean, std));
    }
    let source = format!(
        "lorenz63: sigma 10, rho 28, beta 8/3, RK4 h = 0.01, sampled every 0.02, \
         {LORENZ63_TRANSIENT} time units dropped, start U([-10,10) x [-10,10) x [10,40)); \
         z-scored with (mean, std) x ({:.6}, {:.6}), y ({:.6}, {:.6}), z ({:.6}, {:.6}); \
         row t: input (x,y,z)(t), target (x,y,z)(t+1); seed {seed}",
        stats[0].0, stats[0].1, stats[1].0, stats[1].1, stats[2].0, stats[2].1
    );
    let inputs = z
        .slice_axis(Axis(0), ndarray::Slice::from(0..n_steps))
        .to_owned();
    let targets = z.slice_axis(Axis(0), ndarray::Slice::from(1..)).to_owned();
    Signal::new("lorenz63", source, inputs, targets)
}

// ---------------------------------------------------------------------------------------------
// Memory capacity
// ---------------------------------------------------------------------------------------------

/// The input for linear memory capacity (Jaeger, GMD Report 152, 2002; SPEC section 9):
/// `u(t) ~ U[-0.5, 0.5)` i.i.d. (of the two common intervals, U(-1, 1) and U(-0.5, 0.5), this is
/// the second), shape `(n_steps, 1)`.
///
/// The targets have 0 columns, `(n_steps, 0)`: the memory-capacity code builds the delayed
/// targets `u(t - k)`, `k = 1..K`, itself with [`delayed_targets`], so that `K` is its choice and
/// no delay-0 column can slip into the sum `MC = sum_{k=1..K} MC_k`.
pub fn memory_capacity_input(n_steps: usize, seed: u64) -> Result<Signal, DataError> {
    if n_steps == 0 {
        return Err(param("n_steps", "need at least one step"));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let u = Array2::from_shape_fn((n_steps, 1), |_| rng.random_range(-0.5..0.5));
    Signal::new(
        "memory-capacity",
        format!(
            "memory capacity input: u ~ U[-0.5, 0.5) i.i.d.; no targets (build u(t-k) with \
             delayed_targets); seed {seed}"
        ),
        u,
        Array2::zeros((n_steps, 0)),
    )
}

/// The delayed copies of `u` for memory capacity (Jaeger 2002): a `(u.len(), max_delay)` array
/// whose column `k - 1` holds `u(t - k)` at row `t`, for `k = 1..=max_delay`.
///
/// Rows `t < k` of column `k - 1` have no past input and hold NaN, so that forgetting to drop a
/// washout of at least `max_delay` steps poisons the fit visibly instead of biasing it.
pub fn delayed_targets(u: &[f64], max_delay: usize) -> Array2<f64> {
    Array2::from_shape_fn((u.len(), max_delay), |(t, c)| {
        let k = c + 1;
        if t >= k {
            u[t - k]
        } else {
            f64::NAN
        }
    })
}

// ---------------------------------------------------------------------------------------------
// NRMSE
// ---------------------------------------------------------------------------------------------

/// The NRMSE of each output column: `sqrt(mean((y_hat - y)^2) / var(y))`, where the mean and the
/// population variance (divided by the count) run over the rows given, i.e. over the scored
/// segment (Lukosevicius, "A Practical Guide to Applying Echo State Networks", 2012; SPEC
/// section 9). `y_hat` and `y` are `(n_steps, n_outputs)`.
///
/// Fails on different shapes, no rows or no columns, a non-finite value, or a constant target
/// column (its variance is 0 and the ratio has no meaning).
pub fn nrmse_columns(
    y_hat: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
) -> Result<Vec<f64>, DataError> {
    if y_hat.dim() != y.dim() {
        return Err(param(
            "y_hat",
            format!(
                "shape {:?} differs from the target's {:?}",
                y_hat.dim(),
                y.dim()
            ),
        ));
    }
    let (n, d) = y.dim();
    if n == 0 || d == 0 {
        return Err(param(
            "y",
            format!("nothing to score in a {n} x {d} target"),
        ));
    }
    for (name, a) in [("y_hat", y_hat.view()), ("y", y.view())] {
        if let Some(((t, c), v)) = a.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(param(
                name,
                format!("value {v} at step {t}, column {c} is not finite"),
            ));
        }
    }
    y.columns()
        .into_iter()
        .zip(y_hat.columns())
        .enumerate()
        .map(|(c, (yc, pc))| {
            let first = yc[0];
            if yc.iter().all(|&v| v == first) {
                return Err(param(
                    "y",
                    format!("target column {c} is constant ({first}) over the {n} scored steps"),
                ));
            }
            let mean = yc.sum() / n as f64;
            let var = yc.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
            let mse = yc.iter().zip(pc).map(|(a, b)| (b - a).powi(2)).sum::<f64>() / n as f64;
            Ok((mse / var).sqrt())
        })
        .collect()
}

/// The NRMSE of a prediction: [`nrmse_columns`] (per output column, with the target's variance
/// over the scored segment, Lukosevicius 2012), then the mean over the columns. 0 is perfect; 1
/// is what predicting the segment's own mean scores.
pub fn nrmse(y_hat: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<f64, DataError> {
    let cols = nrmse_columns(y_hat, y)?;
    Ok(cols.iter().sum::<f64>() / cols.len() as f64)
}

#[cfg(test)]
mod tests {
    use ndarray::{array, Array1};

    use super::*;

    fn col(a: &Array2<f64>, c: usize) -> Vec<f64> {
        a.column(c).to_vec()
    }

    #[test]
    fn signals_and_segments_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Signal>();
        check::<Segments>();
    }

    #[test]
    fn signal_new_refuses_mismatched_empty_or_non_finite_data() {
        let ok = Signal::new("s", "test", Array2::zeros((3, 2)), Array2::zeros((3, 1)));
        assert_eq!(ok.unwrap().len(), 3);
        assert!(Signal::new("s", "", Array2::zeros((3, 1)), Array2::zeros((2, 1))).is_err());
        assert!(Signal::new("s", "", Array2::zeros((0, 1)), Array2::zeros((0, 1))).is_err());
        assert!(Signal::new("s", "", Array2::zeros((3, 0)), Array2::zeros((3, 1))).is_err());
        let mut targets = Array2::zeros((3, 2));
        targets[[2, 1]] = f64::NAN;
        match Signal::new("s", "", Array2::zeros((3, 1)), targets) {
            Err(DataError::NonFinite {
                part,
                step,
                channel,
                ..
            }) => assert_eq!((part, step, channel), ("targets", 2, 1)),
            other => panic!("expected NonFinite, got {other:?}"),
        }
        let mut inputs = Array2::zeros((3, 2));
        inputs[[1, 0]] = f64::INFINITY;
        let err = Signal::new("s", "", inputs, Array2::zeros((3, 0))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "signal s: inputs at step 1, channel 0 is inf, not finite"
        );
    }

    #[test]
    fn signal_segment_returns_the_rows_of_a_range_and_refuses_others() {
        let u = Array2::from_shape_fn((5, 1), |(t, _)| t as f64);
        let y = Array2::from_shape_fn((5, 2), |(t, c)| (10 * t + c) as f64);
        let s = Signal::new("s", "", u, y).unwrap();
        let (a, b) = s.segment(2..4).unwrap();
        assert_eq!(a, array![[2.0], [3.0]]);
        assert_eq!(b, array![[20.0, 21.0], [30.0, 31.0]]);
        assert!(s.segment(3..6).is_err());
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = 3..2;
        assert!(s.segment(reversed).is_err());
    }

    #[test]
    fn default_segments_drop_100_steps_then_split_the_rest_60_20_20_in_time_order() {
        let seg = Segments::default_for(1100).unwrap();
        assert_eq!(seg.washout(), 0..100);
        assert_eq!(seg.train(), 100..700);
        assert_eq!(seg.validation(), 700..900);
        assert_eq!(seg.test(), 900..1100);
        // round(604.2) and round(201.4); the remainder goes to test, which ends at n_steps.
        let seg = Segments::default_for(1107).unwrap();
        assert_eq!(seg.train(), 100..704);
        assert_eq!(seg.validation(), 704..905);
        assert_eq!(seg.test(), 905..1107);
        let seg = Segments::from_counts(50, 0, 10, 5, 5).unwrap();
        assert_eq!(
            (seg.train(), seg.validation(), seg.test()),
            (0..10, 10..15, 15..20)
        );
    }

    #[test]
    fn segments_refuse_short_or_overflowing_splits() {
        assert!(Segments::from_counts(100, 10, 1, 10, 10).is_err());
        assert!(Segments::from_counts(100, 10, 10, 1, 10).is_err());
        assert!(Segments::from_counts(100, 10, 10, 10, 0).is_err());
        assert!(Segments::from_counts(100, 10, 50, 30, 11).is_err());
        assert!(Segments::from_counts(100, usize::MAX, 50, 30, 11).is_err());
        assert!(Segments::from_counts(100, 10, 50, 30, 10).is_ok());
        // 10 steps after the washout give 6 / 2 / 2, the least allowed; 5 give 3 / 1 / 1.
        assert!(Segments::default_for(110).is_ok());
        assert!(Segments::default_for(105).is_err());
        assert!(Segments::default_for(50).is_err());
        assert!(Segments::from_fractions(1000, 0, 0.8, 0.2).is_err());
        assert!(Segments::from_fractions(1000, 0, 0.0, 0.2).is_err());
        assert!(Segments::from_fractions(1000, 0, f64::NAN, 0.2).is_err());
        assert!(Segments::from_fractions(1000, 0, 0.5, -0.1).is_err());
    }

    /// NARMA-10 written out again from the definition, over a whole draw of inputs, from
    /// `y = 0`: `y[t + 1] = 0.3 y[t] + 0.05 y[t] (y[t] + ... + y[t - 9]) + 1.5 u[t - 9] u[t] + 0.1`.
    fn narma10_reference(u: &[f64]) -> Vec<f64> {
        let mut y = vec![0.0; u.len() + 1];
        for t in 9..u.len() {
            let mut sum = 0.0;
            for i in 0..10 {
                sum += y[t - i];
            }
            y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * sum + 1.5 * u[t - 9] * u[t] + 0.1;
        }
        y
    }

    #[test]
    fn narma10_targets_satisfy_the_recursion_on_every_step() {
        let n = 500;
        let s = narma10(n, 4).unwrap();
        assert!(s.source().contains("stream 0"), "{}", s.source());
        let (u, y) = (col(s.inputs(), 0), col(s.targets(), 0));
        // From the 11th row on, the recursion can be checked on the signal alone: row t holds
        // u(t) and y(t + 1).
        for t in 10..n {
            let sum: f64 = (1..=10).map(|i| y[t - i]).sum();
            let want = 0.3 * y[t - 1] + 0.05 * y[t - 1] * sum + 1.5 * u[t - 9] * u[t] + 0.1;
            assert!((y[t] - want).abs() < 1e-12, "t = {t}");
        }
        // The first rows need the transient: redraw it from the seed and recompute everything.
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let all_u: Vec<f64> = (0..n + 200).map(|_| rng.random_range(0.0..0.5)).collect();
        assert_eq!(u, all_u[200..]);
        let all_y = narma10_reference(&all_u);
        for t in 0..n {
            assert!((y[t] - all_y[200 + t + 1]).abs() < 1e-12, "t = {t}");
        }
        assert!(u.iter().all(|v| (0.0..0.5).contains(v)));
        assert!(y.iter().all(|v| (0.0..2.0).contains(v)));
        assert_eq!(s, narma10(n, 4).unwrap());
        assert_ne!(s, narma10(n, 5).unwrap());
    }

    #[test]
    fn narma10_matches_the_windowed_generator_when_no_redraw_is_needed() {
        let s = narma10(300, 4).unwrap();
        let (u, y) = crate::generate::narma10_series(300, 4).unwrap();
        assert_eq!(col(s.inputs(), 0), u);
        assert_eq!(col(s.targets(), 0), y);
    }

    #[test]
    fn narma10_redraws_a_diverging_draw_from_the_next_stream_of_the_seed() {
        // Seed 43 with 2000 steps diverges on its first draw (found by scanning seeds 0..2000,
        // 25 of which diverge at this length).
        assert!(narma10_draw(2000, 43, 0).is_err());
        let k = (1..NARMA10_MAX_DRAWS as u64)
            .find(|&k| narma10_draw(2000, 43, k).is_ok())
            .unwrap();
        let s = narma10(2000, 43).unwrap();
        assert!(
            s.source().contains(&format!("stream {k}")),
            "{}",
            s.source()
        );
        let mut rng = ChaCha8Rng::seed_from_u64(43);
        rng.set_stream(k);
        let all_u: Vec<f64> = (0..2200).map(|_| rng.random_range(0.0..0.5)).collect();
        assert_eq!(col(s.inputs(), 0), all_u[200..]);
        let all_y = narma10_reference(&all_u);
        let y = col(s.targets(), 0);
        assert!((0..2000).all(|t| (y[t] - all_y[201 + t]).abs() < 1e-12));
        // The redrawn targets stay in range: nothing was clipped.
        assert!(y.iter().all(|v| (0.0..2.0).contains(v)));
        // The rejected draw really blows up, rather than merely crossing the bound.
        let mut rng = ChaCha8Rng::seed_from_u64(43);
        let u0: Vec<f64> = (0..2200).map(|_| rng.random_range(0.0..0.5)).collect();
        let y0 = narma10_reference(&u0);
        assert!(y0.iter().any(|v| !v.is_finite() || *v > 1e100));
    }

    #[test]
    fn narma10_gives_up_after_the_bounded_number_of_draws() {
        // A million steps diverge on most draws; with seed 0 all 16 draws do.
        match narma10(1_000_000, 0) {
            Err(DataError::Diverged { attempts, seed, .. }) => {
                assert_eq!((attempts, seed), (NARMA10_MAX_DRAWS, 0));
            }
            other => panic!(
                "expected Diverged, got {:?}",
                other.map(|s| s.source().to_string())
            ),
        }
        assert!(narma10(0, 0).is_err());
    }

    /// The largest gap between `x(t + 1) - x(t - 1)` and Simpson's rule for the integral of the
    /// right-hand side over `[t - 1, t + 1]`, all read from unit-spaced samples (the delay, 17,
    /// is a whole number of samples). Simpson's error at unit spacing is the fourth derivative
    /// of the right-hand side over 90; on this attractor the gap is about 5e-5, and it shrinks
    /// 32-fold when the spacing halves, as `h^5` predicts, so it is quadrature error and the
    /// tolerance 2e-4 tests the equation. For scale: the forward Euler series of
    /// `generate::mackey_glass_series` (step 0.1) scores 2e-3, and the same samples read with
    /// a delay of 16 score 5e-2.
    fn mackey_glass_simpson_residual(x: &[f64]) -> f64 {
        let f = |t: usize| 0.2 * x[t - 17] / (1.0 + x[t - 17].powi(10)) - 0.1 * x[t];
        (18..x.len() - 1)
            .map(|t| (x[t + 1] - x[t - 1] - (f(t - 1) + 4.0 * f(t) + f(t + 1)) / 3.0).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn mackey_glass_samples_satisfy_the_delay_equation() {
        let s = mackey_glass(3000, 1).unwrap();
        // Undo the stated squash s = tanh(x - 1) and check the raw samples.
        let mut x: Vec<f64> = s.inputs().iter().map(|v| 1.0 + v.atanh()).collect();
        x.push(1.0 + s.targets()[[2999, 0]].atanh());
        let r = mackey_glass_simpson_residual(&x);
        assert!(r < 2e-4, "residual {r:e}");
        // The same check rejects a series that solves the equation less well.
        let euler = crate::generate::mackey_glass_series(3000, 17.0, 1).unwrap();
        assert!(mackey_glass_simpson_residual(&euler) > 2e-4);
    }

    #[test]
    fn mackey_glass_is_squashed_on_its_attractor_and_targets_the_next_sample() {
        let s = mackey_glass(2000, 3).unwrap();
        let raw = mackey_glass_raw(2001, 3);
        // The tau = 17 attractor lies within about [0.2, 1.4], and is not a fixed point.
        assert!(raw.iter().all(|v| (0.2..1.45).contains(v)));
        let (lo, hi) = raw
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert!(hi - lo > 0.5, "range {lo}..{hi}");
        for t in 0..2000 {
            assert!((s.inputs()[[t, 0]] - (raw[t] - 1.0).tanh()).abs() < 1e-15);
            assert!((s.targets()[[t, 0]] - (raw[t + 1] - 1.0).tanh()).abs() < 1e-15);
        }
        assert_eq!(s, mackey_glass(2000, 3).unwrap());
        assert_ne!(s, mackey_glass(2000, 4).unwrap());
        assert!(mackey_glass(0, 3).is_err());
    }

    #[test]
    fn lorenz63_samples_satisfy_the_ode() {
        let raw = lorenz63_raw(3000, 1);
        let dt = LORENZ63_SAMPLE_DT;
        let field =
            |[x, y, z]: [f64; 3]| [10.0 * (y - x), x * (28.0 - z) - y, x * y - 8.0 / 3.0 * z];
        // Each sample, carried 0.02 forward by an independent integrator (explicit midpoint with
        // step 1e-4, error about 1e-4 here), lands on the next; a parameter off by 1% misses by
        // about 0.1 or more.
        for t in (0..2999).step_by(3) {
            let mut p = raw[t];
            let h = 1e-4;
            for _ in 0..200 {
                let k1 = field(p);
                let k2 = field(std::array::from_fn(|i| p[i] + 0.5 * h * k1[i]));
                p = std::array::from_fn(|i| p[i] + h * k2[i]);
            }
            for i in 0..3 {
                assert!((p[i] - raw[t + 1][i]).abs() < 1e-3, "t = {t}, i = {i}");
            }
        }
        // And the five-point derivative (error dt^4 f^(5) / 30, at most 1.5 here) matches the
        // vector field, whose magnitude reaches several hundred.
        for t in 2..2998 {
            let f = field(raw[t]);
            for i in 0..3 {
                let d = (-raw[t + 2][i] + 8.0 * raw[t + 1][i] - 8.0 * raw[t - 1][i]
                    + raw[t - 2][i])
                    / (12.0 * dt);
                assert!((d - f[i]).abs() < 3.0, "t = {t}, i = {i}: {d} vs {}", f[i]);
            }
        }
        // On the attractor (both wings visited), not at a fixed point.
        assert!(raw
            .iter()
            .all(|p| p[0].abs() < 30.0 && p[1].abs() < 35.0 && (0.0..60.0).contains(&p[2])));
        assert!(raw.iter().any(|p| p[0] > 10.0) && raw.iter().any(|p| p[0] < -10.0));
    }

    #[test]
    fn lorenz63_is_z_scored_deterministic_per_seed_and_differs_across_seeds() {
        let n = 2000;
        let s = lorenz63(n, 7).unwrap();
        assert_eq!((s.inputs().dim(), s.targets().dim()), ((n, 3), (n, 3)));
        let raw = lorenz63_raw(n + 1, 7);
        for i in 0..3 {
            let v: Array1<f64> = raw.iter().map(|p| p[i]).collect();
            let (mean, std) = (v.mean().unwrap(), v.std(0.0));
            for t in 0..n {
                assert!((s.inputs()[[t, i]] - (v[t] - mean) / std).abs() < 1e-12);
                assert!((s.targets()[[t, i]] - (v[t + 1] - mean) / std).abs() < 1e-12);
            }
        }
        assert_eq!(s, lorenz63(n, 7).unwrap());
        let other = lorenz63(n, 8).unwrap();
        assert!((s.inputs() - other.inputs()).iter().any(|d| d.abs() > 0.5));
        assert_eq!(
            LORENZ63_SAMPLE_DT,
            LORENZ63_STEPS_PER_SAMPLE as f64 * LORENZ63_H
        );
        assert_eq!(
            LORENZ63_TRANSIENT,
            LORENZ63_TRANSIENT_STEPS as f64 * LORENZ63_H
        );
    }

    #[test]
    fn memory_capacity_input_is_uniform_on_the_stated_interval_without_targets() {
        let s = memory_capacity_input(20_000, 9).unwrap();
        assert_eq!((s.n_inputs(), s.n_outputs(), s.len()), (1, 0, 20_000));
        let u = s.inputs().column(0);
        assert!(u.iter().all(|v| (-0.5..0.5).contains(v)));
        // U(-0.5, 0.5) has mean 0 and variance 1/12; the standard errors at n = 20 000 are
        // about 0.002 and 0.0005.
        assert!(u.mean().unwrap().abs() < 0.01);
        assert!((u.var(0.0) - 1.0 / 12.0).abs() < 0.003);
        assert_eq!(s, memory_capacity_input(20_000, 9).unwrap());
        assert_ne!(s, memory_capacity_input(20_000, 10).unwrap());
    }

    #[test]
    fn delayed_targets_shift_each_column_by_its_delay() {
        let d = delayed_targets(&[1.0, 2.0, 3.0, 4.0], 3);
        let nan = f64::NAN;
        let want = [
            [nan, nan, nan],
            [1.0, nan, nan],
            [2.0, 1.0, nan],
            [3.0, 2.0, 1.0],
        ];
        assert_eq!(d.dim(), (4, 3));
        for t in 0..4 {
            for c in 0..3 {
                let (a, b) = (d[[t, c]], want[t][c]);
                assert!(
                    a == b || (a.is_nan() && b.is_nan()),
                    "({t}, {c}): {a} vs {b}"
                );
            }
        }
        assert_eq!(delayed_targets(&[1.0, 2.0], 0).dim(), (2, 0));
    }

    #[test]
    fn nrmse_is_zero_for_a_perfect_prediction_and_one_for_the_mean() {
        let s = lorenz63(500, 1).unwrap();
        let y = s.targets().view();
        assert_eq!(nrmse(y, y).unwrap(), 0.0);
        // The mean of the scored segment, not of the whole signal.
        let seg = y.slice_axis(Axis(0), ndarray::Slice::from(200..400));
        let means = seg.mean_axis(Axis(0)).unwrap();
        let pred = Array2::from_shape_fn(seg.dim(), |(_, c)| means[c]);
        assert!((nrmse(pred.view(), seg).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn nrmse_scores_each_column_then_averages() {
        // Column 0: y = [0, 2] has variance 1, the error [0, 2] a mean square of 2: sqrt(2).
        // Column 1: y = [0, 4] has variance 4, the error [1, 1] a mean square of 1: 1/2.
        let y = array![[0.0, 0.0], [2.0, 4.0]];
        let y_hat = array![[0.0, 1.0], [0.0, 5.0]];
        let cols = nrmse_columns(y_hat.view(), y.view()).unwrap();
        assert!((cols[0] - 2f64.sqrt()).abs() < 1e-15);
        assert!((cols[1] - 0.5).abs() < 1e-15);
        let want = (2f64.sqrt() + 0.5) / 2.0;
        assert!((nrmse(y_hat.view(), y.view()).unwrap() - want).abs() < 1e-15);
    }

    #[test]
    fn nrmse_refuses_empty_constant_mismatched_or_non_finite_targets() {
        let y = array![[1.0, 0.1], [2.0, 0.1], [3.0, 0.1]];
        let err = nrmse(y.view(), y.view()).unwrap_err();
        assert!(err.to_string().contains("column 1 is constant"), "{err}");
        let empty = Array2::<f64>::zeros((0, 1));
        assert!(nrmse(empty.view(), empty.view()).is_err());
        let none = Array2::<f64>::zeros((3, 0));
        assert!(nrmse(none.view(), none.view()).is_err());
        let y = array![[0.0], [1.0]];
        assert!(nrmse(array![[0.0], [1.0], [2.0]].view(), y.view()).is_err());
        assert!(nrmse(array![[0.0], [f64::NAN]].view(), y.view()).is_err());
    }
}
