//! The leaky echo state network baseline (paper eqs. 8-12): a fixed random tanh reservoir and a ridge readout.

use mf_esn::ReservoirConfig;

use super::{reservoir, Configured, FittedModel, LoadError, Model};
use crate::grid::{Grid, Params};
use crate::LabError;

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
    fn param_names(&self) -> &'static [&'static str] {
        &[
            "omega",
            "beta",
            "rho",
            "alpha",
            "lambda",
            "n_units",
            "w_bits",
            "w_noise",
            "stuck_zero",
            "stuck_max",
            "adc_bits",
            "readout_bits",
            "density",
            "input_density",
        ]
    }
    fn quick_grid(&self) -> Grid {
        let (name, values) = ("alpha", vec![0.5, 1.0]);
        Grid::new(vec![(name.to_string(), values)]).expect("a valid grid")
    }
    fn load(&self, dir: &std::path::Path) -> Result<Box<dyn FittedModel>, LoadError> {
        reservoir::load(dir)
    }
    fn configure(&self, params: &Params) -> Result<Box<dyn Configured>, LabError> {
        reservoir::configure(self, ReservoirConfig::esn(), params)
    }
}
