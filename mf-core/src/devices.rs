//! The hardware a model runs on: weight matrices held as memristive device conductances (quantised to a few
//! levels, noisily programmed, some devices stuck), states read through an analogue-to-digital converter, a
//! readout of limited precision, and the MF neurons' own devices (device-to-device variability of their
//! constants, cycle-to-cycle noise of their rates; see [`crate::variation`]). These are the non-idealities the
//! paper's Sec. VII leaves to hardware studies; [`Hardware`] holds them for every model of the workspace.
//!
//! Every non-ideality is off by default, and then nothing is drawn and nothing is rounded: a model with all of
//! them off is bit for bit the ideal one. Each random one draws from its own stream of the seed
//! (`derive_seed(seed, tag)`), so switching one on changes neither the weights nor the other non-idealities, and
//! the same seed always programs the same devices: the reservoir models and the trainable models program the same
//! `W_x` and `W_h` bit for bit.

use ndarray::{Array2, ArrayViewMut2};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::rng::{derive_seed, rng_from_seed};
use crate::variation::{CycleNoise, Devices, UnitPhysics};
use crate::{CellKind, CoreError, Weights};

/// Stream tag (`derive_seed(seed, tag)`) of the programming noise: ASCII `w_noise`.
pub const W_NOISE_STREAM: u64 = 0x0077_5f6e_6f69_7365;
/// Stream tag of the stuck devices: ASCII `stuck`.
pub const STUCK_STREAM: u64 = 0x0000_0073_7475_636b;
/// Stream tag of the neurons' device-to-device variability: ASCII `d2d`.
pub const D2D_STREAM: u64 = 0x0000_0000_0064_3264;
/// Key tag of the neurons' cycle-to-cycle noise while fitting: ASCII `c2c`.
pub const C2C_STREAM: u64 = 0x0000_0000_0063_3263;
/// Key tag of the neurons' cycle-to-cycle noise while predicting: ASCII `c2c-run`.
pub const C2C_PREDICT_STREAM: u64 = 0x0063_3263_2d72_756e;

/// The most bits a quantiser takes: an f32 weight or state holds 24 significant bits.
pub const MAX_BITS: u32 = 24;

/// Which run of a model its neurons' cycle-to-cycle noise is drawn for. Fitting and prediction are different
/// runs of the devices, so they draw from different keys: series `i` of the training set and series `i` of a
/// test set see independent noise. The same run of the same data always draws the same noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// Harvesting the training series for the readout's fit.
    Fit,
    /// Harvesting series to predict or score.
    Predict,
}

/// Non-idealities of the hardware a model runs on. Every field's default is `0`, which means off, and a field at
/// `0` is left out of the serialised form (so the ideal hardware serialises as `{}`).
///
/// The weight non-idealities act on the input weights `W_x` and the recurrent kernel `W_h`, each matrix on its
/// own, in this order: quantisation, programming noise, stuck devices. They act on the final weights (after a
/// reservoir's spectral scaling, or after training), because the programmed devices are the final weights: a
/// reservoir's `rho` is the spectral radius of the intended kernel, not of the programmed one. The biases are not
/// device arrays and stay exact.
///
/// The reservoir models (`mf_esn`) apply them in fitting and prediction alike; the trainable models (`mf_rnn`)
/// train with exact weights and program the trained ones once, from the training seed, before they predict. Only
/// the reservoir models model the neurons' own devices (`d2d_sigma`, `c2c_sigma`).
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
    /// Fraction of devices stuck at the highest conductance: the weight becomes the matrix's largest `|w|` (before
    /// noise) with the intended weight's sign. Drawn independently per device, exclusive of `stuck_zero`. Default
    /// `0`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stuck_max: f64,
    /// Read-out precision: `k` bits quantise the states the readout reads to `2^k` levels over the cell's state
    /// range ([`CellKind::state_range`]: `[0, 1]` for the MF cell, a memristor's normalised conductance, and
    /// `[-1, 1]` for the tanh cells, values outside clipping to its ends). Default `0`: exact states.
    #[serde(default, skip_serializing_if = "is_zero_bits")]
    pub adc_bits: u32,
    /// Readout weight precision: `k` bits quantise the readout's weights (all columns together) to `2^k` levels
    /// spanning their `[min, max]`; the intercepts stay exact. Default `0`: exact.
    #[serde(default, skip_serializing_if = "is_zero_bits")]
    pub readout_bits: u32,
    /// Device-to-device variability of the MF neurons: relative standard deviation `sigma` of each unit's own
    /// `Kp0`, `Kd0`, `eta_p` and `eta_d` (eq. 2, Table II), drawn once per reservoir, independently log-normal
    /// with **mean** the nominal value and **standard deviation `sigma` times it** (see [`crate::variation`]).
    /// The exponents act exponentially: a spread of a few percent in `eta_p` moves `Kp` by tens of percent.
    /// Only the MF cell has such a device. Default `0`: identical neurons.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub d2d_sigma: f64,
    /// Cycle-to-cycle noise of the MF neurons: at every step each unit's `Kp` and `Kd` are multiplied by
    /// independent factors `1 + sigma n`, `n ~ N(0, 1)`, clamped below at [`crate::variation::C2C_MIN_FACTOR`]
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

    /// True when a weight non-ideality acts on every entry of a matrix, absent connections included:
    /// quantisation and stuck devices (noise is relative, so a zero weight stays zero).
    pub fn per_device(&self) -> bool {
        self.w_bits > 0 || self.stuck_zero > 0.0 || self.stuck_max > 0.0
    }

    /// The first of the neurons' own non-idealities that is on, by name and value (`d2d_sigma`, then
    /// `c2c_sigma`): what a model without neuron devices refuses.
    pub fn neuron_non_ideality(&self) -> Option<(&'static str, f64)> {
        if self.d2d_sigma != 0.0 {
            Some(("d2d_sigma", self.d2d_sigma))
        } else if self.c2c_sigma != 0.0 {
            Some(("c2c_sigma", self.c2c_sigma))
        } else {
            None
        }
    }

    /// Checks every range.
    pub fn check(&self) -> Result<(), CoreError> {
        check_bits("w_bits", self.w_bits)?;
        for (name, sigma) in [
            ("w_noise", self.w_noise),
            ("d2d_sigma", self.d2d_sigma),
            ("c2c_sigma", self.c2c_sigma),
        ] {
            if !(sigma >= 0.0 && sigma.is_finite()) {
                return Err(CoreError::Param {
                    name,
                    value: sigma,
                    reason: "must be non-negative and finite",
                });
            }
        }
        for (name, p) in [
            ("stuck_zero", self.stuck_zero),
            ("stuck_max", self.stuck_max),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(CoreError::Param {
                    name,
                    value: p,
                    reason: "must be a fraction in [0, 1]",
                });
            }
        }
        if self.stuck_zero + self.stuck_max > 1.0 {
            return Err(CoreError::Param {
                name: "stuck_max",
                value: self.stuck_max,
                reason: "stuck_zero + stuck_max must be at most 1",
            });
        }
        check_bits("adc_bits", self.adc_bits)?;
        check_bits("readout_bits", self.readout_bits)?;
        Ok(())
    }

    /// Programs `matrices` (in order, e.g. `[W_x, W_h]`) into devices from `seed`: quantisation, then noise, then
    /// stuck devices. Each random non-ideality runs one stream through the matrices in order, row-major within
    /// each. Changes nothing when the weight non-idealities are off.
    pub fn program_matrices(&self, matrices: &mut [ArrayViewMut2<'_, f32>], seed: u64) {
        if self.w_bits > 0 {
            for w in matrices.iter_mut() {
                quantise_span(w.view_mut(), self.w_bits);
            }
        }
        // The largest |w| before noise: a stuck device sits at the intended matrix's highest conductance.
        let peaks: Vec<f32> = matrices.iter().map(|w| max_abs(w.view())).collect();
        if self.w_noise > 0.0 {
            let mut rng = rng_from_seed(derive_seed(seed, W_NOISE_STREAM));
            let sigma = self.w_noise as f32;
            for w in matrices.iter_mut() {
                w.mapv_inplace(|v| {
                    let n: f32 = StandardNormal.sample(&mut rng);
                    v * (1.0 + sigma * n)
                });
            }
        }
        if self.stuck_zero > 0.0 || self.stuck_max > 0.0 {
            let mut rng = rng_from_seed(derive_seed(seed, STUCK_STREAM));
            let (zero, max) = (self.stuck_zero, self.stuck_zero + self.stuck_max);
            for (w, &peak) in matrices.iter_mut().zip(&peaks) {
                w.mapv_inplace(|v| {
                    let u: f64 = rng.random();
                    if u < zero {
                        0.0
                    } else if u < max {
                        if v < 0.0 {
                            -peak
                        } else {
                            peak
                        }
                    } else {
                        v
                    }
                });
            }
        }
    }

    /// Programs a layer's `W_x` and `W_h` from `seed` ([`Hardware::program_matrices`]); the bias stays exact.
    pub fn program(&self, weights: &mut Weights<f32>, seed: u64) {
        self.program_matrices(
            &mut [weights.w_in.view_mut(), weights.w_rec.view_mut()],
            seed,
        );
    }

    /// Reads `states` `(n_rows, n_units)` of `cell` through the ADC, in place. Changes nothing when `adc_bits`
    /// is 0.
    pub fn read_states(&self, cell: &CellKind, states: ArrayViewMut2<'_, f32>) {
        let (lo, hi) = cell.state_range();
        quantise(states, lo, hi, self.adc_bits);
    }

    /// Each unit's constants of the reservoir of `seed` when `d2d_sigma` is on and `cell` is an MF cell, drawn
    /// from the stream `derive_seed(seed, D2D_STREAM)` (see [`UnitPhysics::draw`]); none otherwise.
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
}

/// Fails unless `bits` is at most [`MAX_BITS`] (0 is off).
pub fn check_bits(name: &'static str, bits: u32) -> Result<(), CoreError> {
    if bits > MAX_BITS {
        return Err(CoreError::Param {
            name,
            value: f64::from(bits),
            reason: "must be at most 24 (0 is off)",
        });
    }
    Ok(())
}

/// Multipliers `1 + sigma n`, `n ~ N(0, 1)` drawn row-major from `rng`, of shape `dim`: the factors by which
/// programming noise of relative standard deviation `sigma` scales each weight, as
/// [`Hardware::program_matrices`] draws them.
pub fn noise_multipliers<R: Rng + ?Sized>(
    dim: (usize, usize),
    sigma: f32,
    rng: &mut R,
) -> Array2<f32> {
    Array2::from_shape_simple_fn(dim, || {
        let n: f32 = StandardNormal.sample(rng);
        1.0 + sigma * n
    })
}

fn max_abs(w: ndarray::ArrayView2<'_, f32>) -> f32 {
    w.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// Quantises `a` to `2^bits` evenly spaced levels over `[lo, hi]`, each value to the nearest level, values
/// outside clipped to the ends. Changes nothing when `bits` is 0 or the range is a point.
pub fn quantise(mut a: ArrayViewMut2<'_, f32>, lo: f64, hi: f64, bits: u32) {
    if bits == 0 || hi <= lo {
        return;
    }
    let levels = 2f64.powi(bits as i32);
    let step = (hi - lo) / (levels - 1.0);
    a.mapv_inplace(|v| {
        let k = ((f64::from(v) - lo) / step)
            .round()
            .clamp(0.0, levels - 1.0);
        (lo + k * step) as f32
    });
}

/// Quantises `a` to `2^bits` levels over its own `[min, max]`.
pub fn quantise_span(a: ArrayViewMut2<'_, f32>, bits: u32) {
    let (lo, hi) = span(a.iter().map(|&v| f64::from(v)));
    quantise(a, lo, hi, bits);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn matrices(seed: u64) -> [Array2<f32>; 2] {
        let mut rng = rng_from_seed(seed);
        let mut draw =
            |r, c| Array2::from_shape_simple_fn((r, c), || rng.random_range(-1.0f32..1.0));
        [draw(3, 40), draw(100, 100)]
    }

    fn programmed(d: Hardware, seed: u64) -> [Array2<f32>; 2] {
        let mut m = matrices(seed);
        let [a, b] = &mut m;
        d.program_matrices(&mut [a.view_mut(), b.view_mut()], seed);
        m
    }

    fn distinct(a: &Array2<f32>) -> usize {
        a.iter().map(|v| v.to_bits()).collect::<BTreeSet<_>>().len()
    }

    #[test]
    fn the_default_changes_nothing() {
        assert!(Hardware::default().is_ideal());
        assert_eq!(programmed(Hardware::default(), 1), matrices(1));
    }

    #[test]
    fn k_bits_leave_at_most_two_to_the_k_values_within_half_a_step() {
        let w0 = matrices(2);
        for bits in [1, 3, 6] {
            let d = Hardware {
                w_bits: bits,
                ..Hardware::default()
            };
            for (q, a) in programmed(d, 2).iter().zip(&w0) {
                assert!(distinct(q) <= 1 << bits);
                let (lo, hi) = span(a.iter().map(|&v| f64::from(v)));
                let step = (hi - lo) / f64::from((1u32 << bits) - 1);
                for (x, y) in q.iter().zip(a) {
                    assert!(f64::from((x - y).abs()) <= step / 2.0 + 1e-6);
                }
            }
        }
    }

    #[test]
    fn noise_is_relative_with_the_requested_sigma_and_its_multipliers_are_the_same_draws() {
        let w0 = matrices(3);
        let sigma = 0.1;
        let d = Hardware {
            w_noise: sigma,
            ..Hardware::default()
        };
        let w = programmed(d, 3);
        let rel: Vec<f64> = w[1]
            .iter()
            .zip(&w0[1])
            .map(|(x, y)| f64::from(x / y) - 1.0)
            .collect();
        let n = rel.len() as f64;
        let mean = rel.iter().sum::<f64>() / n;
        let sd = (rel.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
        // 10^4 draws: the sample sd is within about 0.7% of sigma, the mean within 0.01 sigma.
        assert!((sd / sigma - 1.0).abs() < 0.03, "sd {sd}");
        assert!(mean.abs() < 0.03 * sigma, "mean {mean}");
        // The same stream read as multipliers gives the same programmed weights.
        let mut rng = rng_from_seed(derive_seed(3, W_NOISE_STREAM));
        for (p, a) in w.iter().zip(&w0) {
            let m = noise_multipliers(a.dim(), sigma as f32, &mut rng);
            assert_eq!(p, &(a * &m));
        }
    }

    #[test]
    fn stuck_devices_sit_at_zero_or_the_signed_peak_in_the_requested_fractions() {
        let w0 = matrices(4);
        let d = Hardware {
            stuck_zero: 0.1,
            stuck_max: 0.05,
            ..Hardware::default()
        };
        let w = programmed(d, 4);
        let peak = max_abs(w0[1].view());
        let (mut zero, mut max) = (0, 0);
        for (x, y) in w[1].iter().zip(&w0[1]) {
            if *x == 0.0 {
                zero += 1;
            } else if x.abs() == peak && x.signum() == y.signum() && x != y {
                max += 1;
            } else {
                assert_eq!(x, y);
            }
        }
        // Binomial(10^4, p): 4 standard deviations are 0.012 for p = 0.1 and 0.009 for p = 0.05.
        assert!((f64::from(zero) / 1e4 - 0.1).abs() < 0.012, "{zero}");
        assert!((f64::from(max) / 1e4 - 0.05).abs() < 0.009, "{max}");
    }

    #[test]
    fn the_same_seed_programs_the_same_devices() {
        let d = Hardware {
            w_bits: 5,
            w_noise: 0.1,
            stuck_zero: 0.05,
            stuck_max: 0.02,
            ..Hardware::default()
        };
        assert_eq!(programmed(d, 5), programmed(d, 5));
        let mut other = matrices(5);
        let [a, b] = &mut other;
        d.program_matrices(&mut [a.view_mut(), b.view_mut()], 6);
        assert_ne!(programmed(d, 5), other);
    }

    #[test]
    fn ranges_are_checked() {
        for bad in [
            Hardware {
                w_bits: 25,
                ..Hardware::default()
            },
            Hardware {
                w_noise: f64::NAN,
                ..Hardware::default()
            },
            Hardware {
                w_noise: -0.1,
                ..Hardware::default()
            },
            Hardware {
                stuck_max: 1.5,
                ..Hardware::default()
            },
            Hardware {
                stuck_zero: 0.6,
                stuck_max: 0.6,
                ..Hardware::default()
            },
            Hardware {
                adc_bits: 25,
                ..Hardware::default()
            },
            Hardware {
                readout_bits: 25,
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
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        assert!(Hardware {
            w_bits: 24,
            stuck_zero: 0.5,
            stuck_max: 0.5,
            ..Hardware::default()
        }
        .check()
        .is_ok());
    }

    #[test]
    fn the_ideal_hardware_serialises_as_an_empty_object_and_reads_nothing() {
        let hw = Hardware::default();
        assert!(hw.is_ideal() && hw.neurons_ideal() && !hw.per_device());
        let mut states = Array2::from_shape_fn((5, 7), |(i, j)| (i * 7 + j) as f32 / 40.0);
        let before = states.clone();
        hw.read_states(&CellKind::Tanh, states.view_mut());
        assert_eq!(states, before);
        assert_eq!(serde_json::to_string(&hw).unwrap(), "{}");
    }

    #[test]
    fn the_adc_keeps_at_most_two_to_the_k_levels_over_the_cell_range() {
        let mf = CellKind::Mf(crate::MfCell::new(0.01, 1.0, 5.0));
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
                .read_states(&cell, s.view_mut());
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
        let cell = crate::MfCell::new(0.01, 1.0, 5.0);
        let mf = CellKind::Mf(cell);
        let hw = Hardware {
            d2d_sigma: 0.1,
            c2c_sigma: 0.2,
            ..Hardware::default()
        };
        let units = hw.unit_physics(&mf, 30, 9).unwrap();
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
        assert_eq!(hw.neuron_non_ideality(), Some(("d2d_sigma", 0.1)));
        // Off, or on a cell without a device: nothing.
        let off = Hardware::default();
        assert!(off.neurons_ideal() && !hw.neurons_ideal());
        assert_eq!(off.neuron_non_ideality(), None);
        assert!(off.unit_physics(&mf, 30, 9).is_none() && off.cycle_noise(9, Run::Fit).is_none());
        assert!(hw.unit_physics(&CellKind::Tanh, 30, 9).is_none());
        assert!(off.devices(None, 9, Run::Predict).is_ideal());
    }
}
