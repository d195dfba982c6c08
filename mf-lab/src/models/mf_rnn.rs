//! MF-RNN: the memristive-friendly cell trained end to end by back-propagation through time (paper Sec. IV).

use mf_rnn::{CellKind, RnnConfig};

use super::hyper::{hyper_params, Hardware, HyperParams, MfStep, ParamInfo, Physics, Training};
use super::{trainable, Configured, FittedModel, LoadError, Model};
use crate::grid::{Grid, Params};
use crate::LabError;

hyper_params! {
    /// The MF-RNN's hyper-parameters: training and the MF cell's step (paper Sec. VI, Table III), the device
    /// physics (Table II), then the devices it is deployed on and hardware-aware training.
    pub struct MfRnnParams {
        /// Adam's learning rate (paper Sec. VI, Table III).
        lr: f64 = RnnConfig::new(CellKind::Tanh).lr,
        /// The MF cell's step.
        step: MfStep = MfStep::default(),
        /// Recurrent units N (paper Sec. VI: 100).
        n_units: usize = RnnConfig::new(CellKind::Tanh).n_units,
        /// How training runs and stops.
        training: Training = Training::default(),
        /// The device physics.
        physics: Physics = Physics::default(),
        /// Weight and read-out non-idealities of the devices the trained model is deployed on (applied to the
        /// trained weights at prediction).
        hardware: Hardware = Hardware::default(),
        /// Hardware-aware training: relative weight noise injected in every training batch (0 = off).
        train_w_noise: f64 = 0.0,
    }
}

impl MfRnnParams {
    /// The training configuration these hyper-parameters describe (ranges are checked by [`RnnConfig::check`]).
    pub fn config(&self) -> RnnConfig {
        trainable::rnn_config(
            CellKind::Mf(self.physics.cell(&self.step)),
            self.lr,
            self.n_units,
            &self.training,
            &self.hardware,
            self.train_w_noise,
        )
    }
}

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
    fn params(&self) -> Vec<ParamInfo> {
        MfRnnParams::info()
    }
    fn quick_grid(&self) -> Grid {
        let (name, values) = ("lr", vec![0.001, 0.01]);
        Grid::new(vec![(name.to_string(), values)]).expect("a valid grid")
    }
    fn load(&self, dir: &std::path::Path) -> Result<Box<dyn FittedModel>, LoadError> {
        trainable::load(dir)
    }
    fn configure(&self, params: &Params) -> Result<Box<dyn Configured>, LabError> {
        trainable::configure(MfRnnParams::from_params(self.id(), params)?.config())
    }
}
