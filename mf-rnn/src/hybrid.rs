//! The hybrid of MF-ESN and MF-RNN (paper Sec. VII): a trainable MF layer that starts from an MF-ESN reservoir
//! draw and either keeps its recurrent kernel (frozen, a reservoir whose input weights, bias and readout are
//! learnt by back-propagation through time) or fine-tunes everything.

use mf_core::init::{ReservoirInit, Scalings, SpectralInit};
use mf_core::rng::rng_from_seed;
use mf_core::sparse::Connectivity;
use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::RnnError;

/// Where the trainable layer starts: the MF-ESN's reservoir, drawn from the training seed exactly as
/// `mf_esn::MfEsn` draws it for the same seed (same initialiser, scalings and connectivity, so `W_x`, `W_h` and
/// the bias are the reservoir's); the readout starts as usual.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservoirStart {
    /// Input scaling `omega`, bias scaling `beta` and spectral radius `rho` of `W_h` (the MF-ESN's, default
    /// [`Scalings::MF_ESN`]). Serialised flat: `omega`, `beta`, `rho`.
    #[serde(flatten)]
    pub scalings: Scalings,
    /// How `rho` is reached (default circular law).
    #[serde(default)]
    pub spectral: SpectralInit,
    /// Which connections exist (default dense). A frozen sparse kernel stays sparse; a fine-tuned one fills in.
    #[serde(default, skip_serializing_if = "Connectivity::is_dense")]
    pub connectivity: Connectivity,
    /// Keep `W_h` at its draw: the optimiser gets `W_x`, the bias and the readout only. Default true.
    pub frozen: bool,
}

impl Default for ReservoirStart {
    /// The MF-ESN's defaults, frozen.
    fn default() -> Self {
        Self {
            scalings: Scalings::MF_ESN,
            spectral: SpectralInit::CircularLaw,
            connectivity: Connectivity::default(),
            frozen: true,
        }
    }
}

impl ReservoirStart {
    /// The reservoir initialiser for `n_units`.
    pub fn init(&self, n_units: usize) -> ReservoirInit {
        ReservoirInit {
            n_units,
            scalings: self.scalings,
            spectral: self.spectral,
        }
    }

    /// Checks the scalings and densities.
    pub fn check(&self, n_units: usize) -> Result<(), RnnError> {
        self.init(n_units).check()?;
        self.connectivity.check()?;
        Ok(())
    }

    /// Overwrites `model`'s `kernel`, `recurrent_kernel` and `bias` with the reservoir drawn from `seed`.
    pub(crate) fn apply(&self, model: &Model, seed: u64) -> Result<(), RnnError> {
        let (n_inputs, n_units) = (model.n_inputs(), model.vars[1].dims()[0]);
        let w = self
            .connectivity
            .draw(&self.init(n_units), n_inputs, &mut rng_from_seed(seed))?;
        let dev = model.vars[0].device();
        let t = |a: ndarray::ArrayViewD<'_, f32>| {
            candle_core::Tensor::from_vec(a.iter().copied().collect::<Vec<f32>>(), a.shape(), dev)
        };
        model.vars[0].set(&t(w.w_in.view().into_dyn())?)?;
        model.vars[1].set(&t(w.w_rec.view().into_dyn())?)?;
        model.vars[2].set(&t(w.bias.view().into_dyn())?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{train_with, CellKind, RnnConfig};
    use mf_core::fixtures::sine_classes;
    use mf_core::MfCell;
    use std::sync::atomic::AtomicBool;

    fn config(frozen: bool) -> RnnConfig {
        let mut c = RnnConfig::new(CellKind::Mf(MfCell::new(0.1, 0.9, 5.0)))
            .n_units(10)
            .max_epochs(4)
            .lr(0.01)
            .seed(3);
        c.reservoir = Some(ReservoirStart {
            connectivity: Connectivity {
                density: 0.5,
                input_density: 1.0,
            },
            frozen,
            ..ReservoirStart::default()
        });
        c
    }

    #[test]
    fn a_frozen_reservoir_start_keeps_its_recurrent_kernel_and_trains_the_rest() {
        let (x, y) = sine_classes(16, 12..=12, 0);
        let c = config(true);
        let start = c.reservoir.unwrap();
        let drawn = start
            .connectivity
            .draw(&start.init(10), 1, &mut rng_from_seed(3))
            .unwrap();
        let trained = train_with(&c, (&x, &y), None, &mut |_| {}, &AtomicBool::new(false)).unwrap();
        assert_eq!(trained.history().len(), 4);
        let w = trained.weights().unwrap().layer;
        // Bit for bit the reservoir's W_h, sparsity included; W_x and the bias moved.
        assert_eq!(w.w_rec, drawn.w_rec);
        assert_eq!(w.w_rec.iter().filter(|&&v| v != 0.0).count(), 50);
        assert_ne!(w.w_in, drawn.w_in);
        assert_ne!(w.bias, drawn.bias);
    }

    #[test]
    fn a_fine_tuned_reservoir_start_trains_its_recurrent_kernel() {
        let (x, y) = sine_classes(16, 12..=12, 0);
        let c = config(false);
        let start = c.reservoir.unwrap();
        let drawn = start
            .connectivity
            .draw(&start.init(10), 1, &mut rng_from_seed(3))
            .unwrap();
        let trained = train_with(&c, (&x, &y), None, &mut |_| {}, &AtomicBool::new(false)).unwrap();
        assert_ne!(trained.weights().unwrap().layer.w_rec, drawn.w_rec);
        // Before any epoch the whole layer is the reservoir.
        let model = Model::new(c.cell, 1, 10, 1, 3, &candle_core::Device::Cpu).unwrap();
        start.apply(&model, 3).unwrap();
        let p = model.params_detached();
        let flat = |t: &candle_core::Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(
            flat(&p.kernel),
            drawn.w_in.iter().copied().collect::<Vec<_>>()
        );
        assert_eq!(
            flat(&p.recurrent),
            drawn.w_rec.iter().copied().collect::<Vec<_>>()
        );
        assert_eq!(flat(&p.bias), drawn.bias.to_vec());
    }

    #[test]
    fn invalid_reservoir_starts_are_refused_and_the_field_round_trips() {
        let mut c = config(true);
        let mut start = ReservoirStart::default();
        start.scalings.rho = -1.0;
        c.reservoir = Some(start);
        assert!(c.check().is_err());
        let c = config(false);
        let s = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<RnnConfig>(&s).unwrap(), c);
        let plain = serde_json::to_string(&RnnConfig::new(CellKind::Tanh)).unwrap();
        assert!(!plain.contains("reservoir"));
    }
}
