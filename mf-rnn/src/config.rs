//! Training configuration (paper Sec. VI).

use mf_core::CellKind;
use serde::{Deserialize, Serialize};

use crate::hardware::Hardware;
use crate::hybrid::ReservoirStart;
use crate::RnnError;

/// The loss minimised for regression targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegressionLoss {
    /// Mean squared error, the loss of the RMSE the paper reports for regression (Sec. VI-A, Table IV). The
    /// default.
    #[default]
    Mse,
    /// The reference implementation's per-sample `sqrt(mean over outputs of e^2)`, averaged over the batch: the mean
    /// absolute error for one output.
    Mae,
}

/// Everything that defines one training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RnnConfig {
    /// The recurrent cell. No default; see [`RnnConfig::new`].
    pub cell: CellKind,
    /// Number of recurrent units `N`. Default 100 (paper Sec. VI).
    #[serde(default = "defaults::n_units")]
    pub n_units: usize,
    /// Adam learning rate. Default 0.001 (paper Table III grid: 0.001 or 0.01).
    #[serde(default = "defaults::lr")]
    pub lr: f64,
    /// Mini-batch size, shuffled each epoch. Default 64 (paper Sec. VI).
    #[serde(default = "defaults::batch_size")]
    pub batch_size: usize,
    /// Upper bound on the number of epochs. Default 5000 (paper Sec. VI).
    #[serde(default = "defaults::max_epochs")]
    pub max_epochs: usize,
    /// Early stopping: epochs without a strictly lower validation loss before stopping. Default 10 (paper Sec. VI).
    #[serde(default = "defaults::patience")]
    pub patience: usize,
    /// Whether to restore the weights of the epoch with the lowest validation loss when training stops. Default
    /// true; the paper does not say, and the authors' reference implementation keeps the last weights (false).
    #[serde(default = "defaults::restore_best")]
    pub restore_best: bool,
    /// Loss for regression targets. Default [`RegressionLoss::Mse`]; see each variant for where it comes from.
    #[serde(default)]
    pub regression_loss: RegressionLoss,
    /// Seed of every random draw: initial weights and the batch order. Default 0.
    #[serde(default)]
    pub seed: u64,
    /// Start from an MF-ESN reservoir draw instead of the initialisation above, its recurrent kernel frozen or
    /// fine-tuned (the hybrid of paper Sec. VII; see [`ReservoirStart`]). Default none; left out of the
    /// serialised form when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservoir: Option<ReservoirStart>,
    /// The hardware the trained model is deployed on: its weights programmed into noisy, quantised or stuck
    /// devices and its states read through an ADC when it predicts, never while it trains (see [`Hardware`]).
    /// Default: ideal; left out of the serialised form when ideal.
    #[serde(default, skip_serializing_if = "Hardware::is_ideal")]
    pub hardware: Hardware,
    /// Hardware-aware training: the relative standard deviation `sigma` of the weight noise injected in the
    /// forward pass of every mini-batch, `W <- W (1 + sigma n)` on `W_x` and `W_h` with fresh `n ~ N(0, 1)` per
    /// weight and batch, drawn from the seed. Gradients reach the exact weights; the losses early stopping
    /// watches, and every prediction, use the exact weights. Default 0 (off); left out of the serialised form
    /// when 0.
    #[serde(default, skip_serializing_if = "defaults::is_zero")]
    pub train_w_noise: f64,
}

mod defaults {
    pub fn n_units() -> usize {
        100
    }
    pub fn lr() -> f64 {
        0.001
    }
    pub fn batch_size() -> usize {
        64
    }
    pub fn max_epochs() -> usize {
        5000
    }
    pub fn patience() -> usize {
        10
    }
    pub fn restore_best() -> bool {
        true
    }
    pub fn is_zero(v: &f64) -> bool {
        *v == 0.0
    }
}

impl RnnConfig {
    /// A configuration with the paper's defaults for `cell`: 100 units, learning rate 0.001, batch 64, at most 5000
    /// epochs, patience 10, best weights restored, MSE for regression, seed 0, ideal hardware, no training noise.
    pub fn new(cell: CellKind) -> Self {
        Self {
            cell,
            n_units: defaults::n_units(),
            lr: defaults::lr(),
            batch_size: defaults::batch_size(),
            max_epochs: defaults::max_epochs(),
            patience: defaults::patience(),
            restore_best: defaults::restore_best(),
            regression_loss: RegressionLoss::Mse,
            seed: 0,
            reservoir: None,
            hardware: Hardware::default(),
            train_w_noise: 0.0,
        }
    }

    /// Sets the learning rate.
    pub fn lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the number of units.
    pub fn n_units(mut self, n_units: usize) -> Self {
        self.n_units = n_units;
        self
    }

    /// Sets the maximum number of epochs.
    pub fn max_epochs(mut self, max_epochs: usize) -> Self {
        self.max_epochs = max_epochs;
        self
    }

    /// Checks every range the training loop relies on.
    pub fn check(&self) -> Result<(), RnnError> {
        let bad = |name, value: f64, reason| {
            Err(RnnError::Config {
                name,
                value,
                reason,
            })
        };
        match &self.cell {
            CellKind::Mf(c) => c.check()?,
            CellKind::Tanh => {}
            // The leaky integrator is the reservoirs' baseline cell (Sec. VI); no trained layer runs it.
            CellKind::LeakyEsn { alpha } => {
                return bad(
                    "alpha",
                    *alpha,
                    "the trained models take the MF or the tanh cell, not the leaky-ESN cell",
                )
            }
        }
        if self.n_units == 0 {
            return bad("n_units", 0.0, "must be at least 1");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad("lr", self.lr, "must be positive and finite");
        }
        if self.batch_size == 0 {
            return bad("batch_size", 0.0, "must be at least 1");
        }
        if self.max_epochs == 0 {
            return bad("max_epochs", 0.0, "must be at least 1");
        }
        if self.patience == 0 {
            return bad("patience", 0.0, "must be at least 1");
        }
        if let Some(r) = &self.reservoir {
            r.check(self.n_units)?;
            // Quantisation and stuck devices act on every entry, so on a frozen sparse kernel they would put
            // conductance where no device is.
            if r.frozen && r.connectivity.density < 1.0 && self.hardware.per_device() {
                return bad(
                    "density",
                    r.connectivity.density,
                    "a frozen sparse kernel cannot be combined with w_bits, stuck_zero or stuck_max yet",
                );
            }
        }
        self.hardware.check()?;
        if let Some((name, value)) = self.hardware.neuron_non_ideality() {
            return bad(
                name,
                value,
                "the trained models do not model the MF neurons' own devices (device-to-device variability, \
                 cycle-to-cycle noise); only the reservoir models do",
            );
        }
        if !(self.train_w_noise >= 0.0 && self.train_w_noise.is_finite()) {
            return bad(
                "train_w_noise",
                self.train_w_noise,
                "must be non-negative and finite",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mf_core::MfCell;

    #[test]
    fn json_round_trip_keeps_every_field_and_fills_defaults() {
        let c = RnnConfig::new(CellKind::Mf(MfCell::new(0.1, 0.8, 5.0)))
            .lr(0.01)
            .seed(9);
        let s = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<RnnConfig>(&s).unwrap(), c);
        let short: RnnConfig = serde_json::from_str(r#"{"cell":{"kind":"tanh"}}"#).unwrap();
        assert_eq!(short, RnnConfig::new(CellKind::Tanh));
        assert!(serde_json::from_str::<RnnConfig>(r#"{"cell":{"kind":"tanh"},"lrr":1}"#).is_err());
    }

    #[test]
    fn hardware_fields_round_trip_and_are_left_out_when_off() {
        let mut c = RnnConfig::new(CellKind::Tanh);
        assert_eq!(
            serde_json::to_string(&c)
                .unwrap()
                .matches("hardware")
                .count(),
            0
        );
        c.hardware.w_bits = 4;
        c.hardware.adc_bits = 6;
        c.train_w_noise = 0.1;
        let s = serde_json::to_string(&c).unwrap();
        assert!(s.contains(r#""hardware":{"w_bits":4,"adc_bits":6}"#), "{s}");
        assert_eq!(serde_json::from_str::<RnnConfig>(&s).unwrap(), c);
        for bad in [
            r#"{"cell":{"kind":"tanh"},"hardware":{"w_bitz":4}}"#,
            r#"{"cell":{"kind":"tanh"},"train_w_noise":"a"}"#,
        ] {
            assert!(serde_json::from_str::<RnnConfig>(bad).is_err(), "{bad}");
        }
        for (name, hw) in [
            (
                "w_bits",
                Hardware {
                    w_bits: 25,
                    ..Hardware::default()
                },
            ),
            (
                "adc_bits",
                Hardware {
                    adc_bits: 30,
                    ..Hardware::default()
                },
            ),
            (
                "readout_bits",
                Hardware {
                    readout_bits: 25,
                    ..Hardware::default()
                },
            ),
            (
                "w_noise",
                Hardware {
                    w_noise: -0.2,
                    ..Hardware::default()
                },
            ),
            (
                "stuck_zero",
                Hardware {
                    stuck_zero: 1.5,
                    ..Hardware::default()
                },
            ),
            (
                "stuck_max",
                Hardware {
                    stuck_zero: 0.6,
                    stuck_max: 0.6,
                    ..Hardware::default()
                },
            ),
        ] {
            let c = RnnConfig {
                hardware: hw,
                ..RnnConfig::new(CellKind::Tanh)
            };
            let e = c.check().unwrap_err().to_string();
            assert!(e.contains(name), "{name}: {e}");
        }
    }

    #[test]
    fn the_neurons_own_device_non_idealities_are_refused_with_a_reason() {
        for (name, hw) in [
            (
                "d2d_sigma",
                Hardware {
                    d2d_sigma: 0.05,
                    ..Hardware::default()
                },
            ),
            (
                "c2c_sigma",
                Hardware {
                    c2c_sigma: 0.05,
                    ..Hardware::default()
                },
            ),
        ] {
            let c = RnnConfig {
                hardware: hw,
                ..RnnConfig::new(CellKind::Mf(MfCell::new(0.1, 0.9, 1.0)))
            };
            let e = c.check().unwrap_err().to_string();
            assert!(e.contains(name) && e.contains("do not model"), "{e}");
        }
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        assert!(RnnConfig::new(CellKind::Tanh).lr(0.0).check().is_err());
        assert!(RnnConfig::new(CellKind::Tanh).n_units(0).check().is_err());
        assert!(RnnConfig::new(CellKind::Mf(MfCell::new(0.1, 1.5, 1.0)))
            .check()
            .is_err());
        assert!(RnnConfig::new(CellKind::Tanh).check().is_ok());
    }

    #[test]
    fn the_leaky_esn_cell_is_refused_by_name() {
        let e = RnnConfig::new(CellKind::LeakyEsn { alpha: 0.5 })
            .check()
            .unwrap_err()
            .to_string();
        assert!(e.contains("alpha") && e.contains("leaky-ESN"), "{e}");
    }
}
