//! The error type of `mf-rnn`.

use std::path::PathBuf;

/// Everything that can go wrong while building, training, saving or loading a recurrent model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RnnError {
    /// A configuration value is out of range.
    #[error("invalid configuration {name} = {value}: {reason}")]
    Config {
        /// The field's name.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// Inputs and targets, or a model and its inputs, disagree in shape or kind.
    #[error("shape mismatch: {what}: expected {expected}, got {got}")]
    Shape {
        /// Which quantity was checked.
        what: String,
        /// What was expected.
        expected: String,
        /// What was found.
        got: String,
    },
    /// An input value inside a series' valid length is NaN or infinite.
    #[error("non-finite input in series {series} at step {step}")]
    NonFiniteInput {
        /// Index of the series.
        series: usize,
        /// Time step (0-based).
        step: usize,
    },
    /// A trained (or deployed) model's output for a series is NaN or infinite, so no prediction or score exists.
    #[error(
        "the model's output for series {series} is not finite (the weights or their device noise overflow); \
         no prediction or score is given"
    )]
    NonFiniteOutput {
        /// Index of the series (0-based).
        series: usize,
    },
    /// A target value is NaN or infinite, or a class label is out of range.
    #[error("invalid target for series {series}: {reason}")]
    Target {
        /// Index of the series.
        series: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The training or validation loss stopped being finite.
    #[error("non-finite {which} loss at epoch {epoch} with configuration {config}")]
    NonFiniteLoss {
        /// `"training"` or `"validation"`.
        which: &'static str,
        /// Epoch (1-based) at which it happened.
        epoch: usize,
        /// The configuration that was being trained, in words (`tanh cell, 100 units, lr 0.001, batch 64, seed 0`).
        config: String,
    },
    /// Training was cancelled through the cancellation flag.
    #[error("training cancelled before epoch {epoch}")]
    Cancelled {
        /// The epoch (1-based) that was about to start.
        epoch: usize,
    },
    /// A cell hyper-parameter is invalid.
    #[error(transparent)]
    Core(#[from] mf_core::CoreError),
    /// The tensor library failed.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// Reading or writing a saved model failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A saved model's JSON description is malformed.
    #[error("malformed model description {path}: {source}")]
    Json {
        /// The JSON file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
}
