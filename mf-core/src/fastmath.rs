//! A vectorisable single-precision exponential and hyperbolic tangent for the element-wise cell updates.
//!
//! `std`'s `f32::exp` is a call into libm that the compiler cannot vectorise; the MF update needs two or three
//! exponentials per unit and step, which made it as costly as the recurrent matrix product. [`exp_f32`] is
//! branch-free straight-line arithmetic (Cody-Waite range reduction and the Cephes `expf` polynomial), so loops
//! over slices of it compile to SIMD code.
//!
//! Accuracy: relative error below `5e-7` (a few units in the last place) for every finite input in
//! `[-87, 88]`, tested against the f64 exponential. Inputs below -87 give `e^-87` (about `1.6e-38`) and inputs above 88
//! give `e^88` instead of underflowing or overflowing; NaN stays NaN so that non-finite states are still detected.

const LOG2_E: f32 = std::f32::consts::LOG2_E;
// ln 2 split in a part exactly representable with few bits and a remainder (Cody-Waite), so that `x - n ln 2` is
// exact for the n that occur.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
// 1.5 * 2^23: adding it rounds to the nearest integer and leaves that integer in the low mantissa bits.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// The instruction sets element-wise kernels are compiled for: code generic over `FMA` (see [`madd`]) is
/// instantiated with `FMA = true` inside functions with `#[target_feature(enable = "avx512f,fma")]` or
/// `"avx2,fma"`, and with `FMA = false` for the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simd {
    /// AVX-512F with FMA.
    Avx512,
    /// AVX2 with FMA.
    Avx2,
    /// Whatever the compilation target guarantees, without fused multiply-adds.
    Baseline,
}

impl Simd {
    /// The widest set the running processor supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if !std::arch::is_x86_feature_detected!("fma") {
                return Simd::Baseline;
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Simd::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Simd::Avx2;
            }
        }
        Simd::Baseline
    }
}

/// `a * b + c`: one fused multiply-add when `FMA` (for code compiled with the `fma` target feature; elsewhere it
/// would be a slow libm call), else a product and a sum, each rounded.
#[inline(always)]
pub fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// The exponential behind [`exp_f32`], with fused multiply-adds when `FMA` (a few operations fewer, and the same
/// accuracy or better). Without `CLAMP` it skips clamping `x`, for callers that know it lies in `[-87, 88]`
/// (outside it the result is meaningless).
#[inline(always)]
pub fn exp_with<const FMA: bool, const CLAMP: bool>(x: f32) -> f32 {
    // Comparisons (not `max`/`min`) so that NaN passes through.
    let x = if CLAMP && x < -87.0 { -87.0 } else { x };
    let x = if CLAMP && x > 88.0 { 88.0 } else { x };
    let shifted = madd::<FMA>(x, LOG2_E, ROUND_MAGIC);
    let n = shifted - ROUND_MAGIC;
    let n_int = (shifted.to_bits() as i32).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
    // x - n ln2_hi - n ln2_lo.
    let f = madd::<FMA>(-n, LN2_LO, madd::<FMA>(-n, LN2_HI, x));
    let mut p = 1.987_569_1e-4_f32;
    p = madd::<FMA>(p, f, 1.398_199_9e-3);
    p = madd::<FMA>(p, f, 8.333_452e-3);
    p = madd::<FMA>(p, f, 4.166_579_6e-2);
    p = madd::<FMA>(p, f, 1.666_666_5e-1);
    p = madd::<FMA>(p, f, 0.5);
    let e = madd::<FMA>(p, f * f, f) + 1.0;
    e * f32::from_bits((n_int.wrapping_add(127) as u32) << 23)
}

/// `e^x` in single precision, vectorisable; see the module documentation for its accuracy.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    exp_with::<false, true>(x)
}

/// `tanh(x)` in single precision, vectorisable (no call into libm, which also costs a vector/scalar transition
/// per element inside AVX code): the Cephes `tanhf` odd polynomial for `|x| < 0.625`, else
/// `1 - 2 / (e^{2|x|} + 1)` with [`exp_f32`], with the sign of `x`. Both are computed and one is selected, so loops
/// compile without branches. Absolute and relative error below `1e-6` for every finite input (tested against the
/// f64 tanh); NaN stays NaN.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let ax = x.abs();
    let z = x * x;
    let mut p = -5.704_988_7e-3_f32;
    p = p * z + 2.063_909e-2;
    p = p * z - 5.373_971_6e-2;
    p = p * z + 1.333_144_2e-1;
    p = p * z - 3.333_328e-1;
    let small = p * z * x + x;
    let large = (1.0 - 2.0 / (exp_f32(2.0 * ax) + 1.0)).copysign(x);
    if ax < 0.625 {
        small
    } else {
        large
    }
}

/// `tanh(x)` as the rational function `x P(x^2) / Q(x^2)`, `P` and `Q` of degree 4, with `x` clamped to
/// `[-9, 9]` (where `tanh` is 1 to f32 precision) and the result to `[-1, 1]`: the leaky-ESN update's tanh. One
/// division and nine multiply-adds, against [`tanh_f32`]'s exponential, division and both branches; with fused
/// multiply-adds (`FMA`) the leaky-ESN harvest runs about 1.4x faster on one core of an AVX2 machine.
///
/// The coefficients are this crate's own fit: iteratively reweighted linear least squares of `tanh(x) / x` on
/// `[0, 9]`, each rounded to f32. Absolute and relative error below `5e-7` for every finite input, with or
/// without fused multiply-adds (tested against the f64 tanh); NaN stays NaN.
#[inline(always)]
pub fn tanh_rational<const FMA: bool>(x: f32) -> f32 {
    // Comparisons (not `clamp`) so that NaN passes through.
    let x = if x > 9.0 { 9.0 } else { x };
    let x = if x < -9.0 { -9.0 } else { x };
    let z = x * x;
    let mut p = 1.441_756_7e-8_f32;
    p = madd::<FMA>(p, z, 2.138_924_5e-5);
    p = madd::<FMA>(p, z, 3.543_500_8e-3);
    p = madd::<FMA>(p, z, 1.342_151_5e-1);
    p = madd::<FMA>(p, z, 1.0);
    let mut q = 8.215_559_4e-7_f32;
    q = madd::<FMA>(q, z, 3.363_650_2e-4);
    q = madd::<FMA>(q, z, 2.605_972_8e-2);
    q = madd::<FMA>(q, z, 4.675_484_3e-1);
    q = madd::<FMA>(q, z, 1.0);
    let t = x * p / q;
    let t = if t > 1.0 { 1.0 } else { t };
    if t < -1.0 {
        -1.0
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_matches_the_f64_tanh_to_1e_6() {
        let (mut worst_abs, mut worst_rel) = (0.0f64, 0.0f64);
        let steps = 2_000_000;
        for k in 0..=steps {
            let x = (-20.0 + 40.0 * k as f64 / steps as f64) as f32;
            let want = (x as f64).tanh();
            let got = tanh_f32(x) as f64;
            worst_abs = worst_abs.max((got - want).abs());
            if want != 0.0 {
                worst_rel = worst_rel.max(((got - want) / want).abs());
            }
        }
        // Tiny inputs, where the relative error matters most.
        for x in [1e-30f32, -3e-8, 1e-4, -0.1, 0.624_999, 0.625, -0.625_001] {
            let want = (x as f64).tanh();
            worst_rel = worst_rel.max(((tanh_f32(x) as f64 - want) / want).abs());
        }
        assert!(
            worst_abs < 1e-6 && worst_rel < 1e-6,
            "abs {worst_abs} rel {worst_rel}"
        );
        assert_eq!(tanh_f32(0.0), 0.0);
        assert_eq!(tanh_f32(100.0), 1.0);
        assert_eq!(tanh_f32(-100.0), -1.0);
        assert_eq!(tanh_f32(f32::INFINITY), 1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
    }

    #[test]
    fn exp_matches_the_f64_exponential_to_5e_7_relative() {
        let mut worst = 0.0f64;
        let steps = 2_000_000;
        for k in 0..=steps {
            let x = -87.0 + 175.0 * k as f64 / steps as f64;
            let xf = x as f32;
            let want = (xf as f64).exp();
            let got = exp_f32(xf) as f64;
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 5e-7, "worst relative error {worst}");
    }

    #[test]
    fn the_rational_tanh_matches_the_f64_tanh_to_5e_7_with_and_without_fma() {
        fn worst<const FMA: bool>() -> (f64, f64) {
            let (mut abs, mut rel) = (0.0f64, 0.0f64);
            // Every 1e-5 over [-12, 12] (past the clamp), and the smallest magnitudes.
            let xs = (-1_200_000..=1_200_000)
                .map(|i| i as f32 * 1e-5)
                .chain([1e-30, 1e-12, 1e-6, 3e-4].into_iter().flat_map(|x| [x, -x]));
            for x in xs {
                let got = f64::from(tanh_rational::<FMA>(x));
                let want = f64::from(x).tanh();
                abs = abs.max((got - want).abs());
                if want != 0.0 {
                    rel = rel.max(((got - want) / want).abs());
                }
                assert!(got.abs() <= 1.0, "{x}: {got}");
            }
            (abs, rel)
        }
        for (abs, rel) in [worst::<false>(), worst::<true>()] {
            assert!(
                abs < 5e-7 && rel < 5e-7,
                "absolute {abs:e}, relative {rel:e}"
            );
        }
        assert_eq!(tanh_rational::<true>(0.0), 0.0);
        assert_eq!(
            tanh_rational::<true>(f32::INFINITY),
            tanh_rational::<true>(9.0)
        );
        assert!((tanh_rational::<true>(f32::NEG_INFINITY) + 1.0).abs() < 1e-7);
        assert!(tanh_rational::<true>(f32::NAN).is_nan());
        assert!(tanh_rational::<false>(f32::NAN).is_nan());
    }

    #[test]
    fn the_fused_exponential_is_as_accurate() {
        let mut worst = 0.0f64;
        for i in -870_000..=879_999 {
            let x = i as f32 * 1e-4 + 3.7e-5;
            let got = f64::from(exp_with::<true, true>(x));
            let want = f64::from(x).exp();
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 5e-7, "{worst}");
        assert!(exp_with::<true, true>(f32::NAN).is_nan());
        assert_eq!(exp_with::<true, true>(-1000.0), exp_f32(-87.0));
    }

    #[test]
    fn exp_in_range_is_exp_without_the_clamps() {
        for i in -870..=879 {
            let x = i as f32 * 0.1 + 0.013;
            assert_eq!(
                exp_with::<false, false>(x).to_bits(),
                exp_f32(x).to_bits(),
                "{x}"
            );
        }
    }

    #[test]
    fn exp_is_exact_at_zero_and_keeps_nan_and_saturates() {
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert!(exp_f32(-1000.0) > 0.0 && exp_f32(-1000.0) < 1e-37);
        assert!(exp_f32(1000.0).is_finite() && exp_f32(1000.0) > 1e38);
        assert!(exp_f32(f32::NEG_INFINITY) < 1e-37);
    }
}
