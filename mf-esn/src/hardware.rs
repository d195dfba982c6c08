//! Non-idealities of a memristive implementation of a reservoir: weights held as device conductances
//! (quantised, noisily programmed, some devices stuck), states read through an analogue-to-digital converter,
//! and the MF neurons' own devices (device-to-device variability of their constants, cycle-to-cycle noise of their
//! rates; see `mf_core::variation`).
//!
//! Every non-ideality is off by default, and a model with all of them off is bit for bit the ideal one: nothing
//! is drawn and nothing is rounded. Each random one draws from its own stream of the model's seed
//! (`derive_seed(seed, tag)`), so switching one on changes neither the reservoir nor the other non-idealities,
//! and the same seed always programs the same devices.

use mf_core::devices::{check_bits, quantise, WeightDevices};
use mf_core::rng::{derive_seed, rng_from_seed};
use mf_core::variation::{CycleNoise, Devices, UnitPhysics};
use mf_core::{CellKind, Weights};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::model::Readout;
use crate::EsnError;

/// The weight devices' stream tags and bit limit: one definition, `mf_core::devices`, for every model.
pub use mf_core::devices::{MAX_BITS, STUCK_STREAM, W_NOISE_STREAM};
/// Stream tag of the neurons' device-to-device variability: ASCII `d2d`.
pub const D2D_STREAM: u64 = 0x0000_0000_0064_3264;
/// Key tag of the neurons' cycle-to-cycle noise while fitting: ASCII `c2c`.
pub const C2C_STREAM: u64 = 0x0000_0000_0063_3263;
/// Key tag of the neurons' cycle-to-cycle noise while predicting: ASCII `c2c-run`.
pub const C2C_PREDICT_STREAM: u64 = 0x0063_3263_2d72_756e;

/// Which run of a reservoir its neurons' cycle-to-cycle noise is drawn for. Fitting and prediction are
/// different runs of the devices, so they draw from different keys: series `i` of the training set and series
/// `i` of a test set see independent noise. The same run of the same data always draws the same noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// Harvesting the training series for the readout's fit.
    Fit,
    /// Harvesting series to predict or score.
    Predict,
}

/// Non-idealities of the hardware a reservoir runs on. Every field's default is `0`, which means off.
///
/// The weight non-idealities act on the input weights `W_x` and the recurrent kernel `W_h`, each matrix on its
/// own, in this order: quantisation, programming noise, stuck devices. They act on the final weights, after the
/// spectral scaling, because the programmed devices are the final weights: `rho` is the spectral radius of the
/// intended kernel, not of the programmed one. The bias is not a device array and stays exact.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hardware {
    /// Conductance levels of a weight device: `k` bits quantise each of `W_x` and `W_h` to `2^k` evenly spaced
    /// levels spanning the matrix's own `[min, max]` (each weight goes to the nearest level). Default `0`: exact
    /// weights.
    #[serde(default, skip_serializing_if = "is_zero_bits")]
    pub w_bits: u32,
    /// Relative standard deviation `sigma` of the programming noise: every weight becomes `w (1 + sigma n)` with
    /// `n ~ N(0, 1)` drawn independently per device. Default `0`: exact programming.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub w_noise: f64,
    /// Fraction of devices stuck at zero conductance (weight `0`), drawn independently per device. Default `0`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stuck_zero: f64,
    /// Fraction of devices stuck at the highest conductance: the weight becomes the matrix's largest `|w|` with
    /// the intended weight's sign. Drawn independently per device, exclusive of `stuck_zero`. Default `0`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stuck_max: f64,
    /// Read-out precision: `k` bits quantise every harvested state to `2^k` levels over the cell's state range,
    /// `[0, 1]` for the MF cell (a memristor's normalised conductance) and `[-1, 1]` for the tanh cells (values
    /// outside clip to its ends), before the ridge readout, in training and prediction alike. Default `0`: exact
    /// states.
    #[serde(default, skip_serializing_if = "is_zero_bits")]
    pub adc_bits: u32,
    /// Readout weight precision: `k` bits quantise the ridge readout's coefficients (all columns together) to
    /// `2^k` levels spanning their `[min, max]` after the fit; the intercepts stay exact. Default `0`: exact.
    #[serde(default, skip_serializing_if = "is_zero_bits")]
    pub readout_bits: u32,
    /// Device-to-device variability of the MF neurons: relative standard deviation `sigma` of each unit's own
    /// `Kp0`, `Kd0`, `eta_p` and `eta_d` (eq. 2, Table II), drawn once per reservoir, independently log-normal
    /// with **mean** the nominal value and **standard deviation `sigma` times it** (see `mf_core::variation`).
    /// The exponents act exponentially: a spread of a few percent in `eta_p` moves `Kp` by tens of percent.
    /// Only the MF cell has such a device. Default `0`: identical neurons.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub d2d_sigma: f64,
    /// Cycle-to-cycle noise of the MF neurons: at every step each unit's `Kp` and `Kd` are multiplied by
    /// independent factors `1 + sigma n`, `n ~ N(0, 1)`, clamped below at `mf_core::variation::C2C_MIN_FACTOR`
    /// so that the rates stay positive; in fitting and prediction alike (see [`Run`]). Only the MF cell has such
    /// a device. Default `0`: noise-free.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub c2c_sigma: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

fn is_zero_bits(v: &u32) -> bool {
    *v == 0
}

impl Hardware {
    /// True when every non-ideality is off (the default): the model is the ideal one.
    pub fn is_ideal(&self) -> bool {
        *self == Hardware::default()
    }

    /// True when the neurons' own devices are ideal (`d2d_sigma` and `c2c_sigma` are 0), whatever the weights
    /// and the ADC.
    pub fn neurons_ideal(&self) -> bool {
        self.d2d_sigma == 0.0 && self.c2c_sigma == 0.0
    }

    /// These non-idealities without the neurons' own (`d2d_sigma` and `c2c_sigma` set to 0).
    pub fn without_neurons(&self) -> Hardware {
        Hardware {
            d2d_sigma: 0.0,
            c2c_sigma: 0.0,
            ..*self
        }
    }

    /// Each unit's constants of the reservoir of `seed` when `d2d_sigma` is on and `cell` is an MF cell, drawn
    /// from the stream `derive_seed(seed, D2D_STREAM)` (see `mf_core::variation::UnitPhysics::draw`); none
    /// otherwise.
    pub fn unit_physics(&self, cell: &CellKind, n_units: usize, seed: u64) -> Option<UnitPhysics> {
        match cell {
            CellKind::Mf(c) if self.d2d_sigma > 0.0 => {
                let mut rng = rng_from_seed(derive_seed(seed, D2D_STREAM));
                Some(UnitPhysics::draw(
                    &c.physics,
                    n_units,
                    self.d2d_sigma,
                    &mut rng,
                ))
            }
            _ => None,
        }
    }

    /// The cycle-to-cycle noise of the reservoir of `seed` in `run` when `c2c_sigma` is on: keyed by
    /// `derive_seed(seed, C2C_STREAM)` when fitting, `derive_seed(seed, C2C_PREDICT_STREAM)` when predicting.
    pub fn cycle_noise(&self, seed: u64, run: Run) -> Option<CycleNoise> {
        let tag = match run {
            Run::Fit => C2C_STREAM,
            Run::Predict => C2C_PREDICT_STREAM,
        };
        (self.c2c_sigma > 0.0).then(|| CycleNoise::new(self.c2c_sigma, derive_seed(seed, tag)))
    }

    /// The neurons' devices of the reservoir of `seed` in `run`: `units` (from [`Hardware::unit_physics`], or
    /// read back from a saved model) and [`Hardware::cycle_noise`].
    pub fn devices(&self, units: Option<&UnitPhysics>, seed: u64, run: Run) -> Devices {
        Devices {
            units: units.cloned(),
            cycle: self.cycle_noise(seed, run),
        }
    }

    /// The weight devices of `W_x` and `W_h` (`mf_core::devices`, shared with the trainable models).
    pub fn weight_devices(&self) -> WeightDevices {
        WeightDevices {
            w_bits: self.w_bits,
            w_noise: self.w_noise,
            stuck_zero: self.stuck_zero,
            stuck_max: self.stuck_max,
        }
    }

    /// Checks every range.
    pub fn check(&self) -> Result<(), EsnError> {
        self.weight_devices().check()?;
        check_bits("adc_bits", self.adc_bits)?;
        check_bits("readout_bits", self.readout_bits)?;
        for (name, sigma) in [("d2d_sigma", self.d2d_sigma), ("c2c_sigma", self.c2c_sigma)] {
            if !(sigma >= 0.0 && sigma.is_finite()) {
                return Err(EsnError::Param {
                    name,
                    value: sigma,
                    reason: "must be non-negative and finite",
                });
            }
        }
        Ok(())
    }

    /// Programs the drawn weights of the reservoir of `seed` into devices: quantisation, then programming noise,
    /// then stuck devices, on `W_x` and on `W_h`. Changes nothing when the weight non-idealities are off.
    pub fn program(&self, weights: &mut Weights<f32>, seed: u64) {
        self.weight_devices().program(
            &mut [weights.w_in.view_mut(), weights.w_rec.view_mut()],
            seed,
        );
    }

    /// Reads `states` `(n_series, n_units)` of `cell` through the ADC, in place. Changes nothing when
    /// `adc_bits` is 0.
    pub fn read_states(&self, cell: &CellKind, states: &mut Array2<f32>) {
        if self.adc_bits == 0 {
            return;
        }
        let (lo, hi) = state_range(cell);
        quantise(states.view_mut(), lo, hi, self.adc_bits);
    }

    /// Quantises the readout's coefficients to `readout_bits`. Changes nothing when `readout_bits` is 0.
    pub fn quantise_readout(&self, readout: &mut Readout) {
        if self.readout_bits == 0 {
            return;
        }
        let ridge = match readout {
            Readout::Classifier(c) => &mut c.ridge,
            Readout::Regressor(r) => r,
        };
        let (lo, hi) = span(ridge.coef.iter().copied());
        let (levels, step) = grid(lo, hi, self.readout_bits);
        if step > 0.0 {
            ridge.coef.mapv_inplace(|v| level(v, lo, step, levels));
        }
    }
}

/// The range of a cell's state: `[0, 1]` for the MF cell, `[-1, 1]` for the tanh cells.
pub fn state_range(cell: &CellKind) -> (f64, f64) {
    match cell {
        CellKind::Mf(_) => (0.0, 1.0),
        CellKind::LeakyEsn { .. } | CellKind::Tanh => (-1.0, 1.0),
    }
}

fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// `2^bits` levels from `lo` to `hi`: their number and spacing (0 when the range is empty or a point).
fn grid(lo: f64, hi: f64, bits: u32) -> (f64, f64) {
    let levels = 2f64.powi(bits as i32);
    let step = if hi > lo {
        (hi - lo) / (levels - 1.0)
    } else {
        0.0
    };
    (levels, step)
}

/// The level nearest `v` of the grid from `lo` by `step`, clipped to the grid.
fn level(v: f64, lo: f64, step: f64, levels: f64) -> f64 {
    let k = ((v - lo) / step).round().clamp(0.0, levels - 1.0);
    lo + k * step
}

#[cfg(test)]
mod tests {
    use super::*;
    use mf_core::init::ReservoirInit;
    use std::collections::BTreeSet;

    /// A reservoir of 100 units: `W_h` holds 10^4 weights.
    fn drawn(seed: u64) -> Weights<f32> {
        ReservoirInit {
            n_units: 100,
            rho: 0.9,
            omega: 1.0,
            beta: 0.1,
            spectral: Default::default(),
        }
        .draw(3, &mut rng_from_seed(seed))
        .unwrap()
    }

    fn programmed(hw: Hardware, seed: u64) -> Weights<f32> {
        let mut w = drawn(seed);
        hw.program(&mut w, seed);
        w
    }

    fn distinct(a: &Array2<f32>) -> usize {
        a.iter().map(|v| v.to_bits()).collect::<BTreeSet<_>>().len()
    }

    #[test]
    fn the_default_is_ideal_and_changes_nothing() {
        let hw = Hardware::default();
        assert!(hw.is_ideal());
        assert_eq!(programmed(hw, 4), drawn(4));
        let mut states = Array2::from_shape_fn((5, 7), |(i, j)| (i * 7 + j) as f32 / 40.0);
        let before = states.clone();
        hw.read_states(&CellKind::Tanh, &mut states);
        assert_eq!(states, before);
        assert_eq!(serde_json::to_string(&hw).unwrap(), "{}");
    }

    #[test]
    fn k_bit_weights_take_at_most_two_to_the_k_values_spanning_each_matrix() {
        let w0 = drawn(1);
        for bits in [1, 2, 3, 5] {
            let w = programmed(
                Hardware {
                    w_bits: bits,
                    ..Hardware::default()
                },
                1,
            );
            for (q, a) in [(&w.w_in, &w0.w_in), (&w.w_rec, &w0.w_rec)] {
                assert!(distinct(q) <= 1 << bits, "{bits} bits: {}", distinct(q));
                let (lo, hi) = span(a.iter().map(|&v| f64::from(v)));
                let step = (hi - lo) / f64::from((1u32 << bits) - 1);
                for (x, y) in q.iter().zip(a) {
                    assert!(f64::from((x - y).abs()) <= step / 2.0 + 1e-6);
                }
            }
            // The recurrent kernel's extreme weights are levels themselves.
            let (lo, hi) = span(w0.w_rec.iter().map(|&v| f64::from(v)));
            let (qlo, qhi) = span(w.w_rec.iter().map(|&v| f64::from(v)));
            assert!((qlo - lo).abs() < 1e-6 && (qhi - hi).abs() < 1e-6);
            assert_eq!(w.bias, w0.bias);
        }
        // Unquantised, nearly every one of the 10^4 f32 weights differs.
        assert!(distinct(&drawn(1).w_rec) > 9_900);
    }

    #[test]
    fn programming_noise_has_the_requested_relative_sigma() {
        let w0 = drawn(2);
        for sigma in [0.05, 0.2] {
            let w = programmed(
                Hardware {
                    w_noise: sigma,
                    ..Hardware::default()
                },
                2,
            );
            let rel: Vec<f64> = w
                .w_rec
                .iter()
                .zip(&w0.w_rec)
                .map(|(x, y)| f64::from(x / y) - 1.0)
                .collect();
            let n = rel.len() as f64;
            let mean = rel.iter().sum::<f64>() / n;
            let sd = (rel.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
            // 10^4 draws: the sample sd is within about 0.7% of sigma, the mean within 0.01 sigma.
            assert!((sd / sigma - 1.0).abs() < 0.03, "sd {sd} for sigma {sigma}");
            assert!(mean.abs() < 0.03 * sigma, "mean {mean}");
        }
    }

    #[test]
    fn stuck_fractions_match_and_stuck_devices_sit_at_zero_or_the_signed_peak() {
        let w0 = drawn(3);
        let hw = Hardware {
            stuck_zero: 0.1,
            stuck_max: 0.05,
            ..Hardware::default()
        };
        let w = programmed(hw, 3);
        let peak = w0.w_rec.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let (mut zero, mut max, mut kept) = (0, 0, 0);
        for (x, y) in w.w_rec.iter().zip(&w0.w_rec) {
            if *x == 0.0 {
                zero += 1;
            } else if x.abs() == peak && x.signum() == y.signum() {
                max += 1;
            } else {
                assert_eq!(x, y);
                kept += 1;
            }
        }
        // Binomial(10^4, p): 4 standard deviations are 0.012 for p = 0.1 and 0.009 for p = 0.05.
        let frac = |c: i32| f64::from(c) / 1e4;
        assert!((frac(zero) - 0.1).abs() < 0.012, "{}", frac(zero));
        assert!((frac(max) - 0.05).abs() < 0.009, "{}", frac(max));
        assert_eq!(zero + max + kept, 10_000);
    }

    #[test]
    fn the_same_seed_programs_the_same_devices_and_streams_are_independent() {
        let all = Hardware {
            w_bits: 6,
            w_noise: 0.1,
            stuck_zero: 0.02,
            stuck_max: 0.02,
            ..Hardware::default()
        };
        assert_eq!(programmed(all, 5), programmed(all, 5));
        assert_ne!(programmed(all, 5), programmed(all, 6));
        // The stuck devices do not depend on whether there is noise: their stream is their own.
        let stuck = Hardware {
            stuck_zero: 0.05,
            ..Hardware::default()
        };
        let zeros = |w: &Weights<f32>| -> Vec<bool> { w.w_rec.iter().map(|v| *v == 0.0).collect() };
        let noisy = Hardware {
            w_noise: 0.3,
            ..stuck
        };
        assert_eq!(zeros(&programmed(stuck, 7)), zeros(&programmed(noisy, 7)));
    }

    #[test]
    fn the_adc_keeps_at_most_two_to_the_k_levels_over_the_cell_range() {
        let mf = CellKind::Mf(mf_core::MfCell::new(0.01, 1.0, 5.0));
        let esn = CellKind::LeakyEsn { alpha: 0.5 };
        for (cell, lo, hi) in [(mf, 0.0f32, 1.0f32), (esn, -1.0, 1.0)] {
            for bits in [1, 2, 4] {
                let mut s = Array2::from_shape_fn((50, 40), |(i, j)| {
                    lo - 0.1 + (hi - lo + 0.2) * ((i * 40 + j) as f32 / 1999.0)
                });
                let raw = s.clone();
                Hardware {
                    adc_bits: bits,
                    ..Hardware::default()
                }
                .read_states(&cell, &mut s);
                assert!(distinct(&s) <= 1 << bits);
                let step = (hi - lo) / ((1u32 << bits) - 1) as f32;
                for (q, r) in s.iter().zip(&raw) {
                    assert!(*q >= lo && *q <= hi);
                    assert!((q - r.clamp(lo, hi)).abs() <= step / 2.0 + 1e-6);
                }
            }
        }
    }

    #[test]
    fn neuron_devices_are_drawn_from_their_own_streams_of_the_seed() {
        let mf = CellKind::Mf(mf_core::MfCell::new(0.01, 1.0, 5.0));
        let hw = Hardware {
            d2d_sigma: 0.1,
            c2c_sigma: 0.2,
            ..Hardware::default()
        };
        let units = hw.unit_physics(&mf, 30, 9).unwrap();
        let CellKind::Mf(cell) = mf else {
            unreachable!()
        };
        let want = UnitPhysics::draw(
            &cell.physics,
            30,
            0.1,
            &mut rng_from_seed(derive_seed(9, D2D_STREAM)),
        );
        assert_eq!(units, want);
        assert_ne!(hw.unit_physics(&mf, 30, 10), Some(units.clone()));
        // The weight non-idealities do not move the neurons' draws, nor the neurons' the weights'.
        let both = Hardware {
            w_noise: 0.3,
            stuck_zero: 0.1,
            ..hw
        };
        assert_eq!(both.unit_physics(&mf, 30, 9), Some(units));
        assert_eq!(programmed(both, 9), programmed(both.without_neurons(), 9));
        // Fitting and prediction are different runs: different keys, each derived from the seed.
        let fit = hw.cycle_noise(9, Run::Fit).unwrap();
        let predict = hw.cycle_noise(9, Run::Predict).unwrap();
        assert_eq!(fit, CycleNoise::new(0.2, derive_seed(9, C2C_STREAM)));
        assert_eq!(
            predict,
            CycleNoise::new(0.2, derive_seed(9, C2C_PREDICT_STREAM))
        );
        assert_ne!(fit.key, predict.key);
        // Off, or on a cell without a device: nothing.
        let off = Hardware::default();
        assert!(off.neurons_ideal() && !hw.neurons_ideal());
        assert!(off.unit_physics(&mf, 30, 9).is_none() && off.cycle_noise(9, Run::Fit).is_none());
        assert!(hw.unit_physics(&CellKind::Tanh, 30, 9).is_none());
        assert!(off.devices(None, 9, Run::Predict).is_ideal());
    }

    #[test]
    fn ranges_are_checked() {
        let bad = [
            Hardware {
                w_bits: 25,
                ..Hardware::default()
            },
            Hardware {
                w_noise: -0.1,
                ..Hardware::default()
            },
            Hardware {
                stuck_zero: 1.5,
                ..Hardware::default()
            },
            Hardware {
                stuck_zero: 0.6,
                stuck_max: 0.6,
                ..Hardware::default()
            },
            Hardware {
                d2d_sigma: -0.01,
                ..Hardware::default()
            },
            Hardware {
                c2c_sigma: f64::NAN,
                ..Hardware::default()
            },
            Hardware {
                c2c_sigma: f64::INFINITY,
                ..Hardware::default()
            },
        ];
        for hw in bad {
            assert!(hw.check().is_err(), "{hw:?}");
        }
        assert!(Hardware {
            w_bits: 24,
            adc_bits: 1,
            stuck_zero: 0.5,
            stuck_max: 0.5,
            ..Hardware::default()
        }
        .check()
        .is_ok());
    }
}
