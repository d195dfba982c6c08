//! Stability analysis of the MF cell (paper Sec. V, proofs in Appendices A-E), in f64.
//!
//! Notation: `P(z) = Kp(z) + Kd(z)`, `p_max = Kp0 e^{eta_p b} + Kd0 e^{-eta_d a}` and
//! `p_min = Kp0 e^{eta_p a} + Kd0 e^{-eta_d b}` bound `P` over the RESCALE range `(a, b)`.
//!
//! # The Jacobian in the row convention
//!
//! With `pre_i = sum_k x_k w_in[k, i] + sum_j h_j w_rec[j, i] + bias_i`, `z_i = RESCALE(pre_i)` and
//! `h'_i = gamma h_i + dt (Kp(z_i) - P(z_i) h_i)`, the chain rule gives
//!
//! ```text
//! dh'_i / dh_j = delta_ij (gamma - dt P_i) + dt g_i w_rec[j, i]
//! g_i = sigma'_i (eta_p Kp_i - (eta_p Kp_i - eta_d Kd_i) h_i)
//! sigma'_i = s (b - a) sigmoid(s pre_i) (1 - sigmoid(s pre_i))
//! ```
//!
//! because `dKp/dz = eta_p Kp` and `dKd/dz = -eta_d Kd`. So `J = diag(gamma - dt P) + dt M` with
//! `M = diag(g) W_h = diag(g) w_rec^T`: the diagonal factor multiplies `W_h` from the left, row `i` of `W_h` being
//! unit `i`'s incoming weights (the printed eq. 14 puts it on the right). `M` is everything of `J / dt` that is not in
//! the diagonal matrix of centres, including `g_i W_h[i, i]`; this is the split of the paper's proof of Theorem V.4,
//! whose Bauer-Fike bound then reads `|chi - (gamma - dt P_i)| <= dt ||M||_2` for some `i`.

use ndarray::{Array1, Array2, ArrayView1};
use serde::{Deserialize, Serialize};

use crate::integrate::Integrator;
use crate::linalg::uniform_matrix;
use crate::rng::rng_from_seed;
use crate::{CoreError, MfCell, Weights};

pub use crate::linalg::{eigenvalues, spectral_norm, spectral_radius};

/// The largest value of `P(z) = Kp(z) + Kd(z)` over `z` in `[a, b]`: `Kp0 e^{eta_p b} + Kd0 e^{-eta_d a}`.
pub fn p_max(cell: &MfCell) -> f64 {
    let p = &cell.physics;
    p.kp0 * (p.eta_p * p.b).exp() + p.kd0 * (-p.eta_d * p.a).exp()
}

/// The lower bound of `P(z)` over `z` in `[a, b]` used by the paper: `Kp0 e^{eta_p a} + Kd0 e^{-eta_d b}`.
pub fn p_min(cell: &MfCell) -> f64 {
    let p = &cell.physics;
    p.kp0 * (p.eta_p * p.a).exp() + p.kd0 * (-p.eta_d * p.b).exp()
}

/// The constant `C = eta_p Kp0 e^{eta_p b} + eta_d Kd0 e^{-eta_d a} - eta_p Kp0 e^{eta_p a}` of Lemma V.2.
pub fn c_constant(cell: &MfCell) -> f64 {
    let p = &cell.physics;
    p.eta_p * p.kp0 * (p.eta_p * p.b).exp() + p.eta_d * p.kd0 * (-p.eta_d * p.a).exp()
        - p.eta_p * p.kp0 * (p.eta_p * p.a).exp()
}

/// `mu = max(|gamma - dt p_max|, gamma - dt p_min)` of Lemma V.2.
pub fn mu(cell: &MfCell) -> f64 {
    (cell.gamma - cell.dt * p_max(cell))
        .abs()
        .max(cell.gamma - cell.dt * p_min(cell))
}

/// A scalar condition: the value of its left-hand side and whether the condition holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    /// The left-hand side of the condition.
    pub value: f64,
    /// Whether the condition holds.
    pub holds: bool,
}

/// Lemma V.1 (the unit ball is invariant): `dt (2 Kp0 e^{eta_p b} + Kd0 e^{-eta_d a}) + gamma <= 1`.
pub fn lemma_v1(cell: &MfCell) -> Bound {
    let p = &cell.physics;
    let value = cell.dt * (2.0 * p.kp0 * (p.eta_p * p.b).exp() + p.kd0 * (-p.eta_d * p.a).exp())
        + cell.gamma;
    Bound {
        value,
        holds: value <= 1.0,
    }
}

/// Theorem V.3 (contraction, hence a unique stable input-driven solution), given `||W_h||_2` (the spectral norm of
/// the recurrent kernel, the same for `w_rec` and its transpose): `mu + dt s (b - a) / 4 ||W_h||_2 C < 1`.
pub fn theorem_v3(cell: &MfCell, w_rec_norm2: f64) -> Bound {
    let value = mu(cell) + radius_bound(cell, w_rec_norm2);
    Bound {
        value,
        holds: value < 1.0,
    }
}

/// The upper bound of Theorem V.4 on the Bauer-Fike radius: `dt s (b - a) / 4 C ||W_h||_2`.
pub fn radius_bound(cell: &MfCell, w_rec_norm2: f64) -> f64 {
    let p = &cell.physics;
    cell.dt * cell.s * (p.b - p.a) / 4.0 * w_rec_norm2 * c_constant(cell)
}

/// Theorem V.6 (necessary conditions for small `dt` or weak coupling) and eq. 17's spectral radius estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TheoremV6 {
    /// `gamma - dt p_max`, the leftmost centre; must exceed -1.
    pub lower: f64,
    /// `gamma - dt p_min`, the rightmost centre; must be below 1.
    pub upper: f64,
    /// Whether `lower > -1` and `upper < 1`.
    pub holds: bool,
    /// Eq. 17: `max(|lower|, |upper|)`, the Jacobian's spectral radius when `dt ||M||` is small.
    pub radius_estimate: f64,
}

/// Theorem V.6 for `cell`.
pub fn theorem_v6(cell: &MfCell) -> TheoremV6 {
    let lower = cell.gamma - cell.dt * p_max(cell);
    let upper = cell.gamma - cell.dt * p_min(cell);
    TheoremV6 {
        lower,
        upper,
        holds: lower > -1.0 && upper < 1.0,
        radius_estimate: lower.abs().max(upper.abs()),
    }
}

/// Every result of Sec. V for one cell and recurrent-kernel norm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stability {
    /// See [`p_min`].
    pub p_min: f64,
    /// See [`p_max`].
    pub p_max: f64,
    /// See [`c_constant`].
    pub c: f64,
    /// See [`mu`].
    pub mu: f64,
    /// The spectral norm `||W_h||_2` the report was computed for.
    pub w_rec_norm2: f64,
    /// Lemma V.1.
    pub lemma_v1: Bound,
    /// Theorem V.3.
    pub theorem_v3: Bound,
    /// Theorem V.4's bound on the Bauer-Fike radius, see [`radius_bound`].
    pub radius_bound: f64,
    /// Theorem V.6 and eq. 17.
    pub theorem_v6: TheoremV6,
}

impl Stability {
    /// The report for `cell` with a recurrent kernel of spectral norm `w_rec_norm2`.
    pub fn new(cell: &MfCell, w_rec_norm2: f64) -> Self {
        Self {
            p_min: p_min(cell),
            p_max: p_max(cell),
            c: c_constant(cell),
            mu: mu(cell),
            w_rec_norm2,
            lemma_v1: lemma_v1(cell),
            theorem_v3: theorem_v3(cell, w_rec_norm2),
            radius_bound: radius_bound(cell, w_rec_norm2),
            theorem_v6: theorem_v6(cell),
        }
    }
}

fn check_state(
    weights: &Weights<f64>,
    h: ArrayView1<'_, f64>,
    x: ArrayView1<'_, f64>,
) -> Result<(), CoreError> {
    weights.check()?;
    let shape = |what: &str, expected: usize, got: usize| {
        Err(CoreError::Shape {
            what: what.into(),
            expected: format!("{expected}"),
            got: format!("{got}"),
        })
    };
    if h.len() != weights.n_units() {
        return shape("state length", weights.n_units(), h.len());
    }
    if x.len() != weights.n_inputs() {
        return shape("input length", weights.n_inputs(), x.len());
    }
    Ok(())
}

/// The pre-activation `x @ w_in + h @ w_rec + bias`, `(n_units)`.
fn pre_activation(
    weights: &Weights<f64>,
    h: ArrayView1<'_, f64>,
    x: ArrayView1<'_, f64>,
) -> Array1<f64> {
    x.dot(&weights.w_in) + h.dot(&weights.w_rec) + &weights.bias
}

/// One step of the MF cell in f64: `h(t)` from `h = h(t-1)` and `x = x(t)`, both 1-D.
pub fn step(
    cell: &MfCell,
    weights: &Weights<f64>,
    h: ArrayView1<'_, f64>,
    x: ArrayView1<'_, f64>,
) -> Result<Array1<f64>, CoreError> {
    check_state(weights, h, x)?;
    let pre = pre_activation(weights, h, x);
    Ok(Array1::from_iter(
        pre.iter().zip(h).map(|(&u, &hi)| cell.update_scalar(u, hi)),
    ))
}

/// The pieces of the Jacobian at one state: `J = diag(centres) + dt M`.
#[derive(Debug, Clone, PartialEq)]
pub struct JacobianParts {
    /// `gamma - dt P_i`, `(n_units)`: the centres of Theorem V.4.
    pub centres: Array1<f64>,
    /// `M = diag(g) W_h = diag(g) w_rec^T`, `(n_units, n_units)` (see the module documentation).
    pub m: Array2<f64>,
}

/// The centres and the matrix `M` of the Jacobian at `h = h(t-1)` and `x = x(t)`.
pub fn jacobian_parts(
    cell: &MfCell,
    weights: &Weights<f64>,
    h: ArrayView1<'_, f64>,
    x: ArrayView1<'_, f64>,
) -> Result<JacobianParts, CoreError> {
    check_state(weights, h, x)?;
    let p = &cell.physics;
    let pre = pre_activation(weights, h, x);
    let n = h.len();
    let mut centres = Array1::zeros(n);
    let mut g = Array1::zeros(n);
    for i in 0..n {
        let sig = 1.0 / (1.0 + (-cell.s * pre[i]).exp());
        let z = (p.b - p.a) * sig + p.a;
        let kp = p.kp0 * (p.eta_p * z).exp();
        let kd = p.kd0 * (-p.eta_d * z).exp();
        let dsig = cell.s * (p.b - p.a) * sig * (1.0 - sig);
        centres[i] = cell.gamma - cell.dt * (kp + kd);
        g[i] = dsig * (p.eta_p * kp - (p.eta_p * kp - p.eta_d * kd) * h[i]);
    }
    let mut m = weights.w_rec.t().to_owned();
    for (mut row, gi) in m.rows_mut().into_iter().zip(&g) {
        row *= *gi;
    }
    Ok(JacobianParts { centres, m })
}

/// The Jacobian `J[i, j] = dh_i(t) / dh_j(t-1)` at `h = h(t-1)` and `x = x(t)`, `(n_units, n_units)`.
pub fn jacobian(
    cell: &MfCell,
    weights: &Weights<f64>,
    h: ArrayView1<'_, f64>,
    x: ArrayView1<'_, f64>,
) -> Result<Array2<f64>, CoreError> {
    let JacobianParts { centres, m } = jacobian_parts(cell, weights, h, x)?;
    let mut j = m * cell.dt;
    for (i, c) in centres.iter().enumerate() {
        j[[i, i]] += c;
    }
    Ok(j)
}

/// One step of the MF cell advanced by `integrator` (see [`crate::integrate`]) in f64: `h(t)` from `h = h(t-1)`
/// and `x = x(t)`. The paper's Euler step gives [`step`].
pub fn step_with(
    cell: &MfCell,
    integrator: &Integrator,
    weights: &Weights<f64>,
    h: ArrayView1<'_, f64>,
    x: ArrayView1<'_, f64>,
) -> Result<Array1<f64>, CoreError> {
    check_state(weights, h, x)?;
    integrator.check()?;
    let pre = pre_activation(weights, h, x);
    Ok(Array1::from_iter(
        pre.iter()
            .zip(h)
            .map(|(&u, &hi)| integrator.update_scalar(cell, u, hi)),
    ))
}

/// The Jacobian of [`step_with`], `J = diag(phi) + diag(g) W_h` with `W_h = w_rec^T` (see
/// [`crate::integrate`] for `phi` and `g`); for the paper's Euler step it is [`jacobian`] (eq. 13).
pub fn jacobian_with(
    cell: &MfCell,
    integrator: &Integrator,
    weights: &Weights<f64>,
    h: ArrayView1<'_, f64>,
    x: ArrayView1<'_, f64>,
) -> Result<Array2<f64>, CoreError> {
    check_state(weights, h, x)?;
    integrator.check()?;
    let pre = pre_activation(weights, h, x);
    let mut j = weights.w_rec.t().to_owned();
    for (i, mut row) in j.rows_mut().into_iter().enumerate() {
        let (phi, g) = integrator.derivatives(cell, pre[i], h[i]);
        row *= g;
        row[i] += phi;
    }
    Ok(j)
}

/// The eigen-spectrum of the Jacobian at one state, with Theorem V.4's centres and radius (paper Fig. 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JacobianSpectrum {
    /// Eigenvalues of `J` as `[re, im]` pairs, `(n_units)`.
    pub eigenvalues: Vec<[f64; 2]>,
    /// Centres `gamma - dt P_i`, `(n_units)`.
    pub centres: Vec<f64>,
    /// Bauer-Fike radius `dt ||M||_2` of Theorem V.4.
    pub radius: f64,
    /// Spectral radius of `J`.
    pub spectral_radius: f64,
    /// The cell's stability report for the drawn kernel's spectral norm (holds Theorem V.6's lines
    /// `gamma - dt p_max`, `gamma - dt p_min` and Theorem V.4's bound on `radius`).
    pub stability: Stability,
}

/// The spectrum of the Jacobian at `h = h(t-1)`, `x = x(t)`.
pub fn jacobian_spectrum(
    cell: &MfCell,
    weights: &Weights<f64>,
    h: ArrayView1<'_, f64>,
    x: ArrayView1<'_, f64>,
) -> Result<JacobianSpectrum, CoreError> {
    let parts = jacobian_parts(cell, weights, h, x)?;
    let j = jacobian(cell, weights, h, x)?;
    let eig = eigenvalues(j.view())?;
    Ok(JacobianSpectrum {
        spectral_radius: eig.iter().map(|z| z.norm()).fold(0.0, f64::max),
        eigenvalues: eig.iter().map(|z| [z.re, z.im]).collect(),
        centres: parts.centres.to_vec(),
        radius: cell.dt * spectral_norm(parts.m.view())?,
        stability: Stability::new(cell, spectral_norm(weights.w_rec.view())?),
    })
}

/// One state of paper Fig. 6's setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Fig6Setting {
    /// The weights: `w_in` `(1, n_units)`, `w_rec` `(n_units, n_units)`, zero `bias`.
    pub weights: Weights<f64>,
    /// The previous state `h(t-1)`, `(n_units)`.
    pub h: Array1<f64>,
    /// The input `x(t)`, `(1)`.
    pub x: Array1<f64>,
}

/// The setting of paper Fig. 6, drawn from `seed`: `N = n_units`, `h ~ N(0, 1)`, a scalar input equal to 1,
/// `W_x ~ U(-5, 5)`, zero bias and `W_h ~ U(-1, 1)` rescaled to spectral norm `w_rec_norm2`.
pub fn fig6_setting(n_units: usize, w_rec_norm2: f64, seed: u64) -> Result<Fig6Setting, CoreError> {
    use rand_distr::{Distribution, StandardNormal};
    if n_units == 0 {
        return Err(CoreError::Param {
            name: "n_units",
            value: 0.0,
            reason: "must be at least 1",
        });
    }
    if !(w_rec_norm2 >= 0.0 && w_rec_norm2.is_finite()) {
        return Err(CoreError::Param {
            name: "w_rec_norm2",
            value: w_rec_norm2,
            reason: "must be non-negative and finite",
        });
    }
    let mut rng = rng_from_seed(seed);
    let w_in = uniform_matrix(1, n_units, 5.0, &mut rng);
    let w = uniform_matrix(n_units, n_units, 1.0, &mut rng);
    let norm = spectral_norm(w.view())?;
    let w_rec = if norm > 0.0 {
        w * (w_rec_norm2 / norm)
    } else {
        w
    };
    let h = Array1::from_shape_simple_fn(n_units, || StandardNormal.sample(&mut rng));
    let weights = Weights {
        w_in,
        w_rec,
        bias: Array1::zeros(n_units),
    };
    Ok(Fig6Setting {
        weights,
        h,
        x: Array1::ones(1),
    })
}

/// Paper Fig. 6 for one panel: the Jacobian spectrum of `cell` in [`fig6_setting`] (`N = 100` in the paper).
pub fn fig6_spectrum(
    cell: &MfCell,
    n_units: usize,
    w_rec_norm2: f64,
    seed: u64,
) -> Result<JacobianSpectrum, CoreError> {
    cell.check()?;
    let f = fig6_setting(n_units, w_rec_norm2, seed)?;
    jacobian_spectrum(cell, &f.weights, f.h.view(), f.x.view())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand_distr::{Distribution, StandardNormal};

    fn random_weights(n: usize, d: usize, scale: f64, seed: u64) -> Weights<f64> {
        let mut rng = rng_from_seed(seed);
        Weights {
            w_in: uniform_matrix(d, n, 2.0, &mut rng),
            w_rec: uniform_matrix(n, n, scale, &mut rng),
            bias: uniform_matrix(1, n, 0.5, &mut rng).row(0).to_owned(),
        }
    }

    fn normal_vec(n: usize, seed: u64) -> Array1<f64> {
        let mut rng = rng_from_seed(seed);
        Array1::from_shape_simple_fn(n, || StandardNormal.sample(&mut rng))
    }

    #[test]
    fn physics_constants_match_table_ii_by_hand() {
        // Table II: Kp0 = 1e-4, Kd0 = 0.5, eta_p = 10, eta_d = 1, a = 0.35, b = 1.15.
        let c = MfCell::new(0.01, 1.0, 1.0);
        let kp_b = 1e-4 * 11.5f64.exp(); // 9.87157...
        let kp_a = 1e-4 * 3.5f64.exp(); // 0.00331155...
        let kd_a = 0.5 * (-0.35f64).exp(); // 0.35234...
        let kd_b = 0.5 * (-1.15f64).exp(); // 0.15832...
        assert!((p_max(&c) - (kp_b + kd_a)).abs() < 1e-12);
        assert!((p_min(&c) - (kp_a + kd_b)).abs() < 1e-12);
        assert!((c_constant(&c) - (10.0 * kp_b + kd_a - 10.0 * kp_a)).abs() < 1e-12);
        assert!((p_max(&c) - 10.22392).abs() < 1e-4, "{}", p_max(&c));
        assert!((p_min(&c) - 0.161630).abs() < 1e-5, "{}", p_min(&c));
        assert!(
            (c_constant(&c) - 99.0349).abs() < 1e-3,
            "{}",
            c_constant(&c)
        );
    }

    #[test]
    fn mu_takes_the_larger_of_both_ends() {
        // dt = 0.01, gamma = 1: |1 - 0.1022| = 0.8978 < 1 - 0.0016 = 0.99838.
        let c = MfCell::new(0.01, 1.0, 1.0);
        assert!((mu(&c) - (1.0 - 0.01 * p_min(&c))).abs() < 1e-15);
        // dt = 0.19, gamma = 0.5: |0.5 - 1.9425| = 1.4425 wins over 0.5 - 0.0307.
        let c = MfCell::new(0.19, 0.5, 1.0);
        assert!((mu(&c) - (0.19 * p_max(&c) - 0.5)).abs() < 1e-15);
    }

    #[test]
    fn lemma_v1_holds_exactly_up_to_its_threshold() {
        // dt (2 * 9.87157 + 0.35234) + gamma <= 1  <=>  dt <= (1 - gamma) / 20.0955.
        let k = 2.0 * 1e-4 * 11.5f64.exp() + 0.5 * (-0.35f64).exp();
        let dt_max = 0.05 / k;
        assert!(lemma_v1(&MfCell::new(dt_max * 0.999, 0.95, 1.0)).holds);
        assert!(!lemma_v1(&MfCell::new(dt_max * 1.001, 0.95, 1.0)).holds);
        assert!((lemma_v1(&MfCell::new(0.001, 0.9, 1.0)).value - (0.9 + 0.001 * k)).abs() < 1e-15);
        assert!(!lemma_v1(&MfCell::new(0.001, 1.0, 1.0)).holds);
    }

    #[test]
    fn theorem_v3_adds_the_coupling_term_to_mu() {
        let c = MfCell::new(0.001, 0.8, 5.0);
        let cc = c_constant(&c);
        let want = mu(&c) + 0.001 * 5.0 * 0.8 / 4.0 * 0.9 * cc;
        let b = theorem_v3(&c, 0.9);
        assert!((b.value - want).abs() < 1e-14);
        // mu = 0.8 - 0.001 * 0.16163 = 0.79984; coupling 0.001 * 5 * 0.2 * 0.9 * 99.03 = 0.0891: holds.
        assert!(b.holds);
        // A strong kernel breaks it: coupling 0.001 * 0.2 * 5 * 3 * 99 = 0.297.
        assert!(!theorem_v3(&c, 3.0).holds);
    }

    #[test]
    fn theorem_v6_bounds_are_the_extreme_centres() {
        let c = MfCell::new(0.1, 0.5, 1.0);
        let t = theorem_v6(&c);
        assert!((t.lower - (0.5 - 0.1 * p_max(&c))).abs() < 1e-15);
        assert!((t.upper - (0.5 - 0.1 * p_min(&c))).abs() < 1e-15);
        assert!(t.holds); // -0.522 > -1
        assert!((t.radius_estimate - t.lower.abs().max(t.upper.abs())).abs() < 1e-15);
        // dt = 0.2, gamma = 0.5: 0.5 - 2.0448 = -1.5448 < -1.
        let t = theorem_v6(&MfCell::new(0.2, 0.5, 1.0));
        assert!(!t.holds);
        assert!(
            (t.radius_estimate - (0.2 * p_max(&MfCell::new(0.2, 0.5, 1.0)) - 0.5)).abs() < 1e-15
        );
    }

    #[test]
    fn jacobian_matches_central_finite_differences() {
        for (k, &(dt, gamma, s)) in [
            (0.1, 0.9, 1.0),
            (0.01, 0.5, 5.0),
            (0.001, 1.0, 5.0),
            (0.05, 0.8, 2.0),
        ]
        .iter()
        .enumerate()
        {
            let cell = MfCell::new(dt, gamma, s);
            let w = random_weights(7, 2, 0.8, 10 + k as u64);
            let x = normal_vec(2, 20 + k as u64);
            for h in [
                Array1::zeros(7),
                normal_vec(7, 30 + k as u64),
                normal_vec(7, 40 + k as u64) * 0.2,
            ] {
                let j = jacobian(&cell, &w, h.view(), x.view()).unwrap();
                let eps = 1e-6;
                for col in 0..7 {
                    let (mut hp, mut hm) = (h.clone(), h.clone());
                    hp[col] += eps;
                    hm[col] -= eps;
                    let fp = step(&cell, &w, hp.view(), x.view()).unwrap();
                    let fm = step(&cell, &w, hm.view(), x.view()).unwrap();
                    for row in 0..7 {
                        let fd = (fp[row] - fm[row]) / (2.0 * eps);
                        let tol = 1e-7 * (1.0 + fd.abs());
                        assert!(
                            (j[[row, col]] - fd).abs() < tol,
                            "dt {dt} J[{row},{col}] {} vs {fd}",
                            j[[row, col]]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn jacobians_of_every_integrator_match_central_finite_differences() {
        let eps = 1e-6;
        for (k, &(dt, gamma, s)) in [(0.1, 0.9, 1.0), (0.3, 0.5, 5.0), (0.01, 1.0, 5.0)]
            .iter()
            .enumerate()
        {
            let cell = MfCell::new(dt, gamma, s);
            let w = random_weights(6, 2, 0.8, 80 + k as u64);
            let x = normal_vec(2, 90 + k as u64);
            let h = normal_vec(6, 100 + k as u64) * 0.3;
            for integ in [
                Integrator::default(),
                Integrator::Euler { substeps: 5 },
                Integrator::Exact,
            ] {
                let j = jacobian_with(&cell, &integ, &w, h.view(), x.view()).unwrap();
                for col in 0..6 {
                    let (mut hp, mut hm) = (h.clone(), h.clone());
                    hp[col] += eps;
                    hm[col] -= eps;
                    let fp = step_with(&cell, &integ, &w, hp.view(), x.view()).unwrap();
                    let fm = step_with(&cell, &integ, &w, hm.view(), x.view()).unwrap();
                    for row in 0..6 {
                        let fd = (fp[row] - fm[row]) / (2.0 * eps);
                        assert!(
                            (j[[row, col]] - fd).abs() < 1e-7 * (1.0 + fd.abs()),
                            "{integ:?} dt {dt} J[{row},{col}] {} vs {fd}",
                            j[[row, col]]
                        );
                    }
                }
            }
            // The paper's step: the Jacobian of eq. 13, and the step of eq. 12.
            let paper =
                jacobian_with(&cell, &Integrator::default(), &w, h.view(), x.view()).unwrap();
            let eq13 = jacobian(&cell, &w, h.view(), x.view()).unwrap();
            assert!(
                (&paper - &eq13).iter().all(|d| d.abs() < 1e-12),
                "{}",
                &paper - &eq13
            );
            assert_eq!(
                step_with(&cell, &Integrator::default(), &w, h.view(), x.view()).unwrap(),
                step(&cell, &w, h.view(), x.view()).unwrap()
            );
        }
    }

    #[test]
    fn the_exact_integrators_centres_lie_inside_the_unit_interval_for_any_step() {
        // Euler's centres gamma - dt P leave (-1, 1) at dt = 0.2, gamma = 0.5 (Theorem V.6); exp(-P' dt) cannot.
        let w = Weights {
            w_in: Array2::zeros((1, 5)),
            w_rec: Array2::zeros((5, 5)),
            bias: Array1::linspace(-2.0, 2.0, 5),
        };
        let (h, x) = (Array1::from_elem(5, 0.5), array![0.0]);
        for dt in [0.2, 1.0, 5.0] {
            let cell = MfCell::new(dt, 0.5, 5.0);
            let j = jacobian_with(&cell, &Integrator::Exact, &w, h.view(), x.view()).unwrap();
            assert!((0..5).all(|i| j[[i, i]] > 0.0 && j[[i, i]] < 1.0), "{j}");
        }
        assert!(!theorem_v6(&MfCell::new(0.2, 0.5, 5.0)).holds);
    }

    #[test]
    fn jacobian_of_a_diagonal_free_kernel_has_the_centres_on_its_diagonal() {
        let cell = MfCell::new(0.1, 0.9, 1.0);
        let w = Weights {
            w_in: array![[0.0, 0.0]],
            w_rec: array![[0.0, 2.0], [0.0, 0.0]],
            bias: array![0.0, 0.0],
        };
        let (h, x) = (array![0.5, -0.5], array![0.0]);
        let j = jacobian(&cell, &w, h.view(), x.view()).unwrap();
        // pre = h @ w_rec = [0, 1]: unit 1 depends on h_0 through w_rec[0, 1], so J[1, 0] != 0 = J[0, 1].
        let p = |z: f64| 1e-4 * (10.0 * z).exp() + 0.5 * (-z).exp();
        assert!((j[[0, 0]] - (0.9 - 0.1 * p(0.75))).abs() < 1e-14);
        assert_eq!(j[[0, 1]], 0.0);
        let sig = 1.0 / (1.0 + (-1.0f64).exp());
        let z = 0.8 * sig + 0.35;
        let (kp, kd) = (1e-4 * (10.0 * z).exp(), 0.5 * (-z).exp());
        let g = 0.8 * sig * (1.0 - sig) * (10.0 * kp - (10.0 * kp - kd) * -0.5);
        assert!((j[[1, 0]] - 0.1 * g * 2.0).abs() < 1e-14);
        assert!((j[[1, 1]] - (0.9 - 0.1 * (kp + kd))).abs() < 1e-14);
    }

    #[test]
    fn every_eigenvalue_lies_in_a_bauer_fike_ball() {
        for (k, &(dt, gamma, s, scale)) in [
            (0.1, 0.9, 1.0, 0.3),
            (0.01, 0.5, 5.0, 1.0),
            (0.1, 1.0, 5.0, 0.1),
            (0.05, 0.8, 1.0, 0.05),
        ]
        .iter()
        .enumerate()
        {
            let cell = MfCell::new(dt, gamma, s);
            let w = random_weights(40, 1, scale, 50 + k as u64);
            let h = normal_vec(40, 60 + k as u64);
            let sp = jacobian_spectrum(&cell, &w, h.view(), array![1.0].view()).unwrap();
            for [re, im] in &sp.eigenvalues {
                let d = sp
                    .centres
                    .iter()
                    .map(|c| ((re - c).powi(2) + im.powi(2)).sqrt())
                    .fold(f64::INFINITY, f64::min);
                assert!(
                    d <= sp.radius * (1.0 + 1e-9) + 1e-12,
                    "eigenvalue ({re}, {im}) at {d} > {}",
                    sp.radius
                );
            }
        }
    }

    #[test]
    fn theorem_v4_radius_bound_dominates_the_radius_inside_the_unit_ball() {
        // For h in [0, 1], |eta_p Kp (1 - h) + eta_d Kd h| <= max(eta_p Kp0 e^{eta_p b}, eta_d Kd0 e^{-eta_d a})
        // = 98.7 < C = 99.03, sigma' <= s (b - a) / 4 and ||diag(g) W_h|| <= max |g| ||W_h||.
        let cell = MfCell::new(0.01, 0.9, 5.0);
        let w = random_weights(30, 1, 0.5, 70);
        let mut rng = rng_from_seed(71);
        let h = uniform_matrix(1, 30, 1.0, &mut rng).row(0).mapv(f64::abs);
        let sp = jacobian_spectrum(&cell, &w, h.view(), array![1.0].view()).unwrap();
        assert!(
            sp.radius <= sp.stability.radius_bound,
            "{} > {}",
            sp.radius,
            sp.stability.radius_bound
        );
    }

    #[test]
    fn fig6_setting_has_the_requested_norm_and_is_seeded() {
        let Fig6Setting { weights: w, h, x } = fig6_setting(100, 0.7, 9).unwrap();
        assert!((spectral_norm(w.w_rec.view()).unwrap() - 0.7).abs() < 1e-10);
        assert_eq!(x, array![1.0]);
        assert!(w.w_in.iter().all(|v| v.abs() <= 5.0) && w.bias.iter().all(|&b| b == 0.0));
        assert!((h.mean().unwrap()).abs() < 0.3 && (h.std(0.0) - 1.0).abs() < 0.2);
        let a = fig6_spectrum(&MfCell::new(0.1, 0.9, 1.0), 100, 0.7, 9).unwrap();
        let b = fig6_spectrum(&MfCell::new(0.1, 0.9, 1.0), 100, 0.7, 9).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.eigenvalues.len(), 100);
    }
}
