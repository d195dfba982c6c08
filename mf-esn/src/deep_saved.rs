//! Deep reservoirs on disk and one time step at a time: [`FittedDeep::save`] writes a directory as
//! [`crate::FittedReservoir::save`] does, with one set of reservoir tensors per layer, [`FittedDeep::load`] reads
//! it back into a model that predicts the same bits, and [`FittedDeep::stream`] advances the stack one sample at
//! a time.
//!
//! | tensor | shape | type |
//! |---|---|---|
//! | `layer{l}.w_in` | `(n_inputs, n_units)` for `l = 1`, `(n_units, n_units)` above | F32 |
//! | `layer{l}.w_rec` | `(n_units, n_units)` | F32 |
//! | `layer{l}.bias` | `(n_units)` | F32 |
//! | `readout.weight` | `(layers * n_units, n_columns)` | F64 |
//! | `readout.bias` | `(n_columns)` | F64 |
//! | `train_states` | `(n_train, layers * n_units)`, the readout's design matrix | F32 |
//! | `layer{l}.device.kp0`, ... | `(n_units)`, each MF neuron's own constants; only when `d2d_sigma` is on | F64 |
//!
//! `model.json` holds the [`DeepConfig`], the seed, `n_inputs`, `n_train` and the readout, as for one reservoir.

use std::path::Path;

use mf_core::variation::Devices;
use mf_core::{CellKind, Weights};
use ndarray::{Array1, Array2, ArrayView2, Axis};

use crate::deep::{DeepConfig, FittedDeep};
use crate::hardware::Run;
use crate::model::{step_on_devices, Prediction};
use crate::saved::{
    arrays, f32_tensor, io, matrix, read_bytes, read_readout, readout_tensors, unit_tensors,
    write_tensors, SavedMeta,
};
use crate::{EsnError, META_FILE, WEIGHTS_FILE};

impl FittedDeep {
    /// Writes the model into `dir` (created if absent): [`WEIGHTS_FILE`] with every layer's weights, the readout
    /// and the training states, and [`META_FILE`] with the configuration, the seed and the readout's kind.
    pub fn save(&self, dir: &Path) -> Result<(), EsnError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let n = self.config.layer.n_units;
        let mut tensors = Vec::new();
        for (l, w) in self.weights.iter().enumerate() {
            let p = format!("layer{}.", l + 1);
            tensors.push(f32_tensor(format!("{p}w_in"), &[w.n_inputs(), n], &w.w_in));
            tensors.push(f32_tensor(format!("{p}w_rec"), &[n, n], &w.w_rec));
            tensors.push(f32_tensor(format!("{p}bias"), &[n], &w.bias));
        }
        let (readout_tensors, readout) = readout_tensors(&self.readout, self.config.n_features());
        tensors.extend(readout_tensors);
        tensors.push(f32_tensor(
            "train_states",
            &[self.train_states.nrows(), self.config.n_features()],
            &self.train_states,
        ));
        for (l, u) in self.units.iter().enumerate() {
            if let Some(u) = u {
                tensors.extend(unit_tensors(u, &format!("layer{}.", l + 1), n));
            }
        }
        write_tensors(&dir.join(WEIGHTS_FILE), &tensors)?;
        SavedMeta {
            config: self.config.clone(),
            seed: self.seed,
            n_inputs: self.weights[0].n_inputs(),
            n_train: self.train_states.nrows(),
            readout,
        }
        .write(dir)
    }

    /// Reads a model written by [`FittedDeep::save`], checking every array against the description.
    pub fn load(dir: &Path) -> Result<Self, EsnError> {
        let meta_path = dir.join(META_FILE);
        let meta = SavedMeta::<DeepConfig>::read(dir, DeepConfig::check)?;
        let path = dir.join(WEIGHTS_FILE);
        let bytes = read_bytes(&path)?;
        let a = arrays(&path, &bytes)?;
        let n = meta.config.layer.n_units;
        let mut weights = Vec::with_capacity(meta.config.layers);
        let mut units = Vec::with_capacity(meta.config.layers);
        for l in 0..meta.config.layers {
            let p = format!("layer{}.", l + 1);
            let d = if l == 0 { meta.n_inputs } else { n };
            weights.push(Weights {
                w_in: matrix(a.f32s(&format!("{p}w_in"), &[d, n])?, d, n),
                w_rec: matrix(a.f32s(&format!("{p}w_rec"), &[n, n])?, n, n),
                bias: Array1::from(a.f32s(&format!("{p}bias"), &[n])?),
            });
            units.push(a.unit_physics(&meta.config.layer, n, &p)?);
        }
        let f = meta.config.n_features();
        let readout = read_readout(&a, meta.readout, f, &meta_path)?;
        let train_states = matrix(a.f32s("train_states", &[meta.n_train, f])?, meta.n_train, f);
        Ok(FittedDeep {
            config: meta.config,
            seed: meta.seed,
            weights,
            readout,
            train_states,
            units,
        })
    }

    /// A stream over this model at the zero state of every layer, before any sample.
    pub fn stream(&self) -> DeepStream<'_> {
        let n = self.config.layer.n_units;
        DeepStream {
            model: self,
            devices: self.config.devices(&self.units, self.seed, Run::Predict),
            h: vec![Array2::zeros((1, n)); self.weights.len()],
            steps: 0,
            series: 0,
        }
    }
}

/// A fitted deep reservoir's states after the samples pushed so far, every layer from `h(0) = 0`, with the
/// readout available at every step. Made by [`FittedDeep::stream`]. It agrees with [`FittedDeep::predict`] to
/// f32 rounding, as [`crate::ReservoirStream`] agrees with its batch path.
#[derive(Debug, Clone)]
pub struct DeepStream<'a> {
    model: &'a FittedDeep,
    devices: Vec<Devices>,
    /// Each layer's state, `(1, n_units)`, layer 1 first.
    h: Vec<Array2<f32>>,
    steps: usize,
    series: usize,
}

impl DeepStream<'_> {
    /// Every layer's current state side by side, `(layers * n_units)`, layer 1 first: the readout's features.
    pub fn state(&self) -> Array1<f32> {
        let views: Vec<_> = self.h.iter().map(|h| h.index_axis(Axis(0), 0)).collect();
        ndarray::concatenate(Axis(0), &views).expect("layers of one size")
    }

    /// The readout's decision values at the current state, for one series.
    pub fn decision(&self) -> Array1<f64> {
        let x = self.state().mapv(f64::from).insert_axis(Axis(0));
        self.model.readout.decision(&x).index_axis_move(Axis(0), 0)
    }

    /// What the model predicts for the series pushed so far, as [`FittedDeep::predict`] gives for it.
    pub fn predict(&self) -> Prediction {
        let x = self.state().mapv(f64::from).insert_axis(Axis(0));
        self.model.readout.predict(&x)
    }
}

impl mf_core::Recurrent for DeepStream<'_> {
    type Error = EsnError;

    /// Advances every layer by one time step: layer 1 with the sample `x`, layer `l > 1` with the new state of
    /// layer `l - 1`. A sample of the wrong size is [`EsnError::Shape`]; a non-finite sample or state is
    /// [`EsnError::NonFinite`]; after an error the stream is where it was before the call.
    fn push(&mut self, x: &[f32]) -> Result<(), EsnError> {
        let m = self.model;
        let d = m.weights[0].n_inputs();
        if x.len() != d {
            return Err(EsnError::Shape {
                what: format!("values of sample {}", self.steps + 1),
                expected: d.to_string(),
                got: x.len().to_string(),
            });
        }
        if let Some(k) = x.iter().position(|v| !v.is_finite()) {
            return Err(EsnError::NonFinite {
                what: format!("sample {} (value {})", self.steps + 1, k + 1),
            });
        }
        let c = &m.config.layer;
        let mut input = ArrayView2::from_shape((1, d), x)
            .expect("one row of n_inputs values")
            .to_owned();
        let mut next = Vec::with_capacity(self.h.len());
        for (l, (w, h)) in m.weights.iter().zip(&self.h).enumerate() {
            let mut pre = Array2::zeros(h.raw_dim());
            crate::stream::pre_activation(w, input.view(), h.view(), &mut pre);
            let mut h = h.clone();
            let dev = &self.devices[l];
            match (&c.cell, dev.is_ideal()) {
                (CellKind::Mf(cell), false) => {
                    step_on_devices(cell, dev, pre.view(), h.view_mut(), self.series, self.steps)
                }
                _ => c.integrator.update(&c.cell, pre.view(), h.view_mut()),
            }
            if h.iter().any(|v| !v.is_finite()) {
                return Err(EsnError::NonFinite {
                    what: format!("state of layer {} after sample {}", l + 1, self.steps + 1),
                });
            }
            input = h.clone();
            next.push(h);
        }
        self.h = next;
        self.steps += 1;
        Ok(())
    }

    /// Number of samples pushed since the start or the last `reset`.
    fn steps(&self) -> usize {
        self.steps
    }

    /// Back to the zero state, for the next series (with cycle-to-cycle noise, the next series of the run).
    fn reset(&mut self) {
        for h in &mut self.h {
            h.fill(0.0);
        }
        self.steps = 0;
        self.series += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Hardware;
    use mf_core::fixtures::waves;
    use mf_core::Recurrent;
    use mf_core::Targets;

    fn configs() -> Vec<DeepConfig> {
        let mut two = DeepConfig::mf_esn(2);
        two.layer.n_units = 9;
        let mut three = DeepConfig::mf_esn(3);
        three.layer.n_units = 6;
        three.layer.hardware = Hardware {
            d2d_sigma: 0.1,
            c2c_sigma: 0.05,
            ..Default::default()
        };
        vec![two, three]
    }

    #[test]
    fn a_saved_deep_reservoir_loads_equal_and_predicts_the_same_bits() {
        let x = waves(20, 12, 2);
        let classes = Targets::Classes {
            labels: (0..20).map(|i| i % 3).collect(),
            n_classes: 3,
        };
        let values = Targets::Values(Array2::from_shape_fn((20, 1), |(i, _)| i as f64 * 0.1));
        for c in configs() {
            for y in [&classes, &values] {
                let model = c.fit(&x, y, 4).unwrap();
                let dir = tempfile::tempdir().unwrap();
                model.save(dir.path()).unwrap();
                let back = FittedDeep::load(dir.path()).unwrap();
                assert_eq!(back, model);
                assert_eq!(back.states(&x).unwrap(), model.states(&x).unwrap());
            }
        }
    }

    #[test]
    fn a_damaged_deep_directory_is_refused_naming_the_tensor() {
        let x = waves(10, 12, 2);
        let y = Targets::Classes {
            labels: (0..10).map(|i| i % 2).collect(),
            n_classes: 2,
        };
        let model = configs()[0].fit(&x, &y, 1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        model.save(dir.path()).unwrap();
        let meta = dir.path().join(META_FILE);
        let text = std::fs::read_to_string(&meta).unwrap();
        std::fs::write(&meta, text.replace("\"layers\": 2", "\"layers\": 3")).unwrap();
        let e = FittedDeep::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("layer3.w_in"), "{e}");
    }

    #[test]
    fn streaming_a_deep_reservoir_gives_the_batch_states_to_f32_rounding() {
        let x = waves(6, 12, 2);
        let y = Targets::Classes {
            labels: (0..6).map(|i| i % 2).collect(),
            n_classes: 2,
        };
        for c in configs() {
            let model = c.fit(&x, &y, 2).unwrap();
            let batch = model.states(&x).unwrap();
            let mut s = model.stream();
            for i in 0..x.n_series() {
                s.push_series(x.series(i)).unwrap();
                let got = s.state();
                for (a, b) in got.iter().zip(batch.row(i)) {
                    assert!((a - b).abs() <= 1e-5, "series {i}: {a} vs {b}");
                }
                s.reset();
            }
            assert!(
                s.push(&[1.0]).is_err(),
                "a sample of one value for two inputs"
            );
            assert!(s.push(&[f32::NAN, 0.0]).is_err());
            assert_eq!(s.steps(), 0);
        }
    }
}
