//! A trained model's parameters as arrays ([`TrainedRnn::weights`]), and the model advanced one time step at a
//! time ([`TrainedRnn::stream`]) for inputs that arrive as they are measured.
//!
//! The stream steps one series in f32 with `mf-core`'s element-wise update of the same cell; the batch path
//! ([`TrainedRnn::predict`]) runs candle's whole-batch recurrence. They agree to f32 rounding.

use mf_core::{CellKind, CoreError, Weights};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::{Prediction, RnnError, TrainedRnn};

/// The trained parameters of a recurrent model in the row convention of `mf-core`:
/// `pre = x @ w_in + h @ w_rec + bias`, `h <- cell(pre, h)`, and on the state at a series' last step
/// `out = h @ readout_weight + readout_bias`.
#[derive(Debug, Clone, PartialEq)]
pub struct RnnWeights {
    /// The recurrent layer: `kernel` as `w_in` `(n_inputs, n_units)`, `recurrent_kernel` as `w_rec`
    /// `(n_units, n_units)`, `bias` `(n_units)`.
    pub layer: Weights<f32>,
    /// `readout.weight`, `(n_units, n_outputs)`.
    pub readout_weight: Array2<f32>,
    /// `readout.bias`, `(n_outputs)`.
    pub readout_bias: Array1<f32>,
}

fn matrix(t: &candle_core::Tensor) -> Result<Array2<f32>, RnnError> {
    let rows = t.to_vec2::<f32>()?;
    let (r, c) = (rows.len(), rows.first().map_or(0, Vec::len));
    Ok(Array2::from_shape_vec((r, c), rows.concat()).expect("rows of equal length"))
}

fn arrays(p: &crate::model::Params) -> Result<RnnWeights, RnnError> {
    Ok(RnnWeights {
        layer: Weights {
            w_in: matrix(&p.kernel)?,
            w_rec: matrix(&p.recurrent)?,
            bias: Array1::from(p.bias.to_vec1::<f32>()?),
        },
        readout_weight: matrix(&p.ro_weight)?,
        readout_bias: Array1::from(p.ro_bias.to_vec1::<f32>()?),
    })
}

impl TrainedRnn {
    /// The parameters the model predicts with, as arrays: the trained ones, or with non-ideal
    /// [`RnnConfig::hardware`](crate::RnnConfig::hardware) those programmed into its devices.
    pub fn weights(&self) -> Result<RnnWeights, RnnError> {
        arrays(&self.params_in_use())
    }

    /// The parameters as trained (and saved), before any programming into devices.
    pub fn trained_weights(&self) -> Result<RnnWeights, RnnError> {
        arrays(&self.model().params_detached())
    }

    /// A stream over this model at the zero state, before any sample.
    pub fn stream(&self) -> Result<RnnStream<'_>, RnnError> {
        let weights = self.weights()?;
        Ok(RnnStream {
            model: self,
            cell: self.config().cell,
            h: Array2::zeros((1, weights.layer.n_units())),
            weights,
            steps: 0,
        })
    }
}

/// A trained model's state after the samples pushed so far, from `h(0) = 0`, with the readout available at every
/// step. Made by [`TrainedRnn::stream`].
#[derive(Debug, Clone)]
pub struct RnnStream<'a> {
    model: &'a TrainedRnn,
    cell: CellKind,
    weights: RnnWeights,
    /// The state, `(1, n_units)`.
    h: Array2<f32>,
    steps: usize,
}

impl RnnStream<'_> {
    /// The current state, `(n_units)`.
    pub fn state(&self) -> ArrayView1<'_, f32> {
        self.h.index_axis(Axis(0), 0)
    }

    /// The readout's outputs at the current state, as [`TrainedRnn::outputs`] gives them for one series.
    pub fn outputs(&self) -> Array1<f32> {
        let hw = &self.model.config().hardware;
        let out = if hw.adc_bits > 0 {
            let mut h = self.h.clone();
            hw.read_states(&self.cell, h.view_mut());
            h.dot(&self.weights.readout_weight) + &self.weights.readout_bias
        } else {
            self.h.dot(&self.weights.readout_weight) + &self.weights.readout_bias
        };
        out.index_axis_move(Axis(0), 0)
    }

    /// What the model predicts for the series pushed so far: a one-series [`Prediction`], as
    /// [`TrainedRnn::predict`] gives for it (to f32 rounding). Before any sample it is the readout of the zero
    /// state.
    pub fn predict(&self) -> Prediction {
        self.model
            .predict_outputs(&self.outputs().insert_axis(Axis(0)))
    }
}

impl mf_core::Recurrent for RnnStream<'_> {
    type Error = RnnError;

    /// Advances the layer by one time step with the sample `x`, one value per input dimension.
    ///
    /// A sample of the wrong size is [`RnnError::Shape`]; a non-finite value is [`RnnError::NonFiniteInput`]
    /// and a state that stops being finite [`CoreError::NonFinite`], both with series 0 and the 0-based step.
    /// After an error the stream is where it was before the call.
    fn push(&mut self, x: &[f32]) -> Result<(), RnnError> {
        let w = &self.weights.layer;
        if x.len() != w.n_inputs() {
            return Err(RnnError::Shape {
                what: format!("values of sample {}", self.steps + 1),
                expected: w.n_inputs().to_string(),
                got: x.len().to_string(),
            });
        }
        if !x.iter().all(|v| v.is_finite()) {
            return Err(RnnError::NonFiniteInput {
                series: 0,
                step: self.steps,
            });
        }
        let x = ArrayView2::from_shape((1, x.len()), x).expect("one row of n_inputs values");
        let pre = x.dot(&w.w_in) + self.h.dot(&w.w_rec) + &w.bias;
        let mut h = self.h.clone();
        self.cell.update(pre.view(), h.view_mut());
        if h.iter().any(|v| !v.is_finite()) {
            return Err(RnnError::Core(CoreError::NonFinite {
                series: 0,
                step: self.steps,
            }));
        }
        self.h = h;
        self.steps += 1;
        Ok(())
    }

    /// Number of samples pushed since the start or the last `reset`.
    fn steps(&self) -> usize {
        self.steps
    }

    /// Back to the zero state, for the next series.
    fn reset(&mut self) {
        self.h.fill(0.0);
        self.steps = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{train, RnnConfig};
    use mf_core::fixtures::waves;
    use mf_core::Recurrent;
    use mf_core::{MfCell, Targets};

    #[test]
    fn streaming_a_series_gives_the_batch_outputs_and_predictions() {
        let x = waves(24, 15, 2);
        let three = Targets::Classes {
            labels: (0..24).map(|i| i % 3).collect(),
            n_classes: 3,
        };
        let two = Targets::Classes {
            labels: (0..24).map(|i| i % 2).collect(),
            n_classes: 2,
        };
        let values = Targets::Values(Array2::from_shape_fn((24, 2), |(i, j)| {
            (i % 4) as f64 * 0.1 + j as f64
        }));
        for (cell, y) in [
            (CellKind::Mf(MfCell::new(0.1, 0.8, 5.0)), &three),
            (CellKind::Tanh, &two),
            (CellKind::Mf(MfCell::new(0.1, 0.9, 2.0)), &values),
        ] {
            let mut config = RnnConfig::new(cell)
                .n_units(8)
                .lr(0.05)
                .seed(2)
                .max_epochs(3);
            config.batch_size = 8;
            let m = train(&config, (&x, y), (&x, y), &mut |_| {}).unwrap();
            let out = m.outputs(&x).unwrap();
            let batch = m.predict(&x).unwrap();
            assert_eq!(m.predict_outputs(&out), batch);
            let w = m.weights().unwrap();
            assert_eq!(w.layer.w_in.dim(), (2, 8));
            assert_eq!(w.readout_weight.dim(), (8, out.ncols()));
            let mut s = m.stream().unwrap();
            for i in 0..24 {
                s.reset();
                for row in x.series(i).rows() {
                    s.push(row.as_slice().unwrap()).unwrap();
                }
                for (a, b) in s.outputs().iter().zip(out.row(i)) {
                    assert!(
                        (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                        "series {i}: {a} vs {b}"
                    );
                }
                match (s.predict(), &batch) {
                    (Prediction::Classes(p), Prediction::Classes(b)) => assert_eq!(p[0], b[i]),
                    (Prediction::Values(p), Prediction::Values(b)) => {
                        assert!((p[[0, 1]] - b[[i, 1]]).abs() < 1e-4)
                    }
                    other => panic!("kinds differ: {other:?}"),
                }
            }
            let e = s.push(&[1.0]).unwrap_err().to_string();
            assert!(e.contains("expected 2, got 1"), "{e}");
        }
    }
}
