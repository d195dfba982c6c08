//! Device non-idealities of the MF neuron itself: device-to-device variability of its physics and
//! cycle-to-cycle noise of its rates.
//!
//! The MF neuron is one memristive device whose conductance follows eq. 1 with the rates of eq. 2,
//! `Kp(z) = Kp0 e^{eta_p z}` and `Kd(z) = Kd0 e^{-eta_d z}`, at the constants of Table II. Sec. VII points out
//! that these constants are physical quantities of the device; real devices differ from one another and from one
//! switching cycle to the next. Both effects are modelled here, each off by default:
//!
//! - **Device-to-device variability** ([`UnitPhysics`]): every unit has its own `Kp0`, `Kd0`, `eta_p` and `eta_d`,
//!   drawn once per reservoir, each independently log-normal with **mean** equal to the nominal value and
//!   **relative standard deviation** `sigma` (standard deviation over mean, the coefficient of variation):
//!   `ln X ~ N(mu, s^2)` with `s^2 = ln(1 + sigma^2)` and `mu = ln(nominal) - s^2 / 2`. The RESCALE bounds `a`,
//!   `b` (eq. 8) belong to the driving circuit, not to the device, and stay shared.
//! - **Cycle-to-cycle noise** ([`CycleNoise`]): at every time step, every unit's `Kp` and `Kd` are multiplied by
//!   two independent factors `1 + max(sigma n, C2C_MIN_FACTOR - 1)` with `n ~ N(0, 1)`, that is `1 + sigma n`
//!   clamped below at [`C2C_MIN_FACTOR`]. The clamp keeps both rates positive; it acts with probability
//!   `Phi((C2C_MIN_FACTOR - 1) / sigma)`, below `1e-6` for `sigma <= 0.2`, so below that the factors have mean 1
//!   and standard deviation `sigma` to that accuracy. A device is noisy whenever it runs: the noise applies in
//!   training and in prediction alike.
//!
//! The cycle-to-cycle draws come from a counter-based generator, not from a stream: the pair of factors of unit
//! `j` of series `i` at step `t` is a function of `(key, i, t, j)` alone, so they are the same whatever the thread
//! count, the block partition or the order in which series are advanced. Per series and step the counter is
//! `c = derive_seed(derive_seed(key, i), t)`, 64 random bits; unit `j` hashes each half of it with its salt
//! `s_j = (j + 1) 0x9E3779B9` through MurmurHash3's 32-bit finaliser, `a = fmix32(c_hi ^ s_j)` and
//! `b = fmix32(c_lo ^ s_j)`, and a Box-Muller transform turns `(a, b)` into the pair of normals (radius from `a`,
//! angle from `b`). Everything is 32-bit integer and f32 arithmetic on straight-line polynomials ([`ln_f32`], and
//! Cephes' `sinf`/`cosf` on a quarter circle), so the harvest's loops vectorise over sixteen series at a time,
//! with fused multiply-adds where the processor has them as the rest of the harvest does;
//! [`CycleNoise::factors`] computes the factors the fused paths apply (the baseline path, without fused
//! multiply-adds, differs from them by f32 rounding).

use rand_distr::{Distribution, StandardNormal};

use crate::fastmath::madd;
use crate::rng::derive_seed;
use crate::{CoreError, MfCell, MfKernel, Physics};

/// The smallest factor cycle-to-cycle noise applies to a rate (to f32 rounding of `1 + (C2C_MIN_FACTOR - 1)`):
/// `Kp` and `Kd` never fall below a thousandth of their noise-free values, so they stay positive.
pub const C2C_MIN_FACTOR: f32 = 1e-3;

/// Every standard normal [`UnitPhysics::draw`] takes lies within this many standard deviations of 0:
/// `rand_distr`'s ziggurat returns at most about 12.3 (a tail draw `R - x` with `x = ln(u) / R`, `u >= 2^-53`,
/// is accepted only when `x^2 <= -2 ln(v) <= 73.5`, `R = 3.654`). [`UnitPhysics::check_sigma`] keeps every draw
/// out to this bound positive and finite.
pub const D2D_Z_BOUND: f64 = 13.0;

/// Per-unit device constants of an MF layer: unit `j` runs with `kp0[j]`, `kd0[j]`, `eta_p[j]`, `eta_d[j]` (each
/// `(n_units)`), the RESCALE bounds of the cell.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitPhysics {
    /// Potentiation rate at zero input of each unit, `(n_units)`.
    pub kp0: Vec<f64>,
    /// Depression rate at zero input of each unit, `(n_units)`.
    pub kd0: Vec<f64>,
    /// Potentiation exponent of each unit, `(n_units)`.
    pub eta_p: Vec<f64>,
    /// Depression exponent of each unit, `(n_units)`.
    pub eta_d: Vec<f64>,
}

impl UnitPhysics {
    /// `n_units` identical devices at `nominal`.
    pub fn uniform(nominal: &Physics, n_units: usize) -> Self {
        Self {
            kp0: vec![nominal.kp0; n_units],
            kd0: vec![nominal.kd0; n_units],
            eta_p: vec![nominal.eta_p; n_units],
            eta_d: vec![nominal.eta_d; n_units],
        }
    }

    /// `n_units` devices around `nominal` with relative standard deviation `sigma` (see the module
    /// documentation: log-normal, mean the nominal value). Draws `4 n_units` standard normals from `rng`: every
    /// unit's `kp0` first, then `kd0`, `eta_p`, `eta_d`. `sigma = 0` gives [`UnitPhysics::uniform`] exactly.
    pub fn draw<R: rand::Rng + ?Sized>(
        nominal: &Physics,
        n_units: usize,
        sigma: f64,
        rng: &mut R,
    ) -> Self {
        let s2 = sigma.mul_add(sigma, 1.0).ln();
        let s = s2.sqrt();
        let mut one = |mean: f64| -> Vec<f64> {
            let mu = mean.ln() - 0.5 * s2;
            (0..n_units)
                .map(|_| {
                    let z: f64 = StandardNormal.sample(&mut *rng);
                    if sigma == 0.0 {
                        mean
                    } else {
                        (mu + s * z).exp()
                    }
                })
                .collect()
        };
        let kp0 = one(nominal.kp0);
        let kd0 = one(nominal.kd0);
        let eta_p = one(nominal.eta_p);
        let eta_d = one(nominal.eta_d);
        Self {
            kp0,
            kd0,
            eta_p,
            eta_d,
        }
    }

    /// Checks that [`UnitPhysics::draw`] around `nominal` (checked already) with relative standard deviation
    /// `sigma` gives every unit positive, finite constants. A huge `sigma` does not: `s^2 = ln(1 + sigma^2)`
    /// overflows once `sigma^2` does (`sigma` above about `1.3e154`) and the draws become 0 or NaN, and before
    /// that a wide `s` can take `exp(mu + s z)` to 0 or infinity for a small or a large nominal value. Each of
    /// the four constants is checked at `z = -D2D_Z_BOUND` and `z = D2D_Z_BOUND` ([`D2D_Z_BOUND`]), beyond any
    /// normal the generator draws. Fails naming `d2d_sigma`.
    pub fn check_sigma(nominal: &Physics, sigma: f64) -> Result<(), CoreError> {
        if sigma == 0.0 {
            return Ok(());
        }
        let s2 = sigma.mul_add(sigma, 1.0).ln();
        let s = s2.sqrt();
        let spans = |mean: f64| {
            let mu = mean.ln() - 0.5 * s2;
            [-D2D_Z_BOUND, D2D_Z_BOUND].iter().all(|&z| {
                let v = (mu + s * z).exp();
                v > 0.0 && v.is_finite()
            })
        };
        let nominals = [nominal.kp0, nominal.kd0, nominal.eta_p, nominal.eta_d];
        if s2.is_finite() && nominals.into_iter().all(spans) {
            Ok(())
        } else {
            Err(CoreError::Param {
                name: "d2d_sigma",
                value: sigma,
                reason: "too large for the log-normal draw of each MF neuron's kp0, kd0, eta_p and eta_d, \
                         which would give some units constants of 0 or infinity",
            })
        }
    }

    /// Number of units.
    pub fn n_units(&self) -> usize {
        self.kp0.len()
    }

    /// Unit `j`'s physics: its own rates and exponents, `base`'s RESCALE bounds.
    pub fn physics(&self, base: &Physics, j: usize) -> Physics {
        Physics {
            kp0: self.kp0[j],
            kd0: self.kd0[j],
            eta_p: self.eta_p[j],
            eta_d: self.eta_d[j],
            ..*base
        }
    }

    /// The four arrays with their names, in the order [`UnitPhysics::draw`] fills them.
    pub fn arrays(&self) -> [(&'static str, &[f64]); 4] {
        [
            ("kp0", &self.kp0),
            ("kd0", &self.kd0),
            ("eta_p", &self.eta_p),
            ("eta_d", &self.eta_d),
        ]
    }

    /// Checks that every array holds `n_units` positive finite values.
    pub fn check(&self, n_units: usize) -> Result<(), CoreError> {
        for (name, v) in self.arrays() {
            if v.len() != n_units {
                return Err(CoreError::Shape {
                    what: format!("per-unit {name}"),
                    expected: n_units.to_string(),
                    got: v.len().to_string(),
                });
            }
            if let Some(&bad) = v.iter().find(|x| !(**x > 0.0 && x.is_finite())) {
                return Err(CoreError::Param {
                    name,
                    value: bad,
                    reason: "every unit's value must be positive and finite",
                });
            }
        }
        Ok(())
    }

    /// One f32 kernel per unit for `cell` (whose own constants `kp0`, `kd0`, `eta_p`, `eta_d` are replaced).
    pub fn kernels(&self, cell: &MfCell) -> Vec<MfKernel> {
        (0..self.n_units())
            .map(|j| {
                MfKernel::new(&MfCell {
                    physics: self.physics(&cell.physics, j),
                    ..*cell
                })
            })
            .collect()
    }
}

/// Cycle-to-cycle noise of the rates (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CycleNoise {
    /// Relative standard deviation `sigma` of each factor (non-negative, finite); `0` multiplies by exactly 1.
    pub sigma: f64,
    /// Key of the counter-based generator, from the model's seed.
    pub key: u64,
    /// Index of a batch's first series in the whole run: series `i` of the batch draws as series
    /// `first_series + i`, so that a run cut into batches draws what the whole run does. Default 0.
    pub first_series: usize,
}

impl CycleNoise {
    /// Noise of relative standard deviation `sigma` keyed by `key`, batches starting at series 0.
    pub fn new(sigma: f64, key: u64) -> Self {
        Self {
            sigma,
            key,
            first_series: 0,
        }
    }

    /// The same noise for a batch whose series `0` is series `first` of the run.
    pub fn at_series(self, first: usize) -> Self {
        Self {
            first_series: first,
            ..self
        }
    }

    /// Checks that `sigma` is non-negative and finite.
    pub fn check(&self) -> Result<(), CoreError> {
        if self.sigma >= 0.0 && self.sigma.is_finite() {
            Ok(())
        } else {
            Err(CoreError::Param {
                name: "c2c_sigma",
                value: self.sigma,
                reason: "must be non-negative and finite",
            })
        }
    }

    /// The counter of batch series `series` at step `step` (from 0):
    /// `derive_seed(series_key(series), step)`.
    #[inline]
    pub fn counter(&self, series: usize, step: usize) -> u64 {
        derive_seed(self.series_key(series), step as u64)
    }

    /// The key of batch series `series`: `derive_seed(key, first_series + series)`.
    #[inline]
    pub fn series_key(&self, series: usize) -> u64 {
        derive_seed(self.key, (self.first_series + series) as u64)
    }

    /// The factors `(f_p, f_d)` multiplying `Kp` and `Kd` of unit `unit` of batch series `series` at step `step`
    /// (from 0), `1 + d` for the deviations `d` the harvest's fused paths draw (they apply `K + K d` in one
    /// rounding).
    pub fn factors(&self, series: usize, step: usize, unit: usize) -> (f32, f32) {
        let c = self.counter(series, step);
        let (dp, dd) = deviation_pair::<true, true>(
            (c >> 32) as u32,
            c as u32,
            unit_salt(unit),
            self.sigma as f32,
        );
        (1.0 + dp, 1.0 + dd)
    }
}

/// What a harvest runs on beyond the cell's nominal device: per-unit constants and cycle-to-cycle noise, each
/// optional. The default is the ideal device.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Devices {
    /// Each unit's constants (device-to-device variability); none: every unit at the cell's physics.
    pub units: Option<UnitPhysics>,
    /// Cycle-to-cycle noise of the rates; none (or `sigma = 0`): noise-free.
    pub cycle: Option<CycleNoise>,
}

impl Devices {
    /// True when neither non-ideality is present.
    pub fn is_ideal(&self) -> bool {
        self.units.is_none() && self.cycle.is_none_or(|c| c.sigma == 0.0)
    }

    /// Checks the per-unit constants against `n_units` and the noise's `sigma`.
    pub fn check(&self, n_units: usize) -> Result<(), CoreError> {
        if let Some(u) = &self.units {
            u.check(n_units)?;
        }
        if let Some(c) = &self.cycle {
            c.check()?;
        }
        Ok(())
    }
}

/// One unit's update in f64 with its own `physics` and rate factors `fp`, `fd`: eq. 12 with `Kp fp` and `Kd fd`.
/// The reference for the vectorised kernel.
pub fn update_scalar(cell: &MfCell, physics: &Physics, pre: f64, h: f64, fp: f64, fd: f64) -> f64 {
    let c = MfCell {
        physics: *physics,
        ..*cell
    };
    let z = c.rescale(pre);
    let kp = physics.kp0 * (physics.eta_p * z).exp() * fp;
    let kd = physics.kd0 * (-physics.eta_d * z).exp() * fd;
    c.gamma * h + c.dt * (kp - (kp + kd) * h)
}

/// Unit `unit`'s salt: `(unit + 1)` times the 32-bit golden-ratio constant.
#[inline(always)]
pub(crate) fn unit_salt(unit: usize) -> u32 {
    (unit as u32).wrapping_add(1).wrapping_mul(0x9E37_79B9)
}

/// The 32-bit finaliser of MurmurHash3: a bijection of `u32` in which every input bit changes every output bit
/// with probability about one half.
#[inline(always)]
fn fmix32(h: u32) -> u32 {
    let h = (h ^ (h >> 16)).wrapping_mul(0x85EB_CA6B);
    let h = (h ^ (h >> 13)).wrapping_mul(0xC2B2_AE35);
    h ^ (h >> 16)
}

/// The deviations `(dp, dd)` of both factors of one unit at one step, `f = 1 + d`: its series' counter at the
/// step, split into halves `hi` and `lo`, and the unit's salt give the 64 bits `fmix32(hi ^ salt)`,
/// `fmix32(lo ^ salt)` of a Box-Muller pair of normals of standard deviation `sigma`, each clamped below at
/// `C2C_MIN_FACTOR - 1`. Fused multiply-adds when `FMA` (see [`crate::fastmath::madd`]). Without `CLAMP` the
/// clamp is skipped, for callers that know it cannot act ([`clamp_can_act`] is false).
#[inline(always)]
pub(crate) fn deviation_pair<const FMA: bool, const CLAMP: bool>(
    hi: u32,
    lo: u32,
    salt: u32,
    sigma: f32,
) -> (f32, f32) {
    const MIN: f32 = C2C_MIN_FACTOR - 1.0;
    let (x, y) = box_muller::<FMA>(fmix32(hi ^ salt), fmix32(lo ^ salt), sigma);
    if CLAMP {
        (if x < MIN { MIN } else { x }, if y < MIN { MIN } else { y })
    } else {
        (x, y)
    }
}

/// Whether the clamp at `C2C_MIN_FACTOR` can act at relative sigma `sigma`: the transform never draws a normal
/// beyond `6.56` (see `box_muller`), so below `sigma = 0.15` no factor falls under `1 - 6.56 sigma > 0.015`.
#[inline]
pub(crate) fn clamp_can_act(sigma: f32) -> bool {
    sigma >= 0.15 || sigma.is_nan()
}

/// Two independent normals of standard deviation `scale` from 64 random bits: radius `scale sqrt(-2 ln u)` with
/// `u` in `[2^-31, 1]` from the top 31 bits of `a`, angle uniform on the circle from `b`. The radius is at most
/// `6.56 scale` (`sqrt(62 ln 2) = 6.56`): the tail beyond it (probability `2e-10`) is not drawn.
///
/// The angle: 29 bits give `theta` uniform in `[-pi/4, pi/4)`, the quarter of the circle around the x axis; one
/// bit swaps the coordinates (the reflection onto the quarter around the y axis) and two bits flip their signs.
/// Of the eight outcomes two land in each quarter, uniformly within it, so the angle is uniform on the circle.
#[inline(always)]
fn box_muller<const FMA: bool>(a: u32, b: u32, scale: f32) -> (f32, f32) {
    const TWO_M31: f32 = 1.0 / 2_147_483_648.0;
    const TWO_M29: f32 = 1.0 / 536_870_912.0;
    const SIGN: u32 = 0x8000_0000;
    let u = madd::<FMA>((a >> 1) as i32 as f32, TWO_M31, TWO_M31);
    let r = (ln_with::<FMA>(u) * (-2.0 * scale * scale)).sqrt();
    let frac = (b & 0x1FFF_FFFF) as i32 as f32;
    let theta = madd::<FMA>(
        frac,
        TWO_M29 * std::f32::consts::FRAC_PI_2,
        -std::f32::consts::FRAC_PI_4,
    );
    let (s, c) = sin_cos_quarter::<FMA>(theta);
    let (x, y) = if b & 0x2000_0000 != 0 { (s, c) } else { (c, s) };
    // A select, not `(b << 1) & SIGN`: the compiler folds that shift into the hash's last multiplication, a
    // slower instruction than the shift.
    let y = if b & 0x4000_0000 != 0 { -y } else { y };
    (f32::from_bits((r * x).to_bits() ^ (b & SIGN)), r * y)
}

/// `(sin x, cos x)` for `|x| <= pi/4` with the Cephes `sinf` and `cosf` polynomials (errors of a unit in the last
/// place).
#[inline(always)]
fn sin_cos_quarter<const FMA: bool>(x: f32) -> (f32, f32) {
    let z = x * x;
    let mut s = -1.951_529_6e-4_f32;
    s = madd::<FMA>(s, z, 8.332_161e-3);
    s = madd::<FMA>(s, z, -1.666_665_5e-1);
    let s = madd::<FMA>(s * z, x, x);
    let mut c = 2.443_315_7e-5_f32;
    c = madd::<FMA>(c, z, -1.388_731_6e-3);
    c = madd::<FMA>(c, z, 4.166_664_6e-2);
    let c = madd::<FMA>(c * z, z, madd::<FMA>(-0.5, z, 1.0));
    (s, c)
}

/// `ln x` in single precision for normal, positive, finite `x`, branch-free so that loops over it vectorise:
/// `x = m 2^e` with `m` in `[2/3, 4/3)` (one integer subtraction finds `e`), then
/// `ln m = t - t^2/2 + t^3 P(t)` with `t = m - 1` and `P` of degree 5 fitted to `ln(1 + t)` on `[-1/3, 1/3]`
/// (error below `5e-8` in exact arithmetic). Relative error below `5e-7` where `|ln x| > 0.1`, absolute error
/// below `2e-7` where it is smaller (tested), far below what matters for a Gaussian draw.
/// Zero, negative, subnormal and non-finite inputs give meaningless results: callers pass values in `(0, 1]`.
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    ln_with::<false>(x)
}

/// [`ln_f32`] with fused multiply-adds when `FMA` (as accurate).
#[inline(always)]
pub fn ln_with<const FMA: bool>(x: f32) -> f32 {
    // The bits of 2/3 rounded up: below them the exponent is one less.
    const TWO_THIRDS: i32 = 0x3F2A_AAAB;
    let bits = x.to_bits() as i32;
    let e = bits.wrapping_sub(TWO_THIRDS) >> 23;
    let t = f32::from_bits(bits.wrapping_sub(e << 23) as u32) - 1.0;
    let z = t * t;
    let mut p = -1.563_074_4e-1_f32;
    for c in [
        1.712_807_6e-1,
        -1.638_267_6e-1,
        1.979_599_6e-1,
        -2.500_802_6e-1,
        3.333_755e-1,
    ] {
        p = madd::<FMA>(p, t, c);
    }
    let ln_m = madd::<FMA>(p, t * z, madd::<FMA>(-0.5, z, t));
    madd::<FMA>(e as f32, std::f32::consts::LN_2, ln_m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_from_seed;

    #[test]
    fn ln_matches_the_f64_logarithm() {
        for fma in [false, true] {
            let ln = |x: f32| if fma { ln_with::<true>(x) } else { ln_f32(x) };
            let (mut worst_rel, mut worst_near_one) = (0.0f64, 0.0f64);
            // Every input the generator produces lies in [2^-31, 1]; cover a wider range, and densely the
            // neighbourhood of 1 where the error is absolute.
            let steps = 1_000_000;
            let wide = (0..=steps).map(|k| 2f64.powf(-40.0 + 44.0 * k as f64 / steps as f64));
            let near = (0..=steps).map(|k| 0.9 + 0.2 * k as f64 / steps as f64);
            for x in wide.chain(near) {
                let x = x as f32;
                let want = f64::from(x).ln();
                let err = (f64::from(ln(x)) - want).abs();
                if want.abs() > 0.1 {
                    worst_rel = worst_rel.max(err / want.abs());
                } else {
                    worst_near_one = worst_near_one.max(err);
                }
            }
            assert!(worst_rel < 5e-7, "fma {fma}: relative {worst_rel}");
            assert!(
                worst_near_one < 2e-7,
                "fma {fma}: absolute {worst_near_one}"
            );
            assert_eq!(ln(1.0), 0.0);
        }
    }

    #[test]
    fn sine_and_cosine_on_the_quarter_match_f64() {
        let mut worst = 0.0f64;
        for k in -100_000..=100_000 {
            let x = (k as f64 / 100_000.0 * std::f64::consts::FRAC_PI_4) as f32;
            let (s, c) = sin_cos_quarter::<true>(x);
            let x = f64::from(x);
            worst = worst
                .max((f64::from(s) - x.sin()).abs())
                .max((f64::from(c) - x.cos()).abs());
        }
        assert!(worst < 2e-7, "{worst}");
    }

    /// Sample mean, standard deviation and the excess of the fourth standardised moment over the normal's 3.
    fn moments(v: &[f64]) -> (f64, f64, f64) {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let m4 = v.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n;
        (mean, var.sqrt(), m4 / (var * var) - 3.0)
    }

    #[test]
    fn box_muller_draws_independent_standard_normals() {
        // 2 x 10^6 normals from consecutive counters: mean 0 (SE 7e-4), variance 1 (SE 1e-3), excess kurtosis 0
        // (SE sqrt(24 / n) = 3.5e-3), no correlation between the pair (SE 1e-3); 5 standard errors each.
        let n = 1_000_000;
        let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for k in 0..n as u64 {
            let z = crate::rng::derive_seed(5, k);
            let (x, y) = box_muller::<true>((z >> 32) as u32, z as u32, 1.0);
            a.push(f64::from(x));
            b.push(f64::from(y));
        }
        let all: Vec<f64> = a.iter().chain(&b).copied().collect();
        let (mean, sd, kurt) = moments(&all);
        assert!(mean.abs() < 5.0 * 7.1e-4, "{mean}");
        assert!((sd * sd - 1.0).abs() < 5.0 * 1.0e-3, "{sd}");
        assert!(kurt.abs() < 5.0 * (24.0 / 2e6f64).sqrt(), "{kurt}");
        let corr = a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>() / n as f64;
        assert!(corr.abs() < 5.0 * 1.0e-3, "{corr}");
        // The fraction within one standard deviation: 0.682689 for a normal (SE 3.3e-4).
        let within = all.iter().filter(|x| x.abs() < 1.0).count() as f64 / all.len() as f64;
        assert!((within - 0.682_689_5).abs() < 5.0 * 3.3e-4, "{within}");
    }

    /// `Phi(x)`, the standard normal distribution function, by Simpson's rule on the density from -12.
    fn normal_cdf(x: f64) -> f64 {
        let (a, n) = (-12.0, 200_000);
        let h = (x - a) / n as f64;
        let f = |t: f64| (-0.5 * t * t).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let mut s = f(a) + f(x);
        for k in 1..n {
            s += f(a + k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 };
        }
        s * h / 3.0
    }

    /// The factors of `noise` over `series x steps x units` draws, `Kp`'s then `Kd`'s.
    fn sample(noise: &CycleNoise, series: usize, steps: usize, units: usize) -> [Vec<f64>; 2] {
        let (mut p, mut d) = (Vec::new(), Vec::new());
        for i in 0..series {
            for t in 0..steps {
                for j in 0..units {
                    let (fp, fd) = noise.factors(i, t, j);
                    p.push(f64::from(fp));
                    d.push(f64::from(fd));
                }
            }
        }
        [p, d]
    }

    #[test]
    fn cycle_factors_have_mean_one_and_the_requested_relative_sigma() {
        for sigma in [0.05, 0.2] {
            let noise = CycleNoise::new(sigma, 77);
            let [p, d] = sample(&noise, 40, 50, 100);
            let n = p.len() as f64;
            for v in [&p, &d] {
                let (mean, sd, _) = moments(v);
                // SE of the mean sigma / sqrt(n); of the sd sigma / sqrt(2 n) for a normal.
                assert!((mean - 1.0).abs() < 5.0 * sigma / n.sqrt(), "{mean}");
                assert!((sd - sigma).abs() < 5.0 * sigma / (2.0 * n).sqrt(), "{sd}");
            }
            // Kp's and Kd's factors are independent, and so are consecutive steps of a unit.
            let corr = |x: &[f64], y: &[f64]| -> f64 {
                x.iter()
                    .zip(y)
                    .map(|(a, b)| (a - 1.0) * (b - 1.0))
                    .sum::<f64>()
                    / (x.len() as f64 * sigma * sigma)
            };
            assert!(corr(&p, &d).abs() < 5.0 / n.sqrt());
            // Samples are laid out series, step, unit: 100 apart is the next step, 1 apart the next unit.
            for lag in [100, 1] {
                let (now, next) = (&p[..p.len() - lag], &p[lag..]);
                assert!(corr(now, next).abs() < 5.0 / n.sqrt(), "lag {lag}");
                let (now, next) = (&d[..d.len() - lag], &d[lag..]);
                assert!(corr(now, next).abs() < 5.0 / n.sqrt(), "lag {lag}");
            }
        }
    }

    #[test]
    fn large_noise_is_clamped_to_the_minimum_factor_as_often_as_the_normal_says() {
        let sigma = 1.0;
        let [p, d] = sample(&CycleNoise::new(sigma, 5), 20, 50, 100);
        let floor = f64::from(1.0 + (C2C_MIN_FACTOR - 1.0));
        assert!((floor - f64::from(C2C_MIN_FACTOR)).abs() < 1e-7);
        let want = normal_cdf((f64::from(C2C_MIN_FACTOR) - 1.0) / sigma);
        for v in [p, d] {
            assert!(v.iter().all(|&f| f >= floor));
            let at_min = v.iter().filter(|&&f| f == floor).count() as f64;
            let n = v.len() as f64;
            let se = (want * (1.0 - want) / n).sqrt();
            assert!(
                (at_min / n - want).abs() < 5.0 * se,
                "{} vs {want}",
                at_min / n
            );
        }
    }

    #[test]
    fn factors_depend_on_key_series_step_and_unit_and_zero_sigma_is_exactly_one() {
        let a = CycleNoise::new(0.1, 1);
        let f = a.factors(3, 4, 5);
        assert_eq!(f, a.factors(3, 4, 5));
        for other in [
            CycleNoise::new(0.1, 2).factors(3, 4, 5),
            a.factors(2, 4, 5),
            a.factors(3, 5, 5),
            a.factors(3, 4, 6),
        ] {
            assert_ne!(other, f);
        }
        // A batch starting at series 3 draws what the whole run draws for series 3.
        assert_eq!(a.at_series(3).factors(0, 4, 5), f);
        let zero = CycleNoise::new(0.0, 1);
        for (i, t, j) in [(0, 0, 0), (7, 100, 3), (1, 2, 99)] {
            assert_eq!(zero.factors(i, t, j), (1.0, 1.0));
        }
        assert!(CycleNoise::new(-0.1, 0).check().is_err());
        assert!(CycleNoise::new(f64::NAN, 0).check().is_err());
        assert!(CycleNoise::new(f64::INFINITY, 0).check().is_err());
    }

    #[test]
    fn unit_physics_is_log_normal_with_the_nominal_mean_and_relative_sigma() {
        // Mean nominal and coefficient of variation sigma; the standard errors come from the log-normal's own
        // moments E[X^k] = exp(k mu + k^2 s^2 / 2): SE(mean) = sd / sqrt(n) and SE(var) = sqrt((mu4 - var^2) / n).
        let nominal = Physics::default();
        let n = 40_000;
        for sigma in [0.05, 0.3] {
            let u = UnitPhysics::draw(&nominal, n, sigma, &mut rng_from_seed(11));
            u.check(n).unwrap();
            let s2 = (1.0f64 + sigma * sigma).ln();
            for (name, v) in u.arrays() {
                let nom = match name {
                    "kp0" => nominal.kp0,
                    "kd0" => nominal.kd0,
                    "eta_p" => nominal.eta_p,
                    _ => nominal.eta_d,
                };
                let mu = nom.ln() - 0.5 * s2;
                let raw = |k: f64| (k * mu + 0.5 * k * k * s2).exp();
                let mean = raw(1.0);
                let var = raw(2.0) - mean * mean;
                let mu4 = raw(4.0) - 4.0 * raw(3.0) * mean + 6.0 * raw(2.0) * mean * mean
                    - 3.0 * mean.powi(4);
                // The closed forms agree with the documented parameters.
                assert!((mean / nom - 1.0).abs() < 1e-12);
                assert!((var.sqrt() / nom - sigma).abs() < 1e-12);
                let m = v.iter().sum::<f64>() / n as f64;
                let sv = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64;
                let nf = n as f64;
                assert!(
                    (m - mean).abs() < 5.0 * (var / nf).sqrt(),
                    "{name} sigma {sigma}: mean {m} vs {mean}"
                );
                assert!(
                    (sv - var).abs() < 5.0 * ((mu4 - var * var) / nf).sqrt(),
                    "{name} sigma {sigma}: var {sv} vs {var}"
                );
                // The median is below the mean: exp(mu) = nominal / sqrt(1 + sigma^2).
                let mut sorted = v.to_vec();
                sorted.sort_by(f64::total_cmp);
                let median = sorted[n / 2];
                assert!(median < nom, "{name}");
            }
        }
        // Sigma 0 is the nominal device in every unit.
        assert_eq!(
            UnitPhysics::draw(&nominal, 7, 0.0, &mut rng_from_seed(1)),
            UnitPhysics::uniform(&nominal, 7)
        );
        // The same generator state draws the same units.
        let a = UnitPhysics::draw(&nominal, 50, 0.1, &mut rng_from_seed(3));
        assert_eq!(
            a,
            UnitPhysics::draw(&nominal, 50, 0.1, &mut rng_from_seed(3))
        );
        assert_ne!(
            a,
            UnitPhysics::draw(&nominal, 50, 0.1, &mut rng_from_seed(4))
        );
    }

    #[test]
    fn a_sigma_whose_draw_gives_zero_or_infinite_constants_is_refused_naming_d2d_sigma() {
        let nominal = Physics::default();
        for sigma in [0.0, 0.05, 1.0, 1e3, 1e100] {
            UnitPhysics::check_sigma(&nominal, sigma).unwrap();
            // The draw it allows is positive and finite, even far into the tails.
            let u = UnitPhysics::draw(&nominal, 2000, sigma, &mut rng_from_seed(5));
            u.check(2000).unwrap();
        }
        // 1e155 squared overflows: every draw is 0 or NaN. The unit check names kp0, the sigma check d2d_sigma.
        for (sigma, shown) in [
            (1e155, "1e155"),
            (1e300, "1e300"),
            (f64::MAX, "1.7976931348623157e308"),
        ] {
            let u = UnitPhysics::draw(&nominal, 50, sigma, &mut rng_from_seed(5));
            assert!(u.check(50).unwrap_err().to_string().contains("kp0"));
            let e = UnitPhysics::check_sigma(&nominal, sigma)
                .unwrap_err()
                .to_string();
            assert_eq!(
                e,
                format!(
                    "invalid parameter d2d_sigma = {shown}: too large for the log-normal draw of each MF \
                     neuron's kp0, kd0, eta_p and eta_d, which would give some units constants of 0 or infinity"
                )
            );
        }
        // A sigma the default device takes can still be too wide for a tiny nominal rate: exp(mu - 13 s)
        // underflows.
        let tiny = Physics {
            kp0: 1e-300,
            ..nominal
        };
        UnitPhysics::check_sigma(&tiny, 0.1).unwrap();
        assert!(UnitPhysics::check_sigma(&tiny, 1e10).is_err());
        UnitPhysics::check_sigma(&nominal, 1e10).unwrap();
    }

    #[test]
    fn bad_unit_physics_is_refused_naming_the_array() {
        let mut u = UnitPhysics::uniform(&Physics::default(), 4);
        assert!(u.check(4).is_ok());
        assert!(matches!(u.check(5), Err(CoreError::Shape { .. })));
        u.eta_d[2] = -1.0;
        let e = u.check(4).unwrap_err().to_string();
        assert!(e.contains("eta_d"), "{e}");
        u.eta_d[2] = f64::NAN;
        assert!(u.check(4).is_err());
    }

    #[test]
    fn the_device_update_is_eq_12_with_scaled_rates() {
        let cell = MfCell::new(0.1, 0.9, 2.0);
        let p = Physics {
            kp0: 3e-4,
            eta_p: 7.0,
            ..Physics::default()
        };
        for (u, h) in [(0.3, 0.2), (-1.0, 0.7), (2.0, 0.0)] {
            // Unit factors and the cell's own physics: MfCell::update_scalar.
            let plain = update_scalar(&cell, &cell.physics, u, h, 1.0, 1.0);
            assert_eq!(plain.to_bits(), cell.update_scalar(u, h).to_bits());
            // By hand.
            let z = (p.b - p.a) / (1.0 + (-2.0 * u).exp()) + p.a;
            let (kp, kd) = (3e-4 * (7.0 * z).exp() * 1.3, 0.5 * (-z).exp() * 0.6);
            let want = 0.9 * h + 0.1 * (kp - (kp + kd) * h);
            assert!((update_scalar(&cell, &p, u, h, 1.3, 0.6) - want).abs() < 1e-15);
        }
    }
}
