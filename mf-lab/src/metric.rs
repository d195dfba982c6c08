//! How a job is scored.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How a job is scored: accuracy for classification, RMSE for regression (paper Sec. VI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Fraction of correctly classified series; higher is better.
    Accuracy,
    /// Root mean squared error; lower is better.
    Rmse,
}

impl Metric {
    /// Whether larger scores are better (true for accuracy, false for RMSE).
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::Accuracy)
    }

    /// Whether `a` is strictly better than `b`. A NaN is never better than anything, and any number is better
    /// than NaN, so a configuration whose score is not finite is never selected over one that is.
    pub fn strictly_better(self, a: f64, b: f64) -> bool {
        if a.is_nan() {
            return false;
        }
        if b.is_nan() {
            return true;
        }
        if self.higher_is_better() {
            a > b
        } else {
            a < b
        }
    }

    /// The arrow used by the paper's tables: up for accuracy, down for RMSE.
    pub fn arrow(self) -> &'static str {
        if self.higher_is_better() {
            "↑"
        } else {
            "↓"
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Metric::Accuracy => "acc",
            Metric::Rmse => "RMSE",
        })
    }
}
