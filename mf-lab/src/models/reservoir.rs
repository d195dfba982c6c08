//! What MF-ESN, ESN and the deep MF-ESN share: a checked reservoir configuration, and its fit (draw a reservoir,
//! fit the ridge readout).

use std::any::Any;

use mf_esn::ReservoirConfig;

use super::fitted::{self, ReservoirFitted};
use super::hyper::{self, HyperParams};
use super::{future, Configured, DataShape, FittedModel, LoadError, Model, TrialContext};
use crate::grid::Params;
use crate::tasks::Part;
use crate::training::TrainingProtocol;
use crate::LabError;

/// `c`, checked, as a configured reservoir model.
pub(super) fn configure(c: ReservoirConfig) -> Result<Box<dyn Configured>, LabError> {
    c.check()
        .map_err(|e| LabError::InvalidParams(e.to_string()))?;
    Ok(Box::new(Reservoir(c)))
}

/// Refuses the MF neurons' device non-idealities (`hyper::Neurons`) for `model`, whose tanh cell is no device,
/// with the reason.
pub(super) fn refuse_neurons(model: &dyn Model, params: &Params) -> Result<(), LabError> {
    let neurons = hyper::Neurons::info();
    match params.keys().find(|k| neurons.iter().any(|n| n.name == k.as_str())) {
        Some(k) => Err(LabError::InvalidParams(format!(
            "{} has no hyper-parameter `{k}`: only the MF cell is a device, the tanh cell has no device \
             non-idealities",
            model.id()
        ))),
        None => Ok(()),
    }
}

/// A checked reservoir configuration.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Reservoir(pub ReservoirConfig);

impl Configured for Reservoir {
    /// The configuration, with the count of its non-zero weights (`n_weights`, see [`future::n_weights`]).
    fn to_json(&self) -> serde_json::Value {
        let mut json = serde_json::to_value(&self.0).expect("a reservoir configuration serialises");
        json["n_weights"] = future::n_weights(&self.0);
        json
    }

    fn as_any(&self) -> &dyn Any {
        &self.0
    }

    fn sequence_units(&self) -> Option<usize> {
        Some(self.0.n_units)
    }

    fn draw_sequence(
        &self,
        n_inputs: usize,
        seed: u64,
    ) -> Result<mf_esn::sequence::SequenceReservoir, LabError> {
        Ok(self
            .0
            .clone()
            .into_params()?
            .draw_for_sequence(n_inputs, seed)?)
    }

    /// The recurrent kernel drawn in f64 and kept in f32 (an exact spectral radius adds the eigen-solver's copies
    /// and workspace), the last states of the fitted and the scored series in f32 and f64, and the ridge
    /// least-squares problem in f64: the stacked `(n_series + n_units, n_units)` design and its QR copy, and the
    /// targets.
    fn memory_bytes(&self, shape: &DataShape) -> u64 {
        let n = self.0.n_units as f64;
        let (series, eval) = (shape.n_series as f64, shape.n_eval as f64);
        let per_square = match self.0.spectral {
            mf_core::init::SpectralInit::CircularLaw => 8.0 + 4.0,
            mf_core::init::SpectralInit::Exact => 8.0 + 4.0 + 4.0 * 8.0,
        };
        let weights = n * n * per_square + shape.n_inputs as f64 * n * 12.0;
        let states = (series + eval) * n * (4.0 + 8.0);
        let ridge = (series + n) * (2.0 * n + shape.n_outputs.max(1) as f64) * 8.0;
        // Each harvesting thread advances blocks of 256 series; 64 threads cover any machine here.
        let blocks = 64.0 * 256.0 * n * 4.0 * 4.0;
        // Another integrator than eq. 12 harvests all series at once in f64: weights, states, pre-activations.
        let f64_path = if self.0.integrator.is_paper() {
            0.0
        } else {
            n * n * 8.0 + series.max(eval) * n * 8.0 * 3.0
        };
        (weights + states + ridge + blocks + f64_path).min(u64::MAX as f64) as u64
    }

    /// Draws the reservoir from `seed` and fits the readout on `train`. A reservoir does not stop early, so
    /// `val` and `protocol` are not used.
    fn fit(
        &self,
        train: &Part,
        _val: Option<&Part>,
        _protocol: TrainingProtocol,
        seed: u64,
        ctx: &TrialContext<'_>,
    ) -> Result<Box<dyn FittedModel>, LabError> {
        let params = self.0.clone().into_params()?;
        let model = params.fit_cancellable(&train.seqs, &train.targets, seed, ctx.cancel.flag())?;
        Ok(Box::new(ReservoirFitted(model)))
    }
}

/// A fitted MF-ESN or ESN from the files it saved into `dir`.
pub(super) fn load(dir: &std::path::Path) -> Result<Box<dyn FittedModel>, LoadError> {
    let m = mf_esn::FittedReservoir::load(dir).map_err(fitted::esn_load_error)?;
    Ok(Box::new(ReservoirFitted(m)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ModelKind;
    use mf_esn::Hardware;

    fn names<P: HyperParams>() -> Vec<&'static str> {
        P::info().iter().map(|i| i.name).collect()
    }

    fn params(kv: &[(&str, f64)]) -> Params {
        kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn hardware(m: ModelKind, kv: &[(&str, f64)]) -> Result<Hardware, LabError> {
        let c = m.model().configure(&params(kv))?;
        Ok(c.as_any()
            .downcast_ref::<ReservoirConfig>()
            .expect("a reservoir configuration")
            .hardware)
    }

    #[test]
    fn hardware_parameters_reach_both_reservoir_models_and_zero_is_the_ideal_configuration() {
        for m in [ModelKind::MfEsn, ModelKind::Esn] {
            for name in names::<hyper::Hardware>() {
                assert!(m.model().param_names().contains(&name), "{m}: {name}");
            }
            let hw = hardware(
                m,
                &[
                    ("w_bits", 4.0),
                    ("w_noise", 0.1),
                    ("stuck_zero", 0.02),
                    ("stuck_max", 0.01),
                    ("adc_bits", 8.0),
                    ("readout_bits", 6.0),
                ],
            )
            .unwrap();
            let want = Hardware {
                w_bits: 4,
                w_noise: 0.1,
                stuck_zero: 0.02,
                stuck_max: 0.01,
                adc_bits: 8,
                readout_bits: 6,
                d2d_sigma: 0.0,
                c2c_sigma: 0.0,
            };
            assert_eq!(hw, want);
            let zeros: Vec<(&str, f64)> = names::<hyper::Hardware>()
                .into_iter()
                .map(|n| (n, 0.0))
                .collect();
            let off = m.model().configure(&params(&zeros)).unwrap();
            let default = m.model().configure(&Params::new()).unwrap();
            assert_eq!(off.to_json(), default.to_json());
        }
        // The deep MF-ESN models no weight hardware (the trainable models take it: `hyper::Hardware`).
        let deep: ModelKind = "deep-mf-esn".parse().unwrap();
        assert!(deep
            .model()
            .configure(&params(&[("w_noise", 0.1)]))
            .is_err());
    }

    #[test]
    fn neuron_device_parameters_reach_the_mf_models_and_are_refused_for_the_esn() {
        let deep: ModelKind = "deep-mf-esn".parse().unwrap();
        for m in [ModelKind::MfEsn, deep] {
            for name in names::<hyper::Neurons>() {
                assert!(m.model().param_names().contains(&name), "{m}: {name}");
            }
            let c = m
                .model()
                .configure(&params(&[("d2d_sigma", 0.05), ("c2c_sigma", 0.1)]))
                .unwrap();
            let json = c.to_json();
            let hw = if m == ModelKind::MfEsn {
                &json["hardware"]
            } else {
                &json["layer"]["hardware"]
            };
            assert_eq!(hw["d2d_sigma"], 0.05, "{json}");
            assert_eq!(hw["c2c_sigma"], 0.1, "{json}");
            // Zero is off: the default configuration, serialised as before.
            let off = m
                .model()
                .configure(&params(&[("d2d_sigma", 0.0), ("c2c_sigma", 0.0)]))
                .unwrap();
            assert_eq!(
                off.to_json(),
                m.model().configure(&Params::new()).unwrap().to_json()
            );
            for bad in [("d2d_sigma", -0.1), ("c2c_sigma", -1e-3)] {
                let e = m
                    .model()
                    .configure(&params(&[bad]))
                    .unwrap_err()
                    .to_string();
                assert!(e.contains(bad.0) && e.contains("non-negative"), "{e}");
            }
            // Another integrator than the paper's step is refused with them.
            let e = m
                .model()
                .configure(&params(&[("c2c_sigma", 0.1), ("integrator", 1.0)]))
                .unwrap_err()
                .to_string();
            assert!(e.contains("Euler step only"), "{e}");
        }
        for name in names::<hyper::Neurons>() {
            assert!(!ModelKind::Esn.model().param_names().contains(&name));
            let e = ModelKind::Esn
                .model()
                .configure(&params(&[(name, 0.1)]))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(name) && e.contains("tanh cell has no device"),
                "{e}"
            );
        }
        // An MF-ESN turned into a leaky ESN by alpha is refused by the configuration's own check.
        let e = ModelKind::MfEsn
            .model()
            .configure(&params(&[("alpha", 0.5), ("d2d_sigma", 0.1)]));
        assert!(e.is_err());
    }

    #[test]
    fn bit_counts_are_whole_numbers_up_to_24_and_fractions_are_checked() {
        for bad in [
            ("w_bits", 2.5),
            ("adc_bits", -1.0),
            ("readout_bits", 25.0),
            ("w_noise", -0.1),
            ("stuck_zero", 1.5),
        ] {
            let e = hardware(ModelKind::MfEsn, &[bad]).unwrap_err().to_string();
            assert!(e.contains(bad.0), "{e}");
        }
        let e = hardware(ModelKind::Esn, &[("stuck_zero", 0.7), ("stuck_max", 0.5)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("stuck_zero + stuck_max"), "{e}");
    }
}
