//! `mf stability`: the stability results of the paper's Sec. V for one MF cell.

#[cfg(test)]
use mf_lab::stability::MfCell;
use mf_lab::stability::{Physics, StabilityReport, StabilityRequest};

/// `mf stability`: p_min, p_max, C, mu, Lemma V.1, Theorem V.3, the Theorem V.4 radius bound and Theorem V.6 for a
/// cell, and optionally the Jacobian spectrum in the setting of the paper's Fig. 6.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct StabilityArgs {
    /// Discretisation step dt.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub dt: f64,
    /// Stabiliser gamma, in (0, 1].
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub gamma: f64,
    /// RESCALE slope s.
    #[arg(long, default_value_t = 5.0, allow_negative_numbers = true)]
    pub s: f64,
    /// Spectral radius of the recurrent kernel: a reservoir of --n-units units is drawn with exactly this radius
    /// (seed --seed) and its spectral norm ||W_h||_2 is used.
    #[arg(long, conflicts_with = "norm", allow_negative_numbers = true)]
    pub rho: Option<f64>,
    /// Spectral norm ||W_h||_2 of the recurrent kernel (default 1 when neither --rho nor --norm is given).
    #[arg(long, allow_negative_numbers = true)]
    pub norm: Option<f64>,
    /// Units of the drawn reservoir (--rho) and of the Fig. 6 setting (--eigs).
    #[arg(long, default_value_t = 100)]
    pub n_units: usize,
    /// Seed of the drawn weights and state.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also compute the Jacobian's eigenvalues, centres and Bauer-Fike radius in the paper's Fig. 6 setting
    /// (state ~ N(0, 1), input 1, W_x ~ U(-5, 5), zero bias, W_h rescaled to the norm).
    #[arg(long)]
    pub eigs: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Device physics (paper Table II and eq. 8): potentiation and depression rates at zero input, their
    /// exponents and the RESCALE bounds. Defaults: Table II.
    #[command(flatten)]
    pub physics: PhysicsArgs,
}

/// The MF device's physics on the command line.
#[derive(Debug, Clone, Copy, PartialEq, clap::Args)]
pub struct PhysicsArgs {
    /// Potentiation rate at zero input, Kp0.
    #[arg(long, default_value_t = 1e-4, allow_negative_numbers = true)]
    pub kp0: f64,
    /// Depression rate at zero input, Kd0.
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    pub kd0: f64,
    /// Potentiation exponent eta_p.
    #[arg(long, default_value_t = 10.0, allow_negative_numbers = true)]
    pub eta_p: f64,
    /// Depression exponent eta_d.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub eta_d: f64,
    /// Lower RESCALE bound a.
    #[arg(long, default_value_t = 0.35, allow_negative_numbers = true)]
    pub a: f64,
    /// Upper RESCALE bound b.
    #[arg(long, default_value_t = 1.15, allow_negative_numbers = true)]
    pub b: f64,
}

impl Default for PhysicsArgs {
    fn default() -> Self {
        let p = Physics::default();
        PhysicsArgs {
            kp0: p.kp0,
            kd0: p.kd0,
            eta_p: p.eta_p,
            eta_d: p.eta_d,
            a: p.a,
            b: p.b,
        }
    }
}

impl From<PhysicsArgs> for Physics {
    fn from(p: PhysicsArgs) -> Self {
        Physics {
            kp0: p.kp0,
            kd0: p.kd0,
            eta_p: p.eta_p,
            eta_d: p.eta_d,
            a: p.a,
            b: p.b,
        }
    }
}

/// Computes the report.
pub fn analyse(args: &StabilityArgs) -> anyhow::Result<StabilityReport> {
    Ok(mf_lab::stability::analyse(&StabilityRequest {
        dt: args.dt,
        gamma: args.gamma,
        s: args.s,
        physics: args.physics.into(),
        rho: args.rho,
        norm: args.norm,
        n_units: args.n_units,
        seed: args.seed,
        eigs: args.eigs,
    })?)
}

/// Computes and prints the report.
pub fn run_stability(args: &StabilityArgs) -> anyhow::Result<()> {
    let r = analyse(args)?;
    if args.json {
        return super::print_json(&r);
    }
    let yes = |b: bool| if b { "holds" } else { "fails" };
    println!(
        "MF cell dt={} gamma={} s={}, ||W_h||_2 = {:.6}{}",
        r.cell.dt,
        r.cell.gamma,
        r.cell.s,
        r.w_rec_norm2,
        r.rho.map_or(String::new(), |rho| format!(
            " (reservoir of spectral radius {rho})"
        ))
    );
    println!(
        "  p_min {:.6e}   p_max {:.6e}   C {:.6}   mu {:.6}",
        r.p_min, r.p_max, r.c, r.mu
    );
    println!(
        "  Lemma V.1    dt (2 Kp0 e^(eta_p b) + Kd0 e^(-eta_d a)) + gamma = {:.6} <= 1: {}",
        r.lemma_v1.value,
        yes(r.lemma_v1.holds)
    );
    println!(
        "  Theorem V.3  mu + dt s (b - a) / 4 ||W_h||_2 C = {:.6} < 1: {}",
        r.theorem_v3.value,
        yes(r.theorem_v3.holds)
    );
    println!("  Theorem V.4  Bauer-Fike radius <= {:.6}", r.radius_bound);
    println!(
        "  Theorem V.6  gamma - dt p_max = {:.6} > -1 and gamma - dt p_min = {:.6} < 1: {}; eq. 17 radius {:.6}",
        r.theorem_v6.lower,
        r.theorem_v6.upper,
        yes(r.theorem_v6.holds),
        r.theorem_v6.radius_estimate
    );
    if let Some(sp) = &r.spectrum {
        let (lo, hi) = sp
            .centres
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), c| {
                (a.min(c[0]), b.max(c[0]))
            });
        println!(
            "  Fig. 6 setting ({} units, seed {}): spectral radius {:.6}, centres in [{lo:.6}, {hi:.6}], Bauer-Fike \
             radius {:.6}",
            args.n_units, args.seed, sp.spectral_radius, sp.radius
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> StabilityArgs {
        StabilityArgs {
            dt: 0.01,
            gamma: 0.95,
            s: 5.0,
            rho: None,
            norm: Some(0.9),
            n_units: 30,
            seed: 2,
            eigs: true,
            json: true,
            physics: PhysicsArgs::default(),
        }
    }

    #[test]
    fn the_bounds_follow_the_device_physics() {
        let mut a = args();
        a.physics.kp0 = 2e-4;
        a.physics.eta_d = 1.5;
        a.physics.a = 0.3;
        let r = analyse(&a).unwrap();
        let v1 = 0.01 * (2.0 * 2e-4 * (10.0f64 * 1.15).exp() + 0.5 * (-1.5f64 * 0.3).exp()) + 0.95;
        assert!(
            (r.lemma_v1.value - v1).abs() < 1e-12,
            "{} {v1}",
            r.lemma_v1.value
        );
        assert_ne!(r.lemma_v1.value, analyse(&args()).unwrap().lemma_v1.value);
        a.physics.b = 0.2;
        assert!(analyse(&a).is_err(), "b below a is refused");
    }

    #[test]
    fn report_matches_the_closed_forms_and_bauer_fike() {
        let r = analyse(&args()).unwrap();
        let cell = MfCell::new(0.01, 0.95, 5.0);
        let p = &cell.physics;
        let v1 =
            0.01 * (2.0 * p.kp0 * (p.eta_p * p.b).exp() + p.kd0 * (-p.eta_d * p.a).exp()) + 0.95;
        assert!((r.lemma_v1.value - v1).abs() < 1e-12);
        assert_eq!(r.lemma_v1.holds, v1 <= 1.0);
        assert!((r.theorem_v3.value - (r.mu + r.radius_bound)).abs() < 1e-12);
        assert!((r.theorem_v6.lower - (0.95 - 0.01 * r.p_max)).abs() < 1e-12);
        let sp = r.spectrum.unwrap();
        assert_eq!(sp.eigenvalues.len(), 30);
        // Bauer-Fike: each eigenvalue within the radius of a centre, and the radius within Theorem V.4's bound.
        for [re, im] in &sp.eigenvalues {
            let d = sp
                .centres
                .iter()
                .map(|c| (re - c[0]).hypot(*im))
                .fold(f64::INFINITY, f64::min);
            assert!(d <= sp.radius * (1.0 + 1e-9));
        }
        assert!(sp.radius <= r.radius_bound * (1.0 + 1e-9));
        let json = serde_json::to_value(analyse(&args()).unwrap()).unwrap();
        assert!(json["eigenvalues"].is_array() && json["v6_bounds"].is_array());
        assert_eq!(
            json["lemma_v1"]["holds"],
            serde_json::Value::Bool(v1 <= 1.0)
        );
    }

    #[test]
    fn rho_draws_a_reservoir_whose_norm_is_at_least_its_radius() {
        let mut a = args();
        a.norm = None;
        a.rho = Some(0.9);
        a.eigs = false;
        let r = analyse(&a).unwrap();
        // ||W||_2 >= rho(W) for every matrix; a random non-normal W has a strictly larger norm.
        assert!(r.w_rec_norm2 > 0.9, "{}", r.w_rec_norm2);
        assert!(r.spectrum.is_none());
        a.gamma = 0.0;
        assert!(analyse(&a).is_err());
    }
}
