//! The experiment manager of memristive: the engine (specs, run queue, durable result store, tables), the
//! model glue that trains and scores MF-ESN, ESN, MF-RNN and RNN on real or generated data, the headless
//! commands of the `mf` binary and its terminal dashboard.
//!
//! Only [`dashboard`] touches the terminal.

pub mod bench;
pub mod catalog;
pub mod commands;
pub mod dashboard;
pub mod engine;
pub mod eval;
pub mod npy;
pub mod tasks;
