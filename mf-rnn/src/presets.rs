//! The paper's hyper-parameters: the grids searched (Table III) and those selected (Tables VI and VIII).

use mf_core::MfCell;

use crate::{RnnCell, RnnConfig};

/// The ten data sets of the paper (Table I), in its order.
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

/// Table VI: learning rate, gamma, s, dt selected for the MF-RNN, in [`DATASETS`] order.
const MF_RNN: [(f64, f64, f64, f64); 10] = [
    (0.01, 0.8, 1.0, 0.001),
    (0.001, 0.8, 5.0, 0.1),
    (0.001, 0.95, 1.0, 0.1),
    (0.001, 0.8, 5.0, 0.1),
    (0.001, 0.8, 5.0, 0.01),
    (0.001, 1.0, 5.0, 0.001),
    (0.001, 0.8, 5.0, 0.001),
    (0.001, 1.0, 5.0, 0.001),
    (0.001, 1.0, 1.0, 0.001),
    (0.001, 1.0, 1.0, 0.001),
];

/// Table VIII: learning rate selected for the RNN, in [`DATASETS`] order.
const RNN: [f64; 10] = [
    0.001, 0.001, 0.001, 0.01, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001,
];

fn index(name: &str) -> Option<usize> {
    DATASETS.iter().position(|d| d.eq_ignore_ascii_case(name))
}

/// The MF-RNN the paper selected for data set `name` (Table VI; name matched case-insensitively), with the
/// other fields at their defaults; `None` for an unknown name.
pub fn mf_rnn(name: &str) -> Option<RnnConfig> {
    let (lr, gamma, s, dt) = MF_RNN[index(name)?];
    Some(RnnConfig::new(RnnCell::Mf(MfCell::new(dt, gamma, s))).lr(lr))
}

/// The RNN the paper selected for data set `name` (Table VIII); `None` for an unknown name.
pub fn rnn(name: &str) -> Option<RnnConfig> {
    Some(RnnConfig::new(RnnCell::Tanh).lr(RNN[index(name)?]))
}

/// The MF-RNN grid of Table III, 48 configurations in grid order: lr {0.001, 0.01} x gamma {0.5, 0.8, 0.95, 1}
/// x s {1, 5} x dt {0.001, 0.01, 0.1}, the last varying fastest.
pub fn mf_rnn_grid() -> Vec<RnnConfig> {
    let mut out = Vec::with_capacity(48);
    for lr in [0.001, 0.01] {
        for gamma in [0.5, 0.8, 0.95, 1.0] {
            for s in [1.0, 5.0] {
                for dt in [0.001, 0.01, 0.1] {
                    out.push(RnnConfig::new(RnnCell::Mf(MfCell::new(dt, gamma, s))).lr(lr));
                }
            }
        }
    }
    out
}

/// The RNN grid of Table III: lr {0.001, 0.01}.
pub fn rnn_grid() -> Vec<RnnConfig> {
    [0.001, 0.01]
        .into_iter()
        .map(|lr| RnnConfig::new(RnnCell::Tanh).lr(lr))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_lies_in_its_grid() {
        let (mf, plain) = (mf_rnn_grid(), rnn_grid());
        assert_eq!((mf.len(), plain.len()), (48, 2));
        for name in DATASETS {
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
