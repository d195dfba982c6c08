//! The paper's selected hyper-parameters (Tables V and VII), its results (Table IV) and its grids (Table III).

use mf_core::{CellKind, MfCell};

use crate::ReservoirConfig;

/// The ten data sets of the paper, in the order of its tables.
pub const DATASETS: [&str; 10] = [
    "JapaneseVowels",
    "SyntheticControl",
    "ECG5000",
    "GunPoint",
    "Wafer",
    "Epilepsy",
    "Coffee",
    "FloodModeling1",
    "FloodModeling2",
    "FloodModeling3",
];

/// Table V rows: omega, beta, rho, gamma, s, dt.
const TABLE_V: [(&str, [f64; 6]); 10] = [
    ("JapaneseVowels", [1.0, 0.001, 0.8, 1.0, 5.0, 0.01]),
    ("SyntheticControl", [1.0, 0.1, 0.99, 0.95, 5.0, 0.1]),
    ("ECG5000", [1.0, 0.0, 0.9, 1.0, 5.0, 0.01]),
    ("GunPoint", [1.0, 0.0, 0.99, 0.95, 5.0, 0.1]),
    ("Wafer", [1.0, 0.001, 0.95, 1.0, 5.0, 0.1]),
    ("Epilepsy", [1.0, 0.001, 0.9, 1.0, 1.0, 0.01]),
    ("Coffee", [10.0, 1.0, 0.9, 0.95, 5.0, 0.01]),
    ("FloodModeling1", [0.1, 0.0, 0.8, 1.0, 5.0, 0.01]),
    ("FloodModeling2", [0.1, 1.0, 0.95, 1.0, 5.0, 0.01]),
    ("FloodModeling3", [0.1, 0.001, 0.95, 1.0, 5.0, 0.01]),
];

/// Table VII rows: omega, beta, rho, alpha. FloodModeling2's `omega = 2` is printed so although it lies outside the
/// grid of Table III; it is kept as printed.
const TABLE_VII: [(&str, [f64; 4]); 10] = [
    ("JapaneseVowels", [1.0, 0.001, 0.99, 0.1]),
    ("SyntheticControl", [1.0, 1.0, 0.99, 0.3]),
    ("ECG5000", [1.0, 1.0, 0.99, 0.5]),
    ("GunPoint", [10.0, 0.001, 0.95, 0.1]),
    ("Wafer", [1.0, 1.0, 0.99, 0.1]),
    ("Epilepsy", [1.0, 1.0, 0.9, 0.1]),
    ("Coffee", [0.1, 0.1, 0.99, 0.3]),
    ("FloodModeling1", [1.0, 0.1, 0.99, 0.1]),
    ("FloodModeling2", [2.0, 0.1, 0.95, 0.1]),
    ("FloodModeling3", [1.0, 0.1, 0.99, 0.1]),
];

fn mf_config(omega: f64, beta: f64, rho: f64, gamma: f64, s: f64, dt: f64) -> ReservoirConfig {
    ReservoirConfig {
        omega,
        beta,
        rho,
        cell: CellKind::Mf(MfCell::new(dt, gamma, s)),
        ..ReservoirConfig::mf_esn()
    }
}

fn esn_config(omega: f64, beta: f64, rho: f64, alpha: f64) -> ReservoirConfig {
    ReservoirConfig {
        omega,
        beta,
        rho,
        cell: CellKind::LeakyEsn { alpha },
        ..ReservoirConfig::esn()
    }
}

/// The MF-ESN configuration the paper selected for `dataset` (Table V), with `N = 100` and `lambda = 1`.
pub fn mf_esn(dataset: &str) -> Option<ReservoirConfig> {
    TABLE_V
        .iter()
        .find(|(n, _)| *n == dataset)
        .map(|(_, [o, b, r, g, s, dt])| mf_config(*o, *b, *r, *g, *s, *dt))
}

/// The leaky-ESN configuration the paper selected for `dataset` (Table VII), with `N = 100` and `lambda = 1`.
pub fn esn(dataset: &str) -> Option<ReservoirConfig> {
    TABLE_VII
        .iter()
        .find(|(n, _)| *n == dataset)
        .map(|(_, [o, b, r, a])| esn_config(*o, *b, *r, *a))
}

/// Grid values of Table III, in the order printed there.
pub const OMEGA: [f64; 3] = [0.1, 1.0, 10.0];
/// Bias scalings of Table III.
pub const BETA: [f64; 4] = [0.0, 0.001, 0.1, 1.0];
/// Spectral radii of Table III.
pub const RHO: [f64; 4] = [0.8, 0.9, 0.95, 0.99];
/// MF stabilisers of Table III.
pub const GAMMA: [f64; 4] = [0.5, 0.8, 0.95, 1.0];
/// MF slopes of Table III.
pub const SLOPE: [f64; 2] = [1.0, 5.0];
/// MF steps of Table III.
pub const DT: [f64; 3] = [0.1, 0.01, 0.001];
/// ESN leaking rates of Table III.
pub const ALPHA: [f64; 5] = [0.1, 0.3, 0.5, 0.7, 1.0];

/// The MF-ESN grid of Table III (1152 configurations). Nested loops, outermost first: omega, beta, rho, gamma, s,
/// dt, each in the order of the `OMEGA`, `BETA`, ... constants; selection takes the first strictly best in this order.
pub fn mf_esn_grid() -> Vec<ReservoirConfig> {
    let mut out = Vec::with_capacity(1152);
    for o in OMEGA {
        for b in BETA {
            for r in RHO {
                for g in GAMMA {
                    for s in SLOPE {
                        for dt in DT {
                            out.push(mf_config(o, b, r, g, s, dt));
                        }
                    }
                }
            }
        }
    }
    out
}

/// The ESN grid of Table III (240 configurations). Nested loops, outermost first: omega, beta, rho, alpha.
pub fn esn_grid() -> Vec<ReservoirConfig> {
    let mut out = Vec::with_capacity(240);
    for o in OMEGA {
        for b in BETA {
            for r in RHO {
                for a in ALPHA {
                    out.push(esn_config(o, b, r, a));
                }
            }
        }
    }
    out
}

/// A mean and a standard deviation as printed in Table IV (the paper omits the deviation when it rounds to 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaperScore {
    /// Mean over 5 runs.
    pub mean: f64,
    /// Population standard deviation over 5 runs (0 where the paper prints none).
    pub std: f64,
}

/// Table IV's ESN and MF-ESN scores for `dataset`: `(esn, mf_esn)`; accuracy, or RMSE for the flood sets.
pub fn paper_scores(dataset: &str) -> Option<(PaperScore, PaperScore)> {
    let p = |mean, std| PaperScore { mean, std };
    Some(match dataset {
        "JapaneseVowels" => (p(0.984, 0.003), p(0.974, 0.004)),
        "SyntheticControl" => (p(0.893, 0.010), p(0.950, 0.007)),
        "ECG5000" => (p(0.915, 0.002), p(0.924, 0.002)),
        "GunPoint" => (p(0.593, 0.023), p(0.769, 0.070)),
        "Wafer" => (p(0.986, 0.002), p(0.986, 0.001)),
        "Epilepsy" => (p(0.868, 0.015), p(0.961, 0.006)),
        "Coffee" => (p(0.586, 0.029), p(0.586, 0.017)),
        "FloodModeling1" => (p(0.019, 0.0), p(0.008, 0.0)),
        "FloodModeling2" => (p(0.018, 0.0), p(0.015, 0.001)),
        "FloodModeling3" => (p(0.023, 0.0), p(0.010, 0.001)),
        _ => return None,
    })
}

/// Whether `dataset` is a regression task (scored by RMSE, lower is better).
pub fn is_regression(dataset: &str) -> bool {
    dataset.starts_with("FloodModeling")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_data_set_has_both_presets_and_paper_scores() {
        for d in DATASETS {
            assert!(
                mf_esn(d).is_some() && esn(d).is_some() && paper_scores(d).is_some(),
                "{d}"
            );
            assert!(
                mf_esn(d).unwrap().check().is_ok() && esn(d).unwrap().check().is_ok(),
                "{d}"
            );
        }
        assert!(mf_esn("Nope").is_none());
    }

    #[test]
    fn grids_have_the_sizes_and_nesting_of_table_iii() {
        let g = mf_esn_grid();
        assert_eq!(g.len(), 3 * 4 * 4 * 4 * 2 * 3);
        // dt varies fastest, omega slowest.
        let dts: Vec<f64> = g[..3]
            .iter()
            .map(|c| match c.cell {
                CellKind::Mf(m) => m.dt,
                _ => panic!("MF grid holds MF cells"),
            })
            .collect();
        assert_eq!(dts, DT.to_vec());
        assert_eq!(g[0].omega, 0.1);
        assert_eq!(g[1151].omega, 10.0);
        assert_eq!(g[384].omega, 1.0);
        let e = esn_grid();
        assert_eq!(e.len(), 240);
        assert_eq!(e[1].cell, CellKind::LeakyEsn { alpha: 0.3 });
        assert_eq!(e[5].rho, 0.9);
        // Every Table V preset except none, and every Table VII preset but FloodModeling2 (omega 2), is in its grid.
        for d in DATASETS {
            assert!(g.contains(&mf_esn(d).unwrap()), "{d}");
            assert_eq!(e.contains(&esn(d).unwrap()), d != "FloodModeling2", "{d}");
        }
    }
}
