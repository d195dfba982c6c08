//! The hyper-parameters of the paper's future work (Sec. VII) that reservoir models share: sparse connectivity
//! (`density`, `input_density`) and the integrator of the MF cell (`integrator`, `substeps`), and the count of
//! non-zero weights that configuration reports carry.

use mf_core::integrate::Integrator;
use mf_esn::ReservoirConfig;

use super::count;
use crate::LabError;

/// Sparse connectivity (`mf_core::sparse::Connectivity`): `density` is the fraction of the recurrent kernel's
/// `N^2` entries kept, `input_density` the fraction of the `N` units each input drives; both in `(0, 1]`, 1 (the
/// default) is the paper's dense reservoir.
pub(super) const SPARSE_PARAMS: [&str; 2] = ["density", "input_density"];

/// The MF cell's integrator (`mf_core::integrate::Integrator`): `integrator` is `0` for Euler (the default) or
/// `1` for the exact solution of the device equation; `substeps` is the number `k` of Euler substeps of `dt / k`
/// (default 1, the paper's eq. 12; only with `integrator = 0`).
pub(super) const INTEGRATOR_PARAMS: [&str; 2] = ["integrator", "substeps"];

/// The most Euler substeps per time step.
pub(super) const MAX_SUBSTEPS: usize = 1000;

/// Sets `k` (one of [`SPARSE_PARAMS`] or [`INTEGRATOR_PARAMS`]) of `c`. Parameters arrive in name order, so
/// `integrator` is set before `substeps`. Ranges are checked with the whole configuration.
pub(super) fn set_param(c: &mut ReservoirConfig, k: &str, v: f64) -> Result<(), LabError> {
    match k {
        "density" => c.connectivity.density = v,
        "input_density" => c.connectivity.input_density = v,
        "integrator" => {
            c.integrator = if v == 0.0 {
                match c.integrator {
                    euler @ Integrator::Euler { .. } => euler,
                    Integrator::Exact => Integrator::default(),
                }
            } else if v == 1.0 {
                Integrator::Exact
            } else {
                return Err(LabError::InvalidParams(format!(
                    "integrator must be 0 (Euler) or 1 (exact), not {v}"
                )));
            }
        }
        "substeps" => {
            // Each substep is a whole pass of the cell over every unit: 1000 already take seconds per data set,
            // and a count typed with too many zeros would run for ever.
            if v > MAX_SUBSTEPS as f64 {
                return Err(LabError::InvalidParams(format!(
                    "substeps must be at most {MAX_SUBSTEPS} (each substep is one more pass of the cell per time \
                     step; for a finer solution use integrator = exact), not {}",
                    if v >= 1e6 { format!("{v:e}") } else { v.to_string() }
                )));
            }
            let substeps = count(k, v)?;
            match c.integrator {
                Integrator::Euler { .. } => c.integrator = Integrator::Euler { substeps },
                Integrator::Exact if substeps == 1 => {}
                Integrator::Exact => {
                    return Err(LabError::InvalidParams(format!(
                    "substeps = {substeps} applies to the Euler integrator (integrator = 0) only"
                )))
                }
            }
        }
        other => unreachable!("{other} is not a Sec. VII hyper-parameter"),
    }
    Ok(())
}

/// The non-zero weights of `c`'s reservoir (recurrent and input kernels; biases are not synapses), for reports:
/// `recurrent` in all, `per_input` for each input dimension, so that data with `d` inputs has
/// `recurrent + d per_input` of them. Dense kernels count every entry.
pub(super) fn n_weights(c: &ReservoirConfig) -> serde_json::Value {
    serde_json::json!({
        "recurrent": c.connectivity.recurrent_weights(c.n_units),
        "per_input": c.connectivity.weights_per_input(c.n_units),
    })
}

#[cfg(test)]
mod tests {
    use crate::grid::Params;
    use crate::models::{CancelToken, ModelKind, TrialContext, TrialData};
    use crate::tasks::{load_dataset, Task};
    use crate::training::TrainingProtocol;
    use mf_core::integrate::Integrator;
    use mf_esn::ReservoirConfig;
    use std::path::Path;

    fn params(kv: &[(&str, f64)]) -> Params {
        kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn config(m: ModelKind, kv: &[(&str, f64)]) -> ReservoirConfig {
        let c = m.model().configure(&params(kv)).unwrap();
        c.as_any()
            .downcast_ref::<ReservoirConfig>()
            .unwrap()
            .clone()
    }

    /// Test scores on synthetic control of three reservoir draws.
    fn scores(m: ModelKind, kv: &[(&str, f64)]) -> Vec<f64> {
        let task = Task::from_dataset(&load_dataset(Path::new("."), "synthetic-control").unwrap())
            .unwrap();
        let data = TrialData {
            train: &task.train,
            val: None,
            eval: task.test().unwrap(),
            protocol: TrainingProtocol::Reference,
        };
        let c = m.model().configure(&params(kv)).unwrap();
        let cancel = CancelToken::new();
        let ctx = TrialContext {
            on_event: &|_| {},
            cancel: &cancel,
        };
        (0..3)
            .map(|s| c.trial(&data, s, &ctx).unwrap().score)
            .collect()
    }

    #[test]
    fn density_one_is_the_dense_model_bit_for_bit_and_a_sparse_one_differs() {
        for m in [ModelKind::MfEsn, ModelKind::Esn] {
            let base = [("n_units", 40.0)];
            let dense = scores(m, &base);
            let one = [("n_units", 40.0), ("density", 1.0), ("input_density", 1.0)];
            assert_eq!(scores(m, &one), dense, "{m}");
            assert_eq!(config(m, &one), config(m, &base));
            let sparse = [("n_units", 40.0), ("density", 0.1)];
            assert_ne!(scores(m, &sparse), dense, "{m}");
        }
    }

    #[test]
    fn reports_count_the_non_zero_weights() {
        let c = ModelKind::MfEsn
            .model()
            .configure(&params(&[
                ("n_units", 50.0),
                ("density", 0.1),
                ("input_density", 0.2),
            ]))
            .unwrap();
        let json = c.to_json();
        assert_eq!(json["n_weights"]["recurrent"], 250);
        assert_eq!(json["n_weights"]["per_input"], 10);
        assert_eq!(json["connectivity"]["density"], 0.1);
        let dense = ModelKind::Esn.model().configure(&Params::new()).unwrap();
        assert_eq!(dense.to_json()["n_weights"]["recurrent"], 10_000);
        // The dense configuration serialises as before: no connectivity, no integrator.
        assert!(dense.to_json().get("connectivity").is_none());
        assert!(dense.to_json().get("integrator").is_none());
    }

    #[test]
    fn integrator_and_substeps_set_the_mf_cells_integrator() {
        let paper = config(ModelKind::MfEsn, &[]);
        assert_eq!(
            config(ModelKind::MfEsn, &[("integrator", 0.0), ("substeps", 1.0)]),
            paper
        );
        assert_eq!(
            config(ModelKind::MfEsn, &[("substeps", 4.0)]).integrator,
            Integrator::Euler { substeps: 4 }
        );
        assert_eq!(
            config(ModelKind::MfEsn, &[("integrator", 1.0), ("substeps", 1.0)]).integrator,
            Integrator::Exact
        );
        for bad in [
            &[("integrator", 2.0)][..],
            &[("integrator", 1.0), ("substeps", 3.0)],
            &[("substeps", 0.0)],
            &[("substeps", 2.5)],
            &[("substeps", 1001.0)],
            &[("substeps", 1e300)],
        ] {
            assert!(
                ModelKind::MfEsn.model().configure(&params(bad)).is_err(),
                "{bad:?}"
            );
        }
        assert!(ModelKind::Esn
            .model()
            .configure(&params(&[("integrator", 1.0)]))
            .is_err());
    }

    #[test]
    fn euler_substeps_approach_the_exact_integrators_scores() {
        // At dt = 0.1 the paper's single step and the exact solution differ; many substeps close the gap.
        let base = [("n_units", 30.0), ("dt", 0.1), ("gamma", 0.9)];
        let with = |extra: (&str, f64)| {
            let mut kv = base.to_vec();
            kv.push(extra);
            scores(ModelKind::MfEsn, &kv)
        };
        let exact = with(("integrator", 1.0));
        let gap = |s: &[f64]| {
            s.iter()
                .zip(&exact)
                .map(|(a, b)| (a - b).abs())
                .sum::<f64>()
        };
        assert_eq!(with(("substeps", 1.0)), scores(ModelKind::MfEsn, &base));
        assert!(gap(&with(("substeps", 200.0))) <= gap(&with(("substeps", 1.0))));
    }
}
