//! Plain data and small traits the dashboard takes from its caller: data set summaries, a reservoir trace and
//! the stability analysis. Keeping them as plain values lets the dashboard run over any data and model crates
//! and lets tests use fakes.

/// What the Data view shows of one data set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DatasetSummary {
    /// Name as written in specs (e.g. `SyntheticControl`).
    pub name: String,
    /// Where it comes from (a directory, or `embedded` for the generated defaults).
    pub source: String,
    /// Series in the training split.
    pub n_train: usize,
    /// Series in the test split.
    pub n_test: usize,
    /// Shortest and longest series length.
    pub length: (usize, usize),
    /// Input dimensions per step.
    pub n_inputs: usize,
    /// Number of classes; None for regression.
    pub n_classes: Option<usize>,
    /// A few example series per class (first input dimension), for the plot.
    pub examples: Vec<ClassExamples>,
}

/// A few series of one class (or of a regression target range).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClassExamples {
    /// Class label as shown.
    pub label: String,
    /// Each series' values over time.
    pub series: Vec<Vec<f64>>,
}

/// Reservoir state trajectories of a few units while one series is fed in, for the Live view.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReservoirTrace {
    /// What produced it, e.g. `MF-ESN on SyntheticControl series 0`.
    pub title: String,
    /// One `(unit name, state over time)` per unit.
    pub units: Vec<(String, Vec<f64>)>,
}

/// The configuration whose stability the Stability view shows (paper Sec. V).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StabilityParams {
    /// Integration step. Default 0.01 (paper Fig. 6 settings use 0.1, 0.01, 0.001).
    pub dt: f64,
    /// Decay factor gamma. Default 0.95.
    pub gamma: f64,
    /// Steepness s of the rescaling. Default 1.
    pub s: f64,
    /// Spectral norm given to `W_h`. Default 0.9.
    pub rho: f64,
}

impl Default for StabilityParams {
    fn default() -> Self {
        StabilityParams {
            dt: 0.01,
            gamma: 0.95,
            s: 1.0,
            rho: 0.9,
        }
    }
}

/// What the stability analysis of one configuration found (SPEC section 6).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StabilityPicture {
    /// Jacobian eigenvalues as `(re, im)`.
    pub eigenvalues: Vec<(f64, f64)>,
    /// Bauer-Fike centres `gamma - dt P_i` (real) as `(re, im)`.
    pub centres: Vec<(f64, f64)>,
    /// Bauer-Fike radius `dt ||M||` around each centre.
    pub radius: f64,
    /// Theorem V.6 bounds `(gamma - dt p_max, gamma - dt p_min)` on the real axis.
    pub v6_bounds: (f64, f64),
    /// Spectral radius of the Jacobian.
    pub spectral_radius: f64,
    /// Lemma V.1 holds (the unit ball is invariant).
    pub lemma_v1: bool,
    /// Theorem V.3 holds (contraction: a unique stable input-driven solution).
    pub theorem_v3: bool,
    /// Theorem V.6's necessary condition holds.
    pub theorem_v6: bool,
}

/// Computes the stability picture of a configuration (the binary wires this to mf-core's stability functions
/// in the paper's Fig. 6 setting).
pub trait StabilityAnalyzer: Send + Sync {
    /// Analyses `params`; an `Err` is shown in the interface.
    fn analyze(&self, params: &StabilityParams) -> Result<StabilityPicture, String>;
}
