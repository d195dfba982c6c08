//! Reservoir models of Pistolesi et al. (2025): the memristive-friendly echo state network (MF-ESN) and the leaky
//! ESN baseline, each a fixed random recurrent layer read out by closed-form ridge regression on the state at the
//! last step of every series.
//!
//! - [`ridge`]: ridge regression and the `+1/-1` ridge classifier, usable through linfa's `Fit` and `Predict`;
//! - [`hardware`]: [`Hardware`], the non-idealities of a memristive implementation (weight devices, ADC);
//! - [`deep`]: [`DeepConfig`], stacked reservoirs read out together (deep MF-ESN, paper Sec. VII);
//! - [`model`]: [`MfEsn::params`] / [`Esn::params`] with consuming setters, [`FittedReservoir`], [`run_trials`];
//! - [`stream`]: [`ReservoirStream`], a fitted reservoir advanced one time step at a time, with its readout at
//!   any step; [`FittedReservoir::save`] and [`FittedReservoir::load`] keep a fitted model in a directory;
//! - [`presets`]: the hyper-parameters the paper selected (Tables V and VII), its results (Table IV) and the grids
//!   of its model selection (Table III).

// ndarray's `s!` expands to `#[allow(unsafe_code)]`, which `forbid` rejects: slice with `slice_axis`,
// `column` or `concatenate` instead.
#![forbid(unsafe_code)]

pub mod deep;
mod deep_saved;
pub mod error;
pub mod hardware;
pub mod model;
pub mod presets;
pub mod ridge;
mod saved;
pub mod sequence;
pub mod stream;

pub use deep::{DeepConfig, FittedDeep};
pub use deep_saved::DeepStream;
pub use error::EsnError;
pub use hardware::Hardware;
pub use mf_core::init::Scalings;
pub use model::{
    run_trials, Esn, FittedReservoir, MfEsn, Prediction, Readout, ReadoutFit, ReservoirConfig,
    ReservoirParams, ReservoirValidParams, TrialReport,
};
pub use ridge::{Ridge, RidgeClassifier, RidgeParams, RidgeValidParams};
pub use saved::{META_FILE, WEIGHTS_FILE};
pub use stream::ReservoirStream;
