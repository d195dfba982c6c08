//! MF-RNN: the memristive-friendly cell trained end to end by back-propagation through time (paper Sec. IV).

use mf_core::MfCell;
use mf_rnn::{CellKind, RnnConfig};

use super::{trainable, Configured, FittedModel, LoadError, Model};
use crate::grid::{Grid, Params};
use crate::LabError;

/// The MF-RNN model.
#[derive(Debug)]
pub struct MfRnnModel;

impl Model for MfRnnModel {
    fn id(&self) -> &'static str {
        "mf-rnn"
    }
    fn name(&self) -> &'static str {
        "MF-RNN"
    }
    fn paper(&self) -> Option<mf_paper::Model> {
        Some(mf_paper::Model::MfRnn)
    }
    fn is_reservoir(&self) -> bool {
        false
    }
    /// Training and the MF cell's hyper-parameters, then the hardware ones (`trainable::HARDWARE_PARAMS`: the
    /// devices it is deployed on, and hardware-aware training's `train_w_noise`).
    fn param_names(&self) -> &'static [&'static str] {
        &[
            "lr",
            "gamma",
            "s",
            "dt",
            "n_units",
            "max_epochs",
            "patience",
            "batch_size",
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
        trainable::configure(
            self,
            RnnConfig::new(CellKind::Mf(MfCell::new(0.01, 1.0, 5.0))),
            params,
        )
    }
}
