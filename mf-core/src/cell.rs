//! The three recurrent cells of the paper and their weights.
//!
//! Each cell is split into the shared affine part `pre = x @ w_in + h @ w_rec + bias` (one matrix product for the
//! whole batch) and an element-wise update `h <- f(pre, h)` given by [`CellKind::update`].

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Zip};
use serde::{Deserialize, Serialize};

use crate::fastmath::{exp_with, madd};
use crate::CoreError;

/// Physical constants of the memristive device and the RESCALE bounds (paper Table II and eq. 8).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Physics {
    /// Potentiation rate at zero input, `Kp0`. Default `1e-4` (Table II).
    pub kp0: f64,
    /// Depression rate at zero input, `Kd0`. Default `0.5` (Table II).
    pub kd0: f64,
    /// Potentiation exponent `eta_p`. Default `10` (Table II).
    pub eta_p: f64,
    /// Depression exponent `eta_d`. Default `1` (Table II).
    pub eta_d: f64,
    /// Lower RESCALE bound `a`. Default `0.35` (eq. 8).
    pub a: f64,
    /// Upper RESCALE bound `b`. Default `1.15` (eq. 8).
    pub b: f64,
}

impl Default for Physics {
    fn default() -> Self {
        Self {
            kp0: 1e-4,
            kd0: 0.5,
            eta_p: 10.0,
            eta_d: 1.0,
            a: 0.35,
            b: 1.15,
        }
    }
}

/// The memristive-friendly cell, eqs. 8-12:
/// `z = (b - a) * sigmoid(s * pre) + a`, `h <- gamma * h + dt * (Kp(z) - (Kp(z) + Kd(z)) * h)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfCell {
    /// Discretisation step `dt` (> 0).
    pub dt: f64,
    /// Stabiliser `gamma`, in (0, 1].
    pub gamma: f64,
    /// RESCALE slope `s` (> 0).
    pub s: f64,
    /// Device constants; Table II unless overridden.
    #[serde(default)]
    pub physics: Physics,
}

impl MfCell {
    /// A cell with the paper's physics (Table II).
    pub fn new(dt: f64, gamma: f64, s: f64) -> Self {
        Self {
            dt,
            gamma,
            s,
            physics: Physics::default(),
        }
    }

    /// Checks the ranges the paper assumes.
    pub fn check(&self) -> Result<(), CoreError> {
        positive("dt", self.dt)?;
        positive("s", self.s)?;
        if !(self.gamma > 0.0 && self.gamma <= 1.0) {
            return Err(CoreError::Param {
                name: "gamma",
                value: self.gamma,
                reason: "must lie in (0, 1]",
            });
        }
        let p = &self.physics;
        positive("kp0", p.kp0)?;
        positive("kd0", p.kd0)?;
        positive("eta_p", p.eta_p)?;
        positive("eta_d", p.eta_d)?;
        if !p.a.is_finite() || !p.b.is_finite() || p.b <= p.a {
            return Err(CoreError::Param {
                name: "b",
                value: p.b,
                reason: "must be finite and exceed a",
            });
        }
        Ok(())
    }

    /// RESCALE of eq. 8 at `pre`.
    pub fn rescale(&self, pre: f64) -> f64 {
        let p = &self.physics;
        (p.b - p.a) / (1.0 + (-self.s * pre).exp()) + p.a
    }

    /// One unit's update in f64: the new state given its pre-activation and previous state.
    pub fn update_scalar(&self, pre: f64, h: f64) -> f64 {
        let p = &self.physics;
        let z = self.rescale(pre);
        let kp = p.kp0 * (p.eta_p * z).exp();
        let kd = p.kd0 * (-p.eta_d * z).exp();
        self.gamma * h + self.dt * (kp - (kp + kd) * h)
    }
}

/// The MF update in f32 for vectorised loops, shared by harvesting and by the trainable layer's kernels.
///
/// Its methods are generic over `FMA` (see [`madd`]): instantiate them with `true` only inside functions compiled
/// with the `fma` target feature. With Table II's physics (`eta_p = 10 eta_d`) one exponential gives both rates:
/// `e^{eta_p z} = v^10` and `e^{-eta_d z} = 1 / v` with `v = e^{eta_d z}`, within a few units of f32 rounding of
/// the three-exponential form (tested).
#[derive(Debug, Clone, Copy)]
pub struct MfKernel {
    amp: f32,
    a: f32,
    neg_s: f32,
    gamma: f32,
    dt: f32,
    kp0: f32,
    kd0: f32,
    eta_p: f32,
    eta_d: f32,
    /// `eta_p == 10 eta_d` with `eta_d z` inside the range of the unclamped exponential.
    tenth_power: bool,
    /// `eta_p z` and `eta_d z` inside the range of the unclamped exponential for every `z` in `[a, b]`, so that
    /// the three-exponential form may skip the clamps (which then change nothing).
    in_range: bool,
}

/// How [`MfKernel`] evaluates the rates: three clamped exponentials, three of which the last two need no
/// clamp, or Table II's tenth power.
const GENERAL: u8 = 0;
const IN_RANGE: u8 = 1;
const TENTH: u8 = 2;

impl MfKernel {
    /// The kernel of `cell`, its constants rounded to f32.
    pub fn new(cell: &MfCell) -> Self {
        let p = cell.physics;
        Self {
            amp: (p.b - p.a) as f32,
            a: p.a as f32,
            neg_s: -cell.s as f32,
            gamma: cell.gamma as f32,
            dt: cell.dt as f32,
            kp0: p.kp0 as f32,
            kd0: p.kd0 as f32,
            eta_p: p.eta_p as f32,
            eta_d: p.eta_d as f32,
            tenth_power: p.eta_p == 10.0 * p.eta_d
                && p.eta_d > 0.0
                && p.eta_d * p.a.abs().max(p.b.abs()) <= 80.0,
            in_range: p.eta_p.max(p.eta_d) * p.a.abs().max(p.b.abs()) <= 80.0,
        }
    }

    fn mode(&self) -> u8 {
        if self.tenth_power {
            TENTH
        } else if self.in_range {
            IN_RANGE
        } else {
            GENERAL
        }
    }

    /// `(sigmoid(s u), Kp(z), Kd(z))` at pre-activation `u`.
    #[inline(always)]
    pub fn rates<const FMA: bool>(&self, u: f32) -> (f32, f32, f32) {
        match self.mode() {
            TENTH => self.rates_with::<FMA, TENTH>(u),
            IN_RANGE => self.rates_with::<FMA, IN_RANGE>(u),
            _ => self.rates_with::<FMA, GENERAL>(u),
        }
    }

    #[inline(always)]
    fn rates_with<const FMA: bool, const MODE: u8>(&self, u: f32) -> (f32, f32, f32) {
        let sig = 1.0 / (1.0 + exp_with::<FMA, true>(self.neg_s * u));
        let z = madd::<FMA>(self.amp, sig, self.a);
        if MODE == TENTH {
            let v = exp_with::<FMA, false>(self.eta_d * z);
            let v2 = v * v;
            let v4 = v2 * v2;
            (sig, self.kp0 * (v4 * v4 * v2), self.kd0 / v)
        } else if MODE == IN_RANGE {
            let kp = self.kp0 * exp_with::<FMA, false>(self.eta_p * z);
            (sig, kp, self.kd0 * exp_with::<FMA, false>(-self.eta_d * z))
        } else {
            let kp = self.kp0 * exp_with::<FMA, true>(self.eta_p * z);
            (sig, kp, self.kd0 * exp_with::<FMA, true>(-self.eta_d * z))
        }
    }

    /// `h <- gamma h + dt (Kp - (Kp + Kd) h)` element by element, the tenth-power test taken once for the slice.
    #[inline(always)]
    pub fn update<const FMA: bool>(&self, pre: &[f32], h: &mut [f32]) {
        match self.mode() {
            TENTH => self.update_with::<FMA, TENTH>(pre, h),
            IN_RANGE => self.update_with::<FMA, IN_RANGE>(pre, h),
            _ => self.update_with::<FMA, GENERAL>(pre, h),
        }
    }

    #[inline(always)]
    fn update_with<const FMA: bool, const MODE: u8>(&self, pre: &[f32], h: &mut [f32]) {
        for (h, &u) in h.iter_mut().zip(pre) {
            let (_, kp, kd) = self.rates_with::<FMA, MODE>(u);
            *h = madd::<FMA>(self.gamma, *h, self.dt * madd::<FMA>(-(kp + kd), *h, kp));
        }
    }

    /// [`MfKernel::update`] with cycle-to-cycle noise (see [`crate::variation`]): element `r` multiplies `Kp` and
    /// `Kd` by the factors of its series' counter halves `hi[r]`, `lo[r]` for the unit of `salt`, at relative
    /// sigma `sigma`, drawn in the same loop. With `sigma = 0` the factors are exactly 1 and the result is
    /// [`MfKernel::update`]'s, bit for bit.
    #[inline(always)]
    pub(crate) fn update_noisy<const FMA: bool>(
        &self,
        pre: &[f32],
        h: &mut [f32],
        hi: &[u32],
        lo: &[u32],
        salt: u32,
        sigma: f32,
    ) {
        let args = (pre, h, hi, lo, salt, sigma);
        // The clamp of the factors is skipped where it cannot act (it then changes nothing).
        match (self.mode(), crate::variation::clamp_can_act(sigma)) {
            (TENTH, true) => self.update_noisy_with::<FMA, TENTH, true>(args),
            (TENTH, false) => self.update_noisy_with::<FMA, TENTH, false>(args),
            (IN_RANGE, true) => self.update_noisy_with::<FMA, IN_RANGE, true>(args),
            (IN_RANGE, false) => self.update_noisy_with::<FMA, IN_RANGE, false>(args),
            (_, true) => self.update_noisy_with::<FMA, GENERAL, true>(args),
            (_, false) => self.update_noisy_with::<FMA, GENERAL, false>(args),
        }
    }

    #[inline(always)]
    #[allow(clippy::type_complexity)]
    fn update_noisy_with<const FMA: bool, const MODE: u8, const CLAMP: bool>(
        &self,
        (pre, h, hi, lo, salt, sigma): (&[f32], &mut [f32], &[u32], &[u32], u32, f32),
    ) {
        for (((h, &u), &a), &b) in h.iter_mut().zip(pre).zip(hi).zip(lo) {
            let (_, kp, kd) = self.rates_with::<FMA, MODE>(u);
            let (dp, dd) = crate::variation::deviation_pair::<FMA, CLAMP>(a, b, salt, sigma);
            let (kp, kd) = (madd::<FMA>(kp, dp, kp), madd::<FMA>(kd, dd, kd));
            *h = madd::<FMA>(self.gamma, *h, self.dt * madd::<FMA>(-(kp + kd), *h, kp));
        }
    }

    /// True when the kernel takes `e^{eta_p z}` as the tenth power of `e^{eta_d z}` (Table II's
    /// `eta_p = 10 eta_d`), false when it evaluates three exponentials.
    pub fn is_tenth_power(&self) -> bool {
        self.tenth_power
    }

    /// `(g dh'/dpre, g dh'/dh)` of the update at pre-activation `u` and previous state `h`, for the gradient `g` of
    /// the new state.
    #[inline(always)]
    pub fn grads<const FMA: bool>(&self, u: f32, h: f32, g: f32) -> (f32, f32) {
        let (sig, kp, kd) = self.rates::<FMA>(u);
        // d/dz [Kp - (Kp + Kd) h] with dKp/dz = eta_p Kp and dKd/dz = -eta_d Kd.
        let ekp = self.eta_p * kp;
        let dh_dz = self.dt * madd::<FMA>(-madd::<FMA>(-self.eta_d, kd, ekp), h, ekp);
        let dz_du = self.amp * -self.neg_s * sig * (1.0 - sig);
        (
            g * dh_dz * dz_du,
            g * madd::<FMA>(-self.dt, kp + kd, self.gamma),
        )
    }
}

fn positive(name: &'static str, v: f64) -> Result<(), CoreError> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(CoreError::Param {
            name,
            value: v,
            reason: "must be positive and finite",
        })
    }
}

/// Which recurrent update a layer uses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CellKind {
    /// The memristive-friendly cell (eqs. 8-12).
    Mf(MfCell),
    /// Leaky ESN: `h <- (1 - alpha) h + alpha tanh(pre)`, the leaky-integrator neurons of the paper's ESN baseline
    /// (Sec. VI, its Ref. 46; leaking rate `alpha` of Table III(c)).
    LeakyEsn {
        /// Leaking rate `alpha`, in (0, 1].
        alpha: f64,
    },
    /// Plain RNN: `h <- tanh(pre)`.
    Tanh,
}

impl CellKind {
    /// The range of the state: `[0, 1]` for the MF cell (a memristor's normalised conductance, eq. 9),
    /// `[-1, 1]` for the tanh cells. An ADC reads states over it (`devices::Hardware::adc_bits`).
    pub fn state_range(&self) -> (f64, f64) {
        match self {
            CellKind::Mf(_) => (0.0, 1.0),
            CellKind::LeakyEsn { .. } | CellKind::Tanh => (-1.0, 1.0),
        }
    }

    /// Checks the cell's hyper-parameters.
    pub fn check(&self) -> Result<(), CoreError> {
        match self {
            CellKind::Mf(c) => c.check(),
            CellKind::LeakyEsn { alpha } if !(*alpha > 0.0 && *alpha <= 1.0) => {
                Err(CoreError::Param {
                    name: "alpha",
                    value: *alpha,
                    reason: "must lie in (0, 1]",
                })
            }
            _ => Ok(()),
        }
    }

    /// One unit's update in f64 (the reference for tests and for the Jacobian).
    pub fn update_scalar(&self, pre: f64, h: f64) -> f64 {
        match self {
            CellKind::Mf(c) => c.update_scalar(pre, h),
            CellKind::LeakyEsn { alpha } => (1.0 - alpha) * h + alpha * pre.tanh(),
            CellKind::Tanh => pre.tanh(),
        }
    }

    /// The element-wise update for a batch in f32: `h[i, j] <- f(pre[i, j], h[i, j])`.
    pub fn update(&self, pre: ArrayView2<'_, f32>, mut h: ArrayViewMut2<'_, f32>) {
        match *self {
            CellKind::Mf(c) => {
                let p = c.physics;
                let (amp, a) = ((p.b - p.a) as f32, p.a as f32);
                let (s, gamma, dt) = (c.s as f32, c.gamma as f32, c.dt as f32);
                let (kp0, kd0, ep, ed) =
                    (p.kp0 as f32, p.kd0 as f32, p.eta_p as f32, p.eta_d as f32);
                Zip::from(&mut h).and(&pre).for_each(|h, &u| {
                    let z = amp / (1.0 + (-s * u).exp()) + a;
                    let kp = kp0 * (ep * z).exp();
                    let kd = kd0 * (-ed * z).exp();
                    *h = gamma * *h + dt * (kp - (kp + kd) * *h);
                });
            }
            CellKind::LeakyEsn { alpha } => {
                let alpha = alpha as f32;
                Zip::from(&mut h)
                    .and(&pre)
                    .for_each(|h, &u| *h = (1.0 - alpha) * *h + alpha * u.tanh());
            }
            CellKind::Tanh => Zip::from(&mut h).and(&pre).for_each(|h, &u| *h = u.tanh()),
        }
    }
}

/// The weights of a recurrent layer in the row convention `pre = x @ w_in + h @ w_rec + bias`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weights<F> {
    /// Input kernel, `(n_inputs, n_units)`; the paper's `W_x` transposed.
    pub w_in: Array2<F>,
    /// Recurrent kernel, `(n_units, n_units)`; the paper's `W_h` transposed.
    pub w_rec: Array2<F>,
    /// Bias, `(n_units)`.
    pub bias: Array1<F>,
}

impl<F> Weights<F> {
    /// Number of recurrent units.
    pub fn n_units(&self) -> usize {
        self.w_rec.nrows()
    }

    /// Number of inputs.
    pub fn n_inputs(&self) -> usize {
        self.w_in.nrows()
    }

    /// Checks that the three arrays agree.
    pub fn check(&self) -> Result<(), CoreError> {
        let n = self.w_rec.nrows();
        let bad = |what: &str, expected: String, got: String| {
            Err(CoreError::Shape {
                what: what.into(),
                expected,
                got,
            })
        };
        if self.w_rec.ncols() != n {
            return bad(
                "w_rec",
                format!("({n}, {n})"),
                format!("{:?}", self.w_rec.dim()),
            );
        }
        if self.w_in.ncols() != n {
            return bad(
                "w_in columns",
                format!("{n}"),
                format!("{}", self.w_in.ncols()),
            );
        }
        if self.bias.len() != n {
            return bad("bias", format!("{n}"), format!("{}", self.bias.len()));
        }
        Ok(())
    }
}

impl Weights<f32> {
    /// The same weights in f64.
    pub fn to_f64(&self) -> Weights<f64> {
        Weights {
            w_in: self.w_in.mapv(f64::from),
            w_rec: self.w_rec.mapv(f64::from),
            bias: self.bias.mapv(f64::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn the_tenth_power_kernel_matches_three_exponentials() {
        // Table II physics (eta_p = 10 eta_d) takes e^{eta_p z} as (e^{eta_d z})^10; forcing the general path on
        // the same constants gives the reference.
        let mut rng = crate::rng::rng_from_seed(17);
        let mut draw = |scale: f64| -> Vec<f32> {
            crate::linalg::uniform_matrix(1, 4096, scale, &mut rng)
                .iter()
                .map(|&v| v as f32)
                .collect()
        };
        let (pre, h0) = (draw(30.0), draw(1.0));
        for c in [MfCell::new(0.1, 0.9, 1.0), MfCell::new(0.01, 0.5, 5.0), {
            let mut c = MfCell::new(0.1, 0.8, 5.0);
            c.physics.eta_p = 20.0;
            c.physics.eta_d = 2.0;
            c
        }] {
            let fast = MfKernel::new(&c);
            assert!(fast.tenth_power);
            let general = MfKernel {
                tenth_power: false,
                ..fast
            };
            let (mut a, mut b) = (h0.clone(), h0.clone());
            fast.update::<false>(&pre, &mut a);
            general.update::<false>(&pre, &mut b);
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                let (u, h) = (f64::from(pre[i]), f64::from(h0[i]));
                let want = c.update_scalar(u, h);
                // The size of the terms that cancel in gamma h + dt (Kp - (Kp + Kd) h): f32 rounding is relative
                // to it, not to the result.
                let p = c.physics;
                let z = c.rescale(u);
                let (kp, kd) = (p.kp0 * (p.eta_p * z).exp(), p.kd0 * (-p.eta_d * z).exp());
                let scale = (c.gamma * h).abs() + c.dt * (kp + (kp + kd) * h.abs());
                let (ex, ey) = ((f64::from(*x) - want).abs(), (f64::from(*y) - want).abs());
                assert!(
                    ex <= 5e-6 * scale,
                    "{c:?} element {i}: {x} vs {want} (scale {scale})"
                );
                assert!(
                    ey <= 5e-6 * scale,
                    "{c:?} element {i}: {y} vs {want} (scale {scale})"
                );
            }
        }
        let mut other = MfCell::new(0.1, 0.9, 2.0);
        other.physics.eta_p = 8.0;
        assert!(!MfKernel::new(&other).tenth_power);
    }

    #[test]
    fn skipping_the_clamps_of_in_range_exponents_changes_no_bit() {
        // Off Table II's eta_p = 10 eta_d, with eta z within the exponential's range for every z in [a, b]: the
        // kernel skips the clamps, which the clamped form shows could not act.
        let mut rng = crate::rng::rng_from_seed(18);
        let pre: Vec<f32> = crate::linalg::uniform_matrix(1, 4096, 30.0, &mut rng)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let h0: Vec<f32> = (0..4096).map(|i| (i % 97) as f32 / 96.0).collect();
        for (eta_p, eta_d) in [(8.0, 1.5), (60.0, 0.3), (12.0, 50.0)] {
            let mut c = MfCell::new(0.01, 0.9, 3.0);
            c.physics.eta_p = eta_p;
            c.physics.eta_d = eta_d;
            let k = MfKernel::new(&c);
            assert!(k.in_range && !k.tenth_power);
            let clamped = MfKernel {
                in_range: false,
                ..k
            };
            let (mut a, mut b) = (h0.clone(), h0.clone());
            k.update::<false>(&pre, &mut a);
            clamped.update::<false>(&pre, &mut b);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "eta_p {eta_p} eta_d {eta_d}");
        }
        // Exponents that could leave the range keep the clamps.
        let mut c = MfCell::new(0.01, 0.9, 3.0);
        c.physics.eta_p = 90.0;
        assert!(!MfKernel::new(&c).in_range);
    }

    #[test]
    fn mf_update_matches_eqs_8_to_12_by_hand() {
        // pre = 0: z = (b - a) / 2 + a = 0.75; Kp = 1e-4 e^7.5; Kd = 0.5 e^-0.75.
        let c = MfCell::new(0.1, 0.9, 1.0);
        let (kp, kd) = (1e-4 * 7.5f64.exp(), 0.5 * (-0.75f64).exp());
        let h = 0.3;
        let want = 0.9 * h + 0.1 * (kp - (kp + kd) * h);
        assert!((c.update_scalar(0.0, h) - want).abs() < 1e-15);
    }

    #[test]
    fn batch_update_agrees_with_scalar_reference() {
        let cells = [
            CellKind::Mf(MfCell::new(0.01, 0.95, 5.0)),
            CellKind::LeakyEsn { alpha: 0.3 },
            CellKind::Tanh,
        ];
        let pre = array![[-2.0f32, -0.1, 0.0], [0.4, 1.5, 3.0]];
        for cell in cells {
            let mut h = array![[0.1f32, -0.5, 0.9], [0.0, 0.2, -0.3]];
            let h0 = h.clone();
            cell.update(pre.view(), h.view_mut());
            for ((&u, &h_old), &h_new) in pre.iter().zip(&h0).zip(&h) {
                let want = cell.update_scalar(u as f64, h_old as f64);
                assert!(
                    (h_new as f64 - want).abs() < 1e-6,
                    "{cell:?}: {h_new} vs {want}"
                );
            }
        }
    }

    #[test]
    fn invalid_hyper_parameters_are_rejected() {
        assert!(MfCell::new(0.1, 0.0, 1.0).check().is_err());
        assert!(MfCell::new(0.1, 1.2, 1.0).check().is_err());
        assert!(MfCell::new(-0.1, 1.0, 1.0).check().is_err());
        assert!(CellKind::LeakyEsn { alpha: 0.0 }.check().is_err());
        assert!(CellKind::Mf(MfCell::new(0.01, 1.0, 5.0)).check().is_ok());
    }
}
