//! The error type of `mf-core`.

use std::fmt;

/// A parameter's value as an error message writes it: as Rust writes an `f64` (`0.5`, `20`, `NaN`), or in
/// scientific notation (`1e300`, `2.5e-9`) where that would run to many digits, as `1e300` otherwise does to
/// 301.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shown(pub f64);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v.is_finite() && v != 0.0 && !(1e-5..1e16).contains(&v.abs()) {
            write!(f, "{v:e}")
        } else {
            write!(f, "{v}")
        }
    }
}

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
    #[error("invalid parameter {name} = {}: {reason}", Shown(*.value))]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_plainly_unless_they_would_run_to_many_digits() {
        let shown = |v: f64| Shown(v).to_string();
        assert_eq!(shown(0.5), "0.5");
        assert_eq!(shown(20.0), "20");
        assert_eq!(shown(-0.1), "-0.1");
        assert_eq!(shown(0.0), "0");
        assert_eq!(shown(1e-4), "0.0001");
        assert_eq!(shown(f64::NAN), "NaN");
        assert_eq!(shown(f64::INFINITY), "inf");
        assert_eq!(shown(1e300), "1e300");
        assert_eq!(shown(-2.5e-9), "-2.5e-9");
        let e = CoreError::Param {
            name: "d2d_sigma",
            value: 1e300,
            reason: "too large",
        };
        assert_eq!(
            e.to_string(),
            "invalid parameter d2d_sigma = 1e300: too large"
        );
    }
}
