//! A reservoir stopped part-way along a signal, on disk with its readout and the readout's fit so far, so that a
//! saved forecaster goes on from where it stopped: [`SequenceReservoir::save_state`] writes [`SEQUENCE_FILE`]
//! (safetensors, little-endian, bit for bit) and [`SequenceReservoir::load_state`] puts it back onto a reservoir
//! drawn again from the same configuration and seed.
//!
//! | tensor | shape | type |
//! |---|---|---|
//! | `layer<l>.w_in`, `layer<l>.w_rec`, `layer<l>.bias` | each layer's weights, as [`crate::FittedReservoir`] stores them | F32 |
//! | `layer<l>.state` | `(n_units)`: the layer's state after the last step | F32 |
//! | `steps` | `(1)`: steps driven since the zero state | U64 |
//! | `readout.weight`, `readout.bias` | `(n_features, n_outputs)`, `(n_outputs)` | F64 |
//! | `ridge.rows`; `ridge.shift_x`, `ridge.shift_y`, `ridge.sum_x`, `ridge.sum_y`, `ridge.xx`, `ridge.xy` | the normal equations (with `readout = "ridge"`) | U64; F64 |
//! | `rls.updates`; `rls.w`, `rls.p` | recursive least squares (with `readout = "rls"`) | U64; F64 |
//!
//! The weights are stored to be checked, not used: the loading reservoir is drawn from the seed again (its
//! programmed devices and neuron constants with it), and a weight that differs from the drawn one means the
//! directory was written by a library that draws differently, or was edited; it is refused.

use std::path::Path;

use ndarray::{Array1, Array2};

use super::{NormalEquations, ReadoutFitter, Rls, SequenceReservoir};
use crate::ridge::Ridge;
use crate::saved::{
    arrays, f32_tensor, f64_tensor, io, read_bytes, saved, u64_tensor, write_tensors,
};
use crate::{EsnError, ReadoutFit};

/// The file [`SequenceReservoir::save_state`] writes.
pub const SEQUENCE_FILE: &str = "sequence.safetensors";

impl SequenceReservoir {
    /// Writes this reservoir's weights and state, `readout` and `fitter` into `dir/`[`SEQUENCE_FILE`] (`dir` is
    /// created if absent).
    pub fn save_state(
        &self,
        dir: &Path,
        readout: &Ridge,
        fitter: &ReadoutFitter,
    ) -> Result<(), EsnError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut t = Vec::new();
        for (l, (w, h)) in self.weights.iter().zip(&self.h).enumerate() {
            let (d, n) = (w.n_inputs(), w.n_units());
            t.push(f32_tensor(format!("layer{l}.w_in"), &[d, n], &w.w_in));
            t.push(f32_tensor(format!("layer{l}.w_rec"), &[n, n], &w.w_rec));
            t.push(f32_tensor(format!("layer{l}.bias"), &[n], &w.bias));
            t.push(f32_tensor(format!("layer{l}.state"), &[n], h));
        }
        t.push(u64_tensor("steps", self.steps as u64));
        let (p, q) = readout.coef.dim();
        t.push(f64_tensor("readout.weight", &[p, q], &readout.coef));
        t.push(f64_tensor("readout.bias", &[q], &readout.intercept));
        match fitter {
            ReadoutFitter::Ridge(ne) => {
                t.push(u64_tensor("ridge.rows", ne.n as u64));
                t.push(f64_tensor("ridge.shift_x", &[p], &ne.shift_x));
                t.push(f64_tensor("ridge.shift_y", &[q], &ne.shift_y));
                t.push(f64_tensor("ridge.sum_x", &[p], &ne.sum_x));
                t.push(f64_tensor("ridge.sum_y", &[q], &ne.sum_y));
                t.push(f64_tensor("ridge.xx", &[p, p], &ne.xx));
                t.push(f64_tensor("ridge.xy", &[p, q], &ne.xy));
            }
            ReadoutFitter::Rls(rls) => {
                t.push(u64_tensor("rls.updates", rls.updates as u64));
                t.push(f64_tensor("rls.w", &[p + 1, q], &rls.w));
                t.push(f64_tensor("rls.p", &[p + 1, p + 1], &rls.p));
            }
        }
        write_tensors(&dir.join(SEQUENCE_FILE), &t)
    }

    /// Reads what [`Self::save_state`] wrote into `dir` onto this reservoir, which must be the one drawn again
    /// from the saved configuration and seed (at any state): its weights are checked against the stored ones, its
    /// state and step count become the stored ones, and the readout and the readout's fit for `n_outputs` targets
    /// are returned. A missing, malformed or disagreeing file is [`EsnError::Io`] or [`EsnError::Saved`] naming
    /// it, and leaves this reservoir as it was.
    pub fn load_state(
        &mut self,
        dir: &Path,
        n_outputs: usize,
    ) -> Result<(Ridge, ReadoutFitter), EsnError> {
        let path = dir.join(SEQUENCE_FILE);
        let bytes = read_bytes(&path)?;
        let a = arrays(&path, &bytes)?;
        let mut states = Vec::new();
        for (l, w) in self.weights.iter().enumerate() {
            let (d, n) = (w.n_inputs(), w.n_units());
            for (name, stored, drawn) in [
                ("w_in", a.f32s(&format!("layer{l}.w_in"), &[d, n])?, &w.w_in),
                (
                    "w_rec",
                    a.f32s(&format!("layer{l}.w_rec"), &[n, n])?,
                    &w.w_rec,
                ),
            ] {
                if !stored
                    .iter()
                    .zip(drawn.iter())
                    .all(|(s, d)| s.to_bits() == d.to_bits())
                {
                    return Err(differs(&path, l, name));
                }
            }
            let bias = a.f32s(&format!("layer{l}.bias"), &[n])?;
            if !bias
                .iter()
                .zip(w.bias.iter())
                .all(|(s, d)| s.to_bits() == d.to_bits())
            {
                return Err(differs(&path, l, "bias"));
            }
            let state = a.f32s(&format!("layer{l}.state"), &[n])?;
            states.push(Array2::from_shape_vec((1, n), state).expect("n values"));
        }
        let steps = a.u64("steps")? as usize;
        let (p, q) = (self.n_units(), n_outputs);
        let readout = Ridge {
            coef: Array2::from_shape_vec((p, q), a.f64s("readout.weight", &[p, q])?)
                .expect("p * q values"),
            intercept: Array1::from(a.f64s("readout.bias", &[q])?),
            lambda: self.config.lambda,
        };
        let vector = |name: &str, len: usize| a.f64s(name, &[len]).map(Array1::from);
        let matrix = |name: &str, rows: usize, cols: usize| {
            a.f64s(name, &[rows, cols])
                .map(|v| Array2::from_shape_vec((rows, cols), v).expect("rows * cols values"))
        };
        let fitter = match self.config.readout {
            ReadoutFit::Ridge => ReadoutFitter::Ridge(NormalEquations {
                n: a.u64("ridge.rows")? as usize,
                shift_x: vector("ridge.shift_x", p)?,
                shift_y: vector("ridge.shift_y", q)?,
                sum_x: vector("ridge.sum_x", p)?,
                sum_y: vector("ridge.sum_y", q)?,
                xx: matrix("ridge.xx", p, p)?,
                xy: matrix("ridge.xy", p, q)?,
            }),
            ReadoutFit::Rls { forgetting } => {
                let mut rls = Rls::new(p, q, self.config.lambda, forgetting)
                    .map_err(|e| saved(&path, e.to_string()))?;
                rls.w = matrix("rls.w", p + 1, q)?;
                rls.p = matrix("rls.p", p + 1, p + 1)?;
                rls.updates = a.u64("rls.updates")? as usize;
                ReadoutFitter::Rls(rls)
            }
        };
        self.h = states;
        self.steps = steps;
        Ok((readout, fitter))
    }
}

/// The error for a stored weight that is not the drawn one.
fn differs(path: &Path, layer: usize, name: &str) -> EsnError {
    saved(
        path,
        format!(
            "layer {}'s `{name}` differs from the reservoir drawn again from the saved configuration and seed: \
             the directory was written by a library that draws reservoirs differently, or edited",
            layer + 1
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Esn, MfEsn};
    use linfa::ParamGuard;
    use ndarray::Axis;

    /// Drives `r` along `u` from where it is, feeding each state and the next input to `fitter`.
    fn drive(r: &mut SequenceReservoir, fitter: &mut ReadoutFitter, u: &[f64]) {
        for w in u.windows(2) {
            r.push(&[w[0]]).unwrap();
            let x = r.read().insert_axis(Axis(0));
            let y = Array2::from_elem((1, 1), w[1]);
            fitter.add(x.view(), y.view()).unwrap();
        }
    }

    #[test]
    fn a_saved_state_goes_on_exactly_as_the_reservoir_that_wrote_it() {
        let u: Vec<f64> = (0..80).map(|t| (t as f64 * 0.21).sin()).collect();
        let deep = {
            let mut d = crate::DeepConfig::mf_esn(2);
            d.layer.n_units = 6;
            d
        };
        let reservoirs = [
            MfEsn::params()
                .n_units(9)
                .dt(0.1)
                .check()
                .unwrap()
                .draw_for_sequence(1, 3)
                .unwrap(),
            Esn::params()
                .n_units(7)
                .readout(ReadoutFit::Rls { forgetting: 0.99 })
                .check()
                .unwrap()
                .draw_for_sequence(1, 3)
                .unwrap(),
            MfEsn::params()
                .n_units(5)
                .hardware(crate::Hardware {
                    d2d_sigma: 0.1,
                    c2c_sigma: 0.05,
                    ..Default::default()
                })
                .check()
                .unwrap()
                .draw_for_sequence(1, 3)
                .unwrap(),
            deep.draw_for_sequence(1, 3).unwrap(),
        ];
        for fresh in reservoirs {
            let mut r = fresh.clone();
            let mut fitter = r.readout_fitter(1).unwrap();
            drive(&mut r, &mut fitter, &u[..50]);
            let readout = r.finish_readout(&fitter).unwrap();
            let dir = tempfile::tempdir().unwrap();
            r.save_state(dir.path(), &readout, &fitter).unwrap();
            let mut back = fresh.clone();
            let (readout2, mut fitter2) = back.load_state(dir.path(), 1).unwrap();
            assert_eq!(readout2.coef, readout.coef);
            assert_eq!(readout2.intercept, readout.intercept);
            assert_eq!(fitter2, fitter);
            assert_eq!((back.steps(), back.read()), (r.steps(), r.read()));
            // Both go on with the same bits, noise and readout fit included.
            drive(&mut r, &mut fitter, &u[49..]);
            drive(&mut back, &mut fitter2, &u[49..]);
            assert_eq!(back.read(), r.read());
            assert_eq!(fitter2, fitter);
        }
    }

    #[test]
    fn a_reservoir_drawn_otherwise_or_a_damaged_file_is_refused() {
        let params = Esn::params().n_units(6).check().unwrap();
        let mut r = params.draw_for_sequence(1, 1).unwrap();
        let mut fitter = r.readout_fitter(1).unwrap();
        drive(&mut r, &mut fitter, &[0.1, 0.2, 0.3, 0.4]);
        let readout = r.finish_readout(&fitter).unwrap();
        let dir = tempfile::tempdir().unwrap();
        r.save_state(dir.path(), &readout, &fitter).unwrap();
        let mut other = params.draw_for_sequence(1, 2).unwrap();
        let e = other.load_state(dir.path(), 1).unwrap_err().to_string();
        assert!(
            e.contains("layer 1's `w_in` differs") && e.contains(SEQUENCE_FILE),
            "{e}"
        );
        assert_eq!(other.steps(), 0);
        // The wrong number of outputs, and a file cut short.
        let mut same = params.draw_for_sequence(1, 1).unwrap();
        let e = same.load_state(dir.path(), 2).unwrap_err().to_string();
        assert!(e.contains("readout.weight") && e.contains("shape"), "{e}");
        let path = dir.path().join(SEQUENCE_FILE);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let e = same.load_state(dir.path(), 1).unwrap_err().to_string();
        assert!(e.contains("not a readable safetensors file"), "{e}");
    }
}
