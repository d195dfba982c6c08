//! A fitted reservoir advanced one time step at a time, for inputs that arrive as they are measured.
//!
//! ```
//! # use mf_core::{Sequences, Targets};
//! use mf_core::Recurrent; // push, steps, reset
//! # use mf_esn::{MfEsn, Prediction};
//! # let x = ndarray::Array3::from_shape_fn((8, 6, 1), |(i, t, _)| ((i + t) as f32 * 0.3).sin());
//! # let seqs = Sequences::full(x);
//! # let targets = Targets::Classes { labels: (0..8).map(|i| i % 2).collect(), n_classes: 2 };
//! let model = MfEsn::params().n_units(10).fit(&seqs, &targets, 1)?;
//! let mut stream = model.stream();
//! for sample in seqs.series(0).rows() {
//!     stream.push(sample.as_slice().unwrap())?;
//!     let Prediction::Classes(class) = stream.predict() else { unreachable!() };
//!     println!("after step {}: class {}", stream.steps(), class[0]);
//! }
//! # Ok::<(), mf_esn::EsnError>(())
//! ```
//!
//! The stream steps one series in f32 with `mf-core`'s element-wise update; the batch path
//! ([`FittedReservoir::predict`]) harvests many series with fused, vectorised kernels. They agree to f32
//! rounding: the states differ by a few units in the last place, and so may the readout's decision values.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::model::{FittedReservoir, Prediction};
use crate::EsnError;

/// `pre = x w_in + h w_rec + bias` for one step of one series (the row convention of `mf_core::Weights`), into
/// `pre` (`(1, n_units)`), allocating nothing: the bias, then each input's and each unit's row of its kernel
/// added in turn in f32 (contiguous rows the compiler vectorises). The one pre-activation of every one-step path:
/// the single and deep reservoirs' streams and `sequence::SequenceReservoir`, which therefore agree bit for bit.
pub(crate) fn pre_activation(
    w: &mf_core::Weights<f32>,
    x: ArrayView2<'_, f32>,
    h: ArrayView2<'_, f32>,
    pre: &mut Array2<f32>,
) {
    pre.row_mut(0).assign(&w.bias);
    let out = pre
        .as_slice_mut()
        .expect("a (1, n) array of our own is contiguous");
    let mut add = |v: f32, row: ArrayView1<'_, f32>| match row.as_slice() {
        Some(r) => out.iter_mut().zip(r).for_each(|(o, &w)| *o += v * w),
        None => out
            .iter_mut()
            .zip(row.iter())
            .for_each(|(o, &w)| *o += v * w),
    };
    for (&v, row) in x.iter().zip(w.w_in.rows()) {
        add(v, row);
    }
    for (&v, row) in h.iter().zip(w.w_rec.rows()) {
        add(v, row);
    }
}

/// A fitted reservoir's state after the samples pushed so far, from `h(0) = 0`, with the readout available at
/// every step. Made by [`FittedReservoir::stream`].
#[derive(Debug, Clone)]
pub struct ReservoirStream<'a> {
    model: &'a FittedReservoir,
    /// The state, `(1, n_units)`.
    h: Array2<f32>,
    steps: usize,
    /// Series streamed before this one (resets so far): with cycle-to-cycle noise the stream's `k`-th series
    /// draws the noise batch prediction draws for series `k`.
    series: usize,
}

impl FittedReservoir {
    /// A stream over this model at the zero state, before any sample.
    pub fn stream(&self) -> ReservoirStream<'_> {
        ReservoirStream {
            model: self,
            h: Array2::zeros((1, self.weights.n_units())),
            steps: 0,
            series: 0,
        }
    }
}

impl ReservoirStream<'_> {
    /// The current state, `(n_units)`, as the reservoir holds it (before the ADC of `adc_bits`, if any).
    pub fn state(&self) -> ArrayView1<'_, f32> {
        self.h.index_axis(Axis(0), 0)
    }

    /// The readout's decision values at the current state, as [`crate::Readout::decision`] gives them for one
    /// series.
    pub fn decision(&self) -> Array1<f64> {
        let d = self.model.readout.decision(&self.read());
        d.index_axis_move(Axis(0), 0)
    }

    /// The state as the readout reads it: through the ADC when the model has one (`adc_bits`).
    fn read(&self) -> Array2<f64> {
        let cfg = &self.model.config;
        let mut h = self.h.clone();
        cfg.hardware.read_states(&cfg.cell, h.view_mut());
        h.mapv(f64::from)
    }

    /// What the model predicts for the series pushed so far: a one-series [`Prediction`], as
    /// [`FittedReservoir::predict`] gives for it (to f32 rounding of the state). Before any sample it is the
    /// readout of the zero state.
    pub fn predict(&self) -> Prediction {
        self.model.readout.predict(&self.read())
    }
}

impl mf_core::Recurrent for ReservoirStream<'_> {
    type Error = EsnError;

    /// Advances the reservoir by one time step with the sample `x`, one value per input dimension.
    ///
    /// A sample of the wrong size is [`EsnError::Shape`]; a non-finite sample, or a state that stops being
    /// finite, is [`EsnError::NonFinite`]. After an error the stream is where it was before the call.
    fn push(&mut self, x: &[f32]) -> Result<(), EsnError> {
        let w = &self.model.weights;
        if x.len() != w.n_inputs() {
            return Err(EsnError::Shape {
                what: format!("values of sample {}", self.steps + 1),
                expected: w.n_inputs().to_string(),
                got: x.len().to_string(),
            });
        }
        if let Some(k) = x.iter().position(|v| !v.is_finite()) {
            return Err(EsnError::NonFinite {
                what: format!("sample {} (value {})", self.steps + 1, k + 1),
            });
        }
        let x = ArrayView2::from_shape((1, x.len()), x).expect("one row of n_inputs values");
        let mut pre = Array2::zeros(self.h.raw_dim());
        pre_activation(w, x, self.h.view(), &mut pre);
        let mut h = self.h.clone();
        let cfg = &self.model.config;
        if !self
            .model
            .step_devices(pre.view(), h.view_mut(), self.series, self.steps)
        {
            cfg.integrator.update(&cfg.cell, pre.view(), h.view_mut());
        }
        if h.iter().any(|v| !v.is_finite()) {
            return Err(EsnError::NonFinite {
                what: format!("reservoir state after sample {}", self.steps + 1),
            });
        }
        self.h = h;
        self.steps += 1;
        Ok(())
    }

    /// Number of samples pushed since the start or the last `reset`.
    fn steps(&self) -> usize {
        self.steps
    }

    /// Back to the zero state, for the next series. With cycle-to-cycle noise the next series is a new run of
    /// the devices: the stream's `k`-th series (after `k` resets) draws the noise that
    /// [`FittedReservoir::predict`] draws for series `k` of a batch.
    fn reset(&mut self) {
        self.h.fill(0.0);
        self.steps = 0;
        self.series += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Esn, MfEsn};
    use mf_core::fixtures::waves;
    use mf_core::Recurrent;
    use mf_core::Targets;

    #[test]
    fn streaming_a_series_gives_the_batch_states_and_predictions() {
        let x = waves(40, 20, 2);
        let classes = Targets::Classes {
            labels: (0..40).map(|i| i % 3).collect(),
            n_classes: 3,
        };
        let values = Targets::Values(Array2::from_shape_fn((40, 1), |(i, _)| (i % 5) as f64));
        for (params, y) in [
            (MfEsn::params().n_units(16).dt(0.1).gamma(0.9), &classes),
            (Esn::params().n_units(16).alpha(0.5), &classes),
            (MfEsn::params().n_units(16), &values),
        ] {
            let model = params.fit(&x, y, 2).unwrap();
            let states = model.states(&x).unwrap();
            let batch = model.predict(&x).unwrap();
            let decision = model.readout().decision(&states.mapv(f64::from));
            let mut stream = model.stream();
            for i in 0..40 {
                stream.reset();
                for row in x.series(i).rows() {
                    stream.push(row.as_slice().unwrap()).unwrap();
                }
                assert_eq!(stream.steps(), x.lengths[i]);
                for (a, b) in stream.state().iter().zip(states.row(i)) {
                    assert!(
                        (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                        "series {i}: {a} vs {b}"
                    );
                }
                for (a, b) in stream.decision().iter().zip(decision.row(i)) {
                    assert!(
                        (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                        "series {i}: {a} vs {b}"
                    );
                }
                match (stream.predict(), &batch) {
                    (Prediction::Classes(s), Prediction::Classes(b)) => assert_eq!(s[0], b[i]),
                    (Prediction::Values(s), Prediction::Values(b)) => {
                        assert!((s[[0, 0]] - b[[i, 0]]).abs() < 1e-4)
                    }
                    other => panic!("kinds differ: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn a_bad_sample_is_an_error_that_leaves_the_stream_as_it_was() {
        let x = waves(6, 20, 2);
        let y = Targets::Classes {
            labels: (0..6).map(|i| i % 2).collect(),
            n_classes: 2,
        };
        let model = MfEsn::params().n_units(5).fit(&x, &y, 1).unwrap();
        let mut s = model.stream();
        s.push(&[0.1, 0.2]).unwrap();
        let before = s.state().to_owned();
        let e = s.push(&[0.1]).unwrap_err().to_string();
        assert_eq!(e, "shape mismatch: values of sample 2: expected 2, got 1");
        let e = s.push(&[0.1, f32::NAN]).unwrap_err().to_string();
        assert_eq!(e, "non-finite values in sample 2 (value 2)");
        assert_eq!(s.state(), before.view());
        assert_eq!(s.steps(), 1);
    }
}
