//! The leaky echo state network baseline (paper eqs. 8-12): a fixed random tanh reservoir and a ridge readout.

use mf_core::init::SpectralInit;
use mf_core::integrate::Integrator;
use mf_core::CellKind;
use mf_esn::ReservoirConfig;

use super::hyper::{hyper_params, Hardware, HyperParams, ParamInfo, Readout, Scalings, Sparsity};
use super::{reservoir, Configured, FittedModel, LoadError, Model};
use crate::grid::{Grid, Params};
use crate::LabError;

/// The leaky ESN's default leak rate.
fn default_alpha() -> f64 {
    match ReservoirConfig::esn().cell {
        CellKind::LeakyEsn { alpha } => alpha,
        other => unreachable!("the ESN's default cell is the leaky ESN, not {other:?}"),
    }
}

hyper_params! {
    /// The leaky ESN's hyper-parameters: the reservoir's scalings and leak rate (paper Table III), the readout,
    /// the hardware non-idealities and sparsity (Sec. VII).
    pub struct EsnParams {
        /// The reservoir's scalings.
        scalings: Scalings = Scalings::esn(),
        /// Leak rate alpha of the leaky-integrator ESN, h <- (1 - alpha) h + alpha tanh(...) (paper Sec. VI,
        /// Table III).
        alpha: f64 = default_alpha(),
        /// Ridge regularisation lambda of the readout (paper Sec. VI: lambda = 1).
        lambda: f64 = ReservoirConfig::esn().lambda,
        /// Reservoir units N (paper Sec. VI: 100).
        n_units: usize = ReservoirConfig::esn().n_units,
        /// Weight and read-out non-idealities.
        hardware: Hardware = Hardware::default(),
        /// Sparse connectivity.
        sparsity: Sparsity = Sparsity::default(),
        /// How the readout is fitted.
        readout: Readout = Readout::default(),
    }
}

impl EsnParams {
    /// The reservoir configuration these hyper-parameters describe (ranges are checked by
    /// [`ReservoirConfig::check`]).
    pub fn config(&self) -> Result<ReservoirConfig, LabError> {
        Ok(ReservoirConfig {
            n_units: self.n_units,
            scalings: self.scalings.core(),
            spectral: SpectralInit::CircularLaw,
            cell: CellKind::LeakyEsn { alpha: self.alpha },
            lambda: self.lambda,
            hardware: self.hardware.devices(None),
            connectivity: self.sparsity.connectivity(),
            integrator: Integrator::default(),
            readout: self.readout.fit()?,
        })
    }
}

/// The leaky ESN model.
#[derive(Debug)]
pub struct EsnModel;

impl Model for EsnModel {
    fn id(&self) -> &'static str {
        "esn"
    }
    fn name(&self) -> &'static str {
        "ESN"
    }
    fn paper(&self) -> Option<mf_paper::Model> {
        Some(mf_paper::Model::Esn)
    }
    fn is_reservoir(&self) -> bool {
        true
    }
    fn params(&self) -> Vec<ParamInfo> {
        EsnParams::info()
    }
    fn quick_grid(&self) -> Grid {
        let (name, values) = ("alpha", vec![0.5, 1.0]);
        Grid::new(vec![(name.to_string(), values)]).expect("a valid grid")
    }
    fn load(&self, dir: &std::path::Path) -> Result<Box<dyn FittedModel>, LoadError> {
        reservoir::load(dir)
    }
    fn configure(&self, params: &Params) -> Result<Box<dyn Configured>, LabError> {
        reservoir::refuse_neurons(self, params)?;
        reservoir::configure(EsnParams::from_params(self.id(), params)?.config()?)
    }
}
