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
    /// Why the data set could not be loaded; None when it loaded. The Data view lists such a set with this
    /// reason, and the form does not offer it. Default None.
    pub error: Option<String>,
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

/// What the stability analysis of one configuration found (paper Sec. V, Fig. 6).
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

/// The paper's Fig. 6 setting over mf-core's analysis: `n_units` units, states ~ N(0, 1), input 1,
/// `W_x ~ U(-5, 5)`, zero bias, `W_h` uniform rescaled to spectral norm `rho`, the paper's physics (Table II).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fig6Stability {
    /// Units. Default 100 (paper Fig. 6).
    pub n_units: usize,
    /// Seed of the drawn weights and state. Default 0.
    pub seed: u64,
}

impl Default for Fig6Stability {
    fn default() -> Self {
        Fig6Stability {
            n_units: 100,
            seed: 0,
        }
    }
}

impl StabilityAnalyzer for Fig6Stability {
    fn analyze(&self, p: &StabilityParams) -> Result<StabilityPicture, String> {
        let cell = mf_lab::stability::MfCell::new(p.dt, p.gamma, p.s);
        let sp = mf_lab::stability::fig6_spectrum(&cell, self.n_units, p.rho, self.seed)
            .map_err(|e| e.to_string())?;
        let st = sp.stability;
        Ok(StabilityPicture {
            eigenvalues: sp.eigenvalues.iter().map(|[re, im]| (*re, *im)).collect(),
            centres: sp.centres.iter().map(|c| (*c, 0.0)).collect(),
            radius: sp.radius,
            v6_bounds: (st.theorem_v6.lower, st.theorem_v6.upper),
            spectral_radius: sp.spectral_radius,
            lemma_v1: st.lemma_v1.holds,
            theorem_v3: st.theorem_v3.holds,
            theorem_v6: st.theorem_v6.holds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fig6_picture_is_consistent_with_bauer_fike_and_theorem_v6() {
        let params = StabilityParams::default();
        let pic = Fig6Stability {
            n_units: 30,
            seed: 4,
        }
        .analyze(&params)
        .unwrap();
        assert_eq!(pic.eigenvalues.len(), 30);
        assert_eq!(pic.centres.len(), 30);
        let modulus = pic
            .eigenvalues
            .iter()
            .map(|(a, b)| a.hypot(*b))
            .fold(0.0, f64::max);
        assert!((modulus - pic.spectral_radius).abs() < 1e-12);
        // Theorem V.4: every eigenvalue lies within the radius of some centre.
        for (re, im) in &pic.eigenvalues {
            let near = pic
                .centres
                .iter()
                .map(|(c, _)| (re - c).hypot(*im))
                .fold(f64::INFINITY, f64::min);
            assert!(near <= pic.radius * (1.0 + 1e-9), "{near} > {}", pic.radius);
        }
        // The centres lie between the Theorem V.6 lines.
        let (lo, hi) = pic.v6_bounds;
        assert!(pic
            .centres
            .iter()
            .all(|(c, _)| *c >= lo - 1e-12 && *c <= hi + 1e-12));
    }

    #[test]
    fn invalid_configurations_are_errors_not_panics() {
        let bad = StabilityParams {
            gamma: 0.0,
            ..StabilityParams::default()
        };
        assert!(Fig6Stability::default().analyze(&bad).is_err());
    }
}
