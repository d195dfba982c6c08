//! MF-ESN: a fixed random reservoir of memristive-friendly neurons and a ridge readout (paper Sec. IV).

use mf_core::init::SpectralInit;
use mf_core::CellKind;
use mf_esn::ReservoirConfig;

use super::hyper::{
    hyper_params, Hardware, HyperParams, Integration, MfStep, Neurons, ParamInfo, Physics, Readout,
    Scalings, Sparsity,
};
use super::{reservoir, Configured, FittedModel, LoadError, Model};
use crate::grid::{Grid, Params};
use crate::LabError;

hyper_params! {
    /// The MF-ESN's hyper-parameters: the reservoir's scalings and the MF cell's step (paper Table III), the
    /// readout, the device physics (Table II), the hardware and neuron non-idealities, and the paper's future
    /// work (Sec. VII: sparsity, integrator).
    pub struct MfEsnParams {
        /// The reservoir's scalings.
        scalings: Scalings = Scalings::default(),
        /// The MF cell's step.
        step: MfStep = MfStep::default(),
        /// Ridge regularisation lambda of the readout (paper Sec. VI: lambda = 1).
        lambda: f64 = ReservoirConfig::mf_esn().lambda,
        /// Reservoir units N (paper Sec. VI: 100).
        n_units: usize = ReservoirConfig::mf_esn().n_units,
        /// The device physics.
        physics: Physics = Physics::default(),
        /// Weight and read-out non-idealities.
        hardware: Hardware = Hardware::default(),
        /// The neurons' own device non-idealities.
        neurons: Neurons = Neurons::default(),
        /// Sparse connectivity.
        sparsity: Sparsity = Sparsity::default(),
        /// How the readout is fitted.
        readout: Readout = Readout::default(),
        /// The MF cell's integrator.
        integration: Integration = Integration::default(),
    }
}

impl MfEsnParams {
    /// The reservoir configuration these hyper-parameters describe (ranges are checked by
    /// [`ReservoirConfig::check`]).
    pub fn config(&self) -> Result<ReservoirConfig, LabError> {
        Ok(ReservoirConfig {
            n_units: self.n_units,
            scalings: self.scalings.core(),
            spectral: SpectralInit::CircularLaw,
            cell: CellKind::Mf(self.physics.cell(&self.step)),
            lambda: self.lambda,
            hardware: self.hardware.devices(Some(&self.neurons)),
            connectivity: self.sparsity.connectivity(),
            integrator: self.integration.integrator()?,
            readout: self.readout.fit()?,
        })
    }
}

/// The MF-ESN model.
#[derive(Debug)]
pub struct MfEsnModel;

impl Model for MfEsnModel {
    fn id(&self) -> &'static str {
        "mf-esn"
    }
    fn name(&self) -> &'static str {
        "MF-ESN"
    }
    fn paper(&self) -> Option<mf_paper::Model> {
        Some(mf_paper::Model::MfEsn)
    }
    fn is_reservoir(&self) -> bool {
        true
    }
    fn params(&self) -> Vec<ParamInfo> {
        MfEsnParams::info()
    }
    fn quick_grid(&self) -> Grid {
        let (name, values) = ("dt", vec![0.1, 0.01]);
        Grid::new(vec![(name.to_string(), values)]).expect("a valid grid")
    }
    fn load(&self, dir: &std::path::Path) -> Result<Box<dyn FittedModel>, LoadError> {
        reservoir::load(dir)
    }
    fn configure(&self, params: &Params) -> Result<Box<dyn Configured>, LabError> {
        reservoir::configure(MfEsnParams::from_params(self.id(), params)?.config()?)
    }
}
