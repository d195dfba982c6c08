//! The paper's hyper-parameters: the grids searched (Table III) and those selected (Tables VI and VIII).

use mf_core::MfCell;

use mf_paper::Model;

use crate::{RnnCell, RnnConfig};

/// Hyper-parameter `name` of the paper's selection for `model` on `dataset`, which is known to exist.
fn get(dataset: &str, model: Model, name: &str) -> f64 {
    mf_paper::selected_value(dataset, model, name)
        .expect("the paper's tables name every hyper-parameter of their model")
}

/// The values of axis `name` of `model`'s Table III grid.
fn axis(model: Model, name: &str) -> &'static [f64] {
    mf_paper::table_iii_axis(model, name).expect("Table III names every axis of its model")
}

/// The MF-RNN the paper selected for data set `name` (Table VI; names matched by [`mf_paper::normalise`]), with the
/// other fields at their defaults; `None` for an unknown name.
pub fn mf_rnn(name: &str) -> Option<RnnConfig> {
    mf_paper::dataset(name)?;
    let g = |n| get(name, Model::MfRnn, n);
    let (lr, gamma, s, dt) = (g("lr"), g("gamma"), g("s"), g("dt"));
    Some(RnnConfig::new(RnnCell::Mf(MfCell::new(dt, gamma, s))).lr(lr))
}

/// The RNN the paper selected for data set `name` (Table VIII); `None` for an unknown name.
pub fn rnn(name: &str) -> Option<RnnConfig> {
    mf_paper::dataset(name)?;
    Some(RnnConfig::new(RnnCell::Tanh).lr(get(name, Model::Rnn, "lr")))
}

/// The MF-RNN grid of Table III, 48 configurations in grid order: lr {0.001, 0.01} x gamma {0.5, 0.8, 0.95, 1}
/// x s {1, 5} x dt {0.001, 0.01, 0.1}, the last varying fastest.
pub fn mf_rnn_grid() -> Vec<RnnConfig> {
    let mut out = Vec::with_capacity(48);
    let m = Model::MfRnn;
    for &lr in axis(m, "lr") {
        for &gamma in axis(m, "gamma") {
            for &s in axis(m, "s") {
                for &dt in axis(m, "dt") {
                    out.push(RnnConfig::new(RnnCell::Mf(MfCell::new(dt, gamma, s))).lr(lr));
                }
            }
        }
    }
    out
}

/// The RNN grid of Table III: lr {0.001, 0.01}.
pub fn rnn_grid() -> Vec<RnnConfig> {
    axis(Model::Rnn, "lr")
        .iter()
        .map(|&lr| RnnConfig::new(RnnCell::Tanh).lr(lr))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_lies_in_its_grid() {
        let (mf, plain) = (mf_rnn_grid(), rnn_grid());
        assert_eq!((mf.len(), plain.len()), (48, 2));
        for name in mf_paper::dataset_names() {
            assert!(mf.contains(&mf_rnn(name).unwrap()), "{name}");
            assert!(plain.contains(&rnn(name).unwrap()), "{name}");
        }
        assert!(mf_rnn("NoSuchSet").is_none());
    }

    #[test]
    fn presets_quote_the_tables() {
        // Table VI, ECG5000 row: 0.001, 0.95, 1, 0.1. Table VIII, GunPoint: 0.01.
        let c = mf_rnn("ecg5000").unwrap();
        assert_eq!(c.cell, RnnCell::Mf(MfCell::new(0.1, 0.95, 1.0)));
        assert_eq!(c.lr, 0.001);
        assert_eq!(rnn("GunPoint").unwrap().lr, 0.01);
    }

    #[test]
    fn grid_order_varies_dt_fastest_and_lr_slowest() {
        let g = mf_rnn_grid();
        assert_eq!(g[0].cell, RnnCell::Mf(MfCell::new(0.001, 0.5, 1.0)));
        assert_eq!(g[1].cell, RnnCell::Mf(MfCell::new(0.01, 0.5, 1.0)));
        assert_eq!(g[24].lr, 0.01);
    }
}
