//! The tanh recurrent network baseline, trained end to end (paper Sec. VI).

use mf_rnn::{CellKind, RnnConfig};

use super::{trainable, Configured, FittedModel, LoadError, Model};
use crate::grid::{Grid, Params};
use crate::LabError;

/// The tanh RNN model.
#[derive(Debug)]
pub struct RnnModel;

impl Model for RnnModel {
    fn id(&self) -> &'static str {
        "rnn"
    }
    fn name(&self) -> &'static str {
        "RNN"
    }
    fn paper(&self) -> Option<mf_paper::Model> {
        Some(mf_paper::Model::Rnn)
    }
    fn is_reservoir(&self) -> bool {
        false
    }
    /// Training hyper-parameters, then the hardware ones (`trainable::HARDWARE_PARAMS`).
    fn param_names(&self) -> &'static [&'static str] {
        &[
            "lr",
            "n_units",
            "max_epochs",
            "patience",
            "batch_size",
            "w_bits",
            "w_noise",
            "stuck_zero",
            "stuck_max",
            "adc_bits",
            "readout_bits",
            "train_w_noise",
        ]
    }
    fn quick_grid(&self) -> Grid {
        let (name, values) = ("lr", vec![0.001, 0.01]);
        Grid::new(vec![(name.to_string(), values)]).expect("a valid grid")
    }
    fn load(&self, dir: &std::path::Path) -> Result<Box<dyn FittedModel>, LoadError> {
        trainable::load(dir)
    }
    fn configure(&self, params: &Params) -> Result<Box<dyn Configured>, LabError> {
        trainable::configure(self, RnnConfig::new(CellKind::Tanh), params)
    }
}
