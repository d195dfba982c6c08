//! Weight matrices held as memristive device conductances: quantised to a few levels, noisily programmed, some
//! devices stuck (the non-idealities the paper's Sec. VII leaves to hardware studies).
//!
//! Every non-ideality is off by default, and then nothing is drawn and nothing is rounded. Each random one draws
//! from its own stream of the seed (`derive_seed(seed, tag)`), so switching one on changes neither the weights
//! nor the other non-idealities, and the same seed always programs the same devices. The definitions, stream
//! tags and order of draws are those of the reservoir models' hardware (`mf_esn::hardware`): the same seed
//! programs the same `W_x` and `W_h` bit for bit.

use ndarray::{Array2, ArrayViewMut2};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::rng::{derive_seed, rng_from_seed};
use crate::CoreError;

/// Stream tag (`derive_seed(seed, tag)`) of the programming noise: ASCII `w_noise`.
pub const W_NOISE_STREAM: u64 = 0x0077_5f6e_6f69_7365;
/// Stream tag of the stuck devices: ASCII `stuck`.
pub const STUCK_STREAM: u64 = 0x0000_0073_7475_636b;

/// The most bits a quantiser takes: an f32 weight or state holds 24 significant bits.
pub const MAX_BITS: u32 = 24;

/// The non-idealities of the devices holding a set of weight matrices. Every field's default is `0`, off.
///
/// They act on each matrix on its own, in this order: quantisation, programming noise, stuck devices.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WeightDevices {
    /// Conductance levels: `k` bits quantise each matrix to `2^k` evenly spaced levels spanning the matrix's own
    /// `[min, max]` (each weight goes to the nearest level). Default `0`: exact weights.
    pub w_bits: u32,
    /// Relative standard deviation `sigma` of the programming noise: every weight becomes `w (1 + sigma n)` with
    /// `n ~ N(0, 1)` drawn independently per device. Default `0`: exact programming.
    pub w_noise: f64,
    /// Fraction of devices stuck at zero conductance (weight `0`), drawn independently per device. Default `0`.
    pub stuck_zero: f64,
    /// Fraction of devices stuck at the highest conductance: the weight becomes the matrix's largest `|w|` (before
    /// noise) with the intended weight's sign. Drawn independently per device, exclusive of `stuck_zero`. Default
    /// `0`.
    pub stuck_max: f64,
}

impl WeightDevices {
    /// True when every non-ideality is off (the default).
    pub fn is_ideal(&self) -> bool {
        *self == WeightDevices::default()
    }

    /// True when a non-ideality acts on every entry of a matrix, absent connections included: quantisation and
    /// stuck devices (noise is relative, so a zero weight stays zero).
    pub fn per_device(&self) -> bool {
        self.w_bits > 0 || self.stuck_zero > 0.0 || self.stuck_max > 0.0
    }

    /// Checks every range.
    pub fn check(&self) -> Result<(), CoreError> {
        check_bits("w_bits", self.w_bits)?;
        if !(self.w_noise >= 0.0 && self.w_noise.is_finite()) {
            return Err(CoreError::Param {
                name: "w_noise",
                value: self.w_noise,
                reason: "must be non-negative and finite",
            });
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
        Ok(())
    }

    /// Programs `matrices` (in order, e.g. `[W_x, W_h]`) into devices from `seed`: quantisation, then noise, then
    /// stuck devices. Each random non-ideality runs one stream through the matrices in order, row-major within
    /// each. Changes nothing when every non-ideality is off.
    pub fn program(&self, matrices: &mut [ArrayViewMut2<'_, f32>], seed: u64) {
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
/// programming noise of relative standard deviation `sigma` scales each weight, as [`WeightDevices::program`]
/// draws them.
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

    fn programmed(d: WeightDevices, seed: u64) -> [Array2<f32>; 2] {
        let mut m = matrices(seed);
        let [a, b] = &mut m;
        d.program(&mut [a.view_mut(), b.view_mut()], seed);
        m
    }

    fn distinct(a: &Array2<f32>) -> usize {
        a.iter().map(|v| v.to_bits()).collect::<BTreeSet<_>>().len()
    }

    #[test]
    fn the_default_changes_nothing() {
        assert!(WeightDevices::default().is_ideal());
        assert_eq!(programmed(WeightDevices::default(), 1), matrices(1));
    }

    #[test]
    fn k_bits_leave_at_most_two_to_the_k_values_within_half_a_step() {
        let w0 = matrices(2);
        for bits in [1, 3, 6] {
            let d = WeightDevices {
                w_bits: bits,
                ..WeightDevices::default()
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
        let d = WeightDevices {
            w_noise: sigma,
            ..WeightDevices::default()
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
        let d = WeightDevices {
            stuck_zero: 0.1,
            stuck_max: 0.05,
            ..WeightDevices::default()
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
        let d = WeightDevices {
            w_bits: 5,
            w_noise: 0.1,
            stuck_zero: 0.05,
            stuck_max: 0.02,
        };
        assert_eq!(programmed(d, 5), programmed(d, 5));
        let mut other = matrices(5);
        let [a, b] = &mut other;
        d.program(&mut [a.view_mut(), b.view_mut()], 6);
        assert_ne!(programmed(d, 5), other);
    }

    #[test]
    fn ranges_are_checked() {
        for bad in [
            WeightDevices {
                w_bits: 25,
                ..WeightDevices::default()
            },
            WeightDevices {
                w_noise: f64::NAN,
                ..WeightDevices::default()
            },
            WeightDevices {
                w_noise: -0.1,
                ..WeightDevices::default()
            },
            WeightDevices {
                stuck_max: 1.5,
                ..WeightDevices::default()
            },
            WeightDevices {
                stuck_zero: 0.6,
                stuck_max: 0.6,
                ..WeightDevices::default()
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        assert!(WeightDevices {
            w_bits: 24,
            stuck_zero: 0.5,
            stuck_max: 0.5,
            ..WeightDevices::default()
        }
        .check()
        .is_ok());
    }
}
