//! The stability results of the paper's Sec. V for one MF cell (`mf stability`), the Jacobian spectrum of its
//! Fig. 6 setting, and a reservoir's state trajectories for the dashboard.

pub use mf_core::stability::{fig6_spectrum, Bound, Stability, TheoremV6};
pub use mf_core::{MfCell, Physics};

use mf_core::init::{ReservoirInit, SpectralInit};
use mf_core::rng::rng_from_seed;
use mf_core::stability::spectral_norm;
use serde::Serialize;

use crate::LabError;

/// What to analyse: the cell, and the recurrent kernel's norm or the spectral radius of a reservoir to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct StabilityRequest {
    /// Discretisation step dt.
    pub dt: f64,
    /// Stabiliser gamma, in (0, 1].
    pub gamma: f64,
    /// RESCALE slope s.
    pub s: f64,
    /// The device physics (paper Table II and eq. 8).
    pub physics: Physics,
    /// Spectral radius of a reservoir of `n_units` units drawn with exactly this radius (seed `seed`), whose
    /// spectral norm is used.
    pub rho: Option<f64>,
    /// Spectral norm `||W_h||_2` of the recurrent kernel (default 1 when neither it nor `rho` is given).
    pub norm: Option<f64>,
    /// Units of the drawn reservoir and of the Fig. 6 setting.
    pub n_units: usize,
    /// Seed of the drawn weights and state.
    pub seed: u64,
    /// Also compute the Jacobian spectrum in the paper's Fig. 6 setting.
    pub eigs: bool,
}

/// The Jacobian spectrum part of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spectrum {
    /// Eigenvalues as `[re, im]`.
    pub eigenvalues: Vec<[f64; 2]>,
    /// Centres `gamma - dt P_i` as `[re, 0]`.
    pub centres: Vec<[f64; 2]>,
    /// Bauer-Fike radius `dt ||M||_2`.
    pub radius: f64,
    /// Spectral radius of the Jacobian.
    pub spectral_radius: f64,
    /// Theorem V.6's lines `[gamma - dt p_max, gamma - dt p_min]`.
    pub v6_bounds: [f64; 2],
}

/// What `mf stability` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StabilityReport {
    /// The cell analysed.
    pub cell: MfCell,
    /// `||W_h||_2` used.
    pub w_rec_norm2: f64,
    /// The spectral radius asked for with `--rho`.
    pub rho: Option<f64>,
    /// `p_min`.
    pub p_min: f64,
    /// `p_max`.
    pub p_max: f64,
    /// `C`.
    pub c: f64,
    /// `mu`.
    pub mu: f64,
    /// Lemma V.1.
    pub lemma_v1: Bound,
    /// Theorem V.3.
    pub theorem_v3: Bound,
    /// Theorem V.4's bound on the Bauer-Fike radius.
    pub radius_bound: f64,
    /// Theorem V.6.
    pub theorem_v6: TheoremV6,
    /// The Fig. 6 spectrum (with `--eigs`).
    #[serde(flatten)]
    pub spectrum: Option<Spectrum>,
}

/// Computes the report.
pub fn analyse(args: &StabilityRequest) -> Result<StabilityReport, LabError> {
    // A drawn reservoir and the Fig. 6 spectrum hold a few n x n f64 matrices (kernel, Jacobian, eigen-solver
    // copies and workspace): refused before allocating when they cannot fit.
    if args.rho.is_some() || args.eigs {
        let n = args.n_units as u64;
        crate::memory::check_bytes(
            &format!("a reservoir of {} units", args.n_units),
            n.saturating_mul(n).saturating_mul(8 * 8),
        )?;
    }
    let mut cell = MfCell::new(args.dt, args.gamma, args.s);
    cell.physics = args.physics;
    cell.check()?;
    let norm = match (args.rho, args.norm) {
        (_, Some(n)) => n,
        (Some(rho), None) => {
            let init = ReservoirInit {
                n_units: args.n_units,
                scalings: mf_core::init::Scalings {
                    omega: 1.0,
                    beta: 0.0,
                    rho,
                },
                spectral: SpectralInit::Exact,
            };
            let w = init
                .draw(1, &mut rng_from_seed(args.seed))
                .map_err(|e| LabError::InvalidParams(format!("drawing the reservoir: {e}")))?;
            spectral_norm(w.to_f64().w_rec.view())?
        }
        (None, None) => 1.0,
    };
    if !(norm >= 0.0 && norm.is_finite()) {
        return Err(LabError::InvalidParams(format!(
            "the spectral norm must be non-negative and finite, not {norm}"
        )));
    }
    let st = Stability::new(&cell, norm);
    let spectrum = if args.eigs {
        let sp = fig6_spectrum(&cell, args.n_units, norm, args.seed)?;
        Some(Spectrum {
            eigenvalues: sp.eigenvalues,
            centres: sp.centres.iter().map(|&c| [c, 0.0]).collect(),
            radius: sp.radius,
            spectral_radius: sp.spectral_radius,
            v6_bounds: [st.theorem_v6.lower, st.theorem_v6.upper],
        })
    } else {
        None
    };
    Ok(StabilityReport {
        cell,
        w_rec_norm2: norm,
        rho: args.rho,
        p_min: st.p_min,
        p_max: st.p_max,
        c: st.c,
        mu: st.mu,
        lemma_v1: st.lemma_v1,
        theorem_v3: st.theorem_v3,
        radius_bound: st.radius_bound,
        theorem_v6: st.theorem_v6,
        spectrum,
    })
}

/// The states of `units` of a reservoir of `config`'s MF cell (drawn from `seed`) driven by the one-dimensional
/// series `x`, stepped in f64 from zero; None for a cell that is not MF or a draw that fails.
pub fn mf_esn_trace(x: &[f64], units: &[usize], seed: u64) -> Option<(MfCell, Vec<Vec<f64>>)> {
    let config = mf_esn::ReservoirConfig::mf_esn();
    let mf_core::CellKind::Mf(cell) = config.cell else {
        return None;
    };
    let w = config
        .init()
        .draw(1, &mut rng_from_seed(seed))
        .ok()?
        .to_f64();
    let mut h = ndarray::Array1::<f64>::zeros(w.n_units());
    let mut traces: Vec<Vec<f64>> = vec![Vec::with_capacity(x.len()); units.len()];
    for &v in x {
        h = mf_core::stability::step(&cell, &w, h.view(), ndarray::arr1(&[v]).view()).ok()?;
        for (t, &u) in traces.iter_mut().zip(units) {
            t.push(h[u]);
        }
    }
    Some((cell, traces))
}
