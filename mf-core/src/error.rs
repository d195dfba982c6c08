//! The error type of `mf-core`.

/// Everything that can go wrong in `mf-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// Two arrays that must agree in shape do not.
    #[error("shape mismatch: {what}: expected {expected}, got {got}")]
    Shape {
        /// Which quantity was checked.
        what: String,
        /// The shape or size that was expected.
        expected: String,
        /// The shape or size that was found.
        got: String,
    },
    /// A hyper-parameter is outside its valid range.
    #[error("invalid parameter {name} = {value}: {reason}")]
    Param {
        /// The parameter's name as the paper writes it (`gamma`, `dt`, ...).
        name: &'static str,
        /// The offending value.
        value: f64,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// The work was stopped through its cancellation flag.
    #[error("cancelled")]
    Cancelled,
    /// A state became NaN or infinite while running a cell.
    #[error("non-finite state in series {series} at step {step}")]
    NonFinite {
        /// Index of the series in the batch.
        series: usize,
        /// Time step (0-based) at which the state stopped being finite.
        step: usize,
    },
    /// A numerical routine (eigenvalues, factorisation) did not succeed.
    #[error("numerical failure: {0}")]
    Numerical(String),
}
