//! Memristive-friendly (MF) recurrent cells and their analysis.
//!
//! This crate holds the mathematics of Pistolesi et al. (2025): the MF cell (eqs. 8-12), the leaky ESN and tanh
//! baselines, reservoir initialisers, batched state harvesting over variable-length series, and the stability
//! results of the paper's Sec. V. It does no I/O and depends on no other crate of the workspace.
//!
//! Conventions used throughout:
//! - weights use the row convention `pre = x @ w_in + h @ w_rec + bias`, so `w_in` is `(n_inputs, n_units)`,
//!   `w_rec` is `(n_units, n_units)` and `bias` is `(n_units)`; the paper's column-form `W_h` is `w_rec` transposed;
//! - a batch of series is `(n_series, max_len, n_inputs)` plus one length per series (see [`Sequences`]).

pub mod cell;
pub mod devices;
pub mod error;
pub mod fastmath;
pub mod fixtures;
pub mod harvest;
pub mod init;
pub mod integrate;
pub mod linalg;
pub mod recurrent;
pub mod rng;
pub mod seq;
pub mod sparse;
pub mod stability;
pub mod threads;
pub mod variation;

pub use cell::{CellKind, MfCell, MfKernel, Physics, Weights};
pub use error::CoreError;
pub use recurrent::Recurrent;
pub use seq::{Sequences, Targets};
