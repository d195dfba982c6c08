//! Fitted reservoirs on disk: [`FittedReservoir::save`] writes a directory with the arrays in
//! [`WEIGHTS_FILE`] (safetensors, little-endian, bit for bit) and what they mean in [`META_FILE`] (JSON), and
//! [`FittedReservoir::load`] reads it back into a model that predicts the same bits.
//!
//! | tensor | shape | type |
//! |---|---|---|
//! | `w_in` | `(n_inputs, n_units)` | F32 |
//! | `w_rec` | `(n_units, n_units)` | F32 |
//! | `bias` | `(n_units)` | F32 |
//! | `readout.weight` | `(n_units, n_columns)`: one column per class seen in training (one for two classes), or per regression output | F64 |
//! | `readout.bias` | `(n_columns)` | F64 |
//! | `train_states` | `(n_train, n_units)`, the readout's design matrix | F32 |
//! | `device.kp0`, `device.kd0`, `device.eta_p`, `device.eta_d` | `(n_units)`, each MF neuron's own constants; only when `d2d_sigma` is on | F64 |
//!
//! The per-unit constants are read back as they are stored (they are not drawn again), so a model whose devices
//! were measured can be loaded with them. Cycle-to-cycle noise needs nothing stored: it is keyed by the seed.
//!
//! `model.json` holds the [`ReservoirConfig`], the seed the reservoir was drawn from, `n_inputs`, `n_train` and
//! the readout: `{"kind": "classifier", "classes": [..], "lambda": ..}` (the sorted class indices seen in
//! training, column `k` standing for `classes[k]`) or `{"kind": "regressor", "lambda": ..}`.

use std::path::Path;

use ndarray::{Array1, Array2};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};

use crate::model::{FittedReservoir, Readout, ReservoirConfig};
use crate::ridge::{Ridge, RidgeClassifier};
use crate::EsnError;
use mf_core::variation::UnitPhysics;

/// Names of the per-unit device constants, in the order of `UnitPhysics::arrays`.
const DEVICE_TENSORS: [&str; 4] = ["device.kp0", "device.kd0", "device.eta_p", "device.eta_d"];

/// The arrays of a saved reservoir, in safetensors.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The description of a saved reservoir, in JSON.
pub const META_FILE: &str = "model.json";

/// What [`META_FILE`] holds: the configuration `C` (a [`ReservoirConfig`], or a deep one), the seed, the input
/// dimensions, the training series and the readout.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SavedMeta<C> {
    pub(crate) config: C,
    pub(crate) seed: u64,
    pub(crate) n_inputs: usize,
    pub(crate) n_train: usize,
    pub(crate) readout: SavedReadout,
}

impl<C: Serialize + serde::de::DeserializeOwned> SavedMeta<C> {
    /// Writes the description into `dir`.
    pub(crate) fn write(&self, dir: &Path) -> Result<(), EsnError> {
        let path = dir.join(META_FILE);
        let json = serde_json::to_string_pretty(self).expect("a reservoir description serialises");
        std::fs::write(&path, json).map_err(io(&path))
    }

    /// Reads the description of `dir`, its configuration checked by `check` and `n_inputs` at least 1.
    pub(crate) fn read(
        dir: &Path,
        check: impl FnOnce(&C) -> Result<(), EsnError>,
    ) -> Result<Self, EsnError> {
        let path = dir.join(META_FILE);
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let meta: Self =
            serde_json::from_str(&text).map_err(|e| saved(&path, format!("malformed: {e}")))?;
        check(&meta.config).map_err(|e| saved(&path, format!("invalid configuration: {e}")))?;
        if meta.n_inputs == 0 {
            return Err(saved(&path, "n_inputs must be at least 1"));
        }
        Ok(meta)
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) enum SavedReadout {
    Classifier { classes: Vec<usize>, lambda: f64 },
    Regressor { lambda: f64 },
}

/// One array to write: name, type, shape and little-endian bytes.
pub(crate) struct Tensor {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

pub(crate) fn f32_tensor<'a>(
    name: impl Into<String>,
    shape: &[usize],
    v: impl IntoIterator<Item = &'a f32>,
) -> Tensor {
    Tensor {
        name: name.into(),
        dtype: Dtype::F32,
        shape: shape.to_vec(),
        bytes: v.into_iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

pub(crate) fn f64_tensor<'a>(
    name: impl Into<String>,
    shape: &[usize],
    v: impl IntoIterator<Item = &'a f64>,
) -> Tensor {
    Tensor {
        name: name.into(),
        dtype: Dtype::F64,
        shape: shape.to_vec(),
        bytes: v.into_iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

pub(crate) fn u64_tensor(name: impl Into<String>, v: u64) -> Tensor {
    Tensor {
        name: name.into(),
        dtype: Dtype::U64,
        shape: vec![1],
        bytes: v.to_le_bytes().to_vec(),
    }
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EsnError + '_ {
    move |source| EsnError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn saved(path: &Path, reason: impl Into<String>) -> EsnError {
    EsnError::Saved {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Reads the arrays of a safetensors file by name, checking type, shape and finiteness.
pub(crate) struct Arrays<'a> {
    pub(crate) path: &'a Path,
    pub(crate) st: SafeTensors<'a>,
}

impl Arrays<'_> {
    fn view(&self, name: &str, dtype: Dtype, shape: &[usize]) -> Result<TensorView<'_>, EsnError> {
        let t = self
            .st
            .tensor(name)
            .map_err(|_| saved(self.path, format!("no tensor `{name}`")))?;
        if t.dtype() != dtype {
            return Err(saved(
                self.path,
                format!("tensor `{name}` is {:?}, expected {dtype:?}", t.dtype()),
            ));
        }
        if t.shape() != shape {
            return Err(saved(
                self.path,
                format!(
                    "tensor `{name}` has shape {:?}, expected {shape:?}",
                    t.shape()
                ),
            ));
        }
        Ok(t)
    }

    pub(crate) fn f32s(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, EsnError> {
        let t = self.view(name, Dtype::F32, shape)?;
        let v: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("chunks of 4")))
            .collect();
        self.finite(name, v.iter().all(|x| x.is_finite()))?;
        Ok(v)
    }

    pub(crate) fn f64s(&self, name: &str, shape: &[usize]) -> Result<Vec<f64>, EsnError> {
        let t = self.view(name, Dtype::F64, shape)?;
        let v: Vec<f64> = t
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("chunks of 8")))
            .collect();
        self.finite(name, v.iter().all(|x| x.is_finite()))?;
        Ok(v)
    }

    /// One whole number, stored as a one-element U64 tensor.
    pub(crate) fn u64(&self, name: &str) -> Result<u64, EsnError> {
        let t = self.view(name, Dtype::U64, &[1])?;
        Ok(u64::from_le_bytes(
            t.data().try_into().expect("one value of 8 bytes"),
        ))
    }

    fn finite(&self, name: &str, ok: bool) -> Result<(), EsnError> {
        if ok {
            Ok(())
        } else {
            Err(saved(
                self.path,
                format!("tensor `{name}` holds a non-finite value"),
            ))
        }
    }

    /// The per-unit device constants: required, positive and finite when `config` has device-to-device
    /// variability on an MF cell, refused when it has none (they would be silently ignored).
    pub(crate) fn unit_physics(
        &self,
        config: &ReservoirConfig,
        n: usize,
        prefix: &str,
    ) -> Result<Option<UnitPhysics>, EsnError> {
        let varies =
            config.hardware.d2d_sigma > 0.0 && matches!(config.cell, mf_core::CellKind::Mf(_));
        let names = DEVICE_TENSORS.map(|t| format!("{prefix}{t}"));
        if !varies {
            if let Some(name) = names.iter().find(|name| self.st.tensor(name).is_ok()) {
                return Err(saved(
                    self.path,
                    format!("tensor `{name}` holds per-unit device constants, but the model has no d2d_sigma"),
                ));
            }
            return Ok(None);
        }
        let [kp0, kd0, eta_p, eta_d] = &names;
        let units = UnitPhysics {
            kp0: self.f64s(kp0, &[n])?,
            kd0: self.f64s(kd0, &[n])?,
            eta_p: self.f64s(eta_p, &[n])?,
            eta_d: self.f64s(eta_d, &[n])?,
        };
        for (tensor, (_, v)) in names.iter().zip(units.arrays()) {
            if let Some((j, bad)) = v.iter().enumerate().find(|(_, x)| **x <= 0.0) {
                return Err(saved(
                    self.path,
                    format!("tensor `{tensor}` holds {bad} for unit {j}; device constants must be positive"),
                ));
            }
        }
        Ok(Some(units))
    }

    /// The length of the first axis of tensor `name`, whatever it is.
    pub(crate) fn rows(&self, name: &str) -> Result<usize, EsnError> {
        let t = self
            .st
            .tensor(name)
            .map_err(|_| saved(self.path, format!("no tensor `{name}`")))?;
        t.shape()
            .first()
            .copied()
            .ok_or_else(|| saved(self.path, format!("tensor `{name}` is a scalar")))
    }
}

pub(crate) fn matrix(v: Vec<f32>, rows: usize, cols: usize) -> Array2<f32> {
    Array2::from_shape_vec((rows, cols), v).expect("shape checked on reading")
}

/// The readout's tensors (`readout.weight` `(n_features, q)`, `readout.bias`) and its description.
pub(crate) fn readout_tensors(readout: &Readout, n_features: usize) -> (Vec<Tensor>, SavedReadout) {
    let (ridge, saved) = match readout {
        Readout::Classifier(c) => (
            &c.ridge,
            SavedReadout::Classifier {
                classes: c.classes.clone(),
                lambda: c.ridge.lambda,
            },
        ),
        Readout::Regressor(r) => (r, SavedReadout::Regressor { lambda: r.lambda }),
    };
    let q = ridge.intercept.len();
    (
        vec![
            f64_tensor("readout.weight", &[n_features, q], &ridge.coef),
            f64_tensor("readout.bias", &[q], &ridge.intercept),
        ],
        saved,
    )
}

/// The readout written by [`readout_tensors`], on `n_features` features; `meta` names the description file.
pub(crate) fn read_readout(
    a: &Arrays<'_>,
    saved_readout: SavedReadout,
    n: usize,
    meta: &Path,
) -> Result<Readout, EsnError> {
    let q = match &saved_readout {
        SavedReadout::Classifier { classes, .. } => {
            if classes.is_empty() || classes.windows(2).any(|w| w[0] >= w[1]) {
                return Err(saved(
                    meta,
                    "the readout's classes must be distinct, sorted and at least one",
                ));
            }
            if classes.len() == 2 {
                1
            } else {
                classes.len()
            }
        }
        SavedReadout::Regressor { .. } => a.rows("readout.bias")?,
    };
    let coef = Array2::from_shape_vec((n, q), a.f64s("readout.weight", &[n, q])?)
        .expect("shape checked on reading");
    let intercept = Array1::from(a.f64s("readout.bias", &[q])?);
    let ridge = |lambda| Ridge {
        coef,
        intercept,
        lambda,
    };
    Ok(match saved_readout {
        SavedReadout::Classifier { classes, lambda } => Readout::Classifier(RidgeClassifier {
            ridge: ridge(lambda),
            classes,
        }),
        SavedReadout::Regressor { lambda } => Readout::Regressor(ridge(lambda)),
    })
}

/// Each neuron's own device constants as tensors named `{prefix}device.kp0`, ...
pub(crate) fn unit_tensors(units: &UnitPhysics, prefix: &str, n: usize) -> Vec<Tensor> {
    DEVICE_TENSORS
        .into_iter()
        .zip(units.arrays())
        .map(|(name, (_, v))| f64_tensor(format!("{prefix}{name}"), &[n], v))
        .collect()
}

/// Writes `tensors` to `path` as one safetensors file.
pub(crate) fn write_tensors(path: &Path, tensors: &[Tensor]) -> Result<(), EsnError> {
    let views = tensors.iter().map(|t| {
        let view = TensorView::new(t.dtype, t.shape.clone(), &t.bytes)
            .expect("the bytes of each array match its shape");
        (t.name.as_str(), view)
    });
    let bytes = safetensors::serialize(views, None)
        .map_err(|e| saved(path, format!("cannot serialise: {e}")))?;
    std::fs::write(path, bytes).map_err(io(path))
}

/// Reads the safetensors file at `path` into `bytes` (kept by the caller, which the arrays borrow).
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>, EsnError> {
    std::fs::read(path).map_err(io(path))
}

/// The arrays of safetensors `bytes` read from `path`.
pub(crate) fn arrays<'a>(path: &'a Path, bytes: &'a [u8]) -> Result<Arrays<'a>, EsnError> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| saved(path, format!("not a readable safetensors file: {e}")))?;
    Ok(Arrays { path, st })
}

impl FittedReservoir {
    /// Writes the model into `dir` (created if absent): [`WEIGHTS_FILE`] with the reservoir weights, the
    /// readout and the training states, and [`META_FILE`] with the configuration, the seed and the readout's
    /// kind (see the `saved` module's table).
    pub fn save(&self, dir: &Path) -> Result<(), EsnError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let (n, d) = (self.weights.n_units(), self.weights.n_inputs());
        let (readout_tensors, readout) = readout_tensors(&self.readout, n);
        let mut tensors = vec![
            f32_tensor("w_in", &[d, n], &self.weights.w_in),
            f32_tensor("w_rec", &[n, n], &self.weights.w_rec),
            f32_tensor("bias", &[n], &self.weights.bias),
        ];
        tensors.extend(readout_tensors);
        tensors.push(f32_tensor(
            "train_states",
            &[self.train_states.nrows(), n],
            &self.train_states,
        ));
        if let Some(units) = &self.units {
            tensors.extend(unit_tensors(units, "", n));
        }
        write_tensors(&dir.join(WEIGHTS_FILE), &tensors)?;
        SavedMeta {
            config: self.config.clone(),
            seed: self.seed,
            n_inputs: d,
            n_train: self.train_states.nrows(),
            readout,
        }
        .write(dir)
    }

    /// Reads a model written by [`FittedReservoir::save`]. Every array is checked against the description (name,
    /// type, shape, finite values); a missing or malformed file is [`EsnError::Io`] or [`EsnError::Saved`]
    /// naming it.
    pub fn load(dir: &Path) -> Result<Self, EsnError> {
        let meta = SavedMeta::<ReservoirConfig>::read(dir, ReservoirConfig::check)?;
        let path = dir.join(WEIGHTS_FILE);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let st = SafeTensors::deserialize(&bytes)
            .map_err(|e| saved(&path, format!("not a readable safetensors file: {e}")))?;
        let a = Arrays { path: &path, st };
        let (n, d) = (meta.config.n_units, meta.n_inputs);
        let weights = mf_core::Weights {
            w_in: matrix(a.f32s("w_in", &[d, n])?, d, n),
            w_rec: matrix(a.f32s("w_rec", &[n, n])?, n, n),
            bias: Array1::from(a.f32s("bias", &[n])?),
        };
        let readout = read_readout(&a, meta.readout, n, &dir.join(META_FILE))?;
        let train_states = matrix(a.f32s("train_states", &[meta.n_train, n])?, meta.n_train, n);
        let units = a.unit_physics(&meta.config, n, "")?;
        Ok(FittedReservoir {
            config: meta.config,
            seed: meta.seed,
            weights,
            readout,
            train_states,
            units,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{Esn, MfEsn, Prediction};
    use mf_core::fixtures::waves;
    use mf_core::Targets;

    fn bits(p: &Prediction) -> Vec<u64> {
        match p {
            Prediction::Classes(c) => c.iter().map(|&c| c as u64).collect(),
            Prediction::Values(v) => v.iter().map(|x| x.to_bits()).collect(),
        }
    }

    #[test]
    fn a_saved_reservoir_loads_equal_and_predicts_the_same_bits() {
        let x = waves(30, 12, 2);
        let three = Targets::Classes {
            labels: (0..30).map(|i| i % 3).collect(),
            n_classes: 4,
        };
        let two = Targets::Classes {
            labels: (0..30).map(|i| (i % 2) * 2).collect(),
            n_classes: 3,
        };
        let values = Targets::Values(Array2::from_shape_fn((30, 2), |(i, j)| {
            (i as f64 * 0.1).cos() + j as f64
        }));
        for (params, y) in [
            (MfEsn::params().n_units(12).dt(0.1), &three),
            (Esn::params().n_units(9).alpha(0.4), &two),
            (MfEsn::params().n_units(7), &values),
            (
                Esn::params().n_units(9).hardware(crate::Hardware {
                    w_noise: 0.1,
                    stuck_max: 0.05,
                    adc_bits: 4,
                    readout_bits: 6,
                    ..Default::default()
                }),
                &three,
            ),
        ] {
            let model = params.fit(&x, y, 3).unwrap();
            let dir = tempfile::tempdir().unwrap();
            model.save(dir.path()).unwrap();
            let back = FittedReservoir::load(dir.path()).unwrap();
            assert_eq!(back, model);
            assert_eq!(
                bits(&back.predict(&x).unwrap()),
                bits(&model.predict(&x).unwrap())
            );
        }
    }

    #[test]
    fn neuron_devices_are_saved_as_tensors_and_a_loaded_model_predicts_the_same_bits() {
        let x = waves(30, 12, 2);
        let y = Targets::Classes {
            labels: (0..30).map(|i| i % 3).collect(),
            n_classes: 3,
        };
        let hw = crate::Hardware {
            w_bits: 8,
            w_noise: 0.05,
            stuck_zero: 0.01,
            adc_bits: 8,
            d2d_sigma: 0.05,
            c2c_sigma: 0.1,
            ..Default::default()
        };
        let model = MfEsn::params()
            .n_units(12)
            .dt(0.05)
            .hardware(hw)
            .fit(&x, &y, 4)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        model.save(dir.path()).unwrap();
        let bytes = std::fs::read(dir.path().join(WEIGHTS_FILE)).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let units = model.unit_physics().unwrap();
        for (name, (_, want)) in DEVICE_TENSORS.into_iter().zip(units.arrays()) {
            let t = st.tensor(name).unwrap();
            assert_eq!((t.dtype(), t.shape()), (Dtype::F64, &[12][..]));
            let got: Vec<f64> = t
                .data()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                .collect();
            assert_eq!(got, want);
        }
        let back = FittedReservoir::load(dir.path()).unwrap();
        assert_eq!(back, model);
        assert_eq!(
            bits(&back.predict(&x).unwrap()),
            bits(&model.predict(&x).unwrap())
        );
        // A model without variability stores no device tensors.
        let plain = MfEsn::params().n_units(12).fit(&x, &y, 4).unwrap();
        let other = tempfile::tempdir().unwrap();
        plain.save(other.path()).unwrap();
        let bytes = std::fs::read(other.path().join(WEIGHTS_FILE)).unwrap();
        assert!(SafeTensors::deserialize(&bytes)
            .unwrap()
            .tensor("device.kp0")
            .is_err());
    }

    #[test]
    fn device_tensors_that_disagree_with_the_description_are_refused() {
        let x = waves(10, 12, 2);
        let y = Targets::Classes {
            labels: (0..10).map(|i| i % 2).collect(),
            n_classes: 2,
        };
        let hw = crate::Hardware {
            d2d_sigma: 0.05,
            ..Default::default()
        };
        let model = MfEsn::params()
            .n_units(4)
            .hardware(hw)
            .fit(&x, &y, 1)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        model.save(dir.path()).unwrap();
        let meta = dir.path().join(META_FILE);
        let good_meta = std::fs::read_to_string(&meta).unwrap();
        let check = |want: &str| {
            let e = FittedReservoir::load(dir.path()).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        };
        // Without d2d_sigma the stored constants would be ignored: refused.
        let without: serde_json::Value = serde_json::from_str(&good_meta).unwrap();
        let mut without = without;
        without["config"]["hardware"]
            .as_object_mut()
            .unwrap()
            .remove("d2d_sigma");
        std::fs::write(&meta, without.to_string()).unwrap();
        check("model.safetensors: tensor `device.kp0` holds per-unit device constants");
        // A description asking for them with a file that lacks them: refused too.
        std::fs::write(&meta, &good_meta).unwrap();
        let plain = MfEsn::params().n_units(4).fit(&x, &y, 1).unwrap();
        let other = tempfile::tempdir().unwrap();
        plain.save(other.path()).unwrap();
        std::fs::copy(
            other.path().join(WEIGHTS_FILE),
            dir.path().join(WEIGHTS_FILE),
        )
        .unwrap();
        check("no tensor `device.kp0`");
        // A non-positive constant is refused naming its tensor and unit.
        let mut bad = model.clone();
        bad.units.as_mut().unwrap().eta_d[2] = -1.0;
        bad.save(dir.path()).unwrap();
        check("tensor `device.eta_d` holds -1 for unit 2");
        model.save(dir.path()).unwrap();
        assert_eq!(FittedReservoir::load(dir.path()).unwrap(), model);
    }

    #[test]
    fn damaged_files_are_errors_naming_the_file() {
        let x = waves(10, 12, 2);
        let y = Targets::Classes {
            labels: (0..10).map(|i| i % 2).collect(),
            n_classes: 2,
        };
        let model = MfEsn::params().n_units(4).fit(&x, &y, 1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        model.save(dir.path()).unwrap();
        let weights = dir.path().join(WEIGHTS_FILE);
        let meta = dir.path().join(META_FILE);
        let good = std::fs::read(&weights).unwrap();
        let good_meta = std::fs::read_to_string(&meta).unwrap();
        let check = |want: &str| {
            let e = FittedReservoir::load(dir.path()).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        };
        std::fs::write(&weights, &good[..good.len() - 3]).unwrap();
        check("model.safetensors: not a readable safetensors file");
        std::fs::remove_file(&weights).unwrap();
        check("i/o error on");
        std::fs::write(&weights, &good).unwrap();
        std::fs::write(&meta, good_meta.replace("\"n_units\": 4", "\"n_units\": 5")).unwrap();
        check("tensor `w_in` has shape [2, 4], expected [2, 5]");
        std::fs::write(&meta, "{").unwrap();
        check("model.json: malformed");
        std::fs::write(&meta, &good_meta).unwrap();
        assert_eq!(FittedReservoir::load(dir.path()).unwrap(), model);
    }
}
