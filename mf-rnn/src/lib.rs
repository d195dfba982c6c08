//! The paper's trainable models (Pistolesi et al. 2025, Sec. IV and VI): the MF-RNN, a memristive-friendly
//! recurrent layer whose `W_x`, `W_h` and bias are learnt by back-propagation through time, and the tanh RNN
//! baseline, each with a dense readout on the state at every series' own last step.
//!
//! ```no_run
//! # use mf_rnn::{train, RnnCell, RnnConfig};
//! # fn demo(x: &mf_core::Sequences, y: &mf_core::Targets, vx: &mf_core::Sequences, vy: &mf_core::Targets)
//! # -> Result<(), mf_rnn::RnnError> {
//! let config = RnnConfig::new(RnnCell::Mf(mf_core::MfCell::new(0.1, 0.8, 5.0))).lr(0.001).seed(1);
//! let model = train(&config, (x, y), (vx, vy), &mut |e| eprintln!("epoch {} val {}", e.epoch, e.val_loss))?;
//! let accuracy = model.score(vx, vy)?;
//! # Ok(()) }
//! ```
//!
//! Speed: candle's CPU matrix product reads the `RAYON_NUM_THREADS` environment variable on every call and splits
//! even the small `(64, 100) @ (100, 100)` products of a training step across threads, which makes them several
//! times slower than on one thread. Processes that train these models should run with `RAYON_NUM_THREADS=1` and
//! parallelise across configurations or runs instead (one training per thread).
//!
//! The `cuda` feature only changes [`device`]: with it, models run on the first CUDA device when one is present.
//! The fused MF step ([`cell::mf_step`]) is a CPU kernel; on other devices the unfused form is used.

pub mod cell;
mod config;
mod error;
mod model;
pub mod presets;
mod train;

pub use config::{RegressionLoss, RnnCell, RnnConfig};
pub use error::RnnError;
pub use train::{device, train, train_cancellable, Head, Prediction, TrainEvent, TrainedRnn};
