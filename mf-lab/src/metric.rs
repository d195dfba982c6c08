//! How a job is scored.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How a job is scored: accuracy for classification, RMSE for regression (paper Sec. VI), and the sequence
/// tasks' metrics (`crate::sequence::SequenceTask::metric`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Fraction of correctly classified series; higher is better.
    Accuracy,
    /// Root mean squared error; lower is better.
    Rmse,
    /// Normalised root mean squared error of a sequence task's one-step predictions; lower is better.
    Nrmse,
    /// Linear memory capacity; higher is better.
    Mc,
    /// Valid prediction time of closed-loop generation, in Lyapunov times; higher is better.
    Vpt,
}

impl Metric {
    /// Whether larger scores are better (true for accuracy, false for RMSE).
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::Accuracy | Metric::Mc | Metric::Vpt)
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

    /// Every metric, in the order [`Metric::name`] lists them.
    pub const ALL: [Metric; 5] = [
        Metric::Accuracy,
        Metric::Rmse,
        Metric::Nrmse,
        Metric::Mc,
        Metric::Vpt,
    ];

    /// The name in the CSV files: `accuracy`, `rmse`, `nrmse`, `mc`, `vpt`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::Rmse => "rmse",
            Metric::Nrmse => "nrmse",
            Metric::Mc => "mc",
            Metric::Vpt => "vpt",
        }
    }

    /// The metric named `name` in a CSV file.
    pub fn from_name(name: &str) -> Option<Metric> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Its name in messages and titles: `accuracy`, `RMSE`, `NRMSE`, `memory capacity`, `valid prediction time`.
    pub fn title(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::Rmse => "RMSE",
            Metric::Nrmse => "NRMSE",
            Metric::Mc => "memory capacity",
            Metric::Vpt => "valid prediction time",
        }
    }

    /// What a figure's axis says: `test accuracy`, `test RMSE`, `test NRMSE`, `memory capacity`, ...
    pub fn label(self) -> &'static str {
        match self {
            Metric::Accuracy => "test accuracy",
            Metric::Rmse => "test RMSE",
            Metric::Nrmse => "test NRMSE",
            Metric::Mc => "memory capacity",
            Metric::Vpt => "valid prediction time (Lyapunov times)",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Metric::Accuracy => "acc",
            Metric::Rmse => "RMSE",
            Metric::Nrmse => "NRMSE",
            Metric::Mc => "MC",
            Metric::Vpt => "VPT",
        })
    }
}
