//! The paper's selected hyper-parameters (Tables V and VII), its results (Table IV) and its grids (Table III).

use mf_core::{CellKind, MfCell};

use mf_paper::Model;

use crate::{ReservoirConfig, Scalings};

fn mf_config(omega: f64, beta: f64, rho: f64, gamma: f64, s: f64, dt: f64) -> ReservoirConfig {
    ReservoirConfig {
        scalings: Scalings { omega, beta, rho },
        cell: CellKind::Mf(MfCell::new(dt, gamma, s)),
        ..ReservoirConfig::mf_esn()
    }
}

fn esn_config(omega: f64, beta: f64, rho: f64, alpha: f64) -> ReservoirConfig {
    ReservoirConfig {
        scalings: Scalings { omega, beta, rho },
        cell: CellKind::LeakyEsn { alpha },
        ..ReservoirConfig::esn()
    }
}

/// The MF-ESN configuration the paper selected for `dataset` (Table V), with `N = 100` and `lambda = 1`.
///
/// Names are matched by the paper's one rule ([`mf_paper::normalise`]); `None` for a set not in the paper.
pub fn mf_esn(dataset: &str) -> Option<ReservoirConfig> {
    mf_paper::dataset(dataset)?;
    let g = |n| get(dataset, Model::MfEsn, n);
    Some(mf_config(
        g("omega"),
        g("beta"),
        g("rho"),
        g("gamma"),
        g("s"),
        g("dt"),
    ))
}

/// The leaky-ESN configuration the paper selected for `dataset` (Table VII), with `N = 100` and `lambda = 1`.
/// FloodModeling2's `omega = 2` is printed so although it lies outside the grid of Table III; it is kept as
/// printed.
pub fn esn(dataset: &str) -> Option<ReservoirConfig> {
    mf_paper::dataset(dataset)?;
    let g = |n| get(dataset, Model::Esn, n);
    Some(esn_config(g("omega"), g("beta"), g("rho"), g("alpha")))
}

/// Hyper-parameter `name` of the paper's selection for `model` on `dataset`, which is known to exist.
fn get(dataset: &str, model: Model, name: &str) -> f64 {
    mf_paper::selected_value(dataset, model, name)
        .expect("the paper's tables name every hyper-parameter of their model")
}

/// The values of axis `name` of `model`'s Table III grid.
fn axis(model: Model, name: &str) -> &'static [f64] {
    mf_paper::table_iii_axis(model, name).expect("Table III names every axis of its model")
}

/// The MF-ESN grid of Table III (1152 configurations). Nested loops, outermost first: omega, beta, rho, gamma, s,
/// dt, each in the order printed in Table III ([`mf_paper::table_iii`]); selection takes the first strictly best in this order.
pub fn mf_esn_grid() -> Vec<ReservoirConfig> {
    let mut out = Vec::with_capacity(1152);
    let m = Model::MfEsn;
    for &o in axis(m, "omega") {
        for &b in axis(m, "beta") {
            for &r in axis(m, "rho") {
                for &g in axis(m, "gamma") {
                    for &s in axis(m, "s") {
                        for &dt in axis(m, "dt") {
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
    let m = Model::Esn;
    for &o in axis(m, "omega") {
        for &b in axis(m, "beta") {
            for &r in axis(m, "rho") {
                for &a in axis(m, "alpha") {
                    out.push(esn_config(o, b, r, a));
                }
            }
        }
    }
    out
}

/// A mean and a standard deviation as printed in Table IV (the paper omits the deviation when it rounds to 0).
pub use mf_paper::Score as PaperScore;

/// Table IV's ESN and MF-ESN scores for `dataset`: `(esn, mf_esn)`; accuracy, or RMSE for the flood sets.
pub fn paper_scores(dataset: &str) -> Option<(PaperScore, PaperScore)> {
    Some((
        mf_paper::table_iv(dataset, Model::Esn)?,
        mf_paper::table_iv(dataset, Model::MfEsn)?,
    ))
}

/// Whether `dataset` is one of the paper's regression tasks (scored by RMSE, lower is better).
pub fn is_regression(dataset: &str) -> bool {
    mf_paper::dataset(dataset).is_some_and(|d| d.is_regression())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_data_set_has_both_presets_and_paper_scores() {
        for d in mf_paper::dataset_names() {
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
        assert_eq!(mf_esn("ecg5000"), mf_esn("ECG5000"));
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
        assert_eq!(dts, axis(Model::MfEsn, "dt").to_vec());
        assert_eq!(g[0].scalings.omega, 0.1);
        assert_eq!(g[1151].scalings.omega, 10.0);
        assert_eq!(g[384].scalings.omega, 1.0);
        let e = esn_grid();
        assert_eq!(e.len(), 240);
        assert_eq!(e[1].cell, CellKind::LeakyEsn { alpha: 0.3 });
        assert_eq!(e[5].scalings.rho, 0.9);
        // Every Table V preset except none, and every Table VII preset but FloodModeling2 (omega 2), is in its grid.
        for d in mf_paper::dataset_names() {
            assert!(g.contains(&mf_esn(d).unwrap()), "{d}");
            assert_eq!(e.contains(&esn(d).unwrap()), d != "FloodModeling2", "{d}");
        }
    }
}
