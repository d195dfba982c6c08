//! The paper's trainable models (Pistolesi et al. 2025, Sec. IV and VI): the MF-RNN, a memristive-friendly
//! recurrent layer whose `W_x`, `W_h` and bias are learnt by back-propagation through time, and the tanh RNN
//! baseline, each with a dense readout on the state at every series' own last step.
//!
//! ```no_run
//! # use mf_rnn::{train, CellKind, RnnConfig};
//! # fn demo(x: &mf_core::Sequences, y: &mf_core::Targets, vx: &mf_core::Sequences, vy: &mf_core::Targets)
//! # -> Result<(), mf_rnn::RnnError> {
//! let config = RnnConfig::new(CellKind::Mf(mf_core::MfCell::new(0.1, 0.8, 5.0))).lr(0.001).seed(1);
//! let model = train(&config, (x, y), (vx, vy), &mut |e| eprintln!("epoch {} val {}", e.epoch, e.val_loss))?;
//! let accuracy = model.score(vx, vy)?;
//! # Ok(()) }
//! ```
//!
//! Speed: on the CPU in f32 the recurrence of a whole batch is one candle operation with a hand-written
//! back-propagation through time (see `recurrence`): 140 steps of a batch are two dozen graph nodes instead of
//! several hundred. Its rows are split into chunks of 32 that run on candle's thread count (`RAYON_NUM_THREADS`,
//! else every core); the results do not depend on the thread count. Processes that train many models at once
//! should set `RAYON_NUM_THREADS=1` and parallelise across runs instead.
//!
//! Hardware: [`RnnConfig::hardware`] deploys the trained weights onto memristive devices (quantised, noisy,
//! stuck; states read through an ADC) when the model predicts, and [`RnnConfig::train_w_noise`] trains with weight
//! noise injected in the forward pass (see [`hardware`]). Both are off by default.
//!
//! The `cuda` feature only changes [`device`]: with it, models run on the first CUDA device when one is present.
//! The whole-batch recurrence and the fused MF step ([`cell::mf_step`], used for f64) are CPU kernels; on other
//! devices the unfused form is used.

pub mod cell;
mod config;
mod error;
pub mod hardware;
mod hybrid;
mod model;
mod recurrence;
mod stream;
mod train;

pub use config::{RegressionLoss, RnnConfig};
pub use error::RnnError;
pub use hardware::Hardware;
pub use hybrid::ReservoirStart;
pub use mf_core::init::Scalings;
/// The recurrent cells, shared with the reservoir models; the trained models take the MF and the tanh cell.
pub use mf_core::CellKind;
pub use stream::{RnnStream, RnnWeights};
pub use train::sequence::{train_on_signal, Windows};
pub use train::{
    device, train, train_cancellable, train_with, Divergence, Head, Prediction, TrainEvent,
    TrainedRnn, DIVERGENCE_FACTOR,
};
