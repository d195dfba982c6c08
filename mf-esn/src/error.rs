//! The error type of `mf-esn`.

use mf_core::CoreError;

/// Everything that can go wrong when fitting or using a reservoir model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EsnError {
    /// The work was stopped through its cancellation flag.
    #[error("cancelled")]
    Cancelled,
    /// A hyper-parameter is outside its valid range.
    #[error("invalid parameter {name} = {}: {reason}", mf_core::error::Shown(*.value))]
    Param {
        /// The parameter's name as the paper writes it (`lambda`, `rho`, ...).
        name: &'static str,
        /// The offending value.
        value: f64,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// Two inputs that must agree in size do not.
    #[error("shape mismatch: {what}: expected {expected}, got {got}")]
    Shape {
        /// Which quantity was checked.
        what: String,
        /// The size that was expected.
        expected: String,
        /// The size that was found.
        got: String,
    },
    /// A reservoir state, a design matrix, a target or a fitted coefficient is NaN or infinite.
    #[error("non-finite values in {what}")]
    NonFinite {
        /// Where the value was found, e.g. `reservoir state of series 3 at step 10`.
        what: String,
    },
    /// The targets do not suit the operation (no series, labels out of range, wrong kind of task).
    #[error("invalid targets: {0}")]
    Targets(String),
    /// A numerical routine failed.
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// An error from the cell and harvesting layer.
    #[error(transparent)]
    Core(CoreError),
    /// An error raised by linfa's traits.
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
    /// Reading or writing a saved model failed.
    #[error("i/o error on {}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A saved model's file is malformed or disagrees with the rest of the model.
    #[error("{}: {reason}", path.display())]
    Saved {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl From<CoreError> for EsnError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::NonFinite { series, step } => EsnError::NonFinite {
                what: format!("reservoir state of series {series} at step {step}"),
            },
            CoreError::Param {
                name,
                value,
                reason,
            } => EsnError::Param {
                name,
                value,
                reason,
            },
            CoreError::Cancelled => EsnError::Cancelled,
            other => EsnError::Core(other),
        }
    }
}
