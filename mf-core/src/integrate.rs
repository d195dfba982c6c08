//! Continuous-time MF cell: how the device equation is advanced over one input step (paper Sec. VII).
//!
//! The paper advances the device equation (its eq. 1, in the neuron form of eq. 5) by one forward-Euler step
//! per input and adds the stabiliser `gamma` (eqs. 9-12). This module treats that step as the discretisation of
//! an ordinary differential equation and offers two other integrators of the same equation.
//!
//! # Which equation eq. 12 discretises
//!
//! Eq. 12, `h' = gamma h + dt (Kp - (Kp + Kd) h)`, is exactly one forward-Euler step of length `dt` of
//!
//! ```text
//! dh/dtau = Kp(z) - (Kp(z) + Kd(z) + lambda) h,        lambda = (1 - gamma) / dt,
//! ```
//!
//! because `h + dt (Kp - (Kp + Kd + lambda) h) = (1 - dt lambda) h + dt (Kp - (Kp + Kd) h)` and
//! `1 - dt lambda = gamma`. So `gamma` has a continuous-time meaning: a constant extra depression rate `lambda`
//! (a leak towards zero, the same for every neuron and input), which vanishes at the paper's `gamma = 1`. The
//! rate is fixed by the paper's step: a cell with `dt` and `gamma` means the rate `(1 - gamma) / dt`, whichever
//! integrator then advances it. (The other reading, `lambda = -ln(gamma) / dt`, makes the exact step decay by
//! exactly `gamma` when the device is idle, but then no integrator reproduces eq. 12, so it is not used.)
//!
//! The drive is held over the step (zero-order hold): `z = RESCALE(W_h h(t) + W_x x(t+1) + b)` is computed once
//! from the state at the start of the step, as eq. 9 does, and `Kp(z)`, `Kd(z)` stay constant while the neuron's
//! own state evolves. With the drive held, the equation is linear in `h` with the rate `P' = Kp + Kd + lambda > 0`
//! and the fixed point `h_inf = Kp / P'`, and every integrator below has the form
//!
//! ```text
//! h' = h_inf + (h - h_inf) phi(P')
//! ```
//!
//! - [`Integrator::Euler`] with `k` substeps: `k` steps of eq. 12's form of length `dt / k`, so
//!   `phi = (1 - P' dt / k)^k`; `k = 1` is the paper's eq. 12 (and runs its vectorised kernel, bit for bit);
//! - [`Integrator::Exact`]: the exact solution of the held equation, `phi = exp(-P' dt)`, the limit of Euler as
//!   `k` grows. Its diagonal `phi` lies in `(0, 1)` for every `dt`: unlike Euler, it cannot oscillate or diverge
//!   however large the step.
//!
//! # The Jacobian
//!
//! With `sigma'_i = s (b - a) sigmoid(s pre_i) (1 - sigmoid(s pre_i))`, the chain rule gives the row-convention
//! Jacobian `J = diag(phi_i) + diag(g_i) W_h` (see [`crate::stability`] for the convention), where
//! `g_i = sigma'_i dh'_i/dz_i` and, with `dKp/dz = eta_p Kp`, `dKd/dz = -eta_d Kd`, `dP'/dz = eta_p Kp - eta_d Kd`:
//!
//! ```text
//! dh'/dz = (dh_inf/dz) (1 - phi) + (h - h_inf) phi'(P') dP'/dz,   dh_inf/dz = Kp (eta_p P' - dP'/dz) / P'^2
//! exact: phi'(P') = -dt exp(-P' dt)          Euler k: phi'(P') = -dt (1 - P' dt / k)^(k - 1)
//! ```
//!
//! For Euler with one substep this is the paper's Jacobian (eq. 13): `phi = gamma - dt P` and
//! `dh'/dz = dt (eta_p Kp - (eta_p Kp - eta_d Kd) h)`.

use std::sync::atomic::AtomicBool;

use ndarray::{ArrayView2, ArrayViewMut2, Zip};
use serde::{Deserialize, Serialize};

use crate::harvest::{harvest_cancellable, harvest_f64_with, Harvest, HarvestOptions};
use crate::{CellKind, CoreError, MfCell, Sequences, Weights};

/// How an MF cell advances over one input step. The default is the paper's single Euler step (eq. 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Integrator {
    /// `substeps` forward-Euler steps of length `dt / substeps` with the drive held; `1` is eq. 12.
    Euler {
        /// Number of substeps `k` (at least 1). Default `1`.
        substeps: usize,
    },
    /// The exact (exponential) solution over `dt` with the drive held: `h_inf + (h - h_inf) exp(-P' dt)`.
    Exact,
}

impl Default for Integrator {
    fn default() -> Self {
        Integrator::Euler { substeps: 1 }
    }
}

impl Integrator {
    /// True for the paper's single Euler step, the default.
    pub fn is_paper(&self) -> bool {
        *self == Integrator::default()
    }

    /// Checks the number of substeps.
    pub fn check(&self) -> Result<(), CoreError> {
        match *self {
            Integrator::Euler { substeps: 0 } => Err(CoreError::Param {
                name: "substeps",
                value: 0.0,
                reason: "must be at least 1",
            }),
            _ => Ok(()),
        }
    }

    /// Checks that `cell` can use this integrator: every integrator applies to the MF cell, only the paper's
    /// step to the others (they are not discretised device equations).
    pub fn check_cell(&self, cell: &CellKind) -> Result<(), CoreError> {
        self.check()?;
        if !self.is_paper() && !matches!(cell, CellKind::Mf(_)) {
            return Err(CoreError::Param {
                name: "integrator",
                value: self.code(),
                reason: "only the MF cell has a continuous-time form",
            });
        }
        Ok(())
    }

    /// The integrator as a number, as the hyper-parameter `integrator` writes it: `0` Euler, `1` exact.
    pub fn code(&self) -> f64 {
        match self {
            Integrator::Euler { .. } => 0.0,
            Integrator::Exact => 1.0,
        }
    }

    /// The extra depression rate `lambda = (1 - gamma) / dt` by which eq. 12's `gamma` enters the equation.
    pub fn leak(cell: &MfCell) -> f64 {
        (1.0 - cell.gamma) / cell.dt
    }

    /// One unit's update in f64: the new state given its pre-activation (held over the step) and previous state.
    pub fn update_scalar(&self, cell: &MfCell, pre: f64, h: f64) -> f64 {
        let (kp, kd) = rates(cell, pre);
        match *self {
            Integrator::Euler { substeps } => {
                let (gamma, c) = substep(cell, substeps);
                let mut h = h;
                for _ in 0..substeps {
                    // eq. 12's arithmetic, in the same order as `MfCell::update_scalar`.
                    h = gamma * h + c * (kp - (kp + kd) * h);
                }
                h
            }
            Integrator::Exact => {
                let p = kp + kd + Integrator::leak(cell);
                let h_inf = kp / p;
                h_inf + (h - h_inf) * (-p * cell.dt).exp()
            }
        }
    }

    /// `(dh'/dh, dh'/dpre)` of [`Integrator::update_scalar`] for one unit: the diagonal `phi` of the Jacobian and
    /// `g = sigma' dh'/dz` (see the module documentation).
    pub fn derivatives(&self, cell: &MfCell, pre: f64, h: f64) -> (f64, f64) {
        let ph = &cell.physics;
        let sig = 1.0 / (1.0 + (-cell.s * pre).exp());
        let dsig = cell.s * (ph.b - ph.a) * sig * (1.0 - sig);
        let (kp, kd) = rates(cell, pre);
        let dp = ph.eta_p * kp - ph.eta_d * kd;
        let (phi, dh_dz) = match *self {
            Integrator::Euler { substeps } => {
                // Forward mode through the substeps: each is `h <- gamma_k h + c (Kp - (Kp + Kd) h)`.
                let (gamma, c) = substep(cell, substeps);
                let q = gamma - c * (kp + kd);
                let (mut h, mut dz, mut phi) = (h, 0.0, 1.0);
                for _ in 0..substeps {
                    dz = q * dz + c * (ph.eta_p * kp - dp * h);
                    h = gamma * h + c * (kp - (kp + kd) * h);
                    phi *= q;
                }
                (phi, dz)
            }
            Integrator::Exact => {
                let p = kp + kd + Integrator::leak(cell);
                let h_inf = kp / p;
                let phi = (-p * cell.dt).exp();
                let dh_inf = kp * (ph.eta_p * p - dp) / (p * p);
                (phi, dh_inf * (1.0 - phi) - (h - h_inf) * cell.dt * phi * dp)
            }
        };
        (phi, dsig * dh_dz)
    }

    /// The element-wise update of a batch in f32: eq. 12 through [`CellKind::update`] for the paper's step, else
    /// [`Integrator::update_scalar`] in f64 for each element (any cell other than MF takes the paper's step).
    pub fn update(&self, cell: &CellKind, pre: ArrayView2<'_, f32>, mut h: ArrayViewMut2<'_, f32>) {
        match cell {
            CellKind::Mf(c) if !self.is_paper() => {
                Zip::from(&mut h).and(&pre).for_each(|h, &u| {
                    *h = self.update_scalar(c, f64::from(u), f64::from(*h)) as f32
                });
            }
            _ => cell.update(pre, h),
        }
    }
}

/// `(Kp(z), Kd(z))` at `z = RESCALE(pre)`, as [`MfCell::update_scalar`] computes them.
fn rates(cell: &MfCell, pre: f64) -> (f64, f64) {
    let p = &cell.physics;
    let z = cell.rescale(pre);
    (p.kp0 * (p.eta_p * z).exp(), p.kd0 * (-p.eta_d * z).exp())
}

/// `(gamma_k, dt / k)` of one of `k` Euler substeps: `gamma_k = 1 - dt lambda / k = 1 - (1 - gamma) / k`, and
/// exactly `gamma` for one substep.
fn substep(cell: &MfCell, substeps: usize) -> (f64, f64) {
    if substeps == 1 {
        (cell.gamma, cell.dt)
    } else {
        let k = substeps as f64;
        (1.0 - (1.0 - cell.gamma) / k, cell.dt / k)
    }
}

/// Harvests `seqs` with `cell` advanced by `integrator`: the paper's step runs the vectorised f32 harvest
/// ([`harvest_cancellable`]) unchanged; any other integrator runs the f64 path with
/// [`Integrator::update_scalar`] (single-threaded, about an order of magnitude slower) and returns its states
/// rounded to f32.
pub fn harvest_integrated(
    cell: &CellKind,
    integrator: &Integrator,
    weights: &Weights<f32>,
    seqs: &Sequences,
    opts: HarvestOptions,
    cancel: &AtomicBool,
) -> Result<Harvest, CoreError> {
    integrator.check_cell(cell)?;
    let CellKind::Mf(mf) = cell else {
        return harvest_cancellable(cell, weights, seqs, opts, cancel);
    };
    if integrator.is_paper() {
        return harvest_cancellable(cell, weights, seqs, opts, cancel);
    }
    let h = harvest_f64_with(
        |u, h| integrator.update_scalar(mf, u, h),
        &weights.to_f64(),
        seqs,
        opts,
        cancel,
    )?;
    Ok(Harvest {
        last: h.last.mapv(|v| v as f32),
        all: h.all.map(|a| a.mapv(|v| v as f32)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harvest::harvest;
    use crate::init::ReservoirInit;
    use crate::linalg::uniform_matrix;
    use crate::rng::rng_from_seed;
    use ndarray::Array3;

    fn cells() -> [MfCell; 4] {
        let mut other = MfCell::new(0.05, 0.8, 2.0);
        other.physics.eta_p = 8.0;
        other.physics.eta_d = 1.5;
        [
            MfCell::new(0.01, 1.0, 5.0),
            MfCell::new(0.1, 0.9, 1.0),
            MfCell::new(0.3, 0.5, 5.0),
            other,
        ]
    }

    /// Pre-activations and states spread over the ranges a reservoir visits.
    fn points() -> Vec<(f64, f64)> {
        let mut rng = rng_from_seed(3);
        let pre = uniform_matrix(1, 40, 3.0, &mut rng);
        let h = uniform_matrix(1, 40, 1.0, &mut rng);
        pre.iter().zip(h.iter()).map(|(&u, &h)| (u, h)).collect()
    }

    #[test]
    fn one_euler_substep_is_eq_12_bit_for_bit() {
        for c in cells() {
            for (u, h) in points() {
                let got = Integrator::default().update_scalar(&c, u, h);
                assert_eq!(got.to_bits(), c.update_scalar(u, h).to_bits(), "{c:?}");
            }
        }
    }

    #[test]
    fn gamma_is_the_leak_whose_euler_step_is_eq_12() {
        // h + dt (Kp - (Kp + Kd + lambda) h) with lambda = (1 - gamma) / dt is eq. 12.
        for c in cells() {
            let lambda = Integrator::leak(&c);
            for (u, h) in points() {
                let (kp, kd) = rates(&c, u);
                let euler = h + c.dt * (kp - (kp + kd + lambda) * h);
                assert!((euler - c.update_scalar(u, h)).abs() < 1e-14);
            }
        }
    }

    #[test]
    fn euler_substeps_converge_to_the_exact_step_at_first_order() {
        for c in cells() {
            for (u, h) in points() {
                let exact = Integrator::Exact.update_scalar(&c, u, h);
                let err = |k: usize| {
                    (Integrator::Euler { substeps: k }.update_scalar(&c, u, h) - exact).abs()
                };
                // Error O(dt^2 / k): tenfold more substeps, about a tenth of the error.
                let (e10, e100, e1000) = (err(10), err(100), err(1000));
                assert!(e1000 < 1e-3, "{c:?} ({u}, {h}): {e1000}");
                if e10 > 1e-12 {
                    assert!(
                        e100 < 0.2 * e10 && e1000 < 0.2 * e100,
                        "{c:?}: {e10} {e100} {e1000}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_exact_step_solves_the_held_equation_in_closed_form() {
        // gamma = 1: lambda = 0, h_inf = Kp / (Kp + Kd), the formula of the brief.
        let c = MfCell::new(0.2, 1.0, 5.0);
        let (u, h) = (0.4, 0.3);
        let (kp, kd) = rates(&c, u);
        let h_inf = kp / (kp + kd);
        let want = h_inf + (h - h_inf) * (-(kp + kd) * 0.2).exp();
        assert!((Integrator::Exact.update_scalar(&c, u, h) - want).abs() < 1e-15);
        // Two exact half steps make one exact step (the solution is a flow).
        let half = MfCell { dt: 0.1, ..c };
        let two =
            Integrator::Exact.update_scalar(&half, u, Integrator::Exact.update_scalar(&half, u, h));
        assert!((two - want).abs() < 1e-14);
        // However large the step, the exact state stays between h and h_inf; Euler at dt = 50 does not.
        let big = MfCell::new(50.0, 1.0, 1.0);
        let e = Integrator::Exact.update_scalar(&big, 2.0, 0.5);
        assert!((0.0..=1.0).contains(&e));
        assert!(big.update_scalar(2.0, 0.5).abs() > 10.0);
    }

    #[test]
    fn derivatives_match_central_finite_differences() {
        let eps = 1e-6;
        for c in cells() {
            for integ in [
                Integrator::default(),
                Integrator::Euler { substeps: 3 },
                Integrator::Euler { substeps: 20 },
                Integrator::Exact,
            ] {
                for (u, h) in points() {
                    let f = |u: f64, h: f64| integ.update_scalar(&c, u, h);
                    let (dh, du) = integ.derivatives(&c, u, h);
                    let fd_h = (f(u, h + eps) - f(u, h - eps)) / (2.0 * eps);
                    let fd_u = (f(u + eps, h) - f(u - eps, h)) / (2.0 * eps);
                    assert!(
                        (dh - fd_h).abs() < 1e-7 * (1.0 + fd_h.abs()),
                        "{integ:?} dh {dh} vs {fd_h}"
                    );
                    assert!(
                        (du - fd_u).abs() < 1e-6 * (1.0 + fd_u.abs()),
                        "{integ:?} du {du} vs {fd_u}"
                    );
                }
            }
        }
    }

    #[test]
    fn non_mf_cells_and_zero_substeps_are_refused() {
        assert!(Integrator::Euler { substeps: 0 }.check().is_err());
        assert!(Integrator::Exact.check_cell(&CellKind::Tanh).is_err());
        assert!(Integrator::Euler { substeps: 2 }
            .check_cell(&CellKind::LeakyEsn { alpha: 0.5 })
            .is_err());
        assert!(Integrator::default()
            .check_cell(&CellKind::LeakyEsn { alpha: 0.5 })
            .is_ok());
    }

    fn batch(lengths: &[usize], seed: u64) -> Sequences {
        let t = *lengths.iter().max().unwrap();
        let mut rng = rng_from_seed(seed);
        let v = uniform_matrix(lengths.len() * t, 2, 1.0, &mut rng).mapv(|v| v as f32);
        let x =
            Array3::from_shape_vec((lengths.len(), t, 2), v.into_raw_vec_and_offset().0).unwrap();
        Sequences::new(x, lengths.to_vec()).unwrap()
    }

    #[test]
    fn harvested_states_of_euler_substeps_converge_to_the_exact_ones() {
        let seqs = batch(&[30, 20, 25], 6);
        let w = ReservoirInit {
            n_units: 20,
            scalings: crate::init::Scalings {
                omega: 1.0,
                beta: 0.1,
                rho: 0.9,
            },
            spectral: Default::default(),
        }
        .draw(2, &mut rng_from_seed(7))
        .unwrap();
        let kind = CellKind::Mf(MfCell::new(0.1, 0.9, 5.0));
        let run = |integ: Integrator| {
            harvest_integrated(
                &kind,
                &integ,
                &w,
                &seqs,
                HarvestOptions::default(),
                &AtomicBool::new(false),
            )
            .unwrap()
            .last
        };
        let exact = run(Integrator::Exact);
        let err = |k: usize| {
            (&run(Integrator::Euler { substeps: k }) - &exact)
                .iter()
                .fold(0.0f32, |m, d| m.max(d.abs()))
        };
        let (e1, e10, e100) = (err(1), err(10), err(100));
        assert!(
            e1 > 1e-3 && e10 < 0.2 * e1 && e100 < 0.2 * e10,
            "{e1} {e10} {e100}"
        );
    }

    #[test]
    fn the_integrated_harvest_runs_each_series_with_the_scalar_update() {
        let seqs = batch(&[7, 3, 7, 5], 4);
        let w = ReservoirInit {
            n_units: 9,
            scalings: crate::init::Scalings {
                omega: 1.0,
                beta: 0.3,
                rho: 0.9,
            },
            spectral: Default::default(),
        }
        .draw(2, &mut rng_from_seed(5))
        .unwrap();
        let cell = MfCell::new(0.1, 0.9, 5.0);
        let kind = CellKind::Mf(cell);
        let stop = AtomicBool::new(false);
        let opts = HarvestOptions::default();
        // The paper's step is the vectorised harvest itself.
        let paper =
            harvest_integrated(&kind, &Integrator::default(), &w, &seqs, opts, &stop).unwrap();
        assert_eq!(paper, harvest(&kind, &w, &seqs, opts).unwrap());
        let w64 = w.to_f64();
        for integ in [Integrator::Euler { substeps: 4 }, Integrator::Exact] {
            let got = harvest_integrated(&kind, &integ, &w, &seqs, opts, &stop).unwrap();
            for i in 0..4 {
                let mut h = vec![0.0f64; 9];
                for t in 0..seqs.lengths[i] {
                    let pre: Vec<f64> = (0..9)
                        .map(|j| {
                            let mut p = w64.bias[j];
                            for l in 0..2 {
                                p += f64::from(seqs.x[[i, t, l]]) * w64.w_in[[l, j]];
                            }
                            p + (0..9).map(|k| h[k] * w64.w_rec[[k, j]]).sum::<f64>()
                        })
                        .collect();
                    h = (0..9)
                        .map(|j| integ.update_scalar(&cell, pre[j], h[j]))
                        .collect();
                }
                for (g, want) in got.last.row(i).iter().zip(&h) {
                    assert!((f64::from(*g) - want).abs() < 1e-6, "{integ:?} series {i}");
                }
            }
            assert!(matches!(
                harvest_integrated(&kind, &integ, &w, &seqs, opts, &AtomicBool::new(true)),
                Err(CoreError::Cancelled)
            ));
        }
    }
}
