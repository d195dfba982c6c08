//! MF-ESN: a fixed random reservoir of memristive-friendly neurons and a ridge readout (paper Sec. IV).

use mf_esn::ReservoirConfig;

use super::{reservoir, Configured, FittedModel, LoadError, Model};
use crate::grid::{Grid, Params};
use crate::LabError;

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
    fn param_names(&self) -> &'static [&'static str] {
        &[
            "omega",
            "beta",
            "rho",
            "gamma",
            "s",
            "dt",
            "lambda",
            "n_units",
            "kp0",
            "kd0",
            "eta_p",
            "eta_d",
            "a",
            "b",
            "w_bits",
            "w_noise",
            "stuck_zero",
            "stuck_max",
            "adc_bits",
            "readout_bits",
            "d2d_sigma",
            "c2c_sigma",
            "density",
            "input_density",
            "integrator",
            "substeps",
        ]
    }
    fn quick_grid(&self) -> Grid {
        let (name, values) = ("dt", vec![0.1, 0.01]);
        Grid::new(vec![(name.to_string(), values)]).expect("a valid grid")
    }
    fn load(&self, dir: &std::path::Path) -> Result<Box<dyn FittedModel>, LoadError> {
        reservoir::load(dir)
    }
    fn configure(&self, params: &Params) -> Result<Box<dyn Configured>, LabError> {
        reservoir::configure(self, ReservoirConfig::mf_esn(), params)
    }
}
